import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { StarsError, authorizationHeader, createStarsClient } from "../src/index.js";
import { catalog, fakeServer, fakeWebApp, initData } from "./fakes.js";

const noSheet = () => assert.fail("openInvoice must not be called");

function setup({ data = initData } = {}) {
  const server = fakeServer();
  const webApp = fakeWebApp(noSheet, data);
  const client = createStarsClient({ baseUrl: "https://app.test/stars/", webApp, fetch: server.fetch });
  return { server, webApp, client };
}

describe("auth header", () => {
  afterEach(() => {
    delete globalThis.Telegram;
  });

  test("ok, authorizationHeader prefixes tma", () => {
    assert.equal(authorizationHeader("user=%7B%7D&hash=ab"), "tma user=%7B%7D&hash=ab");
  });

  test("nok, authorizationHeader refuses empty initData", () => {
    assert.throws(() => authorizationHeader(""), { name: "StarsError", code: "missing_init_data", status: 0 });
  });

  test("ok, authHeader uses the injected webApp", () => {
    const { client } = setup();
    assert.equal(client.authHeader(), `tma ${initData}`);
  });

  test("ok, authHeader defaults to globalThis.Telegram.WebApp, read at call time", () => {
    const client = createStarsClient({ baseUrl: "/stars", fetch: fakeServer().fetch });
    globalThis.Telegram = { WebApp: { initData: "a=1", openInvoice: noSheet } };
    assert.equal(client.authHeader(), "tma a=1");
  });

  test("nok, no Telegram.WebApp at all", () => {
    const client = createStarsClient({ baseUrl: "/stars", fetch: fakeServer().fetch });
    assert.throws(() => client.authHeader(), { code: "missing_init_data" });
  });

  test("nok, missing initData fails before any request", async () => {
    const { server, client } = setup({ data: "" });
    await assert.rejects(client.me(), { code: "missing_init_data" });
    await assert.rejects(client.purchase("pro"), { code: "missing_init_data" });
    assert.deepEqual(server.requests, []);
  });
});

describe("createStarsClient", () => {
  test("nok, baseUrl is required", () => {
    assert.throws(() => createStarsClient(/** @type {any} */ ({})), TypeError);
    assert.throws(() => createStarsClient(/** @type {any} */ ({ baseUrl: "" })), TypeError);
  });

  test("ok, default fetch is globalThis.fetch, called unbound", async (t) => {
    const server = fakeServer();
    let self = "unset";
    t.mock.method(globalThis, "fetch", function (url, init) {
      self = this;
      return server.fetch(url, init);
    });
    const client = createStarsClient({ baseUrl: "/stars", webApp: fakeWebApp(noSheet) });
    assert.equal((await client.products()).length, catalog.length);
    assert.equal(self, globalThis);
  });
});

describe("products", () => {
  test("ok, GET /products without auth", async () => {
    const { server, client } = setup();
    assert.deepEqual(await client.products(), catalog);
    const [req] = server.calls("GET /products");
    assert.equal(req.headers.Authorization, undefined);
    assert.equal(server.requests.length, 1, "one request; trailing slash of baseUrl dropped");
  });

  test("nok, success without a products array", async () => {
    const { server, client } = setup();
    server.inject("GET /products", () => server.json(200, { items: [] }));
    await assert.rejects(client.products(), { code: "invalid_response", status: 200 });
  });
});

describe("me", () => {
  test("ok, GET /me with the tma header and no long poll", async () => {
    const { server, client } = setup();
    const me = await client.me();
    assert.equal(me.version, 7);
    assert.deepEqual(me.credits, { credits: 5 });
    const [req] = server.calls("GET /me");
    assert.equal(req.headers.Authorization, `tma ${initData}`);
    assert.equal(req.query.toString(), "");
  });

  test("ok, long poll sends after_version and a Go duration", async () => {
    const { server, client } = setup();
    server.pay("pack");
    await client.me({ afterVersion: 7 });
    await client.me({ afterVersion: 7, timeout: 1500 });
    const [a, b] = server.calls("GET /me");
    assert.equal(a.query.toString(), "after_version=7&timeout=25s");
    assert.equal(b.query.toString(), "after_version=7&timeout=1500ms");
  });

  test("ok, long poll answers with the current state at the timeout", async () => {
    const { client } = setup();
    const me = await client.me({ afterVersion: 7, timeout: 30 });
    assert.equal(me.version, 7);
  });

  test("nok, bad long-poll arguments", async () => {
    const { server, client } = setup();
    await assert.rejects(client.me({ afterVersion: -1 }), TypeError);
    await assert.rejects(client.me({ afterVersion: 1.5 }), TypeError);
    await assert.rejects(client.me({ afterVersion: 1, timeout: 0 }), TypeError);
    assert.deepEqual(server.requests, []);
  });

  test("nok, abort through the caller's signal rejects with its reason", async () => {
    const { client } = setup();
    const controller = new AbortController();
    const pending = client.me({ afterVersion: 7, timeout: 10_000, signal: controller.signal });
    controller.abort(new Error("user left the page"));
    await assert.rejects(pending, { message: "user left the page" });
  });

  test("nok, success body that is not a user state", async () => {
    const { server, client } = setup();
    server.inject("GET /me", () => server.json(200, { version: "7" }));
    await assert.rejects(client.me(), { code: "invalid_response", status: 200 });
  });
});

describe("errors", () => {
  const cases = [
    {
      name: "ok, JSON error body with extra fields in details",
      response: (s) =>
        s.error(402, "insufficient_credits", "not enough credits", { credit: "credits", balance: 0, products: ["pack"] }),
      expect: {
        code: "insufficient_credits",
        status: 402,
        message: "not enough credits",
        details: { credit: "credits", balance: 0, products: ["pack"] },
      },
    },
    {
      name: "ok, JSON error body with feature",
      response: (s) => s.error(402, "payment_required", "premium needed", { feature: "premium", products: ["pro", "lifetime"] }),
      expect: { code: "payment_required", status: 402, details: { feature: "premium", products: ["pro", "lifetime"] } },
    },
    {
      name: "ok, JSON error body without a message",
      response: () => new Response(JSON.stringify({ error: { code: "unavailable" } }), { status: 503 }),
      expect: { code: "unavailable", status: 503, message: "unavailable", details: {} },
    },
    {
      name: "nok, HTML error page from a proxy",
      response: () => new Response("<html>Bad Gateway</html>", { status: 502, statusText: "Bad Gateway" }),
      expect: { code: "http_error", status: 502, message: "HTTP 502 Bad Gateway", details: { body: "<html>Bad Gateway</html>" } },
    },
    {
      name: "nok, JSON that is not an error body",
      response: () => new Response(JSON.stringify({ error: "boom" }), { status: 500 }),
      expect: { code: "http_error", status: 500, details: { body: '{"error":"boom"}' } },
    },
    {
      name: "nok, empty error body",
      response: () => new Response(null, { status: 500 }),
      expect: { code: "http_error", status: 500, details: {} },
    },
    {
      name: "nok, success with a body that is not JSON",
      response: () => new Response("<html>", { status: 200 }),
      expect: { code: "invalid_response", status: 200 },
    },
    {
      name: "nok, network failure",
      response: () => {
        throw new TypeError("fetch failed");
      },
      expect: { code: "network_error", status: 0, details: {} },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { server, client } = setup();
      server.inject("GET /me", () => c.response(server));
      const err = await client.me().then(
        () => assert.fail("me() resolved"),
        (e) => e,
      );
      assert.ok(err instanceof StarsError, `got ${err}`);
      assert.ok(err instanceof Error);
      assert.equal(err.name, "StarsError");
      for (const [k, v] of Object.entries(c.expect)) {
        assert.deepEqual(err[k], v, k);
      }
    });
  }

  test("ok, network failure keeps the cause", async () => {
    const { server, client } = setup();
    const cause = new TypeError("fetch failed");
    server.inject("GET /products", () => {
      throw cause;
    });
    await assert.rejects(client.products(), (err) => err.code === "network_error" && err.cause === cause);
  });

  test("ok, long error bodies are cut in details", async () => {
    const { server, client } = setup();
    server.inject("GET /products", () => new Response("x".repeat(5000), { status: 500 }));
    await assert.rejects(client.products(), (err) => err.details.body.length === 512);
  });
});
