// Refunds: several partial refunds up to the captured amount. The amount is reserved (a pending
// ledger transfer and the payment's amount_refunded) in the same commit that creates the refund,
// under the payment's row lock, so racing refunds can never exceed what was captured. The channel's
// answer posts or voids the reservation; an unknown answer waits for the janitor.
import type { MoneyCallOutcome } from "../channels/contract.ts";
import { invalid, notFound, ok, unexpectedState, type Result } from "../errors.ts";
import { recordEvent, type EventType } from "../events/outbox.ts";
import { newId } from "../ids.ts";
import { toSafeNumber, type Queryable, type Tx } from "../store/db.ts";
import { safetyNetInquiryMs, type PaymentsContext } from "./context.ts";
import { loadAttempts, loadPayment, lockPayment, savePayment } from "./model.ts";
import { pendRefund, settleRefund } from "./postings.ts";
import { listPage, type PageRequest } from "../store/page.ts";

export type RefundStatus = "pending" | "succeeded" | "failed";

export interface RefundRecord {
  id: string;
  payment_id: string;
  merchant_id: string;
  attempt_id: string;
  amount: number;
  currency: string;
  reason: string | null;
  status: RefundStatus;
  failure_reason: string | null;
  ledger_pending_id: string;
  metadata: Record<string, string>;
  created_ms: number;
}

export const refundReasons = ["duplicate", "fraudulent", "requested_by_customer"] as const;

function refundFromRow(row: Record<string, unknown>): RefundRecord {
  return {
    id: row.id as string,
    payment_id: row.payment_id as string,
    merchant_id: row.merchant_id as string,
    attempt_id: row.attempt_id as string,
    amount: toSafeNumber(row.amount),
    currency: row.currency as string,
    reason: (row.reason as string | null) ?? null,
    status: row.status as RefundStatus,
    failure_reason: (row.failure_reason as string | null) ?? null,
    ledger_pending_id: row.ledger_pending_id as string,
    metadata: JSON.parse(row.metadata as string),
    created_ms: toSafeNumber(row.created_ms),
  };
}

export function refundView(refund: RefundRecord) {
  return {
    id: refund.id,
    object: "refund",
    payment: refund.payment_id,
    amount: refund.amount,
    currency: refund.currency.toLowerCase(),
    status: refund.status,
    reason: refund.reason,
    failure_reason: refund.failure_reason,
    metadata: refund.metadata,
    created: Math.floor(refund.created_ms / 1000),
  };
}

export type RefundView = ReturnType<typeof refundView>;

export async function loadRefund(db: Queryable, merchant_id: string, id: string): Promise<RefundRecord | undefined> {
  const row = await db.get<Record<string, unknown>>("SELECT * FROM refunds WHERE id = ? AND merchant_id = ?", [id, merchant_id]);
  return row ? refundFromRow(row) : undefined;
}

export async function loadRefundById(db: Queryable, id: string): Promise<RefundRecord | undefined> {
  const row = await db.get<Record<string, unknown>>("SELECT * FROM refunds WHERE id = ?", [id]);
  return row ? refundFromRow(row) : undefined;
}

async function emitRefund(tx: Tx, refund: RefundRecord, type: EventType): Promise<void> {
  await recordEvent(tx, { merchant_id: refund.merchant_id, type, object_id: refund.id, object: refundView(refund) });
}

/** Books the channel's final answer on a refund: post or void the reservation. */
export async function settleRefundOutcome(tx: Tx, refund: RefundRecord, succeeded: boolean, failure_reason: string | null): Promise<void> {
  const current = await tx.get<{ status: string }>(`SELECT status FROM refunds WHERE id = ? ${tx.forUpdate}`, [refund.id]);
  if (current?.status !== "pending") return; // already settled (duplicate answer)
  await settleRefund(tx, refund.ledger_pending_id, refund.id, succeeded);
  refund.status = succeeded ? "succeeded" : "failed";
  refund.failure_reason = failure_reason;
  await tx.run("UPDATE refunds SET status = ?, failure_reason = ?, next_inquiry_ms = NULL, updated_ms = ? WHERE id = ?", [
    refund.status, failure_reason, Date.now(), refund.id,
  ]);
  if (!succeeded) {
    const payment = await lockPayment(tx, refund.payment_id);
    payment.amount_refunded -= refund.amount;
    await savePayment(tx, payment);
  }
  await emitRefund(tx, refund, succeeded ? "refund.succeeded" : "refund.failed");
}

export async function createRefund(
  ctx: PaymentsContext,
  merchant_id: string,
  input: { payment: string; amount?: number; reason?: string; metadata?: Record<string, string> },
  idempotency_key?: string,
): Promise<Result<RefundView>> {
  if (idempotency_key) {
    // A retry that took over the key of a request that died mid-way: that refund, never a second one.
    const existing = await ctx.db.get<Record<string, unknown>>("SELECT * FROM refunds WHERE merchant_id = ? AND idempotency_key = ?", [merchant_id, idempotency_key]);
    if (existing) return ok(refundView(refundFromRow(existing)));
  }
  const payment = await loadPayment(ctx.db, merchant_id, input.payment);
  if (!payment) return notFound("payment", input.payment, "payment");
  if (payment.method_type === "bank_transfer") {
    // Paying a bank transfer back needs the customer's bank account: not supported yet.
    return invalid("payment", "refund_requires_bank_account", "Refunding a bank transfer needs the customer's bank account, which this API does not take yet.");
  }
  const attempt = (await loadAttempts(ctx.db, payment.id)).find((candidate) => candidate.status === "captured");
  if (payment.status !== "succeeded" || !attempt) return unexpectedState("payment", payment.status, "refund");

  const created = await ctx.db.transaction(async (tx) => {
    const locked = await lockPayment(tx, payment.id);
    const refundable = locked.amount_received - locked.amount_refunded;
    const amount = input.amount ?? refundable;
    if (amount > refundable || amount <= 0) {
      return invalid("amount", "amount_too_large", `The refund amount must be between 1 and the refundable amount (${refundable}).`);
    }
    const refund: RefundRecord = {
      id: newId("re"), payment_id: locked.id, merchant_id, attempt_id: attempt.id, amount, currency: locked.currency,
      reason: input.reason ?? null, status: "pending", failure_reason: null, ledger_pending_id: "", metadata: input.metadata ?? {},
      created_ms: Date.now(),
    };
    refund.ledger_pending_id = await pendRefund(tx, refund.id, { merchant_id, channel: attempt.channel, currency: locked.currency, amount });
    await tx.run(
      `INSERT INTO refunds (id, payment_id, merchant_id, attempt_id, amount, currency, reason, status, ledger_pending_id, metadata,
         idempotency_key, next_inquiry_ms, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
      [refund.id, refund.payment_id, merchant_id, attempt.id, amount, refund.currency, refund.reason, refund.ledger_pending_id,
        JSON.stringify(refund.metadata), idempotency_key ?? null, safetyNetInquiryMs(ctx.settings), refund.created_ms, refund.created_ms],
    );
    locked.amount_refunded += amount;
    await savePayment(tx, locked);
    await emitRefund(tx, refund, "refund.created");
    return ok(refund);
  });
  if (!created.ok) return created;
  const refund = created.value;
  const outcome: MoneyCallOutcome = await ctx.channels.require(attempt.channel).refund({
    channel_reference: attempt.channel_reference!, reference: refund.id, amount: refund.amount, currency: refund.currency,
  });
  await ctx.db.transaction(async (tx) => {
    switch (outcome.kind) {
      case "succeeded":
        return settleRefundOutcome(tx, refund, true, null);
      case "declined":
      case "error":
        return settleRefundOutcome(tx, refund, false, outcome.decline.code);
      case "unknown":
        await tx.run("UPDATE refunds SET next_inquiry_ms = ? WHERE id = ?", [Date.now() + ctx.settings.unknown_inquiry_delay_ms, refund.id]);
        return;
    }
  });
  return ok(refundView((await loadRefund(ctx.db, merchant_id, refund.id))!));
}

export async function listRefunds(db: Queryable, merchant_id: string, page: PageRequest & { payment?: string }) {
  const { rows, has_more } = await listPage(db, "refunds", { merchant_id, payment_id: page.payment }, page);
  return { data: rows.map((row) => refundView(refundFromRow(row))), has_more };
}

