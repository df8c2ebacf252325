package entitlements_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

// chkStore wraps a Store for the checker tests: it counts loads (in total
// and per user), can hold or fail a load through hook, and records the
// Notifier callbacks it is given (forwarding them to the inner store when
// that is a Notifier).
type chkStore struct {
	entitlements.Store

	loads atomic.Int64

	mu      sync.Mutex
	perUser map[int64]int
	hook    func(ctx context.Context, n int64) error // runs after the inner Load; n counts from 1
	failErr error                                    // returned by Load when set
	// writeErr makes RecordPayment apply the payment and still fail, as a
	// timeout after the write would.
	writeErr error
	subErr   error
	onChange func(int64)
	onReset  func()
}

func newChkStore(inner entitlements.Store) *chkStore {
	return &chkStore{Store: inner, perUser: map[int64]int{}}
}

func (s *chkStore) Load(ctx context.Context, userID int64) (entitlements.State, error) {
	n := s.loads.Add(1)
	s.mu.Lock()
	s.perUser[userID]++
	hook, failErr := s.hook, s.failErr
	s.mu.Unlock()
	st, err := s.Store.Load(ctx, userID)
	if hook != nil {
		if herr := hook(ctx, n); herr != nil {
			return entitlements.State{}, herr
		}
	}
	if failErr != nil {
		return entitlements.State{}, failErr
	}
	return st, err
}

func (s *chkStore) RecordPayment(ctx context.Context, p entitlements.Payment) (entitlements.Change, error) {
	ch, err := s.Store.RecordPayment(ctx, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && s.writeErr != nil {
		return entitlements.Change{}, s.writeErr
	}
	return ch, err
}

func (s *chkStore) Subscribe(ctx context.Context, fn func(int64), onReset func()) error {
	s.mu.Lock()
	if s.subErr != nil {
		defer s.mu.Unlock()
		return s.subErr
	}
	s.onChange, s.onReset = fn, onReset
	s.mu.Unlock()
	if n, ok := s.Store.(entitlements.Notifier); ok {
		return n.Subscribe(ctx, fn, onReset)
	}
	return nil
}

func (s *chkStore) set(f func(s *chkStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *chkStore) userLoads(userID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perUser[userID]
}

// chkPlainStore hides every optional interface of the store it wraps.
type chkPlainStore struct{ entitlements.Store }

// chkClock is a settable clock.
type chkClock struct {
	mu  sync.Mutex
	now time.Time
}

func newChkClock() *chkClock {
	return &chkClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *chkClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *chkClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// chkDoneCounter counts calls of Done: a caller waiting for another's store
// read selects on its own ctx.Done, so the count tells the test that a
// caller has joined a read in flight.
type chkDoneCounter struct {
	context.Context
	n *atomic.Int64
}

func (c chkDoneCounter) Done() <-chan struct{} {
	c.n.Add(1)
	return c.Context.Done()
}

func chkGrant(t *testing.T, s entitlements.Store, userID int64, id string, expires time.Time, features ...string) {
	t.Helper()
	_, err := s.Grant(t.Context(), userID, entitlements.Grant{ID: id, Features: features, ExpiresAt: expires})
	require.NoError(t, err)
}

func newChkChecker(t *testing.T, s entitlements.Store, cfg entitlements.CheckerConfig) *entitlements.Checker {
	t.Helper()
	c, err := entitlements.NewChecker(s, cfg)
	require.NoError(t, err)
	return c
}

func TestNewChecker(t *testing.T) {
	tests := []struct {
		name      string
		givenNil  bool
		givenCfg  entitlements.CheckerConfig
		expectErr error
	}{
		{name: "ok, defaults", givenCfg: entitlements.CheckerConfig{}},
		{name: "ok, all set", givenCfg: entitlements.CheckerConfig{TTL: time.Second, MaxUsers: 1, Now: time.Now, Logger: slog.Default()}},
		{name: "nok, nil store", givenNil: true, expectErr: entitlements.ErrInvalid},
		{name: "nok, negative TTL", givenCfg: entitlements.CheckerConfig{TTL: -time.Second}, expectErr: entitlements.ErrInvalid},
		{name: "nok, negative MaxUsers", givenCfg: entitlements.CheckerConfig{MaxUsers: -1}, expectErr: entitlements.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s entitlements.Store = entitlements.NewMemoryStore()
			if tt.givenNil {
				s = nil
			}
			c, err := entitlements.NewChecker(s, tt.givenCfg)
			if tt.expectErr != nil {
				require.ErrorIs(t, err, tt.expectErr)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			ok, err := c.Has(t.Context(), 1, "premium")
			require.NoError(t, err)
			assert.False(t, ok)
		})
	}
}

func TestChecker_HitMissTTL(t *testing.T) {
	const ttl = 30 * time.Second
	tests := []struct {
		name       string
		givenGrant bool // false: the user owns nothing (negative entry)
		expectHas  bool
	}{
		{name: "ok, positive entry", givenGrant: true, expectHas: true},
		{name: "ok, negative entry", givenGrant: false, expectHas: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			mem := entitlements.NewMemoryStore()
			if tt.givenGrant {
				chkGrant(t, mem, 7, "promo", time.Time{}, "premium")
			}
			st := newChkStore(mem)
			clock := newChkClock()
			c := newChkChecker(t, st, entitlements.CheckerConfig{TTL: ttl, Now: clock.Now})

			ok, err := c.Has(ctx, 7, "premium")
			require.NoError(t, err)
			assert.Equal(t, tt.expectHas, ok)
			assert.EqualValues(t, 1, st.loads.Load(), "first call misses")

			ok, err = c.Has(ctx, 7, "premium")
			require.NoError(t, err)
			assert.Equal(t, tt.expectHas, ok)
			ok, err = c.Has(ctx, 7, "other")
			require.NoError(t, err)
			assert.False(t, ok)
			_, err = c.State(ctx, 7)
			require.NoError(t, err)
			assert.EqualValues(t, 1, st.loads.Load(), "hits do not read the store")

			clock.Advance(ttl - time.Nanosecond)
			_, err = c.Has(ctx, 7, "premium")
			require.NoError(t, err)
			assert.EqualValues(t, 1, st.loads.Load(), "fresh until the TTL")

			clock.Advance(time.Nanosecond)
			ok, err = c.Has(ctx, 7, "premium")
			require.NoError(t, err)
			assert.Equal(t, tt.expectHas, ok)
			assert.EqualValues(t, 2, st.loads.Load(), "read again at the TTL")
		})
	}
}

func TestChecker_ExpiryEvaluatedOnEachCall(t *testing.T) {
	ctx := t.Context()
	clock := newChkClock()
	mem := entitlements.NewMemoryStore()
	chkGrant(t, mem, 7, "month", clock.Now().Add(10*time.Second), "premium")
	st := newChkStore(mem)
	c := newChkChecker(t, st, entitlements.CheckerConfig{TTL: time.Minute, Now: clock.Now})

	ok, err := c.Has(ctx, 7, "premium")
	require.NoError(t, err)
	assert.True(t, ok)

	clock.Advance(10 * time.Second)
	ok, err = c.Has(ctx, 7, "premium")
	require.NoError(t, err)
	assert.False(t, ok, "expired at ExpiresAt although the entry is fresh")
	assert.EqualValues(t, 1, st.loads.Load(), "answered from the cache")
}

func TestChecker_StoreErrorNotCached(t *testing.T) {
	ctx := t.Context()
	down := errors.New("store down")
	mem := entitlements.NewMemoryStore()
	chkGrant(t, mem, 7, "promo", time.Time{}, "premium")
	st := newChkStore(mem)
	st.set(func(s *chkStore) { s.failErr = down })
	c := newChkChecker(t, st, entitlements.CheckerConfig{})

	for i := 1; i <= 2; i++ {
		ok, err := c.Has(ctx, 7, "premium")
		require.ErrorIs(t, err, down)
		assert.False(t, ok)
		_, err = c.State(ctx, 7)
		require.ErrorIs(t, err, down)
		assert.EqualValues(t, 2*i, st.loads.Load(), "every call reads again")
	}
	assert.Zero(t, c.Len())

	st.set(func(s *chkStore) { s.failErr = nil })
	ok, err := c.Has(ctx, 7, "premium")
	require.NoError(t, err)
	assert.True(t, ok, "the paying user is entitled again once the store answers")
	_, err = c.Has(ctx, 7, "premium")
	require.NoError(t, err)
	assert.EqualValues(t, 5, st.loads.Load())
}

func TestChecker_CollapsesConcurrentMisses(t *testing.T) {
	const callers = 100
	mem := entitlements.NewMemoryStore()
	chkGrant(t, mem, 7, "promo", time.Time{}, "premium")
	st := newChkStore(mem)
	release := make(chan struct{})
	st.set(func(s *chkStore) {
		s.hook = func(_ context.Context, n int64) error {
			if n == 1 {
				<-release
			}
			return nil
		}
	})
	c := newChkChecker(t, st, entitlements.CheckerConfig{})

	var joined atomic.Int64
	ctx := chkDoneCounter{Context: t.Context(), n: &joined}
	errs := make(chan error, callers)
	for range callers {
		go func() {
			ok, err := c.Has(ctx, 7, "premium")
			if err == nil && !ok {
				err = errors.New("not entitled")
			}
			errs <- err
		}()
	}
	// Every caller is either reading the store or waiting for a read.
	require.Eventually(t, func() bool { return st.loads.Load()+joined.Load() >= callers }, 10*time.Second, time.Millisecond)
	close(release)
	for range callers {
		require.NoError(t, <-errs)
	}
	assert.EqualValues(t, 1, st.loads.Load())
}

func TestChecker_WaiterOutlivesCanceledLeader(t *testing.T) {
	mem := entitlements.NewMemoryStore()
	chkGrant(t, mem, 7, "promo", time.Time{}, "premium")
	st := newChkStore(mem)
	st.set(func(s *chkStore) {
		s.hook = func(ctx context.Context, n int64) error {
			if n == 1 {
				<-ctx.Done() // the leader's request goes away mid-read
				return ctx.Err()
			}
			return nil
		}
	})
	c := newChkChecker(t, st, entitlements.CheckerConfig{})

	leaderCtx, cancelLeader := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.Has(leaderCtx, 7, "premium")
		leaderErr <- err
	}()
	require.Eventually(t, func() bool { return st.loads.Load() == 1 }, 10*time.Second, time.Millisecond)

	var joined atomic.Int64
	type result struct {
		ok  bool
		err error
	}
	waiter := make(chan result, 1)
	go func() {
		ok, err := c.Has(chkDoneCounter{Context: t.Context(), n: &joined}, 7, "premium")
		waiter <- result{ok, err}
	}()
	require.Eventually(t, func() bool { return joined.Load() >= 1 }, 10*time.Second, time.Millisecond)
	cancelLeader()

	require.ErrorIs(t, <-leaderErr, context.Canceled)
	got := <-waiter
	require.NoError(t, got.err)
	assert.True(t, got.ok)
	assert.EqualValues(t, 2, st.loads.Load())
}

// The race: a read starts at T0, the user is invalidated at T1, the read
// returns at T2 with what it read before T1. That result must not be cached.
func TestChecker_InvalidationDuringLoad(t *testing.T) {
	tests := []struct {
		name string
		// whenRequestBeforeRelease asks between the invalidation and the end
		// of the old read: the new request must read afresh, not join it.
		whenRequestBeforeRelease bool
	}{
		{name: "ok, stale read is not cached"},
		{name: "ok, request after the invalidation reads afresh", whenRequestBeforeRelease: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			mem := entitlements.NewMemoryStore()
			chkGrant(t, mem, 7, "promo", time.Time{}, "premium")
			st := newChkStore(mem)
			read, release := make(chan struct{}), make(chan struct{})
			st.set(func(s *chkStore) {
				s.hook = func(_ context.Context, n int64) error {
					if n == 1 { // the inner Load is done: this read holds pre-T1 data
						close(read)
						<-release
					}
					return nil
				}
			})
			c := newChkChecker(t, st, entitlements.CheckerConfig{})

			first := make(chan bool, 1)
			go func() {
				ok, err := c.Has(ctx, 7, "premium")
				assert.NoError(t, err)
				first <- ok
			}()
			<-read
			_, err := mem.Revoke(ctx, 7, "promo")
			require.NoError(t, err)
			c.Invalidate(7) // T1

			if tt.whenRequestBeforeRelease {
				// Joining the old read would wait for the release below:
				// bound the wait so that the test fails rather than hangs.
				bounded, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				ok, err := c.Has(bounded, 7, "premium")
				require.NoError(t, err, "joined the stale read")
				assert.False(t, ok, "served the revoked entitlement after the invalidation")
				assert.EqualValues(t, 2, st.loads.Load())
			}
			close(release) // T2
			assert.True(t, <-first, "the request that started before T1 answers from its read")

			ok, err := c.Has(ctx, 7, "premium")
			require.NoError(t, err)
			assert.False(t, ok, "the stale read was cached")
			assert.EqualValues(t, 2, st.loads.Load())
		})
	}
}

func TestChecker_Invalidate(t *testing.T) {
	ctx := t.Context()
	mem := entitlements.NewMemoryStore()
	chkGrant(t, mem, 7, "promo", time.Time{}, "premium")
	chkGrant(t, mem, 8, "promo", time.Time{}, "premium")
	c := newChkChecker(t, chkPlainStore{mem}, entitlements.CheckerConfig{})
	for _, u := range []int64{7, 8} {
		ok, err := c.Has(ctx, u, "premium")
		require.NoError(t, err)
		require.True(t, ok)
	}
	for _, u := range []int64{7, 8} {
		_, err := mem.Revoke(ctx, u, "promo") // behind the checker's back
		require.NoError(t, err)
	}
	ok, err := c.Has(ctx, 7, "premium")
	require.NoError(t, err)
	require.True(t, ok, "cached")

	c.Invalidate(7)
	ok, err = c.Has(ctx, 7, "premium")
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = c.Has(ctx, 8, "premium")
	require.NoError(t, err)
	assert.True(t, ok, "other users stay cached")
}

func TestChecker_Start(t *testing.T) {
	t.Run("ok, notifications invalidate until ctx ends", func(t *testing.T) {
		mem := entitlements.NewMemoryStore()
		st := newChkStore(mem)
		c := newChkChecker(t, st, entitlements.CheckerConfig{})
		subCtx, stop := context.WithCancel(t.Context())
		defer stop()
		require.NoError(t, c.Start(subCtx))

		ok, err := c.Has(t.Context(), 7, "premium")
		require.NoError(t, err)
		require.False(t, ok)
		chkGrant(t, mem, 7, "promo", time.Time{}, "premium") // not through the checker
		ok, err = c.Has(t.Context(), 7, "premium")
		require.NoError(t, err)
		assert.True(t, ok)

		stop()
		chkGrant(t, mem, 7, "beta", time.Time{}, "beta")
		ok, err = c.Has(t.Context(), 7, "beta")
		require.NoError(t, err)
		assert.False(t, ok, "no invalidation after the subscription ended")
	})
	t.Run("ok, drops what was cached before the subscription", func(t *testing.T) {
		mem := entitlements.NewMemoryStore()
		c := newChkChecker(t, newChkStore(mem), entitlements.CheckerConfig{})
		ok, err := c.Has(t.Context(), 7, "premium")
		require.NoError(t, err)
		require.False(t, ok)
		chkGrant(t, mem, 7, "promo", time.Time{}, "premium") // nobody subscribed yet
		require.NoError(t, c.Start(t.Context()))
		ok, err = c.Has(t.Context(), 7, "premium")
		require.NoError(t, err)
		assert.True(t, ok)
	})
	t.Run("ok, lost notifications drop the cache and in-flight reads", func(t *testing.T) {
		ctx := t.Context()
		mem := entitlements.NewMemoryStore()
		chkGrant(t, mem, 7, "promo", time.Time{}, "premium")
		chkGrant(t, mem, 8, "promo", time.Time{}, "premium")
		st := newChkStore(chkPlainStore{mem}) // Subscribe only records the callbacks
		c := newChkChecker(t, st, entitlements.CheckerConfig{})
		require.NoError(t, c.Start(ctx))
		_, err := c.Has(ctx, 8, "premium")
		require.NoError(t, err)
		require.Equal(t, 1, c.Len())

		read, release := make(chan struct{}), make(chan struct{})
		st.set(func(s *chkStore) {
			s.hook = func(context.Context, int64) error {
				close(read)
				<-release
				return nil
			}
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err := c.Has(ctx, 7, "premium")
			assert.NoError(t, err)
		}()
		<-read
		st.set(func(s *chkStore) { s.hook = nil })
		st.onReset()
		assert.Zero(t, c.Len())
		close(release)
		<-done
		assert.Zero(t, c.Len(), "a read that straddled the reset was cached")
	})
	t.Run("ok, no notifier logs a warning", func(t *testing.T) {
		var logs bytes.Buffer
		c := newChkChecker(t, chkPlainStore{entitlements.NewMemoryStore()},
			entitlements.CheckerConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		require.NoError(t, c.Start(t.Context()))
		assert.Contains(t, logs.String(), "no change notifications")
	})
	t.Run("nok, subscribe fails", func(t *testing.T) {
		boom := errors.New("no pubsub")
		st := newChkStore(entitlements.NewMemoryStore())
		st.set(func(s *chkStore) { s.subErr = boom })
		c := newChkChecker(t, st, entitlements.CheckerConfig{})
		require.ErrorIs(t, c.Start(t.Context()), boom)
	})
}

func TestChecker_StoreWriteThrough(t *testing.T) {
	const user = 7
	sub := entitlements.Payment{
		ChargeID: "sub-1", UserID: user, ProductID: "pro", Amount: 100, Currency: "XTR",
		Kind: entitlements.KindSubscription, Features: []string{"premium"},
		SubscriptionExpiresAt: time.Now().Add(30 * 24 * time.Hour), IsRecurring: true, IsFirstRecurring: true,
	}
	oneTime := entitlements.Payment{
		ChargeID: "once-1", UserID: user, ProductID: "pack", Amount: 50, Currency: "XTR",
		Kind: entitlements.KindOneTime, Features: []string{"pack"},
	}
	consumable := entitlements.Payment{
		ChargeID: "cred-1", UserID: user, ProductID: "credits", Amount: 10, Currency: "XTR",
		Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 5},
	}
	record := func(p entitlements.Payment) func(context.Context, entitlements.Store) error {
		return func(ctx context.Context, s entitlements.Store) error {
			_, err := s.RecordPayment(ctx, p)
			return err
		}
	}
	has := func(feature string, want bool) func(*testing.T, entitlements.State) {
		return func(t *testing.T, st entitlements.State) {
			assert.Equal(t, want, st.Has(feature, time.Now()), feature)
		}
	}
	balance := func(want int64) func(*testing.T, entitlements.State) {
		return func(t *testing.T, st entitlements.State) { assert.Equal(t, want, st.Balance("credits")) }
	}
	tests := []struct {
		name             string
		given            func(context.Context, entitlements.Store) error
		givenWriteErr    error
		when             func(context.Context, entitlements.Store) error
		expectErr        error
		expectInvalidate bool
		expect           func(*testing.T, entitlements.State)
	}{
		{name: "ok, RecordPayment", when: record(oneTime), expectInvalidate: true, expect: has("pack", true)},
		{
			name: "ok, RecordPayment duplicate changes nothing", given: record(oneTime), when: record(oneTime),
			expectInvalidate: false, expect: has("pack", true),
		},
		{
			name: "ok, RefundPayment", given: record(oneTime), expectInvalidate: true, expect: has("pack", false),
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.RefundPayment(ctx, user, oneTime.ChargeID, time.Now())
				return err
			},
		},
		{
			name: "nok, RefundPayment unknown charge", expectErr: entitlements.ErrPaymentNotFound,
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.RefundPayment(ctx, user, "nope", time.Now())
				return err
			},
		},
		{
			name: "ok, Grant", expectInvalidate: true, expect: has("beta", true),
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.Grant(ctx, user, entitlements.Grant{ID: "beta", Features: []string{"beta"}})
				return err
			},
		},
		{
			name: "ok, Revoke", given: record(oneTime), expectInvalidate: true, expect: has("pack", false),
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.Revoke(ctx, user, entitlements.OneTimeGrantID(oneTime.ChargeID))
				return err
			},
		},
		{
			name: "nok, Revoke unknown grant", expectErr: entitlements.ErrGrantNotFound,
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.Revoke(ctx, user, "nope")
				return err
			},
		},
		{
			name: "ok, SetAutoRenew", given: record(sub), expectInvalidate: true,
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.SetAutoRenew(ctx, user, "pro", false)
				return err
			},
			expect: func(t *testing.T, st entitlements.State) {
				g, ok := st.ActiveGrant(entitlements.SubscriptionGrantID("pro"), time.Now())
				require.True(t, ok)
				assert.False(t, g.AutoRenew)
			},
		},
		{
			name: "ok, EndSubscription", given: record(sub), expectInvalidate: true, expect: has("premium", false),
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.EndSubscription(ctx, user, "pro", time.Now().Add(-time.Second))
				return err
			},
		},
		{
			name: "ok, Spend", given: record(consumable), expectInvalidate: true, expect: balance(3),
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.Spend(ctx, user, "credits", 2)
				return err
			},
		},
		{
			name: "nok, Spend insufficient credits", expectErr: entitlements.ErrInsufficientCredits,
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.Spend(ctx, user, "credits", 1)
				return err
			},
		},
		{
			name: "ok, AddCredits", expectInvalidate: true, expect: balance(4),
			when: func(ctx context.Context, s entitlements.Store) error {
				_, err := s.AddCredits(ctx, user, "credits", 4)
				return err
			},
		},
		{
			name: "nok, failure of unknown outcome invalidates", givenWriteErr: context.DeadlineExceeded,
			when: record(oneTime), expectErr: context.DeadlineExceeded, expectInvalidate: true, expect: has("pack", true),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			st := newChkStore(chkPlainStore{entitlements.NewMemoryStore()})
			if tt.given != nil {
				require.NoError(t, tt.given(ctx, st))
			}
			st.set(func(s *chkStore) { s.writeErr = tt.givenWriteErr })
			c := newChkChecker(t, st, entitlements.CheckerConfig{}) // not started: only the wrapper invalidates
			_, err := c.State(ctx, user)
			require.NoError(t, err)

			err = tt.when(ctx, c.Store())
			if tt.expectErr != nil {
				require.ErrorIs(t, err, tt.expectErr)
			} else {
				require.NoError(t, err)
			}
			got, err := c.State(ctx, user)
			require.NoError(t, err)
			if tt.expectInvalidate {
				assert.EqualValues(t, 2, st.loads.Load(), "not invalidated")
			} else {
				assert.EqualValues(t, 1, st.loads.Load(), "invalidated although nothing changed")
			}
			if tt.expect != nil {
				tt.expect(t, got)
			}
		})
	}

	t.Run("ok, Load and Payment go to the store", func(t *testing.T) {
		ctx := t.Context()
		st := newChkStore(entitlements.NewMemoryStore())
		c := newChkChecker(t, st, entitlements.CheckerConfig{})
		s := c.Store()
		_, err := s.RecordPayment(ctx, oneTime)
		require.NoError(t, err)
		for range 2 {
			_, err := s.Load(ctx, user)
			require.NoError(t, err)
		}
		assert.EqualValues(t, 2, st.loads.Load())
		p, err := s.Payment(ctx, user, oneTime.ChargeID)
		require.NoError(t, err)
		assert.Equal(t, entitlements.StatusPaid, p.Status)
	})
	t.Run("ok, keeps Notifier when the store has it", func(t *testing.T) {
		withN := newChkChecker(t, entitlements.NewMemoryStore(), entitlements.CheckerConfig{})
		_, ok := withN.Store().(entitlements.Notifier)
		assert.True(t, ok)
		without := newChkChecker(t, chkPlainStore{entitlements.NewMemoryStore()}, entitlements.CheckerConfig{})
		_, ok = without.Store().(entitlements.Notifier)
		assert.False(t, ok)
	})
}

func TestChecker_MaxUsers(t *testing.T) {
	const (
		maxUsers = 100
		users    = 1000
		hot      = int64(1_000_000)
	)
	ctx := t.Context()
	mem := entitlements.NewMemoryStore()
	chkGrant(t, mem, hot, "promo", time.Time{}, "premium")
	for u := int64(1); u <= users; u += 2 {
		chkGrant(t, mem, u, "promo", time.Time{}, "premium")
	}
	st := newChkStore(mem)
	c := newChkChecker(t, st, entitlements.CheckerConfig{MaxUsers: maxUsers})

	for u := int64(1); u <= users; u++ {
		ok, err := c.Has(ctx, hot, "premium")
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = c.Has(ctx, u, "premium")
		require.NoError(t, err)
		require.Equal(t, u%2 == 1, ok, "user %d", u)
		require.LessOrEqual(t, c.Len(), maxUsers)
	}
	assert.Equal(t, maxUsers, c.Len(), "full, not over")
	assert.Equal(t, 1, st.userLoads(hot), "the user asked about all along was evicted")
	assert.EqualValues(t, users+1, st.loads.Load())
}

func TestChecker_WaitVersion(t *testing.T) {
	const user = 7
	grant := func(ctx context.Context, s entitlements.Store) {
		_, err := s.Grant(ctx, user, entitlements.Grant{ID: "promo", Features: []string{"premium"}})
		assert.NoError(t, err)
	}

	t.Run("ok, already newer returns at once", func(t *testing.T) {
		mem := entitlements.NewMemoryStore()
		grant(t.Context(), mem)
		c := newChkChecker(t, mem, entitlements.CheckerConfig{})
		st, err := c.WaitVersion(t.Context(), user, 0)
		require.NoError(t, err)
		assert.EqualValues(t, 1, st.Version)
	})

	wakeTests := []struct {
		name        string
		givenStart  bool
		whenChanger func(c *entitlements.Checker, mem *entitlements.MemoryStore) entitlements.Store
	}{
		{
			name: "ok, woken by a notification", givenStart: true,
			whenChanger: func(_ *entitlements.Checker, mem *entitlements.MemoryStore) entitlements.Store { return mem },
		},
		{
			name:        "ok, woken by a change through Store()",
			whenChanger: func(c *entitlements.Checker, _ *entitlements.MemoryStore) entitlements.Store { return c.Store() },
		},
	}
	for _, tt := range wakeTests {
		t.Run(tt.name, func(t *testing.T) {
			mem := entitlements.NewMemoryStore()
			st := newChkStore(chkPlainStore{mem})
			if tt.givenStart {
				st = newChkStore(mem)
			}
			c := newChkChecker(t, st, entitlements.CheckerConfig{})
			if tt.givenStart {
				require.NoError(t, c.Start(t.Context()))
			}
			// The deadline only bounds a broken test; the assertions are on
			// what comes back.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			type result struct {
				st  entitlements.State
				err error
			}
			got := make(chan result, 1)
			go func() {
				st, err := c.WaitVersion(ctx, user, 0)
				got <- result{st, err}
			}()
			require.Eventually(t, func() bool { return st.loads.Load() == 1 }, 10*time.Second, time.Millisecond)
			select {
			case r := <-got:
				t.Fatalf("returned before any change: %+v", r)
			default:
			}
			grant(t.Context(), tt.whenChanger(c, mem))
			r := <-got
			require.NoError(t, r.err)
			assert.EqualValues(t, 1, r.st.Version)
			assert.True(t, r.st.Has("premium", time.Now()))
			assert.NoError(t, ctx.Err(), "returned at the deadline, not on the change")
		})
	}

	endTests := []struct {
		name      string
		whenCtx   func(parent context.Context) (context.Context, context.CancelFunc)
		expectErr error
	}{
		{
			name: "ok, deadline returns the current state",
			whenCtx: func(p context.Context) (context.Context, context.CancelFunc) {
				return context.WithDeadline(p, time.Now().Add(-time.Second))
			},
		},
		{
			name: "nok, cancellation returns the current state and the error",
			whenCtx: func(p context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(p)
				cancel()
				return ctx, cancel
			},
			expectErr: context.Canceled,
		},
	}
	for _, tt := range endTests {
		t.Run(tt.name, func(t *testing.T) {
			mem := entitlements.NewMemoryStore()
			grant(t.Context(), mem)
			c := newChkChecker(t, mem, entitlements.CheckerConfig{})
			_, err := c.State(t.Context(), user) // cached: answers without the ended ctx
			require.NoError(t, err)
			ctx, cancel := tt.whenCtx(t.Context())
			defer cancel()
			st, err := c.WaitVersion(ctx, user, 1)
			if tt.expectErr != nil {
				require.ErrorIs(t, err, tt.expectErr)
			} else {
				require.NoError(t, err)
			}
			assert.EqualValues(t, 1, st.Version)
			assert.True(t, st.Has("premium", time.Now()))
		})
	}

	t.Run("nok, store failure", func(t *testing.T) {
		down := errors.New("store down")
		st := newChkStore(entitlements.NewMemoryStore())
		st.set(func(s *chkStore) { s.failErr = down })
		c := newChkChecker(t, st, entitlements.CheckerConfig{})
		_, err := c.WaitVersion(t.Context(), user, 0)
		require.ErrorIs(t, err, down)
	})
}

func ExampleChecker() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	store := entitlements.NewMemoryStore() // NewRedisStore in production
	checker, err := entitlements.NewChecker(store, entitlements.CheckerConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := checker.Start(ctx); err != nil { // hear about other instances' changes
		fmt.Println(err)
		return
	}

	ok, _ := checker.Has(ctx, 42, "premium")
	fmt.Println("before:", ok)

	// Writes through checker.Store() are visible here at once.
	_, err = checker.Store().Grant(ctx, 42, entitlements.Grant{ID: "trial", Features: []string{"premium"}, Reason: "trial"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ok, _ = checker.Has(ctx, 42, "premium")
	fmt.Println("after:", ok)
	// Output:
	// before: false
	// after: true
}

func TestChecker_WarmPathDoesNotAllocate(t *testing.T) {
	ctx := t.Context()
	mem := entitlements.NewMemoryStore()
	chkGrant(t, mem, 7, "promo", time.Time{}, "premium")
	c := newChkChecker(t, mem, entitlements.CheckerConfig{})
	_, err := c.Has(ctx, 7, "premium")
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		ok, err := c.Has(ctx, 7, "premium")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if _, err := c.State(ctx, 7); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
