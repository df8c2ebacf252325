package sandbox_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	initdata "github.com/telegram-mini-apps/init-data-golang"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/sandbox"
)

// A Mini App backend under test receives updates on its webhook. Here the
// "backend" is a small handler that accepts every checkout (answering in
// the webhook reply body) and counts the Stars it was paid.
func Example() {
	ctx := context.Background()
	sb, err := sandbox.New(sandbox.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	bot, err := botapi.New(botapi.Config{Token: sb.Token(), BaseURL: sb.URL()})
	if err != nil {
		log.Fatal(err)
	}

	var earned atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(sandbox.SecretTokenHeader) != "hook-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		u, err := botapi.DecodeUpdate(body)
		switch {
		case err != nil:
		case u.PreCheckoutQuery != nil:
			reply, _ := botapi.WebhookReply("answerPreCheckoutQuery", botapi.AnswerPreCheckoutQueryParams{
				PreCheckoutQueryID: u.PreCheckoutQuery.ID, OK: true,
			})
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(reply)
		case u.Message != nil && u.Message.SuccessfulPayment != nil:
			earned.Add(u.Message.SuccessfulPayment.TotalAmount)
		}
	}))
	defer app.Close()
	if err := bot.SetWebhook(ctx, botapi.SetWebhookParams{URL: app.URL, SecretToken: "hook-secret"}); err != nil {
		log.Fatal(err)
	}

	link, err := bot.CreateInvoiceLink(ctx, botapi.CreateInvoiceLinkParams{
		Title: "Premium", Description: "30 days of premium", Payload: "plan:premium",
		Currency: botapi.CurrencyStars, Prices: []botapi.LabeledPrice{{Label: "Premium", Amount: 250}},
		SubscriptionPeriod: botapi.SubscriptionPeriod,
	})
	if err != nil {
		log.Fatal(err)
	}
	user := botapi.User{ID: 42, FirstName: "Ann"}
	receipt, err := sb.Pay(ctx, user, link)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := sb.Renew(ctx, receipt.ChargeID); err != nil {
		log.Fatal(err)
	}
	if err := sb.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("paid:", receipt.Amount, receipt.Payload, receipt.IsFirstRecurring)
	fmt.Println("earned:", earned.Load())
	// Output:
	// paid: 250 plan:premium true
	// earned: 500
}

// SignInitData makes initData for any user, as the Mini App would send it in
// "Authorization: tma <initData>".
func ExampleServer_SignInitData() {
	sb, err := sandbox.NewUnstarted(sandbox.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	raw := sb.SignInitData(botapi.User{ID: 42, FirstName: "Ann"}, time.Now())
	err = initdata.Validate(raw, sb.Token(), time.Hour)
	fmt.Println("valid:", err == nil)
	// Output: valid: true
}

// Advance moves the sandbox clock, which dates updates and transactions.
func ExampleServer_Advance() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sb, err := sandbox.NewUnstarted(sandbox.Config{Now: func() time.Time { return start }})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	fmt.Println(sb.Advance(30 * 24 * time.Hour).Format(time.DateOnly))
	// Output: 2026-01-31
}
