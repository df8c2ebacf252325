package sandbox

import (
	"context"
	"testing"

	"github.com/starsgate/starsgate/botapi"
)

// BenchmarkPay measures one purchase end to end: pre-checkout query to a
// webhook that answers in its response body, then the successful_payment
// delivered.
func BenchmarkPay(b *testing.B) {
	s, err := New(Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bot, err := botapi.New(botapi.Config{Token: s.Token(), BaseURL: s.URL(), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	h := newHook(b, answerOK)
	ctx := context.Background()
	if err := bot.SetWebhook(ctx, botapi.SetWebhookParams{URL: h.srv.URL}); err != nil {
		b.Fatal(err)
	}
	link, err := bot.CreateInvoiceLink(ctx, starsInvoice("bench", 1))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if _, err := s.Pay(ctx, botapi.User{ID: int64(i%1000 + 1), FirstName: "U"}, link); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.WaitIdle(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCreateInvoiceLink measures one Bot API call through the client.
func BenchmarkCreateInvoiceLink(b *testing.B) {
	s, err := New(Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bot, err := botapi.New(botapi.Config{Token: s.Token(), BaseURL: s.URL(), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	p := starsInvoice("bench", 1)
	for b.Loop() {
		if _, err := bot.CreateInvoiceLink(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}
