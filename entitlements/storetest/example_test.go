package storetest_test

import (
	"fmt"
	"time"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/entitlements/storetest"
)

func ExamplePay() {
	pro := entitlements.Product{
		ID: "pro_month", Title: "Pro", Description: "Pro, monthly", Price: 250,
		Kind: entitlements.KindSubscription, Features: []string{"premium"},
	}
	at := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	first := storetest.Pay(pro, 42, "ch_1", at)
	renewal := storetest.Renewal(pro, 42, "ch_2", first.SubscriptionExpiresAt)
	for _, p := range []entitlements.Payment{first, renewal} {
		fmt.Println(p.ChargeID, p.Amount, p.IsRecurring, p.IsFirstRecurring, p.SubscriptionExpiresAt.Format(time.DateOnly))
	}
	// Output:
	// ch_1 250 true true 2025-02-09
	// ch_2 250 true false 2025-03-11
}
