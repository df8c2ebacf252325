package botapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/starsgate/starsgate/botapi"
)

// A fake Bot API stands in for api.telegram.org; a real app leaves BaseURL empty.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/createInvoiceLink"):
			_, _ = io.WriteString(w, `{"ok":true,"result":"https://t.me/$AbCdEf123"}`)
		case strings.HasSuffix(r.URL.Path, "/refundStarPayment"):
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"ok":false,"error_code":400,"description":"Bad Request: CHARGE_ALREADY_REFUNDED"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()

	c, err := botapi.New(botapi.Config{Token: "123456:secret", BaseURL: api.URL})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	link, err := c.CreateInvoiceLink(ctx, botapi.CreateInvoiceLinkParams{
		Title:              "Premium",
		Description:        "30 days of premium features",
		Payload:            "signed-payload",
		Currency:           botapi.CurrencyStars,
		Prices:             []botapi.LabeledPrice{{Label: "Premium", Amount: 250}},
		SubscriptionPeriod: botapi.SubscriptionPeriod,
	})
	fmt.Println(link, err)

	err = c.RefundStarPayment(ctx, 424242, "stxOneTimeCharge0001")
	var apiErr *botapi.Error
	fmt.Println(errors.As(err, &apiErr), apiErr.Code, botapi.IsChargeAlreadyRefunded(err))
	fmt.Println("bot", c.BotID())
	// Output:
	// https://t.me/$AbCdEf123 <nil>
	// true 400 true
	// bot 123456
}

func ExampleDecodeUpdate() {
	body := []byte(`{"update_id":10,"message":{"message_id":7,"chat":{"id":42,"type":"private"},"date":1767225600,
		"successful_payment":{"currency":"XTR","total_amount":250,"invoice_payload":"p",
		"subscription_expiration_date":1769817600,"is_recurring":true,"is_first_recurring":true,
		"telegram_payment_charge_id":"stx1","provider_payment_charge_id":""}}}`)
	u, err := botapi.DecodeUpdate(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	if sp := u.Message.SuccessfulPayment; sp != nil {
		fmt.Println(u.Kind(), sp.TelegramPaymentChargeID, sp.TotalAmount, sp.IsFirstRecurring)
	}

	other, _ := botapi.DecodeUpdate([]byte(`{"update_id":11,"callback_query":{"id":"1","data":"x"}}`))
	fmt.Println(other.Kind(), string(other.Raw))
	// Output:
	// message stx1 250 true
	// callback_query {"update_id":11,"callback_query":{"id":"1","data":"x"}}
}

func ExampleWebhookReply() {
	body, err := botapi.WebhookReply("answerPreCheckoutQuery", botapi.AnswerPreCheckoutQueryParams{
		PreCheckoutQueryID: "q1",
		OK:                 true,
	})
	fmt.Println(string(body), err)
	// Output:
	// {"method":"answerPreCheckoutQuery","ok":true,"pre_checkout_query_id":"q1"} <nil>
}
