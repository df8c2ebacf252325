package middleware

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
)

func testCatalog(t testing.TB) *entitlements.Catalog {
	t.Helper()
	cat, err := entitlements.NewCatalog(
		entitlements.Product{ID: "pro_month", Title: "Pro", Description: "Pro for a month", Price: 250, Kind: entitlements.KindSubscription, Features: []string{"premium", "export"}},
		entitlements.Product{ID: "lifetime", Title: "Lifetime", Description: "Premium for life", Price: 2500, Kind: entitlements.KindOneTime, Features: []string{"premium"}},
		entitlements.Product{ID: "export_pack", Title: "Export", Description: "Export for a week", Price: 50, Kind: entitlements.KindOneTime, Features: []string{"export"}, Duration: 7 * 24 * time.Hour},
		entitlements.Product{ID: "credits_10", Title: "10 credits", Description: "Ten credits", Price: 10, Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 10}},
	)
	require.NoError(t, err)
	return cat
}

// storeKinds are the stores the guards are tested against.
var storeKinds = []struct {
	name string
	new  func(t testing.TB) entitlements.Store
}{
	{"memory", func(testing.TB) entitlements.Store { return entitlements.NewMemoryStore() }},
	{"redis", func(t testing.TB) entitlements.Store {
		return entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{Prefix: redistest.Prefix(t)})
	}},
}

var quietLogger = slog.New(slog.DiscardHandler)

// deadRedisStore is a Redis store whose server is gone: every call fails.
func deadRedisStore(t testing.TB) entitlements.Store {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	return entitlements.NewRedisStore(rdb, entitlements.RedisOptions{Prefix: "sgtest:dead:"})
}

// guardedServer serves GET /x behind Auth and the guard; the handler
// answers 200 {"credits":<balance after spend>} or 200 "ok".
func guardedServer(t testing.TB, guard echo.MiddlewareFunc, handler echo.HandlerFunc) *echo.Echo {
	t.Helper()
	e := echo.New()
	auth := AuthWithConfig(AuthConfig{BotToken: testToken})
	if handler == nil {
		handler = func(c echo.Context) error {
			if b, ok := BalanceAfterSpend(c, "credits"); ok {
				return c.JSON(http.StatusOK, map[string]int64{"credits": b})
			}
			return c.String(http.StatusOK, "ok")
		}
	}
	e.GET("/x", handler, auth, guard)
	e.GET("/noauth", handler, guard)
	return e
}

func authFor(userID int64) string {
	return "tma " + SignInitData(testToken, User{ID: userID, FirstName: "U"}, time.Now())
}

func TestRequireEntitlement(t *testing.T) {
	const userID = 1001
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	tests := []struct {
		name          string
		givenGrants   []entitlements.Grant
		whenFeatures  []string
		whenAll       bool
		whenNoCatalog bool
		whenNoAuth    bool
		expectStatus  int
		expectBody    string
	}{
		{
			name:         "ok, feature granted for life",
			givenGrants:  []entitlements.Grant{{ID: "promo", Features: []string{"premium"}}},
			whenFeatures: []string{"premium"},
			expectStatus: http.StatusOK,
		},
		{
			name:         "ok, feature granted until later",
			givenGrants:  []entitlements.Grant{{ID: "trial", Features: []string{"premium"}, ExpiresAt: future}},
			whenFeatures: []string{"premium"},
			expectStatus: http.StatusOK,
		},
		{
			name:         "nok, no grant",
			whenFeatures: []string{"premium"},
			expectStatus: http.StatusPaymentRequired,
			expectBody:   `{"error":{"code":"payment_required","message":"feature \"premium\" requires a purchase","feature":"premium","products":["pro_month","lifetime"]}}`,
		},
		{
			name:          "nok, no grant, no catalog",
			whenFeatures:  []string{"premium"},
			whenNoCatalog: true,
			expectStatus:  http.StatusPaymentRequired,
			expectBody:    `{"error":{"code":"payment_required","message":"feature \"premium\" requires a purchase","feature":"premium","products":[]}}`,
		},
		{
			name:         "nok, feature no product grants",
			givenGrants:  []entitlements.Grant{{ID: "promo", Features: []string{"premium"}}},
			whenFeatures: []string{"beta"},
			expectStatus: http.StatusPaymentRequired,
			expectBody:   `{"error":{"code":"payment_required","message":"feature \"beta\" requires a purchase","feature":"beta","products":[]}}`,
		},
		{
			name:         "nok, grant expired",
			givenGrants:  []entitlements.Grant{{ID: "trial", Features: []string{"premium"}, ExpiresAt: past}},
			whenFeatures: []string{"premium"},
			expectStatus: http.StatusPaymentRequired,
			expectBody:   `{"error":{"code":"payment_required","message":"feature \"premium\" requires a purchase","feature":"premium","products":["pro_month","lifetime"]}}`,
		},
		{
			name:         "nok, other feature granted",
			givenGrants:  []entitlements.Grant{{ID: "promo", Features: []string{"export"}}},
			whenFeatures: []string{"premium"},
			expectStatus: http.StatusPaymentRequired,
			expectBody:   `{"error":{"code":"payment_required","message":"feature \"premium\" requires a purchase","feature":"premium","products":["pro_month","lifetime"]}}`,
		},
		{
			name:         "ok, any of, second granted",
			givenGrants:  []entitlements.Grant{{ID: "promo", Features: []string{"export"}}},
			whenFeatures: []string{"premium", "export"},
			expectStatus: http.StatusOK,
		},
		{
			name:         "nok, any of, none granted",
			whenFeatures: []string{"premium", "export"},
			expectStatus: http.StatusPaymentRequired,
			expectBody:   `{"error":{"code":"payment_required","message":"feature \"premium\" requires a purchase","feature":"premium","products":["pro_month","lifetime","export_pack"]}}`,
		},
		{
			name: "ok, all of, both granted",
			givenGrants: []entitlements.Grant{
				{ID: "a", Features: []string{"premium"}},
				{ID: "b", Features: []string{"export"}, ExpiresAt: future},
			},
			whenFeatures: []string{"premium", "export"},
			whenAll:      true,
			expectStatus: http.StatusOK,
		},
		{
			name:         "nok, all of, second missing",
			givenGrants:  []entitlements.Grant{{ID: "a", Features: []string{"premium"}}},
			whenFeatures: []string{"premium", "export"},
			whenAll:      true,
			expectStatus: http.StatusPaymentRequired,
			expectBody:   `{"error":{"code":"payment_required","message":"feature \"export\" requires a purchase","feature":"export","products":["pro_month","export_pack"]}}`,
		},
		{
			name:         "nok, no authenticated user",
			givenGrants:  []entitlements.Grant{{ID: "promo", Features: []string{"premium"}}},
			whenFeatures: []string{"premium"},
			whenNoAuth:   true,
			expectStatus: http.StatusUnauthorized,
			expectBody:   `{"error":{"code":"unauthorized","message":"missing, malformed, forged or expired Telegram init data"}}`,
		},
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					store := kind.new(t)
					checker, err := entitlements.NewChecker(store, entitlements.CheckerConfig{})
					require.NoError(t, err)
					for _, g := range tc.givenGrants {
						_, err := store.Grant(context.Background(), userID, g)
						require.NoError(t, err)
					}
					cfg := EntitlementConfig{Checker: checker, Features: tc.whenFeatures, All: tc.whenAll, Catalog: testCatalog(t)}
					if tc.whenNoCatalog {
						cfg.Catalog = nil
					}
					mw, err := cfg.ToMiddleware()
					require.NoError(t, err)
					e := guardedServer(t, mw, nil)

					path := "/x"
					if tc.whenNoAuth {
						path = "/noauth"
					}
					rec := serve(e, path, authFor(userID))
					require.Equal(t, tc.expectStatus, rec.Code, rec.Body.String())
					if tc.expectBody != "" {
						assert.JSONEq(t, tc.expectBody, rec.Body.String())
					} else {
						assert.Equal(t, "ok", rec.Body.String())
					}
				})
			}
		})
	}
}

// A store that cannot answer is a 503, never a 402.
func TestGuards_storeOutage(t *testing.T) {
	checker, err := entitlements.NewChecker(deadRedisStore(t), entitlements.CheckerConfig{})
	require.NoError(t, err)
	errs := &recordErrors{}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	g := Guards{Checker: checker, Spender: deadRedisStore(t), Catalog: testCatalog(t), ErrorHandler: errs.handle, Logger: logger}

	for name, guard := range map[string]echo.MiddlewareFunc{
		"require":     g.RequireEntitlement("premium"),
		"require any": g.RequireAny("premium", "export"),
		"require all": g.RequireAll("premium", "export"),
		"spend":       g.Spend("credits", 1),
	} {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			rec := serve(guardedServer(t, guard, nil), "/x", authFor(7))
			require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
			assert.JSONEq(t, `{"error":{"code":"unavailable","message":"the entitlement store is unavailable, try again"}}`, rec.Body.String())
			var down *UnavailableError
			require.ErrorAs(t, errs.last(), &down)
			assert.ErrorIs(t, errs.last(), ErrUnavailable)
			assert.NotErrorIs(t, errs.last(), ErrPaymentRequired)
			assert.Contains(t, logs.String(), "level=WARN")
			assert.Contains(t, logs.String(), "user_id=7")
			assert.Contains(t, logs.String(), "connection refused")
		})
	}
}

// checkerFunc is a Checker answering from a table, for the combination
// rules of several features.
type checkerFunc func(feature string) (bool, error)

func (f checkerFunc) Has(_ context.Context, _ int64, feature string) (bool, error) { return f(feature) }

func TestRequireEntitlement_storeErrorWithOtherAnswers(t *testing.T) {
	down := errors.New("store down")
	answers := map[string]struct {
		has bool
		err error
	}{"on": {has: true}, "off": {}, "err": {err: down}}
	checker := checkerFunc(func(f string) (bool, error) { return answers[f].has, answers[f].err })

	tests := []struct {
		name         string
		whenFeatures []string
		whenAll      bool
		expectStatus int
	}{
		{name: "ok, any of, error then active", whenFeatures: []string{"err", "on"}, expectStatus: http.StatusOK},
		{name: "nok, any of, error then missing", whenFeatures: []string{"err", "off"}, expectStatus: http.StatusServiceUnavailable},
		{name: "nok, any of, missing then error", whenFeatures: []string{"off", "err"}, expectStatus: http.StatusServiceUnavailable},
		{name: "nok, all of, error then missing", whenFeatures: []string{"err", "off"}, whenAll: true, expectStatus: http.StatusPaymentRequired},
		{name: "nok, all of, active then error", whenFeatures: []string{"on", "err"}, whenAll: true, expectStatus: http.StatusServiceUnavailable},
		{name: "nok, one feature, error", whenFeatures: []string{"err"}, expectStatus: http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := EntitlementConfig{Checker: checker, Features: tc.whenFeatures, All: tc.whenAll, Logger: quietLogger}.ToMiddleware()
			require.NoError(t, err)
			rec := serve(guardedServer(t, mw, nil), "/x", authFor(1))
			assert.Equal(t, tc.expectStatus, rec.Code, rec.Body.String())
		})
	}
}

func TestSpend(t *testing.T) {
	const userID = 2002
	failing := func(c echo.Context) error { return echo.NewHTTPError(http.StatusBadGateway, "upstream failed") }
	tests := []struct {
		name          string
		givenBalance  int64
		whenAmount    int64
		whenRefund    bool
		whenHandler   echo.HandlerFunc
		whenNoAuth    bool
		expectStatus  int
		expectBody    string
		expectBalance int64
	}{
		{name: "ok, spend one", givenBalance: 3, expectStatus: http.StatusOK, expectBody: `{"credits":2}`, expectBalance: 2},
		{name: "ok, spend all", givenBalance: 2, whenAmount: 2, expectStatus: http.StatusOK, expectBody: `{"credits":0}`, expectBalance: 0},
		{
			name:          "nok, no credits",
			expectStatus:  http.StatusPaymentRequired,
			expectBody:    `{"error":{"code":"insufficient_credits","message":"not enough \"credits\": balance 0, need 1","credit":"credits","balance":0,"products":["credits_10"]}}`,
			expectBalance: 0,
		},
		{
			name:          "nok, not enough credits",
			givenBalance:  1,
			whenAmount:    2,
			expectStatus:  http.StatusPaymentRequired,
			expectBody:    `{"error":{"code":"insufficient_credits","message":"not enough \"credits\": balance 1, need 2","credit":"credits","balance":1,"products":["credits_10"]}}`,
			expectBalance: 1,
		},
		{
			name:          "ok, handler error gives the credit back",
			givenBalance:  3,
			whenRefund:    true,
			whenHandler:   failing,
			expectStatus:  http.StatusBadGateway,
			expectBalance: 3,
		},
		{
			name:          "ok, handler error keeps the spend without RefundOnError",
			givenBalance:  3,
			whenHandler:   failing,
			expectStatus:  http.StatusBadGateway,
			expectBalance: 2,
		},
		{
			name:          "ok, handler success keeps the spend with RefundOnError",
			givenBalance:  3,
			whenRefund:    true,
			expectStatus:  http.StatusOK,
			expectBody:    `{"credits":2}`,
			expectBalance: 2,
		},
		{
			name:          "nok, no authenticated user",
			givenBalance:  3,
			whenNoAuth:    true,
			expectStatus:  http.StatusUnauthorized,
			expectBody:    `{"error":{"code":"unauthorized","message":"missing, malformed, forged or expired Telegram init data"}}`,
			expectBalance: 3,
		},
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					store := kind.new(t)
					if tc.givenBalance > 0 {
						_, err := store.AddCredits(ctx, userID, "credits", tc.givenBalance)
						require.NoError(t, err)
					}
					mw, err := SpendConfig{Spender: store, Credit: "credits", Amount: tc.whenAmount, RefundOnError: tc.whenRefund, Catalog: testCatalog(t)}.ToMiddleware()
					require.NoError(t, err)
					e := guardedServer(t, mw, tc.whenHandler)

					path := "/x"
					if tc.whenNoAuth {
						path = "/noauth"
					}
					rec := serve(e, path, authFor(userID))
					require.Equal(t, tc.expectStatus, rec.Code, rec.Body.String())
					if tc.expectBody != "" {
						assert.JSONEq(t, tc.expectBody, rec.Body.String())
					}
					st, err := store.Load(ctx, userID)
					require.NoError(t, err)
					assert.Equal(t, tc.expectBalance, st.Balance("credits"))
				})
			}
		})
	}
}

// Concurrent requests never spend more than the balance.
func TestSpend_concurrent(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			const userID, balance, requests = 3003, 10, 25
			store := kind.new(t)
			_, err := store.AddCredits(context.Background(), userID, "credits", balance)
			require.NoError(t, err)
			e := guardedServer(t, Guards{Spender: store}.Spend("credits", 1), nil)
			header := authFor(userID)

			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				counts = map[int]int{}
			)
			for range requests {
				wg.Go(func() {
					code := serve(e, "/x", header).Code
					mu.Lock()
					counts[code]++
					mu.Unlock()
				})
			}
			wg.Wait()
			assert.Equal(t, map[int]int{http.StatusOK: balance, http.StatusPaymentRequired: requests - balance}, counts)
			st, err := store.Load(context.Background(), userID)
			require.NoError(t, err)
			assert.Zero(t, st.Balance("credits"))
		})
	}
}

// A panicking handler gets the credit back too, and the panic goes on.
func TestSpend_refundOnPanic(t *testing.T) {
	store := entitlements.NewMemoryStore()
	ctx := context.Background()
	_, err := store.AddCredits(ctx, 1, "credits", 5)
	require.NoError(t, err)
	mw, err := SpendConfig{Spender: store, Credit: "credits", Amount: 2, RefundOnError: true}.ToMiddleware()
	require.NoError(t, err)

	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(WithInitData(ctx, &InitData{User: User{ID: 1}}))
	c := echo.New().NewContext(req, httptest.NewRecorder())
	h := mw(func(c echo.Context) error {
		b, ok := BalanceAfterSpend(c, "credits")
		require.True(t, ok)
		require.EqualValues(t, 3, b)
		panic("boom")
	})
	assert.PanicsWithValue(t, "boom", func() { _ = h(c) })
	st, err := store.Load(ctx, 1)
	require.NoError(t, err)
	assert.EqualValues(t, 5, st.Balance("credits"))
}

func TestGuardConfig_ToMiddleware(t *testing.T) {
	checker := checkerFunc(func(string) (bool, error) { return true, nil })
	store := entitlements.NewMemoryStore()
	tests := []struct {
		name  string
		given interface {
			ToMiddleware() (echo.MiddlewareFunc, error)
		}
		expectErr string
	}{
		{name: "ok, entitlement", given: EntitlementConfig{Checker: checker, Features: []string{"premium"}}},
		{name: "ok, spend, default amount", given: SpendConfig{Spender: store, Credit: "credits"}},
		{name: "nok, entitlement without checker", given: EntitlementConfig{Features: []string{"premium"}}, expectErr: "Checker is required"},
		{name: "nok, entitlement without features", given: EntitlementConfig{Checker: checker}, expectErr: "at least one non-empty feature"},
		{name: "nok, entitlement with an empty feature", given: EntitlementConfig{Checker: checker, Features: []string{"premium", ""}}, expectErr: "at least one non-empty feature"},
		{name: "nok, spend without spender", given: SpendConfig{Credit: "credits"}, expectErr: "Spender is required"},
		{name: "nok, spend without credit", given: SpendConfig{Spender: store}, expectErr: "Credit is required"},
		{name: "nok, spend negative amount", given: SpendConfig{Spender: store, Credit: "credits", Amount: -1}, expectErr: "Amount must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := tc.given.ToMiddleware()
			if tc.expectErr != "" {
				require.ErrorIs(t, err, ErrInvalidConfig)
				assert.Contains(t, err.Error(), tc.expectErr)
				assert.Nil(t, mw)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, mw)
		})
	}
}

func TestGuards_panicOnBadArguments(t *testing.T) {
	g := Guards{Checker: checkerFunc(func(string) (bool, error) { return true, nil }), Spender: entitlements.NewMemoryStore()}
	assert.NotPanics(t, func() { g.RequireEntitlement("premium") })
	assert.Panics(t, func() { g.RequireEntitlement("") })
	assert.Panics(t, func() { g.RequireAny() })
	assert.Panics(t, func() { g.Spend("credits", 0) })
	assert.Panics(t, func() { g.Spend("", 1) })
	assert.Panics(t, func() { Guards{}.RequireAll("premium") })
}

// The default amount is 1 and every request spends it again.
func TestSpend_defaultAmount(t *testing.T) {
	store := entitlements.NewMemoryStore()
	_, err := store.AddCredits(context.Background(), 9, "credits", 2)
	require.NoError(t, err)
	mw, err := SpendConfig{Spender: store, Credit: "credits"}.ToMiddleware()
	require.NoError(t, err)
	e := guardedServer(t, mw, nil)
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusPaymentRequired} {
		rec := serve(e, "/x", authFor(9))
		assert.Equal(t, want, rec.Code, "request "+strconv.Itoa(i))
	}
}
