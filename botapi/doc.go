// Package botapi is a small, typed client for the Telegram Bot API methods
// that selling for Telegram Stars needs, and the update and payment types
// they exchange.
//
// It exists because general bot frameworks lag the Bot API (none decodes
// Update.subscription yet) and because apps bring their own framework for
// everything else: [Update.Raw] and [Message.Raw] keep every update exactly
// as received, and [Client.Call] reaches any other method.
//
//	c, err := botapi.New(botapi.Config{Token: os.Getenv("BOT_TOKEN")})
//	link, err := c.CreateInvoiceLink(ctx, botapi.CreateInvoiceLinkParams{
//		Title: "Premium", Description: "30 days of premium", Payload: payload,
//		Currency: botapi.CurrencyStars, Prices: []botapi.LabeledPrice{{Label: "Premium", Amount: 250}},
//		SubscriptionPeriod: botapi.SubscriptionPeriod,
//	})
//
// Every call is a JSON POST to <BaseURL>/bot<token>/<method> (or
// /bot<token>/test/<method> in the test environment), bounded by the
// caller's context. A refusal by the Bot API is an [*Error] (see
// [IsChargeAlreadyRefunded], [IsConflict], [RetryAfter]); the client never
// retries on its own. The token never appears in errors or logs: transport
// errors are reported without the request URL.
//
// Webhook handlers decode the request body with [DecodeUpdate], and may
// answer one call in the response body with [WebhookReply].
package botapi
