package sandbox

import "errors"

var (
	// ErrInvalidToken means Config.Token is not "<bot id>:<secret>" with a
	// positive numeric bot id and a secret of A-Z a-z 0-9 _ -.
	ErrInvalidToken = errors.New("sandbox: invalid bot token")
	// ErrInvalidConfig means a Config field is out of range (a negative
	// duration, WebhookRetryMin above WebhookRetryMax).
	ErrInvalidConfig = errors.New("sandbox: invalid config")
	// ErrStarted means Start was called on a server that is already listening.
	ErrStarted = errors.New("sandbox: server already started")
	// ErrClosed means the server was closed.
	ErrClosed = errors.New("sandbox: server closed")
	// ErrInvalidUser means a simulated user has no positive id or is a bot.
	ErrInvalidUser = errors.New("sandbox: invalid user")
	// ErrUnknownInvoice means the link is not an invoice link made by this
	// sandbox's createInvoiceLink.
	ErrUnknownInvoice = errors.New("sandbox: unknown invoice link")
	// ErrPreCheckoutTimeout means the bot did not answer the pre-checkout
	// query within Config.PreCheckoutTimeout; no payment was made.
	ErrPreCheckoutTimeout = errors.New("sandbox: pre-checkout query not answered in time")
	// ErrDeclined matches (errors.Is) every *DeclinedError.
	ErrDeclined = errors.New("sandbox: payment declined by the bot")
	// ErrUnknownSubscription means the charge id is not the first charge of
	// a subscription paid in this sandbox.
	ErrUnknownSubscription = errors.New("sandbox: unknown subscription")
	// ErrSubscriptionCanceled means the subscription is canceled (by the user
	// or the bot), so it cannot renew, fail or be canceled again by the user.
	ErrSubscriptionCanceled = errors.New("sandbox: subscription is canceled")
	// ErrSubscriptionNotCanceled means Reactivate was called on a
	// subscription the user has not canceled.
	ErrSubscriptionNotCanceled = errors.New("sandbox: subscription is not canceled by the user")
	// ErrCanceledByBot means the bot canceled the subscription with
	// editUserStarSubscription; only the bot can undo that.
	ErrCanceledByBot = errors.New("sandbox: subscription was canceled by the bot")
)

// DeclinedError is returned by Pay when the bot answered the pre-checkout
// query with ok=false. Message is the bot's error_message, the text
// Telegram would show the user.
type DeclinedError struct {
	Message string
}

func (e *DeclinedError) Error() string { return ErrDeclined.Error() + ": " + e.Message }

// Is makes errors.Is(err, ErrDeclined) true.
func (e *DeclinedError) Is(target error) bool { return target == ErrDeclined }
