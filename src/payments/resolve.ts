// Resolving what we did not hear: unknown attempts, 3-D Secure challenges finished at the channel,
// captures, voids and refunds whose answer was lost. The truth is what the channel recorded
// (inquiry) or tells us (a verified notification); nothing is auto-failed without asking.
import type { ChannelRecord, Connector, MoneyCallOutcome } from "../channels/contract.ts";
import { corridorDecline, type UnifiedDecline } from "../channels/declines.ts";
import { crashPoint } from "../chaos/crash.ts";
import { assert } from "../limits.ts";
import { emit, recordApproval, recordChallenge, recordRefusal, updateAttempt } from "./attempts.ts";
import type { PaymentsContext } from "./context.ts";
import { attemptFromRow, loadAttempt, lockPayment, savePayment, type AttemptRecord } from "./model.ts";
import { recordOperationFailure, recordOperationSuccess, type OperationKind } from "./operations.ts";
import { postAuthorization, postRelease, postReversal, postSale } from "./postings.ts";
import { applyRefundRecord, loadRefundById, refundingChannel } from "./refunds.ts";

/** What the channel says happened to an authorization attempt. */
export type AttemptTruth =
  | { kind: "approved"; channel_reference: string; captured: boolean }
  | { kind: "declined"; decline: UnifiedDecline }
  | { kind: "never_received" }
  /** A 3-D Secure challenge waits for the customer, at `redirect_url` when the channel says. */
  | { kind: "still_pending"; redirect_url?: string };

export function truthFromRecord(record: ChannelRecord): AttemptTruth {
  if (!record.found) return { kind: "never_received" };
  switch (record.status) {
    case "challenge_pending":
      return { kind: "still_pending", redirect_url: record.redirect_url };
    case "authorized":
    case "captured":
    case "voided":
      // A voided record that we did not void cannot happen: we are the only one voiding.
      return { kind: "approved", channel_reference: record.channel_reference, captured: record.status === "captured" || record.captured_amount > 0 };
    case "declined":
      return { kind: "declined", decline: record.decline ?? corridorDecline("generic_decline") };
    case "failed":
      return { kind: "declined", decline: record.decline ?? corridorDecline("processing_error") };
  }
}

const openAttemptStatuses = new Set(["pending", "unknown", "requires_action", "reversing"]);

/**
 * Applies the channel's truth about an attempt. An approval the merchant still wants completes
 * the payment; one it no longer wants (canceled meanwhile) is reversed at the channel first.
 * Returns "retry_later" when the channel must be asked again.
 */
export async function applyAttemptTruth(ctx: PaymentsContext, attempt_id: string, truth: AttemptTruth): Promise<"done" | "retry_later"> {
  const attempt = await loadAttempt(ctx.db, attempt_id);
  assert(attempt, `attempt ${attempt_id} exists`);
  if (!openAttemptStatuses.has(attempt.status)) return "done"; // already settled: a duplicate answer
  if (truth.kind === "still_pending") return recordLostChallenge(ctx, attempt, truth.redirect_url);
  // Decide under the payment's lock whether the approval is still wanted; an unwanted one is
  // claimed for reversal (status `reversing`) in the same commit, so no concurrent resolver (a
  // duplicate notification, the return page, another process's janitor) can book it meanwhile.
  const next = await ctx.db.transaction(async (tx): Promise<"done" | "reverse"> => {
    const payment = await lockPayment(tx, attempt.payment_id);
    const current = attemptFromRow((await tx.get(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt.id]))!);
    if (!openAttemptStatuses.has(current.status)) return "done";
    if (truth.kind === "approved") {
      const wanted = (payment.status === "processing" || payment.status === "requires_action") && !payment.cancel_requested && current.status !== "reversing";
      if (wanted) {
        await recordApproval(tx, payment, current, { ...truth, validity_ms: ctx.settings.authorization_validity_ms });
        return "done";
      }
      if (current.status !== "reversing") {
        await tx.run("UPDATE attempts SET status = 'reversing', channel_reference = ?, next_inquiry_ms = ?, updated_ms = ? WHERE id = ?", [
          truth.channel_reference, Date.now() + ctx.settings.unknown_inquiry_delay_ms, Date.now(), current.id,
        ]);
      }
      return "reverse";
    }
    const decline = truth.kind === "declined" ? truth.decline : corridorDecline("processing_error", "the channel has no record of the attempt");
    if (payment.status === "processing" || payment.status === "requires_action") {
      await recordRefusal(tx, payment, current, { status: truth.kind === "declined" ? "declined" : "failed", decline, may_cascade: false });
      if (payment.cancel_requested) {
        payment.status = "canceled";
        await savePayment(tx, payment);
      }
      return "done";
    }
    await updateAttempt(tx, current, { status: truth.kind === "declined" ? "declined" : "failed", decline, next_inquiry_ms: null });
    return "done";
  });
  return next === "reverse" && truth.kind === "approved" ? reverseUnwantedApproval(ctx, attempt, truth) : "done";
}

/**
 * The channel asks for a challenge we never heard of (its answer was lost): show it to the
 * customer as the original answer would have. Without a challenge URL, or once the challenge has
 * expired, the customer can no longer finish it: the attempt fails (a late approval is reversed).
 */
async function recordLostChallenge(ctx: PaymentsContext, attempt: AttemptRecord, redirect_url: string | undefined): Promise<"done" | "retry_later"> {
  if (attempt.status === "requires_action") return "retry_later";
  const expired = Date.now() - attempt.created_ms > ctx.settings.challenge_expiry_ms;
  await ctx.db.transaction(async (tx) => {
    const payment = await lockPayment(tx, attempt.payment_id);
    const current = attemptFromRow((await tx.get(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt.id]))!);
    if (current.status !== "unknown" && current.status !== "pending") return;
    if (redirect_url && !expired && payment.status === "processing" && !payment.cancel_requested) {
      await recordChallenge(ctx, tx, payment, current, { channel_reference: current.channel_reference ?? "", redirect_url, latency_ms: current.latency_ms ?? 0 });
      return;
    }
    if (payment.status === "processing") {
      await recordRefusal(tx, payment, current, { status: "failed", decline: corridorDecline("authentication_required", "the 3-D Secure challenge can no longer be completed"), may_cascade: false });
    }
  });
  return "done";
}

/** The channel approved but the merchant no longer wants it: void or refund at the channel, then book both. */
async function reverseUnwantedApproval(
  ctx: PaymentsContext,
  attempt: AttemptRecord,
  approval: { channel_reference: string; captured: boolean },
): Promise<"done" | "retry_later"> {
  const connector = ctx.channels.require(attempt.channel);
  const call = { channel_reference: approval.channel_reference, reference: `${attempt.id}_reversal`, amount: attempt.amount, currency: attempt.currency };
  const outcome: MoneyCallOutcome = approval.captured ? await connector.refund(call) : await connector.void(call);
  if (outcome.kind !== "succeeded") return "retry_later"; // still `reversing`: the janitor asks again
  await ctx.db.transaction(async (tx) => {
    const payment = await lockPayment(tx, attempt.payment_id);
    const current = attemptFromRow((await tx.get(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt.id]))!);
    if (current.status !== "reversing") return;
    const movement = { merchant_id: payment.merchant_id, channel: attempt.channel, currency: attempt.currency, amount: attempt.amount };
    if (approval.captured) {
      await postSale(tx, attempt.id, movement);
      await postReversal(tx, attempt.id, movement);
    } else {
      await postAuthorization(tx, attempt.id, movement);
      await postRelease(tx, attempt.id, "void", `${attempt.id}_reversal`);
    }
    await updateAttempt(tx, current, { status: "reversed", channel_reference: approval.channel_reference, next_inquiry_ms: null });
    if (payment.status === "processing") {
      payment.status = "canceled";
      payment.next_action = null;
      await savePayment(tx, payment);
      await emit(tx, payment, "payment.canceled");
    }
  });
  return "done";
}

async function inquire(connector: Connector, reference: string, currency: string): Promise<ChannelRecord | undefined> {
  const record = await connector.inquire(reference, currency);
  return "unreachable" in record ? undefined : record;
}

/** Asks the channel about one attempt and applies the answer. */
export async function resolveAttemptByInquiry(ctx: PaymentsContext, attempt: AttemptRecord): Promise<"done" | "retry_later"> {
  const record = await inquire(ctx.channels.require(attempt.channel), attempt.id, attempt.currency);
  if (!record) return "retry_later";
  crashPoint("inside_janitor");
  return applyAttemptTruth(ctx, attempt.id, truthFromRecord(record));
}

/** Asks the channel about one capture or void whose answer was lost. */
export async function resolveOperationByInquiry(
  ctx: PaymentsContext,
  op: { id: string; kind: OperationKind; amount: number; attempt_id: string; payment_id: string },
): Promise<"done" | "retry_later"> {
  const attempt = await loadAttempt(ctx.db, op.attempt_id);
  assert(attempt, `attempt of operation ${op.id} exists`);
  const record = await inquire(ctx.channels.require(attempt.channel), attempt.id, attempt.currency);
  if (!record || !record.found) return "retry_later";
  const happened = op.kind === "capture" ? record.captured_amount > 0 : record.status === "voided";
  await ctx.db.transaction(async (tx) => {
    const status = await tx.get<{ status: string }>(`SELECT status FROM operations WHERE id = ? ${tx.forUpdate}`, [op.id]);
    if (status?.status !== "unknown" && status?.status !== "pending") return;
    const payment = await lockPayment(tx, op.payment_id);
    if (happened) await recordOperationSuccess(tx, payment, attempt, { ...op, amount: op.kind === "capture" ? record.captured_amount : op.amount });
    else await recordOperationFailure(tx, payment, op);
  });
  return "done";
}

/** Asks the channel about one refund whose answer was lost. */
export async function resolveRefundByInquiry(ctx: PaymentsContext, refund_id: string): Promise<"done" | "retry_later"> {
  const refund = await loadRefundById(ctx.db, refund_id);
  assert(refund, `refund ${refund_id} exists`);
  if (refund.status !== "pending") return "done";
  const attempt = await loadAttempt(ctx.db, refund.attempt_id);
  assert(attempt, `attempt of refund ${refund_id} exists`);
  const channel = refundingChannel(ctx, attempt.channel);
  assert(channel, `a refunding channel ${attempt.channel} is configured`);
  const record = await channel.inquireRefund({ reference: refund.id, attempt_reference: attempt.id, currency: attempt.currency });
  if ("unreachable" in record) return "retry_later";
  return applyRefundRecord(ctx, refund, record);
}
