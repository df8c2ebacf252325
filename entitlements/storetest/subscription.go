package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

var subscriptionTests = []test{
	{"ok, first payment", subscriptionPurchase},
	{"ok, renewals extend and keep the first charge", subscriptionRenewals},
	{"ok, an older renewal arriving late never shortens", subscriptionRenewalOutOfOrder},
	{"ok, cancellation keeps access until the end, then it expires", subscriptionCancelThenExpire},
	{"ok, reactivation after a cancellation", subscriptionReactivate},
	{"ok, a failed renewal ends access at the given time", subscriptionFailedRenewal},
	{"ok, a failed renewal at the period's end, then a late payment", subscriptionFailedAtEndThenPaid},
	{"ok, re-subscription after expiry starts a new subscription", subscriptionResubscribe},
	{"nok, no such subscription", subscriptionNotFound},
}

func subscriptionPurchase(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	g := subGrant(p)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: &g})

	st := u.state(nil, g)
	end := t0.Add(entitlements.SubscriptionPeriod)
	has(t, st, "premium", true, t0, end.Add(-time.Second))
	has(t, st, "export", true, t0, end.Add(-time.Second))
	has(t, st, "premium", false, end, end.Add(day))
	has(t, st, "other", false, t0)
	u.payment("sub_1", paid(p))

	ch, err = s.RecordPayment(t.Context(), p)
	u.duplicate(ch, err)
	// The same charge with other content is still a duplicate, and the
	// ledger keeps the first record.
	changed := p
	changed.Amount, changed.SubscriptionExpiresAt = 1, end.Add(day)
	ch, err = s.RecordPayment(t.Context(), changed)
	u.duplicate(ch, err)
	u.state(nil, g)
	u.payment("sub_1", paid(p))
}

func subscriptionRenewals(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	first := Pay(monthly(), alice, "sub_1", t0)
	ch, err := s.RecordPayment(t.Context(), first)
	g := subGrant(first)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(first)), Grant: ptr(g)})

	for i, charge := range []string{"sub_2", "sub_3"} {
		at := first.SubscriptionExpiresAt.Add(time.Duration(i) * entitlements.SubscriptionPeriod)
		r := Renewal(monthly(), alice, charge, at)
		require.True(t, r.IsRecurring)
		ch, err := s.RecordPayment(t.Context(), r)
		g.ExpiresAt, g.ChargeID, g.GrantedAt = r.SubscriptionExpiresAt, charge, at
		u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewed, ProductID: "pro_month", Payment: ptr(paid(r)), Grant: ptr(g)})
		st := u.state(nil, g)
		require.Equal(t, "sub_1", st.Grants[0].FirstChargeID, "a renewal keeps the first charge")
		has(t, st, "premium", true, r.SubscriptionExpiresAt.Add(-time.Second))
		has(t, st, "premium", false, r.SubscriptionExpiresAt)
		u.payment(charge, paid(r))

		ch, err = s.RecordPayment(t.Context(), r)
		u.duplicate(ch, err)
	}
	u.payment("sub_1", paid(first))
}

func subscriptionRenewalOutOfOrder(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	first := Pay(monthly(), alice, "sub_1", t0)
	ch, err := s.RecordPayment(t.Context(), first)
	g := subGrant(first)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(first)), Grant: ptr(g)})

	// The third payment arrives before the second.
	third := Renewal(monthly(), alice, "sub_3", t0.Add(2*entitlements.SubscriptionPeriod))
	ch, err = s.RecordPayment(t.Context(), third)
	g.ExpiresAt, g.ChargeID, g.GrantedAt = third.SubscriptionExpiresAt, "sub_3", third.PaidAt
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewed, ProductID: "pro_month", Payment: ptr(paid(third)), Grant: ptr(g)})

	// A user cancels before the late payment arrives: the stale payment
	// must not turn renewal back on either.
	ch, err = s.SetAutoRenew(t.Context(), alice, "pro_month", false)
	g.AutoRenew = false
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventCanceled, ProductID: "pro_month", Grant: ptr(g)})

	second := Renewal(monthly(), alice, "sub_2", t0.Add(entitlements.SubscriptionPeriod))
	ch, err = s.RecordPayment(t.Context(), second)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewed, ProductID: "pro_month", Payment: ptr(paid(second)), Grant: ptr(g)})
	st := u.state(nil, g)
	has(t, st, "premium", true, second.SubscriptionExpiresAt, third.SubscriptionExpiresAt.Add(-time.Second))
	u.payment("sub_2", paid(second))

	// The late charge does not back the grant: refunding it leaves access.
	at := t0.Add(70 * day)
	ch, err = s.RefundPayment(t.Context(), alice, "sub_2", at)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "pro_month", Payment: ptr(refunded(second, at, nil))})
	u.state(nil, g)
	// The charge that does back it takes the grant with it.
	ch, err = s.RefundPayment(t.Context(), alice, "sub_3", at)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "pro_month", Payment: ptr(refunded(third, at, nil)), Grant: ptr(g)})
	st = u.state(nil)
	has(t, st, "premium", false, at)
}

func subscriptionCancelThenExpire(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	g := subGrant(p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: ptr(g)})

	ch, err = s.SetAutoRenew(t.Context(), alice, "pro_month", false)
	g.AutoRenew = false
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventCanceled, ProductID: "pro_month", Grant: ptr(g)})
	ch, err = s.SetAutoRenew(t.Context(), alice, "pro_month", false)
	u.duplicate(ch, err)

	end := p.SubscriptionExpiresAt
	st := u.state(nil, g)
	has(t, st, "premium", true, t0.Add(day), end.Add(-time.Second))
	has(t, st, "premium", false, end, end.Add(365*day))
	require.Equal(t, []entitlements.Entitlement{
		{Feature: "export", ProductID: "pro_month", Source: entitlements.SourceSubscription, ExpiresAt: end},
		{Feature: "premium", ProductID: "pro_month", Source: entitlements.SourceSubscription, ExpiresAt: end},
	}, normEntitlements(st.Entitlements(t0.Add(day))))
	require.Empty(t, st.Entitlements(end))
	// Expiry is a fact of time, not a call: the expired grant stays in the
	// state, the version stays put.
	u.load()
}

func subscriptionReactivate(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	g := subGrant(p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: ptr(g)})

	ch, err = s.SetAutoRenew(t.Context(), alice, "pro_month", true)
	u.duplicate(ch, err) // already renewing

	ch, err = s.SetAutoRenew(t.Context(), alice, "pro_month", false)
	g.AutoRenew = false
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventCanceled, ProductID: "pro_month", Grant: ptr(g)})
	ch, err = s.SetAutoRenew(t.Context(), alice, "pro_month", true)
	g.AutoRenew = true
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventReactivated, ProductID: "pro_month", Grant: ptr(g)})
	ch, err = s.SetAutoRenew(t.Context(), alice, "pro_month", true)
	u.duplicate(ch, err)
	u.state(nil, g)

	// The next renewal arrives as usual.
	r := Renewal(monthly(), alice, "sub_2", p.SubscriptionExpiresAt)
	ch, err = s.RecordPayment(t.Context(), r)
	g.ExpiresAt, g.ChargeID, g.GrantedAt = r.SubscriptionExpiresAt, "sub_2", r.PaidAt
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewed, ProductID: "pro_month", Payment: ptr(paid(r)), Grant: ptr(g)})
	u.state(nil, g)
}

func subscriptionFailedRenewal(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	g := subGrant(p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: ptr(g)})

	at := t0.Add(10 * day)
	ch, err = s.EndSubscription(t.Context(), alice, "pro_month", at)
	g.ExpiresAt, g.AutoRenew = at, false
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewalFailed, ProductID: "pro_month", Grant: ptr(g)})
	st := u.state(nil, g)
	has(t, st, "premium", true, t0, at.Add(-time.Second))
	has(t, st, "premium", false, at, p.SubscriptionExpiresAt.Add(-time.Second))

	ch, err = s.EndSubscription(t.Context(), alice, "pro_month", at)
	u.duplicate(ch, err)
	// Ending later than it already ended changes nothing either.
	ch, err = s.EndSubscription(t.Context(), alice, "pro_month", at.Add(5*day))
	u.duplicate(ch, err)
	// Ending earlier still moves the end.
	earlier := t0.Add(5 * day)
	ch, err = s.EndSubscription(t.Context(), alice, "pro_month", earlier)
	g.ExpiresAt = earlier
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewalFailed, ProductID: "pro_month", Grant: ptr(g)})
	u.state(nil, g)
	u.payment("sub_1", paid(p)) // the ledger is untouched
}

func subscriptionFailedAtEndThenPaid(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	g := subGrant(p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: ptr(g)})

	// Telegram reports the failure at the end of the paid period: the
	// period stays paid, renewal is off.
	end := p.SubscriptionExpiresAt
	ch, err = s.EndSubscription(t.Context(), alice, "pro_month", end.Add(day))
	g.AutoRenew = false
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewalFailed, ProductID: "pro_month", Grant: ptr(g)})
	st := u.state(nil, g)
	has(t, st, "premium", true, end.Add(-time.Second))
	has(t, st, "premium", false, end)

	// The user tops up and the subscription renews after all.
	r := Renewal(monthly(), alice, "sub_2", end.Add(2*day))
	ch, err = s.RecordPayment(t.Context(), r)
	g.ExpiresAt, g.AutoRenew, g.ChargeID, g.GrantedAt = r.SubscriptionExpiresAt, true, "sub_2", r.PaidAt
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewed, ProductID: "pro_month", Payment: ptr(paid(r)), Grant: ptr(g)})
	st = u.state(nil, g)
	has(t, st, "premium", true, r.PaidAt, r.SubscriptionExpiresAt.Add(-time.Second))
}

func subscriptionResubscribe(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	g := subGrant(p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: ptr(g)})
	ch, err = s.SetAutoRenew(t.Context(), alice, "pro_month", false)
	g.AutoRenew = false
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventCanceled, ProductID: "pro_month", Grant: ptr(g)})

	// Expired for two weeks, the user subscribes again: a new subscription
	// with its own first charge.
	again := Pay(monthly(), alice, "sub_9", p.SubscriptionExpiresAt.Add(14*day))
	require.True(t, again.IsFirstRecurring)
	ch, err = s.RecordPayment(t.Context(), again)
	g2 := subGrant(again)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(again)), Grant: ptr(g2)})
	st := u.state(nil, g2)
	has(t, st, "premium", true, again.PaidAt, again.SubscriptionExpiresAt.Add(-time.Second))

	// Its renewal keeps the new first charge.
	r := Renewal(monthly(), alice, "sub_10", again.SubscriptionExpiresAt)
	ch, err = s.RecordPayment(t.Context(), r)
	g2.ExpiresAt, g2.ChargeID, g2.GrantedAt = r.SubscriptionExpiresAt, "sub_10", r.PaidAt
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewed, ProductID: "pro_month", Payment: ptr(paid(r)), Grant: ptr(g2)})
	st = u.state(nil, g2)
	require.Equal(t, "sub_9", st.Grants[0].FirstChargeID)
}

func subscriptionNotFound(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	for _, id := range []int64{alice, bob} {
		_, err := s.SetAutoRenew(t.Context(), id, "pro_month", false)
		require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
		_, err = s.EndSubscription(t.Context(), id, "pro_month", t0)
		require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
	}
	// A one-time purchase is not a subscription, and neither is another
	// product's subscription.
	p := Pay(lifetime(), alice, "ot_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "lifetime", Payment: ptr(paid(p)), Grant: ptr(oneTimeGrant(p))})
	for _, product := range []string{"lifetime", "pro_year"} {
		_, err = s.SetAutoRenew(t.Context(), alice, product, true)
		require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
		_, err = s.EndSubscription(t.Context(), alice, product, t0)
		require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
	}
	u.state(nil, oneTimeGrant(p))
}

func normEntitlements(es []entitlements.Entitlement) []entitlements.Entitlement {
	for i := range es {
		es[i].ExpiresAt = normTime(es[i].ExpiresAt)
	}
	return es
}
