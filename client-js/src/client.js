// createStarsClient: the HTTP contract of SPEC §4 from the browser.

import { StarsError, isRecord } from "./errors.js";
import { authorizationHeader, goDuration, linkedAbort, requestJSON } from "./http.js";
import { purchaseFlow } from "./purchase.js";

/** @typedef {import("../index.js").StarsClient} StarsClient */
/** @typedef {import("../index.js").StarsClientOptions} StarsClientOptions */
/** @typedef {import("../index.js").FetchLike} FetchLike */
/** @typedef {import("../index.js").WebAppLike} WebAppLike */
/** @typedef {import("../index.js").Product} Product */
/** @typedef {import("../index.js").Me} Me */
/** @typedef {import("../index.js").Invoice} Invoice */
/** @typedef {import("../index.js").MeOptions} MeOptions */
/** @typedef {import("../index.js").RequestOptions} RequestOptions */
/** @typedef {import("../index.js").PurchaseResult} PurchaseResult */

/** Long-poll timeout asked of the server when none is given (it caps at 60 s). */
const defaultPollMs = 25_000;

/** Extra time the server gets past a long-poll timeout before the client gives up on it. */
const pollGraceMs = 10_000;

/**
 * @param {StarsClientOptions} options
 * @returns {StarsClient}
 */
export function createStarsClient(options) {
  if (!isRecord(options) || typeof options.baseUrl !== "string" || options.baseUrl === "") {
    throw new TypeError("createStarsClient: baseUrl is required");
  }
  const base = options.baseUrl.replace(/\/+$/, "");
  /** @type {FetchLike} */
  const fetchFn =
    options.fetch ??
    // Called through globalThis: a detached window.fetch throws "Illegal invocation".
    ((url, init) => globalThis.fetch(url, init));
  if (typeof fetchFn !== "function" || (options.fetch === undefined && typeof globalThis.fetch !== "function")) {
    throw new TypeError("createStarsClient: no fetch available; pass options.fetch");
  }

  /** @returns {WebAppLike | undefined} */
  const webApp = () => options.webApp ?? /** @type {any} */ (globalThis).Telegram?.WebApp;

  const authHeader = () => authorizationHeader(webApp()?.initData ?? "");

  /**
   * @param {MeOptions} [opts]
   * @returns {Promise<Me>}
   */
  async function me(opts = {}) {
    const auth = authHeader();
    let url = `${base}/me`;
    let guardMs = 0;
    if (opts.afterVersion !== undefined) {
      const after = opts.afterVersion;
      const timeout = opts.timeout ?? defaultPollMs;
      if (!Number.isSafeInteger(after) || after < 0) {
        throw new TypeError("me: afterVersion must be a non-negative integer");
      }
      if (!Number.isSafeInteger(timeout) || timeout <= 0) {
        throw new TypeError("me: timeout must be a positive integer of milliseconds");
      }
      url += `?after_version=${after}&timeout=${goDuration(timeout)}`;
      guardMs = timeout + pollGraceMs;
    }
    const abort = linkedAbort([opts.signal]);
    // A proxy that holds a long poll open must not hang the caller for ever.
    const guard =
      guardMs > 0
        ? setTimeout(() => abort.abort(new StarsError("network_error", `GET ${url}: no answer within ${guardMs} ms`)), guardMs)
        : undefined;
    try {
      const { status, body } = await requestJSON(fetchFn, url, {
        method: "GET",
        headers: { Accept: "application/json", Authorization: auth },
        signal: abort.signal,
      });
      return decodeMe(body, url, status);
    } finally {
      clearTimeout(guard);
      abort.release();
    }
  }

  /**
   * @param {RequestOptions} [opts]
   * @returns {Promise<Product[]>}
   */
  async function products(opts = {}) {
    const url = `${base}/products`;
    const { status, body } = await requestJSON(fetchFn, url, {
      method: "GET",
      headers: { Accept: "application/json" },
      signal: opts.signal,
    });
    if (!isRecord(body) || !Array.isArray(body.products)) {
      throw new StarsError("invalid_response", `GET ${url}: no products array in the answer`, { status });
    }
    return body.products;
  }

  /**
   * @param {string} productId
   * @returns {Promise<Invoice>}
   */
  async function createInvoice(productId) {
    const url = `${base}/invoices`;
    const { status, body } = await requestJSON(fetchFn, url, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json", Authorization: authHeader() },
      body: JSON.stringify({ product_id: productId }),
    });
    if (!isRecord(body) || typeof body.invoice_link !== "string" || body.invoice_link === "") {
      throw new StarsError("invalid_response", `POST ${url}: no invoice_link in the answer`, { status });
    }
    return { invoice_link: body.invoice_link, product_id: typeof body.product_id === "string" ? body.product_id : productId };
  }

  /** @type {{productId: string, promise: Promise<PurchaseResult>} | null} */
  let inFlight = null;

  /**
   * @param {string} productId
   * @param {import("../index.js").PurchaseOptions} [opts]
   * @returns {Promise<PurchaseResult>}
   */
  function purchase(productId, opts = {}) {
    if (inFlight) {
      if (inFlight.productId === productId) {
        return inFlight.promise;
      }
      return Promise.reject(
        new StarsError("purchase_in_progress", `a purchase of ${inFlight.productId} is in progress`, {
          details: { product_id: inFlight.productId },
        }),
      );
    }
    if (typeof productId !== "string" || productId === "") {
      return Promise.reject(new TypeError("purchase: productId must be a non-empty string"));
    }
    const promise = purchaseFlow({ productId, timeoutMs: opts.timeoutMs, webApp, authHeader, createInvoice, me }).finally(() => {
      if (inFlight?.promise === promise) inFlight = null;
    });
    inFlight = { productId, promise };
    return promise;
  }

  return { products, me, purchase, authHeader };
}

/**
 * Checks the shape the waiting logic relies on; the rest is passed through.
 *
 * @param {unknown} body
 * @param {string} url
 * @param {number} status
 * @returns {Me}
 */
function decodeMe(body, url, status) {
  if (
    !isRecord(body) ||
    !Number.isSafeInteger(body.version) ||
    !Array.isArray(body.entitlements) ||
    !isRecord(body.credits)
  ) {
    throw new StarsError("invalid_response", `GET ${url}: answer is not a user state`, { status });
  }
  return /** @type {Me} */ (/** @type {unknown} */ (body));
}
