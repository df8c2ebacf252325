package starsgate

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
)

// Defaults of Config.
const (
	// DefaultInvoiceRateLimit is how many invoices one user may create per
	// minute.
	DefaultInvoiceRateLimit = 10
	// DefaultMeTimeout is the long poll of GET /me when after_version is
	// given without a timeout.
	DefaultMeTimeout = 25 * time.Second
	// MaxMeTimeout caps the long poll of GET /me.
	MaxMeTimeout = 60 * time.Second
)

// Config configures a Gate. Only BotToken and Catalog are required.
type Config struct {
	// BotToken is the bot's token from @BotFather. It authenticates
	// initData, calls the Bot API and keys the invoice payloads. It never
	// appears in logs or errors.
	// Required.
	BotToken string

	// PreviousBotTokens are tokens the bot had before BotToken (after a
	// revoke in @BotFather). Invoice payloads are signed with a key derived
	// from the token and subscriptions renew with their original payload,
	// so renewals of subscriptions bought under an old token are recognised
	// only while that token is listed here. They are used for nothing else.
	// Optional. Default value none.
	PreviousBotTokens []string

	// Catalog is what is for sale (entitlements.NewCatalog or
	// entitlements.LoadCatalogFile).
	// Required.
	Catalog *entitlements.Catalog

	// Store keeps the ledger, entitlements and credits.
	// Optional. Default value: a Redis store on Redis when Redis is set,
	// else an in-memory store (logged as a warning: data dies with the
	// process and is not shared between instances).
	Store entitlements.Store

	// Redis is used for the store (when Store is nil) and for the invoice
	// rate limiter, shared by every instance. Start checks that its
	// maxmemory-policy cannot evict the store's keys.
	// Optional. Default value nil: memory store and per-process limiter.
	Redis redis.UniversalClient

	// RedisPrefix starts every Redis key (store and rate limiter) and the
	// notification channel; give each app (or test) sharing a Redis its own.
	// Optional. Default value "sg:".
	RedisPrefix string

	// WebhookSecret is the secret_token given to setWebhook and checked on
	// every webhook request (X-Telegram-Bot-Api-Secret-Token), 1-256
	// characters of A-Z a-z 0-9 _ -.
	// Optional. Default value "": no POST /webhook route (use Poll).
	WebhookSecret string

	// APIURL is the Bot API server (a local telegram-bot-api, the sandbox).
	// Optional. Default value "https://api.telegram.org".
	APIURL string

	// TestEnvironment uses Telegram's test environment
	// (/bot<token>/test/<method>).
	// Optional. Default value false.
	TestEnvironment bool

	// InitDataMaxAge is how long initData is accepted after its auth_date.
	// Optional. Default value 24h.
	InitDataMaxAge time.Duration

	// PaySupportText answers /paysupport (Telegram requires bots that take
	// payments to answer it); TermsText answers /terms.
	// Optional. Default values checkout.DefaultPaySupportText and
	// checkout.DefaultTermsText.
	PaySupportText, TermsText string

	// OnEvent is called once per change of a user's entitlements
	// (purchased, renewed, canceled, refunded, granted, …), after it is
	// stored. Keep it fast or hand the event to a queue.
	// Optional. Default value nil.
	OnEvent func(ctx context.Context, e entitlements.Event)

	// OnUpdate receives the updates that are not about payments, so one
	// webhook can serve the app's own bot logic. A returned error is
	// logged.
	// Optional. Default value nil: such updates are ignored.
	OnUpdate func(ctx context.Context, u botapi.Update) error

	// InvoiceRateLimit is how many invoices one user may create per minute
	// (429 rate_limited beyond), shared by all instances when Redis is set.
	// Optional. Default value 10.
	InvoiceRateLimit int

	// CacheTTL is how long the entitlement cache trusts a user's state
	// without an invalidation (changes invalidate it on every instance at
	// once; the TTL only bounds a missed notification).
	// Optional. Default value 30s.
	CacheTTL time.Duration

	// CacheSize bounds how many users' states are cached.
	// Optional. Default value 100000.
	CacheSize int

	// Logger receives what the gate and its parts log.
	// Optional. Default value slog.Default().
	Logger *slog.Logger

	// Now is the clock for initData age, entitlement expiry and refunds;
	// tests inject one.
	// Optional. Default value time.Now.
	Now func() time.Time
}

var (
	tokenPattern  = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{1,256}$`)
	secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

// validate reports every problem of cfg.
func (cfg *Config) validate() error {
	var problems []error
	switch {
	case cfg.BotToken == "":
		problems = append(problems, ErrNoBotToken)
	case !tokenPattern.MatchString(cfg.BotToken):
		problems = append(problems, ErrInvalidBotToken)
	}
	for _, old := range cfg.PreviousBotTokens {
		if !tokenPattern.MatchString(old) {
			problems = append(problems, fmt.Errorf("%w (in PreviousBotTokens)", ErrInvalidBotToken))
			break
		}
	}
	if cfg.Catalog == nil {
		problems = append(problems, ErrNoCatalog)
	}
	if cfg.WebhookSecret != "" && !secretPattern.MatchString(cfg.WebhookSecret) {
		problems = append(problems, ErrInvalidWebhookSecret)
	}
	if cfg.APIURL != "" {
		// botapi validates the URL; a placeholder token keeps the real one
		// out of any error text.
		if _, err := botapi.New(botapi.Config{Token: "1:x", BaseURL: cfg.APIURL}); err != nil {
			problems = append(problems, fmt.Errorf("%w (got %q)", ErrInvalidAPIURL, cfg.APIURL))
		}
	}
	if strings.ContainsAny(cfg.RedisPrefix, "{}") {
		problems = append(problems, ErrInvalidRedisPrefix)
	}
	for _, d := range []struct {
		name string
		v    int64
	}{
		{"InitDataMaxAge", int64(cfg.InitDataMaxAge)},
		{"CacheTTL", int64(cfg.CacheTTL)},
		{"CacheSize", int64(cfg.CacheSize)},
		{"InvoiceRateLimit", int64(cfg.InvoiceRateLimit)},
	} {
		if d.v < 0 {
			problems = append(problems, fmt.Errorf("%w: %s is %d", ErrNegative, d.name, d.v))
		}
	}
	if len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}
