// Package checkout processes Telegram Stars payment updates: it answers
// pre-checkout queries, records successful payments exactly once per charge
// ID, revokes refunded ones, follows subscription changes, answers
// /paysupport and /terms, and hands every other update to the app.
//
//	p, err := checkout.New(checkout.Config{
//		Bot: bot, Catalog: catalog, Store: checker.Store(), Payloads: codec,
//		WebhookSecret: os.Getenv("WEBHOOK_SECRET"),
//	})
//	e.POST("/stars/webhook", p.Webhook())
//	err = p.SetWebhook(ctx, "https://example.com/stars/webhook")
//
// Updates arrive through [Processor.Webhook], [Processor.Poll] (getUpdates,
// for development) or [Processor.Process] (an app's own bot framework).
// Faults are classified: a transient one (store unreachable, Bot API
// unavailable) returns an error wrapping [ErrTransient] and the webhook
// answers 503 so that Telegram delivers the update again; anything
// permanent (malformed JSON, a payload not ours, a refused checkout) is
// logged and acknowledged, because a failing update blocks the chat's later
// ones. The store makes redelivery safe: a charge ID already recorded
// changes nothing and emits no event. Each processor also remembers the
// payments it saw recorded (Config.DuplicateCacheSize), so that a repeat
// delivery is acknowledged without a store call.
//
// [Processor.Refund], [Processor.CancelSubscription] and
// [Processor.ResumeSubscription] act through the Bot API and the store;
// [Processor.Reconcile] rebuilds the ledger from the bot's Star transactions.
package checkout
