package checkout_test

import (
	"strconv"
	"testing"

	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
)

// BenchmarkPreCheckout measures a whole pre-checkout decision through
// Process (decode, payload check, fresh state read, answer to a fake Bot
// API) for a one-time product, which reads the buyer's state.
func BenchmarkPreCheckout(b *testing.B) {
	for _, sk := range storeKinds {
		b.Run(sk.name, func(b *testing.B) {
			u := newUnit(b, sk.new(b))
			raw := preCheckoutUpdate(b, alice, "XTR", 500, u.payload("lifetime", alice.ID))
			ctx := testCtx(b)
			if err := u.proc.Process(ctx, raw); err != nil {
				b.Fatal(err)
			}
			if a := u.bot.lastAnswer(b); !a.OK {
				b.Fatalf("refused: %s", a.ErrorMessage)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := u.proc.Process(ctx, raw); err != nil {
					b.Fatal(err)
				}
				u.bot.answers = u.bot.answers[:0]
			}
		})
	}
}

// BenchmarkSuccessfulPayment records a new consumable payment per
// iteration through Process, with the Redis store.
func BenchmarkSuccessfulPayment(b *testing.B) {
	store := entitlements.NewRedisStore(redistest.Client(b), entitlements.RedisOptions{Prefix: redistest.Prefix(b), Logger: quiet})
	u := newUnit(b, store, func(c *checkout.Config) { c.OnEvent = nil })
	payload := u.payload("credits", alice.ID)
	updates := make([][]byte, 0, 1024)
	ctx := testCtx(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(updates) {
			b.StopTimer()
			for j := range 1024 {
				n := int64(i + j)
				updates = append(updates, successfulPaymentUpdate(b, n, alice, "bench-"+strconv.FormatInt(n, 10), payload, 50))
			}
			b.StartTimer()
		}
		if err := u.proc.Process(ctx, updates[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "updates/s")
}
