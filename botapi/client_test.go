package botapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantErr    error
		wantPrefix string
		wantBotID  int64
	}{
		{name: "ok, defaults", cfg: Config{Token: "42:abc"},
			wantPrefix: "https://api.telegram.org/bot42:abc/", wantBotID: 42},
		{name: "ok, trailing slash and path prefix", cfg: Config{Token: "42:abc", BaseURL: "http://127.0.0.1:8081/tg//"},
			wantPrefix: "http://127.0.0.1:8081/tg/bot42:abc/", wantBotID: 42},
		{name: "ok, test environment", cfg: Config{Token: "42:abc", TestEnvironment: true},
			wantPrefix: "https://api.telegram.org/bot42:abc/test/", wantBotID: 42},
		{name: "ok, non-numeric bot id", cfg: Config{Token: "sandbox:abc"},
			wantPrefix: "https://api.telegram.org/botsandbox:abc/", wantBotID: 0},
		{name: "ok, no colon", cfg: Config{Token: "12345"},
			wantPrefix: "https://api.telegram.org/bot12345/", wantBotID: 0},
		{name: "ok, negative id is not an id", cfg: Config{Token: "-5:abc"},
			wantPrefix: "https://api.telegram.org/bot-5:abc/", wantBotID: 0},
		{name: "nok, no token", cfg: Config{}, wantErr: ErrNoToken},
		{name: "nok, token with slash", cfg: Config{Token: "42:a/b"}, wantErr: ErrInvalidToken},
		{name: "nok, token with space", cfg: Config{Token: "42:a b"}, wantErr: ErrInvalidToken},
		{name: "nok, token with newline", cfg: Config{Token: "42:ab\n"}, wantErr: ErrInvalidToken},
		{name: "nok, token with query", cfg: Config{Token: "42:ab?x"}, wantErr: ErrInvalidToken},
		{name: "nok, token with non-ASCII", cfg: Config{Token: "42:äb"}, wantErr: ErrInvalidToken},
		{name: "nok, base URL scheme", cfg: Config{Token: "42:ab", BaseURL: "ftp://example.com"}, wantErr: ErrInvalidBaseURL},
		{name: "nok, base URL relative", cfg: Config{Token: "42:ab", BaseURL: "/api"}, wantErr: ErrInvalidBaseURL},
		{name: "nok, base URL query", cfg: Config{Token: "42:ab", BaseURL: "https://example.com/?a=1"}, wantErr: ErrInvalidBaseURL},
		{name: "nok, base URL unparsable", cfg: Config{Token: "42:ab", BaseURL: "https://exa mple.com"}, wantErr: ErrInvalidBaseURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, c)
				if tt.cfg.Token != "" {
					assert.NotContains(t, err.Error(), tt.cfg.Token)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantPrefix, c.prefix)
			assert.Equal(t, tt.wantBotID, c.BotID())
			assert.Equal(t, DefaultTimeout, c.hc.Timeout)
			assert.NotNil(t, c.log)
			assert.Equal(t, int64(DefaultMaxResponseSize), c.maxBody)
		})
	}
}

func TestRequestPath(t *testing.T) {
	tests := []struct {
		name     string
		prefix   string // path prefix on the base URL
		testEnv  bool
		wantPath string
	}{
		{name: "ok, production", wantPath: "/bot" + testToken + "/getMe"},
		{name: "ok, test environment", testEnv: true, wantPath: "/bot" + testToken + "/test/getMe"},
		{name: "ok, base URL with path and slash", prefix: "/tg/", wantPath: "/tg/bot" + testToken + "/getMe"},
		{name: "ok, test environment under a path", prefix: "/tg", testEnv: true, wantPath: "/tg/bot" + testToken + "/test/getMe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, http.StatusOK, fixture(t, "get_me.json"))
			c, err := New(Config{Token: testToken, BaseURL: f.srv.URL + tt.prefix, TestEnvironment: tt.testEnv})
			require.NoError(t, err)
			_, err = c.GetMe(context.Background())
			require.NoError(t, err)
			r := f.last(t)
			assert.Equal(t, http.MethodPost, r.Method)
			assert.Equal(t, tt.wantPath, r.Path)
			assert.Equal(t, "application/json", r.ContentType)
			assert.JSONEq(t, `{}`, string(r.Body))
		})
	}
}

// TestMethods checks, for every typed method, the method name, the JSON
// body sent and the decoding of the answer.
func TestMethods(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		respond  []byte
		call     func(c *Client) (any, error)
		method   string
		wantBody string
		check    func(t *testing.T, got any)
	}{
		{
			name: "ok, getMe", respond: fixture(t, "get_me.json"), method: "getMe", wantBody: `{}`,
			call: func(c *Client) (any, error) { return c.GetMe(ctx) },
			check: func(t *testing.T, got any) {
				assert.Equal(t, User{ID: 7000000001, IsBot: true, FirstName: "Stars Shop", Username: "stars_shop_bot", CanJoinGroups: true}, got)
			},
		},
		{
			name: "ok, createInvoiceLink for a subscription", respond: okResult(`"https://t.me/$AbCdEf123"`), method: "createInvoiceLink",
			call: func(c *Client) (any, error) {
				return c.CreateInvoiceLink(ctx, CreateInvoiceLinkParams{
					Title: "Premium", Description: "30 days of premium", Payload: "v1.premium.424242.BgcICQoL",
					Currency: CurrencyStars, Prices: []LabeledPrice{{Label: "Premium", Amount: 250}},
					SubscriptionPeriod: SubscriptionPeriod,
					PhotoURL:           "https://shop.example.com/premium.png", PhotoSize: 20480, PhotoWidth: 512, PhotoHeight: 512,
				})
			},
			wantBody: `{"title":"Premium","description":"30 days of premium","payload":"v1.premium.424242.BgcICQoL",
				"currency":"XTR","prices":[{"label":"Premium","amount":250}],"subscription_period":2592000,
				"photo_url":"https://shop.example.com/premium.png","photo_size":20480,"photo_width":512,"photo_height":512}`,
			check: func(t *testing.T, got any) { assert.Equal(t, "https://t.me/$AbCdEf123", got) },
		},
		{
			name: "ok, createInvoiceLink one-time on behalf of a business", respond: okResult(`"https://t.me/$xyz"`), method: "createInvoiceLink",
			call: func(c *Client) (any, error) {
				return c.CreateInvoiceLink(ctx, CreateInvoiceLinkParams{
					BusinessConnectionID: "bc1", Title: "Pro", Description: "Pro forever", Payload: "p",
					Currency: CurrencyStars, Prices: []LabeledPrice{{Label: "Pro", Amount: 1}},
				})
			},
			wantBody: `{"business_connection_id":"bc1","title":"Pro","description":"Pro forever","payload":"p",
				"currency":"XTR","prices":[{"label":"Pro","amount":1}]}`,
			check: func(t *testing.T, got any) { assert.Equal(t, "https://t.me/$xyz", got) },
		},
		{
			name: "ok, sendInvoice", respond: fixture(t, "send_invoice.json"), method: "sendInvoice",
			call: func(c *Client) (any, error) {
				return c.SendInvoice(ctx, SendInvoiceParams{
					ChatID: 424242, Title: "Lifetime Pro", Description: "Every pro feature, forever", Payload: "v1.x",
					Currency: CurrencyStars, Prices: []LabeledPrice{{Label: "Lifetime Pro", Amount: 150}},
					ProtectContent: true, ReplyMarkup: map[string]any{"inline_keyboard": [][]map[string]any{{{"text": "Pay ⭐150", "pay": true}}}},
				})
			},
			wantBody: `{"chat_id":424242,"title":"Lifetime Pro","description":"Every pro feature, forever","payload":"v1.x",
				"currency":"XTR","prices":[{"label":"Lifetime Pro","amount":150}],"protect_content":true,
				"reply_markup":{"inline_keyboard":[[{"text":"Pay ⭐150","pay":true}]]}}`,
			check: func(t *testing.T, got any) {
				m := got.(Message)
				assert.Equal(t, int64(1300), m.MessageID)
				assert.Equal(t, int64(7000000001), m.From.ID)
				assert.Equal(t, Chat{ID: 424242, Type: ChatPrivate, FirstName: "Ada"}, m.Chat)
				assert.Equal(t, &Invoice{Title: "Lifetime Pro", Description: "Every pro feature, forever", Currency: "XTR", TotalAmount: 150}, m.Invoice)
				assert.Contains(t, string(m.Raw), `"invoice"`)
			},
		},
		{
			name: "ok, answerPreCheckoutQuery ok=true", respond: okResult(`true`), method: "answerPreCheckoutQuery",
			call: func(c *Client) (any, error) {
				return nil, c.AnswerPreCheckoutQuery(ctx, AnswerPreCheckoutQueryParams{PreCheckoutQueryID: "1823409834701239487", OK: true})
			},
			wantBody: `{"pre_checkout_query_id":"1823409834701239487","ok":true}`,
		},
		{
			name: "ok, answerPreCheckoutQuery sends ok=false explicitly", respond: okResult(`true`), method: "answerPreCheckoutQuery",
			call: func(c *Client) (any, error) {
				return nil, c.AnswerPreCheckoutQuery(ctx, AnswerPreCheckoutQueryParams{PreCheckoutQueryID: "q", ErrorMessage: "Already owned"})
			},
			wantBody: `{"pre_checkout_query_id":"q","ok":false,"error_message":"Already owned"}`,
		},
		{
			name: "ok, refundStarPayment", respond: okResult(`true`), method: "refundStarPayment",
			call:     func(c *Client) (any, error) { return nil, c.RefundStarPayment(ctx, 424242, "stxOneTimeCharge0001") },
			wantBody: `{"user_id":424242,"telegram_payment_charge_id":"stxOneTimeCharge0001"}`,
		},
		{
			name: "ok, editUserStarSubscription cancel", respond: okResult(`true`), method: "editUserStarSubscription",
			call: func(c *Client) (any, error) {
				return nil, c.EditUserStarSubscription(ctx, 424242, "stxSubscriptionFirst0001", true)
			},
			wantBody: `{"user_id":424242,"telegram_payment_charge_id":"stxSubscriptionFirst0001","is_canceled":true}`,
		},
		{
			name: "ok, editUserStarSubscription resume sends is_canceled=false", respond: okResult(`true`), method: "editUserStarSubscription",
			call: func(c *Client) (any, error) {
				return nil, c.EditUserStarSubscription(ctx, 424242, "stxSubscriptionFirst0001", false)
			},
			wantBody: `{"user_id":424242,"telegram_payment_charge_id":"stxSubscriptionFirst0001","is_canceled":false}`,
		},
		{
			name: "ok, getStarTransactions", respond: fixture(t, "get_star_transactions.json"), method: "getStarTransactions",
			call:     func(c *Client) (any, error) { return c.GetStarTransactions(ctx, 200, 100) },
			wantBody: `{"offset":200,"limit":100}`,
			check:    checkStarTransactions,
		},
		{
			name: "ok, getStarTransactions with server defaults", respond: okResult(`{"transactions":[]}`), method: "getStarTransactions",
			call:     func(c *Client) (any, error) { return c.GetStarTransactions(ctx, 0, 0) },
			wantBody: `{}`,
			check: func(t *testing.T, got any) {
				assert.Equal(t, StarTransactions{Transactions: []StarTransaction{}}, got)
			},
		},
		{
			name: "ok, getMyStarBalance", respond: fixture(t, "get_my_star_balance.json"), method: "getMyStarBalance", wantBody: `{}`,
			call: func(c *Client) (any, error) { return c.GetMyStarBalance(ctx) },
			check: func(t *testing.T, got any) {
				assert.Equal(t, StarAmount{Amount: -42, NanostarAmount: -250000000}, got)
			},
		},
		{
			name: "ok, setWebhook", respond: okResult(`true`), method: "setWebhook",
			call: func(c *Client) (any, error) {
				return nil, c.SetWebhook(ctx, SetWebhookParams{
					URL: "https://shop.example.com/stars/webhook", SecretToken: "s3cr3t_-token",
					AllowedUpdates: []string{AllowMessage, AllowPreCheckoutQuery, AllowSubscription},
					MaxConnections: 10, DropPendingUpdates: true,
				})
			},
			wantBody: `{"url":"https://shop.example.com/stars/webhook","secret_token":"s3cr3t_-token",
				"allowed_updates":["message","pre_checkout_query","subscription"],"max_connections":10,"drop_pending_updates":true}`,
		},
		{
			name: "ok, setWebhook with empty allowed_updates asks for all kinds", respond: okResult(`true`), method: "setWebhook",
			call: func(c *Client) (any, error) {
				return nil, c.SetWebhook(ctx, SetWebhookParams{URL: "https://a.example/", AllowedUpdates: []string{}})
			},
			wantBody: `{"url":"https://a.example/","allowed_updates":[]}`,
		},
		{
			name: "ok, setWebhook with nil allowed_updates keeps the previous setting", respond: okResult(`true`), method: "setWebhook",
			call: func(c *Client) (any, error) {
				return nil, c.SetWebhook(ctx, SetWebhookParams{URL: "https://a.example/"})
			},
			wantBody: `{"url":"https://a.example/"}`,
		},
		{
			name: "ok, deleteWebhook dropping updates", respond: okResult(`true`), method: "deleteWebhook",
			call:     func(c *Client) (any, error) { return nil, c.DeleteWebhook(ctx, true) },
			wantBody: `{"drop_pending_updates":true}`,
		},
		{
			name: "ok, deleteWebhook keeping updates", respond: okResult(`true`), method: "deleteWebhook",
			call:     func(c *Client) (any, error) { return nil, c.DeleteWebhook(ctx, false) },
			wantBody: `{}`,
		},
		{
			name: "ok, getWebhookInfo", respond: fixture(t, "get_webhook_info.json"), method: "getWebhookInfo", wantBody: `{}`,
			call: func(c *Client) (any, error) { return c.GetWebhookInfo(ctx) },
			check: func(t *testing.T, got any) {
				assert.Equal(t, WebhookInfo{
					URL: "https://shop.example.com/stars/webhook", PendingUpdateCount: 3, IPAddress: "203.0.113.7",
					LastErrorDate: 1767225000, LastErrorMessage: "Wrong response from the webhook: 503 Service Unavailable",
					MaxConnections: 40, AllowedUpdates: []string{"message", "pre_checkout_query", "subscription"},
				}, got)
			},
		},
		{
			name: "ok, getUpdates", respond: fixture(t, "get_updates.json"), method: "getUpdates",
			call: func(c *Client) (any, error) {
				return c.GetUpdates(ctx, GetUpdatesParams{Offset: 812470000, Limit: 50, Timeout: 0, AllowedUpdates: []string{"message"}})
			},
			wantBody: `{"offset":812470000,"limit":50,"allowed_updates":["message"]}`,
			check: func(t *testing.T, got any) {
				u := got.([]Update)
				require.Len(t, u, 3)
				assert.Equal(t, KindPreCheckoutQuery, u[0].Kind())
				assert.Equal(t, "1823409834701239487", u[0].PreCheckoutQuery.ID)
				assert.Equal(t, KindMessage, u[1].Kind())
				assert.Equal(t, "stxOneTimeCharge0001", u[1].Message.SuccessfulPayment.TelegramPaymentChargeID)
				assert.Equal(t, "message_reaction", u[2].Kind())
				assert.Equal(t, int64(812470006), u[2].UpdateID)
				for _, x := range u {
					assert.True(t, json.Valid(x.Raw))
					assert.Contains(t, string(x.Raw), `"update_id"`)
				}
			},
		},
		{
			name: "ok, sendMessage", respond: okResult(`{"message_id":5,"chat":{"id":424242,"type":"private"},"date":1767225900,"text":"Write to @shop_support"}`),
			method: "sendMessage",
			call: func(c *Client) (any, error) {
				return c.SendMessage(ctx, SendMessageParams{ChatID: 424242, Text: "Write to @shop_support",
					ReplyParameters: &ReplyParameters{MessageID: 1270}, LinkPreviewOptions: &LinkPreviewOptions{IsDisabled: true}})
			},
			wantBody: `{"chat_id":424242,"text":"Write to @shop_support","reply_parameters":{"message_id":1270},"link_preview_options":{"is_disabled":true}}`,
			check: func(t *testing.T, got any) {
				m := got.(Message)
				assert.Equal(t, int64(5), m.MessageID)
				assert.Equal(t, "Write to @shop_support", m.Text)
				assert.Nil(t, m.From)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, http.StatusOK, tt.respond)
			got, err := tt.call(f.client(t, nil))
			require.NoError(t, err)
			r := f.last(t)
			assert.Equal(t, "/bot"+testToken+"/"+tt.method, r.Path)
			assert.Equal(t, "application/json", r.ContentType)
			assert.JSONEq(t, tt.wantBody, string(r.Body))
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func checkStarTransactions(t *testing.T, got any) {
	txs := got.(StarTransactions).Transactions
	require.Len(t, txs, 4)

	one := txs[0]
	assert.Equal(t, "stxOneTimeCharge0001", one.ID)
	assert.Equal(t, int64(150), one.Amount)
	assert.Equal(t, int64(1767225600), one.Date)
	assert.True(t, one.Incoming())
	assert.Nil(t, one.Receiver)
	assert.Equal(t, PartnerUser, one.Source.Type)
	assert.Equal(t, TransactionInvoicePayment, one.Source.TransactionType)
	assert.Equal(t, int64(424242), one.Source.User.ID)
	assert.Equal(t, "v1.lifetime_pro.424242.AAECAwQF", one.Source.InvoicePayload)
	assert.Zero(t, one.Source.SubscriptionPeriod)

	sub := txs[1]
	assert.True(t, sub.Incoming())
	assert.Equal(t, int64(SubscriptionPeriod), sub.Source.SubscriptionPeriod)
	assert.Equal(t, "v1.premium.424242.BgcICQoL", sub.Source.InvoicePayload)
	assert.Equal(t, &AffiliateInfo{AffiliateUser: &User{ID: 515151, FirstName: "Partner"}, CommissionPerMille: 100, Amount: 25}, sub.Source.Affiliate)

	refund := txs[2]
	assert.Equal(t, one.ID, refund.ID, "a refund reuses the payment's id")
	assert.False(t, refund.Incoming())
	assert.Nil(t, refund.Source)
	assert.Equal(t, int64(150), refund.Amount)
	assert.Equal(t, PartnerUser, refund.Receiver.Type)
	assert.Equal(t, int64(424242), refund.Receiver.User.ID)

	wd := txs[3]
	assert.False(t, wd.Incoming())
	assert.Equal(t, int64(500000000), wd.NanostarAmount)
	assert.Equal(t, PartnerFragment, wd.Receiver.Type)
	assert.Nil(t, wd.Receiver.User)
	var raw struct {
		WithdrawalState struct {
			Type string `json:"type"`
		} `json:"withdrawal_state"`
	}
	require.NoError(t, json.Unmarshal(wd.Receiver.Raw, &raw), "Raw keeps the variant's other fields")
	assert.Equal(t, "succeeded", raw.WithdrawalState.Type)
}

func TestCall(t *testing.T) {
	f := newFakeAPI(t, http.StatusOK, okResult(`{"total_count":2,"photos":[]}`))
	c := f.client(t, nil)
	ctx := context.Background()

	t.Run("ok, any method with map params and a result", func(t *testing.T) {
		var got struct {
			TotalCount int `json:"total_count"`
		}
		require.NoError(t, c.Call(ctx, "getUserProfilePhotos", map[string]any{"user_id": 424242, "limit": 1}, &got))
		assert.Equal(t, 2, got.TotalCount)
		r := f.last(t)
		assert.Equal(t, "/bot"+testToken+"/getUserProfilePhotos", r.Path)
		assert.JSONEq(t, `{"user_id":424242,"limit":1}`, string(r.Body))
	})
	t.Run("ok, raw JSON params and nil result", func(t *testing.T) {
		require.NoError(t, c.Call(ctx, "close", json.RawMessage(`{"a":1}`), nil))
		assert.JSONEq(t, `{"a":1}`, string(f.last(t).Body))
	})
	for _, m := range []string{"", "get/Me", "getMe?x=1", "../getMe", "get Me", strings.Repeat("a", 65)} {
		t.Run("nok, invalid method "+m, func(t *testing.T) {
			before := f.count()
			err := c.Call(ctx, m, nil, nil)
			require.ErrorIs(t, err, ErrInvalidMethod)
			assert.Equal(t, before, f.count(), "nothing is sent")
		})
	}
	t.Run("nok, params that do not encode", func(t *testing.T) {
		err := c.Call(ctx, "sendMessage", map[string]any{"x": make(chan int)}, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "sendMessage")
	})
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    []byte
		want    *Error
		wantIs  error
		checkFn func(t *testing.T, err error)
	}{
		{
			name: "nok, 429 with retry_after", status: 429, body: fixture(t, "error_retry_after.json"),
			want: &Error{Method: "sendMessage", Code: 429, Description: "Too Many Requests: retry after 7", RetryAfter: 7},
			checkFn: func(t *testing.T, err error) {
				d, ok := RetryAfter(err)
				assert.True(t, ok)
				assert.Equal(t, 7*time.Second, d)
				assert.False(t, IsConflict(err))
				assert.Equal(t, "botapi: sendMessage: 429 Too Many Requests: retry after 7 (retry after 7s)", err.Error())
			},
		},
		{
			name: "nok, charge already refunded", status: 400, body: fixture(t, "error_charge_already_refunded.json"),
			want: &Error{Method: "sendMessage", Code: 400, Description: "Bad Request: CHARGE_ALREADY_REFUNDED"},
			checkFn: func(t *testing.T, err error) {
				assert.True(t, IsChargeAlreadyRefunded(err))
				assert.True(t, IsChargeAlreadyRefunded(errors.Join(errors.New("refund"), err)), "found through wrapping")
				_, ok := RetryAfter(err)
				assert.False(t, ok)
				assert.Equal(t, "botapi: sendMessage: 400 Bad Request: CHARGE_ALREADY_REFUNDED", err.Error())
			},
		},
		{
			name: "nok, conflict", status: 409, body: fixture(t, "error_conflict.json"),
			want: &Error{Method: "sendMessage", Code: 409, Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"},
			checkFn: func(t *testing.T, err error) {
				assert.True(t, IsConflict(err))
				assert.False(t, IsUnauthorized(err))
				assert.False(t, IsChargeAlreadyRefunded(err))
			},
		},
		{
			name: "nok, unauthorized", status: 401, body: fixture(t, "error_unauthorized.json"),
			want:    &Error{Method: "sendMessage", Code: 401, Description: "Unauthorized"},
			checkFn: func(t *testing.T, err error) { assert.True(t, IsUnauthorized(err)) },
		},
		{
			name: "nok, migrate_to_chat_id", status: 400, body: fixture(t, "error_migrate.json"),
			want: &Error{Method: "sendMessage", Code: 400, Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatID: -1001234567890},
		},
		{
			name: "nok, ok=false without error_code takes the HTTP status", status: 403, body: []byte(`{"ok":false,"description":"Forbidden: bot was blocked by the user"}`),
			want: &Error{Method: "sendMessage", Code: 403, Description: "Forbidden: bot was blocked by the user"},
		},
		{
			name: "nok, non-JSON gateway error", status: 502, body: []byte("<html><body>502 Bad Gateway</body></html>"),
			want: &Error{Method: "sendMessage", Code: 502, Description: "non-JSON answer: 502 Bad Gateway"},
			checkFn: func(t *testing.T, err error) {
				assert.False(t, IsUnauthorized(err))
			},
		},
		{
			name: "nok, 200 with a non-JSON body", status: 200, body: []byte("hello"), wantIs: ErrMalformedResponse,
		},
		{
			name: "nok, ok=true with a result of the wrong type", status: 200, body: okResult(`"not a message"`), wantIs: ErrMalformedResponse,
		},
		{
			name: "nok, ok=true without a result", status: 200, body: []byte(`{"ok":true}`), wantIs: ErrMalformedResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, tt.status, tt.body)
			var logs bytes.Buffer
			_, err := f.client(t, &logs).SendMessage(context.Background(), SendMessageParams{ChatID: 1, Text: "hi"})
			require.Error(t, err)
			if tt.want != nil {
				e, ok := errors.AsType[*Error](err)
				require.True(t, ok, "want *Error, got %T: %v", err, err)
				assert.Equal(t, tt.want, e)
			}
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			if tt.checkFn != nil {
				tt.checkFn(t, err)
			}
			assert.NotContains(t, err.Error(), testToken)
			assert.NotContains(t, logs.String(), testToken)
		})
	}
}

func TestErrorHelpersOnOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("CHARGE_ALREADY_REFUNDED"), context.Canceled} {
		assert.False(t, IsChargeAlreadyRefunded(err))
		assert.False(t, IsUnauthorized(err))
		assert.False(t, IsConflict(err))
		_, ok := RetryAfter(err)
		assert.False(t, ok)
	}
}

func TestResponseTooLarge(t *testing.T) {
	f := newFakeAPI(t, http.StatusOK, okResult(`"`+strings.Repeat("x", 2000)+`"`))
	c, err := New(Config{Token: testToken, BaseURL: f.srv.URL, MaxResponseSize: 1024})
	require.NoError(t, err)
	_, err = c.CreateInvoiceLink(context.Background(), CreateInvoiceLinkParams{})
	require.ErrorIs(t, err, ErrResponseTooLarge)

	c, err = New(Config{Token: testToken, BaseURL: f.srv.URL, MaxResponseSize: 4096})
	require.NoError(t, err)
	link, err := c.CreateInvoiceLink(context.Background(), CreateInvoiceLinkParams{})
	require.NoError(t, err)
	assert.Len(t, link, 2000)
}

// TestTransportErrorsHideToken forces failures inside net/http, whose
// *url.Error carries the request URL and so the token.
func TestTransportErrorsHideToken(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // connection refused from now on

	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stop) }) // runs before hang.Close

	hijack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close() // no answer at all
		}
	}))
	t.Cleanup(hijack.Close)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		baseURL string
		client  *http.Client
		ctx     context.Context
		wantIs  error
	}{
		{name: "nok, connection refused", baseURL: closedURL, ctx: context.Background()},
		{name: "nok, connection closed without answer", baseURL: hijack.URL, ctx: context.Background()},
		{name: "nok, client timeout", baseURL: hang.URL, client: &http.Client{Timeout: 50 * time.Millisecond}, ctx: context.Background()},
		{name: "nok, context canceled", baseURL: hang.URL, ctx: canceled, wantIs: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			c, err := New(Config{Token: testToken, BaseURL: tt.baseURL, HTTPClient: tt.client, Logger: debugLogger(&logs)})
			require.NoError(t, err)
			_, err = c.GetMe(tt.ctx)
			require.Error(t, err)
			msg := err.Error()
			assert.NotContains(t, msg, testToken)
			assert.NotContains(t, msg, "/bot")
			assert.True(t, strings.HasPrefix(msg, "botapi: getMe: "), msg)
			for e := err; e != nil; e = errors.Unwrap(e) {
				assert.NotContains(t, e.Error(), testToken, "wrapped errors hide the token too")
			}
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			assert.Contains(t, logs.String(), "method=getMe")
			assert.NotContains(t, logs.String(), testToken)
		})
	}
}

// TestTokenRedactedFromCause covers a cause whose own text holds the token
// (a transport that puts the URL in its error).
func TestTokenRedactedFromCause(t *testing.T) {
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused for " + r.URL.String())}
	})
	var logs bytes.Buffer
	c, err := New(Config{Token: testToken, HTTPClient: &http.Client{Transport: rt}, Logger: debugLogger(&logs)})
	require.NoError(t, err)
	_, err = c.SendMessage(context.Background(), SendMessageParams{ChatID: 1, Text: "x"})
	require.Error(t, err)
	for e := err; e != nil; e = errors.Unwrap(e) {
		assert.NotContains(t, e.Error(), testToken)
	}
	assert.Contains(t, err.Error(), "<token>")
	assert.NotContains(t, logs.String(), testToken)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSuccessLogsHideToken(t *testing.T) {
	f := newFakeAPI(t, http.StatusOK, fixture(t, "get_me.json"))
	var logs bytes.Buffer
	_, err := f.client(t, &logs).GetMe(context.Background())
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "method=getMe")
	assert.Contains(t, logs.String(), "status=200")
	assert.NotContains(t, logs.String(), testToken)
	assert.NotContains(t, logs.String(), f.srv.URL)
}

// TestGetUpdatesExtendsTimeout checks that a long poll gets the client's
// timeout plus its own, without changing the shared client.
func TestGetUpdatesExtendsTimeout(t *testing.T) {
	var deadlines []time.Time
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		d, _ := r.Context().Deadline()
		deadlines = append(deadlines, d)
		return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}}, nil
	})
	hc := &http.Client{Transport: rt, Timeout: 2 * time.Second}
	c, err := New(Config{Token: testToken, HTTPClient: hc})
	require.NoError(t, err)

	start := time.Now()
	_, _ = c.GetUpdates(context.Background(), GetUpdatesParams{Timeout: 50})
	_, _ = c.GetUpdates(context.Background(), GetUpdatesParams{})
	require.Len(t, deadlines, 2)
	assert.True(t, deadlines[0].After(start.Add(50*time.Second)), "long poll deadline covers the poll: %v", deadlines[0].Sub(start))
	assert.True(t, deadlines[1].Before(start.Add(50*time.Second)), "short poll keeps the client timeout: %v", deadlines[1].Sub(start))
	assert.Equal(t, 2*time.Second, hc.Timeout, "the caller's client is not modified")
}

// TestPrintingHidesToken: a client or its configuration in a log line, an
// error message or a panic shows no token, whatever the verb.
func TestPrintingHidesToken(t *testing.T) {
	cfg := Config{Token: testToken, BaseURL: "https://bots.example.com"}
	c, err := New(cfg)
	require.NoError(t, err)
	for _, v := range []any{c, *c, cfg, &cfg, []any{c}, struct{ C *Client }{c}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%q", "%x"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, testToken, verb)
			assert.NotContains(t, out, "bot"+testToken, verb)
		}
	}
	assert.Equal(t, "botapi.Client{bot: 123456789, token: <redacted>}", fmt.Sprint(c))

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("client", "c", c, "cfg", cfg, "pcfg", &cfg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("client", "c", c, "cfg", cfg, "v", *c)
	assert.NotContains(t, logs.String(), testToken)
	assert.Contains(t, logs.String(), "<redacted>")

	func() {
		defer func() {
			assert.NotContains(t, fmt.Sprint(recover()), testToken)
		}()
		panic(c)
	}()
}
