// sandboxbank wire shapes and their conversions to and from the collection contract.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { CollectionNotification, CollectionRecord, OpenCollectionOutcome, OpenCollectionRequest } from "../contract.ts";
import type { TransportResult } from "../transport.ts";
import { parseJsonObject } from "../json.ts";

export const CHANNEL = "sandboxbank";
export const SIGNATURE_HEADER = "x-sbank-signature";
export const SIGNATURE_TOLERANCE_SECONDS = 300;

interface SbCollection {
  collection_id: string;
  merchant_ref: string;
  /** null: an open amount. */
  amount: number | null;
  currency: string;
  /** null: never expires. */
  expires_at: string | null;
  transfers: { transfer_id: string; amount: number; received_at: string; sender?: { name: string; account: string; bank: string | null } }[];
}

export function toCollectionBody(request: OpenCollectionRequest) {
  return {
    merchant_ref: request.reference, kind: request.kind, account: request.account, bank: request.bank,
    amount: request.amount, amount_type: request.amount === null ? "open" : "closed", usage: request.usage ?? "single_use", currency: request.currency,
    expires_at: request.expires_at_ms === null ? null : new Date(request.expires_at_ms).toISOString(),
  };
}


function isCollection(value: unknown): value is SbCollection {
  const c = value as SbCollection | undefined;
  return !!c && typeof c.collection_id === "string" && typeof c.merchant_ref === "string" && (c.amount === null || Number.isSafeInteger(c.amount)) &&
    typeof c.currency === "string" && (c.expires_at === null || typeof c.expires_at === "string") && Array.isArray(c.transfers) &&
    c.transfers.every((t) => typeof t?.transfer_id === "string" && Number.isSafeInteger(t.amount) && typeof t.received_at === "string");
}

export function openOutcome(result: TransportResult): OpenCollectionOutcome {
  if (result.kind === "not_sent") return { kind: "error", reason: result.reason };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const body = parseJsonObject(result.body);
  if ((result.status === 200 || result.status === 201) && isCollection(body?.collection)) return { kind: "opened", channel_reference: body.collection.collection_id };
  if (result.status >= 400 && result.status < 500) return { kind: "error", reason: `${result.status} ${body?.error ?? ""} ${body?.message ?? ""}`.trim() };
  return { kind: "unknown", reason: `unexpected answer ${result.status}` };
}

export function inquiryOutcome(result: TransportResult): CollectionRecord | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  if (result.status === 404) return { found: false };
  const body = parseJsonObject(result.body);
  if (result.status !== 200 || !isCollection(body?.collection)) return { unreachable: true, reason: `unexpected answer ${result.status}` };
  const collection = body.collection;
  return {
    found: true,
    channel_reference: collection.collection_id,
    amount: collection.amount,
    currency: collection.currency,
    expires_at_ms: collection.expires_at === null ? null : Date.parse(collection.expires_at),
    transfers: collection.transfers.map((t) => ({
      id: t.transfer_id, amount: t.amount, received_at_ms: Date.parse(t.received_at),
      sender: typeof t.sender?.name === "string" && typeof t.sender.account === "string"
        ? { name: t.sender.name, account: t.sender.account, bank: t.sender.bank ?? undefined } : undefined,
    })),
  };
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `ts=<unix>;hmac=<base64 HMAC-SHA256 of "<ts>|<body>">`, within ±5 minutes. */
export function parseSandboxBankNotification(
  headers: Record<string, string | string[] | undefined>, raw_body: string, secret: string, now_seconds = Math.floor(Date.now() / 1000),
): CollectionNotification {
  const header = headerValue(headers, SIGNATURE_HEADER);
  const match = header?.match(/^ts=(\d{1,12});hmac=([A-Za-z0-9+/=]{1,100})$/);
  if (!match) return { verified: false, reason: "missing or malformed signature" };
  const ts = Number(match[1]);
  if (Math.abs(now_seconds - ts) > SIGNATURE_TOLERANCE_SECONDS) return { verified: false, reason: "signature timestamp outside tolerance" };
  const expected = createHmac("sha256", secret).update(`${ts}|${raw_body}`).digest();
  const given = Buffer.from(match[2], "base64");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { verified: false, reason: "signature mismatch" };
  const body = parseJsonObject(raw_body);
  if (body?.event !== "transfer.received" || typeof body.merchant_ref !== "string" || typeof body.transfer_id !== "string") {
    return { verified: false, reason: "unexpected notification body" };
  }
  return { verified: true, reference: body.merchant_ref, transfer_id: body.transfer_id };
}
