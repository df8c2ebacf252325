package checkout_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/sandbox"
)

const day = 24 * time.Hour

func TestPurchaseEndToEnd(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Run("ok, consumable bought twice adds credits twice", func(t *testing.T) {
				e := newEnv(t, sk.new(t))
				e.pay(t, alice, "credits")
				e.pay(t, alice, "credits")
				assert.Equal(t, int64(200), e.state(t, alice.ID).Credits["credits"])
				assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased, entitlements.EventPurchased}, e.events.types())
			})
			t.Run("ok, one-time for life", func(t *testing.T) {
				e := newEnv(t, sk.new(t))
				r := e.pay(t, alice, "lifetime")
				assert.True(t, e.has(t, alice.ID, "pro"))
				assert.False(t, e.has(t, bob.ID, "pro"))
				pay, err := e.store.Payment(testCtx(t), alice.ID, r.ChargeID)
				require.NoError(t, err)
				assert.Equal(t, int64(500), pay.Amount)
				assert.Equal(t, "lifetime", pay.ProductID)
				assert.Equal(t, r.Payload, pay.InvoicePayload)
				e.sb.Advance(3650 * day)
				assert.True(t, e.has(t, alice.ID, "pro"))
			})
			t.Run("ok, one-time for a week ends after a week", func(t *testing.T) {
				e := newEnv(t, sk.new(t))
				e.pay(t, alice, "week")
				assert.True(t, e.has(t, alice.ID, "extras"))
				e.sb.Advance(6 * day)
				assert.True(t, e.has(t, alice.ID, "extras"))
				e.sb.Advance(day + time.Second)
				assert.False(t, e.has(t, alice.ID, "extras"))
				// Expired: it can be bought again.
				e.pay(t, alice, "week")
				assert.True(t, e.has(t, alice.ID, "extras"))
			})
			t.Run("ok, subscription renewed twice, cancelled, expired, re-subscribed, failed", func(t *testing.T) {
				testSubscriptionLifecycle(t, newEnv(t, sk.new(t)))
			})
		})
	}
}

func testSubscriptionLifecycle(t *testing.T, e *env) {
	ctx := testCtx(t)
	first := e.pay(t, alice, "premium")
	require.True(t, first.IsFirstRecurring)
	sub := func() entitlements.Grant {
		st := e.state(t, alice.ID)
		g, ok := st.ActiveGrant(entitlements.SubscriptionGrantID("premium"), time.Time{})
		require.True(t, ok)
		return g
	}
	assert.True(t, e.has(t, alice.ID, "premium"))
	assert.Equal(t, first.SubscriptionExpiration, sub().ExpiresAt.UTC())
	assert.Equal(t, first.ChargeID, sub().FirstChargeID)

	expiry := first.SubscriptionExpiration
	for range 2 {
		e.sb.Advance(30 * day)
		r, err := e.sb.Renew(ctx, first.ChargeID)
		require.NoError(t, err)
		require.NoError(t, e.sb.WaitIdle(ctx))
		require.True(t, r.SubscriptionExpiration.After(expiry))
		expiry = r.SubscriptionExpiration
		assert.Equal(t, expiry, sub().ExpiresAt.UTC())
		assert.Equal(t, r.ChargeID, sub().ChargeID)
		assert.Equal(t, first.ChargeID, sub().FirstChargeID, "the first charge stays the subscription's handle")
		assert.True(t, e.has(t, alice.ID, "premium"))
	}

	require.NoError(t, e.sb.CancelByUser(first.ChargeID))
	require.NoError(t, e.sb.WaitIdle(ctx))
	assert.False(t, sub().AutoRenew)
	assert.True(t, e.has(t, alice.ID, "premium"), "a cancellation keeps access to the end of the period")
	e.sb.Advance(expiry.Sub(e.sb.Now()) - time.Minute)
	assert.True(t, e.has(t, alice.ID, "premium"))
	e.sb.Advance(2 * time.Minute)
	assert.False(t, e.has(t, alice.ID, "premium"), "access ends at the expiration date")

	again := e.pay(t, alice, "premium")
	assert.True(t, e.has(t, alice.ID, "premium"))
	assert.True(t, sub().AutoRenew)
	assert.Equal(t, again.ChargeID, sub().FirstChargeID)

	require.NoError(t, e.sb.FailRenewal(again.ChargeID))
	require.NoError(t, e.sb.WaitIdle(ctx))
	assert.False(t, e.has(t, alice.ID, "premium"), "a failed renewal ends access")

	assert.Equal(t, []entitlements.EventType{
		entitlements.EventPurchased, entitlements.EventRenewed, entitlements.EventRenewed, entitlements.EventCanceled,
		entitlements.EventPurchased, entitlements.EventRenewalFailed,
	}, e.events.types())
}

func TestPreCheckoutRefusals(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.new(t))
			ctx := testCtx(t)
			e.pay(t, alice, "lifetime")
			e.pay(t, alice, "premium")
			before := e.state(t, alice.ID)
			beforeBob := e.state(t, bob.ID)
			good, err := e.codec.Encode(invoicePayload("credits", alice.ID))
			require.NoError(t, err)
			forged := good[:len(good)-1] + string(flip(good[len(good)-1]))

			tests := []struct {
				name      string
				givenUser int64
				givenLink func() string
				expectMsg string
			}{
				{"nok, buyer is not the invoice's user", bob.ID, func() string { return e.link(t, "credits", alice.ID, 0) }, "another Telegram account"},
				{"nok, price changed since the invoice", alice.ID, func() string { return e.link(t, "credits", alice.ID, 40) }, "price of this product has changed"},
				{"nok, forged payload", alice.ID, func() string { return e.linkWithPayload(t, "credits", forged, 0) }, "not valid"},
				{"nok, truncated payload", alice.ID, func() string { return e.linkWithPayload(t, "credits", good[:len(good)-4], 0) }, "not valid"},
				{"nok, payload not issued by us", alice.ID, func() string { return e.linkWithPayload(t, "credits", "plan:credits", 0) }, "not recognised"},
				{"nok, product no longer sold", alice.ID, func() string { return e.link(t, "gone", alice.ID, 0) }, "no longer for sale"},
				{"nok, one-time product already owned", alice.ID, func() string { return e.link(t, "lifetime", alice.ID, 0) }, "already own"},
				{"nok, second active subscription", alice.ID, func() string { return e.link(t, "premium", alice.ID, 0) }, "already have an active subscription"},
				// A wrong currency cannot come through the sandbox, which (as
				// Telegram for digital goods) makes XTR invoices only:
				// TestPreCheckoutDecisions sends that query itself.
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					user := alice
					if tc.givenUser == bob.ID {
						user = bob
					}
					_, err := e.sb.Pay(ctx, user, tc.givenLink())
					assert.Contains(t, declined(t, err), tc.expectMsg)
				})
			}
			require.NoError(t, e.sb.WaitIdle(ctx))
			assert.Equal(t, before, e.state(t, alice.ID), "nothing recorded for a refused checkout")
			assert.Equal(t, beforeBob, e.state(t, bob.ID))
			assert.Len(t, e.events.types(), 2)
		})
	}
}

func flip(b byte) byte {
	if b == 'A' {
		return 'B'
	}
	return 'A'
}

func TestRefunds(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Run("ok, Refund revokes a one-time purchase once", func(t *testing.T) {
				e := newEnv(t, sk.new(t))
				ctx := testCtx(t)
				r := e.pay(t, alice, "lifetime")
				require.NoError(t, e.proc.Refund(ctx, alice.ID, r.ChargeID))
				assert.False(t, e.has(t, alice.ID, "pro"))
				require.NoError(t, e.sb.WaitIdle(ctx)) // the refunded_payment update: a duplicate
				require.NoError(t, e.proc.Refund(ctx, alice.ID, r.ChargeID), "a second refund is a no-op success")
				require.NoError(t, e.sb.WaitIdle(ctx))
				pay, err := e.store.Payment(ctx, alice.ID, r.ChargeID)
				require.NoError(t, err)
				assert.Equal(t, entitlements.StatusRefunded, pay.Status)
				assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased, entitlements.EventRefunded}, e.events.types())
			})
			t.Run("ok, Refund takes back consumable credits, not others", func(t *testing.T) {
				e := newEnv(t, sk.new(t))
				ctx := testCtx(t)
				r := e.pay(t, alice, "credits")
				e.pay(t, alice, "credits")
				e.pay(t, alice, "lifetime")
				require.NoError(t, e.proc.Refund(ctx, alice.ID, r.ChargeID))
				require.NoError(t, e.sb.WaitIdle(ctx))
				assert.Equal(t, int64(100), e.state(t, alice.ID).Credits["credits"])
				assert.True(t, e.has(t, alice.ID, "pro"))
				assert.Equal(t, 1, e.events.count(entitlements.EventRefunded))
			})
			// A refund made elsewhere (another tool, Telegram support)
			// arrives as a refunded_payment update and revokes exactly what
			// that payment granted.
			for _, tc := range []struct {
				product, other string
				check          func(t *testing.T, e *env)
			}{
				{"premium", "lifetime", func(t *testing.T, e *env) {
					assert.False(t, e.has(t, alice.ID, "premium"))
					assert.True(t, e.has(t, alice.ID, "pro"))
				}},
				{"lifetime", "premium", func(t *testing.T, e *env) {
					assert.False(t, e.has(t, alice.ID, "pro"))
					assert.True(t, e.has(t, alice.ID, "premium"))
				}},
				{"credits", "credits", func(t *testing.T, e *env) {
					assert.Equal(t, int64(100), e.state(t, alice.ID).Credits["credits"], "the other pack's credits stay")
				}},
			} {
				t.Run("ok, incoming refunded_payment of "+tc.product, func(t *testing.T) {
					e := newEnv(t, sk.new(t))
					ctx := testCtx(t)
					r := e.pay(t, alice, tc.product)
					e.pay(t, alice, tc.other)
					require.NoError(t, e.bot.RefundStarPayment(ctx, alice.ID, r.ChargeID)) // not through Refund
					require.NoError(t, e.sb.WaitIdle(ctx))
					tc.check(t, e)
					pay, err := e.store.Payment(ctx, alice.ID, r.ChargeID)
					require.NoError(t, err)
					assert.Equal(t, entitlements.StatusRefunded, pay.Status)
					require.NoError(t, e.proc.Refund(ctx, alice.ID, r.ChargeID), "already refunded: success")
					require.NoError(t, e.sb.WaitIdle(ctx))
					assert.Equal(t, 1, e.events.count(entitlements.EventRefunded))
				})
			}
			t.Run("nok, unknown charge is Telegram's refusal", func(t *testing.T) {
				e := newEnv(t, sk.new(t))
				err := e.proc.Refund(testCtx(t), alice.ID, "no-such-charge")
				require.Error(t, err)
				assert.NotErrorIs(t, err, errTransient)
			})
		})
	}
}

func TestCancelAndResumeSubscription(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.new(t))
			ctx := testCtx(t)
			first := e.pay(t, alice, "premium")
			e.sb.Advance(30 * day)
			_, err := e.sb.Renew(ctx, first.ChargeID)
			require.NoError(t, err)
			require.NoError(t, e.sb.WaitIdle(ctx))

			require.NoError(t, e.proc.CancelSubscription(ctx, alice.ID, "premium"))
			info, ok := e.sb.Subscription(first.ChargeID)
			require.True(t, ok)
			assert.True(t, info.CanceledByBot, "the first charge ID reached Telegram")
			st := e.state(t, alice.ID)
			g, _ := st.ActiveGrant(entitlements.SubscriptionGrantID("premium"), e.sb.Now())
			assert.False(t, g.AutoRenew)
			assert.True(t, e.has(t, alice.ID, "premium"))
			_, err = e.sb.Renew(ctx, first.ChargeID)
			require.ErrorIs(t, err, sandbox.ErrSubscriptionCanceled)

			require.NoError(t, e.proc.ResumeSubscription(ctx, alice.ID, "premium"))
			st = e.state(t, alice.ID)
			g, _ = st.ActiveGrant(entitlements.SubscriptionGrantID("premium"), e.sb.Now())
			assert.True(t, g.AutoRenew)
			_, err = e.sb.Renew(ctx, first.ChargeID)
			require.NoError(t, err)
			require.NoError(t, e.sb.WaitIdle(ctx))

			err = e.proc.CancelSubscription(ctx, bob.ID, "premium")
			assert.True(t, errors.Is(err, errNoSubscription), "got %v", err)
			assert.Equal(t, []entitlements.EventType{
				entitlements.EventPurchased, entitlements.EventRenewed, entitlements.EventCanceled,
				entitlements.EventReactivated, entitlements.EventRenewed,
			}, e.events.types())
		})
	}
}
