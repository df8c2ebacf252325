package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
)

// AllowedUpdates are the update kinds the processor needs: message,
// pre_checkout_query and subscription.
func AllowedUpdates() []string {
	return []string{botapi.AllowMessage, botapi.AllowPreCheckoutQuery, botapi.AllowSubscription}
}

// allowed returns AllowedUpdates plus extra, without repeats.
func allowed(extra []string) []string {
	out := AllowedUpdates()
	for _, k := range extra {
		if k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// SetWebhook points Telegram at url with Config.WebhookSecret and the
// update kinds of AllowedUpdates plus extraAllowedUpdates (those OnUpdate
// wants, e.g. "callback_query").
func (p *Processor) SetWebhook(ctx context.Context, url string, extraAllowedUpdates ...string) error {
	if p.cfg.WebhookSecret == "" {
		return fmt.Errorf("%w: SetWebhook needs WebhookSecret", ErrInvalidConfig)
	}
	err := p.cfg.Bot.SetWebhook(ctx, botapi.SetWebhookParams{
		URL: url, SecretToken: p.cfg.WebhookSecret, AllowedUpdates: allowed(extraAllowedUpdates),
	})
	if err != nil {
		return fmt.Errorf("checkout: set webhook: %w", err)
	}
	return nil
}

// Refund gives the user their Stars back for a payment and revokes what it
// granted. A payment Telegram says was already refunded counts as refunded
// (Telegram has answered so for refunds that went through), and refunding
// twice is a success that changes nothing. A payment missing from the
// ledger is refunded at Telegram all the same. The refunded event is
// emitted once, here or when the refunded_payment update arrives, whichever
// is first. Errors wrap ErrTransient when a retry may succeed.
func (p *Processor) Refund(ctx context.Context, userID int64, chargeID string) error {
	if err := p.cfg.Bot.RefundStarPayment(ctx, userID, chargeID); err != nil && !botapi.IsChargeAlreadyRefunded(err) {
		return p.opError("refund", err)
	}
	ch, err := p.cfg.Store.RefundPayment(ctx, userID, chargeID, p.cfg.Now().UTC())
	switch {
	case errors.Is(err, entitlements.ErrPaymentNotFound):
		p.log.WarnContext(ctx, "checkout: refunded a payment that is not in the ledger; nothing to revoke",
			slog.Int64("user_id", userID), slog.String("charge_id", chargeID))
		return nil
	case err != nil && ch.Version == 0:
		return fmt.Errorf("checkout: refunded at Telegram but not in the store: %w", storeError("refund payment", err))
	}
	p.emit(ctx, ch)
	return nil
}

// CancelSubscription stops the renewal of the user's subscription to
// productID; access lasts to the end of the paid period. The user cannot
// re-enable it in Telegram: ResumeSubscription undoes it.
func (p *Processor) CancelSubscription(ctx context.Context, userID int64, productID string) error {
	return p.setRenewal(ctx, userID, productID, false)
}

// ResumeSubscription undoes CancelSubscription.
func (p *Processor) ResumeSubscription(ctx context.Context, userID int64, productID string) error {
	return p.setRenewal(ctx, userID, productID, true)
}

// setRenewal calls editUserStarSubscription with the subscription's first
// charge ID, the one Telegram accepts, then records the new auto-renew.
func (p *Processor) setRenewal(ctx context.Context, userID int64, productID string, renew bool) error {
	st, err := p.cfg.Store.Load(ctx, userID)
	if err != nil {
		return storeError("load", err)
	}
	id := entitlements.SubscriptionGrantID(productID)
	i := slices.IndexFunc(st.Grants, func(g entitlements.Grant) bool { return g.ID == id })
	if i < 0 || st.Grants[i].FirstChargeID == "" {
		return fmt.Errorf("%w: user %d, product %q", ErrNoSubscription, userID, productID)
	}
	if err := p.cfg.Bot.EditUserStarSubscription(ctx, userID, st.Grants[i].FirstChargeID, !renew); err != nil {
		return p.opError("edit subscription", err)
	}
	ch, err := p.cfg.Store.SetAutoRenew(ctx, userID, productID, renew)
	switch {
	case errors.Is(err, entitlements.ErrGrantNotFound): // refunded meanwhile
		return fmt.Errorf("%w: user %d, product %q", ErrNoSubscription, userID, productID)
	case err != nil && ch.Version == 0:
		return fmt.Errorf("checkout: changed at Telegram but not in the store: %w", storeError("set auto-renew", err))
	}
	p.emit(ctx, ch)
	return nil
}

// opError wraps a Bot API failure of an operation, marking it transient
// when a retry may succeed.
func (p *Processor) opError(op string, err error) error {
	if transientBotError(err) {
		return fmt.Errorf("%w: %s: %w", ErrTransient, op, err)
	}
	return fmt.Errorf("checkout: %s: %w", op, err)
}
