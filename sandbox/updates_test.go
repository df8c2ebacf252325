package sandbox

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
)

func TestGetUpdatesOffsetsAndLimit(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	for _, text := range []string{"1", "2", "3", "4"} {
		_, err := s.SendText(ctx, alice, text)
		require.NoError(t, err)
	}

	ups, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Limit: 2})
	require.NoError(t, err)
	require.Len(t, ups, 2)
	assert.Equal(t, "1", ups[0].Message.Text)
	assert.Equal(t, "2", ups[1].Message.Text)
	assert.Less(t, ups[0].UpdateID, ups[1].UpdateID)

	// Not confirmed yet: the same updates come again.
	again, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{})
	require.NoError(t, err)
	require.Len(t, again, 4)
	assert.Equal(t, ups[0].UpdateID, again[0].UpdateID)

	// A higher offset confirms everything below it.
	rest, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: ups[1].UpdateID + 1})
	require.NoError(t, err)
	require.Len(t, rest, 2)
	assert.Equal(t, "3", rest[0].Message.Text)
	rec, _ := s.Update(ups[0].UpdateID)
	assert.Equal(t, StatusConfirmed, rec.Status)
	assert.Len(t, rec.Attempts, 2, "returned twice by getUpdates")
	assert.Equal(t, "getUpdates", rec.Attempts[0].Via)
	assert.Equal(t, 2, s.Pending())

	// A negative offset keeps only the last updates.
	last, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: -1})
	require.NoError(t, err)
	require.Len(t, last, 1)
	assert.Equal(t, "4", last[0].Message.Text)

	none, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: last[0].UpdateID + 1})
	require.NoError(t, err)
	assert.Empty(t, none)
	require.NoError(t, s.WaitIdle(ctx))
}

func TestGetUpdatesLongPoll(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	got := make(chan []botapi.Update, 1)
	errc := make(chan error, 1)
	go func() {
		ups, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Timeout: 10})
		errc <- err
		got <- ups
	}()
	require.Eventually(t, func() bool { // the poll is waiting
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.pollGen == 1
	}, 10*time.Second, time.Millisecond)
	_, err := s.SendText(ctx, bob, "wake up")
	require.NoError(t, err)
	require.NoError(t, <-errc)
	ups := <-got
	require.Len(t, ups, 1)
	assert.Equal(t, "wake up", ups[0].Message.Text)
}

func TestGetUpdatesConflicts(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	ctx := testCtx(t)

	// A second poller terminates the first.
	errc := make(chan error, 1)
	go func() {
		_, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Timeout: 10})
		errc <- err
	}()
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.pollGen == 1
	}, 10*time.Second, time.Millisecond)
	_, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{})
	require.NoError(t, err)
	err = <-errc
	require.True(t, botapi.IsConflict(err), "%v", err)
	var apiErr *botapi.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", apiErr.Description)

	// No getUpdates while a webhook is set.
	h := newHook(t, nil)
	setHook(t, c, h, "")
	status, a := callJSON(t, s, "getUpdates", nil)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", a.Description)
	require.NoError(t, c.DeleteWebhook(ctx, false))
	_, err = c.GetUpdates(ctx, botapi.GetUpdatesParams{})
	require.NoError(t, err)
}

func TestAllowedUpdates(t *testing.T) {
	s := newSandbox(t, func(c *Config) { c.PreCheckoutTimeout = 20 * time.Millisecond })
	c := newClient(t, s)
	ctx := testCtx(t)
	link := createLink(t, c, starsInvoice("p", 5))

	_, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{AllowedUpdates: []string{botapi.AllowMessage}})
	require.NoError(t, err)
	_, err = s.Pay(ctx, alice, link)
	require.ErrorIs(t, err, ErrPreCheckoutTimeout, "the bot never sees the query")
	recs := recordsOf(s, botapi.KindPreCheckoutQuery)
	require.Len(t, recs, 1)
	assert.Equal(t, StatusDropped, recs[0].Status)
	assert.Equal(t, "not in allowed_updates", recs[0].Reason)

	// allowed_updates omitted keeps the setting; an empty list restores the default.
	info, err := c.GetWebhookInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"message"}, info.AllowedUpdates)
	_, err = c.GetUpdates(ctx, botapi.GetUpdatesParams{AllowedUpdates: []string{}})
	require.NoError(t, err)
	info, err = c.GetWebhookInfo(ctx)
	require.NoError(t, err)
	assert.Empty(t, info.AllowedUpdates)
}

func TestGetUpdatesDropsExpired(t *testing.T) {
	s := newSandbox(t, func(c *Config) { c.PreCheckoutTimeout = 20 * time.Millisecond })
	c := newClient(t, s)
	ctx := testCtx(t)
	link := createLink(t, c, starsInvoice("p", 5))
	_, err := s.Pay(ctx, alice, link)
	require.ErrorIs(t, err, ErrPreCheckoutTimeout)
	_, err = s.SendText(ctx, alice, "still here")
	require.NoError(t, err)
	s.Advance(2 * time.Minute)
	require.Equal(t, 2, s.Pending(), "not yet 150 s")
	s.Advance(30 * time.Second)
	ups, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{})
	require.NoError(t, err)
	require.Len(t, ups, 1, "the pre-checkout query expired after 150 s, the message lives 24 h")
	assert.Equal(t, "still here", ups[0].Message.Text)

	s.Advance(24 * time.Hour)
	assert.Zero(t, s.Pending(), "a day later the unconfirmed message is gone too")
	rec, _ := s.Update(ups[0].UpdateID)
	assert.Equal(t, StatusDropped, rec.Status)
	assert.Equal(t, "expired", rec.Reason)
}
