package middleware

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/entitlements"
)

// Checker answers whether a user has a feature now. *entitlements.Checker
// implements it (cached, invalidated on change). An error means "cannot
// tell": the guard answers 503, never 402.
type Checker interface {
	Has(ctx context.Context, userID int64, feature string) (bool, error)
}

// Spender takes and gives back credits. Every entitlements.Store implements
// it (use *entitlements.Checker's Store() so that its cache hears of the
// change). Spend returns an *entitlements.InsufficientCreditsError when the
// balance is short; any other error is a store failure.
type Spender interface {
	Spend(ctx context.Context, userID int64, credit string, n int64) (int64, error)
	AddCredits(ctx context.Context, userID int64, credit string, n int64) (int64, error)
}

// Catalog names the products to offer in a 402 body. *entitlements.Catalog
// implements it. The returned slices are not modified.
type Catalog interface {
	ProductsGranting(feature string) []string
	ProductsCrediting(credit string) []string
}

// refundTimeout bounds the give-back of credits after a failed handler; it
// runs even when the request's context is done.
const refundTimeout = 5 * time.Second

// EntitlementConfig configures an entitlement guard: the request goes on
// only when the authenticated user has the feature(s).
type EntitlementConfig struct {
	// Skipper, when it returns true, lets the request through unchecked.
	// Optional. Default value: never skip.
	Skipper func(c echo.Context) bool

	// Checker answers the entitlement question.
	// Required.
	Checker Checker

	// Features to check; none may be empty.
	// Required (at least one).
	Features []string

	// All requires every one of Features; otherwise any one suffices.
	// Optional. Default value false (any of).
	All bool

	// Catalog lists the products that grant a feature, for the 402 body.
	// Optional. Default value nil: "products" is [].
	Catalog Catalog

	// ErrorHandler answers a refused request; err is an *AuthError
	// (ErrNotAuthenticated: no Auth before the guard), a
	// *PaymentRequiredError or an *UnavailableError.
	// Optional. Default value DefaultErrorHandler.
	ErrorHandler func(c echo.Context, err error) error

	// Logger receives store failures (warn) and unauthenticated requests
	// (debug).
	// Optional. Default value slog.Default().
	Logger *slog.Logger
}

// ToMiddleware returns the guard, or an error wrapping ErrInvalidConfig.
//
// With several features and All false, the request goes on as soon as one
// is active; the 402 names the first feature listed and the products that
// grant any of them. With All true, the 402 names the first missing feature.
// A store error answers 503 unless the other answers already decide: a
// feature known active (any of) or known missing (all of).
func (cfg EntitlementConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	if cfg.Checker == nil {
		return nil, configError("EntitlementConfig.Checker is required")
	}
	if len(cfg.Features) == 0 || slices.Contains(cfg.Features, "") {
		return nil, configError("EntitlementConfig.Features needs at least one non-empty feature")
	}
	features := slices.Clone(cfg.Features)
	checker, catalog, all, skipper, logger := cfg.Checker, cfg.Catalog, cfg.All, cfg.Skipper, cfg.Logger
	errorHandler := cfg.ErrorHandler
	if errorHandler == nil {
		errorHandler = DefaultErrorHandler
	}

	// check returns the feature to report as missing ("" when allowed), or
	// the store error that kept it from deciding.
	check := func(ctx context.Context, userID int64) (string, error) {
		var storeErr error
		for _, f := range features {
			has, err := checker.Has(ctx, userID, f)
			switch {
			case err != nil:
				storeErr = err
			case has && !all:
				return "", nil
			case !has && all:
				return f, nil
			}
		}
		switch {
		case storeErr != nil:
			return "", storeErr
		case all:
			return "", nil
		}
		return features[0], nil
	}
	products := func(missing string) []string {
		if catalog == nil {
			return []string{}
		}
		if all || len(features) == 1 {
			return nonNil(slices.Clone(catalog.ProductsGranting(missing)))
		}
		var ids []string
		for _, f := range features {
			for _, id := range catalog.ProductsGranting(f) {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		return nonNil(ids)
	}

	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skipper != nil && skipper(c) {
				return next(c)
			}
			ctx := c.Request().Context()
			d, ok := InitDataFromContext(ctx)
			if !ok {
				logDebug(logger, c, "starsgate: guard on an unauthenticated request")
				return errorHandler(c, &AuthError{Err: ErrNotAuthenticated})
			}
			missing, err := check(ctx, d.User.ID)
			if err != nil {
				logWarn(logger, c, "starsgate: entitlement check failed",
					slog.Int64("user_id", d.User.ID), slog.String("features", strings.Join(features, ",")), slog.Any("error", err))
				return errorHandler(c, &UnavailableError{Err: err})
			}
			if missing != "" {
				return errorHandler(c, &PaymentRequiredError{Feature: missing, Products: products(missing)})
			}
			return next(c)
		}
	}, nil
}

// SpendConfig configures a spend guard: Amount of Credit is taken from the
// authenticated user's balance, atomically, before the handler runs.
type SpendConfig struct {
	// Skipper, when it returns true, lets the request through without
	// spending.
	// Optional. Default value: never skip.
	Skipper func(c echo.Context) bool

	// Spender holds the balances.
	// Required.
	Spender Spender

	// Credit is the balance to spend from.
	// Required.
	Credit string

	// Amount to spend per request.
	// Optional. Default value 1.
	Amount int64

	// RefundOnError gives the amount back when the handler returns an error
	// or panics (whatever the error: the request did not deliver). The
	// give-back survives the request's cancellation and is bounded by 5s;
	// its failure is logged at error level.
	// Optional. Default value false.
	RefundOnError bool

	// Catalog lists the products that add to Credit, for the 402 body.
	// Optional. Default value nil: "products" is [].
	Catalog Catalog

	// ErrorHandler answers a refused request; err is an *AuthError
	// (ErrNotAuthenticated), an *InsufficientCreditsError or an
	// *UnavailableError.
	// Optional. Default value DefaultErrorHandler.
	ErrorHandler func(c echo.Context, err error) error

	// Logger receives store failures (warn), failed give-backs (error) and
	// unauthenticated requests (debug).
	// Optional. Default value slog.Default().
	Logger *slog.Logger
}

// ToMiddleware returns the guard, or an error wrapping ErrInvalidConfig.
// The handler can read the balance left with BalanceAfterSpend.
func (cfg SpendConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	if cfg.Spender == nil {
		return nil, configError("SpendConfig.Spender is required")
	}
	if cfg.Credit == "" {
		return nil, configError("SpendConfig.Credit is required")
	}
	if cfg.Amount < 0 {
		return nil, configError("SpendConfig.Amount must be positive")
	}
	spender, credit, amount, refund := cfg.Spender, cfg.Credit, max(cfg.Amount, 1), cfg.RefundOnError
	catalog, skipper, logger := cfg.Catalog, cfg.Skipper, cfg.Logger
	balanceKey := balanceKeyPrefix + credit
	errorHandler := cfg.ErrorHandler
	if errorHandler == nil {
		errorHandler = DefaultErrorHandler
	}

	giveBack := func(c echo.Context, userID int64) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), refundTimeout)
		defer cancel()
		if _, err := spender.AddCredits(ctx, userID, credit, amount); err != nil {
			logAt(logger, c, slog.LevelError, "starsgate: could not give back spent credits",
				slog.Int64("user_id", userID), slog.String("credit", credit), slog.Int64("amount", amount), slog.Any("error", err))
		}
	}

	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			if skipper != nil && skipper(c) {
				return next(c)
			}
			ctx := c.Request().Context()
			d, ok := InitDataFromContext(ctx)
			if !ok {
				logDebug(logger, c, "starsgate: guard on an unauthenticated request")
				return errorHandler(c, &AuthError{Err: ErrNotAuthenticated})
			}
			balance, err := spender.Spend(ctx, d.User.ID, credit, amount)
			if short := (*entitlements.InsufficientCreditsError)(nil); errors.As(err, &short) {
				var products []string
				if catalog != nil {
					products = slices.Clone(catalog.ProductsCrediting(credit))
				}
				return errorHandler(c, &InsufficientCreditsError{Credit: credit, Balance: short.Balance, Need: amount, Products: nonNil(products)})
			}
			if err != nil {
				logWarn(logger, c, "starsgate: credit spend failed",
					slog.Int64("user_id", d.User.ID), slog.String("credit", credit), slog.Any("error", err))
				return errorHandler(c, &UnavailableError{Err: err})
			}
			c.Set(balanceKey, balance)
			if !refund {
				return next(c)
			}
			completed := false
			defer func() {
				if !completed || err != nil { // panic, or an error
					giveBack(c, d.User.ID)
				}
			}()
			err = next(c)
			completed = true
			return err
		}
	}, nil
}

const balanceKeyPrefix = "starsgate.balance:"

// BalanceAfterSpend returns the balance of credit left after this request's
// spend guard took its amount.
func BalanceAfterSpend(c echo.Context, credit string) (int64, bool) {
	b, ok := c.Get(balanceKeyPrefix + credit).(int64)
	return b, ok
}

// Guards makes guards that share their dependencies, for route set-up:
//
//	g := sgmw.Guards{Checker: checker, Spender: checker.Store(), Catalog: catalog}
//	api.GET("/premium", h, g.RequireEntitlement("premium"))
//
// Its methods panic on an invalid argument or a missing dependency, as
// echo's …WithConfig functions do; use the Config types' ToMiddleware to get
// an error instead.
type Guards struct {
	Checker       Checker // Required by the Require… methods.
	Spender       Spender // Required by Spend.
	Catalog       Catalog // Optional. Default value nil ("products": []).
	RefundOnError bool    // Optional, for Spend. Default value false.
	// ErrorHandler Optional. Default value DefaultErrorHandler.
	ErrorHandler func(c echo.Context, err error) error
	Logger       *slog.Logger // Optional. Default value slog.Default().
}

// RequireEntitlement lets the request through when the user has feature.
func (g Guards) RequireEntitlement(feature string) echo.MiddlewareFunc {
	return g.require(false, feature)
}

// RequireAny lets the request through when the user has any of features.
func (g Guards) RequireAny(features ...string) echo.MiddlewareFunc {
	return g.require(false, features...)
}

// RequireAll lets the request through when the user has all of features.
func (g Guards) RequireAll(features ...string) echo.MiddlewareFunc {
	return g.require(true, features...)
}

func (g Guards) require(all bool, features ...string) echo.MiddlewareFunc {
	return must(EntitlementConfig{
		Checker: g.Checker, Features: features, All: all, Catalog: g.Catalog,
		ErrorHandler: g.ErrorHandler, Logger: g.Logger,
	}.ToMiddleware())
}

// Spend takes n (≥ 1) of credit from the user before the handler runs.
func (g Guards) Spend(credit string, n int64) echo.MiddlewareFunc {
	if n < 1 {
		panic(configError("Spend amount must be positive"))
	}
	return must(SpendConfig{
		Spender: g.Spender, Credit: credit, Amount: n, RefundOnError: g.RefundOnError, Catalog: g.Catalog,
		ErrorHandler: g.ErrorHandler, Logger: g.Logger,
	}.ToMiddleware())
}

func must(mw echo.MiddlewareFunc, err error) echo.MiddlewareFunc {
	if err != nil {
		panic(err)
	}
	return mw
}
