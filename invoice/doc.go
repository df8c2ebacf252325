// Package invoice holds the pieces behind starsgate's invoices: the signed
// invoice payload and the per-user limit on invoice creation.
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
package invoice
