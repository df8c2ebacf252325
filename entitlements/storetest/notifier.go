package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

var notifierTests = []test{
	{"ok, every change is announced, nothing else", notifyChanges},
}

// notifyWait bounds the wait for a notification; a store delivering
// through a network round trip needs far less.
const notifyWait = 10 * time.Second

// notifyChanges checks that a subscriber hears the user ID of every change
// made after Subscribe returned, and nothing for calls that change nothing.
// "Nothing" is checked without sleeping: after the quiet calls, a change of
// another user must be the next thing heard.
func notifyChanges(t *testing.T, s entitlements.Store) {
	n, ok := s.(entitlements.Notifier)
	if !ok {
		t.Skip("the store does not implement entitlements.Notifier")
	}
	heard := make(chan int64, 1000)
	require.NoError(t, n.Subscribe(t.Context(), func(userID int64) { heard <- userID }, nil))
	next := func(want int64, after string) {
		t.Helper()
		select {
		case got := <-heard:
			require.Equal(t, want, got, "notification after %s", after)
		case <-time.After(notifyWait):
			t.Fatalf("no notification within %s after %s", notifyWait, after)
		}
	}
	ctx := t.Context()
	p := Pay(monthly(), alice, "sub_1", t0)

	_, err := s.RecordPayment(ctx, p)
	require.NoError(t, err)
	next(alice, "a purchase")

	// Calls that change nothing.
	ch, err := s.RecordPayment(ctx, p)
	require.NoError(t, err)
	require.True(t, ch.Duplicate)
	ch, err = s.SetAutoRenew(ctx, alice, "pro_month", true)
	require.NoError(t, err)
	require.True(t, ch.Duplicate)
	_, err = s.Spend(ctx, alice, "credits", 1)
	require.ErrorIs(t, err, entitlements.ErrInsufficientCredits)
	_, err = s.RefundPayment(ctx, alice, "missing", t0)
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound)
	_, err = s.Spend(ctx, alice, "credits", 0)
	require.ErrorIs(t, err, entitlements.ErrInvalid)
	_, err = s.AddCredits(ctx, bob, "credits", 3)
	require.NoError(t, err)
	next(bob, "calls that changed nothing, then a change of another user")

	changes := []struct {
		name string
		call func() error
	}{
		{"a renewal", func() error {
			_, err := s.RecordPayment(ctx, Renewal(monthly(), alice, "sub_2", p.SubscriptionExpiresAt))
			return err
		}},
		{"a cancellation", func() error { _, err := s.SetAutoRenew(ctx, alice, "pro_month", false); return err }},
		{"a reactivation", func() error { _, err := s.SetAutoRenew(ctx, alice, "pro_month", true); return err }},
		{"a grant", func() error {
			_, err := s.Grant(ctx, alice, entitlements.Grant{ID: "promo", Features: []string{"beta"}})
			return err
		}},
		{"a revocation", func() error { _, err := s.Revoke(ctx, alice, "promo"); return err }},
		{"added credits", func() error { _, err := s.AddCredits(ctx, alice, "credits", 2); return err }},
		{"a spend", func() error { _, err := s.Spend(ctx, alice, "credits", 1); return err }},
		{"a failed renewal", func() error {
			_, err := s.EndSubscription(ctx, alice, "pro_month", t0.Add(2*entitlements.SubscriptionPeriod))
			return err
		}},
		{"a refund", func() error { _, err := s.RefundPayment(ctx, alice, "sub_2", t0.Add(day)); return err }},
	}
	for _, c := range changes {
		require.NoError(t, c.call(), c.name)
		next(alice, c.name)
	}

	// A duplicate refund is quiet too.
	ch, err = s.RefundPayment(ctx, alice, "sub_2", t0.Add(day))
	require.NoError(t, err)
	require.True(t, ch.Duplicate)
	_, err = s.Spend(ctx, bob, "credits", 1)
	require.NoError(t, err)
	next(bob, "a duplicate refund, then a change of another user")
}
