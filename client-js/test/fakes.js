// Test doubles: an in-memory server speaking the SPEC §4 contract through a
// fetch function, and a Telegram.WebApp stand-in whose invoice sheet the
// test drives.

export const initData = "query_id=AAH&user=%7B%22id%22%3A42%7D&auth_date=1700000000&hash=abc";

export const catalog = [
  { id: "pro", title: "Pro", description: "Pro for a month", price: 100, currency: "XTR", kind: "subscription", period_seconds: 2592000, features: ["premium"], credits: {} },
  { id: "lifetime", title: "Lifetime", description: "Forever", price: 900, currency: "XTR", kind: "one_time", features: ["premium", "themes"], credits: {} },
  { id: "pack", title: "100 credits", description: "Credits", price: 50, currency: "XTR", kind: "consumable", features: [], credits: { credits: 100 } },
];

/**
 * @typedef {object} Request
 * @property {string} method
 * @property {string} path
 * @property {URLSearchParams} query
 * @property {Record<string, string>} headers
 * @property {unknown} body
 */

/**
 * A fake starsgate server. `fetch` serves products, invoices and me (with
 * long polling on the version); `inject(route, fn)` replaces the next answer
 * of a route ("GET /me") with `fn()` (a Response, or a throw for a network
 * failure); `pay`, `spend` change the user's state as the webhook would.
 */
export function fakeServer() {
  const state = { user_id: 42, version: 7, entitlements: [], credits: { credits: 5 } };
  /** @type {Request[]} */
  const requests = [];
  /** @type {Set<() => void>} */
  const waiters = new Set();
  /** @type {Map<string, (() => Response)[]>} */
  const injected = new Map();
  let invoices = 0;

  const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const error = (status, code, message, extra = {}) => json(status, { error: { code, message, ...extra } });
  const snapshot = () => structuredClone(state);

  function changed() {
    state.version++;
    for (const wake of waiters) wake();
  }

  /** Answers when the version exceeds `after`, at `timeoutMs` with the current state, or rejects on abort. */
  function longPoll(after, timeoutMs, signal) {
    if (state.version > after) return Promise.resolve(json(200, snapshot()));
    return new Promise((resolve, reject) => {
      const finish = (fn) => {
        clearTimeout(timer);
        waiters.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const wake = () => {
        if (state.version > after) finish(() => resolve(json(200, snapshot())));
      };
      const onAbort = () => finish(() => reject(signal.reason));
      const timer = setTimeout(() => finish(() => resolve(json(200, snapshot()))), timeoutMs);
      waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** @param {string} url @param {{method: string, headers: Record<string,string>, body?: string, signal?: AbortSignal}} init */
  async function fetch(url, init) {
    const u = new URL(url, "http://app.test");
    const path = u.pathname.replace(/^\/stars/, "");
    requests.push({
      method: init.method,
      path,
      query: u.searchParams,
      headers: { ...init.headers },
      body: init.body === undefined ? undefined : JSON.parse(init.body),
    });
    if (init.signal?.aborted) throw init.signal.reason;
    const route = `${init.method} ${path}`;
    const next = injected.get(route)?.shift();
    if (next) return next();

    if (route === "GET /products") return json(200, { products: catalog });
    if (init.headers.Authorization !== `tma ${initData}`) return error(401, "unauthorized", "initData is missing or invalid");
    if (route === "POST /invoices") {
      const product = catalog.find((p) => p.id === /** @type {any} */ (JSON.parse(init.body ?? "{}")).product_id);
      if (!product) return error(404, "unknown_product", "no such product");
      invoices++;
      return json(201, { invoice_link: `https://t.me/$inv${invoices}_${product.id}`, product_id: product.id });
    }
    if (route === "GET /me") {
      if (!u.searchParams.has("after_version")) return json(200, snapshot());
      return longPoll(Number(u.searchParams.get("after_version")), parseGoDuration(u.searchParams.get("timeout") ?? "25s"), init.signal);
    }
    return error(404, "not_found", route);
  }

  return {
    fetch,
    requests,
    state,
    /** Requests of one route, e.g. "GET /me". */
    calls: (route) => requests.filter((r) => `${r.method} ${r.path}` === route),
    inject(route, fn) {
      injected.set(route, [...(injected.get(route) ?? []), fn]);
    },
    json,
    error,
    /** Records a payment of `productId` as successful_payment would. */
    pay(productId) {
      const product = catalog.find((p) => p.id === productId);
      if (!product) throw new Error(`unknown product ${productId}`);
      for (const feature of product.features) {
        state.entitlements.push({
          feature,
          product_id: product.id,
          source: product.kind === "subscription" ? "subscription" : "one_time",
          expires_at: product.kind === "subscription" ? "2030-01-01T00:00:00Z" : null,
          auto_renew: product.kind === "subscription",
        });
      }
      for (const [name, n] of Object.entries(product.credits)) {
        state.credits[name] = (state.credits[name] ?? 0) + n;
      }
      changed();
    },
    /** An unrelated change: the user spends a credit. */
    spend(name, n) {
      state.credits[name] -= n;
      changed();
    },
  };
}

/** "25s" / "300ms" → milliseconds (the two forms the client sends). */
function parseGoDuration(s) {
  const m = /^(\d+)(ms|s)$/.exec(s);
  if (!m) throw new Error(`fake server: unexpected timeout ${s}`);
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}

/**
 * A Telegram.WebApp stand-in. `onOpen(url, callback)` plays the user at the
 * invoice sheet; `opened` lists the invoice links it was given.
 */
export function fakeWebApp(onOpen, data = initData) {
  const opened = [];
  return {
    initData: data,
    opened,
    openInvoice(url, callback) {
      opened.push(url);
      onOpen(url, callback);
    },
  };
}

/** Resolves after `ms` milliseconds. */
export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
