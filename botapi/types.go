package botapi

import (
	"encoding/json"
	"sort"
)

// Update kinds returned by [Update.Kind] for the kinds this package decodes.
// Any other kind is named by its JSON key (for example "callback_query").
const (
	KindMessage          = "message"
	KindPreCheckoutQuery = "pre_checkout_query"
	KindSubscription     = "subscription"
)

// Update is one incoming update. At most one of the optional fields is set.
// Kinds this package does not model leave them all nil; Raw always holds the
// whole update as received, so an app's own bot framework can decode it.
type Update struct {
	UpdateID         int64                   `json:"update_id"`
	Message          *Message                `json:"message,omitempty"`
	PreCheckoutQuery *PreCheckoutQuery       `json:"pre_checkout_query,omitempty"`
	Subscription     *BotSubscriptionUpdated `json:"subscription,omitempty"`

	// Raw is the update's JSON as received. It is set by decoding and is
	// not used when encoding.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the known fields and keeps a copy of the input in Raw.
func (u *Update) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	type plain Update // drops the method, so no recursion
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*u = Update(p)
	u.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// Kind names the kind of the update: "message", "pre_checkout_query",
// "subscription", or, for kinds this package does not model, the update's
// JSON key other than "update_id" (found in Raw). It is "" when nothing is set.
func (u *Update) Kind() string {
	switch {
	case u.Message != nil:
		return KindMessage
	case u.PreCheckoutQuery != nil:
		return KindPreCheckoutQuery
	case u.Subscription != nil:
		return KindSubscription
	}
	if len(u.Raw) == 0 {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(u.Raw, &fields) != nil {
		return ""
	}
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if k != "update_id" && string(v) != "null" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys) // an update has one kind; sorting only makes junk deterministic
	return keys[0]
}

// Message is a Telegram message. Payments arrive as service messages
// carrying SuccessfulPayment or RefundedPayment.
type Message struct {
	MessageID         int64              `json:"message_id"`
	MessageThreadID   int64              `json:"message_thread_id,omitempty"`
	From              *User              `json:"from,omitempty"`
	Chat              Chat               `json:"chat"`
	Date              int64              `json:"date"`
	Text              string             `json:"text,omitempty"`
	Entities          []MessageEntity    `json:"entities,omitempty"`
	Invoice           *Invoice           `json:"invoice,omitempty"`
	SuccessfulPayment *SuccessfulPayment `json:"successful_payment,omitempty"`
	RefundedPayment   *RefundedPayment   `json:"refunded_payment,omitempty"`

	// Raw is the message's JSON as received. It is set by decoding and is
	// not used when encoding.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the known fields and keeps a copy of the input in Raw.
func (m *Message) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	type plain Message
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*m = Message(p)
	m.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// MessageEntity is a special entity in a text message (bot_command, url, …).
type MessageEntity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"` // in UTF-16 code units
	Length int    `json:"length"` // in UTF-16 code units
	URL    string `json:"url,omitempty"`
	User   *User  `json:"user,omitempty"`
}

// User is a Telegram user or bot.
type User struct {
	ID                      int64  `json:"id"`
	IsBot                   bool   `json:"is_bot"`
	FirstName               string `json:"first_name"`
	LastName                string `json:"last_name,omitempty"`
	Username                string `json:"username,omitempty"`
	LanguageCode            string `json:"language_code,omitempty"`
	IsPremium               bool   `json:"is_premium,omitempty"`
	CanJoinGroups           bool   `json:"can_join_groups,omitempty"`             // getMe only
	CanReadAllGroupMessages bool   `json:"can_read_all_group_messages,omitempty"` // getMe only
	SupportsInlineQueries   bool   `json:"supports_inline_queries,omitempty"`     // getMe only
}

// Chat types.
const (
	ChatPrivate    = "private"
	ChatGroup      = "group"
	ChatSupergroup = "supergroup"
	ChatChannel    = "channel"
)

// Chat is the chat a message belongs to.
type Chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

// CurrencyStars is the currency code of Telegram Stars.
const CurrencyStars = "XTR"

// Invoice is the invoice a message carries (the result of sendInvoice).
type Invoice struct {
	Title          string `json:"title"`
	Description    string `json:"description"`
	StartParameter string `json:"start_parameter"`
	Currency       string `json:"currency"`
	TotalAmount    int64  `json:"total_amount"`
}

// PreCheckoutQuery asks the bot to confirm a checkout; it must be answered
// with answerPreCheckoutQuery within 10 seconds.
type PreCheckoutQuery struct {
	ID               string     `json:"id"`
	From             User       `json:"from"`
	Currency         string     `json:"currency"`
	TotalAmount      int64      `json:"total_amount"` // for XTR: the number of Stars
	InvoicePayload   string     `json:"invoice_payload"`
	ShippingOptionID string     `json:"shipping_option_id,omitempty"`
	OrderInfo        *OrderInfo `json:"order_info,omitempty"`
}

// OrderInfo is what the user entered at checkout (never asked for Stars).
type OrderInfo struct {
	Name            string           `json:"name,omitempty"`
	PhoneNumber     string           `json:"phone_number,omitempty"`
	Email           string           `json:"email,omitempty"`
	ShippingAddress *ShippingAddress `json:"shipping_address,omitempty"`
}

// ShippingAddress is a shipping address.
type ShippingAddress struct {
	CountryCode string `json:"country_code"`
	State       string `json:"state"`
	City        string `json:"city"`
	StreetLine1 string `json:"street_line1"`
	StreetLine2 string `json:"street_line2"`
	PostCode    string `json:"post_code"`
}

// SuccessfulPayment is the service message content of a completed payment,
// including each subscription renewal.
type SuccessfulPayment struct {
	Currency       string `json:"currency"`
	TotalAmount    int64  `json:"total_amount"`
	InvoicePayload string `json:"invoice_payload"`
	// SubscriptionExpirationDate is a Unix time, set for subscription payments only.
	SubscriptionExpirationDate int64 `json:"subscription_expiration_date,omitempty"`
	// IsRecurring is true for every payment of a subscription.
	IsRecurring bool `json:"is_recurring,omitempty"`
	// IsFirstRecurring is true for the first payment of a subscription.
	IsFirstRecurring        bool       `json:"is_first_recurring,omitempty"`
	ShippingOptionID        string     `json:"shipping_option_id,omitempty"`
	OrderInfo               *OrderInfo `json:"order_info,omitempty"`
	TelegramPaymentChargeID string     `json:"telegram_payment_charge_id"`
	ProviderPaymentChargeID string     `json:"provider_payment_charge_id"`
}

// RefundedPayment is the service message content of a refund.
type RefundedPayment struct {
	Currency                string `json:"currency"` // always "XTR"
	TotalAmount             int64  `json:"total_amount"`
	InvoicePayload          string `json:"invoice_payload"`
	TelegramPaymentChargeID string `json:"telegram_payment_charge_id"`
	ProviderPaymentChargeID string `json:"provider_payment_charge_id,omitempty"`
}

// Subscription states of a [BotSubscriptionUpdated].
const (
	// SubscriptionCanceled: the user cancelled; access lasts to the end of the period.
	SubscriptionCanceled = "canceled"
	// SubscriptionActive: the user re-enabled a previously cancelled subscription.
	SubscriptionActive = "active"
	// SubscriptionFailed: the payment for the subscription failed.
	SubscriptionFailed = "failed"
)

// BotSubscriptionUpdated (Bot API 10.2, Update.subscription) reports a
// change of a user's subscription to the bot.
type BotSubscriptionUpdated struct {
	User           User   `json:"user"`
	InvoicePayload string `json:"invoice_payload"`
	State          string `json:"state"` // SubscriptionCanceled, SubscriptionActive or SubscriptionFailed
}

// LabeledPrice is one price portion. For Stars, Amount is the number of Stars.
type LabeledPrice struct {
	Label  string `json:"label"`
	Amount int64  `json:"amount"`
}

// StarTransactions is the result of getStarTransactions.
type StarTransactions struct {
	Transactions []StarTransaction `json:"transactions"`
}

// StarTransaction is one Star transaction of the bot. Amount is always
// positive: an incoming transaction has Source, an outgoing one (a refund,
// a withdrawal) has Receiver. A refund reuses the ID of the payment it
// refunds, so (ID, direction) identifies a transaction.
type StarTransaction struct {
	ID             string              `json:"id"`
	Amount         int64               `json:"amount"`
	NanostarAmount int64               `json:"nanostar_amount,omitempty"`
	Date           int64               `json:"date"`
	Source         *TransactionPartner `json:"source,omitempty"`
	Receiver       *TransactionPartner `json:"receiver,omitempty"`
}

// Incoming reports whether the transaction credited the bot.
func (t *StarTransaction) Incoming() bool { return t.Source != nil }

// TransactionPartner types.
const (
	PartnerUser             = "user"
	PartnerChat             = "chat"
	PartnerAffiliateProgram = "affiliate_program"
	PartnerFragment         = "fragment"
	PartnerTelegramAds      = "telegram_ads"
	PartnerTelegramAPI      = "telegram_api"
	PartnerOther            = "other"
)

// TransactionPartnerUser.transaction_type values.
const (
	TransactionInvoicePayment          = "invoice_payment"
	TransactionPaidMediaPayment        = "paid_media_payment"
	TransactionGiftPurchase            = "gift_purchase"
	TransactionPremiumPurchase         = "premium_purchase"
	TransactionBusinessAccountTransfer = "business_account_transfer"
)

// TransactionPartner is the other side of a Star transaction. Type selects
// the variant; the fields of the "user" variant (and a few others) are
// decoded, and Raw keeps the whole object for the rest.
type TransactionPartner struct {
	Type string `json:"type"`

	// "user" variant.
	TransactionType             string         `json:"transaction_type,omitempty"`
	User                        *User          `json:"user,omitempty"`
	Affiliate                   *AffiliateInfo `json:"affiliate,omitempty"`
	InvoicePayload              string         `json:"invoice_payload,omitempty"`
	SubscriptionPeriod          int64          `json:"subscription_period,omitempty"` // seconds
	PaidMediaPayload            string         `json:"paid_media_payload,omitempty"`
	PremiumSubscriptionDuration int64          `json:"premium_subscription_duration,omitempty"`

	// "chat" variant.
	Chat *Chat `json:"chat,omitempty"`
	// "telegram_api" variant.
	RequestCount int64 `json:"request_count,omitempty"`

	// Raw is the partner's JSON as received. It is set by decoding and is
	// not used when encoding.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the known fields and keeps a copy of the input in Raw.
func (p *TransactionPartner) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	type plain TransactionPartner
	var v plain
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*p = TransactionPartner(v)
	p.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// AffiliateInfo describes the affiliate that received a commission.
type AffiliateInfo struct {
	AffiliateUser      *User `json:"affiliate_user,omitempty"`
	AffiliateChat      *Chat `json:"affiliate_chat,omitempty"`
	CommissionPerMille int64 `json:"commission_per_mille"`
	Amount             int64 `json:"amount"`
	NanostarAmount     int64 `json:"nanostar_amount,omitempty"`
}

// StarAmount is an amount of Stars; Amount may be negative.
type StarAmount struct {
	Amount         int64 `json:"amount"`
	NanostarAmount int64 `json:"nanostar_amount,omitempty"`
}

// WebhookInfo is the result of getWebhookInfo.
type WebhookInfo struct {
	URL                          string   `json:"url"`
	HasCustomCertificate         bool     `json:"has_custom_certificate"`
	PendingUpdateCount           int64    `json:"pending_update_count"`
	IPAddress                    string   `json:"ip_address,omitempty"`
	LastErrorDate                int64    `json:"last_error_date,omitempty"`
	LastErrorMessage             string   `json:"last_error_message,omitempty"`
	LastSynchronizationErrorDate int64    `json:"last_synchronization_error_date,omitempty"`
	MaxConnections               int      `json:"max_connections,omitempty"`
	AllowedUpdates               []string `json:"allowed_updates,omitempty"`
}

// SubscriptionPeriod is the only subscription period Telegram accepts
// (30 days, in seconds).
const SubscriptionPeriod = 2592000

// CreateInvoiceLinkParams are the parameters of createInvoiceLink. For
// Stars: Currency "XTR", exactly one price, ProviderToken empty; the
// Need*/SendTo*/IsFlexible and tip fields are ignored by Telegram.
type CreateInvoiceLinkParams struct {
	BusinessConnectionID string         `json:"business_connection_id,omitempty"`
	Title                string         `json:"title"`       // 1-32 characters
	Description          string         `json:"description"` // 1-255 characters
	Payload              string         `json:"payload"`     // 1-128 bytes, UTF-8
	ProviderToken        string         `json:"provider_token,omitempty"`
	Currency             string         `json:"currency"`
	Prices               []LabeledPrice `json:"prices"`
	// SubscriptionPeriod makes the invoice a subscription (seconds; must be
	// SubscriptionPeriod; price at most 10000 Stars).
	SubscriptionPeriod        int64   `json:"subscription_period,omitempty"`
	MaxTipAmount              int64   `json:"max_tip_amount,omitempty"`
	SuggestedTipAmounts       []int64 `json:"suggested_tip_amounts,omitempty"`
	ProviderData              string  `json:"provider_data,omitempty"`
	PhotoURL                  string  `json:"photo_url,omitempty"`
	PhotoSize                 int64   `json:"photo_size,omitempty"`
	PhotoWidth                int     `json:"photo_width,omitempty"`
	PhotoHeight               int     `json:"photo_height,omitempty"`
	NeedName                  bool    `json:"need_name,omitempty"`
	NeedPhoneNumber           bool    `json:"need_phone_number,omitempty"`
	NeedEmail                 bool    `json:"need_email,omitempty"`
	NeedShippingAddress       bool    `json:"need_shipping_address,omitempty"`
	SendPhoneNumberToProvider bool    `json:"send_phone_number_to_provider,omitempty"`
	SendEmailToProvider       bool    `json:"send_email_to_provider,omitempty"`
	IsFlexible                bool    `json:"is_flexible,omitempty"`
}

// SendInvoiceParams are the parameters of sendInvoice. sendInvoice cannot
// create subscriptions; use createInvoiceLink for those.
type SendInvoiceParams struct {
	ChatID                    int64            `json:"chat_id"`
	MessageThreadID           int64            `json:"message_thread_id,omitempty"`
	Title                     string           `json:"title"`
	Description               string           `json:"description"`
	Payload                   string           `json:"payload"`
	ProviderToken             string           `json:"provider_token,omitempty"`
	Currency                  string           `json:"currency"`
	Prices                    []LabeledPrice   `json:"prices"`
	MaxTipAmount              int64            `json:"max_tip_amount,omitempty"`
	SuggestedTipAmounts       []int64          `json:"suggested_tip_amounts,omitempty"`
	StartParameter            string           `json:"start_parameter,omitempty"`
	ProviderData              string           `json:"provider_data,omitempty"`
	PhotoURL                  string           `json:"photo_url,omitempty"`
	PhotoSize                 int64            `json:"photo_size,omitempty"`
	PhotoWidth                int              `json:"photo_width,omitempty"`
	PhotoHeight               int              `json:"photo_height,omitempty"`
	NeedName                  bool             `json:"need_name,omitempty"`
	NeedPhoneNumber           bool             `json:"need_phone_number,omitempty"`
	NeedEmail                 bool             `json:"need_email,omitempty"`
	NeedShippingAddress       bool             `json:"need_shipping_address,omitempty"`
	SendPhoneNumberToProvider bool             `json:"send_phone_number_to_provider,omitempty"`
	SendEmailToProvider       bool             `json:"send_email_to_provider,omitempty"`
	IsFlexible                bool             `json:"is_flexible,omitempty"`
	DisableNotification       bool             `json:"disable_notification,omitempty"`
	ProtectContent            bool             `json:"protect_content,omitempty"`
	AllowPaidBroadcast        bool             `json:"allow_paid_broadcast,omitempty"`
	MessageEffectID           string           `json:"message_effect_id,omitempty"`
	ReplyParameters           *ReplyParameters `json:"reply_parameters,omitempty"`
	// ReplyMarkup is any JSON-encodable keyboard; if set, its first button
	// must be a Pay button.
	ReplyMarkup any `json:"reply_markup,omitempty"`
}

// ReplyParameters describes the message being replied to.
type ReplyParameters struct {
	MessageID                int64 `json:"message_id"`
	ChatID                   int64 `json:"chat_id,omitempty"`
	AllowSendingWithoutReply bool  `json:"allow_sending_without_reply,omitempty"`
}

// AnswerPreCheckoutQueryParams are the parameters of answerPreCheckoutQuery.
// ErrorMessage is required when OK is false and is shown to the user.
type AnswerPreCheckoutQueryParams struct {
	PreCheckoutQueryID string `json:"pre_checkout_query_id"`
	OK                 bool   `json:"ok"`
	ErrorMessage       string `json:"error_message,omitempty"`
}

// Update kinds for AllowedUpdates lists.
const (
	AllowMessage          = "message"
	AllowPreCheckoutQuery = "pre_checkout_query"
	AllowSubscription     = "subscription"
)

// SetWebhookParams are the parameters of setWebhook (certificate upload is
// not supported). AllowedUpdates: nil keeps the previous setting, an empty
// non-nil slice asks for all default kinds.
type SetWebhookParams struct {
	URL                string   `json:"url"` // HTTPS; "" removes the webhook
	IPAddress          string   `json:"ip_address,omitempty"`
	MaxConnections     int      `json:"max_connections,omitempty"` // 1-100; default 40
	AllowedUpdates     []string `json:"allowed_updates,omitzero"`
	DropPendingUpdates bool     `json:"drop_pending_updates,omitempty"`
	// SecretToken (1-256 of A-Z a-z 0-9 _ -) is sent back in the
	// X-Telegram-Bot-Api-Secret-Token header of every webhook request.
	SecretToken string `json:"secret_token,omitempty"`
}

// GetUpdatesParams are the parameters of getUpdates. AllowedUpdates: nil
// keeps the previous setting, an empty non-nil slice asks for all default kinds.
type GetUpdatesParams struct {
	Offset         int64    `json:"offset,omitempty"`  // first update ID to return; confirms earlier ones
	Limit          int      `json:"limit,omitempty"`   // 1-100; default 100
	Timeout        int      `json:"timeout,omitempty"` // long-poll seconds; 0 = short polling; the server caps it at 50
	AllowedUpdates []string `json:"allowed_updates,omitzero"`
}

// SendMessageParams are the parameters of sendMessage.
type SendMessageParams struct {
	BusinessConnectionID string              `json:"business_connection_id,omitempty"`
	ChatID               int64               `json:"chat_id"`
	MessageThreadID      int64               `json:"message_thread_id,omitempty"`
	Text                 string              `json:"text"`
	ParseMode            string              `json:"parse_mode,omitempty"` // "HTML", "MarkdownV2", "Markdown"
	Entities             []MessageEntity     `json:"entities,omitempty"`
	LinkPreviewOptions   *LinkPreviewOptions `json:"link_preview_options,omitempty"`
	DisableNotification  bool                `json:"disable_notification,omitempty"`
	ProtectContent       bool                `json:"protect_content,omitempty"`
	AllowPaidBroadcast   bool                `json:"allow_paid_broadcast,omitempty"`
	MessageEffectID      string              `json:"message_effect_id,omitempty"`
	ReplyParameters      *ReplyParameters    `json:"reply_parameters,omitempty"`
	// ReplyMarkup is any JSON-encodable keyboard.
	ReplyMarkup any `json:"reply_markup,omitempty"`
}

// LinkPreviewOptions controls the link preview of a message.
type LinkPreviewOptions struct {
	IsDisabled bool   `json:"is_disabled,omitempty"`
	URL        string `json:"url,omitempty"`
}
