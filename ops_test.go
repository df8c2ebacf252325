package starsgate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	sgmw "github.com/starsgate/starsgate/middleware"
)

type eventLog struct {
	mu     sync.Mutex
	events []entitlements.EventType
}

func (l *eventLog) add(_ context.Context, e entitlements.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e.Type)
}

func (l *eventLog) list() []entitlements.EventType {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]entitlements.EventType(nil), l.events...)
}

func TestGate_Operations(t *testing.T) {
	events := &eventLog{}
	f := newFixture(t, func(c *Config) { c.OnEvent = events.add })
	ctx := context.Background()
	user := botapi.User{ID: 42, FirstName: "Ann"}
	initData := f.sb.SignInitData(user, time.Now())

	buy := func(product string) string {
		status, inv := f.do(t, http.MethodPost, "/stars/invoices", initData, `{"product_id":"`+product+`"}`)
		require.Equal(t, http.StatusCreated, status, "%v", inv)
		receipt, err := f.sb.Pay(ctx, user, inv["invoice_link"].(string))
		require.NoError(t, err)
		require.NoError(t, f.sb.WaitIdle(ctx))
		return receipt.ChargeID
	}
	has := func(feature string) bool {
		ok, err := f.gate.Checker().Has(ctx, user.ID, feature)
		require.NoError(t, err)
		return ok
	}

	t.Run("ok, refund revokes a one-time purchase, twice is fine", func(t *testing.T) {
		charge := buy("lifetime")
		require.True(t, has("themes"))
		require.NoError(t, f.gate.Refund(ctx, user.ID, charge))
		assert.False(t, has("themes"))
		require.NoError(t, f.gate.Refund(ctx, user.ID, charge))
	})

	t.Run("ok, cancel and resume a subscription", func(t *testing.T) {
		buy("pro")
		require.NoError(t, f.gate.CancelSubscription(ctx, user.ID, "pro"))
		st, err := f.gate.Checker().State(ctx, user.ID)
		require.NoError(t, err)
		g, ok := st.ActiveGrant(entitlements.SubscriptionGrantID("pro"), time.Now())
		require.True(t, ok, "access stays until the end of the period")
		assert.False(t, g.AutoRenew)
		require.NoError(t, f.gate.ResumeSubscription(ctx, user.ID, "pro"))
		st, err = f.gate.Checker().State(ctx, user.ID)
		require.NoError(t, err)
		g, _ = st.ActiveGrant(entitlements.SubscriptionGrantID("pro"), time.Now())
		assert.True(t, g.AutoRenew)
	})

	t.Run("ok, grant and revoke without payment", func(t *testing.T) {
		_, err := f.gate.Grant(ctx, 7, entitlements.Grant{ID: "trial", Features: []string{"export"}, Reason: "trial"})
		require.NoError(t, err)
		ok, err := f.gate.Checker().Has(ctx, 7, "export")
		require.NoError(t, err)
		assert.True(t, ok)
		_, err = f.gate.Revoke(ctx, 7, "trial")
		require.NoError(t, err)
		ok, err = f.gate.Checker().Has(ctx, 7, "export")
		require.NoError(t, err)
		assert.False(t, ok)
		_, err = f.gate.Revoke(ctx, 7, "trial")
		assert.ErrorIs(t, err, entitlements.ErrGrantNotFound)
	})

	t.Run("ok, reconcile finds nothing to repair", func(t *testing.T) {
		rep, err := f.gate.Reconcile(ctx, time.Time{})
		require.NoError(t, err)
		assert.Zero(t, rep.Recorded)
		assert.Zero(t, rep.Refunded)
		assert.Positive(t, rep.UpToDate)
	})

	assert.Equal(t, []entitlements.EventType{
		entitlements.EventPurchased, entitlements.EventRefunded,
		entitlements.EventPurchased, entitlements.EventCanceled, entitlements.EventReactivated,
		entitlements.EventGranted, entitlements.EventRevoked,
	}, events.list())
}

func TestGate_SetWebhookNeedsSecret(t *testing.T) {
	g, err := New(Config{BotToken: testToken, Catalog: testCatalog(t), Store: entitlements.NewMemoryStore()})
	require.NoError(t, err)
	assert.ErrorIs(t, g.SetWebhook(context.Background(), "https://example.com/stars/webhook"), ErrNoWebhookSecret)
}

func TestGate_Guards(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e := echo.New()
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	api := e.Group("/api", f.gate.Auth())
	api.GET("/premium", ok, f.gate.Require("premium"))
	api.GET("/both", ok, f.gate.Require("premium", "export"))
	api.GET("/either", ok, f.gate.RequireAny("premium", "export"))
	api.POST("/spend", func(c echo.Context) error {
		left, _ := sgmw.BalanceAfterSpend(c, "credits")
		return c.JSON(http.StatusOK, map[string]int64{"credits": left})
	}, f.gate.Spend("credits", 2))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	user := botapi.User{ID: 9, FirstName: "Bo"}
	initData := f.sb.SignInitData(user, time.Now())
	_, err := f.gate.Grant(ctx, user.ID, entitlements.Grant{ID: "promo", Features: []string{"export"}})
	require.NoError(t, err)
	_, err = f.gate.Store().AddCredits(ctx, user.ID, "credits", 3)
	require.NoError(t, err)

	tests := []struct {
		name, method, path, initData string
		expectStatus                 int
		expectCode                   string
	}{
		{name: "nok, no initData", method: http.MethodGet, path: "/api/premium", expectStatus: 401, expectCode: "unauthorized"},
		{name: "nok, missing feature", method: http.MethodGet, path: "/api/premium", initData: initData, expectStatus: 402, expectCode: "payment_required"},
		{name: "nok, all of two, one missing", method: http.MethodGet, path: "/api/both", initData: initData, expectStatus: 402, expectCode: "payment_required"},
		{name: "ok, any of two", method: http.MethodGet, path: "/api/either", initData: initData, expectStatus: 200},
		{name: "ok, spend 2 of 3", method: http.MethodPost, path: "/api/spend", initData: initData, expectStatus: 200},
		{name: "nok, spend 2 of 1", method: http.MethodPost, path: "/api/spend", initData: initData, expectStatus: 402, expectCode: "insufficient_credits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			require.NoError(t, err)
			if tc.initData != "" {
				req.Header.Set("Authorization", "tma "+tc.initData)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			assert.Equal(t, tc.expectStatus, res.StatusCode)
			if tc.expectCode != "" {
				var body map[string]map[string]any
				require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
				assert.Equal(t, tc.expectCode, body["error"]["code"])
			}
		})
	}
	st, err := f.gate.Checker().State(ctx, user.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Balance("credits"))
}
