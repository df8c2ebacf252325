package starsgate_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/starsgate/starsgate"
	"github.com/starsgate/starsgate/entitlements"
	sgmw "github.com/starsgate/starsgate/middleware"
)

// The README's integration snippet: a Mini App backend that sells the
// products of catalog.json, takes Telegram's updates on a webhook, and
// guards two routes. (Compiled, not run: it needs a bot and a Redis.)
func Example() {
	ctx := context.Background()
	catalog, err := entitlements.LoadCatalogFile("catalog.json")
	if err != nil {
		log.Fatal(err)
	}
	gate, err := starsgate.New(starsgate.Config{
		BotToken:      os.Getenv("BOT_TOKEN"),
		Catalog:       catalog,
		Redis:         redis.NewClient(&redis.Options{Addr: "localhost:6379"}),
		WebhookSecret: os.Getenv("WEBHOOK_SECRET"),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := gate.Start(ctx); err != nil { // checks Redis, subscribes the cache
		log.Fatal(err)
	}
	if err := gate.SetWebhook(ctx, "https://app.example.com/stars/webhook"); err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	gate.Mount(e.Group("/stars")) // GET /products, POST /invoices, GET /me, POST /webhook
	api := e.Group("/api", gate.Auth())
	api.GET("/premium", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"message": "welcome to premium"})
	}, gate.Require("premium"))
	api.POST("/generate", func(c echo.Context) error {
		left, _ := sgmw.BalanceAfterSpend(c, "credits")
		return c.JSON(http.StatusOK, map[string]int64{"credits": left})
	}, gate.Spend("credits", 1))
	log.Fatal(e.Start(":8080"))
}
