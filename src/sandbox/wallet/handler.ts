// sandboxwallet: a simulated e-wallet aggregator (GCash, DANA, OVO, ShopeePay, Alipay+, ...) with
// its own wire format and its own record of what its customers paid and what it refunded.
//   POST /v1/orders                  {merchant_order_ref, provider, product_code, order_amount: {currency, value},
//                                    payer_phone?, redirect_url, expire_time} → opens an order (idempotent by
//                                    merchant_order_ref). Amounts are decimal strings in the currency's exponent.
//   GET  /v1/orders/:ref             one order by merchant_order_ref or order_id (inquiry)
//   GET  /v1/orders                  every order (reconciliation)
//   POST /v1/orders/:ref/close       closes an unpaid order (a paid one answers ORDER_STATUS_INVALID)
//   POST /v1/refunds                 {refund_request_ref, merchant_order_ref, refund_amount} → REFUND_PROCESSING,
//                                    settled after `refund_delay_ms` (idempotent by refund_request_ref)
//   GET  /v1/refunds/:ref            one refund by refund_request_ref
//   GET  /v1/refunds                 every refund (reconciliation)
//   GET  /pay/:order_id              the customer's approval page (redirect flows), posting to
//   POST /pay/:order_id/{approve,decline} → 303 back to the order's redirect_url
//   POST /_sandbox/orders/:ref/{approve,decline}  the customer approves the push / declines (sandbox control)
//   POST /_sandbox/scan              {qr_code} the customer scans a QR code and pays
//   POST /_sandbox/faults            {lose_create_answers: n} the next n order creates are done but
//                                    their answer is lost (the connection is reset)
//                                    (the answer counts the lost answers so far: lost_create_answers_total)
//     Controls on approve/scan: notify "send" (default) | "drop" | "duplicate", delay_ms, and force
//     (pay even a closed or expired order: the wallet settled a payment its close raced with).
// Every answer carries `result: {result_status: S|F|U, result_code, result_message}`. Statuses:
// orders WAIT_PAY → PAID | FAILED | CLOSED (closed by the merchant or at expire_time);
// refunds REFUND_PROCESSING → REFUND_SUCCESS | REFUND_FAILED.
// Results are notified to `notify_url` signed with Ed25519 (see signing.ts).
// Test customers: a payer_phone ending in 404 does not exist (USER_NOT_FOUND at create); an order
// whose amount in minor units ends in 51 fails when paid (USER_BALANCE_NOT_ENOUGH); a refund whose
// amount ends in 66 fails (USER_ACCOUNT_FROZEN).
import { randomBytes } from "node:crypto";
import { findCurrency } from "../../money/currency.ts";
import { BoundedStore } from "../bounded-store.ts";
import { jsonResponse, parseJsonObject, type SandboxHandler, type SandboxRequest, type SandboxResponse } from "../types.ts";
import { sendWalletNotification, type NotifyMode } from "./notify.ts";
import { loadSigningKey, DEFAULT_SWALLET_SEED, SWALLET_CLIENT_ID } from "./signing.ts";

export interface SandboxWalletOptions {
  notify_url?: string;
  /** Hex seed of the Ed25519 signing key (32 bytes); the sandbox default otherwise. */
  signing_seed?: string;
  /** How long a refund stays REFUND_PROCESSING before it settles. */
  refund_delay_ms?: number;
  /** Orders (and refunds) kept before the oldest is evicted. */
  capacity?: number;
  /** The sandbox's public base URL for the customer page; by default from the request's Host. */
  public_url?: string;
}

const productCodes = { REDIRECT_PAY: "redirect", APP_PUSH: "app_push", QR_PAY: "qr" } as const;
type ProductCode = keyof typeof productCodes;
type OrderStatus = "WAIT_PAY" | "PAID" | "FAILED" | "CLOSED";
type RefundStatus = "REFUND_PROCESSING" | "REFUND_SUCCESS" | "REFUND_FAILED";
const providers = new Set(["gcash", "maya", "dana", "ovo", "shopeepay", "grabpay", "paypay", "alipay_plus"]);
export const DEFAULT_REFUND_DELAY_MS = 300;
const notifyDelayMaxMs = 60_000;
const lostAnswersMax = 100;

interface Money {
  currency: string;
  value: string;
}

interface Order {
  order_id: string;
  merchant_order_ref: string;
  provider: string;
  product_code: ProductCode;
  order_amount: Money;
  minor: bigint;
  payer_phone: string | null;
  redirect_url: string;
  expire_time: string;
  create_time: string;
  status: OrderStatus;
  fail_code: string | null;
  pay_time: string | null;
  qr_code: string | null;
  refunded_minor: bigint;
}

interface Refund {
  refund_id: string;
  refund_request_ref: string;
  merchant_order_ref: string;
  refund_amount: Money;
  minor: bigint;
  status: RefundStatus;
  fail_code: string | null;
  create_time: string;
}

const result = (status: "S" | "F" | "U", code: string, message: string) => ({ result_status: status, result_code: code, result_message: message });
const success = result("S", "SUCCESS", "Success");

/** "150000.50" in the currency's exponent → minor units; undefined when not exact. */
export function parseWalletAmount(money: unknown): { currency: string; minor: bigint } | undefined {
  const { currency, value } = (money ?? {}) as Partial<Money>;
  const facts = typeof currency === "string" ? findCurrency(currency) : undefined;
  if (!facts || typeof value !== "string" || value.length > 20) return undefined;
  const pattern = facts.exponent === 0 ? /^(\d+)$/ : new RegExp(`^(\\d+)\\.(\\d{${facts.exponent}})$`);
  const match = value.match(pattern);
  if (!match) return undefined;
  const minor = BigInt(`${match[1]}${match[2] ?? ""}`);
  return minor > 0n ? { currency: facts.code, minor } : undefined;
}

export function formatWalletAmount(minor: bigint, currency: string): Money {
  const exponent = findCurrency(currency)!.exponent;
  if (exponent === 0) return { currency, value: minor.toString() };
  const digits = minor.toString().padStart(exponent + 1, "0");
  return { currency, value: `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}` };
}

export function createSandboxWalletHandler(options: SandboxWalletOptions = {}): SandboxHandler {
  const orders = new BoundedStore<Order>(options.capacity ?? 100_000);
  const ordersById = new BoundedStore<Order>(options.capacity ?? 100_000);
  const refunds = new BoundedStore<Refund>(options.capacity ?? 100_000);
  const key = loadSigningKey(options.signing_seed ?? DEFAULT_SWALLET_SEED);
  const refundDelayMs = options.refund_delay_ms ?? DEFAULT_REFUND_DELAY_MS;
  const newId = (prefix: string) => `${prefix}${Date.now()}${randomBytes(6).toString("hex")}`;
  const find = (reference: string) => orders.get(reference) ?? ordersById.get(reference);
  /** Fault mode: creates whose answer is lost after the order is made. */
  let lostCreateAnswers = 0;
  let lostCreateAnswersTotal = 0;

  /** The wallet closes unpaid orders at their expire_time by itself. */
  function current(order: Order): Order {
    if (order.status === "WAIT_PAY" && Date.parse(order.expire_time) <= Date.now()) {
      order.status = "CLOSED";
      order.fail_code = "ORDER_EXPIRED";
    }
    return order;
  }

  function view(order: Order, request: SandboxRequest) {
    const { minor: _minor, refunded_minor, ...rest } = current(order);
    const base = options.public_url ?? `http://${String(request.headers.host ?? "127.0.0.1")}`;
    return {
      ...rest,
      refunded_amount: formatWalletAmount(refunded_minor, order.order_amount.currency),
      pay_url: order.product_code === "REDIRECT_PAY" ? `${base}/pay/${order.order_id}` : null,
    };
  }

  /** `swallet://qr/<provider>/<order_id>?amount=<value>`: the order it names, if the code is exactly its. */
  function orderOfQrCode(qr_code: string): Order | undefined {
    const match = qr_code.match(/^swallet:\/\/qr\/[a-z_]{1,32}\/([0-9a-f]{1,64})\?/);
    const order = match ? ordersById.get(match[1]!) : undefined;
    return order?.qr_code === qr_code ? order : undefined;
  }

  function notify(payload: Record<string, unknown>, mode: NotifyMode = "send", delay_ms = 0): void {
    if (!options.notify_url) return;
    void sendWalletNotification({ url: options.notify_url, key, client_id: SWALLET_CLIENT_ID, payload, mode, delay_ms });
  }

  function notifyPayment(order: Order, mode?: NotifyMode, delay_ms?: number): void {
    notify({
      notify_type: "PAYMENT_RESULT", merchant_order_ref: order.merchant_order_ref, order_id: order.order_id, status: order.status,
      order_amount: order.order_amount, fail_code: order.fail_code, pay_time: order.pay_time,
    }, mode, delay_ms);
  }

  function createOrder(request: SandboxRequest): SandboxResponse {
    const body = parseJsonObject(request.body);
    const { merchant_order_ref, provider, product_code, payer_phone, redirect_url, expire_time } = body ?? {};
    const amount = parseWalletAmount(body?.order_amount);
    if (typeof merchant_order_ref !== "string" || !merchant_order_ref || merchant_order_ref.length > 64 || typeof provider !== "string" ||
      !providers.has(provider) || typeof product_code !== "string" || !(product_code in productCodes) || !amount ||
      typeof redirect_url !== "string" || typeof expire_time !== "string" || Number.isNaN(Date.parse(expire_time)) ||
      (payer_phone !== undefined && typeof payer_phone !== "string")) {
      return jsonResponse(400, { result: result("F", "PARAM_ILLEGAL", "merchant_order_ref, provider, product_code, order_amount, redirect_url and expire_time are required") });
    }
    const existing = orders.get(merchant_order_ref);
    if (existing) {
      if (existing.minor !== amount.minor || existing.order_amount.currency !== amount.currency) {
        return jsonResponse(400, { result: result("F", "REPEAT_REQ_INCONSISTENT", "the same merchant_order_ref with another amount") });
      }
      return jsonResponse(200, { result: success, order: view(existing, request) });
    }
    if (product_code === "APP_PUSH" && (typeof payer_phone !== "string" || !payer_phone)) {
      return jsonResponse(400, { result: result("F", "PARAM_ILLEGAL", "APP_PUSH needs payer_phone") });
    }
    if (typeof payer_phone === "string" && payer_phone.endsWith("404")) {
      return jsonResponse(200, { result: result("F", "USER_NOT_FOUND", "no wallet account with this phone number") });
    }
    const order_id = newId(""); // digits and hex, as the wallet numbers its orders
    const order: Order = {
      order_id, merchant_order_ref, provider, product_code: product_code as ProductCode,
      order_amount: formatWalletAmount(amount.minor, amount.currency), minor: amount.minor, payer_phone: (payer_phone as string | undefined) ?? null,
      redirect_url, expire_time: new Date(Date.parse(expire_time)).toISOString(), create_time: new Date().toISOString(),
      status: "WAIT_PAY", fail_code: null, pay_time: null,
      qr_code: product_code === "QR_PAY" ? `swallet://qr/${provider}/${order_id}?amount=${formatWalletAmount(amount.minor, amount.currency).value}` : null,
      refunded_minor: 0n,
    };
    orders.set(merchant_order_ref, order);
    ordersById.set(order_id, order);
    return jsonResponse(200, { result: success, order: view(order, request) });
  }

  function closeOrder(request: SandboxRequest, reference: string): SandboxResponse {
    const order = find(reference);
    if (!order) return jsonResponse(404, { result: result("F", "ORDER_NOT_EXIST", "no such order") });
    current(order);
    if (order.status === "PAID") return jsonResponse(200, { result: result("F", "ORDER_STATUS_INVALID", "the order is paid"), order: view(order, request) });
    if (order.status === "WAIT_PAY") {
      order.status = "CLOSED";
      order.fail_code = "MERCHANT_CLOSED";
    }
    return jsonResponse(200, { result: success, order: view(order, request) });
  }

  /** The customer pays (or, with `decline`, refuses) an order. */
  function settleOrder(request: SandboxRequest, order: Order, decline: boolean, controls: Record<string, unknown>): SandboxResponse {
    current(order);
    const force = controls.force === true;
    const open = order.status === "WAIT_PAY" || (force && order.status === "CLOSED");
    if (!open) return jsonResponse(409, { result: result("F", "ORDER_STATUS_INVALID", `the order is ${order.status}`), order: view(order, request) });
    if (decline) {
      order.status = "FAILED";
      order.fail_code = "USER_REJECTED";
    } else if (order.minor % 100n === 51n) {
      order.status = "FAILED";
      order.fail_code = "USER_BALANCE_NOT_ENOUGH";
    } else {
      order.status = "PAID";
      order.fail_code = null;
      order.pay_time = new Date().toISOString();
    }
    const mode = controls.notify === "drop" || controls.notify === "duplicate" ? controls.notify : "send";
    const delay_ms = Number.isSafeInteger(controls.delay_ms) ? Math.min(Math.max(controls.delay_ms as number, 0), notifyDelayMaxMs) : 0;
    notifyPayment(order, mode, delay_ms);
    return jsonResponse(200, { result: success, order: view(order, request) });
  }

  function createRefund(request: SandboxRequest): SandboxResponse {
    const body = parseJsonObject(request.body);
    const { refund_request_ref, merchant_order_ref } = body ?? {};
    const amount = parseWalletAmount(body?.refund_amount);
    if (typeof refund_request_ref !== "string" || !refund_request_ref || refund_request_ref.length > 64 || typeof merchant_order_ref !== "string" || !amount) {
      return jsonResponse(400, { result: result("F", "PARAM_ILLEGAL", "refund_request_ref, merchant_order_ref and refund_amount are required") });
    }
    const existing = refunds.get(refund_request_ref);
    if (existing) return jsonResponse(200, { result: success, refund: refundView(existing) });
    const order = find(merchant_order_ref);
    if (!order) return jsonResponse(404, { result: result("F", "ORDER_NOT_EXIST", "no such order") });
    if (current(order).status !== "PAID") return jsonResponse(200, { result: result("F", "ORDER_STATUS_INVALID", `the order is ${order.status}`) });
    if (amount.currency !== order.order_amount.currency) return jsonResponse(200, { result: result("F", "CURRENCY_NOT_SUPPORT", "the refund currency differs from the order's") });
    if (order.refunded_minor + amount.minor > order.minor) return jsonResponse(200, { result: result("F", "REFUND_AMOUNT_EXCEED", "the refunds exceed the order amount") });
    order.refunded_minor += amount.minor;
    const refund: Refund = {
      refund_id: newId("rf"), refund_request_ref, merchant_order_ref: order.merchant_order_ref, refund_amount: formatWalletAmount(amount.minor, amount.currency),
      minor: amount.minor, status: "REFUND_PROCESSING", fail_code: null, create_time: new Date().toISOString(),
    };
    refunds.set(refund_request_ref, refund);
    setTimeout(() => settleRefund(order, refund), refundDelayMs).unref();
    return jsonResponse(200, { result: success, refund: refundView(refund) });
  }

  function settleRefund(order: Order, refund: Refund): void {
    if (refund.minor % 100n === 66n) {
      refund.status = "REFUND_FAILED";
      refund.fail_code = "USER_ACCOUNT_FROZEN";
      order.refunded_minor -= refund.minor;
    } else {
      refund.status = "REFUND_SUCCESS";
    }
    notify({ notify_type: "REFUND_RESULT", refund_request_ref: refund.refund_request_ref, refund_id: refund.refund_id, merchant_order_ref: refund.merchant_order_ref, status: refund.status, fail_code: refund.fail_code });
  }

  function refundView(refund: Refund) {
    const { minor: _minor, ...rest } = refund;
    return rest;
  }

  function payPage(order: Order): SandboxResponse {
    const status = current(order).status;
    const amount = `${order.order_amount.value} ${order.order_amount.currency}`;
    const body = `<!doctype html><html><head><meta charset="utf-8"><title>Sandbox wallet</title></head><body>
<h1>Pay ${amount} with ${order.provider}</h1><p>Order ${order.order_id}: ${status}</p>
${status === "WAIT_PAY" ? `<form method="post" action="/pay/${order.order_id}/approve"><button>Approve</button></form>
<form method="post" action="/pay/${order.order_id}/decline"><button>Decline</button></form>` : ""}
</body></html>`;
    return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body };
  }

  function payPageAction(request: SandboxRequest, order: Order, decline: boolean): SandboxResponse {
    const answer = settleOrder(request, order, decline, {});
    if (answer.status !== 200) return answer;
    return { status: 303, headers: { location: order.redirect_url }, body: "" };
  }

  return async (request) => {
    const { method, path } = request;
    const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
    if (method === "POST" && path === "/v1/orders") {
      const answer = createOrder(request);
      if (lostCreateAnswers === 0) return answer;
      lostCreateAnswers--;
      lostCreateAnswersTotal++;
      return { ...answer, destroy_socket: true };
    }
    if (method === "POST" && path === "/_sandbox/faults") {
      const count = parseJsonObject(request.body)?.lose_create_answers;
      if (!Number.isSafeInteger(count) || (count as number) < 0 || (count as number) > lostAnswersMax) {
        return jsonResponse(400, { result: result("F", "PARAM_ILLEGAL", `lose_create_answers: 0 to ${lostAnswersMax}`) });
      }
      lostCreateAnswers = count as number;
      return jsonResponse(200, { result: success, lose_create_answers: lostCreateAnswers, lost_create_answers_total: lostCreateAnswersTotal });
    }
    if (method === "GET" && path === "/v1/orders") return jsonResponse(200, { result: success, orders: [...orders.values()].map((order) => view(order, request)) });
    if (method === "POST" && path === "/v1/refunds") return createRefund(request);
    if (method === "GET" && path === "/v1/refunds") return jsonResponse(200, { result: success, refunds: [...refunds.values()].map(refundView) });
    if (segments[0] === "v1" && segments[1] === "orders" && segments.length === 3 && method === "GET") {
      const order = find(segments[2]!);
      return order ? jsonResponse(200, { result: success, order: view(order, request) }) : jsonResponse(404, { result: result("F", "ORDER_NOT_EXIST", "no such order") });
    }
    if (segments[0] === "v1" && segments[1] === "orders" && segments[3] === "close" && segments.length === 4 && method === "POST") return closeOrder(request, segments[2]!);
    if (segments[0] === "v1" && segments[1] === "refunds" && segments.length === 3 && method === "GET") {
      const refund = refunds.get(segments[2]!);
      return refund ? jsonResponse(200, { result: success, refund: refundView(refund) }) : jsonResponse(404, { result: result("F", "REFUND_NOT_EXIST", "no such refund") });
    }
    if (segments[0] === "pay" && segments.length >= 2) {
      const order = ordersById.get(segments[1]!);
      if (!order) return { status: 404, headers: { "content-type": "text/plain" }, body: "no such order" };
      if (method === "GET" && segments.length === 2) return payPage(order);
      if (method === "POST" && segments.length === 3 && (segments[2] === "approve" || segments[2] === "decline")) return payPageAction(request, order, segments[2] === "decline");
    }
    if (method === "POST" && segments[0] === "_sandbox" && segments[1] === "orders" && segments.length === 4 && (segments[3] === "approve" || segments[3] === "decline")) {
      const order = find(segments[2]!);
      if (!order) return jsonResponse(404, { result: result("F", "ORDER_NOT_EXIST", "no such order") });
      return settleOrder(request, order, segments[3] === "decline", parseJsonObject(request.body || "{}") ?? {});
    }
    if (method === "POST" && path === "/_sandbox/scan") {
      const controls = parseJsonObject(request.body) ?? {};
      const order = typeof controls.qr_code === "string" ? orderOfQrCode(controls.qr_code) : undefined;
      if (!order) return jsonResponse(404, { result: result("F", "QR_CODE_INVALID", "no order for this QR code") });
      return settleOrder(request, order, false, controls);
    }
    return jsonResponse(404, { result: result("F", "NOT_FOUND", `no route for ${method} ${path}`) });
  };
}
