package storetest

import (
	"testing"
	"time"

	"github.com/starsgate/starsgate/entitlements"
)

// Run runs the conformance suite. Each subtest calls newStore with its own
// *testing.T and must get a fresh, empty store. Subtests run in parallel, so
// whatever newStore sets up must be released with t.Cleanup (not defer in
// the caller, which returns before they run).
func Run(t *testing.T, newStore func(t *testing.T) entitlements.Store) {
	t.Helper()
	if _, err := entitlements.NewCatalog(monthly(), lifetime(), weekPass(), creditPack()); err != nil {
		t.Fatalf("storetest: fixture products: %v", err)
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"subscription", subscriptionTests},
		{"purchase", purchaseTests},
		{"refund", refundTests},
		{"grant", grantTests},
		{"credits", creditTests},
		{"concurrency", concurrencyTests},
		{"contract", contractTests},
		{"notifier", notifierTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newStore(t))
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, s entitlements.Store)
}

// Pay returns the payment Telegram reports when userID buys product at `at`,
// with its effect filled by product.Apply. For a subscription it is the
// first payment: IsRecurring and IsFirstRecurring are set and it runs for
// entitlements.SubscriptionPeriod. Amount is the product's price.
func Pay(product entitlements.Product, userID int64, chargeID string, at time.Time) entitlements.Payment {
	p := entitlements.Payment{
		ChargeID:       chargeID,
		UserID:         userID,
		ProductID:      product.ID,
		Amount:         product.Price,
		Currency:       entitlements.CurrencyStars,
		PaidAt:         at,
		InvoicePayload: "storetest:" + product.ID,
		Status:         entitlements.StatusPaid,
	}
	if product.Kind == entitlements.KindSubscription {
		p.SubscriptionExpiresAt = at.Add(entitlements.SubscriptionPeriod)
		p.IsRecurring, p.IsFirstRecurring = true, true
	}
	return product.Apply(p)
}

// Renewal returns the payment Telegram reports when userID's subscription
// to product renews at `at`: recurring, not first, running for
// entitlements.SubscriptionPeriod from `at`.
func Renewal(product entitlements.Product, userID int64, chargeID string, at time.Time) entitlements.Payment {
	p := Pay(product, userID, chargeID, at)
	p.IsFirstRecurring = false
	return p
}

// The suite's clock: whole seconds, in the past, so that a store that lets
// expired data vanish (a key TTL) fails.
var t0 = time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)

const (
	day   = 24 * time.Hour
	alice = int64(1001)
	bob   = int64(2002)
)

func monthly() entitlements.Product {
	return entitlements.Product{
		ID: "pro_month", Title: "Pro", Description: "Pro, billed monthly", Price: 250,
		Kind: entitlements.KindSubscription, Features: []string{"premium", "export"},
	}
}

func lifetime() entitlements.Product {
	return entitlements.Product{
		ID: "lifetime", Title: "Lifetime", Description: "Premium for life", Price: 2500,
		Kind: entitlements.KindOneTime, Features: []string{"premium"},
	}
}

func weekPass() entitlements.Product {
	return entitlements.Product{
		ID: "week_pass", Title: "Week pass", Description: "Premium for a week", Price: 50,
		Kind: entitlements.KindOneTime, Features: []string{"premium"}, Duration: 7 * day,
	}
}

func creditPack() entitlements.Product {
	return entitlements.Product{
		ID: "credits_100", Title: "100 credits", Description: "Credits for generations", Price: 100,
		Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 100, "bonus": 5},
	}
}

// subGrant is the grant a first subscription payment p creates.
func subGrant(p entitlements.Payment) entitlements.Grant {
	return entitlements.Grant{
		ID:            entitlements.SubscriptionGrantID(p.ProductID),
		ProductID:     p.ProductID,
		Source:        entitlements.SourceSubscription,
		Features:      p.Features,
		ExpiresAt:     p.SubscriptionExpiresAt,
		AutoRenew:     true,
		ChargeID:      p.ChargeID,
		FirstChargeID: p.ChargeID,
		GrantedAt:     p.PaidAt,
	}
}

// oneTimeGrant is the grant a one-time payment p creates.
func oneTimeGrant(p entitlements.Payment) entitlements.Grant {
	return entitlements.Grant{
		ID:        entitlements.OneTimeGrantID(p.ChargeID),
		ProductID: p.ProductID,
		Source:    entitlements.SourceOneTime,
		Features:  p.Features,
		ExpiresAt: p.ExpiresAt,
		ChargeID:  p.ChargeID,
		GrantedAt: p.PaidAt,
	}
}

func paid(p entitlements.Payment) entitlements.Payment {
	p.Status = entitlements.StatusPaid
	return p
}

func refunded(p entitlements.Payment, at time.Time, shortfall map[string]int64) entitlements.Payment {
	p.Status, p.RefundedAt, p.Shortfall = entitlements.StatusRefunded, at, shortfall
	return p
}

func ptr[T any](v T) *T { return &v }
