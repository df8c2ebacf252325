// Package invoice holds the pieces behind starsgate's invoices: the signed
// invoice payload, the product → invoice link builder, the per-user limit
// on invoice creation and the POST /invoices handler.
//
// # Payload
//
// Telegram echoes an invoice's payload (at most 128 bytes) back in the
// pre-checkout query, the successful and refunded payment, subscription
// updates and the star-transaction history. A [Codec] packs the product ID,
// buyer's user ID, issue time and a nonce into that payload and
// authenticates it with a truncated HMAC-SHA256, so invoices need no
// server-side record: the payload alone proves which user may pay for which
// product.
//
//	codec, err := invoice.NewCodec(invoice.KeyFromBotToken(token))
//	payload, err := codec.Encode(invoice.Payload{ProductID: "premium", UserID: user})
//	// at pre-checkout:
//	p, err := codec.Verify(query.InvoicePayload, query.From.ID)
//
// Verify's errors tell apart someone else's payload ([ErrPayloadNotOurs],
// to be ignored), a broken one ([ErrPayloadMalformed]), a forged one
// ([ErrPayloadForged]) and a payload replayed by another user
// ([ErrPayloadWrongUser]). Payloads do not expire, because subscriptions
// renew with their original payload.
//
// # Rate limit
//
// A [Limiter] caps how many invoices one user may create: by default 10 at
// once, then one every 6 seconds (10 a minute). [RedisLimiter] shares the
// budget across instances with one Lua script on the Redis server's clock;
// [MemoryLimiter] is the single-process equivalent.
//
// # Invoice links
//
// [LinkParams] turns a catalog product into createInvoiceLink parameters
// following Telegram's Stars rules (currency XTR, one price, no provider
// token, subscription_period 2592000 for subscriptions only). [Links]
// signs a fresh payload for the (product, user) pair and calls the Bot API
// through the one-method [Bot] interface, which *botapi.Client implements.
//
// # Handler
//
// [Handler.Create] serves POST /invoices behind the auth middleware:
//
//	h, err := invoice.NewHandler(invoice.HandlerConfig{
//		Bot: bot, Catalog: catalog, Codec: codec, State: checker,
//		Limiter: limiter, // a RedisLimiter when several instances run
//	})
//	g.POST("/invoices", h.Create, auth)
//
// Body {"product_id":"…"}, answer 201
// {"invoice_link":"https://t.me/$…","product_id":"…"}, errors with the
// SPEC §4 body: 400 invalid_request, 401 unauthorized, 404 unknown_product,
// 409 already_active (see [AlreadyActive]), 429 rate_limited with
// Retry-After, 502 telegram_error (Telegram's own message stays in the
// logs), 503 unavailable (store or limiter down). The checks run cheapest
// first, and no invoice is created unless all of them pass; see
// [Handler.Create] for the order.
package invoice
