// The provider's record of a checkout, applied once under the payment's row lock (a notification,
// the customer's return, and the janitor all end here, in any order, any number of times):
//   approved + payment still wanted → succeeded: the sale (provider receivable → merchant pending,
//     full amount) and the provider's fee (merchant pending → provider receivable) in one commit;
//   approved + payment no longer wanted (expired, canceled) → attempt `reversing`, then the checkout
//     is voided at the provider (nothing was booked, so nothing is reversed in the ledger);
//   denied → failed; expired or canceled at the provider → canceled; still pending → unchanged,
//     unless the payment expired: then canceled (reason `expired`) and the checkout canceled there.
// An attempt that ends `expired` stays watched (next_inquiry_ms, see janitor.ts): the provider may
// still approve a checkout it expired, and that notice may be lost.
import type { BnplCheckoutRecord, BnplConnector } from "../../channels/contract.ts";
import { corridorDecline } from "../../channels/declines.ts";
import { postTransfer } from "../../ledger/ledger.ts";
import { assert } from "../../limits.ts";
import { emit, updateAttempt } from "../../payments/attempts.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { attemptFromRow, lockPayment, savePayment, type AttemptRecord, type PaymentRecord } from "../../payments/model.ts";
import { postSale } from "../../payments/postings.ts";
import type { Tx } from "../../store/db.ts";
import { providerPlan, writeDetails, type BnplDetails } from "./details.ts";

type FoundRecord = Extract<BnplCheckoutRecord, { found: true }>;

/** What is left to do at the provider after a record was applied. */
export type ApplyResult = "done" | "still_pending" | "reopen" | "cancel_at_provider";

const openPayment = (payment: PaymentRecord) => (payment.status === "requires_action" || payment.status === "processing") && !payment.cancel_requested;
const openAttempt = new Set(["pending", "requires_action", "reversing"]);

function detailsOf(payment: PaymentRecord): BnplDetails {
  const details = payment.method_details as unknown as BnplDetails | null;
  assert(details?.plan, `payment ${payment.id} has BNPL details`);
  return details;
}

/** Applies the provider's record of attempt `attempt_id`; `expire_now` lets an open, expired payment be canceled. */
export async function applyCheckoutRecord(ctx: PaymentsContext, attempt_id: string, record: BnplCheckoutRecord, options: { expire_now: boolean }): Promise<ApplyResult> {
  return ctx.db.transaction(async (tx) => {
    const paymentId = (await tx.get<{ payment_id: string }>("SELECT payment_id FROM attempts WHERE id = ?", [attempt_id]))?.payment_id;
    assert(paymentId, `attempt ${attempt_id} exists`);
    const payment = await lockPayment(tx, paymentId);
    const attempt = attemptFromRow((await tx.get<Record<string, unknown>>(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt_id]))!);
    const expired = options.expire_now && openPayment(payment) && !!payment.expires_ms && Date.now() > payment.expires_ms;
    if (!record.found) {
      // Never created there (the create was lost): open it again, unless the payment expired meanwhile.
      if (!openAttempt.has(attempt.status)) return "done";
      if (openPayment(payment) && !expired) return attempt.status === "pending" ? "reopen" : "done";
      await updateAttempt(tx, attempt, { status: "expired", next_inquiry_ms: Date.now() });
      if (expired) await cancel(tx, payment, "expired");
      else if (payment.cancel_requested && payment.status === "processing") await cancel(tx, payment, "expired");
      return "done";
    }
    if (attempt.status === "expired" && record.status === "approved") {
      // Approved at the provider after we closed the checkout (its expiry was later than ours): void it.
      await updateAttempt(tx, attempt, { status: "reversing", channel_reference: record.channel_reference, next_inquiry_ms: null });
      return "cancel_at_provider";
    }
    if (!openAttempt.has(attempt.status)) {
      // Settled already (a duplicate notice): only the plan may have changed (a refund).
      if (attempt.status === "captured") await refreshPlan(tx, payment, record);
      return "done";
    }
    switch (record.status) {
      case "approved":
        if (openPayment(payment) && attempt.status !== "reversing") {
          await bookApproval(tx, payment, attempt, record);
          return "done";
        }
        if (attempt.status !== "reversing") await updateAttempt(tx, attempt, { status: "reversing", channel_reference: record.channel_reference, next_inquiry_ms: null });
        return "cancel_at_provider";
      case "denied":
        await updateAttempt(tx, attempt, { status: "declined", channel_reference: record.channel_reference, next_inquiry_ms: null,
          decline: { ...corridorDecline("generic_decline"), message: "The BNPL provider declined the customer.", raw_code: record.denial_reason ?? "declined" } });
        if (openPayment(payment)) {
          payment.status = "failed";
          payment.next_action = null;
          payment.last_error = { type: "bnpl_error", code: "payment_method_provider_decline", decline_code: record.denial_reason, message: "The BNPL provider declined the customer.", attempt: attempt.id };
          await savePayment(tx, payment);
          await emit(tx, payment, "payment.failed");
        }
        return "done";
      case "expired":
      case "canceled":
      case "voided":
        await updateAttempt(tx, attempt, {
          status: record.status === "voided" ? "reversed" : "expired", channel_reference: record.channel_reference, next_inquiry_ms: record.status === "voided" ? null : Date.now(),
        });
        if (payment.status === "requires_action" || payment.status === "processing") await cancel(tx, payment, record.status === "canceled" ? "abandoned" : "expired");
        return "done";
      case "pending":
        if (attempt.status === "reversing") return "cancel_at_provider";
        if (payment.status === "canceled" || payment.status === "failed" || payment.cancel_requested) return "cancel_at_provider";
        if (expired) {
          await cancel(tx, payment, "expired");
          return "cancel_at_provider";
        }
        if (attempt.status === "pending") return "reopen"; // open there, its answer lost: recorded by creating again
        await tx.run("UPDATE attempts SET updated_ms = ? WHERE id = ?", [Date.now(), attempt.id]); // polled: next poll later
        return "still_pending";
    }
  });
}

async function cancel(tx: Tx, payment: PaymentRecord, reason: "expired" | "abandoned"): Promise<void> {
  payment.status = "canceled";
  // The merchant's own reason stands when it asked to cancel while the checkout was being opened.
  payment.cancellation_reason = payment.cancel_requested && payment.cancellation_reason ? payment.cancellation_reason : reason;
  payment.next_action = null;
  await savePayment(tx, payment);
  await emit(tx, payment, "payment.canceled");
}

/** Approved and wanted: the payment succeeds; the merchant is owed the amount less the provider's fee. */
async function bookApproval(tx: Tx, payment: PaymentRecord, attempt: AttemptRecord, record: FoundRecord): Promise<void> {
  assert(record.amount === payment.amount && record.currency === payment.currency, `the provider approved ${payment.id} for its amount`);
  const details = detailsOf(payment);
  const movement = { merchant_id: payment.merchant_id, channel: attempt.channel, currency: payment.currency, amount: payment.amount };
  await postSale(tx, attempt.id, movement);
  const fee = await postTransfer(tx, {
    debit: { owner: payment.merchant_id, currency: payment.currency, purpose: "merchant_pending" },
    credit: { owner: attempt.channel, currency: payment.currency, purpose: "channel_receivable" },
    amount: BigInt(details.plan.fee), code: "bnpl_fee", ref: attempt.id,
  });
  assert(fee.ok, "a fee transfer between unflagged accounts always posts");
  await updateAttempt(tx, attempt, { status: "captured", channel_reference: record.channel_reference, next_inquiry_ms: null });
  payment.status = "succeeded";
  payment.amount_received = payment.amount;
  payment.channel = attempt.channel;
  payment.next_action = null;
  payment.last_error = null;
  const updated = { ...details, checkout: record.channel_reference, plan: providerPlan(details.plan, record) };
  payment.method_details = updated as unknown as Record<string, unknown>;
  await writeDetails(tx, payment.id, updated);
  await savePayment(tx, payment);
  await emit(tx, payment, "payment.succeeded");
}

/** Shows the provider's current plan (after refunds) if it changed. */
async function refreshPlan(tx: Tx, payment: PaymentRecord, record: FoundRecord): Promise<void> {
  const details = detailsOf(payment);
  const plan = providerPlan(details.plan, record);
  if (JSON.stringify(plan) === JSON.stringify(details.plan)) return;
  await writeDetails(tx, payment.id, { ...details, plan });
}

/**
 * Cancels the checkout of an attempt whose payment is no longer open (expired, canceled by the
 * merchant) or whose approval is unwanted (`reversing`). Returns "retry_later" while the provider
 * cannot be reached: the janitor asks again.
 */
export async function cancelAtProvider(ctx: PaymentsContext, connector: BnplConnector, attempt_id: string): Promise<"done" | "retry_later"> {
  const outcome = await connector.cancelCheckout(attempt_id);
  if (outcome.kind === "unknown") return "retry_later";
  await ctx.db.transaction(async (tx) => {
    const paymentId = (await tx.get<{ payment_id: string }>("SELECT payment_id FROM attempts WHERE id = ?", [attempt_id]))!.payment_id;
    const payment = await lockPayment(tx, paymentId);
    const attempt = attemptFromRow((await tx.get<Record<string, unknown>>(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt_id]))!);
    if (!openAttempt.has(attempt.status)) return;
    // Only a closed payment's checkout is canceled: an open one is never reached here.
    assert(!openPayment(payment) || attempt.status === "reversing" || payment.cancel_requested, `payment ${payment.id} is closed before its checkout is canceled`);
    if (outcome.kind === "refused") {
      // The provider has no checkout (never created) or will not cancel it: nothing of ours is open there.
      await updateAttempt(tx, attempt, { status: "expired", next_inquiry_ms: Date.now(), decline: { ...corridorDecline("processing_error"), raw_code: outcome.reason.slice(0, 200) } });
      return;
    }
    await updateAttempt(tx, attempt, { status: outcome.was_approved ? "reversed" : "expired", next_inquiry_ms: outcome.was_approved ? null : Date.now() });
    if (payment.cancel_requested && payment.status === "processing") {
      payment.status = "canceled";
      await savePayment(tx, payment);
      await emit(tx, payment, "payment.canceled");
    }
  });
  return "done";
}
