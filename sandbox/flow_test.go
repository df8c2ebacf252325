package sandbox

import (
	"crypto/subtle"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	initdata "github.com/telegram-mini-apps/init-data-golang"

	"github.com/starsgate/starsgate/botapi"
)

// shopApp is a minimal bot backend: it answers pre-checkout queries and
// /paysupport through the Bot API client and records payments.
type shopApp struct {
	t      *testing.T
	bot    *botapi.Client
	secret string

	mu       sync.Mutex
	paid     []botapi.SuccessfulPayment
	refunded []botapi.RefundedPayment
	states   []string
}

func (a *shopApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(SecretTokenHeader)), []byte(a.secret)) != 1 {
		http.Error(w, "bad secret", http.StatusUnauthorized)
		return
	}
	data, _ := io.ReadAll(r.Body)
	u, err := botapi.DecodeUpdate(data)
	if err != nil {
		return // 2xx: a poison update must not block the queue
	}
	ctx := r.Context()
	switch {
	case u.PreCheckoutQuery != nil:
		q := u.PreCheckoutQuery
		ans := botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: q.ID, OK: q.InvoicePayload != "sold-out"}
		if !ans.OK {
			ans.ErrorMessage = "Sold out, sorry"
		}
		if err := a.bot.AnswerPreCheckoutQuery(ctx, ans); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	case u.Message != nil && u.Message.SuccessfulPayment != nil:
		a.mu.Lock()
		a.paid = append(a.paid, *u.Message.SuccessfulPayment)
		a.mu.Unlock()
	case u.Message != nil && u.Message.RefundedPayment != nil:
		a.mu.Lock()
		a.refunded = append(a.refunded, *u.Message.RefundedPayment)
		a.mu.Unlock()
	case u.Message != nil && u.Message.Text == "/paysupport":
		_, err := a.bot.SendMessage(ctx, botapi.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "Write to @shop_support"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	case u.Subscription != nil:
		a.mu.Lock()
		a.states = append(a.states, u.Subscription.State)
		a.mu.Unlock()
	}
}

func TestWholeFlow(t *testing.T) {
	s := newSandbox(t, fixedClock)
	bot := newClient(t, s)
	app := &shopApp{t: t, bot: bot, secret: "flow-secret"}
	appSrv := httptest.NewServer(app)
	t.Cleanup(appSrv.Close)
	ctx := testCtx(t)
	require.NoError(t, bot.SetWebhook(ctx, botapi.SetWebhookParams{
		URL: appSrv.URL, SecretToken: app.secret,
		AllowedUpdates: []string{botapi.AllowMessage, botapi.AllowPreCheckoutQuery, botapi.AllowSubscription},
	}))

	// The Mini App authenticates the user with initData signed by the sandbox.
	raw := s.SignInitData(alice, time.Now())
	require.NoError(t, initdata.Validate(raw, s.Token(), time.Hour))

	link, err := bot.CreateInvoiceLink(ctx, subscriptionInvoice("plan:pro", 250))
	require.NoError(t, err)
	require.Regexp(t, linkRE, link)

	// First payment.
	first, err := s.Pay(ctx, alice, link)
	require.NoError(t, err)
	require.NoError(t, s.WaitIdle(ctx))

	// Renewal 30 days later.
	s.Advance(time.Duration(botapi.SubscriptionPeriod) * time.Second)
	renewal, err := s.Renew(ctx, first.ChargeID)
	require.NoError(t, err)
	require.NoError(t, s.WaitIdle(ctx))

	// The bot refunds the renewal; a second refund is refused.
	require.NoError(t, bot.RefundStarPayment(ctx, alice.ID, renewal.ChargeID))
	err = bot.RefundStarPayment(ctx, alice.ID, renewal.ChargeID)
	require.True(t, botapi.IsChargeAlreadyRefunded(err), "%v", err)
	var apiErr *botapi.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "Bad Request: CHARGE_ALREADY_REFUNDED", apiErr.Description)

	// The user cancels; asks for support; another user's purchase is declined.
	require.NoError(t, s.CancelByUser(first.ChargeID))
	_, err = s.SendText(ctx, alice, "/paysupport")
	require.NoError(t, err)
	soldOut, err := bot.CreateInvoiceLink(ctx, starsInvoice("sold-out", 5))
	require.NoError(t, err)
	_, err = s.Pay(ctx, bob, soldOut)
	var declined *DeclinedError
	require.ErrorAs(t, err, &declined)
	assert.Equal(t, "Sold out, sorry", declined.Message)
	require.NoError(t, s.WaitIdle(ctx))

	app.mu.Lock()
	defer app.mu.Unlock()
	require.Len(t, app.paid, 2)
	assert.Equal(t, first.ChargeID, app.paid[0].TelegramPaymentChargeID)
	assert.True(t, app.paid[0].IsFirstRecurring)
	assert.Equal(t, renewal.ChargeID, app.paid[1].TelegramPaymentChargeID)
	assert.False(t, app.paid[1].IsFirstRecurring)
	assert.True(t, app.paid[1].IsRecurring)
	assert.Equal(t, app.paid[0].SubscriptionExpirationDate+botapi.SubscriptionPeriod, app.paid[1].SubscriptionExpirationDate)
	require.Len(t, app.refunded, 1)
	assert.Equal(t, botapi.RefundedPayment{
		Currency: "XTR", TotalAmount: 250, InvoicePayload: "plan:pro", TelegramPaymentChargeID: renewal.ChargeID,
	}, app.refunded[0])
	assert.Equal(t, []string{"canceled"}, app.states)

	sent := s.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "Write to @shop_support", sent[0].Text)
	assert.Equal(t, alice.ID, sent[0].Chat.ID)
	assert.Equal(t, s.BotID(), sent[0].From.ID)

	// History: two incoming payments, then the refund as an outgoing
	// transaction with the same id.
	txns, err := bot.GetStarTransactions(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, txns.Transactions, 3)
	out := txns.Transactions[2]
	assert.Equal(t, renewal.ChargeID, out.ID)
	assert.False(t, out.Incoming())
	require.NotNil(t, out.Receiver)
	assert.Equal(t, botapi.PartnerUser, out.Receiver.Type)
	assert.Equal(t, alice.ID, out.Receiver.User.ID)
	assert.EqualValues(t, 250, out.Amount)
	bal, err := bot.GetMyStarBalance(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 250, bal.Amount)

	// Every update reached the app at the first attempt.
	for _, r := range s.Updates() {
		assert.Equal(t, StatusDelivered, r.Status, "update %d (%s)", r.Update.UpdateID, r.Kind)
		assert.Len(t, r.Attempts, 1)
	}
}
