package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

var contractTests = []test{
	{"ok, a user never seen", contractUnknownUser},
	{"nok, invalid arguments", contractInvalid},
	{"ok, results and arguments are copies", contractCopies},
	{"ok, users are separate, charge IDs are per user", contractUsers},
	{"ok, the version counts every change and nothing else", contractVersion},
	{"nok, a canceled context", contractCanceled},
}

func contractUnknownUser(t *testing.T, s entitlements.Store) {
	st, err := s.Load(t.Context(), alice)
	require.NoError(t, err)
	require.Equal(t, alice, st.UserID)
	require.Zero(t, st.Version)
	require.Empty(t, st.Grants)
	require.NotNil(t, st.Credits, "Credits is an empty map, never nil")
	require.Empty(t, st.Credits)
	require.Zero(t, st.Balance("credits"))
	has(t, st, "premium", false, t0)

	_, err = s.Payment(t.Context(), alice, "ch")
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound)
	_, err = s.RefundPayment(t.Context(), alice, "ch", t0)
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound)
	_, err = s.Revoke(t.Context(), alice, "g")
	require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
	_, err = s.SetAutoRenew(t.Context(), alice, "pro_month", true)
	require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
	_, err = s.EndSubscription(t.Context(), alice, "pro_month", t0)
	require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
	_, err = s.Spend(t.Context(), alice, "credits", 1)
	insufficient(t, err, "credits", 0, 1)
	// None of that made the user exist.
	newUser(t, s, alice).state(nil)
}

func contractInvalid(t *testing.T, s entitlements.Store) {
	valid := map[string]entitlements.Payment{
		"subscription": Pay(monthly(), alice, "ch", t0),
		"one-time":     Pay(lifetime(), alice, "ch", t0),
		"consumable":   Pay(creditPack(), alice, "ch", t0),
	}
	payments := []struct {
		name string
		edit func(p *entitlements.Payment)
		base string
	}{
		{"no user", func(p *entitlements.Payment) { p.UserID = 0 }, "one-time"},
		{"no charge ID", func(p *entitlements.Payment) { p.ChargeID = "" }, "one-time"},
		{"no product", func(p *entitlements.Payment) { p.ProductID = "" }, "one-time"},
		{"no kind (effect not applied)", func(p *entitlements.Payment) { p.Kind = "" }, "one-time"},
		{"unknown kind", func(p *entitlements.Payment) { p.Kind = "gift" }, "one-time"},
		{"one-time without features", func(p *entitlements.Payment) { p.Features = nil }, "one-time"},
		{"subscription without features", func(p *entitlements.Payment) { p.Features = []string{} }, "subscription"},
		{"subscription without expiration", func(p *entitlements.Payment) { p.SubscriptionExpiresAt = time.Time{} }, "subscription"},
		{"consumable without credits", func(p *entitlements.Payment) { p.Credits = nil }, "consumable"},
		{"consumable crediting zero", func(p *entitlements.Payment) { p.Credits = map[string]int64{"credits": 0} }, "consumable"},
		{"consumable crediting a negative amount", func(p *entitlements.Payment) { p.Credits = map[string]int64{"credits": 5, "bonus": -1} }, "consumable"},
		{"consumable crediting no name", func(p *entitlements.Payment) { p.Credits = map[string]int64{"": 5} }, "consumable"},
	}
	for _, tc := range payments {
		p := valid[tc.base]
		tc.edit(&p)
		_, err := s.RecordPayment(t.Context(), p)
		require.ErrorIs(t, err, entitlements.ErrInvalid, "RecordPayment, %s", tc.name)
	}
	_, err := s.Grant(t.Context(), alice, entitlements.Grant{Features: []string{"premium"}})
	require.ErrorIs(t, err, entitlements.ErrInvalid, "Grant without ID")
	_, err = s.Grant(t.Context(), alice, entitlements.Grant{ID: "g"})
	require.ErrorIs(t, err, entitlements.ErrInvalid, "Grant without features")
	for _, n := range []int64{0, -1} {
		_, err = s.Spend(t.Context(), alice, "credits", n)
		require.ErrorIs(t, err, entitlements.ErrInvalid, "Spend %d", n)
		_, err = s.AddCredits(t.Context(), alice, "credits", n)
		require.ErrorIs(t, err, entitlements.ErrInvalid, "AddCredits %d", n)
	}
	_, err = s.Spend(t.Context(), alice, "", 1)
	require.ErrorIs(t, err, entitlements.ErrInvalid, "Spend without a credit name")
	_, err = s.AddCredits(t.Context(), alice, "", 1)
	require.ErrorIs(t, err, entitlements.ErrInvalid, "AddCredits without a credit name")

	// Nothing was recorded.
	_, err = s.Payment(t.Context(), alice, "ch")
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound)
	newUser(t, s, alice).state(nil)
}

func contractCopies(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	sub := Pay(monthly(), alice, "sub_1", t0)
	g := subGrant(Pay(monthly(), alice, "sub_1", t0)) // shares nothing with sub
	ch, err := s.RecordPayment(t.Context(), sub)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(sub)), Grant: ptr(subGrant(sub))})
	pack := Pay(creditPack(), alice, "c_1", t0)
	ch2, err := s.RecordPayment(t.Context(), pack)
	u.changed(ch2, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "credits_100", Payment: ptr(paid(pack))})
	credits := map[string]int64{"credits": 100, "bonus": 5}

	// The caller's arguments.
	sub.Features[0] = "mutated"
	pack.Credits["credits"] = 1
	// The change's events.
	ch.Events[0].Grant.Features[1] = "mutated"
	ch.Events[0].Payment.Features[0] = "mutated"
	ch2.Events[0].Payment.Credits["bonus"] = 1
	// A loaded state.
	st := u.state(credits, g)
	st.Grants[0].Features[0] = "mutated"
	st.Grants[0].ExpiresAt = time.Time{}
	st.Credits["credits"] = 7
	st.Credits["new"] = 1
	// A ledger record.
	rec, err := s.Payment(t.Context(), alice, "c_1")
	require.NoError(t, err)
	rec.Credits["credits"] = 9

	u.state(credits, g)
	wantSub := Pay(monthly(), alice, "sub_1", t0)
	u.payment("sub_1", paid(wantSub))
	u.payment("c_1", paid(Pay(creditPack(), alice, "c_1", t0)))

	// A grant given without payment.
	in := entitlements.Grant{ID: "promo", Features: []string{"export"}}
	ch, err = s.Grant(t.Context(), alice, in)
	stored := in
	stored.Source = entitlements.SourceGrant
	stored.Features = []string{"export"}
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventGranted, Grant: ptr(stored)})
	in.Features[0] = "mutated"
	u.state(credits, g, stored)
}

func contractUsers(t *testing.T, s entitlements.Store) {
	a, b := newUser(t, s, alice), newUser(t, s, bob)
	pa := Pay(lifetime(), alice, "same_charge", t0)
	ch, err := s.RecordPayment(t.Context(), pa)
	a.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "lifetime", Payment: ptr(paid(pa)), Grant: ptr(oneTimeGrant(pa))})
	b.state(nil)

	pb := Pay(creditPack(), bob, "same_charge", t0.Add(time.Hour))
	ch, err = s.RecordPayment(t.Context(), pb)
	b.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "credits_100", Payment: ptr(paid(pb))})
	bal, err := s.Spend(t.Context(), bob, "credits", 10)
	b.spent(bal, err, 90)

	a.state(nil, oneTimeGrant(pa))
	b.state(map[string]int64{"credits": 90, "bonus": 5})
	a.payment("same_charge", paid(pa))
	b.payment("same_charge", paid(pb))

	ch, err = s.RefundPayment(t.Context(), bob, "same_charge", t0.Add(day))
	b.changed(ch, err, entitlements.Event{Type: entitlements.EventRefunded, ProductID: "credits_100",
		Payment: ptr(refunded(pb, t0.Add(day), map[string]int64{"credits": 10}))})
	a.state(nil, oneTimeGrant(pa))
	a.payment("same_charge", paid(pa))
	b.state(nil)
}

// contractVersion runs one user through every kind of call; the tracker
// checks the version after each.
func contractVersion(t *testing.T, s entitlements.Store) {
	ctx := t.Context()
	u := newUser(t, s, alice)
	type call = func() (entitlements.Change, error)
	changes := []struct {
		name string
		call call
		dup  bool
	}{
		{"purchase", func() (entitlements.Change, error) { return s.RecordPayment(ctx, Pay(monthly(), alice, "sub_1", t0)) }, false},
		{"same purchase", func() (entitlements.Change, error) { return s.RecordPayment(ctx, Pay(monthly(), alice, "sub_1", t0)) }, true},
		{"renewal", func() (entitlements.Change, error) {
			return s.RecordPayment(ctx, Renewal(monthly(), alice, "sub_2", t0.Add(entitlements.SubscriptionPeriod)))
		}, false},
		{"cancel", func() (entitlements.Change, error) { return s.SetAutoRenew(ctx, alice, "pro_month", false) }, false},
		{"cancel again", func() (entitlements.Change, error) { return s.SetAutoRenew(ctx, alice, "pro_month", false) }, true},
		{"reactivate", func() (entitlements.Change, error) { return s.SetAutoRenew(ctx, alice, "pro_month", true) }, false},
		{"grant", func() (entitlements.Change, error) {
			return s.Grant(ctx, alice, entitlements.Grant{ID: "promo", Features: []string{"beta"}})
		}, false},
		{"same grant", func() (entitlements.Change, error) {
			return s.Grant(ctx, alice, entitlements.Grant{ID: "promo", Features: []string{"beta"}})
		}, true},
		{"credits", func() (entitlements.Change, error) { return s.RecordPayment(ctx, Pay(creditPack(), alice, "c_1", t0)) }, false},
		{"refund credits", func() (entitlements.Change, error) { return s.RefundPayment(ctx, alice, "c_1", t0.Add(day)) }, false},
		{"refund credits again", func() (entitlements.Change, error) { return s.RefundPayment(ctx, alice, "c_1", t0.Add(day)) }, true},
		{"revoke", func() (entitlements.Change, error) { return s.Revoke(ctx, alice, "promo") }, false},
		{"failed renewal", func() (entitlements.Change, error) {
			return s.EndSubscription(ctx, alice, "pro_month", t0.Add(2*entitlements.SubscriptionPeriod))
		}, false},
		{"failed renewal again", func() (entitlements.Change, error) {
			return s.EndSubscription(ctx, alice, "pro_month", t0.Add(2*entitlements.SubscriptionPeriod))
		}, true},
		{"refund subscription", func() (entitlements.Change, error) { return s.RefundPayment(ctx, alice, "sub_2", t0.Add(day)) }, false},
	}
	for _, c := range changes {
		ch, err := c.call()
		require.NoError(t, err, c.name)
		require.Equal(t, c.dup, ch.Duplicate, c.name)
		if !c.dup {
			u.version++
			require.Len(t, ch.Events, 1, c.name)
			require.Equal(t, u.version, ch.Events[0].Version, c.name)
		}
		require.Equal(t, u.version, ch.Version, c.name)
		u.load()

		// Failed calls change nothing.
		_, err = s.Revoke(ctx, alice, "missing")
		require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
		_, err = s.Spend(ctx, alice, "gold", 1)
		require.ErrorIs(t, err, entitlements.ErrInsufficientCredits)
		_, err = s.RefundPayment(ctx, alice, "missing", t0)
		require.ErrorIs(t, err, entitlements.ErrPaymentNotFound)
		u.load()
	}
	bal, err := s.AddCredits(ctx, alice, "gold", 2)
	u.spent(bal, err, 2)
	bal, err = s.Spend(ctx, alice, "gold", 2)
	u.spent(bal, err, 0)
	require.Equal(t, int64(12), u.version)
}

func contractCanceled(t *testing.T, s entitlements.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]func() error{
		"Load":          func() error { _, err := s.Load(ctx, alice); return err },
		"RecordPayment": func() error { _, err := s.RecordPayment(ctx, Pay(lifetime(), alice, "ot_1", t0)); return err },
		"RefundPayment": func() error { _, err := s.RefundPayment(ctx, alice, "ot_1", t0); return err },
		"Payment":       func() error { _, err := s.Payment(ctx, alice, "ot_1"); return err },
		"Grant": func() error {
			_, err := s.Grant(ctx, alice, entitlements.Grant{ID: "g", Features: []string{"f"}})
			return err
		},
		"Revoke":          func() error { _, err := s.Revoke(ctx, alice, "g"); return err },
		"SetAutoRenew":    func() error { _, err := s.SetAutoRenew(ctx, alice, "pro_month", false); return err },
		"EndSubscription": func() error { _, err := s.EndSubscription(ctx, alice, "pro_month", t0); return err },
		"Spend":           func() error { _, err := s.Spend(ctx, alice, "credits", 1); return err },
		"AddCredits":      func() error { _, err := s.AddCredits(ctx, alice, "credits", 1); return err },
	}
	for name, call := range calls {
		require.ErrorIs(t, call(), context.Canceled, name)
	}
	// Nothing happened.
	_, err := s.Payment(t.Context(), alice, "ot_1")
	require.ErrorIs(t, err, entitlements.ErrPaymentNotFound)
	newUser(t, s, alice).state(nil)
}
