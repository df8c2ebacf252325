package checkout

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/invoice"
)

// handleSuccessfulPayment records the payment for its payer, message.from,
// exactly once per charge ID.
//
// The money is already taken, so the payment is recorded for the payer even
// when the payload names another user (pre-checkout refuses that, but
// renewals have no pre-checkout). A payload starsgate did not issue goes to
// OnUpdate (the app sells something else), or is logged at error level; a
// forged or malformed payload, or a product no longer in the catalog, is
// logged at error level and dropped: retrying cannot help, and the payment
// stays in Telegram's history for a refund.
func (p *Processor) handleSuccessfulPayment(ctx context.Context, u botapi.Update) error {
	m := u.Message
	sp := m.SuccessfulPayment
	if m.From == nil || sp.TelegramPaymentChargeID == "" {
		p.log.ErrorContext(ctx, "checkout: successful_payment without payer or charge ID dropped", paymentAttrs(u)...)
		return nil
	}
	if p.seen != nil && p.seen.has(m.From.ID, sp.TelegramPaymentChargeID) {
		p.logDuplicate(ctx, sp.TelegramPaymentChargeID)
		return nil
	}
	pl, err := p.cfg.Payloads.Decode(sp.InvoicePayload)
	if errors.Is(err, invoice.ErrPayloadNotOurs) && p.cfg.OnUpdate != nil {
		return p.passOn(ctx, u)
	}
	if err != nil {
		p.log.ErrorContext(ctx, "checkout: payment with a payload we cannot use dropped; refund it if nothing else delivers it",
			paymentAttrs(u, slog.String("error", err.Error()))...)
		return nil
	}
	prod, ok := p.cfg.Catalog.Product(pl.ProductID)
	if !ok {
		p.log.ErrorContext(ctx, "checkout: payment for a product no longer in the catalog dropped; refund it",
			paymentAttrs(u, slog.String("product_id", pl.ProductID))...)
		return nil
	}
	if pl.UserID != m.From.ID {
		p.log.WarnContext(ctx, "checkout: payment by another user than the invoice's; recorded for the payer",
			paymentAttrs(u, slog.Int64("invoice_user_id", pl.UserID))...)
	}
	pay := entitlements.Payment{
		ChargeID: sp.TelegramPaymentChargeID, ProviderChargeID: sp.ProviderPaymentChargeID,
		UserID: m.From.ID, ProductID: prod.ID, Amount: sp.TotalAmount, Currency: sp.Currency,
		PaidAt: p.messageTime(m), InvoicePayload: sp.InvoicePayload,
		IsRecurring: sp.IsRecurring, IsFirstRecurring: sp.IsFirstRecurring,
	}
	if sp.SubscriptionExpirationDate > 0 {
		pay.SubscriptionExpiresAt = time.Unix(sp.SubscriptionExpirationDate, 0).UTC()
	}
	return p.record(ctx, prod, pay)
}

// paymentAttrs describes a successful_payment update in a log record, plus
// more. Only the paths that write a record build it.
func paymentAttrs(u botapi.Update, more ...any) []any {
	attrs := make([]any, 0, 3+len(more))
	attrs = append(attrs, slog.String("charge_id", u.Message.SuccessfulPayment.TelegramPaymentChargeID),
		slog.Int64("update_id", u.UpdateID))
	if u.Message.From != nil {
		attrs = append(attrs, slog.Int64("user_id", u.Message.From.ID))
	}
	return append(attrs, more...)
}

// record applies the product's effect to pay and records it.
func (p *Processor) record(ctx context.Context, prod entitlements.Product, pay entitlements.Payment) error {
	if prod.Kind == entitlements.KindSubscription && pay.SubscriptionExpiresAt.IsZero() {
		// Paid through an invoice without a subscription period: grant one
		// period rather than access for life.
		pay.SubscriptionExpiresAt = pay.PaidAt.Add(entitlements.SubscriptionPeriod)
	}
	ch, err := p.cfg.Store.RecordPayment(ctx, prod.Apply(pay))
	if err != nil && ch.Version > 0 {
		// Applied, but its reply did not decode: a retry would be a duplicate.
		p.log.ErrorContext(ctx, "checkout: payment recorded but its event data is corrupt", slog.String("error", err.Error()))
		p.emit(ctx, ch)
		return nil
	}
	if err != nil {
		return p.storeFailure(ctx, "record payment", pay.UserID, err)
	}
	// Only now, with the store's word that the charge is in the ledger.
	if p.seen != nil {
		p.seen.add(pay.UserID, pay.ChargeID)
	}
	if ch.Duplicate {
		p.logDuplicate(ctx, pay.ChargeID)
	}
	p.emit(ctx, ch)
	return nil
}

// logDuplicate notes a payment delivered again, at debug level.
func (p *Processor) logDuplicate(ctx context.Context, chargeID string) {
	p.log.LogAttrs(ctx, slog.LevelDebug, "checkout: payment already recorded", slog.String("charge_id", chargeID))
}

// handleRefundedPayment revokes what the refunded payment granted.
func (p *Processor) handleRefundedPayment(ctx context.Context, m *botapi.Message) error {
	rp := m.RefundedPayment
	if m.From == nil || rp.TelegramPaymentChargeID == "" {
		p.log.ErrorContext(ctx, "checkout: refunded_payment without payer or charge ID dropped",
			slog.String("charge_id", rp.TelegramPaymentChargeID))
		return nil
	}
	return p.refundInStore(ctx, m.From.ID, rp.TelegramPaymentChargeID, p.messageTime(m))
}

// refundInStore marks the payment refunded; an unknown or already refunded
// payment is not an error.
func (p *Processor) refundInStore(ctx context.Context, userID int64, chargeID string, at time.Time) error {
	ch, err := p.cfg.Store.RefundPayment(ctx, userID, chargeID, at)
	attrs := []any{slog.Int64("user_id", userID), slog.String("charge_id", chargeID)}
	switch {
	case errors.Is(err, entitlements.ErrPaymentNotFound):
		p.log.WarnContext(ctx, "checkout: refund of a payment not in the ledger; nothing to revoke", attrs...)
		return nil
	case err != nil && ch.Version > 0:
		p.log.ErrorContext(ctx, "checkout: refund recorded but its event data is corrupt", slog.String("error", err.Error()))
	case err != nil:
		return p.storeFailure(ctx, "refund payment", userID, err)
	}
	p.emit(ctx, ch)
	return nil
}

// handleSubscription applies a BotSubscriptionUpdated: canceled and active
// set auto-renew, failed ends access now.
func (p *Processor) handleSubscription(ctx context.Context, u botapi.Update) error {
	s := u.Subscription
	pl, err := p.cfg.Payloads.Decode(s.InvoicePayload)
	if errors.Is(err, invoice.ErrPayloadNotOurs) && p.cfg.OnUpdate != nil {
		return p.passOn(ctx, u)
	}
	attrs := []any{slog.Int64("user_id", s.User.ID), slog.String("state", s.State)}
	if err != nil {
		p.log.ErrorContext(ctx, "checkout: subscription update with a payload we cannot use dropped",
			append(attrs, slog.String("error", err.Error()))...)
		return nil
	}
	attrs = append(attrs, slog.String("product_id", pl.ProductID))
	var ch entitlements.Change
	switch s.State {
	case botapi.SubscriptionCanceled:
		ch, err = p.cfg.Store.SetAutoRenew(ctx, s.User.ID, pl.ProductID, false)
	case botapi.SubscriptionActive:
		ch, err = p.cfg.Store.SetAutoRenew(ctx, s.User.ID, pl.ProductID, true)
	case botapi.SubscriptionFailed:
		ch, err = p.cfg.Store.EndSubscription(ctx, s.User.ID, pl.ProductID, p.cfg.Now())
	default:
		p.log.WarnContext(ctx, "checkout: unknown subscription state ignored", attrs...)
		return nil
	}
	if errors.Is(err, entitlements.ErrGrantNotFound) {
		p.log.WarnContext(ctx, "checkout: subscription update for a subscription not in the store ignored", attrs...)
		return nil
	}
	if err != nil {
		return p.storeFailure(ctx, "subscription "+s.State, s.User.ID, err)
	}
	p.emit(ctx, ch)
	return nil
}

// messageTime is when the message was sent, or now when it has no date.
func (p *Processor) messageTime(m *botapi.Message) time.Time {
	if m.Date > 0 {
		return time.Unix(m.Date, 0).UTC()
	}
	return p.cfg.Now().UTC()
}
