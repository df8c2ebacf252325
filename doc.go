// Package starsgate sells digital goods and subscriptions for Telegram Stars
// from an Echo Mini App backend and gates routes on what each user bought.
//
// It is the facade over the packages that do the work (entitlements, botapi,
// middleware, invoice, checkout): New wires them from one Config, Mount
// serves the HTTP contract, and Auth, Require and Spend guard the app's own
// routes.
//
//	gate, err := starsgate.New(starsgate.Config{
//		BotToken:      os.Getenv("BOT_TOKEN"),
//		Catalog:       catalog,
//		Redis:         rdb, // or Store; nothing = memory store (development)
//		WebhookSecret: os.Getenv("WEBHOOK_SECRET"),
//	})
//	if err != nil { … }
//	if err := gate.Start(ctx); err != nil { … }
//	gate.Mount(e.Group("/stars"))          // products, invoices, me, webhook
//	api := e.Group("/api", gate.Auth())    // Telegram initData authentication
//	api.GET("/premium", h, gate.Require("premium"))
//	api.POST("/generate", h, gate.Spend("credits", 1))
//
// Routes mounted (SPEC §4): GET /products, POST /invoices, GET /me (with a
// long poll on the user's version), POST /webhook (Telegram updates).
// Without a public URL, run Poll instead of the webhook.
package starsgate
