package checkout_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
)

// flakyStore fails the first n RecordPayment calls as an unreachable store.
type flakyStore struct {
	entitlements.Store
	fails atomic.Int32
	calls atomic.Int32
}

func (s *flakyStore) RecordPayment(ctx context.Context, p entitlements.Payment) (entitlements.Change, error) {
	s.calls.Add(1)
	if s.fails.Add(-1) >= 0 {
		return entitlements.Change{}, errDown
	}
	return s.Store.RecordPayment(ctx, p)
}

func TestPoll(t *testing.T) {
	sb, bot := newSandbox(t)
	store := &flakyStore{Store: entitlements.NewMemoryStore()}
	store.fails.Store(2)
	var evs events
	codec := newCodec(t, sb.Token())
	proc, err := checkout.New(checkout.Config{Bot: bot, Catalog: testCatalog(t), Store: store, Payloads: codec,
		OnEvent: evs.add, Now: sb.Now, Logger: quiet})
	require.NoError(t, err)
	e := &env{sb: sb, bot: bot, store: store, codec: codec, cat: testCatalog(t), events: &evs}

	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		done <- proc.Poll(ctx, checkout.PollConfig{Timeout: time.Second, RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	}()

	first, err := sb.Pay(ctx, alice, e.link(t, "credits", alice.ID, 0)) // pre-checkout answered through polling
	require.NoError(t, err)
	second, err := sb.Pay(ctx, alice, e.link(t, "credits", alice.ID, 0))
	require.NoError(t, err)
	require.NoError(t, sb.WaitIdle(ctx))
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Poll did not return after its context ended")
	}

	assert.Equal(t, int32(4), store.calls.Load(), "the failing update was retried, not skipped")
	st := e.state(t, alice.ID)
	assert.Equal(t, int64(200), st.Credits["credits"])
	for _, r := range []string{first.ChargeID, second.ChargeID} {
		_, err := store.Payment(testCtx(t), alice.ID, r)
		assert.NoError(t, err)
	}
	assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased, entitlements.EventPurchased}, evs.types())
	assert.Zero(t, sb.Pending(), "processed updates were confirmed")
}

func TestPollConfig(t *testing.T) {
	u := newUnit(t, entitlements.NewMemoryStore())
	err := u.proc.Poll(testCtx(t), checkout.PollConfig{Timeout: time.Minute})
	assert.ErrorIs(t, err, checkout.ErrInvalidConfig)
}

// A wiped store is rebuilt from the sandbox's transaction history.
func TestReconcileRebuildsWipedStore(t *testing.T) {
	prefix := redistest.Prefix(t)
	store := entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{Prefix: prefix, Logger: quiet})
	e := newEnv(t, store)
	ctx := testCtx(t)

	e.pay(t, alice, "credits")
	e.pay(t, alice, "credits")
	e.pay(t, alice, "lifetime")
	sub := e.pay(t, bob, "premium")
	e.pay(t, bob, "week")
	refunded := e.pay(t, bob, "credits")
	require.NoError(t, e.proc.Refund(ctx, bob.ID, refunded.ChargeID))
	e.sb.Advance(30 * 24 * time.Hour)
	_, err := e.sb.Renew(ctx, sub.ChargeID)
	require.NoError(t, err)
	require.NoError(t, e.sb.WaitIdle(ctx))

	now := e.sb.Now()
	type view struct {
		ents    []entitlements.Entitlement
		credits map[string]int64
	}
	snapshot := func(userID int64) view {
		st := e.state(t, userID)
		return view{st.Entitlements(now), st.Credits}
	}
	want := map[int64]view{alice.ID: snapshot(alice.ID), bob.ID: snapshot(bob.ID)}
	require.Len(t, want[bob.ID].ents, 1, "the week pass ended, premium is active")

	redistest.Cleanup(t, prefix)
	assert.Empty(t, e.state(t, alice.ID).Grants)

	rep, err := e.proc.Reconcile(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, checkout.ReconcileReport{Scanned: 8, Recorded: 7, Refunded: 1}, rep)
	for id, v := range want {
		assert.Equal(t, v, snapshot(id))
	}
	st := e.state(t, bob.ID)
	g, ok := st.ActiveGrant(entitlements.SubscriptionGrantID("premium"), now)
	require.True(t, ok)
	assert.Equal(t, sub.ChargeID, g.FirstChargeID, "cancel and resume still reach the subscription")

	rep, err = e.proc.Reconcile(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, checkout.ReconcileReport{Scanned: 8, UpToDate: 8}, rep, "a second pass changes nothing")
}
