package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

var grantTests = []test{
	{"ok, grant and revoke without payment", grantAndRevoke},
	{"ok, a feature covered by two grants survives revoking one", grantOverlap},
	{"ok, revoking a purchase keeps the ledger", grantRevokePurchase},
}

var creditTests = []test{
	{"ok, add and spend", creditsAddAndSpend},
	{"nok, spending more than the balance changes nothing", creditsOverspend},
}

func grantAndRevoke(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	in := entitlements.Grant{
		ID: "trial", ProductID: "pro_month", Features: []string{"premium", "export"},
		Source:    entitlements.SourceSubscription, // forced to grant
		ExpiresAt: t0.Add(7 * day), GrantedAt: t0, Reason: "trial, 7 days",
	}
	g := in
	g.Source = entitlements.SourceGrant
	ch, err := s.Grant(t.Context(), alice, in)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventGranted, ProductID: "pro_month", Grant: ptr(g)})
	st := u.state(nil, g)
	has(t, st, "premium", true, t0, g.ExpiresAt.Add(-time.Second))
	has(t, st, "premium", false, g.ExpiresAt)

	ch, err = s.Grant(t.Context(), alice, in)
	u.duplicate(ch, err)

	// Granting the same ID again with a new end replaces it.
	in.ExpiresAt, g.ExpiresAt = t0.Add(30*day), t0.Add(30*day)
	ch, err = s.Grant(t.Context(), alice, in)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventGranted, ProductID: "pro_month", Grant: ptr(g)})
	st = u.state(nil, g)
	has(t, st, "premium", true, t0.Add(20*day))

	// A lifetime grant without a product.
	forever := entitlements.Grant{ID: "support-12", Features: []string{"premium"}, Reason: "support #12"}
	fg := forever
	fg.Source = entitlements.SourceGrant
	ch, err = s.Grant(t.Context(), alice, forever)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventGranted, Grant: ptr(fg)})
	u.state(nil, g, fg)

	ch, err = s.Revoke(t.Context(), alice, "trial")
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRevoked, ProductID: "pro_month", Grant: ptr(g)})
	st = u.state(nil, fg)
	has(t, st, "export", false, t0)
	has(t, st, "premium", true, t0.Add(1000*day))

	_, err = s.Revoke(t.Context(), alice, "trial")
	require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
	_, err = s.Revoke(t.Context(), bob, "support-12")
	require.ErrorIs(t, err, entitlements.ErrGrantNotFound)
	u.state(nil, fg)
}

func grantOverlap(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(lifetime(), alice, "ot_1", t0)
	pg := oneTimeGrant(p)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "lifetime", Payment: ptr(paid(p)), Grant: ptr(pg)})
	promo := entitlements.Grant{ID: "promo", Source: entitlements.SourceGrant, Features: []string{"premium", "export"}, ExpiresAt: t0.Add(day)}
	ch, err = s.Grant(t.Context(), alice, promo)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventGranted, Grant: ptr(promo)})
	st := u.state(nil, pg, promo)
	has(t, st, "premium", true, t0)
	has(t, st, "export", true, t0)

	ch, err = s.Revoke(t.Context(), alice, "promo")
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRevoked, Grant: ptr(promo)})
	st = u.state(nil, pg)
	has(t, st, "premium", true, t0)
	has(t, st, "export", false, t0)
}

func grantRevokePurchase(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	p := Pay(monthly(), alice, "sub_1", t0)
	g := subGrant(p)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "pro_month", Payment: ptr(paid(p)), Grant: ptr(g)})
	ch, err = s.Revoke(t.Context(), alice, g.ID)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventRevoked, ProductID: "pro_month", Grant: ptr(g)})
	st := u.state(nil)
	has(t, st, "premium", false, t0)
	u.payment("sub_1", paid(p))

	// The replayed payment is a duplicate: revoking is not undone by it.
	ch, err = s.RecordPayment(t.Context(), p)
	u.duplicate(ch, err)
	u.state(nil)
}

func creditsAddAndSpend(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	bal, err := s.AddCredits(t.Context(), alice, "credits", 10)
	u.spent(bal, err, 10)
	bal, err = s.AddCredits(t.Context(), alice, "credits", 5)
	u.spent(bal, err, 15)
	bal, err = s.AddCredits(t.Context(), alice, "bonus", 2)
	u.spent(bal, err, 2)
	u.state(map[string]int64{"credits": 15, "bonus": 2})

	bal, err = s.Spend(t.Context(), alice, "credits", 3)
	u.spent(bal, err, 12)
	bal, err = s.Spend(t.Context(), alice, "credits", 12)
	u.spent(bal, err, 0)
	_, err = s.Spend(t.Context(), alice, "credits", 1)
	insufficient(t, err, "credits", 0, 1)
	u.state(map[string]int64{"bonus": 2})

	// Credits added without payment add to purchased ones.
	p := Pay(creditPack(), alice, "c_1", t0)
	ch, err := s.RecordPayment(t.Context(), p)
	u.changed(ch, err, entitlements.Event{Type: entitlements.EventPurchased, ProductID: "credits_100", Payment: ptr(paid(p))})
	bal, err = s.AddCredits(t.Context(), alice, "credits", 1)
	u.spent(bal, err, 101)
	u.state(map[string]int64{"credits": 101, "bonus": 7})
}

func creditsOverspend(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	_, err := s.Spend(t.Context(), alice, "credits", 1)
	insufficient(t, err, "credits", 0, 1)
	u.state(nil)

	bal, err := s.AddCredits(t.Context(), alice, "credits", 5)
	u.spent(bal, err, 5)
	_, err = s.Spend(t.Context(), alice, "credits", 6)
	insufficient(t, err, "credits", 5, 6)
	_, err = s.Spend(t.Context(), alice, "bonus", 1)
	insufficient(t, err, "bonus", 0, 1)
	u.state(map[string]int64{"credits": 5})
}
