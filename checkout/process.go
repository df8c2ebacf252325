package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
)

// Process decodes one update, as received from Telegram, and handles it
// (see ProcessUpdate). Input that is not an update is logged and ignored:
// delivering it again would not help.
func (p *Processor) Process(ctx context.Context, raw []byte) error {
	u, err := botapi.DecodeUpdate(raw)
	if err != nil {
		p.log.WarnContext(ctx, "checkout: ignoring malformed update", slog.String("error", err.Error()))
		return nil
	}
	return p.ProcessUpdate(ctx, u)
}

// ProcessUpdate handles one update: pre-checkout queries are answered,
// successful and refunded payments and subscription changes are applied to
// the store (exactly once per charge), /paysupport and /terms are answered,
// and anything else goes to Config.OnUpdate.
//
// It returns an error wrapping ErrTransient when the update should be
// delivered again (store unreachable, Bot API unavailable, context ended);
// permanent problems (a payload not ours, a product gone, a refusal) are
// logged and return nil.
func (p *Processor) ProcessUpdate(ctx context.Context, u botapi.Update) error {
	switch {
	case u.PreCheckoutQuery != nil:
		return p.handlePreCheckout(ctx, u)
	case u.Message != nil && u.Message.SuccessfulPayment != nil:
		ctx, cancel := writeContext(ctx)
		defer cancel()
		return p.handleSuccessfulPayment(ctx, u)
	case u.Message != nil && u.Message.RefundedPayment != nil:
		ctx, cancel := writeContext(ctx)
		defer cancel()
		return p.handleRefundedPayment(ctx, u.Message)
	case u.Subscription != nil:
		ctx, cancel := writeContext(ctx)
		defer cancel()
		return p.handleSubscription(ctx, u)
	case u.Message != nil:
		if text, ok := p.commandReply(u.Message); ok {
			return p.reply(ctx, u.Message, text)
		}
	}
	return p.passOn(ctx, u)
}

// writeTimeout bounds the store writes of one update.
const writeTimeout = 10 * time.Second

// writeContext is the context of the store write (and the events) of an
// update: ctx's values, but not its cancellation. A caller going away
// (Telegram closing the webhook connection, a poller shutting down) could
// otherwise cut the write after Redis ran the script but before its reply
// arrived: the update would be answered 5xx, its redelivery found to be a
// duplicate, and its event never emitted.
func writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
}

// passOn hands u to Config.OnUpdate, keeping only transient errors.
func (p *Processor) passOn(ctx context.Context, u botapi.Update) error {
	if p.cfg.OnUpdate == nil {
		p.log.DebugContext(ctx, "checkout: ignoring update", slog.Int64("update_id", u.UpdateID), slog.String("kind", u.Kind()))
		return nil
	}
	err := p.cfg.OnUpdate(ctx, u)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrTransient) {
		return err
	}
	p.log.ErrorContext(ctx, "checkout: OnUpdate failed", slog.Int64("update_id", u.UpdateID), slog.String("error", err.Error()))
	return nil
}

// commandReply returns the configured text for /paysupport and /terms
// (also /paysupport@botname and with arguments).
func (p *Processor) commandReply(m *botapi.Message) (string, bool) {
	if !strings.HasPrefix(m.Text, "/") {
		return "", false
	}
	cmd, _, _ := strings.Cut(m.Text, " ")
	cmd, _, _ = strings.Cut(cmd, "\n")
	cmd, _, _ = strings.Cut(cmd, "@")
	switch strings.ToLower(cmd) {
	case "/paysupport":
		return p.cfg.PaySupportText, true
	case "/terms":
		return p.cfg.TermsText, true
	}
	return "", false
}

func (p *Processor) reply(ctx context.Context, m *botapi.Message, text string) error {
	_, err := p.cfg.Bot.SendMessage(ctx, botapi.SendMessageParams{
		ChatID: m.Chat.ID, MessageThreadID: m.MessageThreadID, Text: text,
	})
	return p.botFailure(ctx, "sendMessage", err)
}

// emit hands the events of a change to Config.OnEvent; a duplicate has none.
func (p *Processor) emit(ctx context.Context, ch entitlements.Change) {
	for _, e := range ch.Events {
		// LogAttrs: no boxing of each attribute into an any.
		p.log.LogAttrs(ctx, slog.LevelInfo, eventMessage(e.Type), slog.Int64("user_id", e.UserID),
			slog.String("product_id", e.ProductID), slog.Int64("version", e.Version))
		if p.cfg.OnEvent != nil {
			p.cfg.OnEvent(ctx, e)
		}
	}
}

// eventMessage is the log message of an event: a constant for the known
// types, so that logging one builds no string.
func eventMessage(t entitlements.EventType) string {
	switch t {
	case entitlements.EventPurchased:
		return "checkout: purchased"
	case entitlements.EventRenewed:
		return "checkout: renewed"
	case entitlements.EventCanceled:
		return "checkout: canceled"
	case entitlements.EventReactivated:
		return "checkout: reactivated"
	case entitlements.EventRenewalFailed:
		return "checkout: renewal_failed"
	case entitlements.EventRefunded:
		return "checkout: refunded"
	case entitlements.EventGranted:
		return "checkout: granted"
	case entitlements.EventRevoked:
		return "checkout: revoked"
	}
	return "checkout: " + string(t)
}

// storeFailure classifies a store error for an update: nil for the named
// "nothing to do" errors and for corrupt data (retrying cannot help, and a
// failing update would block the user's later ones), ErrTransient for the
// rest (unreachable store, context ended).
func (p *Processor) storeFailure(ctx context.Context, op string, userID int64, err error) error {
	if err == nil {
		return nil
	}
	attrs := []any{slog.String("op", op), slog.Int64("user_id", userID), slog.String("error", err.Error())}
	if errors.Is(err, entitlements.ErrInvalid) || errors.Is(err, entitlements.ErrCorrupt) {
		p.log.ErrorContext(ctx, "checkout: store refused the update; it is dropped (Reconcile can repair)", attrs...)
		return nil
	}
	p.log.WarnContext(ctx, "checkout: store unavailable; the update will be retried", attrs...)
	return fmt.Errorf("%w: %s: %w", ErrTransient, op, err)
}

// botFailure classifies a Bot API error: transient for 5xx, 429, transport
// failures and an ended context; logged and dropped otherwise.
func (p *Processor) botFailure(ctx context.Context, method string, err error) error {
	if err == nil {
		return nil
	}
	if transientBotError(err) {
		p.log.WarnContext(ctx, "checkout: Bot API unavailable; the update will be retried",
			slog.String("method", method), slog.String("error", err.Error()))
		return fmt.Errorf("%w: %w", ErrTransient, err)
	}
	p.log.ErrorContext(ctx, "checkout: Bot API refused a call", slog.String("method", method), slog.String("error", err.Error()))
	return nil
}

// transientBotError reports whether a Bot API call may succeed if retried.
func transientBotError(err error) bool {
	if e, ok := errors.AsType[*botapi.Error](err); ok {
		return e.Code >= http.StatusInternalServerError || e.Code == http.StatusTooManyRequests
	}
	return true // transport failure or ended context
}
