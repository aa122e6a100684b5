// Card disputes: created from the channel's (signed) notifications, answered by the merchant with
// evidence. Each notice carries the dispute's whole state at the channel with a sequence number; an
// older or repeated notice changes nothing. The ledger follows the state: while a stage is open or
// lost, the disputed amount is debited from the merchant (merchant pending → channel receivable); a
// won stage credits it back. Only the difference to what is already debited is posted, under the
// dispute's row lock, so duplicates never double-post. The dispute fee is posted once, at creation
// (merchant pending → platform fees), and is not returned when the merchant wins.
import type { ChannelDispute, Connector } from "../channels/contract.ts";
import { invalid, notFound, ok, type Result } from "../errors.ts";
import { recordEvent, type EventType } from "../events/outbox.ts";
import { newId } from "../ids.ts";
import { postTransfer, type AccountRef, type LedgerResult } from "../ledger/ledger.ts";
import { findCurrency } from "../money/currency.ts";
import { toSafeNumber, type Queryable, type Tx } from "../store/db.ts";
import type { PaymentsContext } from "./context.ts";
import { lockPayment } from "./model.ts";
import { listPage, type PageRequest } from "../store/page.ts";

export type DisputeStage = "chargeback" | "representment" | "pre_arbitration" | "arbitration";
export type DisputeStatus = "needs_response" | "under_review" | "won" | "lost";

/** The dispute fee, in major units of the payment's currency (15.00). */
export const DISPUTE_FEE_MAJOR_UNITS = 15;
/** Who earns dispute fees in the ledger. */
export const PLATFORM_OWNER = "corridor";

/** Days the merchant has to respond, per scheme (DOMAIN.md). */
export const responseDays: Record<string, number> = { visa: 30, mastercard: 45, amex: 20, discover: 30 };
const defaultResponseDays = 30;
const dayMs = 86_400_000;

const reasons: Record<string, string> = {
  "10.4": "Other fraud: card-absent environment",
  "12.6": "Duplicate processing or paid by other means",
  "13.1": "Merchandise or services not received",
  "13.3": "Not as described or defective merchandise",
  "13.6": "Credit not processed",
  "4837": "No cardholder authorization",
  "4853": "Cardholder dispute",
  "4863": "Cardholder does not recognize transaction",
  "4834": "Point-of-interaction error",
  "4808": "Authorization-related chargeback",
};

export const evidenceFields = [
  "product_description", "customer_name", "customer_email_address", "customer_communication", "billing_address",
  "shipping_address", "shipping_carrier", "shipping_tracking_number", "shipping_date", "service_date",
  "refund_policy", "cancellation_policy", "duplicate_charge_explanation", "uncategorized_text",
] as const;
export type Evidence = Partial<Record<(typeof evidenceFields)[number], string>>;

export interface DisputeRecord {
  id: string;
  merchant_id: string;
  payment_id: string;
  attempt_id: string;
  channel: string;
  channel_dispute_id: string;
  amount: number;
  currency: string;
  reason_code: string;
  network: string;
  stage: DisputeStage;
  status: DisputeStatus;
  evidence_due_ms: number;
  evidence: Evidence | null;
  fee: number;
  amount_debited: number;
  channel_sequence: number;
  created_ms: number;
}

export function disputeFee(currency: string): number {
  return DISPUTE_FEE_MAJOR_UNITS * 10 ** (findCurrency(currency)?.exponent ?? 2);
}

export function evidenceDueMs(network: string, from_ms: number): number {
  return from_ms + (responseDays[network] ?? defaultResponseDays) * dayMs;
}

function disputeFromRow(row: Record<string, unknown>): DisputeRecord {
  return {
    id: row.id as string,
    merchant_id: row.merchant_id as string,
    payment_id: row.payment_id as string,
    attempt_id: row.attempt_id as string,
    channel: row.channel as string,
    channel_dispute_id: row.channel_dispute_id as string,
    amount: toSafeNumber(row.amount),
    currency: row.currency as string,
    reason_code: row.reason_code as string,
    network: row.network as string,
    stage: row.stage as DisputeStage,
    status: row.status as DisputeStatus,
    evidence_due_ms: toSafeNumber(row.evidence_due_ms),
    evidence: typeof row.evidence === "string" && row.evidence ? (JSON.parse(row.evidence) as Evidence) : null,
    fee: toSafeNumber(row.fee),
    amount_debited: toSafeNumber(row.amount_debited),
    channel_sequence: toSafeNumber(row.channel_sequence),
    created_ms: toSafeNumber(row.created_ms),
  };
}

export function disputeView(dispute: DisputeRecord) {
  return {
    id: dispute.id,
    object: "dispute",
    payment: dispute.payment_id,
    amount: dispute.amount,
    currency: dispute.currency.toLowerCase(),
    reason_code: dispute.reason_code,
    reason: reasons[dispute.reason_code] ?? "Other",
    network: dispute.network,
    stage: dispute.stage,
    status: dispute.status,
    evidence_due_by: Math.floor(dispute.evidence_due_ms / 1000),
    evidence: dispute.evidence,
    fee: dispute.fee,
    livemode: false,
    created: Math.floor(dispute.created_ms / 1000),
  };
}

export type DisputeView = ReturnType<typeof disputeView>;

export async function loadDispute(db: Queryable, merchant_id: string, id: string): Promise<DisputeRecord | undefined> {
  const row = await db.get<Record<string, unknown>>("SELECT * FROM disputes WHERE id = ? AND merchant_id = ?", [id, merchant_id]);
  return row ? disputeFromRow(row) : undefined;
}

export async function listDisputes(db: Queryable, merchant_id: string, page: PageRequest & { payment?: string }) {
  const { rows, has_more } = await listPage(db, "disputes", { merchant_id, payment_id: page.payment }, page);
  return { data: rows.map((row) => disputeView(disputeFromRow(row))), has_more };
}

// ---- ledger ----

const merchantPending = (merchant_id: string, currency: string): AccountRef => ({ owner: merchant_id, currency, purpose: "merchant_pending" });
const channelReceivable = (channel: string, currency: string): AccountRef => ({ owner: channel, currency, purpose: "channel_receivable" });

function expectOk(result: LedgerResult, what: string): void {
  if (!result.ok) throw new Error(`ledger invariant broken while posting ${what}: ${result.error}`);
}

/** Posts the difference between what is debited for the dispute and `target`. */
async function moveDisputedAmount(tx: Tx, dispute: DisputeRecord, target: number): Promise<number> {
  const delta = target - dispute.amount_debited;
  const currency = dispute.currency;
  if (delta > 0) {
    expectOk(await postTransfer(tx, {
      debit: merchantPending(dispute.merchant_id, currency), credit: channelReceivable(dispute.channel, currency),
      amount: BigInt(delta), code: "dispute", ref: dispute.id,
    }), "dispute");
  } else if (delta < 0) {
    expectOk(await postTransfer(tx, {
      debit: channelReceivable(dispute.channel, currency), credit: merchantPending(dispute.merchant_id, currency),
      amount: BigInt(-delta), code: "dispute_reversal", ref: dispute.id,
    }), "dispute reversal");
  }
  dispute.amount_debited = target;
  return delta;
}

async function saveDispute(tx: Tx, dispute: DisputeRecord): Promise<void> {
  await tx.run(
    `UPDATE disputes SET stage = ?, status = ?, evidence_due_ms = ?, evidence = ?, amount_debited = ?, channel_sequence = ?, updated_ms = ? WHERE id = ?`,
    [dispute.stage, dispute.status, dispute.evidence_due_ms, dispute.evidence ? JSON.stringify(dispute.evidence) : null,
      dispute.amount_debited, dispute.channel_sequence, Date.now(), dispute.id],
  );
}

async function emit(tx: Tx, dispute: DisputeRecord, type: EventType): Promise<void> {
  await recordEvent(tx, { merchant_id: dispute.merchant_id, type, object_id: dispute.id, object: disputeView(dispute) });
}

const closed = (status: DisputeStatus) => status === "won" || status === "lost";

/** The state a channel notice means for us. A decision on the chargeback applies to the merchant's
 *  representment when the merchant responded. */
function stateOf(notice: ChannelDispute, current: DisputeStage | undefined): { stage: DisputeStage; status: DisputeStatus } {
  const represented = notice.stage === "chargeback" && (current === "representment" || notice.evidence_submitted === true);
  const stage: DisputeStage = represented ? "representment" : notice.stage;
  if (notice.status === "won") return { stage, status: "won" };
  if (notice.status === "lost") return { stage, status: "lost" };
  // The channel says whether it holds the merchant's evidence; without that, a stage we answered stays under review.
  if (notice.evidence_submitted !== undefined) return { stage, status: notice.evidence_submitted ? "under_review" : "needs_response" };
  return { stage, status: current === notice.stage || (current === "representment" && notice.stage === "chargeback") ? "under_review" : "needs_response" };
}

/**
 * A verified dispute notice prompts a look-up at the channel when it has a dispute desk: its record,
 * not the notice, is applied. "retry_later": the channel could not be asked (the notice is not acknowledged).
 */
export async function handleDisputeNotice(ctx: PaymentsContext, connector: Connector, reference: string, notice: ChannelDispute): Promise<"done" | "retry_later"> {
  if (!connector.disputes) {
    await applyDisputeNotice(ctx, connector.name, reference, notice);
    return "done";
  }
  const lookup = await connector.disputes.inquire(notice.id);
  if ("unreachable" in lookup) return "retry_later";
  if (lookup.found) await applyDisputeNotice(ctx, connector.name, lookup.reference, lookup.dispute);
  return "done";
}

/**
 * Applies a verified dispute notice about the attempt `attempt_id` of `channel`. Returns false when
 * no captured attempt of ours matches (nothing to apply).
 */
export async function applyDisputeNotice(ctx: PaymentsContext, channel: string, attempt_id: string, notice: ChannelDispute): Promise<boolean> {
  const attempt = await ctx.db.get<{ payment_id: string; merchant_id: string }>(
    "SELECT payment_id, merchant_id FROM attempts WHERE id = ? AND channel = ? AND status = 'captured'",
    [attempt_id, channel],
  );
  if (!attempt) return false;
  return ctx.db.transaction(async (tx) => {
    // The payment's row lock serializes notices about its disputes (duplicates delivered at once).
    const payment = await lockPayment(tx, attempt.payment_id);
    if (notice.currency !== payment.currency.toUpperCase() || notice.amount > payment.amount_received) return false;
    const row = await tx.get<Record<string, unknown>>(`SELECT * FROM disputes WHERE channel = ? AND channel_dispute_id = ? ${tx.forUpdate}`, [channel, notice.id]);
    const now = Date.now();
    let dispute: DisputeRecord;
    let delta: number;
    if (!row) {
      const state = stateOf(notice, undefined);
      dispute = {
        id: newId("dp"), merchant_id: attempt.merchant_id, payment_id: payment.id, attempt_id, channel, channel_dispute_id: notice.id,
        amount: notice.amount, currency: payment.currency, reason_code: notice.reason_code, network: notice.network,
        stage: state.stage, status: state.status, evidence_due_ms: evidenceDueMs(notice.network, now), evidence: null,
        fee: disputeFee(payment.currency), amount_debited: 0, channel_sequence: notice.sequence, created_ms: now,
      };
      await tx.run(
        `INSERT INTO disputes (id, merchant_id, payment_id, attempt_id, channel, channel_dispute_id, amount, currency, reason_code, network,
           stage, status, evidence_due_ms, evidence, fee, amount_debited, channel_sequence, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 0, ?, ?, ?)`,
        [dispute.id, dispute.merchant_id, dispute.payment_id, attempt_id, channel, notice.id, dispute.amount, dispute.currency,
          dispute.reason_code, dispute.network, dispute.stage, dispute.status, dispute.evidence_due_ms, dispute.fee, notice.sequence, now, now],
      );
      expectOk(await postTransfer(tx, {
        debit: merchantPending(dispute.merchant_id, dispute.currency),
        credit: { owner: PLATFORM_OWNER, currency: dispute.currency, purpose: "platform_fees" },
        amount: BigInt(dispute.fee), code: "dispute_fee", ref: dispute.id,
      }), "dispute fee");
      delta = await moveDisputedAmount(tx, dispute, dispute.status === "won" ? 0 : dispute.amount);
      await saveDispute(tx, dispute);
      await emit(tx, dispute, "dispute.created");
      if (closed(dispute.status)) await emit(tx, dispute, "dispute.closed");
    } else {
      dispute = disputeFromRow(row);
      if (notice.sequence <= dispute.channel_sequence) return true; // repeated or older notice
      const previous_stage = dispute.stage;
      const state = stateOf(notice, dispute.stage);
      dispute.stage = state.stage;
      dispute.status = state.status;
      dispute.channel_sequence = notice.sequence;
      // An escalation opens a new stage: the merchant responds again, within the scheme's time.
      if (state.status === "needs_response" && state.stage !== previous_stage) {
        dispute.evidence_due_ms = evidenceDueMs(dispute.network, now);
        dispute.evidence = null;
      }
      delta = await moveDisputedAmount(tx, dispute, dispute.status === "won" ? 0 : dispute.amount);
      await saveDispute(tx, dispute);
      await emit(tx, dispute, closed(dispute.status) ? "dispute.closed" : "dispute.updated");
    }
    if (delta !== 0) await tx.run("UPDATE payments SET amount_disputed = amount_disputed + ? WHERE id = ?", [delta, payment.id]);
    return true;
  });
}

/**
 * The merchant's response. Without `submit` the evidence is saved. With it, the evidence is saved
 * first, then sent to the channel's dispute desk, and the channel's record (under review, in
 * representment) is applied; a channel without a desk takes it as sent.
 */
export async function submitEvidence(
  ctx: PaymentsContext,
  merchant_id: string,
  id: string,
  input: { evidence?: Evidence; submit?: boolean },
): Promise<Result<DisputeView>> {
  const found = await loadDispute(ctx.db, merchant_id, id);
  if (!found) return notFound("dispute", id);
  const desk = input.submit ? ctx.channels.get(found.channel)?.disputes : undefined;
  const saved = await ctx.db.transaction(async (tx): Promise<Result<DisputeRecord>> => {
    const row = await tx.get<Record<string, unknown>>(`SELECT * FROM disputes WHERE id = ? ${tx.forUpdate}`, [id]);
    const dispute = disputeFromRow(row!);
    if (dispute.status !== "needs_response") {
      return invalid(undefined, "dispute_not_awaiting_response",
        `This dispute does not accept evidence: its status is ${dispute.status}${closed(dispute.status) ? " (it is closed)" : " (evidence was already submitted)"}.`);
    }
    if (Date.now() > dispute.evidence_due_ms) {
      return invalid(undefined, "dispute_evidence_deadline_passed", `The deadline for evidence passed at ${new Date(dispute.evidence_due_ms).toISOString()}.`);
    }
    dispute.evidence = { ...(dispute.evidence ?? {}), ...(input.evidence ?? {}) };
    if (input.submit && Object.keys(dispute.evidence).length === 0) return invalid("evidence", "dispute_evidence_missing", "Submitting needs at least one evidence field.");
    if (input.submit && !desk) {
      if (dispute.stage === "chargeback") dispute.stage = "representment";
      dispute.status = "under_review";
    }
    await saveDispute(tx, dispute);
    await emit(tx, dispute, "dispute.updated");
    return ok(dispute);
  });
  if (!saved.ok || !desk) return saved.ok ? ok(disputeView(saved.value)) : saved;
  const sent = await desk.submitEvidence({ channel_dispute_id: saved.value.channel_dispute_id, evidence: saved.value.evidence as Record<string, string> });
  switch (sent.kind) {
    case "accepted":
      await applyDisputeNotice(ctx, saved.value.channel, saved.value.attempt_id, sent.dispute);
      break;
    case "rejected":
      return invalid("evidence", "dispute_evidence_rejected", `The channel refused the evidence: ${sent.reason}. It is saved; nothing was sent.`);
    case "unknown":
      return { ok: false, failure: { status: 502, type: "api_error", code: "channel_unavailable", message: `The evidence is saved, but the channel's answer was lost (${sent.reason}); submit again (the channel takes the same evidence once).` } };
  }
  return ok(disputeView((await loadDispute(ctx.db, merchant_id, id))!));
}
