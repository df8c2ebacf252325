// Compile-time checks (tsc --noEmit, never run): the JavaScript in src/
// implements exactly what index.d.ts declares, and the declarations accept
// and reject what they should.

import * as impl from "../src/index.js";
import type * as decl from "@starsgate/client";
import {
  StarsError,
  authorizationHeader,
  createStarsClient,
  type FetchLike,
  type Me,
  type Product,
  type PurchaseResult,
  type WebAppLike,
} from "@starsgate/client";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

// Every declared export exists in the implementation with a compatible type,
// and the implementation exports nothing undeclared.
const implementsDecl: typeof decl = impl;
assertType<Equal<keyof typeof impl, keyof typeof decl>>(true);
void implementsDecl;

// globalThis.fetch and the Telegram-shaped object fit the options.
const webApp: WebAppLike = { initData: "user=1", openInvoice: (_url, cb) => cb?.("paid") };
const client = createStarsClient({ baseUrl: "/stars", webApp, fetch: globalThis.fetch });
const customFetch: FetchLike = async () => ({ ok: true, status: 200, statusText: "OK", text: async () => "{}" });
createStarsClient({ baseUrl: "/stars", fetch: customFetch });

async function usage(): Promise<void> {
  const products: Product[] = await client.products();
  const me: Me = await client.me({ afterVersion: 3, timeout: 25_000 });
  const result: PurchaseResult = await client.purchase(products[0]?.id ?? "pro", { timeoutMs: 30_000 });
  if (result.status === "paid") {
    const version: number = result.me.version;
    void version;
  } else if (result.status === "pending") {
    const code: string | undefined = result.error?.code;
    void code;
  } else {
    const s: "cancelled" | "failed" = result.status;
    void s;
  }
  const header: string = client.authHeader() + authorizationHeader("x=1");
  void me, header;

  try {
    await client.me();
  } catch (err) {
    if (err instanceof StarsError) {
      const status: number = err.status;
      const balance: number | undefined = err.details.balance;
      const products: string[] | undefined = err.details.products;
      void status, balance, products;
    }
  }
}
void usage;

// @ts-expect-error baseUrl is required
createStarsClient({});
// @ts-expect-error timeout is milliseconds, not a Go duration string
client.me({ timeout: "25s" });
// @ts-expect-error the paid result carries me; the others do not
((r: PurchaseResult) => r.me)(undefined as unknown as PurchaseResult);
// @ts-expect-error code is read-only
new StarsError("network_error", "x").code = "other";
