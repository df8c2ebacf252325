// The page side of client.e2e.test.js. It plays the Telegram client around
// the real telegram-web-app.js (research §5.2): launch parameters in
// location.hash, window.TelegramWebviewProxy receiving the app's events, and
// Telegram.WebView.receiveEvent("invoice_closed", {slug, status}) answering
// them. Payments go through the example's in-process sandbox.

import { createStarsClient } from "/client/index.js";

/** Every event the app posted to the "Telegram client", in order. */
const posted = [];
/** @type {((slug: string) => void) | null} what to do with the next open invoice */
let onOpenInvoice = null;

window.TelegramWebviewProxy = {
  postEvent(type, json) {
    const data = json ? JSON.parse(json) : undefined;
    posted.push({ type, data });
    if (type === "web_app_open_invoice" && onOpenInvoice) {
      const handle = onOpenInvoice;
      onOpenInvoice = null;
      // Answer asynchronously, as a real client does.
      setTimeout(() => handle(data.slug), 0);
    }
  },
};

async function getJSON(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Loads a classic script and waits for it to run. */
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => resolve(undefined);
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

/**
 * Gets initData signed for userId from the example's sandbox, puts the
 * launch parameters in the hash, then loads telegram-web-app.js, which reads
 * them.
 */
async function boot(userId) {
  sessionStorage.clear();
  const { init_data: initData } = await getJSON(`/sandbox-dev/initdata?user_id=${userId}`);
  location.hash = new URLSearchParams({
    tgWebAppData: initData,
    tgWebAppVersion: "8.0",
    tgWebAppPlatform: "tdesktop",
  }).toString();
  await loadScript("/__harness/telegram-web-app.js");
  const app = window.Telegram.WebApp;
  return { initData: app.initData, version: app.version, platform: app.platform, user: app.initDataUnsafe.user };
}

/**
 * Pays the invoice behind `link` in the sandbox as the launch parameters' user.
 * deliveryDelay (a Go duration) holds the successful_payment update back: the
 * payment is taken at once, the server hears of it that much later.
 */
function pay(link, deliveryDelay = "") {
  return getJSON("/sandbox-dev/pay", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `tma ${window.Telegram.WebApp.initData}` },
    body: JSON.stringify({ invoice_link: link, delivery_delay: deliveryDelay }),
  });
}

/**
 * Buys productId through createStarsClient and the real Telegram.WebApp.
 * mode: how the "Telegram client" handles the invoice:
 *   paid      pay in the sandbox, then report "paid";
 *   cancelled report "cancelled", no payment;
 *   failed    report "failed", no payment;
 *   delayed   pay in the sandbox with the webhook held back 4 s, then report
 *             "paid": the server records the payment only after purchase()
 *             gave up waiting (timeoutMs is shorter).
 */
async function buy(productId, { mode, timeoutMs }) {
  const stars = createStarsClient({ baseUrl: `${location.origin}/stars` });
  const before = await stars.me();
  let slug = "";
  /** @type {Promise<unknown>} */
  let payment = Promise.resolve(null);
  const close = (status) => window.Telegram.WebView.receiveEvent("invoice_closed", { slug, status });

  onOpenInvoice = (s) => {
    slug = s;
    const link = `https://t.me/$${s}`;
    switch (mode) {
      case "paid":
        payment = pay(link);
        payment.then(() => close("paid"), () => close("failed"));
        break;
      case "cancelled":
      case "failed":
        close(mode);
        break;
      case "delayed":
        payment = pay(link, "4s");
        payment.then(() => close("paid"), () => close("failed"));
        break;
      default:
        throw new Error(`unknown mode ${mode}`);
    }
  };

  /** @type {string[]} */
  const callbackEvents = [];
  const onClosed = (e) => callbackEvents.push(`${e.status} ${e.url}`);
  window.Telegram.WebApp.onEvent("invoiceClosed", onClosed);
  let result;
  try {
    result = await stars.purchase(productId, { timeoutMs });
  } finally {
    window.Telegram.WebApp.offEvent("invoiceClosed", onClosed);
  }
  const receipt = await payment;

  // After a delayed payment, the server must catch up: wait for the change.
  let after = await stars.me();
  const deadline = performance.now() + 10_000;
  while (mode === "delayed" && after.version === before.version && performance.now() < deadline) {
    after = await stars.me({ afterVersion: before.version, timeout: 5_000 });
  }
  return { slug, before, result, after, receipt, posted: posted.slice(), invoiceClosed: callbackEvents };
}

window.harness = { boot, buy };
window.dispatchEvent(new Event("harness-ready"));
