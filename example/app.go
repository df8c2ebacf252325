package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/starsgate/starsgate"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/sandbox"
)

// app is the running example: the gate, the HTTP server and, in sandbox
// mode, the in-process fake Bot API.
type app struct {
	s    *settings
	log  *slog.Logger
	gate *starsgate.Gate
	sb   *sandbox.Server // nil unless sandbox mode
	rdb  *redis.Client   // nil without REDIS_URL
	e    *echo.Echo
}

// newApp connects to Redis (when configured), starts the sandbox (in
// sandbox mode) and builds the gate and the routes. Failures are returned
// unlogged; what it started is stopped.
func newApp(ctx context.Context, s *settings, stderr io.Writer) (_ *app, err error) {
	a := &app{s: s, log: slog.New(slog.NewTextHandler(stderr, nil))}
	defer func() {
		if err != nil {
			a.close()
		}
	}()

	if s.RedisURL != "" {
		redis.SetLogger(redisLogger{a.log})
		opts, perr := redis.ParseURL(s.RedisURL)
		if perr != nil {
			return nil, configErr("REDIS_URL: %v", perr)
		}
		a.rdb = redis.NewClient(opts)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		perr = a.rdb.Ping(pctx).Err()
		cancel()
		if perr != nil {
			return nil, configErr("REDIS_URL: Redis at %s is unreachable: %v", opts.Addr, perr)
		}
	}

	cfg := starsgate.Config{
		BotToken:        s.BotToken,
		APIURL:          s.APIURL,
		TestEnvironment: s.TestEnv,
		Catalog:         s.Catalog,
		RedisPrefix:     s.RedisPrefix,
		WebhookSecret:   s.WebhookSecret,
		Logger:          a.log,
		OnEvent: func(_ context.Context, e entitlements.Event) {
			a.log.Info("entitlement event", "type", e.Type, "user_id", e.UserID, "product_id", e.ProductID, "version", e.Version)
		},
	}
	if a.rdb != nil {
		cfg.Redis = a.rdb
	} else {
		// Chosen explicitly, so the library does not warn about it: this is
		// a demo; docs/configuration.md says what production needs.
		cfg.Store = entitlements.NewMemoryStore()
	}
	if s.sandboxMode() {
		a.sb, err = sandbox.New(sandbox.Config{Logger: a.log.With("component", "sandbox")})
		if err != nil {
			return nil, fmt.Errorf("starting the sandbox: %w", err)
		}
		cfg.BotToken, cfg.APIURL, cfg.TestEnvironment = a.sb.Token(), a.sb.URL(), false
	}
	if a.gate, err = starsgate.New(cfg); err != nil {
		return nil, configErr("%v", err)
	}
	a.routes()
	return a, nil
}

func (a *app) close() {
	if a.sb != nil {
		a.sb.Close()
	}
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
}

// serve listens on ADDR, registers the webhook or starts long polling,
// and serves until ctx ends.
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	defer a.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if err := a.gate.Start(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.s.Addr)
	if err != nil {
		return configErr("ADDR %s: %v", a.s.Addr, err)
	}
	// Requests see ctx end at shutdown, so open long polls of GET /me
	// answer at once instead of holding Shutdown for up to a minute.
	srv := &http.Server{
		Handler:           a.e,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      90 * time.Second, // above GET /me's 60 s long poll
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	mode := "bot"
	if a.sb != nil {
		mode = "sandbox"
		a.log.Warn("sandbox mode: no BOT_TOKEN, payments are simulated by an in-process fake Bot API", "bot_api", a.sb.URL())
		if a.s.APIURL != "" || a.s.TestEnv {
			a.log.Warn("TELEGRAM_API_URL and TELEGRAM_TEST_ENV are ignored in sandbox mode (set BOT_TOKEN to use them)")
		}
	}
	a.log.Info("starting", "mode", mode, "addr", ln.Addr().String(), "redis", a.rdb != nil, "products", len(a.s.Catalog.Products()))

	var wg sync.WaitGroup
	if a.s.PublicURL != "" {
		hook := a.s.PublicURL + "/stars/webhook"
		if hook[:5] == "http:" {
			a.log.Warn("PUBLIC_URL is http://: fine for local tests, but Telegram only delivers webhooks over HTTPS")
		}
		if err := a.gate.SetWebhook(ctx, hook); err != nil {
			cancel()
			_ = srv.Close()
			return fmt.Errorf("setWebhook %s: %w", hook, err)
		}
		a.log.Info("webhook set", "url", hook)
	} else {
		// A webhook left by an earlier run would make getUpdates fail.
		if err := a.gate.Bot().DeleteWebhook(ctx, false); err != nil {
			cancel()
			_ = srv.Close()
			return fmt.Errorf("deleteWebhook before long polling: %w", err)
		}
		a.log.Info("receiving updates by long polling (set PUBLIC_URL and WEBHOOK_SECRET for a webhook)")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.gate.Poll(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("long polling stopped", "error", err)
			}
		}()
	}
	fmt.Fprintf(stdout, "starsgate example listening on %s\n", base)

	select {
	case err = <-served:
		cancel()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	err = srv.Shutdown(sctx)
	wg.Wait()
	if errors.Is(err, context.DeadlineExceeded) {
		_ = srv.Close()
		err = nil // long polls still open at the deadline are cut: fine
	}
	a.log.Info("stopped")
	return err
}

// redisLogger sends go-redis's own messages (dial retries, …) to slog at
// debug level: the errors that matter reach us as returned errors, and a
// bad REDIS_URL must be reported as one line.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
