// The example's own page (example/web) in headless Chromium, as a desktop
// browser outside Telegram in sandbox mode: buy through the simulated
// payment sheet and see the premium route unlock. Assertions are on the
// DOM; a screenshot is saved to the test's temp dir for people to look at
// (kept with STARSGATE_E2E_KEEP=1; STARSGATE_E2E_LOGS=1 prints the
// example's log).
//
// Run: npm run test:browser (needs Go and /usr/bin/chromium, see
// scripts/ensure-browser.sh).

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { buildExample, launchBrowser, removeDir, startExample, tempDir, waitMs } from "./env.js";

const telegramScript = fileURLToPath(new URL("../../node_modules/@twa-dev/sdk/dist/telegram-web-apps.js", import.meta.url));

/** @type {string} */ let dir;
/** @type {Awaited<ReturnType<typeof startExample>>} */ let example;
/** @type {Awaited<ReturnType<typeof launchBrowser>>} */ let browser;

before(async () => {
  dir = await tempDir("example-page");
  const bin = await buildExample(dir);
  example = await startExample(bin);
  browser = await launchBrowser(dir);
}, { timeout: 240_000 });

after(async () => {
  await browser?.close();
  await example?.stop();
  if (process.env.STARSGATE_E2E_LOGS === "1") console.log(example?.output());
  if (dir && process.env.STARSGATE_E2E_KEEP !== "1") await removeDir(dir);
});

/** Opens the example page; the only outside request, telegram-web-app.js, gets the real script from @twa-dev/sdk. */
async function openPage() {
  const page = await browser.newPage();
  /** @type {string[]} */
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.setDefaultTimeout(waitMs);
  await page.route(
    (url) => url.origin !== example.url,
    async (route) => {
      const url = new URL(route.request().url());
      if (url.href === "https://telegram.org/js/telegram-web-app.js") {
        return route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: await readFile(telegramScript) });
      }
      return route.abort("blockedbyclient");
    },
  );
  await page.goto(`${example.url}/`);
  await page.locator("body[data-ready=true]").waitFor();
  return { page, errors };
}

test("ok, desktop sandbox mode: buy the subscription on the simulated sheet, premium unlocks", { timeout: 60_000 }, async (t) => {
  const { page, errors } = await openPage();
  try {
    assert.equal(await page.locator("#mode").getAttribute("data-mode"), "sandbox");
    assert.equal(await page.evaluate(() => window.Telegram?.WebApp?.initData), "", "the real telegram-web-app.js ran, outside Telegram");
    assert.deepEqual(await page.locator("[data-buy]").evaluateAll((els) => els.map((e) => e.getAttribute("data-buy"))), [
      "premium_month",
      "supporter",
      "credits_10",
    ]);
    assert.equal((await page.locator("#entitlements").innerText()).trim(), "nothing yet");

    // Locked before buying.
    await page.click("#premium-btn");
    await page.locator("#premium-result[data-status]").waitFor();
    assert.equal(await page.locator("#premium-result").getAttribute("data-status"), "402");
    assert.match(await page.locator("#premium-result").innerText(), /payment_required/);

    // Cancel once: nothing changes.
    await page.click('[data-buy="premium_month"]');
    await page.locator("#sheet").waitFor({ state: "visible" });
    assert.match(await page.locator("#sheet-product").innerText(), /Premium/);
    await page.click("#sheet-cancel");
    await page.locator("#sheet").waitFor({ state: "hidden" });
    await page.locator("#status", { hasText: "Purchase cancelled." }).waitFor();
    assert.equal((await page.locator("#entitlements").innerText()).trim(), "nothing yet");

    // Buy.
    await page.click('[data-buy="premium_month"]');
    await page.locator("#sheet").waitFor({ state: "visible" });
    await page.screenshot({ path: join(dir, "example-sheet.png") });
    await page.click("#sheet-pay");
    await page.locator("#status", { hasText: "Bought Premium." }).waitFor();
    await page.locator("#sheet").waitFor({ state: "hidden" });
    const owned = page.locator('#entitlements li[data-feature="premium"]');
    await owned.waitFor();
    assert.match(await owned.innerText(), /^premium \(subscription, until .+, renews\)$/);

    // Unlocked.
    await page.click("#premium-btn");
    await page.locator('#premium-result[data-status="200"]').waitFor();
    assert.equal(await page.locator("#premium-result").innerText(), "Hello Demo, welcome to premium!");

    // Credits: buy 10, spend 1.
    await page.click('[data-buy="credits_10"]');
    await page.locator("#sheet").waitFor({ state: "visible" });
    await page.click("#sheet-pay");
    await page.locator("#status", { hasText: "Bought 10 credits." }).waitFor();
    assert.equal(await page.locator("#credits").innerText(), "10");
    await page.click("#spend-btn");
    await page.locator('#spend-result[data-status="200"]').waitFor();
    assert.equal(await page.locator("#spend-result").innerText(), "9 credits left");
    assert.equal(await page.locator("#credits").innerText(), "9");

    const shot = join(dir, "example-page.png");
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.STARSGATE_E2E_KEEP === "1") t.diagnostic(`screenshots: ${shot}, ${join(dir, "example-sheet.png")}`);
    assert.deepEqual(errors, [], "no uncaught page errors");
  } finally {
    await page.close();
  }
});
