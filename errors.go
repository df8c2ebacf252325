package starsgate

import (
	"errors"
	"strings"
)

// Configuration errors. New reports every problem it finds at once, in a
// *ConfigError whose errors.Is matches ErrInvalidConfig and each problem's
// sentinel below. None of them ever carries the bot token.
var (
	// ErrInvalidConfig matches every error New returns for a bad Config.
	ErrInvalidConfig = errors.New("starsgate: invalid config")
	// ErrNoBotToken: Config.BotToken is empty.
	ErrNoBotToken = errors.New("starsgate: BotToken is required")
	// ErrInvalidBotToken: Config.BotToken is not "<bot id>:<secret>".
	ErrInvalidBotToken = errors.New(`starsgate: BotToken must look like "123456:ABC-def_ghi" (bot id, colon, secret)`)
	// ErrNoCatalog: Config.Catalog is nil.
	ErrNoCatalog = errors.New("starsgate: Catalog is required")
	// ErrInvalidWebhookSecret: Config.WebhookSecret is not 1-256 characters
	// of A-Z a-z 0-9 _ - (Telegram's rule for secret_token).
	ErrInvalidWebhookSecret = errors.New("starsgate: WebhookSecret must be 1-256 characters of A-Z a-z 0-9 _ -")
	// ErrInvalidAPIURL: Config.APIURL is not an absolute http(s) URL.
	ErrInvalidAPIURL = errors.New("starsgate: APIURL must be an absolute http(s) URL")
	// ErrInvalidRedisPrefix: Config.RedisPrefix contains '{' or '}'.
	ErrInvalidRedisPrefix = errors.New("starsgate: RedisPrefix must not contain '{' or '}'")
	// ErrNegative: a duration or size in Config is negative.
	ErrNegative = errors.New("starsgate: negative duration or size")
	// ErrDependency: a package the facade wires refused its part of the
	// configuration (the message says which).
	ErrDependency = errors.New("starsgate: component set-up failed")

	// ErrNoWebhookSecret: SetWebhook or the webhook route need
	// Config.WebhookSecret.
	ErrNoWebhookSecret = errors.New("starsgate: WebhookSecret is required for the webhook")
	// ErrUnknownProduct: an operation named a product not in the catalog.
	ErrUnknownProduct = errors.New("starsgate: unknown product")
)

// ConfigError lists every problem New found in a Config.
type ConfigError struct {
	Problems []error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidConfig.Error())
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(strings.TrimPrefix(p.Error(), "starsgate: "))
	}
	return b.String()
}

// Unwrap makes errors.Is match ErrInvalidConfig and every problem.
func (e *ConfigError) Unwrap() []error {
	return append([]error{ErrInvalidConfig}, e.Problems...)
}
