// sandboxbnpl: a simulated buy-now-pay-later provider. It runs the customer's checkout (a credit
// decision), keeps the installment plan, pays the merchant and collects from the customer (not
// simulated beyond the plan). Its own wire format — amounts are objects {value: "12.34", currency},
// states are upper case:
//   POST /checkouts                       {merchant_reference, amount, plan: {kind, count}, buyer: {email},
//                                          return_url, expires_at} → 201 {checkout} (idempotent by merchant_reference)
//   GET  /checkouts                       every checkout (reconciliation)
//   GET  /checkouts/:ref                  one checkout by merchant_reference or id, with its plan after refunds
//   POST /checkouts/:ref/cancel           AWAITING_CUSTOMER → CANCELLED; APPROVED (no refunds) → VOIDED; 409 otherwise
//   GET  /checkout/:id                    the customer's page (plan, confirm / cancel buttons)
//   POST /checkout/:id/confirm|abandon    the customer's choice; confirm runs the credit decision by e-mail
//   POST /refunds                         {merchant_refund_reference, checkout_reference, amount} → 201 {refund}
//                                         (idempotent); reduces the plan from the last installment backwards
//   GET  /refunds/:ref                    one refund by merchant_refund_reference
//   GET  /refunds                         every refund (reconciliation)
//   POST /_sandbox/checkouts/:ref/approve|deny   {drop_notification?} forces the decision (tests)
//   POST /_sandbox/faults                 {fail_cancels?, lose_refund_answers?, drop_refund_notifications?, expiry_grace_ms?}: cancels answer 503;
//                                         refunds are made but their answer is lost (connection reset); the grace
//                                         after expires_at before the provider expires a checkout itself; the answer
//                                         counts the faults injected so far (`injected`)
// Test buyers (the part of the e-mail before "@"): "denied…" is declined; "timeout…" never gets a
// decision; "refund_rejected…" is approved but every refund is rejected; "slow…" holds the answer
// to POST /checkouts for `slow_response_ms` (the checkout is created all the same); anyone else is
// approved. A checkout nobody decided expires `expiry_grace_ms` (default 60 s) after the merchant's
// expires_at: the provider's session outlives the merchant's, so late approvals happen. Each state change is notified to `notify_url`, signed with
// `x-sbnpl-signature: t=<unix>,sig=<hex HMAC-SHA512 of "<t>.<body>">`.
import { createHmac, randomBytes } from "node:crypto";
import { BoundedStore } from "../bounded-store.ts";
import { deliverNotification } from "../notifier.ts";
import { delay, jsonResponse, parseJsonObject, type SandboxHandler, type SandboxRequest, type SandboxResponse } from "../types.ts";

export const SBNPL_SIGNATURE_HEADER = "x-sbnpl-signature";
export const DEFAULT_SBNPL_SECRET = "sbnpl_sandbox_notification_secret";

export interface SandboxBnplOptions {
  notify_url?: string;
  notification_secret?: string;
  /** The provider's own public base URL (customer checkout pages live there). */
  public_url?: string;
  /** How long "slow…" buyers hold the answer to POST /checkouts. */
  slow_response_ms?: number;
  /** Checkouts kept before the oldest is evicted. */
  capacity?: number;
  /** The provider's session outlives the merchant's expires_at by this much (a customer mid-way). */
  expiry_grace_ms?: number;
}

type State = "AWAITING_CUSTOMER" | "APPROVED" | "DECLINED" | "EXPIRED" | "CANCELLED" | "VOIDED";
type Kind = "PAY_IN_4" | "PARCELADO" | "MSI";

interface Installment {
  number: number;
  due_on: string;
  amount_minor: bigint;
  refunded_minor: bigint;
  state: "PAID" | "SCHEDULED" | "CANCELLED" | "REFUNDED";
}

interface Refund {
  id: string;
  merchant_refund_reference: string;
  checkout_id: string;
  amount_minor: bigint;
  state: "COMPLETED" | "REJECTED";
  reason?: string;
  created_at: string;
}

interface Checkout {
  id: string;
  merchant_reference: string;
  amount_minor: bigint;
  /** Decimal places the merchant sent the amount with; answers use the same. */
  exponent: number;
  currency: string;
  kind: Kind;
  count: number;
  email: string;
  return_url: string;
  expires_at: string;
  created_at: string;
  state: State;
  decline_reason?: string;
  installments: Installment[];
  refunds: string[];
}

const kinds: Record<Kind, { counts: readonly number[]; every: "2_WEEKS" | "MONTH" }> = {
  PAY_IN_4: { counts: [4], every: "2_WEEKS" },
  PARCELADO: { counts: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], every: "MONTH" },
  MSI: { counts: [3, 6, 9, 12], every: "MONTH" },
};

const refundsPerCheckoutMax = 100;

export function signSbnpl(secret: string, body: string, unix_seconds = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac("sha512", secret).update(`${unix_seconds}.${body}`).digest("hex");
  return `t=${unix_seconds},sig=${mac}`;
}

/** "12.34" → 1234n with exponent 2; undefined unless a plain positive decimal. */
function parseMoney(value: unknown): { minor: bigint; exponent: number } | undefined {
  if (typeof value !== "string" || !/^[0-9]{1,15}(\.[0-9]{1,4})?$/.test(value)) return undefined;
  const [whole, fraction = ""] = value.split(".");
  const minor = BigInt(whole! + fraction);
  return minor > 0n ? { minor, exponent: fraction.length } : undefined;
}

function formatMoney(minor: bigint, exponent: number, currency: string) {
  const digits = minor.toString().padStart(exponent + 1, "0");
  const value = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return { value, currency };
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function monthsLater(ms: number, months: number): string {
  const start = new Date(ms);
  const lastDay = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + months + 1, 0)).getUTCDate();
  return isoDay(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + months, Math.min(start.getUTCDate(), lastDay)));
}

/** The provider's own schedule: equal parts, the remainder on the first; the first of pay-in-4 paid at checkout. */
function schedule(checkout: Checkout, approved_ms: number): Installment[] {
  const count = BigInt(checkout.count);
  const base = checkout.amount_minor / count;
  const remainder = checkout.amount_minor - base * count;
  const every = kinds[checkout.kind].every;
  return Array.from({ length: checkout.count }, (_, index) => ({
    number: index + 1,
    due_on: every === "2_WEEKS" ? isoDay(approved_ms + index * 14 * 86_400_000) : monthsLater(approved_ms, index + 1),
    amount_minor: index === 0 ? base + remainder : base,
    refunded_minor: 0n,
    state: every === "2_WEEKS" && index === 0 ? "PAID" : "SCHEDULED",
  }));
}

/** Takes `amount` off the plan: scheduled installments from the last backwards, then paid ones (paid back). */
function reducePlan(installments: Installment[], amount: bigint): void {
  let rest = amount;
  for (const pass of ["SCHEDULED", "PAID"] as const) {
    for (let index = installments.length - 1; index >= 0 && rest > 0n; index--) {
      const installment = installments[index]!;
      if (installment.state !== pass) continue;
      const take = installment.amount_minor < rest ? installment.amount_minor : rest;
      installment.amount_minor -= take;
      installment.refunded_minor += take;
      rest -= take;
      if (installment.amount_minor === 0n) installment.state = pass === "SCHEDULED" ? "CANCELLED" : "REFUNDED";
    }
  }
  if (rest !== 0n) throw new Error("programmer error: a refund larger than the plan was accepted");
}

const htmlEscapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => htmlEscapes[char]!);

export function createSandboxBnplHandler(options: SandboxBnplOptions = {}): SandboxHandler {
  const byRef = new BoundedStore<Checkout>(options.capacity ?? 100_000);
  const byId = new BoundedStore<Checkout>(options.capacity ?? 100_000);
  const refunds = new BoundedStore<Refund>(options.capacity ?? 100_000);
  const secret = options.notification_secret ?? DEFAULT_SBNPL_SECRET;
  const faults = { fail_cancels: false, lose_refund_answers: false, drop_refund_notifications: false, expiry_grace_ms: options.expiry_grace_ms ?? 60_000 };
  const injected = { cancels_failed: 0, refund_answers_lost: 0, refund_notifications_dropped: 0 };
  const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString("hex")}`;
  const find = (reference: string) => byRef.get(reference) ?? byId.get(reference);
  const buyer = (checkout: Checkout) => checkout.email.split("@")[0]!.toLowerCase();
  const pageUrl = (checkout: Checkout) => `${options.public_url ?? ""}/checkout/${checkout.id}`;

  /** A checkout past its expiry (and the grace) that nobody decided is expired (evaluated when read). */
  function current(checkout: Checkout): Checkout {
    const expiresMs = Date.parse(checkout.expires_at) + faults.expiry_grace_ms;
    if (checkout.state === "AWAITING_CUSTOMER" && expiresMs < Date.now()) checkout.state = "EXPIRED";
    return checkout;
  }

  function view(checkout: Checkout) {
    const money = (minor: bigint) => formatMoney(minor, checkout.exponent, checkout.currency);
    const refunded = checkout.refunds.map((id) => refunds.get(id)).filter((refund) => refund?.state === "COMPLETED")
      .reduce((sum, refund) => sum + refund!.amount_minor, 0n);
    return {
      id: checkout.id, merchant_reference: checkout.merchant_reference, state: current(checkout).state,
      amount: money(checkout.amount_minor), checkout_url: pageUrl(checkout), expires_at: checkout.expires_at, created_at: checkout.created_at,
      decline_reason: checkout.decline_reason ?? null,
      plan: {
        kind: checkout.kind, count: checkout.count,
        installments: checkout.installments.map((item) => ({
          number: item.number, due_on: item.due_on, amount: money(item.amount_minor), refunded: money(item.refunded_minor), state: item.state,
        })),
      },
      refunded: money(refunded),
    };
  }

  function notify(checkout: Checkout, type: string, extra: Record<string, unknown> = {}): void {
    if (!options.notify_url) return;
    const payload = JSON.stringify({ type, checkout_id: checkout.id, merchant_reference: checkout.merchant_reference, state: checkout.state, ...extra });
    void deliverNotification({ url: options.notify_url, body: payload, signature_header: SBNPL_SIGNATURE_HEADER, signature: signSbnpl(secret, payload) });
  }

  function decide(checkout: Checkout, decision: "APPROVED" | "DECLINED", notify_merchant: boolean): void {
    checkout.state = decision;
    if (decision === "APPROVED") checkout.installments = schedule(checkout, Date.now());
    else checkout.decline_reason = "credit_check_failed";
    if (notify_merchant) notify(checkout, decision === "APPROVED" ? "checkout.approved" : "checkout.declined");
  }

  async function create(request: SandboxRequest): Promise<SandboxResponse> {
    const body = parseJsonObject(request.body);
    const amount = body?.amount as { value?: unknown; currency?: unknown } | undefined;
    const money = parseMoney(amount?.value);
    const plan = body?.plan as { kind?: unknown; count?: unknown } | undefined;
    const kind = typeof plan?.kind === "string" && plan.kind in kinds ? (plan.kind as Kind) : undefined;
    const email = (body?.buyer as { email?: unknown } | undefined)?.email;
    const { merchant_reference, return_url, expires_at } = body ?? {};
    if (typeof merchant_reference !== "string" || !merchant_reference || !money || typeof amount?.currency !== "string" || !/^[A-Z]{3}$/.test(amount.currency) ||
      !kind || !kinds[kind].counts.includes(plan!.count as number) || typeof email !== "string" || !email.includes("@") ||
      typeof return_url !== "string" || typeof expires_at !== "string" || Number.isNaN(Date.parse(expires_at))) {
      return jsonResponse(400, { error: { code: "INVALID_CHECKOUT", message: "merchant_reference, amount {value, currency}, plan {kind, count}, buyer.email, return_url and expires_at are required" } });
    }
    const existing = byRef.get(merchant_reference);
    if (existing) return jsonResponse(200, { checkout: view(existing) });
    const checkout: Checkout = {
      id: newId("chk"), merchant_reference, amount_minor: money.minor, exponent: money.exponent, currency: amount.currency, kind,
      count: plan!.count as number, email, return_url, expires_at, created_at: new Date().toISOString(), state: "AWAITING_CUSTOMER",
      installments: [], refunds: [],
    };
    byRef.set(merchant_reference, checkout);
    byId.set(checkout.id, checkout);
    if (buyer(checkout).startsWith("slow")) await delay(options.slow_response_ms ?? 1500);
    return jsonResponse(201, { checkout: view(checkout) });
  }

  function cancel(checkout: Checkout): SandboxResponse {
    if (faults.fail_cancels) {
      injected.cancels_failed++;
      return jsonResponse(503, { error: { code: "UNAVAILABLE", message: "cancellations are failing (sandbox fault)" } });
    }
    const state = current(checkout).state;
    if (state === "AWAITING_CUSTOMER") {
      checkout.state = "CANCELLED";
    } else if (state === "APPROVED") {
      if (checkout.refunds.length > 0) return jsonResponse(409, { error: { code: "HAS_REFUNDS", message: "an approved checkout with refunds cannot be voided" } });
      checkout.state = "VOIDED";
      for (const item of checkout.installments) {
        item.refunded_minor += item.amount_minor;
        item.amount_minor = 0n;
        item.state = item.state === "PAID" ? "REFUNDED" : "CANCELLED";
      }
    }
    return jsonResponse(200, { checkout: view(checkout) });
  }

  function refund(request: SandboxRequest): SandboxResponse {
    const body = parseJsonObject(request.body);
    const { merchant_refund_reference, checkout_reference } = body ?? {};
    const amount = body?.amount as { value?: unknown; currency?: unknown } | undefined;
    const money = parseMoney(amount?.value);
    if (typeof merchant_refund_reference !== "string" || !merchant_refund_reference || typeof checkout_reference !== "string" || !money) {
      return jsonResponse(400, { error: { code: "INVALID_REFUND", message: "merchant_refund_reference, checkout_reference and amount are required" } });
    }
    const existing = refunds.get(merchant_refund_reference);
    if (existing) return jsonResponse(200, { refund: refundView(existing) });
    const checkout = find(checkout_reference);
    if (!checkout) return jsonResponse(404, { error: { code: "CHECKOUT_NOT_FOUND", message: checkout_reference } });
    if (money.exponent !== checkout.exponent || amount?.currency !== checkout.currency) {
      return jsonResponse(400, { error: { code: "CURRENCY_MISMATCH", message: `refund in ${checkout.currency} with ${checkout.exponent} decimals` } });
    }
    const outstanding = checkout.installments.reduce((sum, item) => sum + item.amount_minor, 0n);
    const reason = current(checkout).state !== "APPROVED" ? "CHECKOUT_NOT_APPROVED"
      : buyer(checkout).startsWith("refund_rejected") ? "REFUND_NOT_ALLOWED"
        : money.minor > outstanding ? "EXCEEDS_REMAINING"
          : checkout.refunds.length >= refundsPerCheckoutMax ? "TOO_MANY_REFUNDS" : undefined;
    const record: Refund = {
      id: newId("rfd"), merchant_refund_reference, checkout_id: checkout.id, amount_minor: money.minor,
      state: reason ? "REJECTED" : "COMPLETED", reason, created_at: new Date().toISOString(),
    };
    if (!reason) reducePlan(checkout.installments, money.minor);
    refunds.set(merchant_refund_reference, record);
    if (checkout.refunds.length < refundsPerCheckoutMax) checkout.refunds.push(merchant_refund_reference);
    if (faults.drop_refund_notifications) injected.refund_notifications_dropped++;
    else notify(checkout, reason ? "refund.rejected" : "refund.completed", { merchant_refund_reference });
    if (faults.lose_refund_answers) {
      injected.refund_answers_lost++;
      return { ...jsonResponse(201, {}), destroy_socket: true };
    }
    return jsonResponse(201, { refund: refundView(record) });
  }

  function refundView(record: Refund) {
    const checkout = byId.get(record.checkout_id);
    return {
      id: record.id, merchant_refund_reference: record.merchant_refund_reference, checkout_id: record.checkout_id,
      amount: formatMoney(record.amount_minor, checkout?.exponent ?? 2, checkout?.currency ?? "XXX"), state: record.state,
      reason: record.reason ?? null, created_at: record.created_at,
    };
  }

  function page(checkout: Checkout): SandboxResponse {
    const data = view(checkout);
    const plan = checkout.installments.length > 0 ? data.plan.installments.map((item) => `<li>${item.due_on}: ${item.amount.value} ${item.amount.currency} (${item.state})</li>`).join("")
      : `<li>${checkout.count} installments (${checkout.kind})</li>`;
    const forms = data.state === "AWAITING_CUSTOMER"
      ? `<form method="post" action="/checkout/${checkout.id}/confirm"><button>Confirm plan</button></form>
         <form method="post" action="/checkout/${checkout.id}/abandon"><button>Cancel</button></form>` : `<p>${data.state}</p>`;
    const html = `<!doctype html><html><head><title>Sandbox BNPL checkout</title></head><body>
      <h1>Pay ${data.amount.value} ${data.amount.currency} in installments</h1><p>${escapeHtml(checkout.email)}</p><ul>${plan}</ul>${forms}</body></html>`;
    return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: html };
  }

  /** The customer's choice on the page: confirm runs the credit decision by e-mail, then back to the merchant. */
  function customerChoice(checkout: Checkout, choice: "confirm" | "abandon"): SandboxResponse {
    if (current(checkout).state === "AWAITING_CUSTOMER") {
      if (choice === "abandon") {
        checkout.state = "CANCELLED";
        notify(checkout, "checkout.cancelled");
      } else if (!buyer(checkout).startsWith("timeout")) {
        decide(checkout, buyer(checkout).startsWith("denied") ? "DECLINED" : "APPROVED", true);
      }
    }
    const target = new URL(checkout.return_url);
    target.searchParams.set("checkout", checkout.id);
    return { status: 303, headers: { location: target.toString() }, body: "" };
  }

  function force(request: SandboxRequest, checkout: Checkout, decision: "APPROVED" | "DECLINED"): SandboxResponse {
    // A forced decision may come after the checkout's expiry (a late approval), never after a cancel.
    if (checkout.state !== "AWAITING_CUSTOMER" && checkout.state !== "EXPIRED") {
      return jsonResponse(409, { error: { code: "ALREADY_DECIDED", message: `the checkout is ${checkout.state}` } });
    }
    decide(checkout, decision, parseJsonObject(request.body || "{}")?.drop_notification !== true);
    return jsonResponse(200, { checkout: view(checkout) });
  }

  return async (request) => {
    const { method, path } = request;
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    if (method === "POST" && path === "/checkouts") return create(request);
    if (method === "POST" && path === "/refunds") return refund(request);
    if (method === "POST" && path === "/_sandbox/faults") {
      const body = parseJsonObject(request.body);
      faults.fail_cancels = body?.fail_cancels === true;
      faults.lose_refund_answers = body?.lose_refund_answers === true;
      faults.drop_refund_notifications = body?.drop_refund_notifications === true;
      const grace = body?.expiry_grace_ms;
      faults.expiry_grace_ms = Number.isSafeInteger(grace) && (grace as number) >= 0 ? (grace as number) : options.expiry_grace_ms ?? 60_000;
      return jsonResponse(200, { faults, injected });
    }
    if (method === "GET" && path === "/checkouts") return jsonResponse(200, { checkouts: [...byRef.values()].map(view) });
    if (method === "GET" && path === "/refunds") return jsonResponse(200, { refunds: [...refunds.values()].map(refundView) });
    if (parts[0] === "refunds" && parts.length === 2 && method === "GET") {
      const record = refunds.get(parts[1]!);
      return record ? jsonResponse(200, { refund: refundView(record) }) : jsonResponse(404, { error: { code: "REFUND_NOT_FOUND" } });
    }
    const checkout = parts[0] === "checkouts" || parts[0] === "checkout" ? find(parts[1] ?? "")
      : parts[0] === "_sandbox" && parts[1] === "checkouts" ? find(parts[2] ?? "") : undefined;
    if (!checkout) return jsonResponse(404, { error: { code: "NOT_FOUND", message: `no route or checkout for ${method} ${path}` } });
    if (method === "GET" && parts[0] === "checkouts" && parts.length === 2) return jsonResponse(200, { checkout: view(checkout) });
    if (method === "POST" && parts[0] === "checkouts" && parts[2] === "cancel") return cancel(checkout);
    if (method === "GET" && parts[0] === "checkout" && parts.length === 2) return page(checkout);
    if (method === "POST" && parts[0] === "checkout" && (parts[2] === "confirm" || parts[2] === "abandon")) return customerChoice(checkout, parts[2]);
    if (method === "POST" && parts[0] === "_sandbox" && (parts[3] === "approve" || parts[3] === "deny")) {
      return force(request, checkout, parts[3] === "approve" ? "APPROVED" : "DECLINED");
    }
    return jsonResponse(404, { error: { code: "NOT_FOUND", message: `no route for ${method} ${path}` } });
  };
}
