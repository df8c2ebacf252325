package sandbox

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
)

var linkRE = regexp.MustCompile(`^https://t\.me/\$[A-Za-z0-9_-]+$`)

func TestRequestEncodings(t *testing.T) {
	s := newSandbox(t)
	prices := `[{"label":"Premium","amount":250}]`
	form := url.Values{
		"title": {"Premium"}, "description": {"30 days"}, "payload": {"p-1"},
		"currency": {"XTR"}, "prices": {prices}, "subscription_period": {"2592000"},
	}
	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	for k, v := range form {
		require.NoError(t, mw.WriteField(k, v[0]))
	}
	fw, err := mw.CreateFormFile("photo", "ignored.jpg") // files are accepted and ignored
	require.NoError(t, err)
	_, _ = fw.Write([]byte{0xff, 0xd8})
	require.NoError(t, mw.Close())
	jsonBody := []byte(`{"title":"Premium","description":"30 days","payload":"p-1","currency":"XTR",` +
		`"prices":[{"label":"Premium","amount":250}],"subscription_period":2592000,"photo_url":null}`)
	// JSON-typed parameters may also arrive as JSON strings inside JSON.
	jsonStringPrices := []byte(`{"title":"Premium","description":"30 days","payload":"p-1","currency":"XTR",` +
		`"prices":` + mustJSON(t, prices) + `,"subscription_period":"2592000"}`)

	tests := []struct {
		name        string
		httpMethod  string
		query       string
		contentType string
		body        []byte
	}{
		{"ok, GET with query string", http.MethodGet, form.Encode(), "", nil},
		{"ok, POST with query string", http.MethodPost, form.Encode(), "", nil},
		{"ok, urlencoded body", http.MethodPost, "", "application/x-www-form-urlencoded", []byte(form.Encode())},
		{"ok, urlencoded body with charset", http.MethodPost, "", "application/x-www-form-urlencoded; charset=utf-8", []byte(form.Encode())},
		{"ok, JSON body", http.MethodPost, "", "application/json", jsonBody},
		{"ok, JSON body with string-encoded prices", http.MethodPost, "", "application/json; charset=utf-8", jsonStringPrices},
		{"ok, multipart body", http.MethodPost, "", mw.FormDataContentType(), multi.Bytes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/bot" + s.Token() + "/createInvoiceLink"
			if tt.query != "" {
				path += "?" + tt.query
			}
			status, a := rawCall(t, s, tt.httpMethod, path, tt.contentType, tt.body)
			require.Equal(t, http.StatusOK, status, a.Description)
			require.True(t, a.OK)
			var link string
			require.NoError(t, json.Unmarshal(a.Result, &link))
			assert.Regexp(t, linkRE, link)
			slug, ok := invoiceSlug(link)
			require.True(t, ok)
			s.mu.Lock()
			inv := s.invoices[slug]
			s.mu.Unlock()
			require.NotNil(t, inv)
			assert.Equal(t, "p-1", inv.payload)
			assert.EqualValues(t, 250, inv.amount)
			assert.EqualValues(t, botapi.SubscriptionPeriod, inv.subscriptionPeriod)
		})
	}
}

func TestMethodNamesAndPaths(t *testing.T) {
	s := newSandbox(t)
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantDesc   string
	}{
		{"ok, canonical name", "/bot" + s.Token() + "/getMe", 200, ""},
		{"ok, lower case", "/bot" + s.Token() + "/getme", 200, ""},
		{"ok, upper case", "/bot" + s.Token() + "/GETME", 200, ""},
		{"ok, test environment", "/bot" + s.Token() + "/test/getMe", 200, ""},
		{"nok, wrong token", "/bot100000001:wrong/getMe", 401, "Unauthorized"},
		{"nok, wrong token and unknown method", "/bot100000001:wrong/nope", 401, "Unauthorized"},
		{"nok, token without method", "/bot" + s.Token(), 404, "Not Found"},
		{"nok, unknown method", "/bot" + s.Token() + "/sendSticker", 404, "Not Found"},
		{"nok, empty method", "/bot" + s.Token() + "/", 404, "Not Found"},
		{"nok, not a bot path", "/nothing", 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := rawCall(t, s, http.MethodGet, tt.path, "", nil)
			require.Equal(t, tt.wantStatus, status)
			if tt.wantStatus != 200 {
				assert.False(t, a.OK)
				assert.Equal(t, tt.wantStatus, a.ErrorCode)
				assert.Equal(t, tt.wantDesc, a.Description)
				return
			}
			var me botapi.User
			require.NoError(t, json.Unmarshal(a.Result, &me))
			assert.Equal(t, s.BotID(), me.ID)
			assert.True(t, me.IsBot)
			assert.Equal(t, DefaultBotUsername, me.Username)
		})
	}
}

func TestUnauthorizedBodyIsTelegrams(t *testing.T) {
	s := newSandbox(t)
	resp, err := http.Get(s.URL() + "/bot1:bad/getMe")
	require.NoError(t, err)
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.JSONEq(t, `{"ok":false,"error_code":401,"description":"Unauthorized"}`, raw.String())
}

func TestClientAgainstSandbox(t *testing.T) {
	s := newSandbox(t, func(c *Config) { c.Token = "777:abc_DEF-123"; c.BotUsername = "shop_bot" })
	c := newClient(t, s)
	ctx := testCtx(t)

	me, err := c.GetMe(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 777, me.ID)
	assert.Equal(t, "shop_bot", me.Username)

	bad, err := botapi.New(botapi.Config{Token: "777:other", BaseURL: s.URL(), Logger: quiet})
	require.NoError(t, err)
	_, err = bad.GetMe(ctx)
	require.True(t, botapi.IsUnauthorized(err), "%v", err)
	assert.NotContains(t, err.Error(), "other")

	testEnv, err := botapi.New(botapi.Config{Token: s.Token(), BaseURL: s.URL(), TestEnvironment: true, Logger: quiet})
	require.NoError(t, err)
	_, err = testEnv.GetMe(ctx)
	require.NoError(t, err)

	// sendInvoice through the typed method: to a user who opened the Mini
	// App, and refused (a Telegram-shaped error) to a chat the bot never saw.
	s.SignInitData(alice, s.Now())
	inv := botapi.SendInvoiceParams{
		ChatID: alice.ID, Title: "Pro", Description: "Pro for a month", Payload: "p1",
		Currency: botapi.CurrencyStars, Prices: []botapi.LabeledPrice{{Label: "Pro", Amount: 250}},
	}
	m, err := c.SendInvoice(ctx, inv)
	require.NoError(t, err)
	assert.Equal(t, alice.ID, m.Chat.ID)
	require.NotNil(t, m.Invoice)
	assert.EqualValues(t, 250, m.Invoice.TotalAmount)
	assert.Equal(t, botapi.CurrencyStars, m.Invoice.Currency)
	inv.ChatID = 999
	_, err = c.SendInvoice(ctx, inv)
	var apiErr *botapi.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.Code)
	assert.Equal(t, "Bad Request: chat not found", apiErr.Description)
}

func TestMalformedBodies(t *testing.T) {
	s := newSandbox(t)
	path := "/bot" + s.Token() + "/getMe"
	tests := []struct {
		name        string
		contentType string
		body        string
	}{
		{"nok, JSON array", "application/json", `[1,2]`},
		{"nok, broken JSON", "application/json", `{"a":`},
		{"nok, multipart without boundary", "multipart/form-data", "--x\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := rawCall(t, s, http.MethodPost, path, tt.contentType, []byte(tt.body))
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Regexp(t, `^Bad Request: `, a.Description)
		})
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr error
	}{
		{"ok, defaults", Config{}, nil},
		{"nok, token without colon", Config{Token: "12345"}, ErrInvalidToken},
		{"nok, token with non-numeric id", Config{Token: "abc:def"}, ErrInvalidToken},
		{"nok, token with a slash", Config{Token: "1:a/b"}, ErrInvalidToken},
		{"nok, negative timeout", Config{PreCheckoutTimeout: -1}, ErrInvalidConfig},
		{"nok, retry min above max", Config{WebhookRetryMin: 2e9, WebhookRetryMax: 1e9}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewUnstarted(tt.cfg)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				if tt.cfg.Token != "" {
					assert.NotContains(t, err.Error(), tt.cfg.Token)
				}
				return
			}
			require.NoError(t, err)
			defer s.Close()
			assert.Equal(t, DefaultToken, s.Token())
			assert.EqualValues(t, 100000001, s.BotID())
			assert.Empty(t, s.URL())
		})
	}
}

func TestStartTwice(t *testing.T) {
	s := newSandbox(t)
	require.ErrorIs(t, s.Start(), ErrStarted)
	s.Close()
	s.Close() // idempotent
}

func TestMountedHandler(t *testing.T) {
	s, err := NewUnstarted(Config{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	bot, err := botapi.New(botapi.Config{Token: s.Token(), BaseURL: srv.URL, Logger: quiet})
	require.NoError(t, err)
	ctx := testCtx(t)

	h := newHook(t, answerOK)
	require.NoError(t, bot.SetWebhook(ctx, botapi.SetWebhookParams{URL: h.srv.URL}))
	link, err := bot.CreateInvoiceLink(ctx, starsInvoice("mounted", 7))
	require.NoError(t, err)
	r, err := s.Pay(ctx, alice, link)
	require.NoError(t, err)
	require.NoError(t, s.WaitIdle(ctx))
	ups := h.updates()
	require.Len(t, ups, 2)
	assert.Equal(t, r.ChargeID, ups[1].Message.SuccessfulPayment.TelegramPaymentChargeID)
}
