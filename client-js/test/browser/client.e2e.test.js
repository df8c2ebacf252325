// @starsgate/client in a real headless Chromium running the real
// telegram-web-app.js (from @twa-dev/sdk) against the example backend in
// sandbox mode. The harness page (harness/) plays the Telegram client: launch
// parameters in location.hash, TelegramWebviewProxy, and invoice_closed
// answers; payments are made in the example's in-process sandbox.
//
// Run: npm run test:browser (needs Go and /usr/bin/chromium, see
// scripts/ensure-browser.sh). STARSGATE_E2E_LOGS=1 prints the example's log.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { buildExample, launchBrowser, removeDir, startExample, tempDir, waitMs } from "./env.js";

/** @type {Record<string, [string, string]>} harness path → file, content type */
const harnessFiles = {
  "/__harness/index.html": [new URL("./harness/index.html", import.meta.url).pathname, "text/html; charset=utf-8"],
  "/__harness/harness.js": [new URL("./harness/harness.js", import.meta.url).pathname, "text/javascript; charset=utf-8"],
  "/__harness/telegram-web-app.js": [
    fileURLToPath(new URL("../../node_modules/@twa-dev/sdk/dist/telegram-web-apps.js", import.meta.url)),
    "text/javascript; charset=utf-8",
  ],
};

/** @type {string} */ let dir;
/** @type {Awaited<ReturnType<typeof startExample>>} */ let example;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */ let browser;

// Generous bounds so a hang fails the run instead of stalling it (Playwright's
// evaluate has no timeout of its own); a cold `go build` is the slow part.
before(async () => {
  dir = await tempDir("client-e2e");
  const bin = await buildExample(dir);
  example = await startExample(bin);
  browser = await launchBrowser(dir);
}, { timeout: 240_000 });

after(async () => {
  await browser?.close();
  await example?.stop();
  if (process.env.STARSGATE_E2E_LOGS === "1") console.log(example?.output());
  if (dir) await removeDir(dir);
});

/**
 * Opens the harness on the example's origin (so /client/ and /stars are
 * same-origin; the harness files themselves are served by request
 * interception) and boots the real telegram-web-app.js as userId.
 * @param {number} userId
 */
async function openHarness(userId) {
  const page = await browser.newPage();
  /** @type {string[]} */
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
  });
  await page.route(`${example.url}/__harness/**`, async (route) => {
    const file = harnessFiles[new URL(route.request().url()).pathname];
    if (!file) return route.fulfill({ status: 404, body: "not a harness file" });
    return route.fulfill({ status: 200, contentType: file[1], body: await readFile(file[0]) });
  });
  page.setDefaultTimeout(waitMs);
  await page.goto(`${example.url}/__harness/index.html`);
  await page.waitForFunction(() => "harness" in window);
  const launch = await page.evaluate((id) => window.harness.boot(id), userId);
  return { page, launch, problems };
}

/**
 * @param {number} userId
 * @param {string} productId
 * @param {{mode: string, timeoutMs: number}} opts
 */
async function buy(userId, productId, opts) {
  const { page, launch, problems } = await openHarness(userId);
  try {
    assert.equal(launch.version, "8.0", "telegram-web-app.js read tgWebAppVersion from the hash");
    assert.equal(launch.platform, "tdesktop");
    assert.equal(launch.user?.id, userId, "initDataUnsafe.user comes from the signed tgWebAppData");
    assert.match(launch.initData, /(^|&)hash=[0-9a-f]{64}(&|$)/);
    const out = await page.evaluate(([p, o]) => window.harness.buy(p, o), /** @type {const} */ ([productId, opts]));
    assert.deepEqual(problems, [], "no page or console errors");
    // (After the check: the browser logs a 402 answer as a console error.)
    const premium = await page.evaluate(async () => {
      const res = await fetch("/api/premium", { headers: { Authorization: `tma ${window.Telegram.WebApp.initData}` } });
      return res.status;
    });
    // The app asked the "Telegram client" to open exactly this invoice.
    const opened = out.posted.filter((/** @type {{type: string}} */ e) => e.type === "web_app_open_invoice");
    assert.deepEqual(opened, [{ type: "web_app_open_invoice", data: { slug: out.slug } }]);
    assert.match(out.slug, /^[A-Za-z0-9\-_=]+$/);
    return { ...out, premium };
  } finally {
    await page.close();
  }
}

test("ok, paid: openInvoice reports paid after the sandbox payment, the server shows the subscription", { timeout: 30_000 }, async () => {
  const out = await buy(2001, "premium_month", { mode: "paid", timeoutMs: 10_000 });
  assert.equal(out.result.status, "paid");
  assert.ok(out.receipt?.charge_id, "the sandbox charged the user");
  assert.ok(out.result.me.version > out.before.version);
  assert.equal(out.result.me.user_id, 2001);
  const ent = out.result.me.entitlements.find((/** @type {{feature: string}} */ e) => e.feature === "premium");
  assert.ok(ent, `premium entitlement in ${JSON.stringify(out.result.me)}`);
  assert.equal(ent.product_id, "premium_month");
  assert.deepEqual(out.invoiceClosed, [`paid https://t.me/$${out.slug}`], "invoiceClosed fired once with the link");
  assert.equal(out.premium, 200, "GET /api/premium unlocked");
});

test("ok, cancelled: the sheet closed without paying, nothing recorded", { timeout: 30_000 }, async () => {
  const out = await buy(2002, "supporter", { mode: "cancelled", timeoutMs: 10_000 });
  assert.deepEqual(out.result, { status: "cancelled" });
  assert.equal(out.receipt, null);
  assert.equal(out.after.version, out.before.version);
  assert.deepEqual(out.after.entitlements, []);
  assert.deepEqual(out.invoiceClosed, [`cancelled https://t.me/$${out.slug}`]);
  assert.equal(out.premium, 402, "GET /api/premium stays locked (payment required)");
});

test("ok, failed: the payment failed at Telegram, nothing recorded", { timeout: 30_000 }, async () => {
  const out = await buy(2003, "premium_month", { mode: "failed", timeoutMs: 10_000 });
  assert.deepEqual(out.result, { status: "failed" });
  assert.equal(out.receipt, null);
  assert.equal(out.after.version, out.before.version);
  assert.deepEqual(out.after.entitlements, []);
  assert.deepEqual(out.invoiceClosed, [`failed https://t.me/$${out.slug}`]);
  assert.equal(out.premium, 402);
});

test("ok, delayed webhook: paid but not recorded within timeoutMs resolves pending, me() confirms later", { timeout: 30_000 }, async () => {
  const out = await buy(2004, "credits_10", { mode: "delayed", timeoutMs: 1_500 });
  assert.deepEqual(out.result, { status: "pending" });
  assert.ok(out.receipt?.charge_id, "the sandbox charged the user before the sheet closed; its webhook came 4 s later");
  assert.ok(out.after.version > out.before.version, "the payment was recorded afterwards");
  assert.equal(out.after.credits.credits ?? 0, (out.before.credits.credits ?? 0) + 10);
  assert.deepEqual(out.invoiceClosed, [`paid https://t.me/$${out.slug}`]);
});
