// Package sandbox is a fake Telegram Bot API server with simulated payers,
// for tests (ours and our users') and local development: the whole Stars
// purchase flow with no Telegram account and no real Stars.
//
//	sb, err := sandbox.New(sandbox.Config{})
//	defer sb.Close()
//	bot, _ := botapi.New(botapi.Config{Token: sb.Token(), BaseURL: sb.URL()})
//	link, _ := bot.CreateInvoiceLink(ctx, params)      // https://t.me/$…
//	receipt, err := sb.Pay(ctx, user, link)           // pre-checkout, then successful_payment
//
// The server speaks the Bot API methods the library uses (getMe,
// createInvoiceLink, sendInvoice, answerPreCheckoutQuery,
// refundStarPayment, editUserStarSubscription, getStarTransactions,
// getMyStarBalance, setWebhook, deleteWebhook, getWebhookInfo, getUpdates,
// sendMessage) at /bot<token>/<method> and /bot<token>/test/<method>, with
// GET or POST and parameters as a query string, urlencoded, JSON or
// multipart, and rejects what Telegram rejects with Telegram's error shape.
//
// Updates go to the webhook set with setWebhook (with the secret-token
// header, retries with backoff and Retry-After, one user's updates strictly
// in order) or wait for getUpdates. A webhook may answer a pre-checkout
// query in its response body, as Telegram allows.
//
// The simulated Telegram side is a Go API — [Server.Pay], [Server.Renew],
// [Server.CancelByUser], [Server.Reactivate], [Server.FailRenewal],
// [Server.SendText], [Server.SignInitData], [Server.Advance] — mirrored by a
// JSON control API under /sandbox/ so that another process or a browser page
// can drive it (see docs/testing.md). [Server.WaitIdle], [Server.Updates]
// and [Server.Sent] let tests wait for and inspect what the bot received
// and sent.
//
// The control API has no authentication: never expose a sandbox to a
// network you do not trust.
package sandbox
