package checkout_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
)

// countingStore counts RecordPayment calls; fail, while set, makes them
// fail as an unreachable store does.
type countingStore struct {
	entitlements.Store
	records atomic.Int32
	fail    atomic.Bool
}

func (s *countingStore) RecordPayment(ctx context.Context, p entitlements.Payment) (entitlements.Change, error) {
	s.records.Add(1)
	if s.fail.Load() {
		return entitlements.Change{}, errDown
	}
	return s.Store.RecordPayment(ctx, p)
}

// logRecorder is a slog handler that keeps the level and message of every
// record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (*logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler     { return h }
func (h *logRecorder) WithGroup(string) slog.Handler          { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *logRecorder) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level == level && r.Message == msg {
			n++
		}
	}
	return n
}

func TestDuplicateCache(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			tests := []struct {
				name          string
				givenSize     int
				expectRecords int32 // RecordPayment calls for three deliveries
			}{
				{"ok, default: duplicates skip the store", 0, 1},
				{"ok, off: every delivery asks the store", -1, 3},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					ctx := testCtx(t)
					store := &countingStore{Store: sk.new(t)}
					var logs logRecorder
					u := newUnit(t, store, func(c *checkout.Config) {
						c.DuplicateCacheSize = tc.givenSize
						c.Logger = slog.New(&logs)
					})
					raw := successfulPaymentUpdate(t, 1, alice, "seen-1", u.payload("credits", alice.ID), 50)
					for range 3 {
						require.NoError(t, u.proc.Process(ctx, raw))
					}
					assert.Equal(t, tc.expectRecords, store.records.Load())
					assert.Equal(t, 2, logs.count(slog.LevelDebug, "checkout: payment already recorded"), "each duplicate noted at debug")
					assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased}, u.events.types())
					st, err := store.Load(ctx, alice.ID)
					require.NoError(t, err)
					assert.Equal(t, int64(1), st.Version, "recorded once")
					assert.Equal(t, int64(100), st.Credits["credits"])
				})
			}
		})
	}
}

// A payment first seen as a duplicate (recorded by another instance) is
// remembered too; a refund does not make it new again.
func TestDuplicateCacheAcrossInstancesAndRefunds(t *testing.T) {
	ctx := testCtx(t)
	shared := entitlements.NewMemoryStore()
	first := newUnit(t, shared)
	second := &countingStore{Store: shared}
	u := newUnit(t, second)
	raw := successfulPaymentUpdate(t, 1, alice, "other-1", first.payload("lifetime", alice.ID), 500)
	require.NoError(t, first.proc.Process(ctx, raw))

	require.NoError(t, u.proc.Process(ctx, raw))
	assert.Equal(t, int32(1), second.records.Load(), "a miss asks the store")
	require.NoError(t, u.proc.Refund(ctx, alice.ID, "other-1"))
	require.NoError(t, u.proc.Process(ctx, raw))
	assert.Equal(t, int32(1), second.records.Load(), "the second instance now knows it")
	assert.Equal(t, []entitlements.EventType{entitlements.EventRefunded}, u.events.types(), "no purchased event for a duplicate")
	st, err := shared.Load(ctx, alice.ID)
	require.NoError(t, err)
	assert.False(t, st.Has("pro", time.Now()), "the refund stands")
}

// A store failure records nothing and remembers nothing: the redelivery
// goes to the store and is recorded.
func TestDuplicateCacheStoreFailure(t *testing.T) {
	ctx := testCtx(t)
	store := &countingStore{Store: entitlements.NewMemoryStore()}
	u := newUnit(t, store)
	raw := successfulPaymentUpdate(t, 1, alice, "fail-1", u.payload("lifetime", alice.ID), 500)
	store.fail.Store(true)
	require.ErrorIs(t, u.proc.Process(ctx, raw), checkout.ErrTransient)
	assert.Zero(t, u.proc.SeenLen())
	require.ErrorIs(t, u.proc.Process(ctx, raw), checkout.ErrTransient, "not acknowledged from the cache")

	store.fail.Store(false)
	require.NoError(t, u.proc.Process(ctx, raw))
	assert.Equal(t, int32(3), store.records.Load())
	assert.Equal(t, 1, u.proc.SeenLen())
	assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased}, u.events.types())
	st, err := store.Load(ctx, alice.ID)
	require.NoError(t, err)
	assert.True(t, st.Has("pro", time.Now()))
}

// The cache is keyed like the ledger, by payer and charge ID.
func TestDuplicateCacheKeyIncludesPayer(t *testing.T) {
	ctx := testCtx(t)
	store := &countingStore{Store: entitlements.NewMemoryStore()}
	u := newUnit(t, store)
	require.NoError(t, u.proc.Process(ctx, successfulPaymentUpdate(t, 1, alice, "same-1", u.payload("credits", alice.ID), 50)))
	require.NoError(t, u.proc.Process(ctx, successfulPaymentUpdate(t, 2, bob, "same-1", u.payload("credits", bob.ID), 50)))
	assert.Equal(t, int32(2), store.records.Load())
	st, err := store.Load(ctx, bob.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(100), st.Credits["credits"])
}

func TestDuplicateCacheBound(t *testing.T) {
	tests := []struct {
		name      string
		givenSize int
		expectLen int
	}{
		{"ok, bound of 50", 50, 50},
		{"ok, bound smaller than the shard count", 5, 5},
		{"ok, bound of 1", 1, 1},
		{"ok, off", -1, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			store := &countingStore{Store: entitlements.NewMemoryStore()}
			u := newUnit(t, store, func(c *checkout.Config) { c.DuplicateCacheSize = tc.givenSize })
			payload := u.payload("credits", alice.ID)
			const n = 400
			for i := range n {
				raw := successfulPaymentUpdate(t, int64(i), alice, "bound-"+strconv.Itoa(i), payload, 50)
				require.NoError(t, u.proc.Process(ctx, raw))
				require.LessOrEqual(t, u.proc.SeenLen(), max(tc.givenSize, -1))
			}
			assert.Equal(t, tc.expectLen, u.proc.SeenLen())
			// Everything again: each one forgotten asks the store, which
			// still knows it, and nothing is recorded twice.
			for i := range n {
				raw := successfulPaymentUpdate(t, int64(i), alice, "bound-"+strconv.Itoa(i), payload, 50)
				require.NoError(t, u.proc.Process(ctx, raw))
			}
			assert.LessOrEqual(t, store.records.Load(), int32(2*n))
			assert.GreaterOrEqual(t, store.records.Load(), int32(2*n-max(tc.givenSize, 0)))
			st, err := store.Load(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, int64(100*n), st.Credits["credits"])
			assert.Equal(t, n, u.events.count(entitlements.EventPurchased))
		})
	}
}

// Many deliveries of a few payments at once, on both stores: each is
// recorded once, with one event (run with -race).
func TestDuplicateCacheConcurrent(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := testCtx(t)
			store := &countingStore{Store: sk.new(t)}
			u := newUnit(t, store, func(c *checkout.Config) { c.DuplicateCacheSize = 8 })
			const charges = 20
			raws := make([][]byte, charges)
			for i := range raws {
				raws[i] = successfulPaymentUpdate(t, int64(i), alice, "conc-"+strconv.Itoa(i), u.payload("credits", alice.ID), 50)
			}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 10 * charges {
						assert.NoError(t, u.proc.Process(ctx, raws[(i+g)%charges]))
					}
				})
			}
			wg.Wait()
			st, err := store.Load(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, int64(charges), st.Version)
			assert.Equal(t, int64(100*charges), st.Credits["credits"])
			assert.Equal(t, charges, u.events.count(entitlements.EventPurchased))
			assert.LessOrEqual(t, u.proc.SeenLen(), 8)
			assert.Less(t, store.records.Load(), int32(8*10*charges), "some deliveries answered from the cache")
		})
	}
}

// Reconcile reads the store whatever the cache holds: after the store is
// wiped, a payment the processor remembers is recorded again.
func TestReconcileIgnoresDuplicateCache(t *testing.T) {
	prefix := redistest.Prefix(t)
	store := entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{Prefix: prefix, Logger: quiet})
	e := newEnv(t, store)
	ctx := testCtx(t)
	r := e.pay(t, alice, "lifetime")
	require.Equal(t, 1, e.proc.SeenLen())

	redistest.Cleanup(t, prefix)
	rep, err := e.proc.Reconcile(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, checkout.ReconcileReport{Scanned: 1, Recorded: 1}, rep)
	_, err = store.Payment(ctx, alice.ID, r.ChargeID)
	require.NoError(t, err)
	assert.True(t, e.has(t, alice.ID, "pro"))
	assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased, entitlements.EventPurchased}, e.events.types(),
		"the repair is an event of its own")
}
