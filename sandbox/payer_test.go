package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock(c *Config) { c.Now = func() time.Time { return epoch } }

// payWithAnswer runs Pay while a getUpdates poller answers the query.
func payWithAnswer(t *testing.T, s *Server, c *botapi.Client, user botapi.User, link string, answer botapi.AnswerPreCheckoutQueryParams) (Receipt, error) {
	t.Helper()
	ctx := testCtx(t)
	type result struct {
		r   Receipt
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := s.Pay(ctx, user, link)
		done <- result{r, err}
	}()
	var q *botapi.PreCheckoutQuery
	var offset int64
	for q == nil {
		ups, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: offset, Timeout: 5})
		require.NoError(t, err)
		for _, u := range ups {
			offset = u.UpdateID + 1
			if u.PreCheckoutQuery != nil {
				q = u.PreCheckoutQuery
			}
		}
	}
	answer.PreCheckoutQueryID = q.ID
	require.NoError(t, c.AnswerPreCheckoutQuery(ctx, answer))
	res := <-done
	// confirm what was read
	_, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: offset})
	require.NoError(t, err)
	return res.r, res.err
}

func TestPayOneTime(t *testing.T) {
	s := newSandbox(t, fixedClock)
	c := newClient(t, s)
	ctx := testCtx(t)
	link := createLink(t, c, starsInvoice("order-7", 42))

	r, err := payWithAnswer(t, s, c, alice, link, botapi.AnswerPreCheckoutQueryParams{OK: true})
	require.NoError(t, err)
	assert.Regexp(t, `^sbx_[A-Z2-7]+$`, r.ChargeID)
	assert.Equal(t, r.ChargeID, r.FirstChargeID)
	assert.EqualValues(t, 42, r.Amount)
	assert.Equal(t, "order-7", r.Payload)
	assert.Equal(t, alice.ID, r.UserID)
	assert.True(t, r.SubscriptionExpiration.IsZero())
	assert.False(t, r.IsRecurring)
	assert.True(t, r.PaidAt.Equal(epoch))

	pre := recordsOf(s, botapi.KindPreCheckoutQuery)
	require.Len(t, pre, 1)
	q := pre[0].Update.PreCheckoutQuery
	assert.Equal(t, alice.ID, q.From.ID)
	assert.Equal(t, "XTR", q.Currency)
	assert.EqualValues(t, 42, q.TotalAmount)
	assert.Equal(t, "order-7", q.InvoicePayload)

	rec, ok := s.Update(r.UpdateID)
	require.True(t, ok)
	m := rec.Update.Message
	require.NotNil(t, m)
	require.NotNil(t, m.SuccessfulPayment)
	sp := m.SuccessfulPayment
	assert.Equal(t, botapi.SuccessfulPayment{
		Currency: "XTR", TotalAmount: 42, InvoicePayload: "order-7", TelegramPaymentChargeID: r.ChargeID,
	}, *sp)
	assert.Equal(t, epoch.Unix(), m.Date)
	assert.Equal(t, alice.ID, m.From.ID)

	txns, err := c.GetStarTransactions(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, txns.Transactions, 1)
	tx := txns.Transactions[0]
	assert.Equal(t, r.ChargeID, tx.ID)
	assert.EqualValues(t, 42, tx.Amount)
	assert.Equal(t, epoch.Unix(), tx.Date)
	require.True(t, tx.Incoming())
	assert.Equal(t, botapi.PartnerUser, tx.Source.Type)
	assert.Equal(t, botapi.TransactionInvoicePayment, tx.Source.TransactionType)
	assert.Equal(t, "order-7", tx.Source.InvoicePayload)
	assert.Zero(t, tx.Source.SubscriptionPeriod)
	assert.Equal(t, alice.ID, tx.Source.User.ID)

	bal, err := c.GetMyStarBalance(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 42, bal.Amount)
}

func TestPayDeclined(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	link := createLink(t, c, starsInvoice("p", 10))
	_, err := payWithAnswer(t, s, c, alice, link, botapi.AnswerPreCheckoutQueryParams{OK: false, ErrorMessage: "Sold out"})
	require.ErrorIs(t, err, ErrDeclined)
	var d *DeclinedError
	require.ErrorAs(t, err, &d)
	assert.Equal(t, "Sold out", d.Message)
	assert.Empty(t, s.Transactions())
	assert.Empty(t, recordsOf(s, botapi.KindMessage))
}

func TestPayDeadline(t *testing.T) {
	s := newSandbox(t, func(c *Config) { c.PreCheckoutTimeout = 50 * time.Millisecond })
	c := newClient(t, s)
	h := newHook(t, nil) // a webhook that takes the query and never answers
	setHook(t, c, h, "")
	ctx := testCtx(t)
	link := createLink(t, c, starsInvoice("p", 10))

	_, err := s.Pay(ctx, alice, link)
	require.ErrorIs(t, err, ErrPreCheckoutTimeout)
	require.NoError(t, s.WaitIdle(ctx))

	ups := h.updates()
	require.Len(t, ups, 1, "only the pre-checkout query: no successful_payment")
	require.NotNil(t, ups[0].PreCheckoutQuery)
	assert.Empty(t, s.Transactions())
	txns, err := c.GetStarTransactions(ctx, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, txns.Transactions)

	// A late answer is refused, as Telegram refuses it.
	err = c.AnswerPreCheckoutQuery(ctx, botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: ups[0].PreCheckoutQuery.ID, OK: true})
	var apiErr *botapi.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.Code)
	assert.Equal(t, "Bad Request: query is too old and response timeout expired or query ID is invalid", apiErr.Description)
}

func TestPayAnsweredInWebhookReply(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	h := newHook(t, answerOK)
	setHook(t, c, h, "")
	ctx := testCtx(t)
	link := createLink(t, c, starsInvoice("via-reply", 3))

	r, err := s.Pay(ctx, bob, link)
	require.NoError(t, err)
	require.NoError(t, s.WaitIdle(ctx))
	ups := h.updates()
	require.Len(t, ups, 2)
	require.NotNil(t, ups[0].PreCheckoutQuery)
	require.NotNil(t, ups[1].Message.SuccessfulPayment)
	assert.Equal(t, r.ChargeID, ups[1].Message.SuccessfulPayment.TelegramPaymentChargeID)
}

func TestPayRejectsBadInput(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	link := createLink(t, c, starsInvoice("p", 1))
	tests := []struct {
		name    string
		user    botapi.User
		link    string
		wantErr error
	}{
		{"nok, unknown slug", alice, "https://t.me/$doesnotexist", ErrUnknownInvoice},
		{"nok, not an invoice link", alice, "https://example.com/$abc", ErrUnknownInvoice},
		{"nok, empty link", alice, "", ErrUnknownInvoice},
		{"nok, user without id", botapi.User{FirstName: "X"}, link, ErrInvalidUser},
		{"nok, a bot pays", botapi.User{ID: 5, IsBot: true, FirstName: "B"}, link, ErrInvalidUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Pay(ctx, tt.user, tt.link)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
	assert.Empty(t, s.Updates())
}

func TestInvoiceSlug(t *testing.T) {
	tests := []struct {
		name string
		link string
		want string
		ok   bool
	}{
		{"ok, dollar form", "https://t.me/$AbC_-9", "AbC_-9", true},
		{"ok, escaped dollar", "https://t.me/%24abc", "abc", true},
		{"ok, invoice path form", "https://t.me/invoice/xyz", "xyz", true},
		{"nok, other host", "https://telegram.me/$abc", "", false},
		{"nok, empty slug", "https://t.me/$", "", false},
		{"nok, bad characters", "https://t.me/$a.b", "", false},
		{"nok, other path", "https://t.me/somebot", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := invoiceSlug(tt.link)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPayCanceledContext(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	link := createLink(t, c, starsInvoice("p", 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Pay(ctx, alice, link)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, s.Transactions())
}

func TestSubscriptionLifecycle(t *testing.T) {
	s := newSandbox(t, fixedClock)
	c := newClient(t, s)
	h := newHook(t, answerOK)
	setHook(t, c, h, "")
	ctx := testCtx(t)
	link := createLink(t, c, subscriptionInvoice("sub-1", 250))

	first, err := s.Pay(ctx, alice, link)
	require.NoError(t, err)
	period := time.Duration(botapi.SubscriptionPeriod) * time.Second
	assert.True(t, first.SubscriptionExpiration.Equal(epoch.Add(period)))
	assert.True(t, first.IsRecurring)
	assert.True(t, first.IsFirstRecurring)

	require.NoError(t, s.WaitIdle(ctx)) // else advancing 30 days would expire the queued update
	s.Advance(period)
	second, err := s.Renew(ctx, first.ChargeID)
	require.NoError(t, err)
	assert.NotEqual(t, first.ChargeID, second.ChargeID)
	assert.Equal(t, first.ChargeID, second.FirstChargeID)
	assert.True(t, second.IsRecurring)
	assert.False(t, second.IsFirstRecurring)
	assert.True(t, second.SubscriptionExpiration.Equal(epoch.Add(2*period)))
	assert.True(t, second.PaidAt.Equal(epoch.Add(period)))

	require.ErrorIs(t, s.Reactivate(first.ChargeID), ErrSubscriptionNotCanceled)
	require.NoError(t, s.CancelByUser(first.ChargeID))
	require.ErrorIs(t, s.CancelByUser(first.ChargeID), ErrSubscriptionCanceled)
	_, err = s.Renew(ctx, first.ChargeID)
	require.ErrorIs(t, err, ErrSubscriptionCanceled)
	require.ErrorIs(t, s.FailRenewal(first.ChargeID), ErrSubscriptionCanceled)
	require.NoError(t, s.Reactivate(first.ChargeID))
	require.NoError(t, s.FailRenewal(first.ChargeID))
	info, ok := s.Subscription(first.ChargeID)
	require.True(t, ok)
	assert.Equal(t, StateFailed, info.State)

	// A renewal after a failure (the user topped up) starts from now once the period has ended.
	require.NoError(t, s.WaitIdle(ctx))
	s.Advance(2 * period)
	third, err := s.Renew(ctx, first.ChargeID)
	require.NoError(t, err)
	assert.True(t, third.SubscriptionExpiration.Equal(epoch.Add(4*period)))

	_, err = s.Renew(ctx, "sbx_UNKNOWN")
	require.ErrorIs(t, err, ErrUnknownSubscription)
	_, err = s.Renew(ctx, second.ChargeID) // a renewal's charge id does not name the subscription
	require.ErrorIs(t, err, ErrUnknownSubscription)

	require.NoError(t, s.WaitIdle(ctx))
	var states []string
	var payments []botapi.SuccessfulPayment
	for _, u := range h.updates() {
		if u.Subscription != nil {
			assert.Equal(t, alice.ID, u.Subscription.User.ID)
			assert.Equal(t, "sub-1", u.Subscription.InvoicePayload)
			states = append(states, u.Subscription.State)
		}
		if u.Message != nil && u.Message.SuccessfulPayment != nil {
			payments = append(payments, *u.Message.SuccessfulPayment)
		}
	}
	assert.Equal(t, []string{"canceled", "active", "failed"}, states)
	require.Len(t, payments, 3)
	assert.Equal(t, epoch.Add(period).Unix(), payments[0].SubscriptionExpirationDate)
	assert.True(t, payments[0].IsFirstRecurring)
	assert.False(t, payments[1].IsFirstRecurring)
	assert.True(t, payments[1].IsRecurring)

	txns, err := c.GetStarTransactions(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, txns.Transactions, 3)
	for _, tx := range txns.Transactions {
		assert.EqualValues(t, botapi.SubscriptionPeriod, tx.Source.SubscriptionPeriod)
	}
	info, _ = s.Subscription(first.ChargeID)
	assert.Equal(t, []string{first.ChargeID, second.ChargeID, third.ChargeID}, info.ChargeIDs)
	assert.Equal(t, StateActive, info.State)
}

func TestBotCancelsSubscription(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	h := newHook(t, answerOK)
	setHook(t, c, h, "")
	ctx := testCtx(t)
	link := createLink(t, c, subscriptionInvoice("sub-2", 100))
	first, err := s.Pay(ctx, alice, link)
	require.NoError(t, err)
	require.NoError(t, s.WaitIdle(ctx))
	before := len(h.updates())

	err = c.EditUserStarSubscription(ctx, bob.ID, first.ChargeID, true)
	var apiErr *botapi.Error
	require.ErrorAs(t, err, &apiErr, "another user's subscription")
	assert.Equal(t, "Bad Request: CHARGE_NOT_FOUND", apiErr.Description)

	require.NoError(t, c.EditUserStarSubscription(ctx, alice.ID, first.ChargeID, true))
	info, _ := s.Subscription(first.ChargeID)
	assert.Equal(t, StateCanceled, info.State)
	assert.True(t, info.CanceledByBot)
	_, err = s.Renew(ctx, first.ChargeID)
	require.ErrorIs(t, err, ErrSubscriptionCanceled)

	// The user cannot undo the bot's cancellation; the bot can.
	require.NoError(t, s.CancelByUser(first.ChargeID))
	require.ErrorIs(t, s.Reactivate(first.ChargeID), ErrCanceledByBot)
	require.NoError(t, c.EditUserStarSubscription(ctx, alice.ID, first.ChargeID, false))
	require.NoError(t, s.Reactivate(first.ChargeID))
	_, err = s.Renew(ctx, first.ChargeID)
	require.NoError(t, err)

	require.NoError(t, s.WaitIdle(ctx))
	var states []string
	for _, u := range h.updates()[before:] {
		if u.Subscription != nil {
			states = append(states, u.Subscription.State)
		}
	}
	assert.Equal(t, []string{"canceled", "active"}, states, "the bot's own edits send no update")
}

func TestStarTransactionsPaging(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	h := newHook(t, answerOK)
	setHook(t, c, h, "")
	ctx := testCtx(t)
	link := createLink(t, c, starsInvoice("p", 2))
	var ids []string
	for range 5 {
		r, err := s.Pay(ctx, alice, link)
		require.NoError(t, err)
		ids = append(ids, r.ChargeID)
	}
	tests := []struct {
		name          string
		offset, limit int
		want          []string
	}{
		{"ok, all by default", 0, 0, ids},
		{"ok, a page", 1, 2, ids[1:3]},
		{"ok, past the end", 9, 10, nil},
		{"ok, limit clamped to 1", 4, -3, ids[4:5]},
		{"ok, negative offset clamped to 0", -2, 1, ids[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GetStarTransactions(ctx, tt.offset, tt.limit)
			require.NoError(t, err)
			var gotIDs []string
			for _, tx := range got.Transactions {
				gotIDs = append(gotIDs, tx.ID)
			}
			assert.Equal(t, tt.want, gotIDs)
		})
	}
	status, a := callJSON(t, s, "getStarTransactions", map[string]any{"offset": 100})
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"transactions":[]}`, string(a.Result), "an empty list, never null")
}

func TestClosedServer(t *testing.T) {
	s := newSandbox(t)
	c := newClient(t, s)
	link := createLink(t, c, starsInvoice("p", 1))
	s.Close()
	_, err := s.Pay(context.Background(), alice, link)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, s.WaitIdle(context.Background()), nil) // nothing pending
	_, err = s.SendText(context.Background(), alice, "x")
	require.True(t, errors.Is(err, ErrClosed))
}

// FuzzInvoiceSlug checks that an accepted link yields a slug that makes a
// canonical link leading back to the same slug.
func FuzzInvoiceSlug(f *testing.F) {
	f.Add("https://t.me/$AbC_-9")
	f.Add("https://t.me/invoice/abc")
	f.Add("http://t.me/%24x")
	f.Add("https://t.me/$")
	f.Fuzz(func(t *testing.T, link string) {
		slug, ok := invoiceSlug(link)
		if !ok {
			return
		}
		if slug == "" {
			t.Fatalf("empty slug accepted from %q", link)
		}
		again, ok := invoiceSlug(invoiceLinkPrefix + slug)
		if !ok || again != slug {
			t.Fatalf("slug %q from %q does not round-trip", slug, link)
		}
	})
}

// PayOptions.DeliveryDelay: the payment is taken at once, its
// successful_payment reaches the bot later, and the payer's later updates
// wait behind it, by webhook and through getUpdates.
func TestPayDeliveryDelay(t *testing.T) {
	const delay = time.Second

	t.Run("ok, webhook", func(t *testing.T) {
		s := newSandbox(t)
		c := newClient(t, s)
		h := newHook(t, answerOK)
		setHook(t, c, h, "")
		ctx := testCtx(t)
		link := createLink(t, c, starsInvoice("slow", 7))

		r, err := s.PayWith(ctx, alice, link, PayOptions{DeliveryDelay: delay})
		require.NoError(t, err)
		paid := time.Now()
		require.Len(t, s.Transactions(), 1, "the charge is made at once")
		_, err = s.SendText(ctx, alice, "after the payment")
		require.NoError(t, err)
		_, err = s.SendText(ctx, bob, "someone else")
		require.NoError(t, err)
		require.Eventually(t, func() bool { return len(h.updates()) == 2 }, 5*time.Second, time.Millisecond,
			"the pre-checkout query and bob's message")
		assert.Nil(t, h.updates()[1].Message.SuccessfulPayment, "held back: bob's message came first")

		require.NoError(t, s.WaitIdle(ctx))
		assert.GreaterOrEqual(t, time.Since(paid), delay-50*time.Millisecond)
		ups := h.updates()
		require.Len(t, ups, 4)
		require.NotNil(t, ups[2].Message.SuccessfulPayment)
		assert.Equal(t, r.ChargeID, ups[2].Message.SuccessfulPayment.TelegramPaymentChargeID)
		assert.Equal(t, "after the payment", ups[3].Message.Text, "alice's later update waited behind it")
	})

	t.Run("ok, getUpdates", func(t *testing.T) {
		s := newSandbox(t)
		c := newClient(t, s)
		ctx := testCtx(t)
		link := createLink(t, c, starsInvoice("slow", 7))
		answered := make(chan error, 1)
		go func() { // the bot: answer the pre-checkout query
			ups, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Timeout: 5})
			if err == nil && (len(ups) != 1 || ups[0].PreCheckoutQuery == nil) {
				err = fmt.Errorf("want one pre-checkout query, got %d updates", len(ups))
			}
			if err == nil {
				err = c.AnswerPreCheckoutQuery(ctx, botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: ups[0].PreCheckoutQuery.ID, OK: true})
			}
			answered <- err
		}()
		r, err := s.PayWith(ctx, alice, link, PayOptions{DeliveryDelay: delay})
		require.NoError(t, err)
		require.NoError(t, <-answered)
		_, err = s.SendText(ctx, bob, "someone else")
		require.NoError(t, err)

		first := s.Updates()[0].Update.UpdateID
		ups, err := c.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: first + 1})
		require.NoError(t, err)
		assert.Empty(t, ups, "in order: bob's message waits behind the held payment")
		ups, err = c.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: first + 1, Timeout: 5}) // long poll until due
		require.NoError(t, err)
		require.Len(t, ups, 2)
		require.NotNil(t, ups[0].Message.SuccessfulPayment)
		assert.Equal(t, r.ChargeID, ups[0].Message.SuccessfulPayment.TelegramPaymentChargeID)
		assert.Equal(t, "someone else", ups[1].Message.Text)
	})
}
