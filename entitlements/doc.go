// Package entitlements is the model and storage of what each user bought.
//
// A [Catalog] lists the [Product]s for sale. Every successful Stars payment
// is recorded once in the ledger ([Payment], keyed by Telegram's charge ID);
// recording it applies its effect atomically: a subscription or one-time
// [Grant] of features, or credits added to named balances. A user's [State]
// (grants, balances, and a version that grows on every change) is what route
// guards read, through a [Checker] that caches it in process and drops it on
// every instance when the user changes.
//
// Two [Store]s implement the same contract: [MemoryStore] for tests, the
// sandbox and local development, and [RedisStore] for production, where one
// Lua script per change keeps a user's ledger, grants, credits and version
// consistent and idempotent.
package entitlements
