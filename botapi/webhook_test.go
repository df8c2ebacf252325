package botapi

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ada = User{ID: 424242, FirstName: "Ada", Username: "ada", LanguageCode: "en"}
var adaChat = Chat{ID: 424242, Type: ChatPrivate, FirstName: "Ada", Username: "ada"}

func TestDecodeUpdateFixtures(t *testing.T) {
	tests := []struct {
		file  string
		kind  string
		check func(t *testing.T, u Update)
	}{
		{
			file: "update_successful_payment_one_time.json", kind: KindMessage,
			check: func(t *testing.T, u Update) {
				assert.Equal(t, int64(812470001), u.UpdateID)
				m := u.Message
				assert.Equal(t, int64(1201), m.MessageID)
				assert.Equal(t, &User{ID: 424242, FirstName: "Ada", LastName: "Lovelace", Username: "ada", LanguageCode: "en", IsPremium: true}, m.From)
				assert.Equal(t, Chat{ID: 424242, Type: ChatPrivate, FirstName: "Ada", LastName: "Lovelace", Username: "ada"}, m.Chat)
				assert.Equal(t, int64(1767225600), m.Date)
				assert.Equal(t, &SuccessfulPayment{
					Currency: "XTR", TotalAmount: 150, InvoicePayload: "v1.lifetime_pro.424242.AAECAwQF",
					TelegramPaymentChargeID: "stxOneTimeCharge0001",
				}, m.SuccessfulPayment)
				assert.Nil(t, m.RefundedPayment)
			},
		},
		{
			file: "update_successful_payment_subscription_first.json", kind: KindMessage,
			check: func(t *testing.T, u Update) {
				assert.Equal(t, &SuccessfulPayment{
					Currency: "XTR", TotalAmount: 250, InvoicePayload: "v1.premium.424242.BgcICQoL",
					SubscriptionExpirationDate: 1769817600, IsRecurring: true, IsFirstRecurring: true,
					TelegramPaymentChargeID: "stxSubscriptionFirst0001",
				}, u.Message.SuccessfulPayment)
				assert.Equal(t, &ada, u.Message.From)
			},
		},
		{
			file: "update_successful_payment_subscription_renewal.json", kind: KindMessage,
			check: func(t *testing.T, u Update) {
				assert.Equal(t, &SuccessfulPayment{
					Currency: "XTR", TotalAmount: 250, InvoicePayload: "v1.premium.424242.BgcICQoL",
					SubscriptionExpirationDate: 1772409600, IsRecurring: true, IsFirstRecurring: false,
					TelegramPaymentChargeID: "stxSubscriptionRenewal0002",
				}, u.Message.SuccessfulPayment)
			},
		},
		{
			file: "update_refunded_payment.json", kind: KindMessage,
			check: func(t *testing.T, u Update) {
				assert.Nil(t, u.Message.SuccessfulPayment)
				assert.Equal(t, &RefundedPayment{
					Currency: "XTR", TotalAmount: 150, InvoicePayload: "v1.lifetime_pro.424242.AAECAwQF",
					TelegramPaymentChargeID: "stxOneTimeCharge0001",
				}, u.Message.RefundedPayment)
				assert.Equal(t, adaChat, u.Message.Chat)
			},
		},
		{
			file: "update_pre_checkout_query.json", kind: KindPreCheckoutQuery,
			check: func(t *testing.T, u Update) {
				assert.Nil(t, u.Message)
				assert.Equal(t, &PreCheckoutQuery{
					ID: "1823409834701239487", From: ada, Currency: "XTR", TotalAmount: 150,
					InvoicePayload: "v1.lifetime_pro.424242.AAECAwQF",
				}, u.PreCheckoutQuery)
			},
		},
		{
			file: "update_subscription.json", kind: KindSubscription,
			check: func(t *testing.T, u Update) {
				assert.Equal(t, &BotSubscriptionUpdated{User: ada, InvoicePayload: "v1.premium.424242.BgcICQoL", State: SubscriptionCanceled}, u.Subscription)
			},
		},
		{
			file: "update_unknown_kind.json", kind: "callback_query",
			check: func(t *testing.T, u Update) {
				assert.Equal(t, int64(812470006), u.UpdateID)
				assert.Nil(t, u.Message)
				assert.Nil(t, u.PreCheckoutQuery)
				assert.Nil(t, u.Subscription)
				var raw struct {
					CallbackQuery struct {
						Data string `json:"data"`
					} `json:"callback_query"`
				}
				require.NoError(t, json.Unmarshal(u.Raw, &raw))
				assert.Equal(t, "menu:premium", raw.CallbackQuery.Data)
			},
		},
		{
			file: "update_text_command.json", kind: KindMessage,
			check: func(t *testing.T, u Update) {
				m := u.Message
				assert.Equal(t, "/paysupport", m.Text)
				assert.Equal(t, []MessageEntity{{Type: "bot_command", Offset: 0, Length: 11}}, m.Entities)
				var raw map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(m.Raw, &raw))
				assert.JSONEq(t, `{"nested":[1,2,3]}`, string(raw["some_future_field"]), "Message.Raw keeps unknown fields")
				assert.JSONEq(t, `{"is_disabled":true}`, string(raw["link_preview_options"]))
			},
		},
	}
	for _, tt := range tests {
		t.Run("ok, "+tt.file, func(t *testing.T) {
			data := fixture(t, tt.file)
			u, err := DecodeUpdate(data)
			require.NoError(t, err)
			assert.Equal(t, tt.kind, u.Kind())
			assert.Equal(t, bytes.TrimSpace(data), []byte(u.Raw), "Raw is the update as received")
			if u.Message != nil {
				var whole struct {
					Message json.RawMessage `json:"message"`
				}
				require.NoError(t, json.Unmarshal(data, &whole))
				assert.Equal(t, whole.Message, u.Message.Raw)
			}
			tt.check(t, u)
		})
	}
}

func TestDecodeUpdate(t *testing.T) {
	tests := []struct {
		name     string
		give     string
		wantErr  bool
		wantKind string
		wantID   int64
	}{
		{name: "ok, update_id 0 is present", give: `{"update_id":0,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":1}}`, wantKind: KindMessage},
		{name: "ok, only update_id", give: `{"update_id":9}`, wantKind: "", wantID: 9},
		{name: "ok, unknown kind with null known fields", give: `{"update_id":9,"message":null,"edited_message":{"message_id":1}}`, wantKind: "edited_message", wantID: 9},
		{name: "ok, surrounding whitespace", give: " \n{\"update_id\":3,\"poll\":{}}\t", wantKind: "poll", wantID: 3},
		{name: "ok, unknown subscription state", give: `{"update_id":4,"subscription":{"user":{"id":1,"is_bot":false,"first_name":"A"},"invoice_payload":"p","state":"paused"}}`, wantKind: KindSubscription, wantID: 4},
		{name: "nok, empty", give: ``, wantErr: true},
		{name: "nok, null", give: `null`, wantErr: true},
		{name: "nok, array", give: `[{"update_id":1}]`, wantErr: true},
		{name: "nok, string", give: `"update"`, wantErr: true},
		{name: "nok, no update_id", give: `{"message":{"message_id":1}}`, wantErr: true},
		{name: "nok, null update_id", give: `{"update_id":null}`, wantErr: true},
		{name: "nok, update_id string", give: `{"update_id":"1"}`, wantErr: true},
		{name: "nok, update_id float", give: `{"update_id":1.5}`, wantErr: true},
		{name: "nok, message of the wrong type", give: `{"update_id":1,"message":"hi"}`, wantErr: true},
		{name: "nok, truncated", give: `{"update_id":1,"message":{`, wantErr: true},
		{name: "nok, trailing garbage", give: `{"update_id":1} {}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := DecodeUpdate([]byte(tt.give))
			if tt.wantErr {
				require.ErrorIs(t, err, ErrMalformedUpdate)
				assert.Equal(t, Update{}, u)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantKind, u.Kind())
			assert.Equal(t, tt.wantID, u.UpdateID)
		})
	}
}

func TestUpdateKindWithoutRaw(t *testing.T) {
	tests := []struct {
		name string
		give Update
		want string
	}{
		{name: "ok, message", give: Update{Message: &Message{}}, want: KindMessage},
		{name: "ok, pre_checkout_query", give: Update{PreCheckoutQuery: &PreCheckoutQuery{}}, want: KindPreCheckoutQuery},
		{name: "ok, subscription", give: Update{Subscription: &BotSubscriptionUpdated{}}, want: KindSubscription},
		{name: "ok, nothing", give: Update{UpdateID: 1}, want: ""},
		{name: "ok, broken Raw", give: Update{Raw: json.RawMessage(`{`)}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.give.Kind())
		})
	}
}

// TestUpdateEncodes checks that an update built in Go (as the sandbox
// builds them) encodes with the Bot API's field names and decodes back.
func TestUpdateEncodes(t *testing.T) {
	u := Update{UpdateID: 7, Message: &Message{
		MessageID: 3, From: &ada, Chat: adaChat, Date: 1767225600,
		SuccessfulPayment: &SuccessfulPayment{Currency: CurrencyStars, TotalAmount: 250, InvoicePayload: "p",
			SubscriptionExpirationDate: 1769817600, IsRecurring: true, IsFirstRecurring: true, TelegramPaymentChargeID: "c1"},
		Raw: json.RawMessage(`{"ignored":true}`),
	}}
	data, err := json.Marshal(u)
	require.NoError(t, err)
	assert.JSONEq(t, `{"update_id":7,"message":{"message_id":3,
		"from":{"id":424242,"is_bot":false,"first_name":"Ada","username":"ada","language_code":"en"},
		"chat":{"id":424242,"type":"private","first_name":"Ada","username":"ada"},"date":1767225600,
		"successful_payment":{"currency":"XTR","total_amount":250,"invoice_payload":"p",
		"subscription_expiration_date":1769817600,"is_recurring":true,"is_first_recurring":true,
		"telegram_payment_charge_id":"c1","provider_payment_charge_id":""}}}`, string(data))

	back, err := DecodeUpdate(data)
	require.NoError(t, err)
	assert.Equal(t, data, []byte(back.Raw))
	back.Raw, back.Message.Raw, u.Message.Raw = nil, nil, nil
	assert.Equal(t, u, back)
}

func TestWebhookReply(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		params  any
		want    string
		wantErr error
	}{
		{
			name: "ok, answerPreCheckoutQuery", method: "answerPreCheckoutQuery",
			params: AnswerPreCheckoutQueryParams{PreCheckoutQueryID: "q1", ErrorMessage: "Sold out"},
			want:   `{"method":"answerPreCheckoutQuery","pre_checkout_query_id":"q1","ok":false,"error_message":"Sold out"}`,
		},
		{
			name: "ok, sendMessage", method: "sendMessage", params: SendMessageParams{ChatID: 5, Text: "hi"},
			want: `{"method":"sendMessage","chat_id":5,"text":"hi"}`,
		},
		{name: "ok, nil params", method: "close2", want: `{"method":"close2"}`},
		{name: "ok, raw params", method: "sendMessage", params: json.RawMessage(`{"chat_id":1,"text":"x"}`), want: `{"method":"sendMessage","chat_id":1,"text":"x"}`},
		{name: "ok, params method key is replaced", method: "sendMessage", params: map[string]any{"method": "getMe", "chat_id": 1}, want: `{"method":"sendMessage","chat_id":1}`},
		{name: "ok, nil pointer params", method: "sendMessage", params: (*SendMessageParams)(nil), want: `{"method":"sendMessage"}`},
		{name: "nok, get method", method: "getMe", wantErr: ErrWebhookReplyMethod},
		{name: "nok, get method any case", method: "GETUPDATES", wantErr: ErrWebhookReplyMethod},
		{name: "nok, setWebhook", method: "setWebhook", wantErr: ErrWebhookReplyMethod},
		{name: "nok, deleteWebhook", method: "deleteWebhook", wantErr: ErrWebhookReplyMethod},
		{name: "nok, close", method: "close", wantErr: ErrWebhookReplyMethod},
		{name: "nok, logOut", method: "logOut", wantErr: ErrWebhookReplyMethod},
		{name: "nok, invalid method", method: "send/Message", wantErr: ErrInvalidMethod},
		{name: "nok, params not an object", method: "sendMessage", params: []int{1}},
		{name: "nok, params do not encode", method: "sendMessage", params: map[string]any{"c": make(chan int)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WebhookReply(tt.method, tt.params)
			if tt.want == "" {
				require.Error(t, err)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				}
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}
