// Package middleware is starsgate's Echo middleware: Telegram Mini App
// initData authentication, entitlement and credit guards, and typed
// accessors for the authenticated user.
//
// The package name collides with echo's own middleware package, so import it
// as sgmw:
//
//	import sgmw "github.com/starsgate/starsgate/middleware"
//
//	auth, err := sgmw.AuthConfig{BotToken: os.Getenv("BOT_TOKEN")}.ToMiddleware()
//	if err != nil { … }
//	guards := sgmw.Guards{Checker: checker, Spender: checker.Store(), Catalog: catalog}
//
//	api := e.Group("/api", auth)
//	api.GET("/premium", premium, guards.RequireEntitlement("premium"))
//	api.POST("/generate", generate, guards.Spend("credits", 1))
//
//	func premium(c echo.Context) error {
//		user, _ := sgmw.UserFrom(c) // always there behind Auth
//		…
//	}
//
// Auth reads "Authorization: tma <raw initData>", checks the bot token's
// HMAC-SHA256 (in constant time) and optionally Telegram's Ed25519
// third-party signature, rejects auth_date older than MaxAge or ahead of the
// clock, and requires a user. It remembers init data it has verified (a Mini
// App sends the same one with every request) until it expires, so a repeat
// costs a map lookup and one small allocation. Handlers and code below them
// read the result with InitDataFrom / UserFrom / UserID (echo.Context) or
// InitDataFromContext / UserFromContext / UserIDFromContext
// (context.Context).
//
// The guards ask a Checker (*entitlements.Checker) or a Spender (an
// entitlements.Store) about the authenticated user. A missing feature or a
// short balance is a 402 naming the products that would help; a store that
// cannot answer is a 503, never a 402. Every refusal goes through an
// ErrorHandler as a typed error (*AuthError, *PaymentRequiredError,
// *InsufficientCreditsError, *UnavailableError); DefaultErrorHandler writes
// the SPEC §4 body {"error":{"code":…,"message":…,…}}.
//
// SignInitData and SignValues produce signed init data for tests.
package middleware
