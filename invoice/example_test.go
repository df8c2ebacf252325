package invoice_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/invoice"
)

func ExampleCodec() {
	// In production: invoice.KeyFromBotToken(os.Getenv("BOT_TOKEN")), or a
	// configured secret of at least 32 bytes.
	codec, err := invoice.NewCodec(invoice.KeyFromBotToken("123456:example-token"))
	if err != nil {
		fmt.Println(err)
		return
	}

	// Fixed issue time and nonce keep this example's output stable; leave
	// them zero to get the current time and a random nonce.
	payload, err := codec.Encode(invoice.Payload{
		ProductID: "premium",
		UserID:    279058397,
		IssuedAt:  time.Date(2026, 7, 14, 12, 0, 0, 0, time.UTC),
		Nonce:     [invoice.NonceSize]byte{1, 2, 3, 4, 5, 6, 7, 8},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(payload, len(payload))

	// At pre-checkout: the payload comes back with the paying user's ID.
	p, err := codec.Verify(payload, 279058397)
	fmt.Println(p.ProductID, p.UserID, p.IssuedAt.Format(time.RFC3339), err)

	_, err = codec.Verify(payload, 111)
	fmt.Println(errors.Is(err, invoice.ErrPayloadWrongUser))

	_, err = codec.Decode("order:42") // another feature's invoice
	fmt.Println(errors.Is(err, invoice.ErrPayloadNotOurs))
	// Output:
	// sg1.premium.AAAAABCiF91qViTAAQIDBAUGBwiOomctEQI3krgNrHeFzc1c 60
	// premium 279058397 2026-07-14T12:00:00Z <nil>
	// true
	// true
}

func ExampleLinkParams() {
	product := entitlements.Product{
		ID: "premium_monthly", Title: "Premium", Description: "30 days of premium",
		Price: 250, Kind: entitlements.KindSubscription, Features: []string{"premium"},
	}
	// The payload comes from Codec.Encode; Links.Create does both steps.
	params := invoice.LinkParams(product, "sg1.premium_monthly.…")
	out, err := json.MarshalIndent(params, "", "  ")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// {
	//   "title": "Premium",
	//   "description": "30 days of premium",
	//   "payload": "sg1.premium_monthly.…",
	//   "currency": "XTR",
	//   "prices": [
	//     {
	//       "label": "Premium",
	//       "amount": 250
	//     }
	//   ],
	//   "subscription_period": 2592000
	// }
}
