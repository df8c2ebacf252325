package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/middleware"
)

const (
	feature = "premium"
	// firstUser is the ID of the first synthetic user; users are
	// firstUser, firstUser+1, …
	firstUser = 5_000_000_000
)

// Target ratios of issue 8.
const (
	wantWarmGate = 0.90
	wantColdGate = 0.45
)

// gateServer is an Echo server with an unguarded route /open and the route
// /premium behind Auth + RequireEntitlement(feature). guarded counts the
// requests that reached /premium's handler.
type gateServer struct {
	addr    string
	stop    func()
	guarded atomic.Int64
}

func startGateServer(checker *entitlements.Checker) (*gateServer, error) {
	auth, err := middleware.AuthConfig{BotToken: loadToken}.ToMiddleware()
	if err != nil {
		return nil, err
	}
	g := middleware.Guards{Checker: checker}
	s := &gateServer{}
	e := newEcho()
	e.GET("/open", ok)
	guarded := func(c echo.Context) error {
		s.guarded.Add(1)
		return ok(c)
	}
	guard := g.RequireEntitlement(feature)
	e.GET("/premium", guarded, auth, guard)
	// The same chain composed once at registration: Echo v4 wraps route
	// middleware around the handler on every request (one closure
	// allocation per middleware), a handler passed already wrapped is not.
	e.GET("/premium-composed", auth(guard(guarded)))
	if s.addr, s.stop, err = serve(e); err != nil {
		return nil, err
	}
	return s, nil
}

// signPool signs one init data per user firstUser+i, i < n, on all cores.
func signPool(n int) []string {
	raws := make([]string, n)
	now := time.Now()
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				raws[i] = middleware.SignInitData(loadToken, middleware.User{
					ID: firstUser + int64(i), FirstName: "Load", Username: "load" + strconv.Itoa(i),
				}, now)
			}
		})
	}
	wg.Wait()
	return raws
}

// grantAll grants feature to users firstUser+i, i < n, 64 at a time.
func grantAll(ctx context.Context, store entitlements.Store, n int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i := range n {
		g.Go(func() error {
			_, err := store.Grant(ctx, firstUser+int64(i), entitlements.Grant{ID: "load", Features: []string{feature}})
			return err
		})
	}
	return g.Wait()
}

// warmGate: returning users (the same init data again, entitlement cached)
// on the guarded route against the unguarded one. The store is in memory:
// once warm, the guard never reads it.
func warmGate(ctx context.Context, o options, w io.Writer) (*comparison, error) {
	store := entitlements.NewMemoryStore()
	if err := grantAll(ctx, store, o.sessions); err != nil {
		return nil, err
	}
	checker, err := entitlements.NewChecker(store, entitlements.CheckerConfig{})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := checker.Start(sctx); err != nil {
		return nil, err
	}
	srv, err := startGateServer(checker)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	raws := signPool(o.sessions)
	open := target{name: "GET /open", status: http.StatusOK, build: func(buf []byte, i int64) []byte {
		return getRequest(buf, "/open", raws[i%int64(len(raws))])
	}}
	premium := target{name: "GET /premium (warm)", status: http.StatusOK, build: func(buf []byte, i int64) []byte {
		return getRequest(buf, "/premium", raws[i%int64(len(raws))])
	}}
	// Warm both caches with every session before measuring.
	var warm side
	once := premium
	once.round = func() func() (int64, bool) { return pool(0, int64(len(raws))) }
	if err := runRound(ctx, srv.addr, 1, time.Hour, once, &warm); err != nil {
		return nil, err
	}
	if warm.requests != int64(len(raws)) || warm.errors != 0 {
		return nil, fmt.Errorf("warming %d sessions: %d requests, %d errors (%v)", len(raws), warm.requests, warm.errors, warm.firstErr)
	}
	c, err := compare(ctx, srv.addr, o.concurrency, o, "warm-gate", open, premium)
	if err != nil {
		return nil, err
	}
	printComparison(w, fmt.Sprintf("warm-gate (%d returning users)", o.sessions), o, o.concurrency, c, wantWarmGate)

	composed := premium
	composed.name = "GET /premium-composed (warm)"
	composed.build = func(buf []byte, i int64) []byte {
		return getRequest(buf, "/premium-composed", raws[i%int64(len(raws))])
	}
	cc, err := compare(ctx, srv.addr, o.concurrency, o, "warm-gate-composed", open, composed)
	if err != nil {
		return nil, err
	}
	printComparison(w, "warm-gate, middleware composed at registration: e.GET(path, auth(guard(h)))", o, o.concurrency, cc, wantWarmGate)
	fmt.Fprintf(w, "checker cache: %d users\n", checker.Len())
	return c, nil
}

// coldGate: every guarded request brings new init data of a user the
// checker has not cached, so the guard reads Redis once. The pool of users
// is split between the subject's warm-up and its rounds; a round that uses
// up its share ends early.
func coldGate(ctx context.Context, o options, w io.Writer) (*comparison, error) {
	env, err := openRedis(ctx, o.redis, o.concurrency+4)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := env.close(); err != nil {
			fmt.Fprintf(w, "cleanup of %s*: %v\n", env.prefix, err)
		}
	}()
	store := entitlements.NewRedisStore(env.rdb, entitlements.RedisOptions{Prefix: env.prefix})
	start := time.Now()
	if err := grantAll(ctx, store, o.pool); err != nil {
		return nil, fmt.Errorf("granting %d users: %w", o.pool, err)
	}
	raws := signPool(o.pool)
	fmt.Fprintf(w, "\ncold-gate: granted and signed %d users in %s\n", o.pool, time.Since(start).Round(time.Millisecond))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	checker, err := entitlements.NewChecker(store, entitlements.CheckerConfig{})
	if err != nil {
		return nil, err
	}
	if err := checker.Start(sctx); err != nil {
		return nil, err
	}
	srv, err := startGateServer(checker)
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	// One share of the pool per subject round plus one for its warm-up.
	if len(raws)/(o.rounds+1) < o.concurrency {
		return nil, fmt.Errorf("-pool %d is too small for %d rounds of %d connections", o.pool, o.rounds, o.concurrency)
	}
	open := target{name: "GET /open", status: http.StatusOK, build: func(buf []byte, i int64) []byte {
		return getRequest(buf, "/open", raws[i%int64(len(raws))])
	}}
	premium := target{name: "GET /premium (cold)", status: http.StatusOK, build: func(buf []byte, i int64) []byte {
		return getRequest(buf, "/premium", raws[i])
	}, round: shares(int64(len(raws)), int64(o.rounds+1))}
	trips0, checks0 := env.trips.n.Load(), srv.guarded.Load()
	c, err := compare(ctx, srv.addr, o.concurrency, o, "cold-gate", open, premium)
	if err != nil {
		return nil, err
	}
	trips, checks := env.trips.n.Load()-trips0, srv.guarded.Load()-checks0
	printComparison(w, fmt.Sprintf("cold-gate (each request a new user, Redis store, pool %d)", o.pool), o, o.concurrency, c, wantColdGate)
	if checks > 0 {
		fmt.Fprintf(w, "Redis round trips per cold check: %.3f (%d round trips, %d checks; target exactly 1)\n",
			float64(trips)/float64(checks), trips, checks)
	}
	fmt.Fprintf(w, "checker cache: %d users\n", checker.Len())
	return c, nil
}
