package starsgate

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
	"github.com/starsgate/starsgate/sandbox"
)

const testSecret = "hook-secret"

// fixture is a gate mounted at /stars on an httptest server, talking to a
// sandbox whose webhook points at it.
type fixture struct {
	sb   *sandbox.Server
	gate *Gate
	srv  *httptest.Server
}

func newFixture(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb, err := sandbox.New(sandbox.Config{
		PreCheckoutTimeout: 5 * time.Second, WebhookRetryMin: 5 * time.Millisecond,
		WebhookRetryMax: 50 * time.Millisecond, Logger: quiet,
	})
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	cfg := Config{
		BotToken: sb.Token(), APIURL: sb.URL(), Catalog: testCatalog(t),
		Store: entitlements.NewMemoryStore(), WebhookSecret: testSecret, Logger: quiet,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	gate, err := New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, gate.Start(ctx))
	e := echo.New()
	gate.Mount(e.Group("/stars"))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	require.NoError(t, gate.SetWebhook(ctx, srv.URL+"/stars/webhook"))
	return &fixture{sb: sb, gate: gate, srv: srv}
}

func (f *fixture) do(t *testing.T, method, path, initData, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if initData != "" {
		req.Header.Set("Authorization", "tma "+initData)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "body %s", raw)
	}
	return res.StatusCode, out
}

func TestMount_Products(t *testing.T) {
	f := newFixture(t)
	status, body := f.do(t, http.MethodGet, "/stars/products", "", "")
	require.Equal(t, http.StatusOK, status)
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"products":[
		{"id":"pro","title":"Pro","description":"Premium features, renewed monthly","price":100,"currency":"XTR","kind":"subscription","period_seconds":2592000,"features":["premium"],"credits":{}},
		{"id":"export","title":"Export","description":"Export for a week","price":50,"currency":"XTR","kind":"one_time","duration_seconds":604800,"features":["export"],"credits":{}},
		{"id":"lifetime","title":"Lifetime","description":"Themes forever","price":500,"currency":"XTR","kind":"one_time","features":["themes"],"credits":{}},
		{"id":"credits_10","title":"10 credits","description":"Ten credits","price":20,"currency":"XTR","kind":"consumable","features":[],"credits":{"credits":10}}
	]}`, string(raw))
}

func TestMount_Unauthorized(t *testing.T) {
	f := newFixture(t)
	forged := f.sb.SignInitData(botapi.User{ID: 42, FirstName: "Ann"}, time.Now())
	forged = strings.Replace(forged, "Ann", "Bob", 1)
	tests := []struct {
		name, method, path, initData, body string
	}{
		{name: "nok, me without initData", method: http.MethodGet, path: "/stars/me"},
		{name: "nok, me with forged initData", method: http.MethodGet, path: "/stars/me", initData: forged},
		{name: "nok, invoice without initData", method: http.MethodPost, path: "/stars/invoices", body: `{"product_id":"pro"}`},
		{name: "nok, expired initData", method: http.MethodGet, path: "/stars/me",
			initData: f.sb.SignInitData(botapi.User{ID: 42, FirstName: "Ann"}, time.Now().Add(-48*time.Hour))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.do(t, tc.method, tc.path, tc.initData, tc.body)
			assert.Equal(t, http.StatusUnauthorized, status)
			require.Contains(t, body, "error")
			assert.Equal(t, "unauthorized", body["error"].(map[string]any)["code"])
		})
	}
	t.Run("nok, webhook without the secret", func(t *testing.T) {
		status, _ := f.do(t, http.MethodPost, "/stars/webhook", "", `{"update_id":1}`)
		assert.Equal(t, http.StatusUnauthorized, status)
	})
}

func TestMount_MeOfANewUser(t *testing.T) {
	f := newFixture(t)
	initData := f.sb.SignInitData(botapi.User{ID: 42, FirstName: "Ann"}, time.Now())
	status, body := f.do(t, http.MethodGet, "/stars/me", initData, "")
	require.Equal(t, http.StatusOK, status)
	raw, _ := json.Marshal(body)
	assert.JSONEq(t, `{"user_id":42,"version":0,"entitlements":[],"credits":{}}`, string(raw))
}

func TestMount_MeBadLongPoll(t *testing.T) {
	f := newFixture(t)
	initData := f.sb.SignInitData(botapi.User{ID: 42, FirstName: "Ann"}, time.Now())
	for _, q := range []string{"after_version=-1", "after_version=x", "after_version=0&timeout=soon", "after_version=0&timeout=-5s"} {
		t.Run("nok, "+q, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, "/stars/me?"+q, initData, "")
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "invalid_request", body["error"].(map[string]any)["code"])
		})
	}
}

func TestMount_PurchaseWakesLongPoll(t *testing.T) {
	t.Run("ok, memory store", func(t *testing.T) { testPurchaseWakesLongPoll(t, newFixture(t)) })
	t.Run("ok, Redis", func(t *testing.T) {
		rdb, prefix := redistest.Client(t), redistest.Prefix(t)
		testPurchaseWakesLongPoll(t, newFixture(t, func(c *Config) {
			c.Store, c.Redis, c.RedisPrefix = nil, rdb, prefix
		}))
	})
}

func testPurchaseWakesLongPoll(t *testing.T, f *fixture) {
	user := botapi.User{ID: 42, FirstName: "Ann"}
	initData := f.sb.SignInitData(user, time.Now())

	status, inv := f.do(t, http.MethodPost, "/stars/invoices", initData, `{"product_id":"pro"}`)
	require.Equal(t, http.StatusCreated, status, "%v", inv)
	assert.Equal(t, "pro", inv["product_id"])
	link, _ := inv["invoice_link"].(string)
	require.True(t, strings.HasPrefix(link, "https://t.me/$"), link)

	type answer struct {
		status int
		body   map[string]any
	}
	woke := make(chan answer, 1)
	go func() {
		s, b := f.do(t, http.MethodGet, "/stars/me?after_version=0&timeout=60s", initData, "")
		woke <- answer{s, b}
	}()
	receipt, err := f.sb.Pay(context.Background(), user, link)
	require.NoError(t, err)

	var got answer
	select {
	case got = <-woke:
	case <-time.After(30 * time.Second): // far below the 60s poll: only a wake-up answers in time
		t.Fatal("the long poll did not wake up on the payment")
	}
	require.Equal(t, http.StatusOK, got.status)
	assert.EqualValues(t, 42, got.body["user_id"])
	assert.EqualValues(t, 1, got.body["version"])
	ents := got.body["entitlements"].([]any)
	require.Len(t, ents, 1)
	e := ents[0].(map[string]any)
	assert.Equal(t, "premium", e["feature"])
	assert.Equal(t, "pro", e["product_id"])
	assert.Equal(t, "subscription", e["source"])
	assert.Equal(t, true, e["auto_renew"])
	assert.Equal(t, receipt.SubscriptionExpiration.UTC().Format(time.RFC3339), e["expires_at"])
	assert.Equal(t, map[string]any{}, got.body["credits"])

	// Buying it again while active is refused.
	status, body := f.do(t, http.MethodPost, "/stars/invoices", initData, `{"product_id":"pro"}`)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "already_active", body["error"].(map[string]any)["code"])
}

func TestMount_LongPollTimesOutWithState(t *testing.T) {
	f := newFixture(t)
	initData := f.sb.SignInitData(botapi.User{ID: 7, FirstName: "Al"}, time.Now())
	status, body := f.do(t, http.MethodGet, "/stars/me?after_version=0&timeout=10ms", initData, "")
	require.Equal(t, http.StatusOK, status)
	assert.EqualValues(t, 0, body["version"])
	assert.Equal(t, []any{}, body["entitlements"])
}
