package storetest

import (
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

var concurrencyTests = []test{
	{"ok, 100 deliveries of one one-time charge at once", func(t *testing.T, s entitlements.Store) {
		concurrentRecord(t, s, Pay(lifetime(), alice, "ot_1", t0))
	}},
	{"ok, 100 deliveries of one subscription charge at once", func(t *testing.T, s entitlements.Store) {
		concurrentRecord(t, s, Pay(monthly(), alice, "sub_1", t0))
	}},
	{"ok, 100 deliveries of one consumable charge at once", func(t *testing.T, s entitlements.Store) {
		concurrentRecord(t, s, Pay(creditPack(), alice, "c_1", t0))
	}},
	{"ok, 100 spends of 1 from a balance of 50", concurrentSpend},
}

const goroutines = 100

// parallel runs fn(i) on n goroutines released together.
func parallel(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// concurrentRecord records p from many goroutines at once: exactly one
// records it, every other call is a duplicate, and it is applied once.
func concurrentRecord(t *testing.T, s entitlements.Store, p entitlements.Payment) {
	changes := make([]entitlements.Change, goroutines)
	errs := make([]error, goroutines)
	parallel(goroutines, func(i int) {
		changes[i], errs[i] = s.RecordPayment(t.Context(), p)
	})
	var recorded []entitlements.Change
	for i, ch := range changes {
		require.NoError(t, errs[i])
		require.Equal(t, int64(1), ch.Version, "every call sees the one change")
		if !ch.Duplicate {
			recorded = append(recorded, ch)
		} else {
			require.Empty(t, ch.Events)
		}
	}
	require.Len(t, recorded, 1, "exactly one call records the charge")

	want := entitlements.Event{Type: entitlements.EventPurchased, UserID: alice, ProductID: p.ProductID, Payment: ptr(paid(p)), Version: 1}
	u := newUser(t, s, alice)
	u.version = 1
	switch p.Kind {
	case entitlements.KindSubscription:
		want.Grant = ptr(subGrant(p))
		u.state(nil, subGrant(p))
	case entitlements.KindOneTime:
		want.Grant = ptr(oneTimeGrant(p))
		u.state(nil, oneTimeGrant(p))
	case entitlements.KindConsumable:
		u.state(p.Credits)
	}
	require.Equal(t, normEvents([]entitlements.Event{want}), normEvents(recorded[0].Events))
	u.payment(p.ChargeID, paid(p))
}

func concurrentSpend(t *testing.T, s entitlements.Store) {
	u := newUser(t, s, alice)
	bal, err := s.AddCredits(t.Context(), alice, "credits", 50)
	u.spent(bal, err, 50)

	balances := make([]int64, goroutines)
	errs := make([]error, goroutines)
	parallel(goroutines, func(i int) {
		balances[i], errs[i] = s.Spend(t.Context(), alice, "credits", 1)
	})
	var left []int64
	for i, err := range errs {
		if err != nil {
			insufficient(t, err, "credits", 0, 1)
			continue
		}
		left = append(left, balances[i])
	}
	require.Len(t, left, 50, "exactly the balance is spent")
	slices.Sort(left)
	for i, b := range left {
		require.Equal(t, int64(i), b, "each spend saw its own balance")
	}
	u.version += 50
	u.state(nil)
}
