package entitlements

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
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
	Features []string `json:"features,omitempty"`
	// Credits are added to the buyer's balances, by name. Required for
	// consumables; not allowed on the other kinds.
	Credits map[string]int64 `json:"credits,omitempty"`
	// Duration limits a one-time product's grant, counted from the payment.
	// Zero means for life. In JSON it is a Go duration string ("168h"), see
	// MarshalJSON. Only for one-time products.
	Duration time.Duration `json:"duration,omitempty"`
	// PhotoURL is an optional picture for the invoice.
	PhotoURL string `json:"photo_url,omitempty"`
}

// productJSON is Product's JSON form. Its Duration field, being shallower,
// shadows the embedded time.Duration one, so durations travel as strings.
type productJSON struct {
	productFields
	Duration string `json:"duration,omitempty"`
}

// productFields has Product's fields without its methods, so that encoding
// it does not recurse into MarshalJSON.
type productFields Product

// MarshalJSON encodes the product as in a catalog file: Duration as a Go
// duration string ("168h0m0s"), omitted when zero, as are empty Features,
// Credits and PhotoURL.
func (p Product) MarshalJSON() ([]byte, error) {
	j := productJSON{productFields: productFields(p)}
	if p.Duration != 0 {
		j.Duration = p.Duration.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a product from a catalog file. Unknown fields, and
// known ones spelt with other capitals, are errors, so that a typo fails
// loudly instead of being ignored. It does not validate the product:
// NewCatalog does.
func (p *Product) UnmarshalJSON(data []byte) error {
	if err := exactKeys(data, productKeys); err != nil {
		return err
	}
	var j productJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	out := Product(j.productFields)
	if j.Duration != "" {
		d, err := time.ParseDuration(j.Duration)
		if err != nil {
			return fmt.Errorf("duration: %w", err)
		}
		out.Duration = d
	}
	*p = out
	return nil
}

// Apply returns pay with its effect fields filled from the product: Kind,
// Features and Credits (copied), and ExpiresAt, which is PaidAt + Duration
// for a one-time product with a Duration and zero otherwise (lifetime, and
// subscriptions, which expire at SubscriptionExpiresAt instead). The other
// fields, which come from Telegram's update, are left as they are.
//
// Storing the effect with the payment means a store never needs the
// catalog, and a refund takes back what was granted even after the product
// changed.
func (p Product) Apply(pay Payment) Payment {
	pay.Kind = p.Kind
	pay.Features = slices.Clone(p.Features)
	pay.Credits = maps.Clone(p.Credits)
	pay.ExpiresAt = time.Time{}
	if p.Kind == KindOneTime && p.Duration > 0 {
		pay.ExpiresAt = pay.PaidAt.Add(p.Duration)
	}
	return pay
}

// productKeys are the JSON names of Product's fields.
var productKeys = []string{"id", "title", "description", "price", "kind", "features", "credits", "duration", "photo_url"}

// exactKeys rejects object keys not spelt exactly as one of names:
// encoding/json matches keys regardless of case, a catalog should not.
// Data that is not an object is left for the typed decode to report.
func exactKeys(data []byte, names []string) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(names, k) {
			return fmt.Errorf("json: unknown field %q", k)
		}
	}
	return nil
}
