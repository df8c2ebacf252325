package sandbox

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func invoiceParams(mod func(p map[string]any)) map[string]any {
	p := map[string]any{
		"title": "Premium", "description": "30 days of premium", "payload": "order-1",
		"currency": "XTR", "prices": []map[string]any{{"label": "Premium", "amount": 250}},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func TestCreateInvoiceLinkRules(t *testing.T) {
	s := newSandbox(t)
	tests := []struct {
		name     string
		params   map[string]any
		wantDesc string // "" = accepted
	}{
		{"ok, one-time", invoiceParams(nil), ""},
		{"ok, subscription", invoiceParams(func(p map[string]any) { p["subscription_period"] = 2592000 }), ""},
		{"ok, 32-character title", invoiceParams(func(p map[string]any) { p["title"] = strings.Repeat("é", 32) }), ""},
		{"ok, 255-character description", invoiceParams(func(p map[string]any) { p["description"] = strings.Repeat("ж", 255) }), ""},
		{"ok, 128-byte payload", invoiceParams(func(p map[string]any) { p["payload"] = strings.Repeat("x", 128) }), ""},
		{"ok, empty provider token", invoiceParams(func(p map[string]any) { p["provider_token"] = "" }), ""},
		{"ok, subscription at 10000", invoiceParams(func(p map[string]any) {
			p["subscription_period"] = 2592000
			p["prices"] = []map[string]any{{"label": "x", "amount": 10000}}
		}), ""},
		{"ok, one-time above 10000", invoiceParams(func(p map[string]any) {
			p["prices"] = []map[string]any{{"label": "x", "amount": 25000}}
		}), ""},

		{"nok, no title", invoiceParams(func(p map[string]any) { delete(p, "title") }), `Bad Request: parameter "title" is required`},
		{"nok, empty title", invoiceParams(func(p map[string]any) { p["title"] = "" }), `Bad Request: parameter "title" is required`},
		{"nok, 33-character title", invoiceParams(func(p map[string]any) { p["title"] = strings.Repeat("a", 33) }), "Bad Request: INVOICE_TITLE_INVALID"},
		{"nok, no description", invoiceParams(func(p map[string]any) { p["description"] = "" }), `Bad Request: parameter "description" is required`},
		{"nok, 256-character description", invoiceParams(func(p map[string]any) { p["description"] = strings.Repeat("a", 256) }), "Bad Request: INVOICE_DESCRIPTION_INVALID"},
		{"nok, no payload", invoiceParams(func(p map[string]any) { delete(p, "payload") }), `Bad Request: parameter "payload" is required`},
		{"nok, 129-byte payload", invoiceParams(func(p map[string]any) { p["payload"] = strings.Repeat("x", 129) }), "Bad Request: INVOICE_PAYLOAD_INVALID"},
		{"nok, 65 two-byte characters payload", invoiceParams(func(p map[string]any) { p["payload"] = strings.Repeat("é", 65) }), "Bad Request: INVOICE_PAYLOAD_INVALID"},
		{"nok, no currency", invoiceParams(func(p map[string]any) { delete(p, "currency") }), `Bad Request: parameter "currency" is required`},
		{"nok, currency USD", invoiceParams(func(p map[string]any) { p["currency"] = "USD" }), "Bad Request: PAYMENT_PROVIDER_INVALID"},
		{"nok, provider token with XTR", invoiceParams(func(p map[string]any) { p["provider_token"] = "284685063:TEST:abc" }), "Bad Request: STARS_INVOICE_INVALID"},
		{"nok, no prices", invoiceParams(func(p map[string]any) { delete(p, "prices") }), "Bad Request: can't parse prices JSON object"},
		{"nok, prices not an array", invoiceParams(func(p map[string]any) { p["prices"] = map[string]any{"label": "x", "amount": 1} }), "Bad Request: expected an Array of labeled prices"},
		{"nok, empty prices", invoiceParams(func(p map[string]any) { p["prices"] = []any{} }), "Bad Request: there must be at least one price"},
		{"nok, price without amount", invoiceParams(func(p map[string]any) { p["prices"] = []map[string]any{{"label": "x"}} }), "Bad Request: can't parse prices JSON object"},
		{"nok, two prices", invoiceParams(func(p map[string]any) {
			p["prices"] = []map[string]any{{"label": "a", "amount": 1}, {"label": "b", "amount": 2}}
		}), "Bad Request: STARS_INVOICE_INVALID"},
		{"nok, zero amount", invoiceParams(func(p map[string]any) { p["prices"] = []map[string]any{{"label": "x", "amount": 0}} }), "Bad Request: total price must be positive"},
		{"nok, negative amount", invoiceParams(func(p map[string]any) { p["prices"] = []map[string]any{{"label": "x", "amount": -5}} }), "Bad Request: total price must be positive"},
		{"nok, tips with XTR", invoiceParams(func(p map[string]any) { p["max_tip_amount"] = 10 }), "Bad Request: STARS_INVOICE_INVALID"},
		{"nok, suggested tips with XTR", invoiceParams(func(p map[string]any) { p["suggested_tip_amounts"] = []int{1} }), "Bad Request: STARS_INVOICE_INVALID"},
		{"nok, weekly subscription", invoiceParams(func(p map[string]any) { p["subscription_period"] = 604800 }), "Bad Request: SUBSCRIPTION_PERIOD_INVALID"},
		{"nok, subscription above 10000", invoiceParams(func(p map[string]any) {
			p["subscription_period"] = 2592000
			p["prices"] = []map[string]any{{"label": "x", "amount": 10001}}
		}), "Bad Request: STARS_INVOICE_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := callJSON(t, s, "createInvoiceLink", tt.params)
			if tt.wantDesc == "" {
				require.Equal(t, http.StatusOK, status, a.Description)
				assert.True(t, a.OK)
				return
			}
			require.Equal(t, http.StatusBadRequest, status)
			assert.False(t, a.OK)
			assert.Equal(t, 400, a.ErrorCode)
			assert.Equal(t, tt.wantDesc, a.Description)
		})
	}
}

func TestInvalidUTF8Payload(t *testing.T) {
	s := newSandbox(t)
	// Only form encodings can carry invalid UTF-8 (JSON decoding replaces it).
	form := map[string][]string{
		"title": {"T"}, "description": {"D"}, "payload": {"ok\xff"}, "currency": {"XTR"},
		"prices": {`[{"label":"x","amount":1}]`},
	}
	status, a := callForm(t, s, "createInvoiceLink", form)
	require.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "Bad Request: the payload must be encoded in UTF-8", a.Description)
}

func TestSendInvoiceRules(t *testing.T) {
	s := newSandbox(t)
	s.SignInitData(alice, s.Now()) // alice opened the Mini App: the bot may message her
	tests := []struct {
		name     string
		params   map[string]any
		wantDesc string
	}{
		{"ok, to a known user", invoiceParams(func(p map[string]any) { p["chat_id"] = alice.ID }), ""},
		{"ok, subscription_period is not a sendInvoice parameter and is ignored",
			invoiceParams(func(p map[string]any) { p["chat_id"] = alice.ID; p["subscription_period"] = 1 }), ""},
		{"nok, no chat", invoiceParams(nil), "Bad Request: chat_id is empty"},
		{"nok, unknown chat", invoiceParams(func(p map[string]any) { p["chat_id"] = 999 }), "Bad Request: chat not found"},
		{"nok, invalid invoice", invoiceParams(func(p map[string]any) { p["chat_id"] = alice.ID; p["currency"] = "EUR" }), "Bad Request: PAYMENT_PROVIDER_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := callJSON(t, s, "sendInvoice", tt.params)
			if tt.wantDesc == "" {
				require.Equal(t, http.StatusOK, status, a.Description)
				return
			}
			require.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, tt.wantDesc, a.Description)
		})
	}
	sent := s.Sent()
	require.Len(t, sent, 2)
	require.NotNil(t, sent[0].Invoice)
	assert.EqualValues(t, 250, sent[0].Invoice.TotalAmount)
	assert.Equal(t, alice.ID, sent[0].Chat.ID)
}

func TestSetWebhookRules(t *testing.T) {
	s := newSandbox(t)
	tests := []struct {
		name     string
		params   map[string]any
		wantDesc string
	}{
		{"ok, https with secret", map[string]any{"url": "https://example.com/hook", "secret_token": "Abc_123-xyz"}, "Webhook was set"},
		{"ok, same again", map[string]any{"url": "https://example.com/hook", "secret_token": "Abc_123-xyz"}, "Webhook is already set"},
		{"ok, 256-character secret", map[string]any{"url": "https://example.com/hook", "secret_token": strings.Repeat("a", 256)}, "Webhook was set"},
		{"ok, http for local development", map[string]any{"url": "http://127.0.0.1:1/hook"}, "Webhook was set"},
		{"ok, empty url removes", map[string]any{"url": ""}, "Webhook was deleted"},
		{"nok, 257-character secret", map[string]any{"url": "https://example.com/hook", "secret_token": strings.Repeat("a", 257)}, "Bad Request: secret token is too long"},
		{"nok, secret with a space", map[string]any{"url": "https://example.com/hook", "secret_token": "a b"}, "Bad Request: secret token contains unallowed characters"},
		{"nok, secret with a dot", map[string]any{"url": "https://example.com/hook", "secret_token": "a.b"}, "Bad Request: secret token contains unallowed characters"},
		{"nok, ftp url", map[string]any{"url": "ftp://example.com/hook"}, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"},
		{"nok, relative url", map[string]any{"url": "/hook"}, "Bad Request: bad webhook: invalid URL"},
		{"nok, allowed_updates not a list", map[string]any{"url": "https://example.com/x", "allowed_updates": "message"}, "Bad Request: can't parse allowed updates JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := callJSON(t, s, "setWebhook", tt.params)
			if !strings.HasPrefix(tt.wantDesc, "Bad Request") {
				require.Equal(t, http.StatusOK, status, a.Description)
				assert.Equal(t, tt.wantDesc, a.Description)
				assert.JSONEq(t, "true", string(a.Result))
				return
			}
			require.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, tt.wantDesc, a.Description)
		})
	}
}

func TestPaymentMethodRules(t *testing.T) {
	s := newSandbox(t)
	tests := []struct {
		name     string
		method   string
		params   map[string]any
		wantDesc string
	}{
		{"nok, answer refusal without error_message", "answerPreCheckoutQuery",
			map[string]any{"pre_checkout_query_id": "1", "ok": false}, "Bad Request: ERROR_MESSAGE_EMPTY"},
		{"nok, answer unknown query", "answerPreCheckoutQuery",
			map[string]any{"pre_checkout_query_id": "12345", "ok": true},
			"Bad Request: query is too old and response timeout expired or query ID is invalid"},
		{"nok, refund without user", "refundStarPayment",
			map[string]any{"telegram_payment_charge_id": "sbx_X"}, "Bad Request: invalid user_id specified"},
		{"nok, refund without charge", "refundStarPayment",
			map[string]any{"user_id": alice.ID}, "Bad Request: CHARGE_ID_EMPTY"},
		{"nok, refund unknown charge", "refundStarPayment",
			map[string]any{"user_id": alice.ID, "telegram_payment_charge_id": "sbx_NOPE"}, "Bad Request: CHARGE_NOT_FOUND"},
		{"nok, edit unknown subscription", "editUserStarSubscription",
			map[string]any{"user_id": alice.ID, "telegram_payment_charge_id": "sbx_NOPE", "is_canceled": true}, "Bad Request: CHARGE_NOT_FOUND"},
		{"nok, message with empty text", "sendMessage",
			map[string]any{"chat_id": alice.ID, "text": " "}, "Bad Request: message text is empty"},
		{"nok, message too long", "sendMessage",
			map[string]any{"chat_id": alice.ID, "text": strings.Repeat("a", 4097)}, "Bad Request: message is too long"},
		{"nok, message to an unknown chat", "sendMessage",
			map[string]any{"chat_id": 424242, "text": "hi"}, "Bad Request: chat not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := callJSON(t, s, tt.method, tt.params)
			require.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, tt.wantDesc, a.Description)
		})
	}
}
