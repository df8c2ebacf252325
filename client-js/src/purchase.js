// The purchase flow: invoice, openInvoice, then waiting for the server to
// record the payment (the client's status is advisory; the server, fed by
// successful_payment, is the truth).

import { StarsError } from "./errors.js";
import { sleep } from "./http.js";

/** @typedef {import("../index.js").Me} Me */
/** @typedef {import("../index.js").MeOptions} MeOptions */
/** @typedef {import("../index.js").Invoice} Invoice */
/** @typedef {import("../index.js").WebAppLike} WebAppLike */
/** @typedef {import("../index.js").PurchaseResult} PurchaseResult */

/** How long a paid invoice may take to be recorded before the result is "pending". */
const defaultTimeoutMs = 30_000;
/** Longest single long poll while waiting (the server caps at 60 s). */
const pollMs = 25_000;
/** Fewest milliseconds between two polls that brought nothing new (guards against a busy loop). */
const minPollIntervalMs = 250;
/** First and longest pause after a transient error. */
const retryBaseMs = 250;
const retryMaxMs = 4_000;

/**
 * @typedef {object} FlowDeps
 * @property {string} productId
 * @property {number | undefined} timeoutMs
 * @property {() => WebAppLike | undefined} webApp
 * @property {() => string} authHeader
 * @property {(productId: string) => Promise<Invoice>} createInvoice
 * @property {(opts?: MeOptions) => Promise<Me>} me
 */

/**
 * @param {FlowDeps} deps
 * @returns {Promise<PurchaseResult>}
 */
export async function purchaseFlow({ productId, timeoutMs = defaultTimeoutMs, webApp, authHeader, createInvoice, me }) {
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new TypeError("purchase: timeoutMs must be a positive number of milliseconds");
  }
  const app = webApp();
  if (!app || typeof app.openInvoice !== "function") {
    throw new StarsError(
      "webapp_unavailable",
      "Telegram.WebApp.openInvoice is not available: load telegram-web-app.js or pass a webApp",
    );
  }
  authHeader(); // a missing initData fails here, before any request

  // The version is read before the invoice opens, so a payment recorded
  // while the sheet is still closing is seen as a change.
  const [invoice, baseline] = await Promise.allSettled([createInvoice(productId), me()]);
  if (invoice.status === "rejected") throw invoice.reason;
  if (baseline.status === "rejected") throw baseline.reason;

  const status = await openInvoice(app, invoice.value.invoice_link);
  if (status === "cancelled" || status === "failed") {
    return { status };
  }
  // "paid", "pending" (the bot gets successful_payment later) and any status
  // a newer Telegram may add: ask the server.
  return waitRecorded(me, baseline.value, productId, timeoutMs);
}

/**
 * @param {WebAppLike} app
 * @param {string} link
 * @returns {Promise<string>}
 */
function openInvoice(app, link) {
  return new Promise((resolve, reject) => {
    try {
      app.openInvoice(link, (status) => resolve(String(status)));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      reject(new StarsError("open_invoice_failed", `openInvoice: ${why}`, { cause: err }));
    }
  });
}

/**
 * Long-polls /me until it shows the purchase or `timeoutMs` passes.
 * Transient failures (no answer, 429, 5xx) are retried with backoff; any
 * other error ends the wait as "pending" with that error, since the user has
 * paid at Telegram and only the confirmation failed.
 *
 * @param {(opts?: MeOptions) => Promise<Me>} me
 * @param {Me} baseline
 * @param {string} productId
 * @param {number} timeoutMs
 * @returns {Promise<PurchaseResult>}
 */
async function waitRecorded(me, baseline, productId, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new StarsError("network_error", "purchase confirmation timed out")), timeoutMs);
  let after = baseline.version;
  let retryMs = retryBaseMs;
  /** @type {StarsError | undefined} */
  let lastError;
  try {
    for (;;) {
      const remaining = Math.ceil(deadline - performance.now());
      if (stop.signal.aborted || remaining <= 0) break;
      const started = performance.now();
      /** @type {Me} */
      let current;
      try {
        current = await me({ afterVersion: after, timeout: Math.min(pollMs, remaining), signal: stop.signal });
      } catch (err) {
        if (stop.signal.aborted) break;
        if (!(err instanceof StarsError)) throw err;
        if (!transient(err)) return { status: "pending", error: err };
        lastError = err;
        await sleep(retryMs, stop.signal);
        retryMs = Math.min(retryMs * 2, retryMaxMs);
        continue;
      }
      retryMs = retryBaseMs;
      lastError = undefined;
      if (current.version > after) {
        if (recorded(baseline, current, productId)) {
          return { status: "paid", me: current };
        }
        // Something else changed (a spend, another grant): wait past it.
        after = current.version;
        continue;
      }
      // The long poll timed out with the same version: ask again.
      await sleep(minPollIntervalMs - (performance.now() - started), stop.signal);
    }
  } finally {
    clearTimeout(timer);
  }
  return lastError ? { status: "pending", error: lastError } : { status: "pending" };
}

/**
 * @param {StarsError} err
 * @returns {boolean}
 */
function transient(err) {
  return err.status === 0 || err.status === 429 || err.status >= 500;
}

/**
 * Whether `current` shows the purchase of `productId` on top of `baseline`:
 * an entitlement from that product that is new or changed (a subscription
 * or one-time product), or a credit balance that grew (a consumable).
 *
 * @param {Me} baseline
 * @param {Me} current
 * @param {string} productId
 * @returns {boolean}
 */
export function recorded(baseline, current, productId) {
  if (current.version <= baseline.version) {
    return false;
  }
  /** @param {import("../index.js").Entitlement} e */
  const key = (e) => `${e.feature}\u0000${e.source}\u0000${e.expires_at}\u0000${e.auto_renew}`;
  const before = new Set(baseline.entitlements.filter((e) => e.product_id === productId).map(key));
  if (current.entitlements.some((e) => e.product_id === productId && !before.has(key(e)))) {
    return true;
  }
  return Object.entries(current.credits).some(([name, n]) => typeof n === "number" && n > (baseline.credits[name] ?? 0));
}
