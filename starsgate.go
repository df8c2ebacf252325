package starsgate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/invoice"
	sgmw "github.com/starsgate/starsgate/middleware"
)

// Gate is a configured starsgate: routes, guards and operations over one
// store, bot and catalog. It is safe for concurrent use.
type Gate struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	catalog *entitlements.Catalog
	// redisStore is set when the gate built a Redis store itself, so Start
	// can check the server's eviction policy.
	redisStore *entitlements.RedisStore
	checker    *entitlements.Checker
	// store is checker.Store(): every write goes through it so that this
	// instance's cache sees its own writes at once.
	store    entitlements.Store
	bot      *botapi.Client
	codec    *invoice.Codec
	limiter  invoice.Limiter
	auth     echo.MiddlewareFunc
	guards   sgmw.Guards
	products []byte // GET /products body, rendered once
	wired
}

// New checks cfg and wires the gate. Every configuration problem is reported
// at once in a *ConfigError (errors.Is(err, ErrInvalidConfig)). It does not
// contact Redis or Telegram: Start does.
func New(cfg Config) (*Gate, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Gate{cfg: cfg, log: cfg.Logger, now: cfg.Now, catalog: cfg.Catalog}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	prefix := cfg.RedisPrefix
	if prefix == "" {
		prefix = entitlements.DefaultRedisPrefix
	}

	store := cfg.Store
	switch {
	case store != nil:
	case cfg.Redis != nil:
		g.redisStore = entitlements.NewRedisStore(cfg.Redis, entitlements.RedisOptions{Prefix: prefix, Logger: g.log})
		store = g.redisStore
	default:
		g.log.Warn("starsgate: no Store or Redis configured, using an in-memory store: payments and entitlements are lost on restart and not shared between instances")
		store = entitlements.NewMemoryStore()
	}

	var err error
	if g.checker, err = entitlements.NewChecker(store, entitlements.CheckerConfig{
		TTL: cfg.CacheTTL, MaxUsers: cfg.CacheSize, Now: g.now, Logger: g.log,
	}); err != nil {
		return nil, dependency("entitlement checker", err)
	}
	g.store = g.checker.Store()

	if g.bot, err = botapi.New(botapi.Config{
		Token: cfg.BotToken, BaseURL: cfg.APIURL, TestEnvironment: cfg.TestEnvironment, Logger: g.log,
	}); err != nil {
		return nil, dependency("Bot API client", err)
	}
	previous := make([][]byte, 0, len(cfg.PreviousBotTokens))
	for _, old := range cfg.PreviousBotTokens {
		previous = append(previous, invoice.KeyFromBotToken(old))
	}
	if g.codec, err = invoice.NewCodec(invoice.KeyFromBotToken(cfg.BotToken), previous...); err != nil {
		return nil, dependency("invoice payload codec", err)
	}
	if g.limiter, err = newLimiter(cfg, prefix, g.now); err != nil {
		return nil, dependency("invoice rate limiter", err)
	}
	if g.auth, err = (sgmw.AuthConfig{
		BotToken: cfg.BotToken, MaxAge: cfg.InitDataMaxAge, Now: g.now, Logger: g.log,
	}).ToMiddleware(); err != nil {
		return nil, dependency("initData authentication", err)
	}
	g.guards = sgmw.Guards{Checker: g.checker, Spender: g.store, Catalog: g.catalog, Logger: g.log}
	if g.products, err = renderProducts(g.catalog); err != nil {
		return nil, dependency("product list", err)
	}
	if err := g.wire(); err != nil {
		return nil, err
	}
	return g, nil
}

func newLimiter(cfg Config, prefix string, now func() time.Time) (invoice.Limiter, error) {
	limit := cfg.InvoiceRateLimit
	if limit == 0 {
		limit = DefaultInvoiceRateLimit
	}
	lc := invoice.LimitConfig{Limit: limit, Period: time.Minute, Prefix: prefix, Now: now}
	if cfg.Redis != nil {
		return invoice.NewRedisLimiter(cfg.Redis, lc)
	}
	return invoice.NewMemoryLimiter(lc)
}

func dependency(what string, err error) error {
	return &ConfigError{Problems: []error{fmt.Errorf("%w: %s: %w", ErrDependency, what, err)}}
}

// Start checks the Redis set-up (when the gate made the Redis store: an
// unreachable Redis is an error, an evicting maxmemory-policy a loud
// warning) and subscribes the entitlement cache to changes made by other
// instances, until ctx ends. Call it once, before serving.
func (g *Gate) Start(ctx context.Context) error {
	if g.redisStore != nil {
		if err := g.redisStore.CheckConfig(ctx); err != nil {
			return fmt.Errorf("starsgate: redis: %w", err)
		}
	}
	if err := g.checker.Start(ctx); err != nil {
		return fmt.Errorf("starsgate: entitlement cache: %w", err)
	}
	return nil
}

// Auth is the initData authentication middleware ("Authorization: tma
// <initData>"); 401 with the SPEC error body when missing or invalid.
// Read the user in handlers with middleware.UserID / UserFrom.
func (g *Gate) Auth() echo.MiddlewareFunc { return g.auth }

// Require lets a request through when the authenticated user has every one
// of features, else 402 payment_required naming the products that grant it
// (503 when the store cannot tell). Put it behind Auth. It panics when
// called without features or with an empty one, at route set-up.
func (g *Gate) Require(features ...string) echo.MiddlewareFunc {
	if len(features) == 1 {
		return g.guards.RequireEntitlement(features[0])
	}
	return g.guards.RequireAll(features...)
}

// RequireAny lets a request through when the user has any of features.
func (g *Gate) RequireAny(features ...string) echo.MiddlewareFunc {
	return g.guards.RequireAny(features...)
}

// Spend takes n of credit from the authenticated user before the handler
// runs, atomically, else 402 insufficient_credits. The handler reads the
// balance left with middleware.BalanceAfterSpend. It panics when n < 1 or
// credit is empty, at route set-up.
func (g *Gate) Spend(credit string, n int64) echo.MiddlewareFunc {
	return g.guards.Spend(credit, n)
}

// Checker is the cached entitlement checker (Has, State, WaitVersion).
func (g *Gate) Checker() *entitlements.Checker { return g.checker }

// Store is the store, wrapped so that every write invalidates the cache:
// write through it, never through the store given in Config.
func (g *Gate) Store() entitlements.Store { return g.store }

// Bot is the Bot API client.
func (g *Gate) Bot() *botapi.Client { return g.bot }

// Catalog is the catalog for sale.
func (g *Gate) Catalog() *entitlements.Catalog { return g.catalog }

// Grant gives a user entitlements without payment (a trial, a promotion,
// support); g.ID and g.Features are required. OnEvent hears of it.
func (g *Gate) Grant(ctx context.Context, userID int64, grant entitlements.Grant) (entitlements.Change, error) {
	ch, err := g.store.Grant(ctx, userID, grant)
	g.emit(ctx, ch, err)
	return ch, err
}

// Revoke removes one of a user's grants by ID, whatever its source
// (entitlements.ErrGrantNotFound when there is none). OnEvent hears of it.
func (g *Gate) Revoke(ctx context.Context, userID int64, grantID string) (entitlements.Change, error) {
	ch, err := g.store.Revoke(ctx, userID, grantID)
	g.emit(ctx, ch, err)
	return ch, err
}

func (g *Gate) emit(ctx context.Context, ch entitlements.Change, err error) {
	if err != nil || ch.Duplicate || g.cfg.OnEvent == nil {
		return
	}
	for _, e := range ch.Events {
		g.cfg.OnEvent(ctx, e)
	}
}
