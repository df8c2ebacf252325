// The example page: products with Buy buttons, what the user owns, and the
// app's premium and spend routes. Inside Telegram it uses Telegram.WebApp;
// in sandbox mode in a desktop browser it uses a stand-in web app whose
// openInvoice shows a simulated payment sheet.
import { createStarsClient, StarsError } from "/client/index.js";

const $ = (sel) => document.querySelector(sel);

function setStatus(text, isError = false) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function describeError(err) {
  if (err instanceof StarsError) return `${err.code}: ${err.message}`;
  return String(err && err.message ? err.message : err);
}

// standInWebApp mimics the parts of Telegram.WebApp the client uses:
// initData, and openInvoice(url, callback) with a payment sheet whose Pay
// button pays through the example's in-process sandbox.
function standInWebApp(initData) {
  return {
    initData,
    openInvoice(url, callback) {
      const sheet = $("#sheet");
      const pay = $("#sheet-pay");
      const cancel = $("#sheet-cancel");
      $("#sheet-product").textContent = sheet.dataset.title || url;
      $("#sheet-error").textContent = "";
      pay.disabled = cancel.disabled = false;
      sheet.hidden = false;
      const done = (status) => {
        sheet.hidden = true;
        pay.onclick = cancel.onclick = null;
        callback(status);
      };
      cancel.onclick = () => done("cancelled");
      pay.onclick = async () => {
        pay.disabled = cancel.disabled = true;
        try {
          const res = await fetch("/sandbox-dev/pay", {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: "tma " + initData },
            body: JSON.stringify({ invoice_link: url }),
          });
          if (!res.ok) {
            const body = await res.json().catch(() => ({}));
            $("#sheet-error").textContent = body?.error?.message || `payment failed (${res.status})`;
            setTimeout(() => done("failed"), 1500);
            return;
          }
          done("paid");
        } catch (err) {
          $("#sheet-error").textContent = describeError(err);
          setTimeout(() => done("failed"), 1500);
        }
      };
    },
  };
}

async function pickWebApp() {
  const tg = globalThis.Telegram?.WebApp;
  if (tg && tg.initData) {
    tg.ready();
    tg.expand();
    return { webApp: tg, mode: "telegram" };
  }
  const config = await fetch("/config").then((r) => r.json());
  if (!config.sandbox) return { webApp: null, mode: "outside-telegram" };
  const dev = await fetch("/sandbox-dev/initdata" + location.search).then((r) => r.json());
  return { webApp: standInWebApp(dev.init_data), mode: "sandbox", user: dev.user };
}

let stars;
let products = [];
let me = null;

function renderProducts() {
  const list = $("#products");
  list.replaceChildren();
  for (const p of products) {
    const li = document.createElement("li");
    li.dataset.product = p.id;
    const what = p.kind === "subscription" ? "per 30 days" : p.kind === "consumable" ? "each" : p.duration_seconds ? `for ${p.duration_seconds / 86400} days` : "for life";
    li.append(`${p.title}`);
    const price = document.createElement("span");
    price.className = "price";
    price.textContent = `${p.price} ⭐ ${what}`;
    const buy = document.createElement("button");
    buy.textContent = "Buy";
    buy.dataset.buy = p.id;
    buy.onclick = () => buyProduct(p);
    li.append(price, buy);
    list.append(li);
  }
}

function renderMe() {
  if (!me) return;
  const list = $("#entitlements");
  list.replaceChildren();
  for (const e of me.entitlements) {
    const li = document.createElement("li");
    li.dataset.feature = e.feature;
    const until = e.expires_at ? `until ${new Date(e.expires_at).toLocaleDateString()}` : "for life";
    li.textContent = `${e.feature} (${e.source}, ${until}${e.auto_renew ? ", renews" : ""})`;
    list.append(li);
  }
  if (me.entitlements.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "nothing yet";
    list.append(li);
  }
  $("#credits").textContent = String(me.credits.credits ?? 0);
  $("#version").textContent = String(me.version);
}

async function buyProduct(p) {
  setStatus(`Buying ${p.title}…`);
  $("#sheet").dataset.title = `${p.title} — ${p.price} ⭐`;
  try {
    const result = await stars.purchase(p.id, { timeoutMs: 30000 });
    if (result.status === "paid") {
      me = result.me;
      renderMe();
      setStatus(`Bought ${p.title}.`);
    } else if (result.status === "pending") {
      setStatus("Payment is processing…");
    } else {
      setStatus(`Purchase ${result.status}.`, result.status === "failed");
    }
  } catch (err) {
    setStatus(describeError(err), true);
  }
}

async function callApi(method, path, resultSel, onOk) {
  const out = $(resultSel);
  out.classList.remove("error");
  try {
    const res = await fetch(path, { method, headers: { Authorization: stars.authHeader() } });
    const body = await res.json();
    if (res.ok) {
      out.textContent = onOk(body);
    } else {
      out.classList.add("error");
      out.textContent = `${res.status} ${body?.error?.code}: ${body?.error?.message}`;
    }
    out.dataset.status = String(res.status);
  } catch (err) {
    out.classList.add("error");
    out.textContent = describeError(err);
    out.dataset.status = "0";
  }
}

// watch keeps "You own" current: it long-polls /stars/me on the version, so
// renewals, refunds and spends elsewhere show up on their own.
async function watch() {
  for (;;) {
    try {
      const next = await stars.me({ afterVersion: me ? me.version : 0, timeout: 25000 });
      if (!me || next.version !== me.version) {
        me = next;
        renderMe();
      }
    } catch (err) {
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

async function main() {
  const { webApp, mode, user } = await pickWebApp();
  const modeEl = $("#mode");
  modeEl.dataset.mode = mode;
  stars = createStarsClient({ baseUrl: "/stars", webApp: webApp || undefined });
  products = await stars.products();
  renderProducts();
  if (!webApp) {
    modeEl.textContent = "Open this page from your bot in Telegram (or run the example without BOT_TOKEN for sandbox mode).";
    for (const b of document.querySelectorAll("button")) b.disabled = true;
    return;
  }
  modeEl.textContent = mode === "sandbox" ? "Sandbox mode: payments are simulated." : "Running inside Telegram.";
  if (user) $("#user").textContent = `Signed in as ${user.first_name} (demo user ${user.id})`;
  $("#premium-btn").onclick = () =>
    callApi("GET", "/api/premium", "#premium-result", (b) => b.message);
  $("#spend-btn").onclick = () =>
    callApi("POST", "/api/spend", "#spend-result", (b) => {
      if (me) {
        me = { ...me, credits: { ...me.credits, credits: b.credits } };
        renderMe();
      }
      return `${b.credits} credits left`;
    });
  me = await stars.me();
  renderMe();
  document.body.dataset.ready = "true";
  watch();
}

main().catch((err) => setStatus(describeError(err), true));
