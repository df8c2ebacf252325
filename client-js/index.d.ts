// Type declarations for @starsgate/client. Written by hand; the JavaScript in
// src/ is type-checked against them (tsc --noEmit with checkJs) and
// test/types-check.ts proves every export matches.

/** A product of the catalog, as `GET /products` returns it. */
export interface Product {
  id: string;
  title: string;
  description: string;
  /** Price in Telegram Stars. */
  price: number;
  currency: "XTR";
  kind: ProductKind;
  /** Subscriptions only: the billing period (2592000). */
  period_seconds?: number;
  /** One-time products with a limited duration only. */
  duration_seconds?: number;
  /** Entitlement keys the product grants (`[]` when none). */
  features: string[];
  /** Credits the product adds (`{}` when none). */
  credits: Record<string, number>;
}

export type ProductKind = "subscription" | "one_time" | "consumable";

/** One active entitlement of the user. */
export interface Entitlement {
  feature: string;
  product_id: string;
  source: "subscription" | "one_time" | "grant";
  /** RFC 3339 instant, or null for a lifetime entitlement. */
  expires_at: string | null;
  auto_renew: boolean;
}

/** The user's state, as `GET /me` returns it. */
export interface Me {
  user_id: number;
  /** Grows on every change of the user's payments, entitlements or credits. */
  version: number;
  /** Active entitlements only. */
  entitlements: Entitlement[];
  credits: Record<string, number>;
}

/** What `POST /invoices` returns. */
export interface Invoice {
  invoice_link: string;
  product_id: string;
}

/** Status passed to the `openInvoice` callback by telegram-web-app.js. */
export type InvoiceStatus = "paid" | "cancelled" | "failed" | "pending";

/** The part of `Telegram.WebApp` the client uses. */
export interface WebAppLike {
  /** Raw initData query string; empty outside Telegram. */
  initData: string;
  openInvoice(url: string, callback?: (status: InvoiceStatus) => void): void;
}

/** The request the client hands to `fetch`. */
export interface FetchInit {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** The part of a fetch `Response` the client reads. */
export interface ResponseLike {
  ok: boolean;
  status: number;
  statusText: string;
  text(): Promise<string>;
}

/** `globalThis.fetch` or anything with the same call shape. */
export type FetchLike = (url: string, init: FetchInit) => Promise<ResponseLike>;

export interface StarsClientOptions {
  /** Required. Where the library is mounted, e.g. "/stars" or "https://api.example.com/stars". */
  baseUrl: string;
  /** Optional. Default value `globalThis.Telegram?.WebApp`, looked up on each call. */
  webApp?: WebAppLike;
  /** Optional. Default value `globalThis.fetch`. */
  fetch?: FetchLike;
}

export interface RequestOptions {
  /** Optional. Aborts the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface MeOptions extends RequestOptions {
  /** Optional. Long poll: the server answers once the version exceeds this one. */
  afterVersion?: number;
  /** Optional. Long-poll timeout in milliseconds, sent as a Go duration. Default value 25000. Only used with `afterVersion`. */
  timeout?: number;
}

export interface PurchaseOptions {
  /** Optional. How long to wait for the server to record a paid invoice. Default value 30000. */
  timeoutMs?: number;
}

export type PurchaseResult =
  | { status: "paid"; me: Me }
  /** Paid (or pending) at Telegram but not yet recorded by the server; `error` is set when waiting stopped on an error. */
  | { status: "pending"; error?: StarsError }
  | { status: "cancelled" }
  | { status: "failed" };

export interface StarsClient {
  /** `GET {baseUrl}/products`. */
  products(options?: RequestOptions): Promise<Product[]>;
  /** `GET {baseUrl}/me`, authenticated; long polls when `afterVersion` is set. */
  me(options?: MeOptions): Promise<Me>;
  /**
   * Requests an invoice, opens it with `openInvoice` and, when paid, waits until
   * the server has recorded the payment. Rejects with a `StarsError` when the
   * invoice cannot be created or opened, or when another product's purchase is
   * in flight (`purchase_in_progress`); the same product returns the same promise.
   */
  purchase(productId: string, options?: PurchaseOptions): Promise<PurchaseResult>;
  /** `"tma " + initData`, for the app's own requests. */
  authHeader(): string;
}

/** Codes of the server's error bodies, plus the client's own. */
export type StarsErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "payment_required"
  | "insufficient_credits"
  | "unknown_product"
  | "already_active"
  | "rate_limited"
  | "telegram_error"
  | "unavailable"
  /** The request did not get an HTTP answer (status 0). */
  | "network_error"
  /** An error status whose body is not a starsgate error body. */
  | "http_error"
  /** A success status whose body is not what the contract says. */
  | "invalid_response"
  /** No initData to authenticate with (status 0, nothing sent). */
  | "missing_init_data"
  /** No `openInvoice` on the web app object (status 0, nothing sent). */
  | "webapp_unavailable"
  /** `openInvoice` threw, e.g. WebAppInvoiceUrlInvalid (status 0). */
  | "open_invoice_failed"
  /** Another product's purchase is in flight (status 0). */
  | "purchase_in_progress"
  | (string & {});

/** Extra fields of an error body (`feature`, `credit`, `balance`, `products`, …). */
export interface StarsErrorDetails {
  feature?: string;
  credit?: string;
  balance?: number;
  products?: string[];
  [key: string]: unknown;
}

export interface StarsErrorOptions {
  /** Optional. Default value 0 (no HTTP answer). */
  status?: number;
  /** Optional. Default value `{}`. */
  details?: StarsErrorDetails;
  cause?: unknown;
}

export class StarsError extends Error {
  constructor(code: StarsErrorCode, message: string, options?: StarsErrorOptions);
  readonly name: "StarsError";
  readonly code: StarsErrorCode;
  /** HTTP status, 0 when there was no HTTP answer. */
  readonly status: number;
  readonly details: StarsErrorDetails;
}

export function createStarsClient(options: StarsClientOptions): StarsClient;

/** `"tma " + initData`; throws a `missing_init_data` StarsError when initData is empty. */
export function authorizationHeader(initData: string): string;
