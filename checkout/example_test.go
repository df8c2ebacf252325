package checkout_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/invoice"
	"github.com/starsgate/starsgate/sandbox"
)

// A processor behind an Echo webhook sells a subscription; the sandbox
// plays Telegram and the buyer.
func Example() {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	sb, err := sandbox.New(sandbox.Config{Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	bot, err := botapi.New(botapi.Config{Token: sb.Token(), BaseURL: sb.URL(), Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	catalog, err := entitlements.NewCatalog(entitlements.Product{
		ID: "premium", Title: "Premium", Description: "Premium features for 30 days", Price: 250,
		Kind: entitlements.KindSubscription, Features: []string{"premium"},
	})
	if err != nil {
		log.Fatal(err)
	}
	codec, err := invoice.NewCodec(invoice.KeyFromBotToken(sb.Token()))
	if err != nil {
		log.Fatal(err)
	}
	store := entitlements.NewMemoryStore()

	proc, err := checkout.New(checkout.Config{
		Bot: bot, Catalog: catalog, Store: store, Payloads: codec, WebhookSecret: "hook-secret",
		OnEvent: func(_ context.Context, e entitlements.Event) { fmt.Println("event:", e.Type, e.ProductID) },
		Now:     sb.Now, Logger: quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	e.POST("/stars/webhook", proc.Webhook())
	app := httptest.NewServer(e)
	defer app.Close()
	if err := proc.SetWebhook(ctx, app.URL+"/stars/webhook"); err != nil {
		log.Fatal(err)
	}

	// The invoice the app would create for user 42.
	payload, _ := codec.Encode(invoice.Payload{ProductID: "premium", UserID: 42})
	link, err := bot.CreateInvoiceLink(ctx, botapi.CreateInvoiceLinkParams{
		Title: "Premium", Description: "Premium features for 30 days", Payload: payload,
		Currency: botapi.CurrencyStars, Prices: []botapi.LabeledPrice{{Label: "Premium", Amount: 250}},
		SubscriptionPeriod: botapi.SubscriptionPeriod,
	})
	if err != nil {
		log.Fatal(err)
	}
	receipt, err := sb.Pay(ctx, botapi.User{ID: 42, FirstName: "Ann"}, link)
	if err != nil {
		log.Fatal(err)
	}
	_ = sb.WaitIdle(ctx)
	sb.Advance(30 * 24 * time.Hour)
	if _, err := sb.Renew(ctx, receipt.ChargeID); err != nil {
		log.Fatal(err)
	}
	_ = sb.WaitIdle(ctx)

	st, _ := store.Load(ctx, 42)
	fmt.Println("premium:", st.Has("premium", sb.Now()))
	// Output:
	// event: purchased premium
	// event: renewed premium
	// premium: true
}
