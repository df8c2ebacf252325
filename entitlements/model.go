package entitlements

import (
	"slices"
	"time"
)

// PaymentStatus is the state of a ledger record.
type PaymentStatus string

// Payment statuses.
const (
	StatusPaid     PaymentStatus = "paid"
	StatusRefunded PaymentStatus = "refunded"
)

// Source says where an entitlement comes from.
type Source string

// Entitlement sources.
const (
	SourceSubscription Source = "subscription"
	SourceOneTime      Source = "one_time"
	SourceGrant        Source = "grant"
)

// Payment is one ledger record: a successful Stars payment, keyed by its
// telegram_payment_charge_id. The ledger is the truth: grants and credit
// balances are derived from it, so a refund or a replay recomputes them.
//
// The effect fields (Kind, Features, Credits, ExpiresAt) say what the payment
// grants; Product.Apply fills them from the product so that a store
// never needs the catalog, and a refund revokes exactly what was granted even
// after the catalog changed.
type Payment struct {
	ChargeID         string        `json:"charge_id"`
	ProviderChargeID string        `json:"provider_charge_id,omitempty"`
	UserID           int64         `json:"user_id"`
	ProductID        string        `json:"product_id"`
	Amount           int64         `json:"amount"`
	Currency         string        `json:"currency"`
	PaidAt           time.Time     `json:"paid_at"`
	InvoicePayload   string        `json:"invoice_payload,omitempty"`
	Status           PaymentStatus `json:"status"`
	RefundedAt       time.Time     `json:"refunded_at,omitzero"`

	// Subscription payments only.
	SubscriptionExpiresAt time.Time `json:"subscription_expires_at,omitzero"`
	IsRecurring           bool      `json:"is_recurring,omitempty"`
	IsFirstRecurring      bool      `json:"is_first_recurring,omitempty"`

	// Effect: what the payment grants.
	Kind      Kind             `json:"kind"`
	Features  []string         `json:"features,omitempty"`
	Credits   map[string]int64 `json:"credits,omitempty"`
	ExpiresAt time.Time        `json:"expires_at,omitzero"` // one-time grants; zero = lifetime
	// Shortfall is what a refund of a consumable could not take back because
	// the credits were already spent.
	Shortfall map[string]int64 `json:"shortfall,omitempty"`
}

// Grant is one source of entitlements held by a user: a subscription, a
// one-time purchase, or a grant without payment (promotion, trial, support).
// A feature is active while any unexpired grant covers it.
type Grant struct {
	// ID identifies the grant within the user: "sub:<product>" for a
	// subscription, "pay:<charge id>" for a one-time purchase, and the
	// caller's ID for grants without payment.
	ID        string   `json:"id"`
	ProductID string   `json:"product_id,omitempty"`
	Source    Source   `json:"source"`
	Features  []string `json:"features"`
	// ExpiresAt is when access ends; zero means for life.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// AutoRenew is true for a subscription that will renew; false after a
	// cancellation, a failed renewal, and for other sources.
	AutoRenew bool `json:"auto_renew"`
	// ChargeID is the payment that last extended the grant (empty for
	// grants without payment); refunding it revokes the grant.
	ChargeID string `json:"charge_id,omitempty"`
	// FirstChargeID is a subscription's first payment, the identifier
	// editUserStarSubscription wants.
	FirstChargeID string `json:"first_charge_id,omitempty"`
	// GrantedAt is the PaidAt of the payment ChargeID names; for grants
	// without payment, whatever the caller set.
	GrantedAt time.Time `json:"granted_at,omitzero"`
	// Reason is free text for grants without payment ("trial", "support #12").
	Reason string `json:"reason,omitempty"`
}

// Active reports whether the grant gives access at now.
func (g *Grant) Active(now time.Time) bool {
	return g.ExpiresAt.IsZero() || now.Before(g.ExpiresAt)
}

// SubscriptionGrantID is the grant ID of a user's subscription to a product.
func SubscriptionGrantID(productID string) string { return "sub:" + productID }

// OneTimeGrantID is the grant ID of a one-time purchase.
func OneTimeGrantID(chargeID string) string { return "pay:" + chargeID }

// Entitlement is an active feature of a user, as shown to clients.
type Entitlement struct {
	Feature   string
	ProductID string
	Source    Source
	// ExpiresAt is zero for lifetime access.
	ExpiresAt time.Time
	AutoRenew bool
}

// State is everything the hot path needs to know about one user. Stores
// return expired grants too: whether a grant is active depends on the time of
// the question, which the caller supplies.
type State struct {
	UserID int64
	// Version grows on every change of the user's ledger, grants or credits.
	// A user never seen has version 0.
	Version int64
	Grants  []Grant
	Credits map[string]int64
}

// Has reports whether any grant active at now covers feature. It does not
// allocate.
func (s *State) Has(feature string, now time.Time) bool {
	for i := range s.Grants {
		g := &s.Grants[i]
		if g.Active(now) && slices.Contains(g.Features, feature) {
			return true
		}
	}
	return false
}

// Balance returns the user's balance of credit.
func (s *State) Balance(credit string) int64 { return s.Credits[credit] }

// ActiveGrant returns the user's grant with the given ID if it is active at
// now.
func (s *State) ActiveGrant(id string, now time.Time) (Grant, bool) {
	for _, g := range s.Grants {
		if g.ID == id && g.Active(now) {
			return g, true
		}
	}
	return Grant{}, false
}

// OwnsProduct reports whether a grant from productID is active at now.
func (s *State) OwnsProduct(productID string, now time.Time) bool {
	for i := range s.Grants {
		if s.Grants[i].ProductID == productID && s.Grants[i].Active(now) {
			return true
		}
	}
	return false
}

// Entitlements lists the features active at now, one entry per feature,
// sorted by feature. When several grants cover a feature the one that lasts
// longest wins (lifetime beats any date).
func (s *State) Entitlements(now time.Time) []Entitlement {
	best := map[string]Entitlement{}
	for _, g := range s.Grants {
		if !g.Active(now) {
			continue
		}
		for _, f := range g.Features {
			cur, ok := best[f]
			if ok && !lastsLonger(g.ExpiresAt, cur.ExpiresAt) {
				continue
			}
			best[f] = Entitlement{Feature: f, ProductID: g.ProductID, Source: g.Source, ExpiresAt: g.ExpiresAt, AutoRenew: g.AutoRenew}
		}
	}
	out := make([]Entitlement, 0, len(best))
	for _, e := range best {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entitlement) int {
		switch {
		case a.Feature < b.Feature:
			return -1
		case a.Feature > b.Feature:
			return 1
		}
		return 0
	})
	return out
}

// lastsLonger reports whether expiry a ends after b; zero is forever.
func lastsLonger(a, b time.Time) bool {
	if b.IsZero() {
		return false
	}
	return a.IsZero() || a.After(b)
}

// EventType names a change in a user's entitlements.
type EventType string

// Event types.
const (
	EventPurchased     EventType = "purchased"
	EventRenewed       EventType = "renewed"
	EventCanceled      EventType = "canceled"
	EventReactivated   EventType = "reactivated"
	EventRenewalFailed EventType = "renewal_failed"
	EventRefunded      EventType = "refunded"
	EventGranted       EventType = "granted"
	EventRevoked       EventType = "revoked"
)

// Event is one change, emitted once per change: a replay produces none.
type Event struct {
	Type      EventType
	UserID    int64
	ProductID string
	// Payment is set for purchased, renewed and refunded.
	Payment *Payment
	// Grant is the grant as it is after the change; as it was before, for
	// revoked and for a refund that removed it; nil when no grant was
	// involved (consumables, a refund that left the grant alone).
	Grant *Grant
	// Version is the user's version after the change.
	Version int64
}

// Change is the result of a state-changing store call.
type Change struct {
	// Duplicate is true when nothing changed because the call was already
	// applied (the same charge recorded, the same refund, the same state).
	Duplicate bool
	// Version is the user's version after the call.
	Version int64
	// Events are the changes made, empty when Duplicate.
	Events []Event
}
