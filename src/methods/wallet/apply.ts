// The wallet's own record of an order, applied to the payment once, under the payment's row lock:
// paid → succeeded (the sale booked once), failed → failed, closed → canceled (expired). Whatever
// prompted it (a notification, a duplicate of it, the return page, the janitor), a second
// application finds the attempt settled and changes nothing. A payment the wallet took after we
// gave up on the order (late payment) is booked as owed back to the customer and refunded to the
// wallet at once (the attempt goes `reversing` → `reversed`; see postings.ts): the payment stays
// canceled and the merchant never holds the money.
import type { WalletConnector, WalletOrderRecord } from "../../channels/contract.ts";
import type { UnifiedDecline } from "../../channels/declines.ts";
import { assert } from "../../limits.ts";
import { emit, updateAttempt } from "../../payments/attempts.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { attemptFromRow, loadAttempt, lockPayment, savePayment, type AttemptRecord, type PaymentRecord } from "../../payments/model.ts";
import { postSale } from "../../payments/postings.ts";
import type { Tx } from "../../store/db.ts";
import { postLatePayment, postLatePaymentRefunded } from "./postings.ts";

/** done: nothing more to do; close_needed: expired but open at the wallet (close it, then apply again);
 *  reverse: a late payment was booked and must be refunded to the wallet. */
export type ApplyResult = "done" | "close_needed" | "reverse";

const openAttemptStatuses = new Set(["pending", "requires_action"]);

export function isOpenWalletPayment(payment: PaymentRecord): boolean {
  return (payment.status === "requires_action" || payment.status === "processing") && !payment.cancel_requested;
}

export function isExpired(payment: PaymentRecord, now_ms = Date.now()): boolean {
  assert(payment.expires_ms, `wallet payment ${payment.id} has an expiry`);
  return now_ms >= payment.expires_ms;
}

/** The refund reference of a late payment's reversal at the wallet. */
export function reversalReference(attempt_id: string): string {
  return `${attempt_id}_rev`;
}

export function attemptOfReversal(reference: string): string | undefined {
  return reference.endsWith("_rev") ? reference.slice(0, -"_rev".length) : undefined;
}

export async function applyWalletRecord(
  ctx: PaymentsContext, attempt_id: string, record: WalletOrderRecord, options: { expire_now: boolean },
): Promise<ApplyResult> {
  return ctx.db.transaction(async (tx) => {
    const row = await tx.get<{ payment_id: string }>("SELECT payment_id FROM attempts WHERE id = ?", [attempt_id]);
    assert(row, `attempt ${attempt_id} exists`);
    const payment = await lockPayment(tx, row.payment_id);
    assert(payment.method_type === "wallet", `payment ${payment.id} is a wallet payment`);
    const attempt = attemptFromRow((await tx.get<Record<string, unknown>>(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt_id]))!);
    const open = openAttemptStatuses.has(attempt.status);
    if (!record.found) {
      // Nothing at the wallet: no money moved. Past expiry the order can no longer be made.
      if (open && options.expire_now && isExpired(payment)) await closeUnpaid(tx, payment, attempt, "expired");
      return "done";
    }
    assert(record.amount === attempt.amount && record.currency === attempt.currency, `the wallet's order ${record.channel_reference} is for the attempt's amount`);
    switch (record.status) {
      case "paid":
        return applyPaid(tx, payment, attempt, record.channel_reference);
      case "failed":
        if (open) await applyRefused(tx, payment, attempt, record.decline!);
        return "done";
      case "closed":
        if (open) await closeUnpaid(tx, payment, attempt, "expired");
        return "done";
      case "waiting":
        return open && isOpenWalletPayment(payment) && options.expire_now && isExpired(payment) ? "close_needed" : "done";
    }
  });
}

async function applyPaid(tx: Tx, payment: PaymentRecord, attempt: AttemptRecord, channel_reference: string): Promise<ApplyResult> {
  if (!openAttemptStatuses.has(attempt.status) && attempt.status !== "expired" && attempt.status !== "voided") return "done"; // applied already
  const movement = { merchant_id: payment.merchant_id, channel: attempt.channel, currency: attempt.currency, amount: attempt.amount };
  if (openAttemptStatuses.has(attempt.status) && isOpenWalletPayment(payment)) {
    await postSale(tx, attempt.id, movement);
    await updateAttempt(tx, attempt, { status: "captured", channel_reference, next_inquiry_ms: null });
    payment.status = "succeeded";
    payment.amount_received = attempt.amount;
    payment.next_action = null;
    payment.last_error = null;
    payment.channel = attempt.channel;
    await savePayment(tx, payment);
    await emit(tx, payment, "payment.succeeded");
    return "done";
  }
  // Paid after we closed the order or the payment ended: booked as owed back, refunded to the wallet.
  await postLatePayment(tx, attempt.id, movement);
  await updateAttempt(tx, attempt, { status: "reversing", channel_reference, next_inquiry_ms: null });
  return "reverse";
}

async function applyRefused(tx: Tx, payment: PaymentRecord, attempt: AttemptRecord, decline: UnifiedDecline): Promise<void> {
  await updateAttempt(tx, attempt, { status: "declined", decline, next_inquiry_ms: null });
  if (!isOpenWalletPayment(payment)) return;
  payment.status = "failed";
  payment.next_action = null;
  payment.last_error = { type: "wallet_error", code: decline.code, decline_code: decline.raw_code, message: decline.message, attempt: attempt.id };
  await savePayment(tx, payment);
  await emit(tx, payment, "payment.failed");
}

/**
 * The order is closed unpaid at the wallet (or never existed): the attempt ends, and an open
 * payment is canceled. `reason` is the payment's cancellation_reason when it was open. The wallet
 * may still settle a payment its close raced with, and that notice may be lost: the closed attempt
 * stays watched (next_inquiry_ms, see janitor.ts) so a late payment is found by asking.
 */
export async function closeUnpaid(tx: Tx, payment: PaymentRecord, attempt: AttemptRecord, reason: string): Promise<void> {
  await updateAttempt(tx, attempt, { status: reason === "expired" ? "expired" : "voided", next_inquiry_ms: Date.now() });
  if (!isOpenWalletPayment(payment)) return;
  payment.status = "canceled";
  payment.cancellation_reason = reason;
  payment.next_action = null;
  await savePayment(tx, payment);
  await emit(tx, payment, "payment.canceled");
}

/** Refunds a late payment to the wallet (idempotent by the reversal reference); books it once done. */
export async function reverseLatePayment(ctx: PaymentsContext, connector: WalletConnector, attempt_id: string): Promise<"done" | "retry_later"> {
  const attempt = await loadAttempt(ctx.db, attempt_id);
  assert(attempt, `attempt ${attempt_id} exists`);
  if (attempt.status !== "reversing") return "done";
  assert(attempt.channel_reference, `reversing attempt ${attempt_id} has the wallet's order`);
  const outcome = await connector.refund({
    channel_reference: attempt.channel_reference, reference: reversalReference(attempt.id), attempt_reference: attempt.id,
    amount: attempt.amount, currency: attempt.currency,
  });
  if (outcome.kind === "succeeded") return finishReversal(ctx, attempt.id);
  // pending or unknown: the janitor asks the wallet; a refused reversal stays `reversing`, the
  // money booked as owed to the customer, for an operator.
  return "retry_later";
}

/** Asks the wallet how a late payment's reversal stands, and books it once refunded. */
export async function resumeReversal(ctx: PaymentsContext, connector: WalletConnector, attempt: AttemptRecord): Promise<"done" | "retry_later"> {
  const record = await connector.inquireRefund({ reference: reversalReference(attempt.id), attempt_reference: attempt.id, currency: attempt.currency });
  if ("unreachable" in record) return "retry_later";
  if (!record.found) return reverseLatePayment(ctx, connector, attempt.id); // the refund request never arrived: ask again
  if (record.status === "succeeded") return finishReversal(ctx, attempt.id);
  return "retry_later";
}

async function finishReversal(ctx: PaymentsContext, attempt_id: string): Promise<"done"> {
  await ctx.db.transaction(async (tx) => {
    const row = await tx.get<{ payment_id: string }>("SELECT payment_id FROM attempts WHERE id = ?", [attempt_id]);
    const payment = await lockPayment(tx, row!.payment_id);
    const attempt = attemptFromRow((await tx.get<Record<string, unknown>>(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt_id]))!);
    if (attempt.status !== "reversing") return; // finished already (a duplicate refund notice)
    await postLatePaymentRefunded(tx, reversalReference(attempt.id), { merchant_id: payment.merchant_id, channel: attempt.channel, currency: attempt.currency, amount: attempt.amount });
    await updateAttempt(tx, attempt, { status: "reversed", next_inquiry_ms: null });
  });
  return "done";
}
