package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/entitlements"
	sgmw "github.com/starsgate/starsgate/middleware"
)

const botToken = "123456:example-token"

// get sends GET path with "Authorization: tma <initData>" and prints the
// answer.
func get(e *echo.Echo, path, initData string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set(echo.HeaderAuthorization, "tma "+initData)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
}

// Authentication, an entitlement guard and a spend guard on one API group.
func Example() {
	ctx := context.Background()
	catalog, _ := entitlements.NewCatalog(
		entitlements.Product{ID: "pro_month", Title: "Pro", Description: "Pro for a month", Price: 250, Kind: entitlements.KindSubscription, Features: []string{"premium"}},
		entitlements.Product{ID: "credits_10", Title: "10 credits", Description: "Ten credits", Price: 10, Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 10}},
	)
	checker, _ := entitlements.NewChecker(entitlements.NewMemoryStore(), entitlements.CheckerConfig{})
	store := checker.Store() // writes through it refresh the checker's cache

	auth, err := sgmw.AuthConfig{BotToken: botToken}.ToMiddleware()
	if err != nil {
		panic(err)
	}
	guards := sgmw.Guards{Checker: checker, Spender: store, Catalog: catalog}

	e := echo.New()
	api := e.Group("/api", auth)
	api.GET("/premium", func(c echo.Context) error {
		user, _ := sgmw.UserFrom(c)
		return c.String(http.StatusOK, "welcome, "+user.FirstName)
	}, guards.RequireEntitlement("premium"))
	api.GET("/generate", func(c echo.Context) error {
		left, _ := sgmw.BalanceAfterSpend(c, "credits")
		return c.JSON(http.StatusOK, map[string]int64{"credits": left})
	}, guards.Spend("credits", 1))

	initData := sgmw.SignInitData(botToken, sgmw.User{ID: 42, FirstName: "Ada"}, time.Now())
	get(e, "/api/premium", initData)
	get(e, "/api/generate", initData)

	_, _ = store.Grant(ctx, 42, entitlements.Grant{ID: "trial", Features: []string{"premium"}})
	_, _ = store.AddCredits(ctx, 42, "credits", 3)
	get(e, "/api/premium", initData)
	get(e, "/api/generate", initData)
	// Output:
	// 402 {"error":{"code":"payment_required","feature":"premium","message":"feature \"premium\" requires a purchase","products":["pro_month"]}}
	// 402 {"error":{"balance":0,"code":"insufficient_credits","credit":"credits","message":"not enough \"credits\": balance 0, need 1","products":["credits_10"]}}
	// 200 welcome, Ada
	// 200 {"credits":2}
}

func ExampleAuthConfig_ToMiddleware() {
	auth, err := sgmw.AuthConfig{
		BotToken: botToken,
		MaxAge:   time.Hour, // refuse init data issued more than an hour ago
	}.ToMiddleware()
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.GET("/me", func(c echo.Context) error {
		user, _ := sgmw.UserFrom(c)
		return c.String(http.StatusOK, fmt.Sprintf("%s (%d)", user.FirstName, user.ID))
	}, auth)

	get(e, "/me", sgmw.SignInitData(botToken, sgmw.User{ID: 42, FirstName: "Ada"}, time.Now()))
	get(e, "/me", sgmw.SignInitData(botToken, sgmw.User{ID: 42, FirstName: "Ada"}, time.Now().Add(-2*time.Hour)))
	get(e, "/me", sgmw.SignInitData("654321:another-bot", sgmw.User{ID: 42, FirstName: "Ada"}, time.Now()))
	// Output:
	// 200 Ada (42)
	// 401 {"error":{"code":"unauthorized","message":"missing, malformed, forged or expired Telegram init data"}}
	// 401 {"error":{"code":"unauthorized","message":"missing, malformed, forged or expired Telegram init data"}}
}

// Code below the HTTP layer reads the user from a context.Context.
func ExampleUserIDFromContext() {
	auth := sgmw.AuthWithConfig(sgmw.AuthConfig{BotToken: botToken})
	e := echo.New()
	e.GET("/orders", func(c echo.Context) error {
		return c.String(http.StatusOK, listOrders(c.Request().Context()))
	}, auth)

	get(e, "/orders", sgmw.SignInitData(botToken, sgmw.User{ID: 7, FirstName: "Grace"}, time.Now()))
	// Output:
	// 200 orders of user 7
}

func listOrders(ctx context.Context) string {
	id, ok := sgmw.UserIDFromContext(ctx)
	if !ok {
		return "nobody"
	}
	return fmt.Sprintf("orders of user %d", id)
}

// A custom ErrorHandler can answer some refusals itself and leave the rest
// to DefaultErrorHandler.
func ExampleAuthConfig_errorHandler() {
	auth := sgmw.AuthWithConfig(sgmw.AuthConfig{
		BotToken: botToken,
		ErrorHandler: func(c echo.Context, err error) error {
			if errors.Is(err, sgmw.ErrExpired) {
				return c.JSON(http.StatusUnauthorized, map[string]string{"error": "reopen the app"})
			}
			return sgmw.DefaultErrorHandler(c, err)
		},
	})
	e := echo.New()
	e.GET("/me", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, auth)

	get(e, "/me", sgmw.SignInitData(botToken, sgmw.User{ID: 42}, time.Now().Add(-48*time.Hour)))
	// Output:
	// 401 {"error":"reopen the app"}
}
