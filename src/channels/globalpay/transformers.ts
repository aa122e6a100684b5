// globalpay's wire format and the conversions between it and the connector contract.
// globalpay counts amounts in ISO 4217 minor units with alphabetic currency codes.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { AuthorizeOutcome, AuthorizeRequest, ChannelDispute, ChannelNotification, ChannelRecord, DisputeLookup, EvidenceSubmission, MoneyCallOutcome } from "../contract.ts";
import { corridorDecline, normalizeDecline, type UnifiedDecline } from "../declines.ts";
import type { TransportResult } from "../transport.ts";

export const CHANNEL = "globalpay";
export const SIGNATURE_HEADER = "gp-signature";
export const SIGNATURE_TOLERANCE_SECONDS = 300;
/** Technical error codes globalpay answers with a 5xx: it failed, nothing moved. */
const technicalCodes = new Set(["PROCESSING_ERROR", "ISSUER_UNAVAILABLE"]);

// ---- wire types ----

export interface GpAmount {
  value: number;
  currency: string;
}

export interface GpAuthorizationBody {
  merchant_reference: string;
  amount: GpAmount;
  payment_source: { card: { pan: string; expiry: string; security_code?: string } };
  auto_capture: boolean;
  return_url: string;
}

export interface GpOperationBody {
  merchant_reference: string;
  amount?: GpAmount;
}

const authorizationStatuses = ["CHALLENGE_REQUIRED", "AUTHORISED", "CAPTURED", "CANCELLED", "REFUSED", "ERROR"] as const;
export type GpStatus = (typeof authorizationStatuses)[number];
const operationStatuses = ["SUCCEEDED", "REFUSED"] as const;
export type GpOperationStatus = (typeof operationStatuses)[number];

export interface GpRefusal {
  code: string;
  reason?: string;
  network_code?: string;
}

export interface GpOperation {
  id: string;
  merchant_reference: string;
  status: GpOperationStatus;
  amount: GpAmount;
  refusal?: GpRefusal;
}

export interface GpAuthorization {
  id: string;
  merchant_reference: string;
  status: GpStatus;
  amount: GpAmount;
  authorised_value: number;
  captured_value: number;
  refunded_value: number;
  refusal?: GpRefusal;
  error?: GpRefusal;
  challenge?: { url: string };
  refunds: GpOperation[];
}

// ---- requests ----

export function toAuthorizationBody(request: AuthorizeRequest): GpAuthorizationBody {
  const { card } = request;
  const expiry = `${String(card.exp_month).padStart(2, "0")}/${String(card.exp_year % 100).padStart(2, "0")}`;
  return {
    merchant_reference: request.reference,
    amount: { value: request.amount, currency: request.currency.toUpperCase() },
    payment_source: { card: { pan: card.number, expiry, ...(card.cvc ? { security_code: card.cvc } : {}) } },
    auto_capture: request.capture,
    return_url: request.return_url,
  };
}

// ---- parsing (every field checked; anything else is "malformed") ----

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

export function parseJson(body: string): Json | undefined {
  try {
    return asObject(JSON.parse(body));
  } catch {
    return undefined;
  }
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function parseAmount(value: unknown): GpAmount | undefined {
  const json = asObject(value);
  return json && isCount(json.value) && typeof json.currency === "string" ? { value: json.value, currency: json.currency } : undefined;
}

function parseRefusal(value: unknown): GpRefusal | undefined {
  const json = asObject(value);
  if (!json || typeof json.code !== "string") return undefined;
  return {
    code: json.code,
    reason: typeof json.reason === "string" ? json.reason : typeof json.message === "string" ? json.message : undefined,
    network_code: typeof json.network_code === "string" ? json.network_code : undefined,
  };
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown): T | undefined {
  return allowed.find((candidate) => candidate === value);
}

export function parseOperation(json: Json | undefined): GpOperation | undefined {
  const status = oneOf(operationStatuses, json?.status);
  const amount = parseAmount(json?.amount);
  if (!json || !status || !amount || typeof json.id !== "string" || typeof json.merchant_reference !== "string") return undefined;
  return { id: json.id, merchant_reference: json.merchant_reference, status, amount, refusal: parseRefusal(json.refusal) };
}

export function parseAuthorization(json: Json | undefined): GpAuthorization | undefined {
  const status = oneOf(authorizationStatuses, json?.status);
  const amount = parseAmount(json?.amount);
  if (!json || !status || !amount || typeof json.id !== "string" || typeof json.merchant_reference !== "string") return undefined;
  if (!isCount(json.authorised_value) || !isCount(json.captured_value) || !isCount(json.refunded_value) || !Array.isArray(json.refunds)) return undefined;
  const refunds = json.refunds.map((refund) => parseOperation(asObject(refund)));
  if (refunds.some((refund) => refund === undefined)) return undefined;
  const challengeUrl = asObject(json.challenge)?.url;
  return {
    id: json.id, merchant_reference: json.merchant_reference, status, amount,
    authorised_value: json.authorised_value, captured_value: json.captured_value, refunded_value: json.refunded_value,
    refusal: parseRefusal(json.refusal), error: parseRefusal(json.error),
    challenge: typeof challengeUrl === "string" ? { url: challengeUrl } : undefined,
    refunds: refunds as GpOperation[],
  };
}

// ---- answers → contract ----

function declineOf(refusal: GpRefusal | undefined, fallback_code: string): UnifiedDecline {
  return normalizeDecline(CHANNEL, refusal?.code ?? fallback_code, refusal?.reason, refusal?.network_code);
}

type Failure = Extract<MoneyCallOutcome, { kind: "declined" | "error" | "unknown" }>;

/** Everything that is not a 2xx/422 business answer: transport failures and error bodies. */
export function failureOf(result: TransportResult, json: Json | undefined): Failure | undefined {
  if (result.kind === "not_sent") return { kind: "error", decline: corridorDecline("channel_unavailable", result.reason), raw: null };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const error = parseRefusal(json?.error);
  if (result.status >= 500) {
    return error && technicalCodes.has(error.code)
      ? { kind: "error", decline: declineOf(error, "PROCESSING_ERROR"), raw: json }
      : { kind: "unknown", reason: `globalpay answered HTTP ${result.status} without a recognised technical error` };
  }
  if (result.status >= 400 && error) return { kind: "declined", decline: declineOf(error, "UNKNOWN"), raw: json };
  return undefined;
}

/** A 5xx means "failed, nothing moved" only with a recognised technical error; with anything else it is ambiguous. */
function ambiguousServerError(result: TransportResult): Extract<MoneyCallOutcome, { kind: "unknown" }> | undefined {
  return result.kind === "answered" && result.status >= 500
    ? { kind: "unknown", reason: `globalpay answered HTTP ${result.status} without a recognised technical error` }
    : undefined;
}

export function authorizeOutcome(result: TransportResult): AuthorizeOutcome {
  const json = result.kind === "answered" ? parseJson(result.body) : undefined;
  const authorization = parseAuthorization(json);
  if (!authorization) return failureOf(result, json) ?? { kind: "unknown", reason: "malformed globalpay authorization answer" };
  if (authorization.status !== "ERROR") return ambiguousServerError(result) ?? authorizationOutcome(authorization, json);
  return authorizationOutcome(authorization, json);
}

function authorizationOutcome(authorization: GpAuthorization, raw: unknown): AuthorizeOutcome {
  const channel_reference = authorization.id;
  switch (authorization.status) {
    case "AUTHORISED":
      return { kind: "approved", channel_reference, captured: false, raw };
    case "CAPTURED":
      return { kind: "approved", channel_reference, captured: true, raw };
    case "CHALLENGE_REQUIRED":
      return authorization.challenge
        ? { kind: "challenge", channel_reference, redirect_url: authorization.challenge.url, raw }
        : { kind: "unknown", reason: "globalpay asked for a challenge without a challenge URL" };
    case "REFUSED":
      return { kind: "declined", decline: declineOf(authorization.refusal, "UNKNOWN"), raw };
    case "ERROR":
      return { kind: "error", decline: declineOf(authorization.error, "PROCESSING_ERROR"), raw };
    case "CANCELLED":
      return { kind: "unknown", reason: "globalpay holds this reference as already cancelled; inquire" };
  }
}

export function operationOutcome(result: TransportResult): MoneyCallOutcome {
  const json = result.kind === "answered" ? parseJson(result.body) : undefined;
  const operation = parseOperation(json);
  if (!operation) return failureOf(result, json) ?? { kind: "unknown", reason: "malformed globalpay operation answer" };
  const ambiguous = ambiguousServerError(result);
  if (ambiguous) return ambiguous;
  switch (operation.status) {
    case "SUCCEEDED":
      return { kind: "succeeded", channel_reference: operation.id, raw: json };
    case "REFUSED":
      return { kind: "declined", decline: declineOf(operation.refusal, "UNKNOWN"), raw: json };
  }
}

const recordStatus: Record<GpStatus, Extract<ChannelRecord, { found: true }>["status"]> = {
  CHALLENGE_REQUIRED: "challenge_pending",
  AUTHORISED: "authorized",
  CAPTURED: "captured",
  CANCELLED: "voided",
  REFUSED: "declined",
  ERROR: "failed",
};

export function toChannelRecord(authorization: GpAuthorization): ChannelRecord {
  const decline = authorization.refusal ?? authorization.error;
  return {
    found: true,
    channel_reference: authorization.id,
    status: recordStatus[authorization.status],
    authorized_amount: authorization.authorised_value,
    captured_amount: authorization.captured_value,
    refunded_amount: authorization.refunded_value,
    refunds: authorization.refunds.map((refund) => ({
      reference: refund.merchant_reference,
      amount: refund.amount.value,
      status: refund.status === "SUCCEEDED" ? "succeeded" : "declined",
    })),
    ...(decline ? { decline: declineOf(decline, "UNKNOWN") } : {}),
    ...(authorization.challenge ? { redirect_url: authorization.challenge.url } : {}),
  };
}

export function inquiryOutcome(result: TransportResult): ChannelRecord | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  if (result.status === 404) return { found: false };
  const authorization = result.status === 200 ? parseAuthorization(parseJson(result.body)) : undefined;
  return authorization ? toChannelRecord(authorization) : { unreachable: true, reason: `globalpay inquiry answered HTTP ${result.status} unreadably` };
}

// ---- notifications ----

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** Returns why the signature is not acceptable, or undefined when it is. */
export function signatureProblem(header: string | undefined, raw_body: string, secret: string, now_seconds: number): string | undefined {
  if (!header) return "missing GP-Signature header";
  const parts = new Map(header.split(",").map((part) => part.trim().split("=", 2) as [string, string]));
  const timestamp = Number(parts.get("t"));
  const given = parts.get("v1") ?? "";
  if (!Number.isSafeInteger(timestamp) || !/^[0-9a-f]{64}$/i.test(given)) return "malformed GP-Signature header";
  if (Math.abs(now_seconds - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return "signature timestamp outside tolerance";
  const expected = createHmac("sha256", secret).update(`${timestamp}.${raw_body}`).digest();
  return timingSafeEqual(expected, Buffer.from(given, "hex")) ? undefined : "signature mismatch";
}

export function parseGlobalPayNotification(
  headers: Record<string, string | string[] | undefined>,
  raw_body: string,
  secret: string,
  now_seconds: number = Math.floor(Date.now() / 1000),
): ChannelNotification {
  const problem = signatureProblem(headerValue(headers, SIGNATURE_HEADER), raw_body, secret, now_seconds);
  if (problem) return { verified: false, reason: problem };
  const event = parseJson(raw_body);
  if (event?.type === "dispute.opened" || event?.type === "dispute.updated") {
    const dispute = parseDispute(asObject(event.data));
    return dispute ? { verified: true, reference: dispute.reference, type: "dispute", dispute: dispute.dispute } : { verified: false, reason: "malformed globalpay dispute event" };
  }
  const authorization = event?.type === "authorization.updated" ? parseAuthorization(asObject(event.data)) : undefined;
  if (!authorization) return { verified: false, reason: "unrecognised globalpay event" };
  return notificationOf(authorization);
}

function notificationOf(authorization: GpAuthorization): ChannelNotification {
  const reference = authorization.merchant_reference;
  switch (authorization.status) {
    case "AUTHORISED":
      return { verified: true, reference, type: "authorization.approved", captured: false };
    case "CAPTURED":
      return { verified: true, reference, type: "authorization.approved", captured: true };
    case "REFUSED":
      return { verified: true, reference, type: "authorization.declined", captured: false, decline: declineOf(authorization.refusal, "UNKNOWN") };
    case "ERROR":
      return { verified: true, reference, type: "authorization.failed", captured: false, decline: declineOf(authorization.error, "PROCESSING_ERROR") };
    case "CHALLENGE_REQUIRED":
    case "CANCELLED":
      return { verified: false, reason: `globalpay event carries no final authorization outcome (${authorization.status})` };
  }
}

const disputeStages = { CHARGEBACK: "chargeback", PRE_ARBITRATION: "pre_arbitration", ARBITRATION: "arbitration" } as const;
const disputeStatuses = { OPEN: "open", WON: "won", LOST: "lost" } as const;

/** A globalpay dispute (`data` of dispute.opened / dispute.updated) → the contract's dispute. */
export function parseDispute(json: Json | undefined): { reference: string; dispute: ChannelDispute } | undefined {
  const amount = parseAmount(json?.amount);
  const stage = oneOf(Object.keys(disputeStages) as (keyof typeof disputeStages)[], json?.stage);
  const status = oneOf(Object.keys(disputeStatuses) as (keyof typeof disputeStatuses)[], json?.status);
  if (!json || !amount || amount.value <= 0 || !stage || !status || !isCount(json.sequence)) return undefined;
  if (typeof json.id !== "string" || typeof json.merchant_reference !== "string" || typeof json.reason_code !== "string" || typeof json.network !== "string") return undefined;
  return {
    reference: json.merchant_reference,
    dispute: {
      id: json.id, reason_code: json.reason_code, network: json.network.toLowerCase(), amount: amount.value, currency: amount.currency.toUpperCase(),
      stage: disputeStages[stage], status: disputeStatuses[status], sequence: json.sequence,
      evidence_submitted: typeof json.evidence_submitted_at === "string",
    },
  };
}

export function disputeLookupOutcome(result: TransportResult): DisputeLookup {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  if (result.status === 404) return { found: false };
  const parsed = result.status === 200 ? parseDispute(parseJson(result.body)) : undefined;
  return parsed ? { found: true, ...parsed } : { unreachable: true, reason: `globalpay dispute inquiry answered HTTP ${result.status} unreadably` };
}

export function evidenceOutcome(result: TransportResult): EvidenceSubmission {
  if (result.kind === "not_sent") return { kind: "unknown", reason: result.reason };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const body = parseJson(result.body);
  const parsed = result.status === 200 ? parseDispute(body) : undefined;
  if (parsed) return { kind: "accepted", dispute: parsed.dispute };
  if (result.status >= 400 && result.status < 500) {
    const error = asObject(body?.error);
    return { kind: "rejected", reason: typeof error?.message === "string" ? error.message.slice(0, 200) : `HTTP ${result.status}` };
  }
  return { kind: "unknown", reason: `globalpay evidence answered HTTP ${result.status}` };
}
