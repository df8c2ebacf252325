package checkout_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
)

func TestNewConfig(t *testing.T) {
	ok := func() checkout.Config {
		return checkout.Config{Bot: &fakeBot{}, Catalog: testCatalog(t), Store: entitlements.NewMemoryStore(),
			Payloads: newCodec(t, "1:x"), Logger: quiet}
	}
	tests := []struct {
		name      string
		givenMod  func(*checkout.Config)
		expectErr bool
	}{
		{"ok, required fields only", func(*checkout.Config) {}, false},
		{"ok, webhook secret", func(c *checkout.Config) { c.WebhookSecret = "Abc_-9" }, false},
		{"nok, no bot", func(c *checkout.Config) { c.Bot = nil }, true},
		{"nok, no catalog", func(c *checkout.Config) { c.Catalog = nil }, true},
		{"nok, no store", func(c *checkout.Config) { c.Store = nil }, true},
		{"nok, no codec", func(c *checkout.Config) { c.Payloads = nil }, true},
		{"nok, secret with a space", func(c *checkout.Config) { c.WebhookSecret = "a b" }, true},
		{"nok, pre-checkout budget beyond Telegram's deadline", func(c *checkout.Config) { c.PreCheckoutBudget = 11e9 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok()
			tc.givenMod(&cfg)
			_, err := checkout.New(cfg)
			if tc.expectErr {
				assert.ErrorIs(t, err, checkout.ErrInvalidConfig)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestPreCheckoutDecisions(t *testing.T) {
	tests := []struct {
		name       string
		givenStore entitlements.Store
		givenUser  botapi.User
		givenCur   string
		givenAmt   int64
		givenProd  string
		expectOK   bool
		expectMsg  string
	}{
		{"ok, consumable", nil, alice, "XTR", 50, "credits", true, ""},
		{"ok, one-time", nil, alice, "XTR", 500, "lifetime", true, ""},
		{"nok, wrong currency", nil, alice, "USD", 500, "lifetime", false, checkout.MsgWrongCurrency},
		{"nok, price changed", nil, alice, "XTR", 400, "lifetime", false, checkout.MsgPriceChanged},
		{"nok, another buyer", nil, bob, "XTR", 500, "lifetime", false, checkout.MsgWrongUser},
		{"nok, product gone", nil, alice, "XTR", 500, "gone", false, checkout.MsgUnknownProduct},
		{"nok, store down: refuse rather than take money", downStore{}, alice, "XTR", 500, "lifetime", false, checkout.MsgUnavailable},
		{"nok, store slower than the budget: refuse in time", slowStore{}, alice, "XTR", 500, "lifetime", false, checkout.MsgUnavailable},
	}
	for _, tc := range tests {
		for _, sk := range storeKinds {
			if tc.givenStore != nil && sk.name != storeKinds[0].name {
				continue // a store of its own: run once
			}
			t.Run(tc.name+"/"+sk.name, func(t *testing.T) {
				store := tc.givenStore
				if store == nil {
					store = sk.new(t)
				}
				u := newUnit(t, store, func(c *checkout.Config) { c.PreCheckoutBudget = 100 * time.Millisecond })
				raw := preCheckoutUpdate(t, tc.givenUser, tc.givenCur, tc.givenAmt, u.payload(tc.givenProd, alice.ID))
				require.NoError(t, u.proc.Process(testCtx(t), raw), "a decision is never a transient fault")
				a := u.bot.lastAnswer(t)
				assert.Equal(t, "q1", a.PreCheckoutQueryID)
				assert.Equal(t, tc.expectOK, a.OK)
				assert.Equal(t, tc.expectMsg, a.ErrorMessage)
				if tc.givenStore == nil {
					for _, id := range []int64{alice.ID, bob.ID} {
						st, err := store.Load(testCtx(t), id)
						require.NoError(t, err)
						assert.Zero(t, st.Version, "a pre-checkout records nothing")
					}
				}
				assert.Empty(t, u.events.types())
			})
		}
	}
}

func TestProcessClassifiesFaults(t *testing.T) {
	ctx := testCtx(t)
	tests := []struct {
		name            string
		givenStore      entitlements.Store
		givenBotErr     error
		givenUpdate     func(u *unit) []byte
		expectTransient bool
	}{
		{"ok, malformed JSON is permanent", nil, nil, func(*unit) []byte { return []byte(`[1,2`) }, false},
		{"ok, not an update is permanent", nil, nil, func(*unit) []byte { return []byte(`{"message":{}}`) }, false},
		{"nok, store down while recording is transient", downStore{}, nil, func(u *unit) []byte {
			return successfulPaymentUpdate(t, 1, alice, "c", u.payload("credits", alice.ID), 50)
		}, true},
		{"nok, store down while refunding is transient", downStore{}, nil, func(*unit) []byte {
			return mustJSON(t, botapi.Update{UpdateID: 2, Message: &botapi.Message{From: &alice, Chat: botapi.Chat{ID: alice.ID},
				RefundedPayment: &botapi.RefundedPayment{Currency: "XTR", TelegramPaymentChargeID: "c"}}})
		}, true},
		{"ok, refund of an unknown payment is permanent", nil, nil, func(*unit) []byte {
			return mustJSON(t, botapi.Update{UpdateID: 2, Message: &botapi.Message{From: &alice, Chat: botapi.Chat{ID: alice.ID},
				RefundedPayment: &botapi.RefundedPayment{Currency: "XTR", TelegramPaymentChargeID: "c"}}})
		}, false},
		{"nok, Bot API 5xx on the answer is transient", nil, &botapi.Error{Method: "answerPreCheckoutQuery", Code: 502}, func(u *unit) []byte {
			return preCheckoutUpdate(t, alice, "XTR", 50, u.payload("credits", alice.ID))
		}, true},
		{"ok, Bot API 400 on the answer (query too old) is permanent", nil, &botapi.Error{Method: "answerPreCheckoutQuery", Code: 400,
			Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}, func(u *unit) []byte {
			return preCheckoutUpdate(t, alice, "XTR", 50, u.payload("credits", alice.ID))
		}, false},
		{"ok, subscription update for an unknown subscription is permanent", nil, nil, func(u *unit) []byte {
			return mustJSON(t, botapi.Update{UpdateID: 4, Subscription: &botapi.BotSubscriptionUpdated{
				User: alice, InvoicePayload: u.payload("premium", alice.ID), State: "canceled"}})
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.givenStore
			if store == nil {
				store = entitlements.NewMemoryStore()
			}
			u := newUnit(t, store)
			u.bot.err = tc.givenBotErr
			err := u.proc.Process(ctx, tc.givenUpdate(u))
			if tc.expectTransient {
				assert.ErrorIs(t, err, checkout.ErrTransient)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	e := newEnv(t, entitlements.NewMemoryStore(), func(c *checkout.Config) { c.TermsText = "Our terms." })
	ctx := testCtx(t)
	for _, text := range []string{"/paysupport", "/paysupport@starsgate_sandbox_bot", "/terms", "/start", "hello"} {
		_, err := e.sb.SendText(ctx, alice, text)
		require.NoError(t, err)
	}
	require.NoError(t, e.sb.WaitIdle(ctx))
	var got []string
	for _, m := range e.sb.Sent() {
		assert.Equal(t, alice.ID, m.Chat.ID)
		got = append(got, m.Text)
	}
	assert.Equal(t, []string{checkout.DefaultPaySupportText, checkout.DefaultPaySupportText, "Our terms."}, got)
}

func TestAllowedUpdates(t *testing.T) {
	assert.Equal(t, []string{"message", "pre_checkout_query", "subscription"}, checkout.AllowedUpdates())
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return raw
}

// cancelingStore runs each write, then cancels the caller's context and
// reports the cancellation, as go-redis does when the caller goes away
// after Redis ran a script but before its reply arrived.
type cancelingStore struct {
	entitlements.Store
	cancel context.CancelFunc
}

func (s cancelingStore) RecordPayment(ctx context.Context, p entitlements.Payment) (entitlements.Change, error) {
	ch, err := s.Store.RecordPayment(ctx, p)
	s.cancel()
	if ctx.Err() != nil {
		return entitlements.Change{}, ctx.Err()
	}
	return ch, err
}

// A webhook request that goes away while its payment is being written does
// not lose the purchased event: the write runs to its end and the event is
// emitted; the redelivery is a duplicate.
func TestPaymentWriteOutlivesCaller(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testCtx(t))
			store := sk.new(t)
			u := newUnit(t, cancelingStore{Store: store, cancel: cancel}, func(c *checkout.Config) { c.DuplicateCacheSize = -1 })
			raw := successfulPaymentUpdate(t, 1, alice, "gone-caller", u.payload("lifetime", alice.ID), 500)
			require.NoError(t, u.proc.Process(ctx, raw))
			require.Error(t, ctx.Err(), "the caller went away during the write")
			require.NoError(t, u.proc.Process(testCtx(t), raw), "the redelivery")
			assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased}, u.events.types())
			st, err := store.Load(testCtx(t), alice.ID)
			require.NoError(t, err)
			assert.Equal(t, int64(1), st.Version)
		})
	}
}
