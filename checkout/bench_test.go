package checkout_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
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
	benchNewPayments(b, newUnit(b, store, func(c *checkout.Config) { c.OnEvent = nil }))
}

// infoLog formats records at info level, as a production logger does, and
// writes them nowhere.
var infoLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// BenchmarkSuccessfulPaymentMemory records a new consumable payment per
// iteration through Process on the memory store, logging at info level:
// the processor's own cost, without a network round trip.
func BenchmarkSuccessfulPaymentMemory(b *testing.B) {
	benchNewPayments(b, newUnit(b, entitlements.NewMemoryStore(), func(c *checkout.Config) { c.OnEvent = nil; c.Logger = infoLog }))
}

// benchNewPayments processes a new consumable payment of alice per
// iteration, built 1024 at a time outside the timer, and reports updates/s.
func benchNewPayments(b *testing.B, u *unit) {
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

// BenchmarkSuccessfulPaymentDuplicate delivers 1000 recorded payments again
// and again through Process: answered from the duplicate cache, or, with
// the cache off, by the store.
func BenchmarkSuccessfulPaymentDuplicate(b *testing.B) {
	tests := []struct {
		name      string
		givenSize int
		redis     bool
	}{
		{"cached", 0, false},
		{"store-memory", -1, false},
		{"store-redis", -1, true},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			store := entitlements.Store(entitlements.NewMemoryStore())
			if tc.redis {
				store = storeKinds[1].new(b)
			}
			u := newUnit(b, store, func(c *checkout.Config) {
				c.OnEvent = nil
				c.Logger = infoLog
				c.DuplicateCacheSize = tc.givenSize
			})
			ctx := testCtx(b)
			updates := make([][]byte, 1000)
			for i := range updates {
				user := botapi.User{ID: int64(10_000 + i), FirstName: "Buyer"}
				updates[i] = successfulPaymentUpdate(b, int64(i), user, "dup-"+strconv.Itoa(i), u.payload("credits", user.ID), 50)
				if err := u.proc.Process(ctx, updates[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := u.proc.Process(ctx, updates[i%len(updates)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkWebhookDuplicate sends a recorded payment again through the
// webhook handler (secret check, body read, decode, duplicate cache), next
// to a handler that only reads and decodes the body, as the load tool's
// baseline does.
func BenchmarkWebhookDuplicate(b *testing.B) {
	u := newUnit(b, entitlements.NewMemoryStore(), func(c *checkout.Config) { c.OnEvent = nil; c.Logger = infoLog })
	raw := successfulPaymentUpdate(b, 1, alice, "hook-dup-1", u.payload("credits", alice.ID), 50)
	require.NoError(b, u.proc.Process(testCtx(b), raw))
	decode := func(c echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		if _, err := botapi.DecodeUpdate(body); err != nil {
			return c.NoContent(http.StatusBadRequest)
		}
		return c.NoContent(http.StatusOK)
	}
	for _, tc := range []struct {
		name string
		h    echo.HandlerFunc
	}{{"webhook", u.proc.Webhook()}, {"decode-only", decode}} {
		b.Run(tc.name, func(b *testing.B) {
			e := echo.New()
			body := bytes.NewReader(raw)
			req := httptest.NewRequest(http.MethodPost, "/webhook", io.NopCloser(body))
			req.Header.Set(checkout.SecretTokenHeader, hookSecret)
			w := &discardWriter{h: http.Header{}}
			c := e.NewContext(req, w)
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(raw)
				c.Reset(req, w)
				if err := tc.h(c); err != nil || w.code != http.StatusOK {
					b.Fatal(err, w.code)
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
