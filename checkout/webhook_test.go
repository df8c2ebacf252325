package checkout_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
)

// downStore fails every call as an unreachable store does.
type downStore struct{ entitlements.Store }

var errDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (downStore) Load(context.Context, int64) (entitlements.State, error) {
	return entitlements.State{}, errDown
}

// slowStore reads slower than any budget: Load waits for the context.
type slowStore struct{ entitlements.Store }

func (slowStore) Load(ctx context.Context, _ int64) (entitlements.State, error) {
	<-ctx.Done()
	return entitlements.State{}, ctx.Err()
}

func (downStore) RecordPayment(context.Context, entitlements.Payment) (entitlements.Change, error) {
	return entitlements.Change{}, errDown
}

func (downStore) RefundPayment(context.Context, int64, string, time.Time) (entitlements.Change, error) {
	return entitlements.Change{}, errDown
}

// unit is a processor on a fake bot, for tests that need no sandbox.
type unit struct {
	proc    *checkout.Processor
	bot     *fakeBot
	store   entitlements.Store
	other   atomic.Int32 // OnUpdate calls
	events  *events
	payload func(product string, user int64) string
}

func newUnit(t testing.TB, store entitlements.Store, mods ...func(*checkout.Config)) *unit {
	t.Helper()
	codec := newCodec(t, "100000001:unit-token")
	u := &unit{bot: &fakeBot{}, store: store, events: &events{}}
	cfg := checkout.Config{
		Bot: u.bot, Catalog: testCatalog(t), Store: store, Payloads: codec, WebhookSecret: hookSecret,
		OnEvent: u.events.add, Logger: quiet,
		OnUpdate: func(context.Context, botapi.Update) error { u.other.Add(1); return nil },
	}
	for _, m := range mods {
		m(&cfg)
	}
	p, err := checkout.New(cfg)
	require.NoError(t, err)
	u.proc = p
	u.payload = func(product string, user int64) string {
		s, err := codec.Encode(invoicePayload(product, user))
		require.NoError(t, err)
		return s
	}
	return u
}

func preCheckoutUpdate(t testing.TB, user botapi.User, currency string, amount int64, payload string) []byte {
	t.Helper()
	raw, err := json.Marshal(botapi.Update{UpdateID: 3, PreCheckoutQuery: &botapi.PreCheckoutQuery{
		ID: "q1", From: user, Currency: currency, TotalAmount: amount, InvoicePayload: payload,
	}})
	require.NoError(t, err)
	return raw
}

func (u *unit) post(t testing.TB, secret string, body string) *httptest.ResponseRecorder {
	t.Helper()
	e := echo.New()
	e.POST("/webhook", u.proc.Webhook())
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	if secret != "" {
		req.Header.Set(checkout.SecretTokenHeader, secret)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestWebhook(t *testing.T) {
	ctx := testCtx(t)
	tests := []struct {
		name         string
		givenStore   entitlements.Store
		givenSecret  string
		givenBody    func(u *unit) string
		whenInBody   bool
		expectStatus int
		expectCode   string // SPEC error code, when an error body is expected
		expectOther  int32  // OnUpdate calls
		expectPaid   bool
	}{
		{name: "nok, missing secret", givenBody: func(*unit) string { return `{"update_id":1,"message":{"text":"hi","chat":{"id":1}}}` },
			expectStatus: http.StatusUnauthorized, expectCode: "unauthorized"},
		{name: "nok, wrong secret", givenSecret: hookSecret + "x", givenBody: func(*unit) string { return `{"update_id":1,"message":{"text":"hi","chat":{"id":1}}}` },
			expectStatus: http.StatusUnauthorized, expectCode: "unauthorized"},
		{name: "nok, body too large", givenSecret: hookSecret, givenBody: func(*unit) string {
			return `{"update_id":1,"message":{"text":"` + strings.Repeat("a", 2<<20) + `","chat":{"id":1}}}`
		}, expectStatus: http.StatusRequestEntityTooLarge, expectCode: "payload_too_large"},
		{name: "ok, malformed JSON is acknowledged", givenSecret: hookSecret, givenBody: func(*unit) string { return `{"update_id":` },
			expectStatus: http.StatusOK},
		{name: "ok, other updates go to OnUpdate", givenSecret: hookSecret, givenBody: func(*unit) string {
			return `{"update_id":1,"callback_query":{"id":"c"}}`
		}, expectStatus: http.StatusOK, expectOther: 1},
		{name: "ok, payment recorded", givenSecret: hookSecret, givenBody: func(u *unit) string {
			return string(successfulPaymentUpdate(t, 5, alice, "c-1", u.payload("lifetime", alice.ID), 500))
		}, expectStatus: http.StatusOK, expectPaid: true},
		{name: "ok, payment for a product gone is acknowledged", givenSecret: hookSecret, givenBody: func(u *unit) string {
			return string(successfulPaymentUpdate(t, 5, alice, "c-1", u.payload("gone", alice.ID), 500))
		}, expectStatus: http.StatusOK},
		{name: "ok, payment of an invoice not ours goes to OnUpdate", givenSecret: hookSecret, givenBody: func(u *unit) string {
			return string(successfulPaymentUpdate(t, 5, alice, "c-1", "shop:order-17", 500))
		}, expectStatus: http.StatusOK, expectOther: 1},
		{name: "ok, checkout of an invoice not ours goes to OnUpdate", givenSecret: hookSecret, whenInBody: false, givenBody: func(u *unit) string {
			return string(preCheckoutUpdate(t, alice, "XTR", 500, "shop:order-17"))
		}, expectStatus: http.StatusOK, expectOther: 1},
		{name: "nok, store down: 503 so that Telegram retries", givenStore: downStore{}, givenSecret: hookSecret, givenBody: func(u *unit) string {
			return string(successfulPaymentUpdate(t, 5, alice, "c-1", u.payload("lifetime", alice.ID), 500))
		}, expectStatus: http.StatusServiceUnavailable, expectCode: "unavailable"},
		{name: "ok, refused checkout is acknowledged", givenSecret: hookSecret, givenBody: func(u *unit) string {
			return string(preCheckoutUpdate(t, bob, "XTR", 500, u.payload("lifetime", alice.ID)))
		}, expectStatus: http.StatusOK},
		{name: "ok, checkout answered in the response body", givenSecret: hookSecret, whenInBody: true, givenBody: func(u *unit) string {
			return string(preCheckoutUpdate(t, alice, "XTR", 500, u.payload("lifetime", alice.ID)))
		}, expectStatus: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.givenStore
			if store == nil {
				store = entitlements.NewMemoryStore()
			}
			u := newUnit(t, store, func(c *checkout.Config) { c.AnswerInWebhookResponse = tc.whenInBody })
			rec := u.post(t, tc.givenSecret, tc.givenBody(u))
			assert.Equal(t, tc.expectStatus, rec.Code)
			if tc.expectCode != "" {
				var body struct {
					Error struct{ Code, Message string }
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				assert.Equal(t, tc.expectCode, body.Error.Code)
				assert.NotEmpty(t, body.Error.Message)
			}
			assert.Equal(t, tc.expectOther, u.other.Load())
			if tc.givenStore == nil {
				_, err := store.Payment(ctx, alice.ID, "c-1")
				if tc.expectPaid {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, entitlements.ErrPaymentNotFound)
				}
			}
			if tc.whenInBody {
				var reply map[string]any
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &reply))
				assert.Equal(t, "answerPreCheckoutQuery", reply["method"])
				assert.Equal(t, "q1", reply["pre_checkout_query_id"])
				assert.Equal(t, true, reply["ok"])
				assert.Empty(t, u.bot.answers, "no separate API call")
			}
		})
	}
}

func TestWebhookWithoutSecretRefusesAll(t *testing.T) {
	u := newUnit(t, entitlements.NewMemoryStore(), func(c *checkout.Config) { c.WebhookSecret = "" })
	rec := u.post(t, "anything", `{"update_id":1,"callback_query":{"id":"c"}}`)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Zero(t, u.other.Load())
}
