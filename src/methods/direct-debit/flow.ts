// Direct-debit payments end to end: a payment collected under a mandate. Every check happens before
// anything is written; then the payment (`processing`), its attempt and the debit (one row per
// presentment) are persisted, and the collection is submitted to the bank. The bank's record is
// applied under the payment's row lock, idempotently (a notice only prompts the inquiry): a
// settlement books the sale (channel receivable → merchant pending) and succeeds the payment; a
// return before settlement fails it; a return after settlement is a new posted reversal (merchant
// pending → channel receivable, keyed by the bank's return id so it never posts twice) and the
// event `payment.returned`. Returns that kill the mandate end it. ACH R01/R09 may be presented
// again, at most twice. The janitor resubmits debits whose answer was lost, inquires those whose
// notice may have been lost, and lapses mandates unused for 36 months.
import type { DebitConnector, DebitRecord, SubmitDebitOutcome } from "../../channels/contract.ts";
import { invalid, notFound, ok, unexpectedState, type Result } from "../../errors.ts";
import { recordEvent } from "../../events/outbox.ts";
import { newId } from "../../ids.ts";
import { postTransfer } from "../../ledger/ledger.ts";
import { assert, limits } from "../../limits.ts";
import { findCurrency } from "../../money/currency.ts";
import { emit } from "../../payments/attempts.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { loadPayment, lockPayment, readPaymentView, savePayment, type PaymentRecord, type PaymentView } from "../../payments/model.ts";
import { postSale } from "../../payments/postings.ts";
import { toSafeNumber, type Queryable, type Tx } from "../../store/db.ts";
import { CREDITOR_ID, endMandateAfterReturn, lapseIfDue, lapseSweep, loadMandate, lockMandate, type MandateRecord } from "./mandates.ts";
import { REPRESENTMENTS_MAX, returnReason } from "./returns.ts";

export interface CreateDirectDebitInput {
  amount: number;
  currency: string;
  mandate: string;
  confirm?: boolean;
  capture_method?: "automatic" | "manual";
  customer?: string;
  description?: string;
  metadata?: Record<string, string>;
}

export type DebitStatus = "submitting" | "pending" | "settled" | "returned" | "failed";
type SequenceType = "FRST" | "RCUR";

/** Longest wait between two inquiries of a debit still open at the bank. */
export const DEBIT_CHECK_INTERVAL_MAX_MS = 3600 * 1000;
/** After settlement, how long returns may still come (ACH unauthorized: 60 days; SEPA Core unauthorized: 13 months; B2B: none). */
const returnWindowMs: Record<MandateRecord["scheme"], number> = {
  ach: 60 * 86_400_000,
  sepa_core: 396 * 86_400_000,
  sepa_b2b: 5 * 86_400_000,
};

interface DebitRow {
  attempt_id: string;
  payment_id: string;
  mandate_id: string;
  merchant_id: string;
  channel: string;
  presentment: number;
  sequence_type: SequenceType | null;
  status: DebitStatus;
  amount: number;
  currency: string;
  channel_reference: string | null;
  settled_ms: number | null;
  checks: number;
  next_check_ms: number | null;
}

function debitFromRow(row: Record<string, unknown>): DebitRow {
  return {
    attempt_id: row.attempt_id as string,
    payment_id: row.payment_id as string,
    mandate_id: row.mandate_id as string,
    merchant_id: row.merchant_id as string,
    channel: row.channel as string,
    presentment: toSafeNumber(row.presentment),
    sequence_type: (row.sequence_type as SequenceType | null) ?? null,
    status: row.status as DebitStatus,
    amount: toSafeNumber(row.amount),
    currency: row.currency as string,
    channel_reference: (row.channel_reference as string | null) ?? null,
    settled_ms: row.settled_ms === null || row.settled_ms === undefined ? null : toSafeNumber(row.settled_ms),
    checks: toSafeNumber(row.checks),
    next_check_ms: row.next_check_ms === null || row.next_check_ms === undefined ? null : toSafeNumber(row.next_check_ms),
  };
}

async function loadDebit(db: Queryable, attempt_id: string): Promise<DebitRow | undefined> {
  const row = await db.get<Record<string, unknown>>("SELECT * FROM debits WHERE attempt_id = ?", [attempt_id]);
  return row ? debitFromRow(row) : undefined;
}

function nextCheckMs(ctx: PaymentsContext, checks: number): number {
  return Date.now() + Math.min(ctx.settings.unknown_inquiry_delay_ms * 2 ** Math.min(checks, 20), DEBIT_CHECK_INTERVAL_MAX_MS);
}

/** What the payment shows of its method (`payment_method_details.direct_debit`). */
function methodDetails(mandate: MandateRecord, sequence_type: SequenceType | null, presentment: number) {
  return {
    scheme: mandate.scheme,
    mandate: mandate.id,
    mandate_reference: mandate.reference,
    last4: mandate.last4,
    ...(mandate.scheme === "ach"
      ? { routing_number: mandate.account.routing_number, account_type: mandate.account.account_type }
      : { country: mandate.account.iban!.slice(0, 2), bic: mandate.account.bic ?? null, creditor_id: CREDITOR_ID }),
    sequence_type,
    presentments: presentment,
    settled_at: null as number | null,
    return: null as null | { reason_code: string; reason: string; after_settlement: boolean; returned_at: number },
  };
}

type MethodDetails = ReturnType<typeof methodDetails>;

async function saveMethodDetails(tx: Tx, payment: PaymentRecord): Promise<void> {
  await tx.run("UPDATE payments SET method_details = ? WHERE id = ?", [JSON.stringify(payment.method_details), payment.id]);
}

/** A mandate that can be collected under now: found, the merchant's, in the payment's currency, active (lapsing it if due). */
async function usableMandate(ctx: PaymentsContext, merchant_id: string, mandate_id: string, currency: string | undefined): Promise<Result<MandateRecord>> {
  const mandate = await loadMandate(ctx.db, merchant_id, mandate_id);
  if (!mandate) return notFound("mandate", mandate_id, "mandate");
  if (currency !== undefined && currency !== mandate.currency) {
    return invalid("currency", "currency_mismatch", `The mandate ${mandate.id} collects in ${mandate.currency.toLowerCase()} (${mandate.scheme}), not '${currency.toLowerCase()}'.`);
  }
  if (mandate.status === "active") {
    const lapsed = await ctx.db.transaction(async (tx) => lapseIfDue(tx, await lockMandate(tx, mandate.id), Date.now()));
    if (lapsed) mandate.status = "lapsed";
  }
  if (mandate.status !== "active") {
    return invalid("mandate", "mandate_inactive", `The mandate ${mandate.id} is ${mandate.status}${mandate.status_reason ? ` (${mandate.status_reason})` : ""}: no collection can be made under it.`);
  }
  return ok(mandate);
}

/** SEPA: FRST when no collection under the mandate went through or is on its way, RCUR after. */
async function sequenceTypeFor(tx: Tx, mandate: MandateRecord): Promise<SequenceType | null> {
  if (mandate.scheme === "ach") return null;
  const earlier = await tx.get("SELECT attempt_id FROM debits WHERE mandate_id = ? AND (status IN ('submitting', 'pending', 'settled') OR settled_ms IS NOT NULL) LIMIT 1", [mandate.id]);
  return earlier ? "RCUR" : "FRST";
}

async function insertDebit(ctx: PaymentsContext, tx: Tx, payment: PaymentRecord, mandate: MandateRecord, channel: string, presentment: number, sequence_type: SequenceType | null): Promise<string> {
  const attempt_id = newId("att");
  const now = Date.now();
  await tx.run(
    `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, amount, currency, capture, routing_reason, routing_strategy,
       routing_scores, next_inquiry_ms, created_ms, updated_ms)
     VALUES (?, ?, ?, ?, 'pending', ?, ?, 1, ?, NULL, NULL, NULL, ?, ?)`,
    [attempt_id, payment.id, payment.merchant_id, channel, payment.amount, payment.currency,
      `direct debit (${mandate.scheme}) under mandate ${mandate.id}: ${channel} collects it${presentment > 1 ? `, presentment ${presentment}` : ""}`, now, now],
  );
  await tx.run(
    `INSERT INTO debits (attempt_id, payment_id, mandate_id, merchant_id, channel, presentment, sequence_type, status, amount, currency,
       collection_date, channel_reference, settled_ms, checks, next_check_ms, created_ms, updated_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'submitting', ?, ?, ?, NULL, NULL, 0, ?, ?, ?)`,
    [attempt_id, payment.id, mandate.id, payment.merchant_id, channel, presentment, sequence_type, payment.amount, payment.currency,
      new Date(now).toISOString().slice(0, 10), now + ctx.settings.channel_timeout_ms + ctx.settings.unknown_inquiry_delay_ms, now, now],
  );
  await tx.run("UPDATE mandates SET last_collection_ms = ?, updated_ms = ? WHERE id = ?", [now, now, mandate.id]);
  return attempt_id;
}

/** Creates and confirms a direct-debit payment under a mandate. Every validation happens before anything is written. */
export async function createDirectDebitPayment(
  ctx: PaymentsContext, merchant_id: string, input: CreateDirectDebitInput, idempotency_key?: string,
): Promise<Result<PaymentView>> {
  if (input.confirm !== true) return invalid("confirm", "confirmation_required", "Direct-debit payments are created confirmed (confirm: true): the collection is submitted at once.");
  if (input.capture_method === "manual") return invalid("capture_method", "capture_method_unsupported", "A direct debit is collected in full: capture_method must be automatic.");
  const currency = findCurrency(input.currency);
  if (!currency) return invalid("currency", "invalid_currency", `Unknown currency '${input.currency}'.`);
  const connector = ctx.debits;
  if (!connector) return invalid("mandate", "no_eligible_channel", "No configured channel collects direct debits.");
  const usable = await usableMandate(ctx, merchant_id, input.mandate, currency.code);
  if (!usable.ok) return usable;

  const now = Date.now();
  const payment: PaymentRecord = {
    id: newId("pay"), merchant_id, status: "processing", amount: input.amount, currency: currency.code, capture_method: "automatic",
    amount_capturable: 0, amount_received: 0, amount_refunded: 0, card_id: null, channel: connector.name,
    customer: input.customer ?? usable.value.customer, description: input.description ?? null, metadata: input.metadata ?? {},
    last_error: null, next_action: null, return_url: null, cancel_requested: false, cancellation_reason: null,
    created_ms: now, method_type: "direct_debit", mandate_id: usable.value.id,
  };
  // Persist, then call: should this process die now, the janitor submits again (idempotent by our attempt reference).
  const created = await ctx.db.transaction(async (tx): Promise<Result<string>> => {
    const mandate = await lockMandate(tx, usable.value.id);
    if (mandate.status !== "active") return invalid("mandate", "mandate_inactive", `The mandate ${mandate.id} is ${mandate.status}.`);
    const sequence_type = await sequenceTypeFor(tx, mandate);
    payment.method_details = methodDetails(mandate, sequence_type, 1);
    await tx.run(
      `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded,
         card_id, channel, customer, description, metadata, idempotency_key, created_ms, updated_ms, method_type, method_details, mandate_id)
       VALUES (?, ?, 'processing', ?, ?, 'automatic', 0, 0, 0, NULL, ?, ?, ?, ?, ?, ?, ?, 'direct_debit', ?, ?)`,
      [payment.id, merchant_id, payment.amount, payment.currency, payment.channel, payment.customer, payment.description,
        JSON.stringify(payment.metadata), idempotency_key ?? null, now, now, JSON.stringify(payment.method_details), mandate.id],
    );
    await recordEvent(tx, { merchant_id, type: "payment.created", object_id: payment.id, object: await readPaymentView(tx, payment) });
    const attempt_id = await insertDebit(ctx, tx, payment, mandate, connector.name, 1, sequence_type);
    await emit(tx, payment, "payment.processing");
    return ok(attempt_id);
  });
  if (!created.ok) return created;
  await submitAndRecord(ctx, connector, created.value);
  return ok(await readPaymentView(ctx.db, (await loadPayment(ctx.db, merchant_id, payment.id))!));
}

/** Submits (or submits again: idempotent) a persisted debit and records the answer. */
async function submitAndRecord(ctx: PaymentsContext, connector: DebitConnector, attempt_id: string): Promise<void> {
  const debit = await loadDebit(ctx.db, attempt_id);
  assert(debit, `debit ${attempt_id} exists`);
  const mandate = await loadMandate(ctx.db, debit.merchant_id, debit.mandate_id);
  assert(mandate, `mandate ${debit.mandate_id} exists`);
  const started = performance.now();
  const outcome = await connector.submitDebit({
    reference: attempt_id, scheme: mandate.scheme, ...(debit.sequence_type ? { sequence_type: debit.sequence_type } : {}),
    presentment: debit.presentment, amount: debit.amount, currency: debit.currency,
    mandate: { reference: mandate.reference, signed_at_ms: mandate.accepted_ms, ...(mandate.scheme === "ach" ? {} : { creditor_id: CREDITOR_ID }) },
    account: mandate.account,
  });
  await ctx.db.transaction((tx) => recordSubmitOutcome(ctx, tx, debit, outcome, Math.round(performance.now() - started)));
}

async function recordSubmitOutcome(ctx: PaymentsContext, tx: Tx, submitted: DebitRow, outcome: SubmitDebitOutcome, latency_ms: number): Promise<void> {
  const payment = await lockPayment(tx, submitted.payment_id);
  const debit = await loadDebit(tx, submitted.attempt_id);
  if (debit?.status !== "submitting") return; // recorded already (the janitor's resubmission, an inquiry)
  const now = Date.now();
  switch (outcome.kind) {
    case "accepted":
      await tx.run("UPDATE debits SET status = 'pending', channel_reference = ?, next_check_ms = ?, updated_ms = ? WHERE attempt_id = ?", [
        outcome.channel_reference, nextCheckMs(ctx, debit.checks), now, debit.attempt_id,
      ]);
      await tx.run("UPDATE attempts SET channel_reference = ?, latency_ms = ?, updated_ms = ? WHERE id = ?", [outcome.channel_reference, latency_ms, now, debit.attempt_id]);
      return;
    case "error":
      await tx.run("UPDATE debits SET status = 'failed', next_check_ms = NULL, updated_ms = ? WHERE attempt_id = ?", [now, debit.attempt_id]);
      await tx.run("UPDATE attempts SET status = 'failed', decline_code = 'processing_error', decline_category = 'technical', raw_code = ?, latency_ms = ?, updated_ms = ? WHERE id = ?", [
        outcome.reason.slice(0, 200), latency_ms, now, debit.attempt_id,
      ]);
      if (payment.status !== "processing") return;
      payment.status = "failed";
      payment.last_error = { type: "api_error", code: "processing_error", message: "The bank did not accept the collection.", attempt: debit.attempt_id };
      await savePayment(tx, payment);
      await emit(tx, payment, "payment.failed");
      return;
    case "unknown":
      // Still `submitting`: the janitor submits it again (idempotent at the bank).
      await tx.run("UPDATE attempts SET latency_ms = ?, updated_ms = ? WHERE id = ?", [latency_ms, now, debit.attempt_id]);
      return;
  }
}

/** The collection settled: the money is the merchant's (booked like a sale), the payment succeeds. */
async function applySettlement(tx: Tx, payment: PaymentRecord, debit: DebitRow, settled_at_ms: number): Promise<void> {
  await postSale(tx, debit.attempt_id, { merchant_id: payment.merchant_id, channel: debit.channel, currency: payment.currency, amount: debit.amount });
  debit.status = "settled";
  debit.settled_ms = settled_at_ms;
  await tx.run("UPDATE debits SET status = 'settled', settled_ms = ?, updated_ms = ? WHERE attempt_id = ?", [settled_at_ms, Date.now(), debit.attempt_id]);
  await tx.run("UPDATE attempts SET status = 'captured', updated_ms = ? WHERE id = ?", [Date.now(), debit.attempt_id]);
  (payment.method_details as MethodDetails).settled_at = Math.floor(settled_at_ms / 1000);
  payment.status = "succeeded";
  payment.amount_received = payment.amount;
  payment.last_error = null;
  await savePayment(tx, payment);
  await saveMethodDetails(tx, payment);
  await emit(tx, payment, "payment.succeeded");
}

/** The collection came back. Before settlement the payment fails; after it, the sale is reversed. */
async function applyReturn(tx: Tx, payment: PaymentRecord, debit: DebitRow, returned: { id: string; reason_code: string; returned_at_ms: number }): Promise<void> {
  const seen = await tx.get("SELECT return_id FROM debit_returns WHERE channel = ? AND return_id = ?", [debit.channel, returned.id]);
  if (seen) return; // applied already: a duplicate notice or a second inquiry
  const after_settlement = debit.status === "settled";
  const reason = returnReason(returned.reason_code);
  const now = Date.now();
  await tx.run(
    `INSERT INTO debit_returns (channel, return_id, attempt_id, payment_id, reason_code, amount, after_settlement, returned_ms, created_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [debit.channel, returned.id, debit.attempt_id, payment.id, reason.code, debit.amount, after_settlement ? 1 : 0, returned.returned_at_ms, now],
  );
  if (after_settlement) {
    const reversal = await postTransfer(tx, {
      debit: { owner: payment.merchant_id, currency: payment.currency, purpose: "merchant_pending" },
      credit: { owner: debit.channel, currency: payment.currency, purpose: "channel_receivable" },
      amount: BigInt(debit.amount), code: "debit_return", ref: returned.id,
    });
    assert(reversal.ok, "a debit return between unflagged accounts always posts");
  }
  debit.status = "returned";
  await tx.run("UPDATE debits SET status = 'returned', next_check_ms = NULL, updated_ms = ? WHERE attempt_id = ?", [now, debit.attempt_id]);
  await tx.run("UPDATE attempts SET status = ?, decline_code = ?, decline_category = ?, raw_code = ?, updated_ms = ? WHERE id = ?", [
    after_settlement ? "reversed" : "failed", reason.code, reason.may_represent ? "soft" : "hard", reason.code, now, debit.attempt_id,
  ]);
  (payment.method_details as MethodDetails).return = {
    reason_code: reason.code, reason: reason.description, after_settlement, returned_at: Math.floor(returned.returned_at_ms / 1000),
  };
  payment.status = "failed";
  payment.last_error = {
    type: "bank_error", code: after_settlement ? "debit_returned" : "debit_failed", decline_code: reason.code,
    message: `${reason.description} (${reason.code})${after_settlement ? ": the settled collection was returned and the merchant's funds reversed" : ""}.`,
    attempt: debit.attempt_id,
  };
  await savePayment(tx, payment);
  await saveMethodDetails(tx, payment);
  await emit(tx, payment, after_settlement ? "payment.returned" : "payment.failed");
  if (reason.ends_mandate) await endMandateAfterReturn(tx, debit.mandate_id, reason.code);
}

/** Applies the bank's record of one presentment, once, under the payment's row lock. */
export async function applyDebitRecord(ctx: PaymentsContext, attempt_id: string, record: DebitRecord): Promise<void> {
  const known = await loadDebit(ctx.db, attempt_id);
  assert(known, `debit ${attempt_id} exists`);
  await ctx.db.transaction(async (tx) => {
    const payment = await lockPayment(tx, known.payment_id);
    const debit = (await loadDebit(tx, attempt_id))!;
    if (!record.found) return; // never received (submitting: the janitor submits it again)
    assert(record.amount === debit.amount && record.currency === debit.currency, `the bank's debit ${record.channel_reference} matches ours`);
    if (debit.status === "submitting") {
      debit.status = "pending";
      await tx.run("UPDATE debits SET status = 'pending', channel_reference = ?, updated_ms = ? WHERE attempt_id = ?", [record.channel_reference, Date.now(), attempt_id]);
      await tx.run("UPDATE attempts SET channel_reference = COALESCE(channel_reference, ?) WHERE id = ?", [record.channel_reference, attempt_id]);
    }
    if (record.settled_at_ms !== undefined && debit.status === "pending") await applySettlement(tx, payment, debit, record.settled_at_ms);
    if (record.return && (debit.status === "pending" || debit.status === "settled")) await applyReturn(tx, payment, debit, record.return);
    const scheme = (payment.method_details as MethodDetails | null)?.scheme ?? "ach";
    const open = debit.status === "pending" || (debit.status === "settled" && Date.now() < (debit.settled_ms ?? 0) + returnWindowMs[scheme]);
    await tx.run("UPDATE debits SET next_check_ms = ?, updated_ms = ? WHERE attempt_id = ?", [open ? nextCheckMs(ctx, debit.checks) : null, Date.now(), attempt_id]);
  });
}

/** A verified notice from the bank about a debit: ask for its record, apply it. */
export async function handleDebitNotification(ctx: PaymentsContext, connector: DebitConnector, reference: string): Promise<"done" | "retry_later" | "unknown_reference"> {
  const debit = await ctx.db.get<{ attempt_id: string }>("SELECT attempt_id FROM debits WHERE attempt_id = ? AND channel = ?", [reference, connector.name]);
  if (!debit) return "unknown_reference";
  const record = await connector.inquireDebit(debit.attempt_id);
  if ("unreachable" in record) return "retry_later";
  await applyDebitRecord(ctx, debit.attempt_id, record);
  return "done";
}

/** ACH R01/R09: the merchant presents the returned debit again (at most twice), under the same mandate. */
export async function representDebitPayment(ctx: PaymentsContext, merchant_id: string, payment_id: string): Promise<Result<PaymentView>> {
  const found = await loadPayment(ctx.db, merchant_id, payment_id);
  if (!found) return notFound("payment", payment_id);
  if (found.method_type !== "direct_debit" || !found.mandate_id) return invalid(undefined, "payment_method_unsupported", "Only direct-debit payments can be presented again.");
  if (found.status !== "failed") return unexpectedState("payment", found.status, "present again");
  const connector = ctx.debits;
  if (!connector) return invalid(undefined, "no_eligible_channel", "No configured channel collects direct debits.");
  const lastRow = await ctx.db.get<Record<string, unknown>>("SELECT * FROM debits WHERE payment_id = ? ORDER BY presentment DESC LIMIT 1", [payment_id]);
  assert(lastRow, `a direct-debit payment ${payment_id} has a debit`);
  const last = debitFromRow(lastRow);
  const returned = await ctx.db.get<{ reason_code: string }>("SELECT reason_code FROM debit_returns WHERE attempt_id = ?", [last.attempt_id]);
  const code = returned?.reason_code;
  if (last.status !== "returned" || !code || !returnReason(code).may_represent) {
    return invalid(undefined, "representment_not_allowed", `Only debits returned with R01 or R09 may be presented again; this one ${code ? `was returned with ${code}` : "was not returned"}.`);
  }
  if (last.presentment >= 1 + REPRESENTMENTS_MAX) {
    return invalid(undefined, "representments_exhausted", `A debit may be presented again at most ${REPRESENTMENTS_MAX} times.`);
  }
  const usable = await usableMandate(ctx, merchant_id, found.mandate_id, undefined);
  if (!usable.ok) return usable;
  const presented = await ctx.db.transaction(async (tx): Promise<Result<string>> => {
    const payment = await lockPayment(tx, payment_id);
    const latest = await tx.get<{ presentment: unknown }>("SELECT MAX(presentment) AS presentment FROM debits WHERE payment_id = ?", [payment_id]);
    if (payment.status !== "failed" || toSafeNumber(latest?.presentment) !== last.presentment) return unexpectedState("payment", payment.status, "present again");
    const mandate = await lockMandate(tx, usable.value.id);
    if (mandate.status !== "active") return invalid("mandate", "mandate_inactive", `The mandate ${mandate.id} is ${mandate.status}.`);
    const attempt_id = await insertDebit(ctx, tx, payment, mandate, connector.name, last.presentment + 1, null);
    const details = payment.method_details as MethodDetails;
    details.presentments = last.presentment + 1;
    details.return = null;
    payment.status = "processing";
    payment.last_error = null;
    await savePayment(tx, payment);
    await saveMethodDetails(tx, payment);
    await emit(tx, payment, "payment.processing");
    return ok(attempt_id);
  });
  if (!presented.ok) return presented;
  await submitAndRecord(ctx, connector, presented.value);
  return ok(await readPaymentView(ctx.db, (await loadPayment(ctx.db, merchant_id, payment_id))!));
}

/** Takes a due debit for this process: only one process's compare-and-set succeeds. */
async function claim(ctx: PaymentsContext, debit: DebitRow): Promise<boolean> {
  const result = await ctx.db.transaction((tx) =>
    tx.run("UPDATE debits SET next_check_ms = ?, checks = checks + 1 WHERE attempt_id = ? AND next_check_ms = ?", [
      nextCheckMs(ctx, debit.checks + 1), debit.attempt_id, debit.next_check_ms,
    ]),
  );
  return result.changes === 1;
}

/**
 * Janitor: debits whose submission answer was lost (submitted again, idempotent by reference),
 * debits open at the bank whose notice may have been lost (inquired), and lapsed mandates.
 */
export async function directDebitJanitorTick(ctx: PaymentsContext): Promise<number> {
  const connector = ctx.debits;
  if (!connector) return 0;
  const rows = await ctx.db.all<Record<string, unknown>>(
    "SELECT * FROM debits WHERE next_check_ms IS NOT NULL AND next_check_ms <= ? ORDER BY next_check_ms LIMIT ?",
    [Date.now(), limits.janitor_batch_max],
  );
  let handled = 0;
  for (const debit of rows.map(debitFromRow)) {
    if (debit.channel !== connector.name || !(await claim(ctx, debit))) continue;
    if (debit.status === "submitting") await submitAndRecord(ctx, connector, debit.attempt_id);
    const record = await connector.inquireDebit(debit.attempt_id);
    if ("unreachable" in record) continue; // ask again at the next check, never assume
    await applyDebitRecord(ctx, debit.attempt_id, record);
    handled++;
  }
  return handled + (await lapseSweep(ctx));
}
