package storetest

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

// user drives one user of a store and tracks the version the user must
// have: it grows by exactly one on every change and never otherwise.
type user struct {
	t       *testing.T
	s       entitlements.Store
	id      int64
	version int64
}

func newUser(t *testing.T, s entitlements.Store, id int64) *user {
	return &user{t: t, s: s, id: id}
}

// changed requires a change of exactly one version carrying the events
// want, whose UserID and Version it fills in.
func (u *user) changed(ch entitlements.Change, err error, want ...entitlements.Event) entitlements.Change {
	u.t.Helper()
	require.NoError(u.t, err)
	require.False(u.t, ch.Duplicate, "a change reported as a duplicate")
	u.version++
	require.Equal(u.t, u.version, ch.Version, "the version must grow by exactly one on a change")
	for i := range want {
		want[i].UserID, want[i].Version = u.id, u.version
	}
	require.Equal(u.t, normEvents(want), normEvents(ch.Events), "events of the change")
	return ch
}

// duplicate requires a call that changed nothing.
func (u *user) duplicate(ch entitlements.Change, err error) {
	u.t.Helper()
	require.NoError(u.t, err)
	require.True(u.t, ch.Duplicate, "a repeated call must be a duplicate")
	require.Equal(u.t, u.version, ch.Version, "a duplicate reports the current version")
	require.Empty(u.t, ch.Events, "a duplicate has no events")
	u.load()
}

// spent requires a successful Spend or AddCredits returning balance; it
// counts as one change.
func (u *user) spent(balance int64, err error, want int64) {
	u.t.Helper()
	require.NoError(u.t, err)
	require.Equal(u.t, want, balance, "returned balance")
	u.version++
	u.load()
}

// load loads the user's state and requires the tracked version.
func (u *user) load() entitlements.State {
	u.t.Helper()
	st, err := u.s.Load(u.t.Context(), u.id)
	require.NoError(u.t, err)
	require.Equal(u.t, u.id, st.UserID, "State.UserID")
	require.NotNil(u.t, st.Credits, "State.Credits must never be nil")
	require.Equal(u.t, u.version, st.Version, "version")
	return st
}

// state requires the user's grants and credits to be exactly these
// (credits of zero may be absent).
func (u *user) state(credits map[string]int64, grants ...entitlements.Grant) entitlements.State {
	u.t.Helper()
	st := u.load()
	want := entitlements.State{UserID: u.id, Version: u.version, Grants: grants, Credits: credits}
	require.Equal(u.t, normState(want), normState(st), "state")
	return st
}

// payment requires the ledger record of chargeID to be want.
func (u *user) payment(chargeID string, want entitlements.Payment) {
	u.t.Helper()
	got, err := u.s.Payment(u.t.Context(), u.id, chargeID)
	require.NoError(u.t, err)
	require.Equal(u.t, normPayment(want), normPayment(got), "ledger record %s", chargeID)
}

// has requires access to feature to be as given at each of the times.
func has(t *testing.T, st entitlements.State, feature string, want bool, at ...time.Time) {
	t.Helper()
	for _, now := range at {
		require.Equal(t, want, st.Has(feature, now), "Has(%q, %s)", feature, now.Format(time.RFC3339))
	}
}

// insufficient requires err to be an *InsufficientCreditsError as given.
func insufficient(t *testing.T, err error, credit string, balance, need int64) {
	t.Helper()
	var ice *entitlements.InsufficientCreditsError
	require.True(t, errors.As(err, &ice), "want *InsufficientCreditsError, got %v", err)
	require.ErrorIs(t, err, entitlements.ErrInsufficientCredits)
	require.Equal(t, entitlements.InsufficientCreditsError{Credit: credit, Balance: balance, Need: need}, *ice)
}

// The norm functions make values comparable with require.Equal: instants in
// UTC, empty collections nil, grants sorted, zero balances dropped.

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func normMap(m map[string]int64) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func normStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func normPayment(p entitlements.Payment) entitlements.Payment {
	p.PaidAt, p.RefundedAt = normTime(p.PaidAt), normTime(p.RefundedAt)
	p.SubscriptionExpiresAt, p.ExpiresAt = normTime(p.SubscriptionExpiresAt), normTime(p.ExpiresAt)
	p.Features = normStrings(p.Features)
	p.Credits, p.Shortfall = normMap(p.Credits), normMap(p.Shortfall)
	return p
}

func normGrant(g entitlements.Grant) entitlements.Grant {
	g.ExpiresAt, g.GrantedAt = normTime(g.ExpiresAt), normTime(g.GrantedAt)
	g.Features = normStrings(g.Features)
	return g
}

func normState(s entitlements.State) entitlements.State {
	grants := make([]entitlements.Grant, 0, len(s.Grants))
	for _, g := range s.Grants {
		grants = append(grants, normGrant(g))
	}
	slices.SortFunc(grants, func(a, b entitlements.Grant) int { return strings.Compare(a.ID, b.ID) })
	s.Grants = grants
	if len(grants) == 0 {
		s.Grants = nil
	}
	credits := map[string]int64{}
	for k, v := range s.Credits {
		if v != 0 {
			credits[k] = v
		}
	}
	s.Credits = normMap(credits)
	return s
}

func normEvents(events []entitlements.Event) []entitlements.Event {
	if len(events) == 0 {
		return nil
	}
	out := make([]entitlements.Event, len(events))
	for i, e := range events {
		if e.Payment != nil {
			e.Payment = ptr(normPayment(*e.Payment))
		}
		if e.Grant != nil {
			e.Grant = ptr(normGrant(*e.Grant))
		}
		out[i] = e
	}
	return out
}
