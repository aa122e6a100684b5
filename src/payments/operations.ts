// Capture and cancel: calls to the channel about an existing authorization. Like attempts, each
// is persisted before the call (an `operations` row) so an unknown outcome is never forgotten.
import type { MoneyCallOutcome } from "../channels/contract.ts";
import { invalid, notFound, ok, unexpectedState, type Failure, type Result } from "../errors.ts";
import { newId } from "../ids.ts";
import { assert } from "../limits.ts";
import type { Tx } from "../store/db.ts";
import { emit, updateAttempt } from "./attempts.ts";
import { safetyNetInquiryMs, type PaymentsContext } from "./context.ts";
import {
  loadAttempts, loadPayment, lockPayment, readPaymentView, savePayment,
  type AttemptRecord, type PaymentRecord, type PaymentView,
} from "./model.ts";
import { postCapture, postRelease } from "./postings.ts";
import { cancelWalletPayment } from "../methods/wallet/cancel.ts";

export type OperationKind = "capture" | "void";

async function authorizedAttempt(ctx: PaymentsContext, payment_id: string): Promise<AttemptRecord> {
  const attempt = (await loadAttempts(ctx.db, payment_id)).find((candidate) => candidate.status === "authorized");
  assert(attempt, `a payment requiring capture has an authorized attempt (${payment_id})`);
  return attempt;
}

async function insertOperation(ctx: PaymentsContext, tx: Tx, payment: PaymentRecord, attempt: AttemptRecord, kind: OperationKind, amount: number): Promise<string> {
  const id = newId("op");
  const now = Date.now();
  await tx.run(
    "INSERT INTO operations (id, payment_id, attempt_id, kind, amount, status, next_inquiry_ms, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
    [id, payment.id, attempt.id, kind, amount, safetyNetInquiryMs(ctx.settings), now, now],
  );
  return id;
}

async function setOperationStatus(tx: Tx, id: string, status: "succeeded" | "failed" | "unknown", next_inquiry_ms: number | null): Promise<void> {
  await tx.run("UPDATE operations SET status = ?, next_inquiry_ms = ?, updated_ms = ? WHERE id = ?", [status, next_inquiry_ms, Date.now(), id]);
}

/** Books a capture or void the channel confirmed. */
export async function recordOperationSuccess(tx: Tx, payment: PaymentRecord, attempt: AttemptRecord, op: { id: string; kind: OperationKind; amount: number }): Promise<void> {
  await setOperationStatus(tx, op.id, "succeeded", null);
  if (op.kind === "capture") {
    await postCapture(tx, attempt.id, op.amount, op.id);
    await updateAttempt(tx, attempt, { status: "captured", next_inquiry_ms: null });
    payment.status = "succeeded";
    payment.amount_received = op.amount;
  } else {
    await postRelease(tx, attempt.id, "void", op.id);
    await updateAttempt(tx, attempt, { status: "voided", next_inquiry_ms: null });
    payment.status = "canceled";
  }
  payment.amount_capturable = 0;
  await savePayment(tx, payment);
  await emit(tx, payment, op.kind === "capture" ? "payment.succeeded" : "payment.canceled");
}

/** The channel refused the capture or void: the authorization stands as it was. */
export async function recordOperationFailure(tx: Tx, payment: PaymentRecord, op: { id: string }): Promise<void> {
  await setOperationStatus(tx, op.id, "failed", null);
  payment.status = "requires_capture";
  await savePayment(tx, payment);
}

async function runOperation(
  ctx: PaymentsContext,
  merchant_id: string,
  payment_id: string,
  kind: OperationKind,
  amount: number,
): Promise<Result<PaymentView>> {
  const attempt = await authorizedAttempt(ctx, payment_id);
  const started = await ctx.db.transaction(async (tx) => {
    const payment = await lockPayment(tx, payment_id);
    if (payment.status !== "requires_capture") return unexpectedState("payment", payment.status, kind === "capture" ? "capture" : "cancel");
    const op_id = await insertOperation(ctx, tx, payment, attempt, kind, amount);
    payment.status = "processing";
    if (kind === "void") payment.cancellation_reason ??= "requested_by_customer";
    await savePayment(tx, payment);
    return ok(op_id);
  });
  if (!started.ok) return started;
  const op = { id: started.value, kind, amount };
  const connector = ctx.channels.require(attempt.channel);
  const call = { channel_reference: attempt.channel_reference!, reference: op.id, amount, currency: attempt.currency };
  const outcome: MoneyCallOutcome = kind === "capture" ? await connector.capture(call) : await connector.void(call);
  const failure = await ctx.db.transaction(async (tx): Promise<Failure | undefined> => {
    const payment = await lockPayment(tx, payment_id);
    const current = await tx.get<{ status: string }>(`SELECT status FROM operations WHERE id = ? ${tx.forUpdate}`, [op.id]);
    if (current?.status !== "pending") return undefined; // the janitor settled it first
    switch (outcome.kind) {
      case "succeeded":
        await recordOperationSuccess(tx, payment, attempt, op);
        return undefined;
      case "declined":
      case "error":
        await recordOperationFailure(tx, payment, op);
        return {
          status: 402, type: "card_error", code: kind === "capture" ? "capture_failed" : "cancel_failed",
          decline_code: outcome.decline.code, message: outcome.decline.message,
        };
      case "unknown":
        await setOperationStatus(tx, op.id, "unknown", Date.now() + ctx.settings.unknown_inquiry_delay_ms);
        return undefined;
    }
  });
  const view = await readPaymentView(ctx.db, (await loadPayment(ctx.db, merchant_id, payment_id))!);
  return failure ? { ok: false, failure: { ...failure, payment: view } } : ok(view);
}

export async function capturePayment(
  ctx: PaymentsContext,
  merchant_id: string,
  payment_id: string,
  input: { amount_to_capture?: number },
): Promise<Result<PaymentView>> {
  const payment = await loadPayment(ctx.db, merchant_id, payment_id);
  if (!payment) return notFound("payment", payment_id);
  if (payment.status !== "requires_capture") return unexpectedState("payment", payment.status, "capture");
  const amount = input.amount_to_capture ?? payment.amount_capturable;
  if (amount > payment.amount_capturable) {
    return invalid("amount_to_capture", "amount_too_large", `amount_to_capture must not exceed the capturable amount (${payment.amount_capturable}).`);
  }
  return runOperation(ctx, merchant_id, payment_id, "capture", amount);
}

const cancelableDirectly = new Set(["requires_payment_method", "requires_confirmation", "requires_action"]);

export async function cancelPayment(
  ctx: PaymentsContext,
  merchant_id: string,
  payment_id: string,
  input: { cancellation_reason?: string },
): Promise<Result<PaymentView>> {
  const payment = await loadPayment(ctx.db, merchant_id, payment_id);
  if (!payment) return notFound("payment", payment_id);
  // Wallets: the order is closed at the wallet before the payment is canceled (src/methods/wallet).
  if (payment.method_type === "wallet") return cancelWalletPayment(ctx, payment, input);
  if (payment.status === "requires_capture") {
    if (input.cancellation_reason) {
      await ctx.db.transaction(async (tx) => void (await tx.run("UPDATE payments SET cancellation_reason = ? WHERE id = ?", [input.cancellation_reason, payment_id])));
    }
    return runOperation(ctx, merchant_id, payment_id, "void", payment.amount_capturable);
  }
  const result = await ctx.db.transaction(async (tx) => {
    const locked = await lockPayment(tx, payment_id);
    locked.cancellation_reason = input.cancellation_reason ?? "requested_by_customer";
    if (cancelableDirectly.has(locked.status)) {
      // A 3-D Secure challenge finished later is reversed by the resolver: the merchant said no.
      locked.status = "canceled";
      locked.next_action = null;
      await savePayment(tx, locked);
      await emit(tx, locked, "payment.canceled");
      return ok(undefined);
    }
    const inFlight = await tx.get("SELECT id FROM attempts WHERE payment_id = ? AND status IN ('pending', 'unknown')", [payment_id]);
    if (locked.status === "processing" && inFlight) {
      // The outcome is not known yet: remember the wish; the janitor reverses an approval.
      locked.cancel_requested = true;
      await savePayment(tx, locked);
      return ok(undefined);
    }
    return unexpectedState("payment", locked.status, "cancel");
  });
  if (!result.ok) return result;
  return ok(await readPaymentView(ctx.db, (await loadPayment(ctx.db, merchant_id, payment_id))!));
}

/**
 * An authorization not captured within its validity is released: the ledger's pending transfer is
 * voided and the payment canceled (reason `expired`), then the channel is asked to void it too
 * (best effort: the issuer's hold lapses by scheme rules anyway, and a void moves no money).
 */
export async function expireAuthorization(ctx: PaymentsContext, attempt: AttemptRecord): Promise<boolean> {
  const expired = await ctx.db.transaction(async (tx) => {
    const payment = await lockPayment(tx, attempt.payment_id);
    // A capture or void in flight (payment processing) decides the authorization's fate instead.
    if (payment.status !== "requires_capture") return false;
    const claimed = await tx.run(
      "UPDATE attempts SET status = 'expired', authorization_expires_ms = NULL, updated_ms = ? WHERE id = ? AND status = 'authorized'",
      [Date.now(), attempt.id],
    );
    if (claimed.changes !== 1) return false;
    await postRelease(tx, attempt.id, "authorization_expired", `${attempt.id}_expiry`);
    payment.status = "canceled";
    payment.cancellation_reason = "expired";
    payment.amount_capturable = 0;
    await savePayment(tx, payment);
    await emit(tx, payment, "payment.canceled");
    return true;
  });
  if (expired && attempt.channel_reference) {
    await ctx.channels.require(attempt.channel).void({ channel_reference: attempt.channel_reference, reference: `${attempt.id}_expiry`, currency: attempt.currency });
  }
  return expired;
}
