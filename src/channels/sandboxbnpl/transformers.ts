// sandboxbnpl wire shapes and their conversions to and from the BNPL and refund contracts. Amounts
// travel as decimal strings in the currency's ISO 4217 exponent; nothing here uses floats.
import { createHmac, timingSafeEqual } from "node:crypto";
import type {
  BnplCancelOutcome, BnplCheckoutOutcome, BnplCheckoutRecord, BnplCheckoutRequest, BnplInstallmentRecord, BnplNotification,
  RefundCallOutcome, RefundRecordAtChannel,
} from "../contract.ts";
import { corridorDecline, type UnifiedDecline } from "../declines.ts";
import type { TransportResult } from "../transport.ts";
import { requireCurrency } from "../../money/currency.ts";
import { parseJsonObject } from "../json.ts";

export const CHANNEL = "sandboxbnpl";
export const PROVIDER = "sandbox";
export const SIGNATURE_HEADER = "x-sbnpl-signature";
export const SIGNATURE_TOLERANCE_SECONDS = 300;

interface SbMoney { value: string; currency: string }

type SbState = "AWAITING_CUSTOMER" | "APPROVED" | "DECLINED" | "EXPIRED" | "CANCELLED" | "VOIDED";
type SbInstallmentState = "PAID" | "SCHEDULED" | "CANCELLED" | "REFUNDED";

interface SbCheckout {
  id: string;
  merchant_reference: string;
  state: SbState;
  amount: SbMoney;
  checkout_url: string;
  decline_reason: string | null;
  plan: { kind: string; count: number; installments: { number: number; due_on: string; amount: SbMoney; refunded: SbMoney; state: SbInstallmentState }[] };
  refunded: SbMoney;
}

interface SbRefund { id: string; merchant_refund_reference: string; state: "COMPLETED" | "REJECTED"; reason: string | null }

const planKinds = { pay_in_4: "PAY_IN_4", parcelado: "PARCELADO", meses_sin_intereses: "MSI" } as const;

/** Every provider state, mapped; a new one fails the type check instead of hiding in a default. */
const checkoutStates: Record<SbState, Extract<BnplCheckoutRecord, { found: true }>["status"]> = {
  AWAITING_CUSTOMER: "pending", APPROVED: "approved", DECLINED: "denied", EXPIRED: "expired", CANCELLED: "canceled", VOIDED: "voided",
};
const installmentStates: Record<SbInstallmentState, BnplInstallmentRecord["status"]> = {
  PAID: "paid", SCHEDULED: "scheduled", CANCELLED: "canceled", REFUNDED: "refunded",
};

/** Minor units → "12.34" in the currency's exponent. */
export function toWireMoney(amount: number, currency: string): SbMoney {
  const { exponent } = requireCurrency(currency);
  const digits = BigInt(amount).toString().padStart(exponent + 1, "0");
  return { value: exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`, currency: currency.toUpperCase() };
}

/** "12.34" → minor units, exactly; undefined for anything else (a malformed answer). */
export function fromWireMoney(money: SbMoney | undefined, currency: string): number | undefined {
  const { exponent } = requireCurrency(currency);
  if (!money || money.currency !== currency.toUpperCase() || typeof money.value !== "string") return undefined;
  const match = money.value.match(/^([0-9]{1,15})(?:\.([0-9]{1,4}))?$/);
  if (!match || (match[2] ?? "").length !== exponent) return undefined;
  const minor = Number(`${match[1]}${match[2] ?? ""}`);
  return Number.isSafeInteger(minor) ? minor : undefined;
}

export function toCheckoutBody(request: BnplCheckoutRequest) {
  return {
    merchant_reference: request.reference,
    amount: toWireMoney(request.amount, request.currency),
    plan: { kind: planKinds[request.plan.type], count: request.plan.installments },
    buyer: { email: request.customer_email ?? "customer@example.com" },
    return_url: request.return_url,
    expires_at: new Date(request.expires_at_ms).toISOString(),
  };
}


function isCheckout(value: unknown): value is SbCheckout {
  const c = value as SbCheckout | undefined;
  return !!c && typeof c.id === "string" && typeof c.merchant_reference === "string" && typeof c.state === "string" && c.state in checkoutStates &&
    typeof c.checkout_url === "string" && typeof c.amount?.value === "string" && Array.isArray(c.plan?.installments) &&
    c.plan.installments.every((item) => Number.isInteger(item?.number) && typeof item.due_on === "string" && item.state in installmentStates);
}

export function createOutcome(result: TransportResult): BnplCheckoutOutcome {
  if (result.kind === "not_sent") return { kind: "error", reason: result.reason };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const body = parseJsonObject(result.body);
  if ((result.status === 200 || result.status === 201) && isCheckout(body?.checkout)) {
    return { kind: "created", channel_reference: body.checkout.id, redirect_url: body.checkout.checkout_url };
  }
  if (result.status >= 400 && result.status < 500) return { kind: "error", reason: `${result.status} ${body?.error?.code ?? ""} ${body?.error?.message ?? ""}`.trim() };
  return { kind: "unknown", reason: `unexpected answer ${result.status}` };
}

export function checkoutRecord(result: TransportResult, currency: string): BnplCheckoutRecord | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  if (result.status === 404) return { found: false };
  const body = parseJsonObject(result.body);
  if (result.status !== 200 || !isCheckout(body?.checkout)) return { unreachable: true, reason: `unexpected answer ${result.status}` };
  const checkout = body.checkout;
  const amount = fromWireMoney(checkout.amount, currency);
  const refunded = fromWireMoney(checkout.refunded, currency);
  const installments: BnplInstallmentRecord[] = [];
  for (const item of checkout.plan.installments) {
    const value = fromWireMoney(item.amount, currency);
    const taken = fromWireMoney(item.refunded, currency);
    if (value === undefined || taken === undefined) return { unreachable: true, reason: "malformed installment amount" };
    installments.push({ sequence: item.number, amount: value, amount_refunded: taken, due_date: item.due_on, status: installmentStates[item.state] });
  }
  if (amount === undefined || refunded === undefined) return { unreachable: true, reason: "malformed amount" };
  return {
    found: true, channel_reference: checkout.id, status: checkoutStates[checkout.state], amount, currency: currency.toUpperCase(),
    redirect_url: checkout.checkout_url, installments, amount_refunded: refunded, denial_reason: checkout.decline_reason ?? undefined,
  };
}

export function cancelOutcome(result: TransportResult): BnplCancelOutcome {
  if (result.kind !== "answered") return { kind: "unknown", reason: result.reason };
  const body = parseJsonObject(result.body);
  if (result.status === 200 && isCheckout(body?.checkout)) {
    const state = body.checkout.state;
    if (state === "APPROVED") return { kind: "unknown", reason: "the provider still shows the checkout approved" };
    return { kind: "canceled", was_approved: state === "VOIDED" };
  }
  if (result.status === 409 || result.status === 404) return { kind: "refused", reason: `${result.status} ${body?.error?.code ?? ""}`.trim() };
  return { kind: "unknown", reason: `unexpected answer ${result.status}` };
}

/** The provider's refund rejection codes, as unified declines (data, not scattered ifs). */
const refundRejections: Record<string, UnifiedDecline["code"]> = {
  REFUND_NOT_ALLOWED: "transaction_not_allowed",
  EXCEEDS_REMAINING: "refund_exceeds_captured",
  CHECKOUT_NOT_APPROVED: "transaction_not_allowed",
  TOO_MANY_REFUNDS: "transaction_not_allowed",
};

function isRefund(value: unknown): value is SbRefund {
  const r = value as SbRefund | undefined;
  return !!r && typeof r.id === "string" && typeof r.merchant_refund_reference === "string" && (r.state === "COMPLETED" || r.state === "REJECTED");
}

export function toRefundBody(input: { reference: string; channel_reference: string; amount: number; currency: string }) {
  return { merchant_refund_reference: input.reference, checkout_reference: input.channel_reference, amount: toWireMoney(input.amount, input.currency) };
}

export function refundOutcome(result: TransportResult): RefundCallOutcome {
  if (result.kind === "not_sent") return { kind: "error", decline: corridorDecline("channel_unavailable", result.reason), raw: null };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const body = parseJsonObject(result.body);
  if ((result.status === 200 || result.status === 201) && isRefund(body?.refund)) {
    const refund = body.refund;
    if (refund.state === "COMPLETED") return { kind: "succeeded", channel_reference: refund.id, raw: refund };
    const code = refundRejections[refund.reason ?? ""] ?? "unmapped";
    return { kind: "declined", decline: { ...corridorDecline(code), raw_code: refund.reason ?? "REJECTED" }, raw: refund };
  }
  if (result.status >= 400 && result.status < 500) {
    return { kind: "error", decline: { ...corridorDecline("processing_error"), raw_code: String(body?.error?.code ?? result.status) }, raw: body };
  }
  return { kind: "unknown", reason: `unexpected answer ${result.status}` };
}

export function refundRecord(result: TransportResult): RefundRecordAtChannel | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  if (result.status === 404) return { found: false };
  const body = parseJsonObject(result.body);
  if (result.status !== 200 || !isRefund(body?.refund)) return { unreachable: true, reason: `unexpected answer ${result.status}` };
  return body.refund.state === "COMPLETED" ? { found: true, status: "succeeded" } : { found: true, status: "failed", failure_reason: body.refund.reason ?? "declined" };
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const notificationTypes: Record<string, "checkout.updated" | "refund.updated"> = {
  "checkout.approved": "checkout.updated", "checkout.declined": "checkout.updated", "checkout.cancelled": "checkout.updated",
  "refund.completed": "refund.updated", "refund.rejected": "refund.updated",
};

/** `t=<unix>,sig=<hex HMAC-SHA512 of "<t>.<body>">`, within ±5 minutes. */
export function parseSandboxBnplNotification(
  headers: Record<string, string | string[] | undefined>, raw_body: string, secret: string, now_seconds = Math.floor(Date.now() / 1000),
): BnplNotification {
  const match = headerValue(headers, SIGNATURE_HEADER)?.match(/^t=(\d{1,12}),sig=([0-9a-f]{128})$/);
  if (!match) return { verified: false, reason: "missing or malformed signature" };
  const ts = Number(match[1]);
  if (Math.abs(now_seconds - ts) > SIGNATURE_TOLERANCE_SECONDS) return { verified: false, reason: "signature timestamp outside tolerance" };
  const expected = createHmac("sha512", secret).update(`${ts}.${raw_body}`).digest();
  const given = Buffer.from(match[2]!, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { verified: false, reason: "signature mismatch" };
  const body = parseJsonObject(raw_body);
  const event = notificationTypes[body?.type as string];
  if (!event || typeof body?.merchant_reference !== "string") return { verified: false, reason: "unexpected notification body" };
  const refund_reference = typeof body.merchant_refund_reference === "string" ? body.merchant_refund_reference : undefined;
  return { verified: true, reference: body.merchant_reference, event, refund_reference };
}
