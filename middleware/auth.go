package middleware

import (
	"cmp"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Defaults of AuthConfig.
const (
	// DefaultMaxAge is how long init data is accepted after its auth_date
	// (the value init-data-golang's README and @telegram-apps/init-data-node
	// use).
	DefaultMaxAge = 24 * time.Hour
	// DefaultFutureSkew is how far auth_date may be ahead of our clock:
	// Telegram's servers stamp it, so only clock drift between them and us
	// is tolerated.
	DefaultFutureSkew = time.Minute
	// DefaultCacheSize is how many verified init data Auth remembers.
	DefaultCacheSize = 100_000
)

// AuthConfig configures Auth: initData authentication from the header
// "Authorization: tma <raw initData>" (SPEC §4, research doc §4.4).
type AuthConfig struct {
	// Skipper, when it returns true, lets the request through
	// unauthenticated. echo's middleware.Skipper values can be assigned.
	// (CORS preflight requests carry no Authorization header: run echo's
	// CORS middleware before Auth.)
	// Optional. Default value: never skip.
	Skipper func(c echo.Context) bool

	// BotToken is the bot's token; the init data hash must be its
	// HMAC-SHA256 (research doc §4.1). Only the derived key is kept; the
	// token never appears in logs or errors.
	// Required, unless ThirdParty is set (then an empty token means "check
	// the Ed25519 signature only").
	BotToken string

	// ThirdParty also requires Telegram's Ed25519 signature of the init
	// data for BotID (research doc §4.3). With BotToken empty it is the only
	// check, which lets a service verify init data of a bot whose token it
	// does not hold.
	// Optional. Default value false.
	ThirdParty bool

	// BotID is the bot's ID for the Ed25519 check.
	// Optional. Default value: the number before ":" in BotToken. Required
	// when ThirdParty is set and BotToken is empty.
	BotID int64

	// TestEnvironment picks Telegram's test-environment Ed25519 key instead
	// of the production one. Only used with ThirdParty.
	// Optional. Default value false.
	TestEnvironment bool

	// MaxAge is how long init data is accepted after its auth_date.
	// Optional. Default value 24h (DefaultMaxAge).
	MaxAge time.Duration

	// FutureSkew is how far in the future auth_date may be.
	// Optional. Default value 1m (DefaultFutureSkew).
	FutureSkew time.Duration

	// CacheSize bounds the verified-init-data cache. Repeats of init data
	// already verified skip the HMAC, the Ed25519 check and the parsing,
	// until auth_date + MaxAge. An entry costs about the size of the init
	// data plus 500 bytes (≈ 1 KiB typical, so ≈ 100 MB when full at the
	// default). Negative disables the cache.
	// Optional. Default value 100000 (DefaultCacheSize).
	CacheSize int

	// Now is the clock for auth_date checks.
	// Optional. Default value time.Now.
	Now func() time.Time

	// ErrorHandler answers a rejected request; err is an *AuthError. Its
	// return value is returned from the middleware; the handler is not
	// called.
	// Optional. Default value DefaultErrorHandler (401, SPEC body).
	ErrorHandler func(c echo.Context, err error) error

	// Logger receives each rejection's reason at debug level (never the raw
	// init data).
	// Optional. Default value slog.Default().
	Logger *slog.Logger
}

// ToMiddleware returns the authentication middleware, or an error wrapping
// ErrInvalidConfig.
//
// On success the verified init data is available to the rest of the chain
// through InitDataFrom, UserFrom, UserID and their …FromContext forms. Every
// rejection goes to ErrorHandler as an *AuthError wrapping ErrMissing,
// ErrMalformed, ErrSignatureInvalid, ErrThirdPartyInvalid, ErrExpired,
// ErrFuture or ErrNoUser.
//
// Security notes: the hash is checked by computing the HMAC here, with the
// key HMAC("WebAppData", token) derived once, and comparing bytes with
// hmac.Equal (constant time) — init-data-golang's Validate compares with !=,
// so it is used only for the Ed25519 check (which involves no secret).
// Both signatures are checked before auth_date, so forged data is reported
// as forged, never as expired.
func (cfg AuthConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	v, err := cfg.newVerifier()
	if err != nil {
		return nil, err
	}
	skipper := cfg.Skipper
	errorHandler := cfg.ErrorHandler
	if errorHandler == nil {
		errorHandler = DefaultErrorHandler
	}
	logger := cfg.Logger
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skipper != nil && skipper(c) {
				return next(c)
			}
			d, err := v.verifyHeader(c.Request().Header.Get(echo.HeaderAuthorization))
			if err != nil {
				logDebug(logger, c, "starsgate: init data rejected", slog.Any("reason", err))
				return errorHandler(c, &AuthError{Err: err})
			}
			attach(c, d)
			return next(c)
		}
	}, nil
}

// AuthWithConfig is ToMiddleware that panics on an invalid config, for use
// while routes are set up.
func AuthWithConfig(cfg AuthConfig) echo.MiddlewareFunc {
	mw, err := cfg.ToMiddleware()
	if err != nil {
		panic(err)
	}
	return mw
}

func (cfg AuthConfig) newVerifier() (*verifier, error) {
	if cfg.BotToken == "" && !cfg.ThirdParty {
		return nil, configError("BotToken is required (or ThirdParty with BotID)")
	}
	if cfg.MaxAge < 0 || cfg.FutureSkew < 0 {
		return nil, configError("MaxAge and FutureSkew must not be negative")
	}
	if cfg.BotID < 0 {
		return nil, configError("BotID must be positive")
	}
	tokenID, tokenHasID := botIDOf(cfg.BotToken)
	botID := cfg.BotID
	if botID == 0 {
		botID = tokenID
	} else if tokenHasID && tokenID != botID {
		return nil, configError("BotID %d is not the ID in BotToken", botID)
	}
	if cfg.ThirdParty && botID == 0 {
		return nil, configError("ThirdParty needs BotID (or a BotToken of the form <id>:<secret>)")
	}
	v := &verifier{
		botID:      botID,
		thirdParty: cfg.ThirdParty,
		testEnv:    cfg.TestEnvironment,
		maxAge:     cmp.Or(cfg.MaxAge, DefaultMaxAge),
		futureSkew: cmp.Or(cfg.FutureSkew, DefaultFutureSkew),
		now:        cfg.Now,
	}
	if cfg.BotToken != "" {
		v.secretKey = secretKeyFor(cfg.BotToken)
	}
	if v.now == nil {
		v.now = time.Now
	}
	if size := cmp.Or(cfg.CacheSize, DefaultCacheSize); size > 0 {
		v.cache = newVerifiedCache(size)
	}
	return v, nil
}

// botIDOf returns the bot ID of a token "<id>:<secret>".
func botIDOf(token string) (int64, bool) {
	id, _, ok := strings.Cut(token, ":")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0
}
