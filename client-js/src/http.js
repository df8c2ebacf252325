// One HTTP exchange with the server, and the small helpers around it.

import { StarsError, decodeError } from "./errors.js";

/** @typedef {import("../index.js").FetchLike} FetchLike */
/** @typedef {import("../index.js").FetchInit} FetchInit */

/**
 * The `Authorization` header value the server expects (the tma.js convention).
 *
 * @param {string} initData raw initData query string
 * @returns {string}
 */
export function authorizationHeader(initData) {
  if (typeof initData !== "string" || initData === "") {
    throw new StarsError(
      "missing_init_data",
      "Telegram initData is empty: open the app from Telegram, or pass a webApp whose initData is set",
    );
  }
  return "tma " + initData;
}

/**
 * Sends one request and decodes the JSON answer. HTTP errors become a
 * StarsError decoded from the body; a request without an HTTP answer becomes
 * `network_error` (status 0), except when `init.signal` was aborted: then the
 * signal's reason is thrown, as fetch itself does.
 *
 * @param {FetchLike} fetchFn
 * @param {string} url
 * @param {FetchInit} init
 * @returns {Promise<{status: number, body: unknown}>}
 */
export async function requestJSON(fetchFn, url, init) {
  /** @type {import("../index.js").ResponseLike} */
  let res;
  let text;
  try {
    res = await fetchFn(url, init);
    if (!res.ok) {
      throw await decodeError(res);
    }
    text = await res.text();
  } catch (err) {
    if (err instanceof StarsError) {
      throw err;
    }
    if (init.signal?.aborted) {
      throw init.signal.reason;
    }
    throw new StarsError("network_error", `${init.method} ${url}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch (err) {
    throw new StarsError("invalid_response", `${init.method} ${url}: HTTP ${res.status} body is not JSON`, {
      status: res.status,
      cause: err,
    });
  }
}

/**
 * Formats milliseconds as a Go duration ("25s", "1500ms").
 *
 * @param {number} ms a positive integer
 * @returns {string}
 */
export function goDuration(ms) {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * A controller aborted when any of the given signals aborts (with its reason).
 * AbortSignal.any is too recent for some Telegram webviews. `release`
 * removes the listeners so a long-lived signal does not keep them.
 *
 * @param {(AbortSignal | undefined)[]} signals
 * @returns {{signal: AbortSignal, abort: (reason: unknown) => void, release: () => void}}
 */
export function linkedAbort(signals) {
  const controller = new AbortController();
  /** @type {(() => void)[]} */
  const cleanups = [];
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const onAbort = () => controller.abort(s.reason);
    s.addEventListener("abort", onAbort, { once: true });
    cleanups.push(() => s.removeEventListener("abort", onAbort));
  }
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    release: () => cleanups.forEach((f) => f()),
  };
}

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts.
 *
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * @param {unknown} err
 * @returns {string}
 */
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}
