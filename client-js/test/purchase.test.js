import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { StarsError, createStarsClient } from "../src/index.js";
import { recorded } from "../src/purchase.js";
import { delay, fakeServer, fakeWebApp } from "./fakes.js";

/** A client on a fake server whose invoice sheet does `onOpen(url, callback, server)`. */
function setup(onOpen) {
  const server = fakeServer();
  const webApp = fakeWebApp((url, cb) => onOpen(url, cb, server));
  const client = createStarsClient({ baseUrl: "/stars", webApp, fetch: server.fetch });
  return { server, webApp, client };
}

/** after_version of every long poll on /me (the baseline read has none). */
const polls = (server) =>
  server
    .calls("GET /me")
    .filter((r) => r.query.has("after_version"))
    .map((r) => Number(r.query.get("after_version")));

describe("purchase outcomes", () => {
  test("ok, paid and recorded before the sheet closes", async () => {
    const { server, webApp, client } = setup((url, cb, s) => {
      s.pay("pro");
      cb("paid");
    });
    const result = await client.purchase("pro");
    assert.equal(result.status, "paid");
    assert.equal(result.me.version, 8);
    assert.deepEqual(
      result.me.entitlements.map((e) => [e.feature, e.product_id]),
      [["premium", "pro"]],
    );
    const [invoice] = server.calls("POST /invoices");
    assert.deepEqual(invoice.body, { product_id: "pro" });
    assert.equal(invoice.headers["Content-Type"], "application/json");
    assert.deepEqual(webApp.opened, ["https://t.me/$inv1_pro"]);
    assert.deepEqual(polls(server), [7], "waits on the version read before the sheet opened");
  });

  test("ok, paid and recorded later: the long poll waits for it", async () => {
    const { server, client } = setup((url, cb, s) => {
      cb("paid");
      setTimeout(() => s.pay("lifetime"), 30);
    });
    const result = await client.purchase("lifetime", { timeoutMs: 5_000 });
    assert.equal(result.status, "paid");
    assert.deepEqual(result.me.entitlements.map((e) => e.feature).sort(), ["premium", "themes"]);
    assert.deepEqual(polls(server), [7]);
  });

  test("ok, paid but never recorded in time: pending", async () => {
    const { server, client } = setup((url, cb) => cb("paid"));
    const result = await client.purchase("pro", { timeoutMs: 300 });
    assert.deepEqual(result, { status: "pending" });
    assert.ok(polls(server).length >= 1);
    assert.ok(polls(server).every((v) => v === 7), `after_version stays at the baseline: ${polls(server)}`);
  });

  test("ok, pending status then recorded: paid", async () => {
    const { client } = setup((url, cb, s) => {
      cb("pending");
      setTimeout(() => s.pay("pack"), 30);
    });
    const result = await client.purchase("pack", { timeoutMs: 5_000 });
    assert.equal(result.status, "paid");
    assert.equal(result.me.credits.credits, 105);
  });

  test("ok, pending status never recorded: pending", async () => {
    const { client } = setup((url, cb) => cb("pending"));
    assert.deepEqual(await client.purchase("pack", { timeoutMs: 200 }), { status: "pending" });
  });

  for (const status of ["cancelled", "failed"]) {
    test(`ok, ${status}: resolves at once, nothing retried`, async () => {
      const { server, webApp, client } = setup((url, cb) => cb(status));
      assert.deepEqual(await client.purchase("pro"), { status });
      assert.equal(server.calls("POST /invoices").length, 1);
      assert.deepEqual(polls(server), []);
      assert.equal(webApp.opened.length, 1);
    });
  }
});

describe("purchase confirmation loop", () => {
  test("ok, re-polls after a timeout with the same version", async () => {
    const { server, client } = setup((url, cb, s) => {
      cb("paid");
      // Lands after the first poll has answered unchanged.
      setTimeout(() => s.pay("pro"), 400);
    });
    // The first long poll answers at once with the same version, as a server
    // whose poll timed out does.
    server.inject("GET /me", () => server.json(200, structuredClone(server.state))); // baseline
    server.inject("GET /me", () => server.json(200, structuredClone(server.state))); // "timed out", same version
    const result = await client.purchase("pro", { timeoutMs: 5_000 });
    assert.equal(result.status, "paid");
    assert.deepEqual(polls(server), [7, 7], "polled twice with the baseline version");
  });

  test("ok, an unrelated change moves after_version on and keeps waiting", async () => {
    const { server, client } = setup((url, cb, s) => {
      cb("paid");
      s.spend("credits", 1); // version 8, nothing bought
      setTimeout(() => s.pay("pro"), 30); // version 9
    });
    const result = await client.purchase("pro", { timeoutMs: 5_000 });
    assert.equal(result.status, "paid");
    assert.equal(result.me.version, 9);
    assert.deepEqual(polls(server), [7, 8]);
  });

  test("ok, a network failure while waiting is retried", async () => {
    const { server, client } = setup((url, cb, s) => {
      s.pay("pro");
      cb("paid");
    });
    server.inject("GET /me", () => server.json(200, structuredClone(server.state))); // baseline
    server.inject("GET /me", () => {
      throw new TypeError("fetch failed");
    });
    server.inject("GET /me", () => server.error(503, "unavailable", "store down"));
    const result = await client.purchase("pro", { timeoutMs: 5_000 });
    assert.equal(result.status, "paid");
    assert.deepEqual(polls(server), [7, 7, 7]);
  });

  test("nok, transient failures until the deadline: pending with the last error", async () => {
    const { server, client } = setup((url, cb) => cb("paid"));
    server.inject("GET /me", () => server.json(200, structuredClone(server.state))); // baseline
    for (let i = 0; i < 20; i++) server.inject("GET /me", () => server.error(503, "unavailable", "store down"));
    const result = await client.purchase("pro", { timeoutMs: 300 });
    assert.equal(result.status, "pending");
    assert.ok(result.error instanceof StarsError);
    assert.equal(result.error.code, "unavailable");
  });

  test("nok, a non-transient error while waiting: pending with that error, no retry", async () => {
    const { server, client } = setup((url, cb) => cb("paid"));
    server.inject("GET /me", () => server.json(200, structuredClone(server.state))); // baseline
    server.inject("GET /me", () => server.error(401, "unauthorized", "init data expired"));
    const result = await client.purchase("pro", { timeoutMs: 5_000 });
    assert.equal(result.status, "pending");
    assert.equal(result.error?.code, "unauthorized");
    assert.deepEqual(polls(server), [7]);
  });
});

describe("purchase errors", () => {
  test("nok, invoice refused: rejects with the server's error, sheet never opened", async () => {
    const { server, webApp, client } = setup(() => assert.fail("sheet opened"));
    server.inject("POST /invoices", () => server.error(409, "already_active", "you own it"));
    await assert.rejects(client.purchase("lifetime"), { name: "StarsError", code: "already_active", status: 409 });
    assert.deepEqual(webApp.opened, []);
  });

  test("nok, unknown product", async () => {
    const { client } = setup(() => assert.fail("sheet opened"));
    await assert.rejects(client.purchase("nope"), { code: "unknown_product", status: 404 });
  });

  test("nok, baseline read fails: rejects, sheet never opened", async () => {
    const { server, webApp, client } = setup(() => assert.fail("sheet opened"));
    server.inject("GET /me", () => server.error(503, "unavailable", "store down"));
    await assert.rejects(client.purchase("pro"), { code: "unavailable" });
    assert.deepEqual(webApp.opened, []);
  });

  test("nok, openInvoice throws", async () => {
    const { client } = setup(() => {
      throw new Error("WebAppMethodUnsupported");
    });
    await assert.rejects(client.purchase("pro"), (err) => {
      assert.equal(err.code, "open_invoice_failed");
      assert.equal(err.cause.message, "WebAppMethodUnsupported");
      return true;
    });
  });

  test("nok, no openInvoice: fails before any request", async () => {
    const server = fakeServer();
    const client = createStarsClient({ baseUrl: "/stars", webApp: /** @type {any} */ ({ initData: "a=1" }), fetch: server.fetch });
    await assert.rejects(client.purchase("pro"), { code: "webapp_unavailable" });
    assert.deepEqual(server.requests, []);
  });

  test("nok, bad arguments", async () => {
    const { server, client } = setup(() => assert.fail("sheet opened"));
    await assert.rejects(client.purchase(""), TypeError);
    await assert.rejects(client.purchase("pro", { timeoutMs: 0 }), TypeError);
    assert.deepEqual(server.requests, []);
  });
});

describe("second click", () => {
  test("ok, same product while in flight: the same promise, one invoice", async () => {
    /** @type {(status: string) => void} */
    let close = () => {};
    const { server, webApp, client } = setup((url, cb) => {
      close = cb;
    });
    const first = client.purchase("pro");
    const second = client.purchase("pro");
    assert.equal(second, first);
    while (webApp.opened.length === 0) await delay(1);
    assert.equal(client.purchase("pro"), first, "still the same once the sheet is open");
    close("cancelled");
    assert.deepEqual(await first, { status: "cancelled" });
    assert.equal(server.calls("POST /invoices").length, 1);
    assert.equal(webApp.opened.length, 1);
  });

  test("nok, another product while in flight: purchase_in_progress", async () => {
    /** @type {(status: string) => void} */
    let close = () => {};
    const { server, client } = setup((url, cb) => {
      close = cb;
    });
    const first = client.purchase("pro");
    await assert.rejects(client.purchase("pack"), (err) => {
      assert.ok(err instanceof StarsError);
      assert.equal(err.code, "purchase_in_progress");
      assert.equal(err.details.product_id, "pro");
      return true;
    });
    while (server.calls("POST /invoices").length === 0) await delay(1);
    await delay(5);
    close("failed");
    assert.deepEqual(await first, { status: "failed" });
    assert.deepEqual(
      server.calls("POST /invoices").map((r) => r.body.product_id),
      ["pro"],
    );
  });

  test("ok, a new purchase runs once the previous one settled", async () => {
    const { server, client } = setup((url, cb) => cb("cancelled"));
    assert.deepEqual(await client.purchase("pro"), { status: "cancelled" });
    assert.deepEqual(await client.purchase("pack"), { status: "cancelled" });
    server.inject("POST /invoices", () => server.error(429, "rate_limited", "slow down"));
    await assert.rejects(client.purchase("pro"), { code: "rate_limited" });
    assert.deepEqual(await client.purchase("pro"), { status: "cancelled" }, "a rejected purchase frees the slot too");
    assert.equal(server.calls("POST /invoices").length, 4);
  });
});

describe("recorded", () => {
  const base = {
    user_id: 1,
    version: 3,
    entitlements: [{ feature: "premium", product_id: "pro", source: "subscription", expires_at: "2030-01-01T00:00:00Z", auto_renew: false }],
    credits: { credits: 5 },
  };
  const cases = [
    { name: "nok, same version", current: { ...base }, want: false },
    { name: "nok, newer version, nothing from the product", current: { ...base, version: 4, credits: { credits: 4 } }, want: false },
    {
      name: "nok, newer version, entitlement of another product",
      current: { ...base, version: 4, entitlements: [...base.entitlements, { ...base.entitlements[0], product_id: "other", feature: "x" }] },
      want: false,
    },
    {
      name: "ok, entitlement of the product changed (renewed, auto_renew back on)",
      current: { ...base, version: 4, entitlements: [{ ...base.entitlements[0], expires_at: "2030-02-01T00:00:00Z", auto_renew: true }] },
      want: true,
    },
    { name: "ok, a credit balance grew", current: { ...base, version: 4, credits: { credits: 105 } }, want: true },
    { name: "ok, a new credit balance", current: { ...base, version: 4, credits: { credits: 5, gems: 10 } }, want: true },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(recorded(base, c.current, "pro"), c.want);
    });
  }
});
