package starsgate

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/invoice"
)

// wired holds the HTTP handler and the payment processor built from the
// other parts.
type wired struct {
	invoices  *invoice.Handler
	processor *checkout.Processor
	webhook   echo.HandlerFunc
}

func (g *Gate) wire() error {
	var err error
	if g.invoices, err = invoice.NewHandler(invoice.HandlerConfig{
		Bot: g.bot, Catalog: g.catalog, Codec: g.codec, State: g.checker,
		Limiter: g.limiter, Now: g.now, Logger: g.log,
	}); err != nil {
		return dependency("invoice handler", err)
	}
	if g.processor, err = checkout.New(checkout.Config{
		Bot: g.bot, Catalog: g.catalog, Store: g.store, Payloads: g.codec,
		WebhookSecret: g.cfg.WebhookSecret, PaySupportText: g.cfg.PaySupportText, TermsText: g.cfg.TermsText,
		OnEvent: g.cfg.OnEvent, OnUpdate: g.cfg.OnUpdate, Now: g.now, Logger: g.log,
	}); err != nil {
		return dependency("payment processor", err)
	}
	if g.cfg.WebhookSecret != "" {
		g.webhook = g.processor.Webhook()
	}
	return nil
}

func (g *Gate) handleInvoice(c echo.Context) error { return g.invoices.Create(c) }

func (g *Gate) handleWebhook(c echo.Context) error { return g.webhook(c) }

// Processor is the payment update processor, for apps with their own bot
// framework (Process, ProcessUpdate) or finer control.
func (g *Gate) Processor() *checkout.Processor { return g.processor }

// Refund refunds a payment with refundStarPayment and revokes what it
// granted; a payment already refunded is a success. OnEvent hears
// "refunded" once.
func (g *Gate) Refund(ctx context.Context, userID int64, chargeID string) error {
	return g.processor.Refund(ctx, userID, chargeID)
}

// CancelSubscription stops a user's subscription to productID from renewing
// (editUserStarSubscription); access lasts to the end of the paid period.
func (g *Gate) CancelSubscription(ctx context.Context, userID int64, productID string) error {
	return g.processor.CancelSubscription(ctx, userID, productID)
}

// ResumeSubscription undoes CancelSubscription before the period ends.
func (g *Gate) ResumeSubscription(ctx context.Context, userID int64, productID string) error {
	return g.processor.ResumeSubscription(ctx, userID, productID)
}

// Reconcile repairs the ledger from Telegram's star transactions since the
// given time: payments the store missed are recorded, refunds it missed are
// applied. Run it after a store loss or an outage of the webhook.
func (g *Gate) Reconcile(ctx context.Context, since time.Time) (checkout.ReconcileReport, error) {
	return g.processor.Reconcile(ctx, since)
}

// Poll receives updates with getUpdates (long polling) until ctx ends, for
// development or servers without a public HTTPS URL. It cannot run while a
// webhook is set (Telegram answers 409): delete the webhook first.
func (g *Gate) Poll(ctx context.Context) error {
	return g.processor.Poll(ctx, checkout.PollConfig{})
}

// SetWebhook registers url (for example "https://app.example.com/stars/webhook")
// with Telegram, with the WebhookSecret and the allowed_updates the library
// needs plus extraAllowedUpdates (those OnUpdate wants).
func (g *Gate) SetWebhook(ctx context.Context, url string, extraAllowedUpdates ...string) error {
	if g.cfg.WebhookSecret == "" {
		return ErrNoWebhookSecret
	}
	return g.processor.SetWebhook(ctx, url, extraAllowedUpdates...)
}
