package checkout

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/invoice"
)

// Defaults of Config.
const (
	// DefaultPreCheckoutBudget bounds the handling of a pre-checkout query.
	// Telegram cancels the checkout when no answer arrives within 10 s.
	DefaultPreCheckoutBudget = 5 * time.Second
	// DefaultMaxBodyBytes bounds a webhook request body.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultDuplicateCacheSize is how many recorded payments a Processor
	// remembers to acknowledge their duplicates without a store call.
	DefaultDuplicateCacheSize = 100_000
	// DefaultPaySupportText answers /paysupport, which Telegram requires.
	DefaultPaySupportText = "Payment support: tell us in this chat what went wrong with your purchase " +
		"(the date and what you bought) and we will help, refunding if we cannot deliver. " +
		"If we do not resolve it, you can contact Telegram at https://t.me/BotFather?start=starsdispute."
	// DefaultTermsText answers /terms.
	DefaultTermsText = "Terms: purchases are paid in Telegram Stars and give access to digital features of this app. " +
		"Subscriptions renew every 30 days until cancelled; cancelling keeps access until the end of the paid period. " +
		"Use /paysupport for any problem with a payment."
)

// Bot is the part of the Bot API the processor calls; *botapi.Client
// implements it.
type Bot interface {
	AnswerPreCheckoutQuery(ctx context.Context, p botapi.AnswerPreCheckoutQueryParams) error
	RefundStarPayment(ctx context.Context, userID int64, chargeID string) error
	EditUserStarSubscription(ctx context.Context, userID int64, chargeID string, isCanceled bool) error
	GetStarTransactions(ctx context.Context, offset, limit int) (botapi.StarTransactions, error)
	GetUpdates(ctx context.Context, p botapi.GetUpdatesParams) ([]botapi.Update, error)
	SetWebhook(ctx context.Context, p botapi.SetWebhookParams) error
	SendMessage(ctx context.Context, p botapi.SendMessageParams) (botapi.Message, error)
}

var _ Bot = (*botapi.Client)(nil)

// Config configures a Processor.
type Config struct {
	// Bot calls the Bot API.
	// Required.
	Bot Bot
	// Catalog has the products for sale.
	// Required.
	Catalog *entitlements.Catalog
	// Store keeps the ledger and entitlements. Pass Checker.Store() so that
	// this instance's caches see each change at once.
	// Required.
	Store entitlements.Store
	// Payloads decodes and authenticates invoice payloads.
	// Required.
	Payloads *invoice.Codec
	// WebhookSecret is the secret_token given to setWebhook, 1-256 of
	// A-Z a-z 0-9 _ -. Without it the webhook handler refuses every request.
	// Required for Webhook and SetWebhook.
	WebhookSecret string
	// PaySupportText answers /paysupport (Telegram requires the command).
	// Optional. Default value DefaultPaySupportText.
	PaySupportText string
	// TermsText answers /terms.
	// Optional. Default value DefaultTermsText.
	TermsText string
	// OnEvent is called once per change of a user's entitlements (purchased,
	// renewed, canceled, reactivated, renewal_failed, refunded), on the
	// instance that made the change; never for a duplicate delivery. It runs
	// synchronously: keep it short.
	// Optional. Default value nil.
	OnEvent func(ctx context.Context, e entitlements.Event)
	// OnUpdate gets every update the processor does not handle itself
	// (other messages, callback queries, …), and payments and checkouts of
	// invoices whose payload starsgate did not issue. Return an error
	// wrapping ErrTransient to have the update delivered again; other errors
	// are logged.
	// Optional. Default value nil (such updates are ignored).
	OnUpdate func(ctx context.Context, u botapi.Update) error
	// PreCheckoutBudget bounds the handling of a pre-checkout query, the
	// answer included. Telegram's deadline is 10 s.
	// Optional. Default value 5s.
	PreCheckoutBudget time.Duration
	// AnswerInWebhookResponse makes the webhook answer pre-checkout queries
	// in its HTTP response body, saving a round trip; Telegram never reports
	// whether that call succeeded.
	// Optional. Default value false.
	AnswerInWebhookResponse bool
	// MaxBodyBytes bounds a webhook request body; a larger one is answered
	// 413 and not processed.
	// Optional. Default value 1 MiB.
	MaxBodyBytes int64
	// DuplicateCacheSize bounds the set of payments (payer and charge ID)
	// this processor saw the store confirm as recorded. A successful_payment
	// found there is a duplicate delivery: it is acknowledged without a
	// store call (a charge ID once recorded stays recorded; a refund keeps
	// the record), with no event. Any other payment goes to the store, which
	// stays the source of truth across instances. When full, the oldest
	// payment is forgotten. An entry costs about 80 bytes plus the charge
	// ID's length (BenchmarkDuplicateCacheMemory: ≈ 21 MB when full at the
	// default with 128-byte IDs; it fills only as payments arrive).
	// If the store loses data, duplicates of payments held here are not
	// recorded again: Reconcile, which always reads the store, repairs them
	// with the rest. Negative disables the set.
	// Optional. Default value 100000 (DefaultDuplicateCacheSize).
	DuplicateCacheSize int
	// Now is the clock used for entitlement checks and as the time of
	// refunds and failed renewals.
	// Optional. Default value time.Now.
	Now func() time.Time
	// Logger receives what the processor does and ignores. It never logs the
	// bot token or the webhook secret.
	// Optional. Default value slog.Default().
	Logger *slog.Logger
}

// Processor handles payment updates. It is safe for concurrent use, and
// several processors (one per app instance) may share one store.
type Processor struct {
	cfg  Config
	log  *slog.Logger
	seen *seenCharges // nil when Config.DuplicateCacheSize < 0
}

// New checks cfg, fills its defaults and returns a Processor.
func New(cfg Config) (*Processor, error) {
	switch {
	case cfg.Bot == nil:
		return nil, fmt.Errorf("%w: Bot is required", ErrInvalidConfig)
	case cfg.Catalog == nil:
		return nil, fmt.Errorf("%w: Catalog is required", ErrInvalidConfig)
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: Store is required", ErrInvalidConfig)
	case cfg.Payloads == nil:
		return nil, fmt.Errorf("%w: Payloads is required", ErrInvalidConfig)
	case cfg.WebhookSecret != "" && !validSecret(cfg.WebhookSecret):
		return nil, fmt.Errorf("%w: WebhookSecret must be 1-256 of A-Z a-z 0-9 _ -", ErrInvalidConfig)
	case cfg.PreCheckoutBudget < 0 || cfg.PreCheckoutBudget > 10*time.Second:
		return nil, fmt.Errorf("%w: PreCheckoutBudget must be at most 10s, Telegram's deadline", ErrInvalidConfig)
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("%w: MaxBodyBytes must not be negative", ErrInvalidConfig)
	}
	if cfg.PaySupportText == "" {
		cfg.PaySupportText = DefaultPaySupportText
	}
	if cfg.TermsText == "" {
		cfg.TermsText = DefaultTermsText
	}
	if cfg.PreCheckoutBudget == 0 {
		cfg.PreCheckoutBudget = DefaultPreCheckoutBudget
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Processor{cfg: cfg, log: cfg.Logger}
	if size := cmp.Or(cfg.DuplicateCacheSize, DefaultDuplicateCacheSize); size > 0 {
		p.seen = newSeenCharges(size)
	}
	return p, nil
}

// validSecret reports whether s is a valid setWebhook secret_token.
func validSecret(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}
