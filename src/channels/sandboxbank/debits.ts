// sandboxbank direct debits (SEPA Core/B2B, ACH): submitting a debit, inquiring it, reading its
// notifications — the HTTP mechanics and the bank's wire shapes for the debit flow, converted to
// and from the debit contract. Nothing else knows this wire format (the bank side is
// src/sandbox/bank/debits.ts).
import { createHmac, timingSafeEqual } from "node:crypto";
import type { DebitConnector, DebitNotification, DebitRecord, SubmitDebitOutcome, SubmitDebitRequest } from "../contract.ts";
import type { Transport, TransportResult } from "../transport.ts";
import { CHANNEL, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECONDS } from "./transformers.ts";
import { parseJsonObject } from "../json.ts";

interface SbDebit {
  debit_id: string;
  merchant_ref: string;
  amount: number;
  currency: string;
  status: "pending" | "settled" | "returned";
  settled_at: string | null;
  return: { return_id: string; reason_code: string; returned_at: string } | null;
}

/** Every status of the bank, mapped (no catch-all). */
const sbStatuses: Record<SbDebit["status"], Extract<DebitRecord, { found: true }>["status"]> = {
  pending: "pending",
  settled: "settled",
  returned: "returned",
};

export function toDebitBody(request: SubmitDebitRequest) {
  return {
    merchant_ref: request.reference,
    scheme: request.scheme,
    sequence_type: request.sequence_type ?? null,
    presentment: request.presentment,
    amount: request.amount,
    currency: request.currency,
    mandate: {
      reference: request.mandate.reference,
      signed_on: new Date(request.mandate.signed_at_ms).toISOString().slice(0, 10),
      creditor_id: request.mandate.creditor_id ?? null,
    },
    debtor: {
      name: request.account.account_holder_name,
      iban: request.account.iban ?? null,
      bic: request.account.bic ?? null,
      routing_number: request.account.routing_number ?? null,
      account_number: request.account.account_number ?? null,
      account_type: request.account.account_type ?? null,
    },
  };
}


function isDebit(value: unknown): value is SbDebit {
  const d = value as SbDebit | undefined;
  const returned = d?.return;
  return !!d && typeof d.debit_id === "string" && typeof d.merchant_ref === "string" && Number.isSafeInteger(d.amount) &&
    typeof d.currency === "string" && typeof d.status === "string" && Object.hasOwn(sbStatuses, d.status) &&
    (d.settled_at === null || typeof d.settled_at === "string") &&
    (returned === null || (typeof returned?.return_id === "string" && typeof returned.reason_code === "string" && typeof returned.returned_at === "string"));
}

export function submitOutcome(result: TransportResult): SubmitDebitOutcome {
  if (result.kind === "not_sent") return { kind: "error", reason: result.reason };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const body = parseJsonObject(result.body);
  if ((result.status === 200 || result.status === 201) && isDebit(body?.debit)) return { kind: "accepted", channel_reference: body.debit.debit_id };
  if (result.status >= 400 && result.status < 500) return { kind: "error", reason: `${result.status} ${body?.error ?? ""} ${body?.message ?? ""}`.trim() };
  return { kind: "unknown", reason: `unexpected answer ${result.status}` };
}

export function debitInquiryOutcome(result: TransportResult): DebitRecord | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  if (result.status === 404) return { found: false };
  const body = parseJsonObject(result.body);
  if (result.status !== 200 || !isDebit(body?.debit)) return { unreachable: true, reason: `unexpected answer ${result.status}` };
  const debit = body.debit;
  return {
    found: true,
    channel_reference: debit.debit_id,
    amount: debit.amount,
    currency: debit.currency,
    status: sbStatuses[debit.status],
    ...(debit.settled_at ? { settled_at_ms: Date.parse(debit.settled_at) } : {}),
    ...(debit.return ? { return: { id: debit.return.return_id, reason_code: debit.return.reason_code, returned_at_ms: Date.parse(debit.return.returned_at) } } : {}),
  };
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Debit notices are `{event: "debit.<...>", merchant_ref, ...}`, signed like every notice of the bank. */
export function parseDebitNotification(
  headers: Record<string, string | string[] | undefined>, raw_body: string, secret: string, now_seconds = Math.floor(Date.now() / 1000),
): DebitNotification {
  const body = parseJsonObject(raw_body);
  if (typeof body?.event !== "string" || !body.event.startsWith("debit.")) return { kind: "not_a_debit" };
  const header = headerValue(headers, SIGNATURE_HEADER);
  const match = header?.match(/^ts=(\d{1,12});hmac=([A-Za-z0-9+/=]{1,100})$/);
  if (!match) return { kind: "rejected", reason: "missing or malformed signature" };
  const ts = Number(match[1]);
  if (Math.abs(now_seconds - ts) > SIGNATURE_TOLERANCE_SECONDS) return { kind: "rejected", reason: "signature timestamp outside tolerance" };
  const expected = createHmac("sha256", secret).update(`${ts}|${raw_body}`).digest();
  const given = Buffer.from(match[2], "base64");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { kind: "rejected", reason: "signature mismatch" };
  if (typeof body.merchant_ref !== "string" || body.merchant_ref.length === 0) return { kind: "rejected", reason: "unexpected notification body" };
  return { kind: "debit", reference: body.merchant_ref };
}

export interface SandboxBankDebitOptions {
  transport: Transport;
  timeout_ms: number;
  notification_secret: string;
}

export function createSandboxBankDebitConnector(options: SandboxBankDebitOptions): DebitConnector {
  const { transport, timeout_ms, notification_secret } = options;
  return {
    name: CHANNEL,
    async submitDebit(request) {
      return submitOutcome(await transport.request({ method: "POST", path: "/debits", body: JSON.stringify(toDebitBody(request)), timeout_ms }));
    },
    async inquireDebit(reference) {
      return debitInquiryOutcome(await transport.request({ method: "GET", path: `/debits/${encodeURIComponent(reference)}`, timeout_ms }));
    },
    parseDebitNotification(headers, raw_body) {
      return parseDebitNotification(headers, raw_body, notification_secret);
    },
  };
}
