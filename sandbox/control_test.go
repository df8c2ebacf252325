package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	initdata "github.com/telegram-mini-apps/init-data-golang"

	"github.com/starsgate/starsgate/botapi"
)

// control calls the control API and decodes the JSON answer into out.
func control(t *testing.T, s *Server, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL()+path, r)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

type ctlErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestControlAPI(t *testing.T) {
	s := newSandbox(t, fixedClock)
	bot := newClient(t, s)
	h := newHook(t, answerOK)
	setHook(t, bot, h, "")
	ctx := testCtx(t)
	link := createLink(t, bot, subscriptionInvoice("ctl", 99))
	user := map[string]any{"id": alice.ID, "first_name": "Alice"}

	var info map[string]any
	require.Equal(t, 200, control(t, s, "GET", "/sandbox/info", nil, &info))
	assert.EqualValues(t, s.BotID(), info["bot_id"])
	assert.Equal(t, DefaultBotUsername, info["bot_username"])
	assert.NotContains(t, mustJSON(t, info), s.Token(), "the control API never shows the token")

	var init struct {
		InitData string `json:"init_data"`
	}
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/initdata", map[string]any{"user": user, "auth_date": time.Now().Unix()}, &init))
	require.NoError(t, initdata.Validate(init.InitData, s.Token(), time.Hour))

	var r Receipt
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/pay", map[string]any{"user": user, "invoice_link": link, "delivery_delay": "1ms"}, &r))
	assert.EqualValues(t, 99, r.Amount)
	assert.Equal(t, "ctl", r.Payload)
	assert.True(t, r.IsFirstRecurring)

	var now struct {
		Now  string `json:"now"`
		Unix int64  `json:"unix"`
	}
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/wait-idle", map[string]any{"timeout_seconds": 5}, nil))
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/advance", map[string]any{"seconds": 2592000}, &now))
	assert.Equal(t, epoch.Unix()+2592000, now.Unix)
	assert.Equal(t, "2026-03-31T12:00:00Z", now.Now)
	require.Equal(t, 200, control(t, s, "GET", "/sandbox/now", nil, &now))
	assert.Equal(t, epoch.Unix()+2592000, now.Unix)

	var renewal Receipt
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/renew", map[string]any{"charge_id": r.ChargeID}, &renewal))
	assert.False(t, renewal.IsFirstRecurring)
	assert.Equal(t, r.ChargeID, renewal.FirstChargeID)

	var sub SubscriptionInfo
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/cancel", map[string]any{"charge_id": r.ChargeID}, &sub))
	assert.Equal(t, StateCanceled, sub.State)
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/reactivate", map[string]any{"charge_id": r.ChargeID}, &sub))
	assert.Equal(t, StateActive, sub.State)
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/fail", map[string]any{"charge_id": r.ChargeID}, &sub))
	assert.Equal(t, StateFailed, sub.State)
	var subs struct {
		Subscriptions []SubscriptionInfo `json:"subscriptions"`
	}
	require.Equal(t, 200, control(t, s, "GET", "/sandbox/subscriptions", nil, &subs))
	require.Len(t, subs.Subscriptions, 1)
	assert.Len(t, subs.Subscriptions[0].ChargeIDs, 2)

	var msg struct {
		Message botapi.Message `json:"message"`
	}
	require.Equal(t, 200, control(t, s, "POST", "/sandbox/message", map[string]any{"user": user, "text": "/terms"}, &msg))
	assert.Equal(t, "/terms", msg.Message.Text)
	_, err := bot.SendMessage(ctx, botapi.SendMessageParams{ChatID: alice.ID, Text: "Terms: …"})
	require.NoError(t, err)
	var sent struct {
		Messages []botapi.Message `json:"messages"`
	}
	require.Equal(t, 200, control(t, s, "GET", "/sandbox/sent", nil, &sent))
	require.Len(t, sent.Messages, 1)
	assert.Equal(t, "Terms: …", sent.Messages[0].Text)

	var txns botapi.StarTransactions
	require.Equal(t, 200, control(t, s, "GET", "/sandbox/transactions", nil, &txns))
	require.Len(t, txns.Transactions, 2)
	assert.Equal(t, renewal.ChargeID, txns.Transactions[1].ID)

	require.Equal(t, 200, control(t, s, "POST", "/sandbox/wait-idle", nil, nil))
	var ups struct {
		Updates []UpdateRecord `json:"updates"`
	}
	require.Equal(t, 200, control(t, s, "GET", "/sandbox/updates", nil, &ups))
	require.NotEmpty(t, ups.Updates)
	assert.Equal(t, botapi.KindPreCheckoutQuery, ups.Updates[0].Kind)
	for _, u := range ups.Updates {
		assert.Equal(t, StatusDelivered, u.Status)
	}
}

func TestControlAPIErrors(t *testing.T) {
	s := newSandbox(t, func(c *Config) { c.PreCheckoutTimeout = 30 * time.Millisecond })
	bot := newClient(t, s)
	link := createLink(t, bot, starsInvoice("p", 1))
	user := map[string]any{"id": alice.ID, "first_name": "Alice"}
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"nok, pay without user", "POST", "/sandbox/pay", map[string]any{"invoice_link": link}, 400, "invalid_request"},
		{"nok, pay with a delivery delay that is no duration", "POST", "/sandbox/pay", map[string]any{"user": user, "invoice_link": link, "delivery_delay": "soon"}, 400, "invalid_request"},
		{"nok, pay with a negative delivery delay", "POST", "/sandbox/pay", map[string]any{"user": user, "invoice_link": link, "delivery_delay": "-1s"}, 400, "invalid_request"},
		{"nok, pay by a bot", "POST", "/sandbox/pay", map[string]any{"user": map[string]any{"id": 5, "is_bot": true}, "invoice_link": link}, 400, "invalid_user"},
		{"nok, pay unknown invoice", "POST", "/sandbox/pay", map[string]any{"user": user, "invoice_link": "https://t.me/$nope"}, 404, "unknown_invoice"},
		{"nok, pay unanswered", "POST", "/sandbox/pay", map[string]any{"user": user, "invoice_link": link}, 504, "precheckout_timeout"},
		{"nok, renew unknown", "POST", "/sandbox/renew", map[string]any{"charge_id": "sbx_X"}, 404, "unknown_subscription"},
		{"nok, renew without id", "POST", "/sandbox/renew", map[string]any{}, 400, "invalid_request"},
		{"nok, cancel unknown", "POST", "/sandbox/cancel", map[string]any{"charge_id": "sbx_X"}, 404, "unknown_subscription"},
		{"nok, advance backwards", "POST", "/sandbox/advance", map[string]any{"seconds": -5}, 400, "invalid_request"},
		{"nok, advance without seconds", "POST", "/sandbox/advance", map[string]any{}, 400, "invalid_request"},
		{"nok, not JSON", "POST", "/sandbox/message", "just a string", 400, "invalid_request"},
		{"nok, initdata without user", "POST", "/sandbox/initdata", map[string]any{}, 400, "invalid_request"},
		{"nok, wait-idle times out", "POST", "/sandbox/wait-idle", map[string]any{"timeout_seconds": 0.05}, 504, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e ctlErr
			require.Equal(t, tt.wantStatus, control(t, s, tt.method, tt.path, tt.body, &e))
			assert.Equal(t, tt.wantCode, e.Error.Code)
			assert.NotEmpty(t, e.Error.Message)
		})
	}

	// A declined payment carries the bot's message.
	s2 := newSandbox(t)
	bot2 := newClient(t, s2)
	h := newHook(t, func(u botapi.Update, _ int) (int, http.Header, []byte) {
		if u.PreCheckoutQuery == nil {
			return 200, nil, nil
		}
		body, _ := botapi.WebhookReply("answerPreCheckoutQuery", botapi.AnswerPreCheckoutQueryParams{
			PreCheckoutQueryID: u.PreCheckoutQuery.ID, ErrorMessage: "Already owned",
		})
		return 200, http.Header{"Content-Type": {"application/json"}}, body
	})
	setHook(t, bot2, h, "")
	link2 := createLink(t, bot2, starsInvoice("p", 1))
	var e ctlErr
	require.Equal(t, 409, control(t, s2, "POST", "/sandbox/pay", map[string]any{"user": user, "invoice_link": link2}, &e))
	assert.Equal(t, "declined", e.Error.Code)
	assert.Equal(t, "Already owned", e.Error.Message)
}

func TestControlCORSPreflight(t *testing.T) {
	s := newSandbox(t)
	req, err := http.NewRequest(http.MethodOptions, s.URL()+"/sandbox/pay", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
}
