// Refunds: several partial refunds up to the captured amount. The amount is reserved (a pending
// ledger transfer and the payment's amount_refunded) in the same commit that creates the refund,
// under the payment's row lock, so racing refunds can never exceed what was captured. The channel's
// answer posts or voids the reservation; an unknown answer waits for the janitor.
import type { Connector, RefundCallOutcome, RefundDestination, RefundingChannel, RefundRecordAtChannel } from "../channels/contract.ts";
import { invalid, notFound, ok, unexpectedState, type Result } from "../errors.ts";
import { recordEvent, type EventType } from "../events/outbox.ts";
import { newId } from "../ids.ts";
import { toSafeNumber, type Queryable, type Tx } from "../store/db.ts";
import { safetyNetInquiryMs, type PaymentsContext } from "./context.ts";
import { loadAttempts, loadPayment, lockPayment, savePayment, type PaymentRecord } from "./model.ts";
import { pendRefund, settleRefund } from "./postings.ts";
import { listPage, type PageRequest } from "../store/page.ts";
import { checkRefundDestination, maskedDestination } from "../methods/bank-transfer/refund-destination.ts";
import { refundDestinationForMandate } from "../methods/direct-debit/mandates.ts";
import { assert } from "../limits.ts";

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
  /** Paid out to this account (masked), for methods that cannot be paid back by themselves. */
  destination: ReturnType<typeof maskedDestination> | null;
  /** refund: the merchant gives money back. return_of_funds: money that was never the merchant's
   *  (a wrong amount, a transfer after expiry) goes back to the account it came from. */
  kind: RefundKind;
}

export type RefundKind = "refund" | "return_of_funds";

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
    destination: typeof row.destination === "string" ? JSON.parse(row.destination) : null,
    kind: (row.kind as RefundKind | undefined) ?? "refund",
  };
}

export function refundView(refund: RefundRecord) {
  return {
    id: refund.id,
    object: "refund",
    payment: refund.payment_id,
    kind: refund.kind,
    amount: refund.amount,
    currency: refund.currency.toLowerCase(),
    status: refund.status,
    reason: refund.reason,
    failure_reason: refund.failure_reason,
    metadata: refund.metadata,
    ...(refund.destination ? { destination: refund.destination } : {}),
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
  if (!succeeded && refund.kind === "refund") {
    const payment = await lockPayment(tx, refund.payment_id);
    payment.amount_refunded -= refund.amount;
    await savePayment(tx, payment);
  }
  await emitRefund(tx, refund, succeeded ? "refund.succeeded" : "refund.failed");
}

/** A card acquirer seen as a refunding channel: its refunds are in its record of the attempt. */
function cardRefunds(connector: Connector): RefundingChannel {
  return {
    name: connector.name,
    refund: (input) => connector.refund(input),
    async inquireRefund({ reference, attempt_reference, currency }) {
      const record = await connector.inquire(attempt_reference, currency);
      if ("unreachable" in record) return record;
      // The captured attempt itself must be there: not finding it is not an answer about the refund.
      if (!record.found) return { unreachable: true, reason: `the channel has no record of attempt ${attempt_reference}` };
      const atChannel = record.refunds.find((candidate) => candidate.reference === reference);
      if (!atChannel) return { found: false };
      return { found: true, status: atChannel.status === "succeeded" ? "succeeded" : "failed", failure_reason: atChannel.status === "succeeded" ? undefined : "declined" };
    },
  };
}

/** The channel that refunds payments made on `name`: a card acquirer, or a wallet, BNPL provider or bank. */
export function refundingChannel(ctx: PaymentsContext, name: string): RefundingChannel | undefined {
  const card = ctx.channels.get(name);
  return card ? cardRefunds(card) : ctx.refund_channels?.get(name);
}

/** Books what the channel recorded for a refund; a refund still being paid out waits. */
export async function applyRefundRecord(ctx: PaymentsContext, refund: RefundRecord, record: RefundRecordAtChannel): Promise<"done" | "retry_later"> {
  if (record.found && record.status === "pending") return "retry_later";
  await ctx.db.transaction((tx) =>
    settleRefundOutcome(tx, refund, record.found && record.status === "succeeded", record.found ? (record.failure_reason ?? (record.status === "failed" ? "declined" : null)) : "channel_never_received"),
  );
  await afterRefundSettled(ctx, refund);
  return "done";
}

/** Lets the payment's family refresh what it shows once a refund is decided (a BNPL plan shrinks). */
async function afterRefundSettled(ctx: PaymentsContext, refund: RefundRecord): Promise<void> {
  if (!ctx.refund_settled_hooks?.size) return;
  const row = await ctx.db.get<{ method_type: string | null }>("SELECT method_type FROM payments WHERE id = ?", [refund.payment_id]);
  const hook = row?.method_type ? ctx.refund_settled_hooks.get(row.method_type) : undefined;
  if (hook) await hook(ctx, refund.payment_id);
}

/**
 * How a payment of each family is refunded: to the card or wallet it came from, or (bank transfers,
 * debits) paid out to a bank account. Families without a way back answer a value error.
 */
export type RefundRoute = { ok: true; destination?: RefundDestination } | { ok: false; error: Result<never> };

export async function createRefund(
  ctx: PaymentsContext,
  merchant_id: string,
  input: { payment: string; amount?: number; reason?: string; metadata?: Record<string, string>; destination?: RefundDestination },
  idempotency_key?: string,
): Promise<Result<RefundView>> {
  if (idempotency_key) {
    // A retry that took over the key of a request that died mid-way: that refund, never a second one.
    const existing = await ctx.db.get<Record<string, unknown>>("SELECT * FROM refunds WHERE merchant_id = ? AND idempotency_key = ?", [merchant_id, idempotency_key]);
    if (existing) return ok(refundView(refundFromRow(existing)));
  }
  const payment = await loadPayment(ctx.db, merchant_id, input.payment);
  if (!payment) return notFound("payment", input.payment, "payment");
  const attempt = (await loadAttempts(ctx.db, payment.id)).find((candidate) => candidate.status === "captured");
  if (payment.status !== "succeeded" || !attempt) return unexpectedState("payment", payment.status, "refund");
  const route = await refundRoute(ctx, payment, input.destination);
  if (!route.ok) return route.error;
  const channel = refundingChannel(ctx, attempt.channel);
  if (!channel) return invalid("payment", "refund_unsupported", `Payments made on ${attempt.channel} cannot be refunded through this API.`);

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
      created_ms: Date.now(), destination: route.destination ? maskedDestination(route.destination) : null, kind: "refund",
    };
    refund.ledger_pending_id = await pendRefund(tx, refund.id, { merchant_id, channel: attempt.channel, currency: locked.currency, amount });
    await insertRefund(ctx, tx, refund, idempotency_key);
    locked.amount_refunded += amount;
    await savePayment(tx, locked);
    return ok(refund);
  });
  if (!created.ok) return created;
  const refund = created.value;
  await sendRefund(ctx, refund, channel, attempt, route.destination);
  return ok(refundView((await loadRefund(ctx.db, merchant_id, refund.id))!));
}

/** Writes a new pending refund (its ledger reservation already made in `tx`) and its event. */
export async function insertRefund(ctx: PaymentsContext, tx: Tx, refund: RefundRecord, idempotency_key?: string): Promise<void> {
  await tx.run(
    `INSERT INTO refunds (id, payment_id, merchant_id, attempt_id, amount, currency, reason, status, ledger_pending_id, metadata,
       idempotency_key, next_inquiry_ms, created_ms, updated_ms, destination, kind)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
    [refund.id, refund.payment_id, refund.merchant_id, refund.attempt_id, refund.amount, refund.currency, refund.reason, refund.ledger_pending_id,
      JSON.stringify(refund.metadata), idempotency_key ?? null, safetyNetInquiryMs(ctx.settings), refund.created_ms, refund.created_ms,
      refund.destination ? JSON.stringify(refund.destination) : null, refund.kind],
  );
  await emitRefund(tx, refund, "refund.created");
}

/** Calls the channel for a persisted refund and books its answer; a pending or unknown one waits for the janitor. */
export async function sendRefund(
  ctx: PaymentsContext, refund: RefundRecord, channel: RefundingChannel, attempt: { id: string; channel_reference: string | null }, destination?: RefundDestination,
): Promise<void> {
  const outcome: RefundCallOutcome = await channel.refund({
    channel_reference: attempt.channel_reference!, reference: refund.id, attempt_reference: attempt.id, amount: refund.amount, currency: refund.currency,
    destination,
  });
  await ctx.db.transaction(async (tx) => {
    switch (outcome.kind) {
      case "succeeded":
        return settleRefundOutcome(tx, refund, true, null);
      case "declined":
      case "error":
        return settleRefundOutcome(tx, refund, false, outcome.decline.code);
      case "pending":
        // Being paid out: the janitor asks the channel until its record says succeeded or failed.
        await tx.run("UPDATE refunds SET next_inquiry_ms = ? WHERE id = ?", [Date.now() + ctx.settings.unknown_inquiry_delay_ms, refund.id]);
        return;
      case "unknown":
        await tx.run("UPDATE refunds SET next_inquiry_ms = ? WHERE id = ?", [Date.now() + ctx.settings.unknown_inquiry_delay_ms, refund.id]);
        return;
    }
  });
  if (outcome.kind !== "pending" && outcome.kind !== "unknown") await afterRefundSettled(ctx, refund);
}

export async function listRefunds(db: Queryable, merchant_id: string, page: PageRequest & { payment?: string }) {
  const { rows, has_more } = await listPage(db, "refunds", { merchant_id, payment_id: page.payment }, page);
  return { data: rows.map((row) => refundView(refundFromRow(row))), has_more };
}


/**
 * Where a refund of `payment` goes. Cards, wallets and BNPL go back by themselves; a direct debit is
 * paid back to the mandate's account; a bank transfer to the account the merchant names.
 */
async function refundRoute(ctx: PaymentsContext, payment: PaymentRecord, destination: RefundDestination | undefined): Promise<RefundRoute> {
  if (payment.mandate_id) {
    if (destination) return { ok: false, error: invalid("destination", "parameter_unknown", "A direct debit is refunded to the mandate's account; destination applies to bank transfers.") };
    const account = await refundDestinationForMandate(ctx.db, payment.merchant_id, payment.mandate_id);
    assert(account, `the mandate ${payment.mandate_id} of payment ${payment.id} exists`);
    return { ok: true, destination: account };
  }
  if (payment.bank_transfer) {
    if (!destination) {
      return { ok: false, error: invalid("destination", "refund_requires_bank_account", "Refunding a bank transfer pays the money out to the customer's bank account: send destination.") };
    }
    const checked = checkRefundDestination(payment.bank_transfer.instructions.country, destination);
    return checked.ok ? { ok: true, destination: checked.value } : { ok: false, error: checked };
  }
  if (destination) {
    return { ok: false, error: invalid("destination", "parameter_unknown", "This payment is refunded to the method it was paid with; destination applies to bank transfers.") };
  }
  return { ok: true };
}
