//go:build !race

// The race detector changes allocation counts, so these run without -race
// (scripts/test.sh runs the benchmarks, which report the same numbers).

package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
)

// The warm path (init data already verified, Checker cache warm) of Auth +
// RequireEntitlement allocates once per request: the request copy that
// carries the init data. Echo v4 adds one allocation per route middleware
// whatever it does (it composes the chain per request: echo.add calls
// applyMiddleware in the route handler), so the fair baseline is a route
// with the same number of no-op middlewares.
func TestWarmChainAllocations(t *testing.T) {
	e := echo.New()
	auth := AuthWithConfig(AuthConfig{BotToken: testToken, Now: fixedClock(testNow)})
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	noop := func(next echo.HandlerFunc) echo.HandlerFunc { return func(c echo.Context) error { return next(c) } }
	e.GET("/open", ok)
	e.GET("/noop", ok, noop)
	e.GET("/noop2", ok, noop, noop)
	e.GET("/auth", ok, auth)
	e.GET("/require", ok, auth, Guards{Checker: warmChecker(t, testUser.ID, "premium")}.RequireEntitlement("premium"))
	header := "tma " + signed(testToken, nil)

	allocs := func(path string) float64 {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set(echo.HeaderAuthorization, header)
		w := &benchWriter{header: http.Header{}}
		serve := func() {
			clear(w.header)
			e.ServeHTTP(w, req)
		}
		serve() // warm the init data cache
		if w.code != http.StatusOK {
			t.Fatalf("%s: status %d", path, w.code)
		}
		return testing.AllocsPerRun(200, serve)
	}
	open, noop1, noop2 := allocs("/open"), allocs("/noop"), allocs("/noop2")
	authed, required := allocs("/auth"), allocs("/require")
	t.Logf("allocs per request: open %v, noop %v, noop+noop %v, auth %v, auth+require %v", open, noop1, noop2, authed, required)
	assert.Equal(t, 1.0, noop1-open, "echo's own cost of a route middleware")
	assert.LessOrEqual(t, authed-noop1, 1.0, "Auth's own allocations")
	assert.LessOrEqual(t, required-noop2, 1.0, "Auth + RequireEntitlement's own allocations")
}

// Called directly, the middlewares show their own cost alone.
func TestWarmMiddlewareAllocations(t *testing.T) {
	auth := AuthWithConfig(AuthConfig{BotToken: testToken, Now: fixedClock(testNow)})
	guard := Guards{Checker: warmChecker(t, testUser.ID, "premium")}.RequireEntitlement("premium")
	h := auth(guard(func(echo.Context) error { return nil }))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(echo.HeaderAuthorization, "tma "+signed(testToken, nil))
	c := echo.New().NewContext(req, httptest.NewRecorder())
	run := func() {
		c.SetRequest(req)
		if err := h(c); err != nil {
			t.Fatal(err)
		}
	}
	run()
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, run))
}

// A full verification (init data not seen before) allocates the unescaped
// user JSON, the InitData and what encoding/json needs to decode the user:
// 10 in all for testUser. The query parsing (no map), the data-check-string
// and the HMAC (pooled state) allocate nothing.
func TestColdVerifyAllocations(t *testing.T) {
	v, err := AuthConfig{BotToken: testToken, Now: fixedClock(testNow), CacheSize: -1}.newVerifier()
	if err != nil {
		t.Fatal(err)
	}
	raw := signed(testToken, nil)
	verify := func() {
		if _, err := v.verify(raw); err != nil {
			t.Fatal(err)
		}
	}
	verify() // fill the scratch pool
	allocs := testing.AllocsPerRun(200, verify)
	t.Logf("allocs per cold verification: %v", allocs)
	assert.LessOrEqual(t, allocs, 10.0)
}
