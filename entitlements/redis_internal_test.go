package entitlements

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/internal/redistest"
)

func TestEncodeTime(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"ok, zero", time.Time{}, ""},
		{"ok, whole seconds", time.Unix(1700000000, 0), "1700000000"},
		{"ok, nanoseconds", time.Unix(1700000000, 5), "1700000000.000000005"},
		{"ok, before 1970", time.Unix(-1, 999999999), "-1.999999999"},
		{"ok, location does not matter", time.Date(2026, 1, 1, 3, 0, 0, 0, time.FixedZone("x", 3*3600)), "1767225600"},
		{"ok, beyond int64 nanoseconds", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), "253370764800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encodeTime(tt.t)
			assert.Equal(t, tt.want, got)
			back, err := decodeTime(got)
			require.NoError(t, err)
			assert.True(t, back.Equal(tt.t))
			assert.Equal(t, time.UTC, back.Location())
		})
	}
}

func TestDecodeTime(t *testing.T) {
	for _, s := range []string{"x", "1.5", "1.", "01", "+1", "1.0000000001", "1.00000000a", "-", " 1", "1e9"} {
		t.Run("nok, "+s, func(t *testing.T) {
			_, err := decodeTime(s)
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
}

// luaEval runs the script prelude followed by body.
func luaEval(t *testing.T, rdb *redis.Client, body string, args ...any) any {
	t.Helper()
	v, err := redis.NewScript(luaPrelude+body).Run(context.Background(), rdb, []string{redistest.Prefix(t) + "{x}"}, args...).Result()
	require.NoError(t, err)
	return v
}

// TestLuaTimeOrder checks that the scripts order stored instants exactly as
// Go orders the times (the zero time first).
func TestLuaTimeOrder(t *testing.T) {
	rdb := redistest.Client(t)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	times := []time.Time{
		{}, base, base.Add(time.Nanosecond), base.Add(time.Second - time.Nanosecond), base.Add(time.Second),
		base.Add(10 * time.Second), time.Unix(-1, 0), time.Unix(-1, 999999999), time.Unix(-10, 5), time.Unix(0, 0),
		time.Unix(9, 1), time.Date(9999, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
	}
	var args []any
	for _, a := range times {
		for _, b := range times {
			args = append(args, encodeTime(a), encodeTime(b))
		}
	}
	v := luaEval(t, rdb, `
local out = {}
for i = 1, #ARGV, 2 do out[#out + 1] = tcmp(ARGV[i], ARGV[i + 1]) end
return out`, args...)
	got, ok := v.([]any)
	require.True(t, ok)
	require.Len(t, got, len(times)*len(times))
	i := 0
	for _, a := range times {
		for _, b := range times {
			assert.Equal(t, int64(a.Compare(b)), got[i], "tcmp(%v, %v)", a, b)
			i++
		}
	}
}

func TestLuaIntOrder(t *testing.T) {
	rdb := redistest.Client(t)
	nums := []int64{0, 1, -1, 9, 10, -9, -10, 1 << 53, 1<<53 + 1, -(1<<53 + 1), math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, 123, 132}
	var args []any
	for _, a := range nums {
		for _, b := range nums {
			args = append(args, strconv.FormatInt(a, 10), strconv.FormatInt(b, 10))
		}
	}
	v := luaEval(t, rdb, `
local out = {}
for i = 1, #ARGV, 2 do out[#out + 1] = icmp(ARGV[i], ARGV[i + 1]) end
return out`, args...)
	got, ok := v.([]any)
	require.True(t, ok)
	i := 0
	for _, a := range nums {
		for _, b := range nums {
			want := int64(0)
			if a < b {
				want = -1
			} else if a > b {
				want = 1
			}
			assert.Equal(t, want, got[i], "icmp(%d, %d)", a, b)
			i++
		}
	}
}

// TestLuaGrantRoundTrip checks that a grant decoded and re-encoded by cjson
// (as the scripts do) decodes to the same grant in Go.
func TestLuaGrantRoundTrip(t *testing.T) {
	rdb := redistest.Client(t)
	g := Grant{
		ID: "sub:pro/x", ProductID: "pro", Source: SourceSubscription, Features: []string{"a", "ü", `q"`},
		ExpiresAt: time.Unix(1<<40, 123), AutoRenew: true, ChargeID: "c1", FirstChargeID: "c0",
		GrantedAt: time.Unix(-5, 7), Reason: "why\n",
	}
	v := luaEval(t, rdb, `return cjson.encode(decode(ARGV[1], 'g'))`, encodeGrant(g))
	raw, ok := v.(string)
	require.True(t, ok)
	back, err := decodeGrant(raw)
	require.NoError(t, err)
	g.ExpiresAt, g.GrantedAt = g.ExpiresAt.UTC(), g.GrantedAt.UTC()
	assert.Equal(t, g, back)
}

func TestReplyDecoding(t *testing.T) {
	tests := []struct {
		name  string
		reply []any
		i     int
		ok    bool
	}{
		{"ok, int", []any{int64(3)}, 0, true},
		{"ok, decimal string", []any{"3"}, 0, true},
		{"nok, missing", []any{}, 0, false},
		{"nok, not a number", []any{"x"}, 0, false},
		{"nok, wrong type", []any{[]any{}}, 0, false},
		{"nok, nil", []any{nil}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := replyInt(tt.reply, tt.i)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrCorrupt)
			}
		})
	}
	_, err := replyString([]any{int64(1)}, 0)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = replyString(nil, 2)
	require.ErrorIs(t, err, ErrCorrupt)
}

// FuzzRedisDecodeGrant feeds stored grant values to the decoder: it must
// never panic, and what it accepts must survive a round trip.
func FuzzRedisDecodeGrant(f *testing.F) {
	f.Add(encodeGrant(Grant{ID: "sub:pro", Features: []string{"a"}, ExpiresAt: time.Unix(1700000000, 5)}))
	f.Add(`{"id":"x","features":{},"expires_at":"","granted_at":"-1.999999999"}`)
	f.Add(`{"id":"x","features":[1]}`)
	f.Add(`{"id":"x","expires_at":1.7e9}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		g, err := decodeGrant(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		back, err := decodeGrant(encodeGrant(g))
		require.NoError(t, err)
		if len(g.Features) == 0 {
			g.Features = back.Features // nil and empty both encode as []
		}
		require.Equal(t, g, back)
	})
}

// FuzzRedisDecodePayment does the same for ledger records.
func FuzzRedisDecodePayment(f *testing.F) {
	pj := encodePayment(Payment{
		ChargeID: "c", UserID: 1 << 60, ProductID: "p", Amount: 5, PaidAt: time.Unix(1, 1),
		Kind: KindConsumable, Credits: map[string]int64{"credits": 3}, Shortfall: map[string]int64{"credits": 1},
	})
	f.Add(pj)
	f.Add(`{"user_id":1,"amount":"1"}`)
	f.Add(`{"user_id":"1","amount":"x"}`)
	f.Add(`{"user_id":"1","amount":"1","credits":{"a":"1.5"}}`)
	f.Add(`{"user_id":"1","amount":"1","features":{},"paid_at":"12.000000001"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := decodePayment(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		enc := encodePayment(p)
		back, err := decodePayment(enc)
		require.NoError(t, err)
		if len(p.Features) == 0 {
			p.Features = back.Features // empty features are left out (omitempty): nil
		}
		require.Equal(t, p, back)
	})
}

// FuzzRedisDecodeTime checks the instant codec: accepted strings are
// canonical, and every time survives a round trip.
func FuzzRedisDecodeTime(f *testing.F) {
	f.Add("", int64(0), int64(0))
	f.Add("1700000000.000000005", int64(1700000000), int64(5))
	f.Add("-1.999999999", int64(-1), int64(999999999))
	f.Add("01", int64(math.MaxInt32), int64(-1))
	f.Fuzz(func(t *testing.T, s string, sec, nsec int64) {
		if tm, err := decodeTime(s); err == nil {
			if !tm.IsZero() { // the zero time is also accepted as its Unix seconds
				require.Equal(t, s, encodeTime(tm))
			}
		} else {
			require.ErrorIs(t, err, ErrCorrupt)
		}
		tm := time.Unix(sec, nsec)
		back, err := decodeTime(encodeTime(tm))
		require.NoError(t, err)
		require.True(t, back.Equal(tm) || tm.IsZero() && back.IsZero())
	})
}
