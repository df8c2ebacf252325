package sandbox

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
)

func TestWebhookDeliversWithSecret(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	h := newHook(t, nil)
	setHook(t, c, h, "s3cr3t_token-x")
	ctx := testCtx(t)

	m, err := s.SendText(ctx, alice, "/paysupport please")
	require.NoError(t, err)
	require.NoError(t, s.WaitIdle(ctx))

	h.mu.Lock()
	got := h.received
	h.mu.Unlock()
	require.Len(t, got, 1)
	assert.Equal(t, "s3cr3t_token-x", got[0].secret)
	assert.Equal(t, "application/json", got[0].ctype)
	u := got[0].update
	require.NotNil(t, u.Message)
	assert.Equal(t, m.MessageID, u.Message.MessageID)
	assert.Equal(t, "/paysupport please", u.Message.Text)
	assert.Equal(t, alice.ID, u.Message.Chat.ID)
	assert.Equal(t, botapi.ChatPrivate, u.Message.Chat.Type)
	require.Len(t, u.Message.Entities, 1)
	assert.Equal(t, botapi.MessageEntity{Type: "bot_command", Offset: 0, Length: len("/paysupport")}, u.Message.Entities[0])

	rec, ok := s.Update(u.UpdateID)
	require.True(t, ok)
	assert.Equal(t, StatusDelivered, rec.Status)
	require.Len(t, rec.Attempts, 1)
	assert.Equal(t, http.StatusOK, rec.Attempts[0].StatusCode)
	assert.Equal(t, "webhook", rec.Attempts[0].Via)

	info, err := c.GetWebhookInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, h.srv.URL+"/webhook", info.URL)
	assert.Zero(t, info.PendingUpdateCount)
	assert.Equal(t, 40, info.MaxConnections)
}

func TestWebhookRetriesWithBackoff(t *testing.T) {
	s := newSandbox(t, func(c *Config) {
		c.WebhookRetryMin = 2 * time.Millisecond
		c.WebhookRetryMax = 5 * time.Millisecond
	})
	c := newClient(t, s)
	h := newHook(t, func(_ botapi.Update, n int) (int, http.Header, []byte) {
		if n <= 5 {
			return http.StatusInternalServerError, nil, nil
		}
		return http.StatusOK, nil, nil
	})
	setHook(t, c, h, "")
	ctx := testCtx(t)
	_, err := s.SendText(ctx, alice, "hello")
	require.NoError(t, err)
	require.NoError(t, s.WaitIdle(ctx))

	recs := s.Updates()
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, StatusDelivered, rec.Status)
	var codes []int
	var waits []time.Duration
	for _, a := range rec.Attempts {
		codes = append(codes, a.StatusCode)
		waits = append(waits, a.Wait)
	}
	assert.Equal(t, []int{500, 500, 500, 500, 500, 200}, codes)
	// First retry at once, then doubling from the minimum, capped at the maximum.
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{0, 0, 2 * ms, 4 * ms, 5 * ms, 5 * ms}, waits)
	assert.Equal(t, "Wrong response from the webhook: 500 Internal Server Error", rec.Attempts[0].Error)
	assert.Len(t, h.updates(), 6)

	info, err := c.GetWebhookInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Wrong response from the webhook: 500 Internal Server Error", info.LastErrorMessage)
	assert.NotZero(t, info.LastErrorDate)
}

func TestWebhookHonoursRetryAfter(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	h := newHook(t, func(_ botapi.Update, n int) (int, http.Header, []byte) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, nil
		}
		return http.StatusOK, nil, nil
	})
	setHook(t, c, h, "")
	ctx := testCtx(t)
	_, err := s.SendText(ctx, alice, "hello")
	require.NoError(t, err)
	require.NoError(t, s.WaitIdle(ctx))

	rec := s.Updates()[0]
	require.Len(t, rec.Attempts, 2)
	assert.Equal(t, http.StatusTooManyRequests, rec.Attempts[0].StatusCode)
	assert.Equal(t, time.Second, rec.Attempts[1].Wait, "Retry-After replaces the immediate retry")
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"ok, seconds", "7", 7 * time.Second, true},
		{"ok, zero", "0", 0, true},
		{"ok, clamped to an hour", "99999", time.Hour, true},
		{"ok, HTTP date", now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{"ok, past date is zero", now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"nok, absent", "", 0, false},
		{"nok, garbage", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.value, now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWebhookKeepsOneUsersOrder(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	release := make(chan struct{})
	bobDone := make(chan struct{})
	var once sync.Once
	h := newHook(t, func(u botapi.Update, _ int) (int, http.Header, []byte) {
		if u.Message.Chat.ID == bob.ID {
			once.Do(func() { close(bobDone) })
			return http.StatusOK, nil, nil
		}
		select {
		case <-release:
			return http.StatusOK, nil, nil
		default:
			return http.StatusServiceUnavailable, nil, nil
		}
	})
	setHook(t, c, h, "")
	ctx := testCtx(t)

	a1, err := s.SendText(ctx, alice, "a1")
	require.NoError(t, err)
	a2, err := s.SendText(ctx, alice, "a2")
	require.NoError(t, err)
	_, err = s.SendText(ctx, bob, "b1")
	require.NoError(t, err)

	select {
	case <-bobDone: // bob's update flows while alice's first one keeps failing
	case <-ctx.Done():
		t.Fatal("bob's update was not delivered")
	}
	require.Eventually(t, func() bool {
		r, _ := s.Update(1)
		return len(r.Attempts) >= 2
	}, 10*time.Second, time.Millisecond, "a1 is retried")
	// alice's second update has not been tried: her queue is blocked.
	found := false
	for _, r := range s.Updates() {
		if r.Update.Message.MessageID == a2.MessageID && r.Update.Message.Chat.ID == alice.ID {
			found = true
			assert.Empty(t, r.Attempts)
			assert.Equal(t, StatusPending, r.Status)
		}
	}
	require.True(t, found, "a2 is in the sandbox's update log")
	close(release)
	require.NoError(t, s.WaitIdle(ctx))

	var aliceOrder []int64
	for _, u := range h.updates() {
		if u.Message.Chat.ID == alice.ID {
			aliceOrder = append(aliceOrder, u.Message.MessageID)
		}
	}
	require.GreaterOrEqual(t, len(aliceOrder), 3, "a1 failed at least once")
	last := aliceOrder[len(aliceOrder)-1]
	assert.Equal(t, a2.MessageID, last, "a2 goes out only after a1 succeeded")
	for _, id := range aliceOrder[:len(aliceOrder)-1] {
		assert.Equal(t, a1.MessageID, id)
	}
}

func TestWebhookDropsExpiredPreCheckout(t *testing.T) {
	s := newSandbox(t, func(c *Config) {
		c.PreCheckoutTimeout = 50 * time.Millisecond
		c.WebhookRetryMin, c.WebhookRetryMax = 10*time.Millisecond, 10*time.Millisecond
	})
	c := newClient(t, s)
	h := newHook(t, func(botapi.Update, int) (int, http.Header, []byte) {
		return http.StatusBadGateway, nil, nil
	})
	setHook(t, c, h, "")
	ctx := testCtx(t)
	link := createLink(t, c, starsInvoice("p", 10))

	_, err := s.Pay(ctx, alice, link)
	require.ErrorIs(t, err, ErrPreCheckoutTimeout)
	assert.Equal(t, 1, s.Pending(), "the unanswered query is still being retried")

	s.Advance(preCheckoutLifetime) // 150 s of sandbox time later Telegram gives up
	require.NoError(t, s.WaitIdle(ctx))
	rec := recordsOf(s, botapi.KindPreCheckoutQuery)
	require.Len(t, rec, 1)
	assert.Equal(t, StatusDropped, rec[0].Status)
	assert.Equal(t, "expired", rec[0].Reason)
	assert.NotEmpty(t, rec[0].Attempts)
	assert.Empty(t, recordsOf(s, botapi.KindMessage), "no successful_payment")
	assert.Empty(t, s.Transactions())
}

func TestWebhookReplyMethodsIgnored(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	s.SignInitData(alice, s.Now())
	h := newHook(t, func(u botapi.Update, _ int) (int, http.Header, []byte) {
		// deleteWebhook and get* in a reply are ignored, as by Telegram; sendMessage runs.
		switch u.Message.Text {
		case "delete":
			return http.StatusOK, http.Header{"Content-Type": {"application/json"}}, []byte(`{"method":"deleteWebhook"}`)
		case "form":
			return http.StatusOK, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
				[]byte("method=SENDMESSAGE&chat_id=1001&text=from+a+form+reply")
		}
		return http.StatusOK, http.Header{"Content-Type": {"application/json"}},
			[]byte(`{"method":"sendMessage","chat_id":1001,"text":"reply to ` + u.Message.Text + `"}`)
	})
	setHook(t, c, h, "")
	ctx := testCtx(t)
	for _, text := range []string{"delete", "form", "hi"} {
		_, err := s.SendText(ctx, alice, text)
		require.NoError(t, err)
	}
	require.NoError(t, s.WaitIdle(ctx))
	info, err := c.GetWebhookInfo(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, info.URL, "deleteWebhook in a reply is ignored")
	var texts []string
	for _, m := range s.Sent() {
		texts = append(texts, m.Text)
	}
	assert.Equal(t, []string{"from a form reply", "reply to hi"}, texts)
}

func TestDeleteWebhookKeepsOrDropsPending(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	h := newHook(t, func(botapi.Update, int) (int, http.Header, []byte) {
		return http.StatusInternalServerError, nil, nil
	})
	ctx := testCtx(t)
	setHook(t, c, h, "")
	_, err := s.SendText(ctx, alice, "one")
	require.NoError(t, err)

	// Without dropping, the failing update waits for getUpdates.
	require.NoError(t, c.DeleteWebhook(ctx, false))
	ups, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	assert.Equal(t, "one", ups[0].Message.Text)

	setHook(t, c, h, "")
	require.NoError(t, c.DeleteWebhook(ctx, true))
	require.NoError(t, s.WaitIdle(ctx))
	rec := s.Updates()[0]
	assert.Equal(t, StatusDropped, rec.Status)
	assert.Equal(t, "drop_pending_updates", rec.Reason)
}

func TestWebhookConnectionErrorIsRetried(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	h := newHook(t, nil)
	ctx := testCtx(t)
	dead := newHook(t, nil)
	dead.srv.Close() // nothing listens there any more
	require.NoError(t, c.SetWebhook(ctx, botapi.SetWebhookParams{URL: dead.srv.URL}))
	_, err := s.SendText(ctx, alice, "x")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r := s.Updates()[0]
		return len(r.Attempts) >= 2
	}, 10*time.Second, time.Millisecond)
	// Moving the webhook to a live URL delivers what was waiting.
	setHook(t, c, h, "")
	require.NoError(t, s.WaitIdle(ctx))
	rec := s.Updates()[0]
	assert.Equal(t, StatusDelivered, rec.Status)
	assert.Zero(t, rec.Attempts[0].StatusCode)
	assert.NotEmpty(t, rec.Attempts[0].Error)
	assert.NotContains(t, rec.Attempts[0].Error, dead.srv.URL)
	assert.Len(t, h.updates(), 1)
}
