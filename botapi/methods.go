package botapi

import (
	"context"
	"time"
)

// GetMe returns the bot's own user; a cheap way to check the token.
func (c *Client) GetMe(ctx context.Context) (User, error) {
	var u User
	err := c.Call(ctx, "getMe", nil, &u)
	return u, err
}

// CreateInvoiceLink creates an invoice link (https://t.me/$…) for
// WebApp.openInvoice. It is the only way to sell a subscription.
func (c *Client) CreateInvoiceLink(ctx context.Context, p CreateInvoiceLinkParams) (string, error) {
	var link string
	err := c.Call(ctx, "createInvoiceLink", p, &link)
	return link, err
}

// SendInvoice sends an invoice message to a chat.
func (c *Client) SendInvoice(ctx context.Context, p SendInvoiceParams) (Message, error) {
	var m Message
	err := c.Call(ctx, "sendInvoice", p, &m)
	return m, err
}

// AnswerPreCheckoutQuery confirms or refuses a checkout. Telegram must get
// the answer within 10 seconds of sending the query.
func (c *Client) AnswerPreCheckoutQuery(ctx context.Context, p AnswerPreCheckoutQueryParams) error {
	return c.Call(ctx, "answerPreCheckoutQuery", p, nil)
}

// RefundStarPayment refunds a Stars payment. A second refund of the same
// charge fails with an error for which IsChargeAlreadyRefunded is true.
func (c *Client) RefundStarPayment(ctx context.Context, userID int64, chargeID string) error {
	return c.Call(ctx, "refundStarPayment", struct {
		UserID   int64  `json:"user_id"`
		ChargeID string `json:"telegram_payment_charge_id"`
	}{userID, chargeID}, nil)
}

// EditUserStarSubscription cancels (isCanceled true) or re-enables the
// extension of a user's subscription; chargeID is the charge ID of the
// subscription's first payment. A cancelled subscription stays active to
// the end of the paid period; only a cancellation made by the bot can be
// undone this way.
func (c *Client) EditUserStarSubscription(ctx context.Context, userID int64, chargeID string, isCanceled bool) error {
	return c.Call(ctx, "editUserStarSubscription", struct {
		UserID     int64  `json:"user_id"`
		ChargeID   string `json:"telegram_payment_charge_id"`
		IsCanceled bool   `json:"is_canceled"`
	}{userID, chargeID, isCanceled}, nil)
}

// GetStarTransactions returns up to limit (1-100; 0 means the server's
// default, 100) of the bot's Star transactions in chronological order,
// skipping the first offset.
func (c *Client) GetStarTransactions(ctx context.Context, offset, limit int) (StarTransactions, error) {
	var t StarTransactions
	err := c.Call(ctx, "getStarTransactions", struct {
		Offset int `json:"offset,omitempty"`
		Limit  int `json:"limit,omitempty"`
	}{offset, limit}, &t)
	return t, err
}

// GetMyStarBalance returns the bot's current Star balance.
func (c *Client) GetMyStarBalance(ctx context.Context) (StarAmount, error) {
	var a StarAmount
	err := c.Call(ctx, "getMyStarBalance", nil, &a)
	return a, err
}

// SetWebhook makes Telegram POST updates to p.URL.
func (c *Client) SetWebhook(ctx context.Context, p SetWebhookParams) error {
	return c.Call(ctx, "setWebhook", p, nil)
}

// DeleteWebhook removes the webhook (needed before getUpdates), optionally
// dropping the updates waiting for delivery.
func (c *Client) DeleteWebhook(ctx context.Context, dropPendingUpdates bool) error {
	return c.Call(ctx, "deleteWebhook", struct {
		DropPendingUpdates bool `json:"drop_pending_updates,omitempty"`
	}{dropPendingUpdates}, nil)
}

// GetWebhookInfo returns the webhook's status.
func (c *Client) GetWebhookInfo(ctx context.Context) (WebhookInfo, error) {
	var w WebhookInfo
	err := c.Call(ctx, "getWebhookInfo", nil, &w)
	return w, err
}

// GetUpdates polls for updates. With p.Timeout > 0 the request waits up to
// that many seconds for one, so the HTTP client's Timeout is extended by as
// much for this call. It fails with a conflict (IsConflict) while a webhook
// is set.
func (c *Client) GetUpdates(ctx context.Context, p GetUpdatesParams) ([]Update, error) {
	hc := c.hc
	if p.Timeout > 0 && hc.Timeout > 0 {
		ext := *hc // a shallow copy shares the transport and its connections
		ext.Timeout += time.Duration(p.Timeout) * time.Second
		hc = &ext
	}
	var u []Update
	err := c.call(ctx, hc, "getUpdates", p, &u)
	return u, err
}

// SendMessage sends a text message.
func (c *Client) SendMessage(ctx context.Context, p SendMessageParams) (Message, error) {
	var m Message
	err := c.Call(ctx, "sendMessage", p, &m)
	return m, err
}
