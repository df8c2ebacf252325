package entitlements

import (
	"context"
	"time"
)

// Store keeps the ledger, grants, credit balances and version of each user.
//
// Contract, for every implementation (entitlements/storetest checks it):
//   - Every method takes a context and returns an error only for system
//     failures (unreachable store, corrupt data) or the named errors below;
//     "the user has nothing" is a zero State, never an error.
//   - Each state-changing call is atomic: the ledger record, the grants, the
//     credit balances and the version move together or not at all.
//   - The version grows by exactly one on every call that changes something
//     and stays put on a call that changes nothing (Change.Duplicate).
//   - Every change notifies the user's subscribers (see Notifier).
//   - Expiry instants are data; nothing disappears because a key TTL ran out.
type Store interface {
	// Load returns the user's state: all grants (expired ones too), credit
	// balances and version. A user never seen has a zero State with UserID
	// set and a non-nil empty Credits map.
	Load(ctx context.Context, userID int64) (State, error)

	// RecordPayment records p in the ledger, exactly once per
	// (p.UserID, p.ChargeID), and applies its effect in the same atomic step:
	//   - KindSubscription: upserts grant SubscriptionGrantID(p.ProductID).
	//     When there is no grant yet or p.SubscriptionExpiresAt is after the
	//     stored expiry: Features = p.Features, ExpiresAt =
	//     p.SubscriptionExpiresAt, AutoRenew = true, ChargeID = p.ChargeID,
	//     GrantedAt = p.PaidAt; otherwise (an older payment arriving late)
	//     those stay as they are. FirstChargeID = p.ChargeID when
	//     p.IsFirstRecurring or when there is no grant yet, else kept. Event
	//     renewed when p.IsRecurring and not p.IsFirstRecurring and a grant
	//     existed, else purchased.
	//   - KindOneTime: adds grant OneTimeGrantID(p.ChargeID) with p.Features,
	//     ExpiresAt = p.ExpiresAt, ChargeID = p.ChargeID and GrantedAt =
	//     p.PaidAt. Event purchased.
	//   - KindConsumable: adds p.Credits to the balances. Event purchased.
	// p.Status is stored as StatusPaid whatever the caller set. A charge ID
	// already recorded returns Change{Duplicate: true} and changes nothing,
	// not even the version.
	RecordPayment(ctx context.Context, p Payment) (Change, error)

	// RefundPayment marks the payment refunded at `at` and revokes exactly
	// what it granted: the one-time grant; the subscription grant when this
	// charge is the one currently backing it (Grant.ChargeID); the credits,
	// never below zero, with what could not be taken back recorded in
	// Payment.Shortfall. Event refunded. An already refunded payment returns
	// Change{Duplicate: true}; an unknown one ErrPaymentNotFound.
	RefundPayment(ctx context.Context, userID int64, chargeID string, at time.Time) (Change, error)

	// Payment returns one ledger record, or ErrPaymentNotFound.
	Payment(ctx context.Context, userID int64, chargeID string) (Payment, error)

	// Grant gives entitlements without payment. g.ID and g.Features are
	// required; Source is forced to SourceGrant. A grant with an existing ID
	// replaces it (Duplicate when identical). Event granted.
	Grant(ctx context.Context, userID int64, g Grant) (Change, error)

	// Revoke removes the grant with that ID, whatever its source (support can
	// revoke a purchase; the ledger keeps the payment). Event revoked.
	// ErrGrantNotFound when there is none.
	Revoke(ctx context.Context, userID int64, grantID string) (Change, error)

	// SetAutoRenew sets AutoRenew of the user's subscription grant for
	// productID: false on a cancellation (access stays until ExpiresAt; event
	// canceled), true on a reactivation (event reactivated). Duplicate when
	// already so; ErrGrantNotFound when there is no such subscription.
	SetAutoRenew(ctx context.Context, userID int64, productID string, autoRenew bool) (Change, error)

	// EndSubscription ends the user's subscription to productID at `at` (a
	// failed renewal): ExpiresAt becomes the earlier of itself and `at`,
	// AutoRenew false. Event renewal_failed. Duplicate when it had already
	// ended by `at` and AutoRenew was false; ErrGrantNotFound when there is no
	// such subscription.
	EndSubscription(ctx context.Context, userID int64, productID string, at time.Time) (Change, error)

	// Spend takes n (> 0) from the user's balance of credit, atomically,
	// and returns the new balance. When the balance is below n it changes
	// nothing and returns an *InsufficientCreditsError carrying the balance.
	Spend(ctx context.Context, userID int64, credit string, n int64) (balance int64, err error)

	// AddCredits adds n (> 0) to the user's balance of credit without a
	// payment (a give-back after a failed request, a promotion) and returns
	// the new balance.
	AddCredits(ctx context.Context, userID int64, credit string, n int64) (balance int64, err error)
}

// Notifier tells subscribers which user changed. Both stores implement it:
// the memory store in process, the Redis store through pub/sub, so every
// instance sharing the Redis hears about every change.
type Notifier interface {
	// Subscribe calls fn with the user ID after each change, until ctx ends.
	// onReset, when not nil, is called when notifications may have been lost
	// (a pub/sub reconnect): caches must then drop everything.
	Subscribe(ctx context.Context, fn func(userID int64), onReset func()) error
}
