// Typed errors and the decoding of the server's error bodies.

/** @typedef {import("../index.js").StarsErrorCode} StarsErrorCode */
/** @typedef {import("../index.js").StarsErrorDetails} StarsErrorDetails */
/** @typedef {import("../index.js").StarsErrorOptions} StarsErrorOptions */
/** @typedef {import("../index.js").ResponseLike} ResponseLike */

/** Bodies longer than this are cut before landing in `details.body`. */
const maxBodyDetail = 512;

export class StarsError extends Error {
  /** @override @readonly @type {"StarsError"} */
  name = "StarsError";

  /**
   * @param {StarsErrorCode} code
   * @param {string} message
   * @param {StarsErrorOptions} [options]
   */
  constructor(code, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    /** @type {StarsErrorCode} */
    this.code = code;
    /** @type {number} */
    this.status = options.status ?? 0;
    /** @type {StarsErrorDetails} */
    this.details = options.details ?? {};
  }
}

/**
 * Turns an error response into a StarsError. A starsgate body
 * `{"error":{"code","message",…}}` gives the code, the message and, in
 * `details`, every other field of the error object; anything else (a proxy's
 * HTML page, an empty body) becomes `http_error` with the start of the body.
 *
 * @param {ResponseLike} res
 * @returns {Promise<StarsError>}
 */
export async function decodeError(res) {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // The status alone is still worth reporting.
  }
  const error = errorObject(text);
  if (error) {
    const { code, message, ...details } = error;
    return new StarsError(code, typeof message === "string" && message !== "" ? message : code, {
      status: res.status,
      details,
    });
  }
  const statusLine = `HTTP ${res.status}${res.statusText ? " " + res.statusText : ""}`;
  return new StarsError("http_error", statusLine, {
    status: res.status,
    details: text === "" ? {} : { body: text.slice(0, maxBodyDetail) },
  });
}

/**
 * The `error` object of a starsgate error body, or null.
 *
 * @param {string} text
 * @returns {({code: string} & Record<string, unknown>) | null}
 */
function errorObject(text) {
  /** @type {unknown} */
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(body) || !isRecord(body.error) || typeof body.error.code !== "string" || body.error.code === "") {
    return null;
  }
  return /** @type {{code: string} & Record<string, unknown>} */ (body.error);
}

/**
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
export function isRecord(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
