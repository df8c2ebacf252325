package entitlements_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
)

// Numbers: see the report in docs/performance.md. Reproduce with
//
//	go test -run '^$' -bench Checker -benchmem ./entitlements/
//	go test -run '^$' -bench Checker_MemoryPerUser -benchtime=100000x ./entitlements/

const chkBenchUsers = 1024

// chkBenchChecker returns a checker over store with users 1..n granted
// "premium" (a lifetime grant and a subscription, as a paying user has) and
// already cached.
func chkBenchChecker(b *testing.B, store entitlements.Store, n int, now func() time.Time) *entitlements.Checker {
	b.Helper()
	ctx := b.Context()
	c, err := entitlements.NewChecker(store, entitlements.CheckerConfig{TTL: time.Hour, Now: now})
	if err != nil {
		b.Fatal(err)
	}
	for u := int64(1); u <= int64(n); u++ {
		chkBenchSeed(b, store, u)
		if ok, err := c.Has(ctx, u, "premium"); err != nil || !ok {
			b.Fatalf("user %d: %v %v", u, ok, err)
		}
	}
	return c
}

func chkBenchSeed(b *testing.B, store entitlements.Store, u int64) {
	b.Helper()
	ctx := b.Context()
	if _, err := store.RecordPayment(ctx, entitlements.Payment{
		ChargeID: fmt.Sprintf("stxBench%d", u), UserID: u, ProductID: "pro", Amount: 100, Currency: "XTR",
		PaidAt: time.Now(), Kind: entitlements.KindSubscription, Features: []string{"export", "premium"},
		SubscriptionExpiresAt: time.Now().Add(30 * 24 * time.Hour), IsRecurring: true, IsFirstRecurring: true,
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := store.Grant(ctx, u, entitlements.Grant{ID: "beta", Features: []string{"beta"}}); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkChecker_HasWarm(b *testing.B) {
	// time.Now is most of the cost on some virtual machines; the fixed
	// clock shows what the cache itself costs.
	fixed := time.Now()
	clocks := []struct {
		name string
		now  func() time.Time
	}{
		{name: "serial", now: time.Now},
		{name: "serial-fixed-clock", now: func() time.Time { return fixed }},
	}
	for _, clock := range clocks {
		b.Run(clock.name, func(b *testing.B) {
			c := chkBenchChecker(b, entitlements.NewMemoryStore(), 1, clock.now)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := c.Has(ctx, 1, "premium"); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		c := chkBenchChecker(b, entitlements.NewMemoryStore(), chkBenchUsers, nil)
		ctx := b.Context()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			u := int64(0)
			for pb.Next() {
				u = u%chkBenchUsers + 1
				if ok, err := c.Has(ctx, u, "premium"); err != nil || !ok {
					b.Error(ok, err)
					return
				}
			}
		})
	})
}

func BenchmarkChecker_HasMiss(b *testing.B) {
	stores := []struct {
		name string
		make func(b *testing.B) entitlements.Store
	}{
		{name: "memory", make: func(*testing.B) entitlements.Store { return entitlements.NewMemoryStore() }},
		{name: "redis", make: func(b *testing.B) entitlements.Store {
			return entitlements.NewRedisStore(redistest.Client(b), entitlements.RedisOptions{Prefix: redistest.Prefix(b)})
		}},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			c := chkBenchChecker(b, s.make(b), 1, nil)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				c.Invalidate(1)
				if ok, err := c.Has(ctx, 1, "premium"); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// chkStateStore answers Load with freshly built states, as a Redis decode
// would (its own strings, slices and map per user).
type chkStateStore struct {
	*entitlements.MemoryStore
	state func(userID int64) entitlements.State
}

func (s chkStateStore) Load(_ context.Context, userID int64) (entitlements.State, error) {
	return s.state(userID), nil
}

// BenchmarkChecker_MemoryPerUser reports the live heap per cached user
// (B/user) with b.N users cached: run it with -benchtime=100000x for the
// default MaxUsers.
func BenchmarkChecker_MemoryPerUser(b *testing.B) {
	exp := time.Now().Add(30 * 24 * time.Hour)
	states := []struct {
		name  string
		state func(userID int64) entitlements.State
	}{
		{name: "nothing owned", state: func(u int64) entitlements.State {
			return entitlements.State{UserID: u, Credits: map[string]int64{}}
		}},
		{name: "subscriber", state: func(u int64) entitlements.State {
			charge := fmt.Sprintf("stxAbCdEfGhIjKlMnOpQrStUvWxYz%012d", u)
			return entitlements.State{
				UserID: u, Version: 3,
				Grants: []entitlements.Grant{{
					ID: strings.Clone("sub:pro"), ProductID: strings.Clone("pro"), Source: entitlements.SourceSubscription,
					Features: []string{strings.Clone("premium"), strings.Clone("export")}, ExpiresAt: exp,
					AutoRenew: true, ChargeID: charge, FirstChargeID: charge, GrantedAt: exp,
				}},
				Credits: map[string]int64{strings.Clone("credits"): 5},
			}
		}},
	}
	for _, s := range states {
		b.Run(s.name, func(b *testing.B) {
			store := chkStateStore{MemoryStore: entitlements.NewMemoryStore(), state: s.state}
			c, err := entitlements.NewChecker(store, entitlements.CheckerConfig{MaxUsers: 2*b.N + 1024}) // room for uneven shards
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for u := int64(1); u <= int64(b.N); u++ {
				if _, err := c.Has(ctx, u, "premium"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			if c.Len() != b.N {
				b.Fatalf("cached %d users, want %d", c.Len(), b.N)
			}
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "B/user")
			runtime.KeepAlive(c)
		})
	}
}
