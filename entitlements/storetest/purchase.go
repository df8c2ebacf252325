package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

var purchaseTests = []test{
	{"ok, one-time for life", purchaseLifetime},
	{"ok, one-time with a duration", purchaseWeekPass},
	{"ok, consumable with several credits", purchaseConsumable},
	{"ok, the stored status is paid whatever the caller set", purchaseStatusForced},
}

var refundTests = []test{
	{"ok, one-time", refundOneTime},
	{"ok, the charge backing a subscription", refundSubscriptionBacking},
	{"ok, an older subscription charge", refundSubscriptionOlder},
	{"ok, consumable never below zero, shortfall recorded", refundConsumable},
	{"nok, unknown charge", refundUnknown},
}

func purchaseLifetime(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(lifetime(), alice, "ot_1", t0)
	require.Zero(t, p.ExpiresAt)
	g := oneTimeGrant(p)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "lifetime", Payment: ptr(paid(p)), Grant: ptr(g)})
	st := u.state(nil, g)
	has(t, st, "premium", true, t0, t0.Add(100*365*day))
	require.True(t, st.OwnsProduct("lifetime", t0.Add(100*365*day)))
	u.payment("ot_1", paid(p))

	ch, err = s.RecordPayment(t.Context(), p)
	u.duplicate(ch, err)
	u.state(nil, g)
}

func purchaseWeekPass(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(weekPass(), alice, "ot_1", t0)
	end := t0.Add(7 * day)
	require.Equal(t, end, p.ExpiresAt)
	g := oneTimeGrant(p)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "week_pass", Payment: ptr(paid(p)), Grant: ptr(g)})
	st := u.state(nil, g)
	has(t, st, "premium", true, t0, end.Add(-time.Second))
	has(t, st, "premium", false, end)

	// A second pass is a second grant (refusing it while one is active is
	// the checkout's job, not the store's).
	p2 := Pay(weekPass(), alice, "ot_2", end.Add(day))
	g2 := oneTimeGrant(p2)
	ch, err = s.RecordPayment(t.Context(), p2)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "week_pass", Payment: ptr(paid(p2)), Grant: ptr(g2)})
	st = u.state(nil, g, g2)
	has(t, st, "premium", true, p2.PaidAt, p2.ExpiresAt.Add(-time.Second))
}

func purchaseConsumable(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(creditPack(), alice, "c_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "credits_100", Payment: ptr(paid(p))})
	st := u.state(map[string]int64{"credits": 100, "bonus": 5})
	require.Equal(t, int64(100), st.Balance("credits"))
	require.Equal(t, int64(5), st.Balance("bonus"))

	ch, err = s.RecordPayment(t.Context(), p)
	u.duplicate(ch, err)
	u.state(map[string]int64{"credits": 100, "bonus": 5})

	p2 := Pay(creditPack(), alice, "c_2", t0.Add(day))
	ch, err = s.RecordPayment(t.Context(), p2)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "credits_100", Payment: ptr(paid(p2))})
	u.state(map[string]int64{"credits": 200, "bonus": 10})
	u.payment("c_1", paid(p))
	u.payment("c_2", paid(p2))
}

func purchaseStatusForced(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(lifetime(), alice, "ot_1", t0)
	p.Status, p.RefundedAt = entitlements.StatusRefunded, t0 // nonsense a caller might send
	ch, err := s.RecordPayment(t.Context(), p)
	want := paid(p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "lifetime", Payment: &want, Grant: ptr(oneTimeGrant(p))})
	got, err := s.Payment(t.Context(), alice, "ot_1")
	require.NoError(t, err)
	require.Equal(t, entitlements.StatusPaid, got.Status)
	u.state(nil, oneTimeGrant(p))
}

func refundOneTime(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(lifetime(), alice, "ot_1", t0)
	g := oneTimeGrant(p)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "lifetime", Payment: ptr(paid(p)), Grant: ptr(g)})

	at := t0.Add(3 * day)
	ch, err = s.RefundPayment(t.Context(), alice, "ot_1", at)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "lifetime", Payment: ptr(refunded(p, at, nil)), Grant: ptr(g)})
	st := u.state(nil)
	has(t, st, "premium", false, t0, at)
	u.payment("ot_1", refunded(p, at, nil))

	ch, err = s.RefundPayment(t.Context(), alice, "ot_1", at.Add(day))
	u.duplicate(ch, err)
	u.payment("ot_1", refunded(p, at, nil)) // the first refund's time stays
	// A replay of the original payment does not bring the grant back.
	ch, err = s.RecordPayment(t.Context(), p)
	u.duplicate(ch, err)
	u.state(nil)
}

func refundSubscriptionBacking(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	g := subGrant(p)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: ptr(g)})
	r := Renewal(monthly(), alice, "sub_2", p.SubscriptionExpiresAt)
	ch, err = s.RecordPayment(t.Context(), r)
	g.ExpiresAt, g.ChargeID, g.GrantedAt = r.SubscriptionExpiresAt, "sub_2", r.PaidAt
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewed, ProductID: "pro_month", Payment: ptr(paid(r)), Grant: ptr(g)})

	at := r.PaidAt.Add(day)
	ch, err = s.RefundPayment(t.Context(), alice, "sub_2", at)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "pro_month", Payment: ptr(refunded(r, at, nil)), Grant: ptr(g)})
	st := u.state(nil)
	has(t, st, "premium", false, at)
	u.payment("sub_2", refunded(r, at, nil))
	u.payment("sub_1", paid(p))

	ch, err = s.RefundPayment(t.Context(), alice, "sub_2", at)
	u.duplicate(ch, err)
	_, err = s.SetAutoRenew(t.Context(), alice, "pro_month", false)
	require.ErrorIs(t, err, entitlements.ErrGrantNotFound, "the refunded subscription is gone")
}

func refundSubscriptionOlder(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	g := subGrant(p)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: ptr(g)})
	r := Renewal(monthly(), alice, "sub_2", p.SubscriptionExpiresAt)
	ch, err = s.RecordPayment(t.Context(), r)
	g.ExpiresAt, g.ChargeID, g.GrantedAt = r.SubscriptionExpiresAt, "sub_2", r.PaidAt
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRenewed, ProductID: "pro_month", Payment: ptr(paid(r)), Grant: ptr(g)})

	at := r.PaidAt.Add(day)
	ch, err = s.RefundPayment(t.Context(), alice, "sub_1", at)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "pro_month", Payment: ptr(refunded(p, at, nil))})
	st := u.state(nil, g)
	has(t, st, "premium", true, at, r.SubscriptionExpiresAt.Add(-time.Second))
	u.payment("sub_1", refunded(p, at, nil))
	u.payment("sub_2", paid(r))
}

func refundConsumable(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	a := Pay(creditPack(), alice, "c_1", t0)
	b := Pay(creditPack(), alice, "c_2", t0.Add(day))
	ch, err := s.RecordPayment(t.Context(), a)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "credits_100", Payment: ptr(paid(a))})
	ch, err = s.RecordPayment(t.Context(), b)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "credits_100", Payment: ptr(paid(b))})
	u.state(map[string]int64{"credits": 200, "bonus": 10})

	bal, err := s.Spend(t.Context(), alice, "credits", 150)
	u.spent(bal, err, 50)

	// 50 credits left of the 100 to take back: 50 taken, 50 short. The
	// bonus is all there.
	at := t0.Add(2 * day)
	ch, err = s.RefundPayment(t.Context(), alice, "c_1", at)
	wantA := refunded(a, at, map[string]int64{"credits": 50})
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "credits_100", Payment: &wantA})
	u.state(map[string]int64{"credits": 0, "bonus": 5})
	u.payment("c_1", wantA)

	// Nothing left at all: everything is short, nothing goes negative.
	ch, err = s.RefundPayment(t.Context(), alice, "c_2", at)
	wantB := refunded(b, at, map[string]int64{"credits": 100})
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "credits_100", Payment: &wantB})
	st := u.state(nil)
	require.Zero(t, st.Balance("credits"))
	require.Zero(t, st.Balance("bonus"))
	u.payment("c_2", wantB)

	ch, err = s.RefundPayment(t.Context(), alice, "c_2", at)
	u.duplicate(ch, err)

	// A fully available pack comes back without a shortfall.
	c := Pay(creditPack(), alice, "c_3", at)
	ch, err = s.RecordPayment(t.Context(), c)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "credits_100", Payment: ptr(paid(c))})
	ch, err = s.RefundPayment(t.Context(), alice, "c_3", at)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "credits_100", Payment: ptr(refunded(c, at, nil))})
	u.state(nil)
}

func refundUnknown(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	_, err := s.RefundPayment(t.Context(), alice, "nope", t0)
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound, "a user never seen")

	p := Pay(lifetime(), alice, "ot_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "lifetime", Payment: ptr(paid(p)), Grant: ptr(oneTimeGrant(p))})
	_, err = s.RefundPayment(t.Context(), alice, "nope", t0)
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound, "a user with other payments")
	_, err = s.RefundPayment(t.Context(), bob, "ot_1", t0)
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound, "another user's charge")
	_, err = s.Payment(t.Context(), bob, "ot_1")
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound, "another user's charge")
	u.state(nil, oneTimeGrant(p))
	u.payment("ot_1", paid(p))
	newUser(t, s, bob).state(nil)
}
