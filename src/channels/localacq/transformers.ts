// localacq's wire format (ISO 8583 as JSON) and the conversions to and from the contract.
// localacq counts IDR and HUF without decimals (its own exponents), so every amount is
// rescaled at this boundary, exactly, or refused.
import type { AuthorizeOutcome, AuthorizeRequest, ChannelRecord, MoneyCallOutcome } from "../contract.ts";
import { corridorDecline, normalizeDecline } from "../declines.ts";
import type { TransportResult } from "../transport.ts";
import { currencyByNumeric, findCurrency, rescaleAmount, type Currency } from "../../money/currency.ts";

export const CHANNEL = "localacq";
export const APPROVED = "00";
export const PROCESSING_PURCHASE = "000000";
export const PROCESSING_REFUND = "200000";
const AMOUNT_DIGITS = 12;
const MAX_STAN = 999_999;
/** DE39 codes meaning the acquirer or issuer failed technically: nothing moved. */
const technicalCodes = new Set(["91", "96"]);

export const localAcqCurrencies = ["BRL", "IDR", "INR", "MXN", "TRY", "NGN", "USD", "EUR", "HUF"] as const;
/** Where localacq's exponent differs from ISO 4217. */
const channelExponentOverrides: Record<string, number> = { IDR: 0, HUF: 0 };

export type IsoFields = Record<string, string>;
export interface IsoMessage {
  mti: string;
  fields: IsoFields;
}

/** localacq's inquiry shape. */
export interface LaTransactionView {
  ref: string;
  rrn: string;
  type: "preauth" | "sale" | "completion" | "reversal" | "refund";
  status: "APPROVED" | "COMPLETED" | "REVERSED" | "DECLINED";
  amount: number;
  currency: string;
  response_code: string;
  captured_amount: number;
  refunded_amount: number;
  related: { ref: string; type: string; amount: number; response_code: string }[];
}

// ---- amounts and currencies ----

export interface ChannelCurrency {
  iso: Currency;
  exponent: number;
}

export function channelCurrency(code: string): ChannelCurrency | undefined {
  const iso = findCurrency(code);
  if (!iso || !(localAcqCurrencies as readonly string[]).includes(iso.code)) return undefined;
  return { iso, exponent: channelExponentOverrides[iso.code] ?? iso.exponent };
}

/** Our ISO minor units → localacq's DE4, or undefined when not exactly representable. */
export function toAmountField(amount: number, currency: ChannelCurrency): string | undefined {
  const scaled = rescaleAmount(amount, currency.iso.exponent, currency.exponent);
  if (scaled === undefined || scaled <= 0 || String(scaled).length > AMOUNT_DIGITS) return undefined;
  return String(scaled).padStart(AMOUNT_DIGITS, "0");
}

export function fromChannelAmount(amount: number, currency: ChannelCurrency): number | undefined {
  return rescaleAmount(amount, currency.exponent, currency.iso.exponent);
}

export function refusedLocally(reason: string): Extract<MoneyCallOutcome, { kind: "error" }> {
  return { kind: "error", decline: corridorDecline("currency_not_supported", reason), raw: null };
}

// ---- requests ----

export function createStanCounter(): () => string {
  let stan = 0;
  return () => {
    stan = stan >= MAX_STAN ? 1 : stan + 1;
    return String(stan).padStart(6, "0");
  };
}

export function toAuthorizationMessage(request: AuthorizeRequest, amount_field: string, currency: ChannelCurrency, stan: string): IsoMessage {
  const { card } = request;
  return {
    mti: request.capture ? "0200" : "0100",
    fields: {
      "2": card.number,
      "3": PROCESSING_PURCHASE,
      "4": amount_field,
      "11": stan,
      "14": `${String(card.exp_year % 100).padStart(2, "0")}${String(card.exp_month).padStart(2, "0")}`,
      "48": request.reference,
      "49": currency.iso.numeric,
    },
  };
}

/** Completions, reversals and refunds point at the original by its RRN in DE90. */
export function toLinkedMessage(mti: string, input: { reference: string; original_rrn: string; stan: string; currency: ChannelCurrency; amount_field?: string; processing?: string }): IsoMessage {
  const fields: IsoFields = { "11": input.stan, "48": input.reference, "49": input.currency.iso.numeric, "90": input.original_rrn };
  if (input.amount_field !== undefined) fields["4"] = input.amount_field;
  if (input.processing !== undefined) fields["3"] = input.processing;
  return { mti, fields };
}

// ---- answers ----

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function parseIsoAnswer(body: string, expected_mti: string): IsoMessage | undefined {
  const json = parseJson(body);
  const fields = json?.fields as Record<string, unknown> | undefined;
  if (!json || json.mti !== expected_mti || typeof fields !== "object" || fields === null) return undefined;
  if (typeof fields["39"] !== "string" || !/^[0-9A-Z]{2}$/.test(fields["39"])) return undefined;
  if (fields["39"] === APPROVED && typeof fields["37"] !== "string") return undefined;
  return { mti: json.mti, fields: fields as IsoFields };
}

export function responseMti(request_mti: string): string {
  return `${request_mti.slice(0, 2)}${Number(request_mti[2]) + 1}${request_mti[3]}`;
}

type Answer = { kind: "approved"; message: IsoMessage } | Exclude<MoneyCallOutcome, { kind: "succeeded" }>;

/** Reads one exchange: approved, or the declined/error/unknown outcome. */
export function readAnswer(result: TransportResult, request: IsoMessage): Answer {
  if (result.kind === "not_sent") return { kind: "error", decline: corridorDecline("channel_unavailable", result.reason), raw: null };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const message = parseIsoAnswer(result.body, responseMti(request.mti));
  if (!message) return { kind: "unknown", reason: `malformed localacq answer (HTTP ${result.status})` };
  const code = message.fields["39"];
  // A 5xx means "failed, nothing moved" only with a technical DE39; with anything else it is ambiguous.
  if (result.status >= 500 && !technicalCodes.has(code)) return { kind: "unknown", reason: `localacq answered HTTP ${result.status} with DE39 ${code}` };
  if (code === APPROVED) return { kind: "approved", message };
  const decline = normalizeDecline(CHANNEL, code, undefined, code);
  return technicalCodes.has(code) ? { kind: "error", decline, raw: message } : { kind: "declined", decline, raw: message };
}

export function authorizeOutcome(answer: Answer, captured: boolean): AuthorizeOutcome {
  if (answer.kind !== "approved") return answer;
  return { kind: "approved", channel_reference: answer.message.fields["37"], captured, network_response_code: APPROVED, raw: answer.message };
}

export function moneyOutcome(answer: Answer): MoneyCallOutcome {
  if (answer.kind !== "approved") return answer;
  return { kind: "succeeded", channel_reference: answer.message.fields["37"], network_response_code: APPROVED, raw: answer.message };
}

// ---- inquiry ----

const transactionTypes = ["preauth", "sale", "completion", "reversal", "refund"] as const;
const transactionStatuses = ["APPROVED", "COMPLETED", "REVERSED", "DECLINED"] as const;

function parseTransaction(json: Record<string, unknown> | undefined): LaTransactionView | undefined {
  const view = json?.transaction as Record<string, unknown> | undefined;
  if (typeof view !== "object" || view === null) return undefined;
  const type = transactionTypes.find((candidate) => candidate === view.type);
  const status = transactionStatuses.find((candidate) => candidate === view.status);
  const counts = [view.amount, view.captured_amount, view.refunded_amount].every((value) => Number.isSafeInteger(value));
  if (!type || !status || !counts || typeof view.rrn !== "string" || typeof view.currency !== "string" || !Array.isArray(view.related)) return undefined;
  return { ...(view as unknown as LaTransactionView), type, status };
}

const recordStatus: Record<LaTransactionView["status"], Extract<ChannelRecord, { found: true }>["status"]> = {
  APPROVED: "authorized",
  COMPLETED: "captured",
  REVERSED: "voided",
  DECLINED: "declined",
};

export function inquiryOutcome(result: TransportResult, fallback_currency: string): ChannelRecord | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  if (result.status === 404) return { found: false };
  const view = result.status === 200 ? parseTransaction(parseJson(result.body)) : undefined;
  if (!view) return { unreachable: true, reason: `localacq inquiry answered HTTP ${result.status} unreadably` };
  if (view.type !== "preauth" && view.type !== "sale") return { unreachable: true, reason: `reference names a ${view.type} message, not an authorization` };
  const currency = channelCurrency(currencyByNumeric(view.currency)?.code ?? fallback_currency.toUpperCase());
  if (!currency) return { unreachable: true, reason: `localacq recorded an unknown currency ${view.currency}` };
  return toChannelRecord(view, currency);
}

function toChannelRecord(view: LaTransactionView, currency: ChannelCurrency): ChannelRecord {
  const iso = (amount: number) => fromChannelAmount(amount, currency) ?? 0;
  const approved = view.status !== "DECLINED";
  return {
    found: true,
    channel_reference: view.rrn,
    status: recordStatus[view.status],
    authorized_amount: approved ? iso(view.amount) : 0,
    captured_amount: iso(view.captured_amount),
    refunded_amount: iso(view.refunded_amount),
    refunds: view.related
      .filter((related) => related.type === "refund")
      .map((related) => ({ reference: related.ref, amount: iso(related.amount), status: related.response_code === APPROVED ? "succeeded" : "declined" })),
    ...(approved ? {} : { decline: normalizeDecline(CHANNEL, view.response_code, undefined, view.response_code) }),
  };
}
