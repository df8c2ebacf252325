package entitlements

import (
	"time"
)

// Kind is what buying a product does.
type Kind string

// Product kinds.
const (
	// KindSubscription is a Telegram Stars subscription renewed every
	// SubscriptionPeriod. It grants its features until the subscription's
	// expiration date; renewals extend it, a user cancellation keeps access to
	// the end of the paid period, a failed renewal or expiry ends it.
	KindSubscription Kind = "subscription"
	// KindOneTime is a non-consumable: it grants its features for Duration, or
	// for life when Duration is zero. It cannot be bought again while active.
	KindOneTime Kind = "one_time"
	// KindConsumable adds Credits to the buyer's balances; it can be bought
	// any number of times.
	KindConsumable Kind = "consumable"
)

// SubscriptionPeriod is the only period Telegram accepts for Stars
// subscriptions (subscription_period = 2592000 seconds).
const SubscriptionPeriod = 30 * 24 * time.Hour

// Telegram's limits for Stars products.
const (
	MaxTitleLen             = 32
	MaxDescriptionLen       = 255
	MaxSubscriptionPrice    = 10000
	CurrencyStars           = "XTR"
	productIDPatternPattern = `^[a-z0-9_-]{1,64}$`
)

// Product is something a user can buy for Stars.
type Product struct {
	// ID matches [a-z0-9_-]{1,64}. Required.
	ID string `json:"id"`
	// Title is shown on the invoice, 1-32 characters. Required.
	Title string `json:"title"`
	// Description is shown on the invoice, 1-255 characters. Required.
	Description string `json:"description"`
	// Price in Stars, at least 1; at most 10000 for subscriptions. Required.
	Price int64 `json:"price"`
	// Kind is subscription, one_time or consumable. Required.
	Kind Kind `json:"kind"`
	// Features are the entitlement keys the product grants. Required for
	// subscriptions and one-time products; not allowed on consumables.
	Features []string `json:"features"`
	// Credits are added to the buyer's balances, by name. Required for
	// consumables; not allowed on the other kinds.
	Credits map[string]int64 `json:"credits"`
	// Duration limits a one-time product's grant, counted from the payment.
	// Zero means for life. In JSON it is a Go duration string ("168h").
	// Only for one-time products.
	Duration time.Duration `json:"-"`
	// PhotoURL is an optional picture for the invoice.
	PhotoURL string `json:"photo_url,omitempty"`
}
