package entitlements

import (
	"testing"
	"time"
)

// The client-side cost of the Redis store's codec, without Redis:
//
//	go test -run '^$' -bench RedisWire -benchmem ./entitlements/

// benchGrantForms are a stored subscription grant as Go writes it and as
// cjson writes it after a script edited it.
var benchGrantForms = []struct{ name, raw string }{
	{"go", encodeGrant(Grant{
		ID: "sub:pro", ProductID: "pro", Source: SourceSubscription, Features: []string{"premium", "export"},
		ExpiresAt: time.Unix(1772366400, 123456789), AutoRenew: true, ChargeID: "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
		FirstChargeID: "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789", GrantedAt: time.Unix(1769774400, 0),
	})},
	{"cjson", `{"granted_at":"1769774400","features":["premium","export"],"source":"subscription","id":"sub:pro",` +
		`"auto_renew":true,"expires_at":"1772366400.123456789","charge_id":"stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",` +
		`"first_charge_id":"stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789","product_id":"pro","reason":""}`},
}

func BenchmarkRedisWire_DecodeGrant(b *testing.B) {
	for _, f := range benchGrantForms {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeGrant(f.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRedisWire_DecodeState decodes the HGETALL reply of a user with
// a subscription, a grant without payment and a balance.
func BenchmarkRedisWire_DecodeState(b *testing.B) {
	fields := map[string]string{
		"v":         "7",
		"g:sub:pro": benchGrantForms[1].raw,
		"g:beta":    encodeGrant(Grant{ID: "beta", Source: SourceGrant, Features: []string{"beta"}, Reason: "trial"}),
		"c:credits": "10",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeState(1, fields); err != nil {
			b.Fatal(err)
		}
	}
}

var benchPayment = Payment{
	ChargeID: "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789", UserID: 1 << 40, ProductID: "pack", Amount: 50,
	Currency: "XTR", PaidAt: time.Unix(1769774400, 5), InvoicePayload: "sg1.pack.abcdef", Status: StatusRefunded,
	RefundedAt: time.Unix(1769774401, 0), Kind: KindConsumable, Credits: map[string]int64{"credits": 100},
}

func BenchmarkRedisWire_DecodePayment(b *testing.B) {
	raw := `{"charge_id":"stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789","user_id":"1099511627776","product_id":"pack",` +
		`"amount":"50","currency":"XTR","paid_at":"1769774400.000000005","invoice_payload":"sg1.pack.abcdef",` +
		`"status":"refunded","refunded_at":"1769774401","kind":"consumable","credits":{"credits":"100"}}`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodePayment(raw); err != nil {
			b.Fatal(err)
		}
	}
}

var benchSink string

func BenchmarkRedisWire_EncodeGrant(b *testing.B) {
	g := Grant{
		ID: "pay:stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789", ProductID: "lifetime", Source: SourceOneTime,
		Features: []string{"premium"}, ChargeID: "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789", GrantedAt: time.Unix(1769774400, 5),
	}
	b.ReportAllocs()
	for b.Loop() {
		benchSink = encodeGrant(g)
	}
}

func BenchmarkRedisWire_EncodePayment(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchSink = encodePayment(benchPayment)
	}
}
