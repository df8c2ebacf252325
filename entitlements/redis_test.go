package entitlements_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/entitlements/storetest"
	"github.com/starsgate/starsgate/internal/redistest"
)

// redisTestStore returns a store on the test Redis under a prefix unique to
// the test, with its client.
func redisTestStore(t testing.TB) (*entitlements.RedisStore, *redis.Client, string) {
	t.Helper()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	return entitlements.NewRedisStore(rdb, entitlements.RedisOptions{Prefix: prefix}), rdb, prefix
}

func TestRedisStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) entitlements.Store {
		return entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{Prefix: redistest.Prefix(t)})
	})
}

var rsBase = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func rsSub(user int64, charge string, exp time.Time, recurring, first bool) entitlements.Payment {
	return entitlements.Payment{
		ChargeID: charge, UserID: user, ProductID: "pro", Amount: 250, Currency: "XTR",
		PaidAt: exp.Add(-entitlements.SubscriptionPeriod), InvoicePayload: "p:" + charge,
		SubscriptionExpiresAt: exp, IsRecurring: recurring, IsFirstRecurring: first,
		Kind: entitlements.KindSubscription, Features: []string{"premium", "export"},
	}
}

func rsOneTime(user int64, charge string, exp time.Time) entitlements.Payment {
	return entitlements.Payment{
		ChargeID: charge, ProviderChargeID: "prov-" + charge, UserID: user, ProductID: "lifetime",
		Amount: 1000, Currency: "XTR", PaidAt: rsBase, Kind: entitlements.KindOneTime,
		Features: []string{"premium"}, ExpiresAt: exp,
	}
}

func rsPack(user int64, charge string, credits map[string]int64) entitlements.Payment {
	return entitlements.Payment{
		ChargeID: charge, UserID: user, ProductID: "pack", Amount: 50, Currency: "XTR",
		PaidAt: rsBase, Kind: entitlements.KindConsumable, Credits: credits,
	}
}

// TestRedisStore_SameAsMemory runs one history of calls through the memory
// store (the reference) and the Redis store and requires the same results,
// the same events, the same states and the same ledger after every call.
func TestRedisStore_SameAsMemory(t *testing.T) {
	rs, _, _ := redisTestStore(t)
	ms := entitlements.NewMemoryStore()
	const u, u2 = int64(42), int64(1<<52 + 1)
	at := rsBase.Add(40 * 24 * time.Hour)
	steps := []struct {
		name string
		do   func(ctx context.Context, s entitlements.Store) (any, error)
	}{
		{"ok, first subscription payment", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsSub(u, "sub-1", rsBase.Add(30*24*time.Hour), true, true))
		}},
		{"ok, replay is a duplicate", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsSub(u, "sub-1", rsBase.Add(30*24*time.Hour), true, true))
		}},
		{"ok, renewal extends", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsSub(u, "sub-2", rsBase.Add(60*24*time.Hour+time.Nanosecond), true, false))
		}},
		{"ok, older payment arriving late", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsSub(u, "sub-0", rsBase.Add(10*24*time.Hour), true, true))
		}},
		{"ok, cancel", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.SetAutoRenew(ctx, u, "pro", false)
		}},
		{"ok, cancel again is a duplicate", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.SetAutoRenew(ctx, u, "pro", false)
		}},
		{"ok, reactivate", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.SetAutoRenew(ctx, u, "pro", true)
		}},
		{"nok, auto-renew of an unknown subscription", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.SetAutoRenew(ctx, u, "nope", true)
		}},
		{"ok, failed renewal ends at", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.EndSubscription(ctx, u, "pro", at)
		}},
		{"ok, ending again is a duplicate", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.EndSubscription(ctx, u, "pro", at.Add(time.Hour))
		}},
		{"nok, end an unknown subscription", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.EndSubscription(ctx, u2, "pro", at)
		}},
		{"ok, refund of a charge no longer backing the grant", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RefundPayment(ctx, u, "sub-1", at)
		}},
		{"ok, refund of the backing charge revokes", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RefundPayment(ctx, u, "sub-2", at.Add(time.Second))
		}},
		{"ok, refund again is a duplicate", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RefundPayment(ctx, u, "sub-2", at.Add(time.Minute))
		}},
		{"nok, refund of an unknown payment", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RefundPayment(ctx, u, "missing", at)
		}},
		{"ok, lifetime one-time purchase", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsOneTime(u, "ot-1", time.Time{}))
		}},
		{"ok, one-time purchase with a duration", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsOneTime(u, "ot-2", rsBase.Add(168*time.Hour)))
		}},
		{"ok, refund of a one-time purchase", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RefundPayment(ctx, u, "ot-1", at)
		}},
		{"ok, credit pack", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsPack(u, "pack-1", map[string]int64{"credits": 10, "gems": 3}))
		}},
		{"ok, spend", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Spend(ctx, u, "credits", 4)
		}},
		{"nok, spend more than the balance", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Spend(ctx, u, "credits", 7)
		}},
		{"nok, spend an unknown credit", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Spend(ctx, u2, "credits", 1)
		}},
		{"nok, spend zero", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Spend(ctx, u, "credits", 0)
		}},
		{"ok, spend all gems", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Spend(ctx, u, "gems", 3)
		}},
		{"ok, refund of a partly spent pack records the shortfall", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RefundPayment(ctx, u, "pack-1", at)
		}},
		{"ok, add credits", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.AddCredits(ctx, u, "credits", 5)
		}},
		{"nok, add credits without a name", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.AddCredits(ctx, u, "", 5)
		}},
		{"ok, second pack", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsPack(u, "pack-2", map[string]int64{"credits": 2}))
		}},
		{"ok, refund of an unspent pack", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RefundPayment(ctx, u, "pack-2", at)
		}},
		{"ok, grant a trial", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Grant(ctx, u, entitlements.Grant{ID: "trial", ProductID: "pro", Features: []string{"premium"}, ExpiresAt: at, Reason: "trial", GrantedAt: rsBase})
		}},
		{"ok, the same grant is a duplicate (GrantedAt does not count)", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Grant(ctx, u, entitlements.Grant{ID: "trial", ProductID: "pro", Features: []string{"premium"}, ExpiresAt: at, Reason: "trial", GrantedAt: at})
		}},
		{"ok, a different grant replaces it", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Grant(ctx, u, entitlements.Grant{ID: "trial", Features: []string{"premium", "beta"}, Reason: "support #12", Source: entitlements.SourceOneTime})
		}},
		{"nok, grant without features", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Grant(ctx, u, entitlements.Grant{ID: "x"})
		}},
		{"ok, revoke the trial", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Revoke(ctx, u, "trial")
		}},
		{"nok, revoke it again", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Revoke(ctx, u, "trial")
		}},
		{"ok, support revokes a purchase", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.Revoke(ctx, u, entitlements.OneTimeGrantID("ot-2"))
		}},
		{"ok, big user ID subscribes", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsSub(u2, "big-1", rsBase.Add(30*24*time.Hour), false, false))
		}},
		{"ok, new subscription after the refund", func(ctx context.Context, s entitlements.Store) (any, error) {
			return s.RecordPayment(ctx, rsSub(u, "sub-3", rsBase.Add(90*24*time.Hour), true, false))
		}},
		{"nok, invalid payment", func(ctx context.Context, s entitlements.Store) (any, error) {
			p := rsPack(u, "bad", map[string]int64{"credits": -1})
			return s.RecordPayment(ctx, p)
		}},
	}
	charges := []string{"sub-0", "sub-1", "sub-2", "sub-3", "ot-1", "ot-2", "pack-1", "pack-2", "big-1", "missing", "bad"}
	ctx := context.Background()
	for _, st := range steps {
		want, wantErr := st.do(ctx, ms)
		got, gotErr := st.do(ctx, rs)
		require.Equal(t, wantErr, gotErr, st.name)
		require.Equal(t, want, got, st.name)
		for _, user := range []int64{u, u2} {
			wantState, err := ms.Load(ctx, user)
			require.NoError(t, err)
			gotState, err := rs.Load(ctx, user)
			require.NoError(t, err, st.name)
			require.Equal(t, wantState, gotState, "%s: state of %d", st.name, user)
			for _, c := range charges {
				wantPay, wantErr := ms.Payment(ctx, user, c)
				gotPay, gotErr := rs.Payment(ctx, user, c)
				require.Equal(t, wantErr, gotErr, "%s: payment %s", st.name, c)
				require.Equal(t, wantPay, gotPay, "%s: payment %s", st.name, c)
			}
		}
	}
	final, err := rs.Load(ctx, u)
	require.NoError(t, err)
	assert.Greater(t, final.Version, int64(20), "the history changed the user many times")
}

func TestRedisStore_KeyLayout(t *testing.T) {
	ctx := context.Background()
	s, rdb, prefix := redisTestStore(t)
	_, err := s.RecordPayment(ctx, rsSub(7, "c1", rsBase, true, true))
	require.NoError(t, err)
	_, err = s.RecordPayment(ctx, rsPack(7, "c2", map[string]int64{"credits": 3}))
	require.NoError(t, err)

	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{prefix + "{u:7}", prefix + "{u:7}:pay:c1", prefix + "{u:7}:pay:c2"}, keys)
	for _, k := range keys {
		open := strings.IndexByte(k, '{')
		end := strings.IndexByte(k[open:], '}')
		assert.Equal(t, "u:7", k[open+1:open+end], "hash tag of %s", k)
		ttl, err := rdb.TTL(ctx, k).Result()
		require.NoError(t, err)
		assert.Equal(t, time.Duration(-1), ttl, "%s must have no TTL", k)
	}
	fields, err := rdb.HGetAll(ctx, prefix+"{u:7}").Result()
	require.NoError(t, err)
	assert.Equal(t, "2", fields["v"])
	assert.Equal(t, "3", fields["c:credits"])
	assert.Contains(t, fields["g:sub:pro"], `"expires_at":"1772366400.123456789"`)
	assert.Len(t, fields, 3)
	raw, err := rdb.Get(ctx, prefix+"{u:7}:pay:c1").Result()
	require.NoError(t, err)
	assert.Contains(t, raw, `"user_id":"7"`, "integers are stored as strings")
}

func TestRedisStore_DefaultPrefix(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	id := time.Now().UnixNano() // a user no other test uses
	key := fmt.Sprintf("%s{u:%d}", entitlements.DefaultRedisPrefix, id)
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	s := entitlements.NewRedisStore(rdb, entitlements.RedisOptions{})
	_, err := s.AddCredits(ctx, id, "credits", 1)
	require.NoError(t, err)
	n, err := rdb.Exists(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

// countHook counts the commands a client sends (pipelines count each).
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func TestRedisStore_LoadIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, rdb, _ := redisTestStore(t)
	_, err := s.RecordPayment(ctx, rsSub(9, "c1", rsBase, true, true))
	require.NoError(t, err)
	_, err = s.RecordPayment(ctx, rsOneTime(9, "c2", time.Time{}))
	require.NoError(t, err)
	_, err = s.AddCredits(ctx, 9, "credits", 5)
	require.NoError(t, err)

	h := &countHook{}
	rdb.AddHook(h)
	st, err := s.Load(ctx, 9)
	require.NoError(t, err)
	require.Len(t, st.Grants, 2)
	assert.Equal(t, int64(5), st.Balance("credits"))
	assert.Equal(t, int64(1), h.n.Load(), "Load must be one Redis command")
}

func TestRedisStore_Corrupt(t *testing.T) {
	tests := []struct {
		name  string
		field string
		value string
	}{
		{"nok, version not a number", "v", "x"},
		{"nok, balance not a number", "c:credits", "1.5"},
		{"nok, grant not JSON", "g:trial", "{"},
		{"nok, grant with a numeric instant", "g:trial", `{"id":"trial","features":["a"],"expires_at":1700000000}`},
		{"nok, grant with a bad instant", "g:trial", `{"id":"trial","features":["a"],"expires_at":"17e8"}`},
		{"nok, grant under another ID", "g:trial", `{"id":"other","features":["a"]}`},
		{"nok, grant features not strings", "g:trial", `{"id":"trial","features":[1]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, rdb, prefix := redisTestStore(t)
			require.NoError(t, rdb.HSet(ctx, prefix+"{u:1}", tt.field, tt.value).Err())
			_, err := s.Load(ctx, 1)
			require.ErrorIs(t, err, entitlements.ErrCorrupt)
		})
	}

	t.Run("nok, user key of the wrong type", func(t *testing.T) {
		ctx := context.Background()
		s, rdb, prefix := redisTestStore(t)
		require.NoError(t, rdb.Set(ctx, prefix+"{u:1}", "x", 0).Err())
		_, err := s.Load(ctx, 1)
		require.ErrorIs(t, err, entitlements.ErrCorrupt)
		_, err = s.Spend(ctx, 1, "credits", 1)
		require.ErrorIs(t, err, entitlements.ErrCorrupt)
	})

	t.Run("nok, scripts refuse corrupt data and write nothing", func(t *testing.T) {
		ctx := context.Background()
		s, rdb, prefix := redisTestStore(t)
		user := prefix + "{u:1}"
		require.NoError(t, rdb.HSet(ctx, user, "v", "5", "g:sub:pro", "not json", "c:credits", "abc").Err())
		require.NoError(t, rdb.Set(ctx, user+":pay:bad", `{"kind":"consumable","status":"paid","credits":{"credits":7}}`, 0).Err())

		_, err := s.SetAutoRenew(ctx, 1, "pro", false)
		assert.ErrorIs(t, err, entitlements.ErrCorrupt, "set auto-renew")
		_, err = s.EndSubscription(ctx, 1, "pro", rsBase)
		assert.ErrorIs(t, err, entitlements.ErrCorrupt, "end subscription")
		_, err = s.RecordPayment(ctx, rsSub(1, "new", rsBase, true, false))
		assert.ErrorIs(t, err, entitlements.ErrCorrupt, "record payment onto a corrupt grant")
		_, err = s.Spend(ctx, 1, "credits", 1)
		assert.ErrorIs(t, err, entitlements.ErrCorrupt, "spend")
		_, err = s.AddCredits(ctx, 1, "credits", 1)
		assert.ErrorIs(t, err, entitlements.ErrCorrupt, "add credits")
		_, err = s.RefundPayment(ctx, 1, "bad", rsBase)
		assert.ErrorIs(t, err, entitlements.ErrCorrupt, "refund with a numeric amount")
		_, err = s.Payment(ctx, 1, "bad")
		assert.ErrorIs(t, err, entitlements.ErrCorrupt, "payment")

		v, err := rdb.HGet(ctx, user, "v").Result()
		require.NoError(t, err)
		assert.Equal(t, "5", v, "nothing was written")
		n, err := rdb.Exists(ctx, user+":pay:new").Result()
		require.NoError(t, err)
		assert.Zero(t, n, "the payment was not recorded")
	})

	t.Run("ok, a grant replaces a corrupt one and revoke removes it", func(t *testing.T) {
		ctx := context.Background()
		s, rdb, prefix := redisTestStore(t)
		require.NoError(t, rdb.HSet(ctx, prefix+"{u:1}", "g:a", "garbage", "g:b", "garbage").Err())
		_, err := s.Grant(ctx, 1, entitlements.Grant{ID: "a", Features: []string{"x"}})
		require.NoError(t, err)
		ch, err := s.Revoke(ctx, 1, "b")
		require.ErrorIs(t, err, entitlements.ErrCorrupt, "the removed grant cannot be reported")
		assert.Equal(t, int64(2), ch.Version, "but the revoke was applied")
		st, err := s.Load(ctx, 1)
		require.NoError(t, err)
		require.Len(t, st.Grants, 1)
		assert.Equal(t, "a", st.Grants[0].ID)
	})

	t.Run("nok, payment stored under another charge", func(t *testing.T) {
		ctx := context.Background()
		s, rdb, prefix := redisTestStore(t)
		_, err := s.RecordPayment(ctx, rsOneTime(1, "c1", time.Time{}))
		require.NoError(t, err)
		raw, err := rdb.Get(ctx, prefix+"{u:1}:pay:c1").Result()
		require.NoError(t, err)
		require.NoError(t, rdb.Set(ctx, prefix+"{u:2}:pay:c1", raw, 0).Err())
		_, err = s.Payment(ctx, 2, "c1")
		require.ErrorIs(t, err, entitlements.ErrCorrupt)
	})
}

// deadClient is a client to a port where nothing listens.
func deadClient(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 500 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestRedisStore_Unreachable(t *testing.T) {
	closed := redistest.Client(t)
	require.NoError(t, closed.Close())
	clients := map[string]redis.UniversalClient{"dead port": deadClient(t), "closed client": closed}
	for name, rdb := range clients {
		t.Run("nok, "+name, func(t *testing.T) {
			ctx := context.Background()
			s := entitlements.NewRedisStore(rdb, entitlements.RedisOptions{Prefix: "sgtest:unreachable:"})
			notFound := []error{entitlements.ErrPaymentNotFound, entitlements.ErrGrantNotFound, entitlements.ErrInsufficientCredits, entitlements.ErrCorrupt}
			check := func(what string, err error) {
				t.Helper()
				require.Error(t, err, what)
				for _, nf := range notFound {
					assert.NotErrorIs(t, err, nf, what)
				}
			}
			_, err := s.Load(ctx, 1)
			check("load", err)
			_, err = s.Payment(ctx, 1, "c")
			check("payment", err)
			_, err = s.RecordPayment(ctx, rsOneTime(1, "c", time.Time{}))
			check("record payment", err)
			_, err = s.RefundPayment(ctx, 1, "c", rsBase)
			check("refund", err)
			_, err = s.Revoke(ctx, 1, "g")
			check("revoke", err)
			_, err = s.Spend(ctx, 1, "credits", 1)
			check("spend", err)
			check("subscribe", s.Subscribe(ctx, func(int64) {}, nil))
			check("check config", s.CheckConfig(ctx))
		})
	}
}

func TestRedisStore_CanceledContext(t *testing.T) {
	s, _, _ := redisTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Load(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.RecordPayment(ctx, rsOneTime(1, "c", time.Time{}))
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Spend(ctx, 1, "credits", 1)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Payment(ctx, 1, "c")
	require.ErrorIs(t, err, context.Canceled)
}

func TestRedisStore_NilClient(t *testing.T) {
	s := entitlements.NewRedisStore(nil, entitlements.RedisOptions{})
	ctx := context.Background()
	_, err := s.Load(ctx, 1)
	require.ErrorIs(t, err, entitlements.ErrInvalid)
	_, err = s.Spend(ctx, 1, "credits", 1)
	require.ErrorIs(t, err, entitlements.ErrInvalid)
	require.ErrorIs(t, s.Subscribe(ctx, func(int64) {}, nil), entitlements.ErrInvalid)
	require.ErrorIs(t, s.CheckConfig(ctx), entitlements.ErrInvalid)
}

func TestRedisStore_Precision(t *testing.T) {
	ctx := context.Background()
	s, _, _ := redisTestStore(t)
	user := int64(math.MaxInt64 - 3) // cjson would print 9.2233720368548e+18
	p := rsPack(user, "c1", map[string]int64{"credits": 1<<53 + 1})
	p.Amount = 1<<60 + 7
	p.PaidAt = time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)
	_, err := s.RecordPayment(ctx, p)
	require.NoError(t, err)
	got, err := s.Payment(ctx, user, "c1")
	require.NoError(t, err)
	p.Status = entitlements.StatusPaid
	assert.Equal(t, p, got)

	bal, err := s.Spend(ctx, user, "credits", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1<<53), bal)
	bal, err = s.Spend(ctx, user, "credits", math.MaxInt64)
	var ice *entitlements.InsufficientCreditsError
	require.ErrorAs(t, err, &ice)
	assert.Equal(t, int64(1<<53), ice.Balance)
	assert.Equal(t, int64(1<<53), bal)

	_, err = s.AddCredits(ctx, user, "credits", math.MaxInt64-10)
	require.ErrorIs(t, err, entitlements.ErrInvalid, "overflow is refused")
	st, err := s.Load(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, int64(1<<53), st.Balance("credits"), "and changes nothing")

	// Instants beyond int64 nanoseconds compare exactly in Lua.
	far := time.Date(9999, 12, 31, 23, 59, 59, 2, time.UTC)
	_, err = s.Grant(ctx, user, entitlements.Grant{ID: entitlements.SubscriptionGrantID("x"), Features: []string{"x"}, ExpiresAt: far})
	require.NoError(t, err)
	ch, err := s.EndSubscription(ctx, user, "x", far.Add(time.Nanosecond))
	require.NoError(t, err)
	assert.True(t, ch.Duplicate, "already ended by a later instant")
	_, err = s.EndSubscription(ctx, user, "x", far.Add(-time.Nanosecond))
	require.NoError(t, err)
	st, err = s.Load(ctx, user)
	require.NoError(t, err)
	require.Len(t, st.Grants, 1)
	assert.Equal(t, far.Add(-time.Nanosecond), st.Grants[0].ExpiresAt)
}

func TestRedisStore_Concurrency(t *testing.T) {
	ctx := context.Background()
	s, _, prefix := redisTestStore(t)

	t.Run("ok, one charge recorded once by many instances", func(t *testing.T) {
		const n = 16
		var wg sync.WaitGroup
		var fresh atomic.Int64
		errs := make(chan error, n)
		for range n {
			other := entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{Prefix: prefix})
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch, err := other.RecordPayment(ctx, rsSub(5, "same", rsBase, true, true))
				if err != nil {
					errs <- err
					return
				}
				if !ch.Duplicate {
					fresh.Add(1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, int64(1), fresh.Load())
		st, err := s.Load(ctx, 5)
		require.NoError(t, err)
		assert.Equal(t, int64(1), st.Version)
	})

	t.Run("ok, spends never go below zero", func(t *testing.T) {
		_, err := s.AddCredits(ctx, 6, "credits", 50)
		require.NoError(t, err)
		var wg sync.WaitGroup
		var ok, short atomic.Int64
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					_, err := s.Spend(ctx, 6, "credits", 1)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, entitlements.ErrInsufficientCredits):
						short.Add(1)
					default:
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int64(50), ok.Load())
		assert.Equal(t, int64(30), short.Load())
		st, err := s.Load(ctx, 6)
		require.NoError(t, err)
		assert.Equal(t, int64(0), st.Balance("credits"))
		assert.Equal(t, int64(51), st.Version)
	})
}

// rsNotes collects notifications.
type rsNotes struct {
	ids    chan int64
	resets chan struct{}
}

func subscribeNotes(t *testing.T, s *entitlements.RedisStore) *rsNotes {
	t.Helper()
	n := &rsNotes{ids: make(chan int64, 100), resets: make(chan struct{}, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, s.Subscribe(ctx, func(id int64) { n.ids <- id }, func() { n.resets <- struct{}{} }))
	return n
}

// next waits for the next notification; the bound only keeps a broken test
// from hanging (the latency is measured by BenchmarkRedisStore_Notify).
func (n *rsNotes) next(t *testing.T, msg ...any) int64 {
	t.Helper()
	select {
	case id := <-n.ids:
		return id
	case <-time.After(5 * time.Second):
		t.Fatal(append([]any{"no notification: "}, msg...)...)
		return 0
	}
}

func TestRedisStore_Notifications(t *testing.T) {
	ctx := context.Background()
	writer, _, prefix := redisTestStore(t)
	// The listener is another instance: its own client, same prefix.
	listener := entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{Prefix: prefix})
	notes := subscribeNotes(t, listener)

	const big = int64(1<<62 + 1)
	changes := []struct {
		name string
		user int64
		do   func() (entitlements.Change, error)
	}{
		{"ok, record payment", big, func() (entitlements.Change, error) {
			return writer.RecordPayment(ctx, rsSub(big, "c1", rsBase, true, true))
		}},
		{"ok, set auto-renew", big, func() (entitlements.Change, error) { return writer.SetAutoRenew(ctx, big, "pro", false) }},
		{"ok, end subscription", big, func() (entitlements.Change, error) {
			return writer.EndSubscription(ctx, big, "pro", rsBase.Add(-time.Hour))
		}},
		{"ok, refund", big, func() (entitlements.Change, error) { return writer.RefundPayment(ctx, big, "c1", rsBase) }},
		{"ok, grant", 3, func() (entitlements.Change, error) {
			return writer.Grant(ctx, 3, entitlements.Grant{ID: "g", Features: []string{"x"}})
		}},
		{"ok, revoke", 3, func() (entitlements.Change, error) { return writer.Revoke(ctx, 3, "g") }},
		{"ok, add credits", 4, func() (entitlements.Change, error) {
			_, err := writer.AddCredits(ctx, 4, "credits", 2)
			return entitlements.Change{}, err
		}},
		{"ok, spend", 4, func() (entitlements.Change, error) {
			_, err := writer.Spend(ctx, 4, "credits", 1)
			return entitlements.Change{}, err
		}},
	}
	for _, c := range changes {
		ch, err := c.do()
		require.NoError(t, err, c.name)
		require.False(t, ch.Duplicate, c.name)
		assert.Equal(t, c.user, notes.next(t, c.name), c.name)
	}

	// Calls that change nothing publish nothing: the next notification is
	// the real change made after them.
	ch, err := writer.RecordPayment(ctx, rsSub(big, "c1", rsBase, true, true))
	require.NoError(t, err)
	require.True(t, ch.Duplicate)
	_, err = writer.Spend(ctx, 4, "credits", 100)
	require.ErrorIs(t, err, entitlements.ErrInsufficientCredits)
	_, err = writer.AddCredits(ctx, 8, "credits", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(8), notes.next(t))

	select {
	case <-notes.resets:
		t.Fatal("onReset without a reconnect")
	default:
	}
}

func TestRedisStore_SubscribeIgnoresMalformed(t *testing.T) {
	ctx := context.Background()
	s, rdb, prefix := redisTestStore(t)
	var logs bytes.Buffer
	listener := entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{
		Prefix: prefix, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	notes := subscribeNotes(t, listener)
	for _, payload := range []string{"", "abc", "1.5", "99999999999999999999", "-"} {
		require.NoError(t, rdb.Publish(ctx, prefix+"changes", payload).Err())
	}
	_, err := s.AddCredits(ctx, 11, "credits", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(11), notes.next(t))
	assert.Contains(t, logs.String(), "malformed change notification")
}

func TestRedisStore_SubscribeResetAfterReconnect(t *testing.T) {
	ctx := context.Background()
	writer, admin, prefix := redisTestStore(t)
	opts, err := redis.ParseURL(redistest.URL())
	require.NoError(t, err)
	name := "sgtest-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	opts.ClientName = name
	subClient := redis.NewClient(opts)
	t.Cleanup(func() { _ = subClient.Close() })
	listener := entitlements.NewRedisStore(subClient, entitlements.RedisOptions{Prefix: prefix})
	notes := subscribeNotes(t, listener)

	// Kill the listener's pub/sub connection, and only that one.
	list, err := admin.ClientList(ctx).Result()
	require.NoError(t, err)
	var id string
	for line := range strings.SplitSeq(list, "\n") {
		f := map[string]string{}
		for kv := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if f["name"] == name && f["sub"] == "1" {
			id = f["id"]
		}
	}
	require.NotEmpty(t, id, "the pub/sub connection is named %s", name)
	require.NoError(t, admin.ClientKillByFilter(ctx, "ID", id).Err())

	select {
	case <-notes.resets:
	case <-time.After(10 * time.Second):
		t.Fatal("onReset was not called after the reconnect")
	}
	_, err = writer.AddCredits(ctx, 12, "credits", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(12), notes.next(t), "notifications flow again")
}

func TestPolicyMayEvict(t *testing.T) {
	tests := []struct {
		policy string
		evicts bool
	}{
		{"noeviction", false},
		{"volatile-lru", false},
		{"volatile-lfu", false},
		{"volatile-random", false},
		{"volatile-ttl", false},
		{"allkeys-lru", true},
		{"allkeys-lfu", true},
		{"allkeys-random", true},
		{"ALLKEYS-LRU", true},
		{"something-new", true},
	}
	for _, tt := range tests {
		name := "ok, " + tt.policy + " is safe"
		if tt.evicts {
			name = "nok, " + tt.policy + " may evict"
		}
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tt.evicts, entitlements.PolicyMayEvict(tt.policy))
		})
	}
}

// configHook answers CONFIG GET itself, as a server with another policy or
// with CONFIG disabled would.
type configHook struct {
	policy string
	err    error
}

type fakeRedisError string

func (e fakeRedisError) Error() string { return string(e) }
func (fakeRedisError) RedisError()     {}

func (h configHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h configHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c, ok := cmd.(*redis.MapStringStringCmd)
		if !ok || cmd.Name() != "config" {
			return next(ctx, cmd)
		}
		if h.err != nil {
			c.SetErr(h.err)
			return h.err
		}
		c.SetVal(map[string]string{"maxmemory-policy": h.policy})
		return nil
	}
}
func (h configHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestRedisStore_CheckConfig(t *testing.T) {
	tests := []struct {
		name     string
		hook     *configHook
		wantWarn bool
	}{
		{"ok, the real server (noeviction)", nil, false},
		{"ok, volatile-lru", &configHook{policy: "volatile-lru"}, false},
		{"nok, allkeys-lru warns", &configHook{policy: "allkeys-lru"}, true},
		{"ok, CONFIG disabled", &configHook{err: fakeRedisError("ERR unknown command 'CONFIG'")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := redistest.Client(t)
			if tt.hook != nil {
				rdb.AddHook(*tt.hook)
			}
			var logs bytes.Buffer
			s := entitlements.NewRedisStore(rdb, entitlements.RedisOptions{
				Prefix: redistest.Prefix(t), Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			require.NoError(t, s.CheckConfig(context.Background()))
			if tt.wantWarn {
				assert.Contains(t, logs.String(), "level=WARN")
				assert.Contains(t, logs.String(), "allkeys-lru")
			} else {
				assert.NotContains(t, logs.String(), "level=WARN")
			}
			if tt.hook != nil && tt.hook.err != nil {
				assert.Contains(t, logs.String(), "level=DEBUG")
			}
		})
	}
}

// TestRedisStore_OtherClients shows that any redis.UniversalClient works:
// a Ring and whatever NewUniversalClient returns.
func TestRedisStore_OtherClients(t *testing.T) {
	opts, err := redis.ParseURL(redistest.URL())
	require.NoError(t, err)
	clients := map[string]func() redis.UniversalClient{
		"ring": func() redis.UniversalClient {
			return redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": opts.Addr}, DB: opts.DB, Password: opts.Password, Username: opts.Username})
		},
		"universal": func() redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{opts.Addr}, DB: opts.DB, Password: opts.Password, Username: opts.Username})
		},
	}
	for name, newClient := range clients {
		t.Run("ok, "+name, func(t *testing.T) {
			ctx := context.Background()
			rdb := newClient()
			t.Cleanup(func() { _ = rdb.Close() })
			s := entitlements.NewRedisStore(rdb, entitlements.RedisOptions{Prefix: redistest.Prefix(t)})
			notes := subscribeNotes(t, s)
			require.NoError(t, s.CheckConfig(ctx))
			ch, err := s.RecordPayment(ctx, rsPack(21, "c1", map[string]int64{"credits": 3}))
			require.NoError(t, err)
			assert.Equal(t, int64(1), ch.Version)
			assert.Equal(t, int64(21), notes.next(t))
			bal, err := s.Spend(ctx, 21, "credits", 2)
			require.NoError(t, err)
			assert.Equal(t, int64(1), bal)
			st, err := s.Load(ctx, 21)
			require.NoError(t, err)
			assert.Equal(t, int64(2), st.Version)
			p, err := s.Payment(ctx, 21, "c1")
			require.NoError(t, err)
			assert.Equal(t, entitlements.StatusPaid, p.Status)
		})
	}
}

func ExampleNewRedisStore() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	store := entitlements.NewRedisStore(rdb, entitlements.RedisOptions{Prefix: "myapp:sg:"})
	ctx := context.Background()
	if err := store.CheckConfig(ctx); err != nil { // warns when Redis may evict our keys
		slog.Error("redis unreachable", "error", err)
		return
	}
	st, err := store.Load(ctx, 12345)
	if err != nil {
		slog.Error("load", "error", err)
		return
	}
	fmt.Println(st.Has("premium", time.Now()), st.Balance("credits"))
}

func benchStore(b *testing.B) *entitlements.RedisStore {
	s, _, _ := redisTestStore(b)
	return s
}

func BenchmarkRedisStore_Load(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	if _, err := s.RecordPayment(ctx, rsSub(1, "c1", rsBase, true, true)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.RecordPayment(ctx, rsPack(1, "c2", map[string]int64{"credits": 10})); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedisStore_RecordPayment(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.RecordPayment(ctx, rsPack(int64(i%100+1), "c"+strconv.Itoa(i), map[string]int64{"credits": 10})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisStore_RecordPaymentOneTime records a one-time purchase, as
// the load tool's webhook-new scenario does.
func BenchmarkRedisStore_RecordPaymentOneTime(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.RecordPayment(ctx, rsOneTime(int64(i%100+1), "c"+strconv.Itoa(i), time.Time{})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisStore_RecordPaymentRenewal records a renewal that extends
// a subscription (the script merges it with the previous grant).
func BenchmarkRedisStore_RecordPaymentRenewal(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		exp := rsBase.Add(time.Duration(i) * time.Second)
		if _, err := s.RecordPayment(ctx, rsSub(1, "c"+strconv.Itoa(i), exp, true, i == 1)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedisStore_RecordPaymentDuplicate(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	p := rsSub(1, "c1", rsBase, true, true)
	if _, err := s.RecordPayment(ctx, p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ch, err := s.RecordPayment(ctx, p)
		if err != nil || !ch.Duplicate {
			b.Fatal(ch, err)
		}
	}
}

func BenchmarkRedisStore_Spend(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	if _, err := s.AddCredits(ctx, 1, "credits", math.MaxInt64/2); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Spend(ctx, 1, "credits", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisStore_Notify measures a change made on one client until a
// subscriber on another client hears it.
func BenchmarkRedisStore_Notify(b *testing.B) {
	ctx := context.Background()
	s, _, prefix := redisTestStore(b)
	listener := entitlements.NewRedisStore(redistest.Client(b), entitlements.RedisOptions{Prefix: prefix})
	heard := make(chan int64, 1)
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := listener.Subscribe(subCtx, func(id int64) { heard <- id }, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AddCredits(ctx, 1, "credits", 1); err != nil {
			b.Fatal(err)
		}
		<-heard
	}
}
