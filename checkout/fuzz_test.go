package checkout_test

import (
	"testing"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
)

// FuzzProcess feeds arbitrary bytes through Process. With a store and a Bot
// API that never fail, nothing is transient: every input is processed or
// ignored, never a panic or an error. Seeds in testdata/fuzz/FuzzProcess.
func FuzzProcess(f *testing.F) {
	codec := newCodec(f, "100000001:fuzz-token")
	payload, err := codec.Encode(invoicePayload("premium", alice.ID))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(successfulPaymentUpdate(f, 1, alice, "c1", payload, 250))
	f.Add(preCheckoutUpdate(f, alice, "XTR", 250, payload))
	f.Add(mustJSON(f, botapi.Update{UpdateID: 2, Subscription: &botapi.BotSubscriptionUpdated{User: alice, InvoicePayload: payload, State: "failed"}}))
	f.Add([]byte(`{"update_id":3,"message":{"message_id":1,"from":{"id":1001},"chat":{"id":1001},"text":"/paysupport@bot x"}}`))
	f.Add([]byte(`{"update_id":4,"message":{"chat":{"id":1},"refunded_payment":{"telegram_payment_charge_id":"c1"}}}`))
	f.Add([]byte(`{"update_id":5,"message":{"from":{"id":-1},"chat":{"id":1},"successful_payment":{"invoice_payload":"sg1.x.","telegram_payment_charge_id":""}}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"update_id":"1"}`))

	store := entitlements.NewMemoryStore()
	proc, err := checkout.New(checkout.Config{
		Bot: &fakeBot{}, Catalog: testCatalog(f), Store: store, Payloads: codec, Logger: quiet,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := proc.Process(t.Context(), raw); err != nil {
			t.Fatalf("Process(%q) = %v, want nil", raw, err)
		}
	})
}
