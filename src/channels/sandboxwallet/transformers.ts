// sandboxwallet wire shapes and their conversions to and from the wallet contract: decimal-string
// amounts in the currency's exponent, `result: {result_status: S|F|U, result_code}` envelopes, order
// and refund statuses, and the Ed25519-signed notifications.
import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { findCurrency } from "../../money/currency.ts";
import { unifiedDeclines, type UnifiedDecline, type UnifiedDeclineCode } from "../declines.ts";
import type {
  MoneyCallOutcome, RefundCallOutcome, RefundRecordAtChannel, WalletCloseOutcome, WalletNotification, WalletOrderOutcome,
  WalletOrderRecord, WalletOrderRequest,
} from "../contract.ts";
import type { TransportResult } from "../transport.ts";
import { parseJsonObject } from "../json.ts";

export const CHANNEL = "sandboxwallet";
export const NOTIFICATION_PATH = `/v1/channels/${CHANNEL}/notifications`;
export const SIGNATURE_TOLERANCE_SECONDS = 300;
/** The sandbox wallet's well-known public key (base64 SPKI DER of its Ed25519 key). */
export const SANDBOX_WALLET_PUBLIC_KEY = "MCowBQYDK2VwAyEAb3jmtjUu/DQWaE/lgP7CODOUOuh0aACsYEDleHRESUQ=";

interface SwMoney {
  currency: string;
  value: string;
}

interface SwResult {
  result_status: "S" | "F" | "U";
  result_code: string;
  result_message?: string;
}

type SwOrderStatus = "WAIT_PAY" | "PAID" | "FAILED" | "CLOSED";
type SwRefundStatus = "REFUND_PROCESSING" | "REFUND_SUCCESS" | "REFUND_FAILED";

interface SwOrder {
  order_id: string;
  merchant_order_ref: string;
  status: SwOrderStatus;
  order_amount: SwMoney;
  fail_code: string | null;
  pay_url: string | null;
  qr_code: string | null;
}

interface SwRefund {
  refund_id: string;
  refund_request_ref: string;
  status: SwRefundStatus;
  fail_code: string | null;
}

const productCodeOf = { redirect: "REDIRECT_PAY", app_push: "APP_PUSH", qr: "QR_PAY" } as const;

/** Order statuses: every one the wallet has, no catch-all. */
const orderStatusOf: Record<SwOrderStatus, "waiting" | "paid" | "failed" | "closed"> = {
  WAIT_PAY: "waiting", PAID: "paid", FAILED: "failed", CLOSED: "closed",
};

const refundStatusOf: Record<SwRefundStatus, "pending" | "succeeded" | "failed"> = {
  REFUND_PROCESSING: "pending", REFUND_SUCCESS: "succeeded", REFUND_FAILED: "failed",
};

/** Wallet result and failure codes → unified decline code and a wallet-worded message. Data, not `if`s. */
const declineTable: Record<string, { code: UnifiedDeclineCode; message: string }> = {
  USER_NOT_FOUND: { code: "transaction_not_allowed", message: "No wallet account exists for this phone number." },
  USER_BALANCE_NOT_ENOUGH: { code: "insufficient_funds", message: "The wallet balance is not enough." },
  USER_REJECTED: { code: "generic_decline", message: "The customer declined the payment in the wallet." },
  RISK_REJECT: { code: "do_not_honor", message: "The wallet refused the payment (risk)." },
  USER_ACCOUNT_FROZEN: { code: "transaction_not_allowed", message: "The wallet account is frozen." },
  REFUND_AMOUNT_EXCEED: { code: "refund_exceeds_captured", message: "The refunds exceed what the wallet collected." },
  ORDER_STATUS_INVALID: { code: "transaction_not_allowed", message: "The wallet order cannot be refunded in its state." },
  CURRENCY_NOT_SUPPORT: { code: "currency_not_supported", message: "The wallet does not support this currency." },
  CHANNEL_UNREACHABLE: { code: "channel_unavailable", message: "The wallet could not be reached." },
};

export function walletDecline(raw_code: string, raw_message?: string): UnifiedDecline {
  const row = declineTable[raw_code];
  const code: UnifiedDeclineCode = row?.code ?? "unmapped";
  return { code, ...unifiedDeclines[code], ...(row ? { message: row.message } : {}), raw_code, raw_message };
}

/** Minor units → "150000.50" in the currency's exponent (exact, no floats). */
export function toWalletMoney(amount: number, currency: string): SwMoney {
  const exponent = findCurrency(currency)?.exponent;
  if (exponent === undefined || !Number.isSafeInteger(amount) || amount < 0) throw new Error(`programmer error: bad amount ${amount} ${currency}`);
  if (exponent === 0) return { currency, value: String(amount) };
  const digits = String(amount).padStart(exponent + 1, "0");
  return { currency, value: `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}` };
}

/** "150000.50" → minor units; undefined unless exactly in the currency's exponent. */
export function fromWalletMoney(money: SwMoney): number | undefined {
  const exponent = findCurrency(money.currency)?.exponent;
  if (exponent === undefined || typeof money.value !== "string") return undefined;
  const match = money.value.match(exponent === 0 ? /^(\d{1,15})$/ : new RegExp(`^(\\d{1,15})\\.(\\d{${exponent}})$`));
  if (!match) return undefined;
  const minor = Number(`${match[1]}${match[2] ?? ""}`);
  return Number.isSafeInteger(minor) ? minor : undefined;
}

export function toOrderBody(request: WalletOrderRequest) {
  return {
    merchant_order_ref: request.reference, provider: request.provider, product_code: productCodeOf[request.flow],
    order_amount: toWalletMoney(request.amount, request.currency), ...(request.phone ? { payer_phone: request.phone } : {}),
    redirect_url: request.return_url, expire_time: new Date(request.expires_at_ms).toISOString(),
  };
}

export function toRefundBody(input: { reference: string; attempt_reference: string; amount: number; currency: string }) {
  return { refund_request_ref: input.reference, merchant_order_ref: input.attempt_reference, refund_amount: toWalletMoney(input.amount, input.currency) };
}


function isResult(value: unknown): value is SwResult {
  const r = value as SwResult | undefined;
  return !!r && (r.result_status === "S" || r.result_status === "F" || r.result_status === "U") && typeof r.result_code === "string";
}

function isOrder(value: unknown): value is SwOrder {
  const o = value as SwOrder | undefined;
  return !!o && typeof o.order_id === "string" && typeof o.merchant_order_ref === "string" && Object.hasOwn(orderStatusOf, o.status) &&
    typeof o.order_amount?.currency === "string" && typeof o.order_amount?.value === "string";
}

function isRefund(value: unknown): value is SwRefund {
  const r = value as SwRefund | undefined;
  return !!r && typeof r.refund_id === "string" && typeof r.refund_request_ref === "string" && Object.hasOwn(refundStatusOf, r.status);
}

export function createOutcome(result: TransportResult): WalletOrderOutcome {
  if (result.kind === "not_sent") return { kind: "error", reason: result.reason };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const body = parseJsonObject(result.body);
  if (!isResult(body?.result)) return { kind: "unknown", reason: `unexpected answer ${result.status}` };
  const { result_status, result_code, result_message } = body.result;
  if (result_status === "S" && isOrder(body.order)) {
    return { kind: "created", channel_reference: body.order.order_id, redirect_url: body.order.pay_url ?? undefined, qr_data: body.order.qr_code ?? undefined };
  }
  if (result_status === "F" && declineTable[result_code]) return { kind: "declined", decline: walletDecline(result_code, result_message) };
  if (result_status === "F") return { kind: "error", reason: `${result_code} ${result_message ?? ""}`.trim() };
  return { kind: "unknown", reason: `wallet answered ${result_status} ${result_code}` };
}

export function orderRecord(result: TransportResult): WalletOrderRecord | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  const body = parseJsonObject(result.body);
  if (result.status === 404 && body?.result?.result_code === "ORDER_NOT_EXIST") return { found: false };
  if (result.status !== 200 || body?.result?.result_status !== "S" || !isOrder(body.order)) return { unreachable: true, reason: `unexpected answer ${result.status}` };
  return recordOf(body.order);
}

function recordOf(order: SwOrder): WalletOrderRecord | { unreachable: true; reason: string } {
  const amount = fromWalletMoney(order.order_amount);
  if (amount === undefined) return { unreachable: true, reason: `unreadable amount ${order.order_amount.value}` };
  const status = orderStatusOf[order.status];
  return {
    found: true, channel_reference: order.order_id, status, amount, currency: order.order_amount.currency,
    ...(status === "failed" ? { decline: walletDecline(order.fail_code ?? "UNKNOWN_FAILURE") } : {}),
  };
}

export function closeOutcome(result: TransportResult): WalletCloseOutcome {
  if (result.kind !== "answered") return { kind: "unknown", reason: result.reason };
  const body = parseJsonObject(result.body);
  if (result.status === 404 && body?.result?.result_code === "ORDER_NOT_EXIST") return { kind: "not_found" };
  if (!isResult(body?.result) || !isOrder(body.order)) return { kind: "unknown", reason: `unexpected answer ${result.status}` };
  if (body.order.status === "PAID") return { kind: "already_paid" };
  if (body.result.result_status === "S") return { kind: "closed" };
  return { kind: "unknown", reason: `wallet answered ${body.result.result_status} ${body.result.result_code}` };
}

export function refundOutcome(result: TransportResult): RefundCallOutcome {
  if (result.kind === "not_sent") return { kind: "error", decline: walletDecline("CHANNEL_UNREACHABLE", result.reason), raw: null } satisfies MoneyCallOutcome;
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const body = parseJsonObject(result.body);
  if (!isResult(body?.result)) return { kind: "unknown", reason: `unexpected answer ${result.status}` };
  if (body.result.result_status === "S" && isRefund(body.refund)) {
    const status = refundStatusOf[body.refund.status];
    if (status === "pending") return { kind: "pending", channel_reference: body.refund.refund_id };
    if (status === "succeeded") return { kind: "succeeded", channel_reference: body.refund.refund_id, raw: body };
    return { kind: "declined", decline: walletDecline(body.refund.fail_code ?? "UNKNOWN_FAILURE"), raw: body };
  }
  if (body.result.result_status === "F") return { kind: "declined", decline: walletDecline(body.result.result_code, body.result.result_message), raw: body };
  return { kind: "unknown", reason: `wallet answered ${body.result.result_status} ${body.result.result_code}` };
}

export function refundRecord(result: TransportResult): RefundRecordAtChannel | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  const body = parseJsonObject(result.body);
  if (result.status === 404 && body?.result?.result_code === "REFUND_NOT_EXIST") return { found: false };
  if (result.status !== 200 || !isRefund(body?.refund)) return { unreachable: true, reason: `unexpected answer ${result.status}` };
  const status = refundStatusOf[body.refund.status];
  return { found: true, status, ...(status === "failed" ? { failure_reason: walletDecline(body.refund.fail_code ?? "UNKNOWN_FAILURE").code } : {}) };
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function walletPublicKey(spki_base64: string): KeyObject {
  return createPublicKey({ key: Buffer.from(spki_base64, "base64"), format: "der", type: "spki" });
}

/**
 * Verifies `signature: algorithm=Ed25519,keyVersion=1,signature=<base64url>` over
 * "POST <path>\n<client-id>.<request-time>.<body>" with the wallet's public key, the request time
 * within ±5 minutes; then reads which of our references the notice is about.
 */
export function parseSandboxWalletNotification(
  headers: Record<string, string | string[] | undefined>, raw_body: string, public_key: KeyObject, now_ms = Date.now(),
): WalletNotification {
  const match = headerValue(headers, "signature")?.match(/^algorithm=Ed25519,keyVersion=1,signature=([A-Za-z0-9_-]{1,200})$/);
  const client_id = headerValue(headers, "client-id");
  const request_time = headerValue(headers, "request-time");
  if (!match || !client_id || !request_time || client_id.length > 64 || request_time.length > 40) return { verified: false, reason: "missing or malformed signature" };
  const time_ms = Date.parse(request_time);
  if (Number.isNaN(time_ms) || Math.abs(now_ms - time_ms) > SIGNATURE_TOLERANCE_SECONDS * 1000) return { verified: false, reason: "request-time outside tolerance" };
  const signed = Buffer.from(`POST ${NOTIFICATION_PATH}\n${client_id}.${request_time}.${raw_body}`);
  if (!verify(null, signed, public_key, Buffer.from(match[1]!, "base64url"))) return { verified: false, reason: "signature mismatch" };
  const body = parseJsonObject(raw_body);
  if (body?.notify_type === "PAYMENT_RESULT" && typeof body.merchant_order_ref === "string") return { verified: true, kind: "payment", reference: body.merchant_order_ref };
  if (body?.notify_type === "REFUND_RESULT" && typeof body.refund_request_ref === "string") return { verified: true, kind: "refund", reference: body.refund_request_ref };
  return { verified: false, reason: "unexpected notification body" };
}
