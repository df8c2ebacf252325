package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
)

// benchRaws returns n distinct init data for testUser, valid at testNow.
func benchRaws(n int) []string {
	raws := make([]string, n)
	for i := range raws {
		raws[i] = signed(testToken, func(q url.Values) { q.Set("query_id", "q"+strconv.Itoa(i)) })
	}
	return raws
}

// benchAuth runs Auth alone on one reused echo.Context; request i carries
// raws[i%len(raws)].
func benchAuth(b *testing.B, cfg AuthConfig, raws []string) {
	mw, err := cfg.ToMiddleware()
	if err != nil {
		b.Fatal(err)
	}
	h := mw(func(echo.Context) error { return nil })
	headers := make([][]string, len(raws))
	for i, raw := range raws {
		headers[i] = []string{"tma " + raw}
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.Header[echo.HeaderAuthorization] = headers[i%len(headers)]
		c.SetRequest(req)
		if err := h(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuth compares a full verification with a cache hit.
//   - cold: cache disabled, every request runs the whole verification
//     (query parsing, HMAC, JSON decoding of the user);
//   - first-sight: the cache on, every request brings init data never seen
//     (verification plus the insert, with evictions once the cache is full);
//   - warm: the same init data again, answered by the cache.
func BenchmarkAuth(b *testing.B) {
	cfg := AuthConfig{BotToken: testToken, Now: fixedClock(testNow)}
	b.Run("cold", func(b *testing.B) {
		cfg := cfg
		cfg.CacheSize = -1
		benchAuth(b, cfg, benchRaws(1))
	})
	b.Run("first-sight", func(b *testing.B) {
		benchAuth(b, cfg, benchRaws(b.N))
	})
	b.Run("warm", func(b *testing.B) {
		benchAuth(b, cfg, benchRaws(1))
	})
	b.Run("warm-1000-sessions", func(b *testing.B) {
		benchAuth(b, cfg, benchRaws(1000))
	})
}

// warmChecker returns a Checker over a memory store in which userID has
// feature, with the user already cached.
func warmChecker(b testing.TB, userID int64, feature string) *entitlements.Checker {
	store := entitlements.NewMemoryStore()
	ctx := context.Background()
	if _, err := store.Grant(ctx, userID, entitlements.Grant{ID: "promo", Features: []string{feature}}); err != nil {
		b.Fatal(err)
	}
	checker, err := entitlements.NewChecker(store, entitlements.CheckerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if ok, err := checker.Has(ctx, userID, feature); err != nil || !ok {
		b.Fatalf("warm-up: %v %v", ok, err)
	}
	return checker
}

// BenchmarkRequireEntitlement is the guard alone on an authenticated
// request, with the entitlements.Checker cache warm.
func BenchmarkRequireEntitlement(b *testing.B) {
	checker := warmChecker(b, testUser.ID, "premium")
	h := Guards{Checker: checker}.RequireEntitlement("premium")(func(echo.Context) error { return nil })
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(WithInitData(req.Context(), &InitData{User: testUser}))
	c := echo.New().NewContext(req, httptest.NewRecorder())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h(c); err != nil {
			b.Fatal(err)
		}
	}
}

// benchWriter is a reusable ResponseWriter, so that the chain benchmarks
// measure the server rather than a new recorder per request.
type benchWriter struct {
	header http.Header
	code   int
}

func (w *benchWriter) Header() http.Header         { return w.header }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkChain serves requests through a whole Echo server (e.ServeHTTP),
// the same handler behind different middleware: open (none), noop2 (two
// middlewares that do nothing: echo v4 allocates each route middleware's
// closure per request, so this is the floor for any two), auth (Auth),
// require (Auth + RequireEntitlement, Checker warm), spend-memory and
// spend-redis (Auth + Spend of 1 credit, a store round trip each). The
// difference to "open" is what the middleware costs per request.
func BenchmarkChain(b *testing.B) {
	ctx := context.Background()
	checker := warmChecker(b, testUser.ID, "premium")
	memStore := entitlements.NewMemoryStore()
	redisStore := entitlements.NewRedisStore(redistest.Client(b), entitlements.RedisOptions{Prefix: redistest.Prefix(b)})
	for _, s := range []entitlements.Store{memStore, redisStore} {
		if _, err := s.AddCredits(ctx, testUser.ID, "credits", 1<<50); err != nil {
			b.Fatal(err)
		}
	}

	e := echo.New()
	auth := AuthWithConfig(AuthConfig{BotToken: testToken, Now: fixedClock(testNow)})
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	noop := func(next echo.HandlerFunc) echo.HandlerFunc { return func(c echo.Context) error { return next(c) } }
	e.GET("/open", ok)
	e.GET("/noop2", ok, noop, noop)
	e.GET("/auth", ok, auth)
	e.GET("/require", ok, auth, Guards{Checker: checker}.RequireEntitlement("premium"))
	e.GET("/spend-memory", ok, auth, Guards{Spender: memStore}.Spend("credits", 1))
	e.GET("/spend-redis", ok, auth, Guards{Spender: redisStore}.Spend("credits", 1))

	header := "tma " + signed(testToken, nil)
	for _, route := range []string{"open", "noop2", "auth", "require", "spend-memory", "spend-redis"} {
		b.Run(route, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/"+route, nil)
			req.Header.Set(echo.HeaderAuthorization, header)
			w := &benchWriter{header: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clear(w.header)
				e.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}

// BenchmarkSignInitData is the test helper's cost, for scale.
func BenchmarkSignInitData(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = SignInitData(testToken, testUser, testNow.Add(time.Duration(i)*time.Second))
	}
}

// BenchmarkVerifyCold is a full verification (no cache) alone, without
// echo: serial, and from every core at once (the pooled HMAC state and
// buffers are shared).
func BenchmarkVerifyCold(b *testing.B) {
	v, err := AuthConfig{BotToken: testToken, Now: fixedClock(testNow), CacheSize: -1}.newVerifier()
	if err != nil {
		b.Fatal(err)
	}
	raw := signed(testToken, nil)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.verify(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.verify(raw); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkParseInitData compares url.ParseQuery with the verifier's parser
// on typical init data.
func BenchmarkParseInitData(b *testing.B) {
	raw := signed(testToken, nil)
	b.Run("url.ParseQuery", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := url.ParseQuery(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendFields", func(b *testing.B) {
		b.ReportAllocs()
		var fields []field
		for b.Loop() {
			var err error
			if fields, err = appendFields(fields[:0], raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
