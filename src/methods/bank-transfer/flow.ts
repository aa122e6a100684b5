// Bank transfers end to end: the payment and its attempt are persisted, then the collection channel
// opens a collection (a VA, a CLABE, a Pix charge) and the payment waits in `requires_action` with
// the instructions. Every transfer the channel reports is applied once (keyed by the channel's
// transfer id) under the payment's row lock, from the channel's own record (a notification only
// prompts the inquiry), following the merchant's policy for wrong amounts. Money that is not the
// merchant's (wrong amount under `reject`, an excess, a transfer after expiry or after the payment
// completed) is booked and owed back to the customer (`customer_refunds_due`). Notifications can
// be lost: the janitor asks the bank again about each collection, open or recently closed, with a
// backoff that grows with its age.
import type { CollectionConnector, CollectionRecord, OpenCollectionOutcome, ReceivedTransfer } from "../../channels/contract.ts";
import { invalid, ok, type Result } from "../../errors.ts";
import { recordEvent } from "../../events/outbox.ts";
import { newId } from "../../ids.ts";
import { postTransfer } from "../../ledger/ledger.ts";
import { assert, limits } from "../../limits.ts";
import { findCurrency } from "../../money/currency.ts";
import { emit } from "../../payments/attempts.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import {
  loadPayment, lockPayment, paymentFromRow, readPaymentView, savePayment,
  type AmountMismatchPolicy, type BankTransferInstructions, type PaymentRecord, type PaymentView,
} from "../../payments/model.ts";
import { postSale } from "../../payments/postings.ts";
import { toSafeNumber, type Tx } from "../../store/db.ts";
import { clabeBankCodes, clabeForPayment } from "./clabe.ts";
import { buildPixPayload, txidFor } from "./pix.ts";
import { returnOwedFundsTick } from "./return-of-funds.ts";
import { makeVirtualAccount, vaBankPrefixes } from "./va.ts";
import { virtualAccountJanitorTick } from "./virtual-accounts.ts";
import { handleVirtualAccountNotification } from "./virtual-accounts-apply.ts";
import { closed_inquiry_window_ms, inquiry_interval_max_ms } from "./virtual-accounts-model.ts";

export interface BankTransferInput {
  type: "bank_transfer";
  bank_transfer: { country: string; bank?: string; expires_in?: number };
}

export interface CreateBankTransferInput {
  amount: number;
  currency: string;
  payment_method_data: BankTransferInput;
  confirm?: boolean;
  capture_method?: "automatic" | "manual";
  amount_mismatch_policy?: AmountMismatchPolicy;
  customer?: string;
  description?: string;
  metadata?: Record<string, string>;
  return_url?: string;
}

const param = "payment_method_data.bank_transfer";

interface CountryRule {
  type: BankTransferInstructions["type"];
  currency: string;
  banks: readonly string[];
  default_bank: string;
  default_expiry_s: number;
}

export const countryRules: Readonly<Record<string, CountryRule>> = {
  ID: { type: "id_virtual_account", currency: "IDR", banks: Object.keys(vaBankPrefixes), default_bank: "bca", default_expiry_s: 24 * 3600 },
  MX: { type: "mx_clabe", currency: "MXN", banks: Object.keys(clabeBankCodes), default_bank: "stp", default_expiry_s: 24 * 3600 },
  BR: { type: "br_pix", currency: "BRL", banks: ["sandboxbank"], default_bank: "sandboxbank", default_expiry_s: 86_400 },
};

/** The receiving Pix key and merchant fields of the sandbox PSP. */
export const pixReceiver = { key: "pix@corridor.example", merchant_name: "Corridor Sandbox", merchant_city: "Sao Paulo" };

export function instructionsFor(
  rule: CountryRule, country: string, bank: string, payment: { id: string; merchant_id: string; amount: number; currency: string }, expires_ms: number,
): BankTransferInstructions {
  const base = { type: rule.type, country, bank, amount: payment.amount, currency: payment.currency.toLowerCase(), expires_at: Math.floor(expires_ms / 1000) };
  switch (rule.type) {
    case "id_virtual_account":
      return { ...base, account_number: makeVirtualAccount(bank, payment.merchant_id, payment.id) };
    case "mx_clabe":
      return { ...base, clabe: clabeForPayment(bank, payment.id) };
    case "br_pix": {
      const txid = txidFor(payment.id);
      return { ...base, txid, pix_copy_paste: buildPixPayload({ ...pixReceiver, amount: payment.amount, txid }) };
    }
  }
}

function accountOf(instructions: BankTransferInstructions): string {
  return instructions.account_number ?? instructions.clabe ?? instructions.txid!;
}

/** Creates and confirms a bank-transfer payment. Every validation happens before anything is written. */
export async function createBankTransferPayment(
  ctx: PaymentsContext, merchant_id: string, input: CreateBankTransferInput, idempotency_key?: string,
): Promise<Result<PaymentView>> {
  const details = input.payment_method_data.bank_transfer;
  const country = details.country.toUpperCase();
  const rule = countryRules[country];
  if (!rule) return invalid(`${param}.country`, "country_unsupported", `Bank transfers are supported in ${Object.keys(countryRules).join(", ")}, not '${details.country}'.`);
  const currency = findCurrency(input.currency);
  if (!currency || currency.code !== rule.currency) {
    return invalid("currency", "currency_mismatch", `Bank transfers in ${country} are in ${rule.currency.toLowerCase()}, not '${input.currency}'.`);
  }
  const bank = (details.bank ?? rule.default_bank).toLowerCase();
  if (!rule.banks.includes(bank)) return invalid(`${param}.bank`, "bank_unsupported", `Banks for ${country}: ${rule.banks.join(", ")}.`);
  if (input.confirm !== true) return invalid("confirm", "confirmation_required", "Bank-transfer payments are created confirmed (confirm: true): the instructions are issued at once.");
  if (input.capture_method === "manual") return invalid("capture_method", "capture_method_unsupported", "Bank transfers are captured when the money arrives: capture_method must be automatic.");
  const connector = ctx.collections?.forCountry(country);
  if (!connector) return invalid("payment_method_data", "no_eligible_channel", `No configured channel collects bank transfers in ${country}.`);

  const now = Date.now();
  const expires_ms = now + (details.expires_in ?? rule.default_expiry_s) * 1000;
  const payment: PaymentRecord = {
    id: newId("pay"), merchant_id, status: "processing", amount: input.amount, currency: currency.code, capture_method: "automatic",
    amount_capturable: 0, amount_received: 0, amount_refunded: 0, card_id: null, channel: null,
    customer: input.customer ?? null, description: input.description ?? null, metadata: input.metadata ?? {},
    last_error: null, next_action: null, return_url: input.return_url ?? null, cancel_requested: false, cancellation_reason: null,
    created_ms: now, method_type: "bank_transfer",
  };
  const instructions = instructionsFor(rule, country, bank, payment, expires_ms);
  payment.bank_transfer = { instructions, amount_mismatch_policy: input.amount_mismatch_policy ?? "reject", expires_ms, amount_refund_due: 0 };
  const attempt_id = newId("att");
  // Persist, then call: should this process die now, the janitor opens the collection again (the
  // channel's open is idempotent by our attempt reference).
  await ctx.db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded,
         card_id, customer, description, metadata, return_url, idempotency_key, created_ms, updated_ms,
         method_type, bank_transfer_instructions, amount_mismatch_policy, expires_ms, amount_refund_due)
       VALUES (?, ?, ?, ?, ?, 'automatic', 0, 0, 0, NULL, ?, ?, ?, ?, ?, ?, ?, 'bank_transfer', ?, ?, ?, 0)`,
      [
        payment.id, merchant_id, payment.status, payment.amount, payment.currency, payment.customer, payment.description,
        JSON.stringify(payment.metadata), payment.return_url, idempotency_key ?? null, now, now,
        JSON.stringify(instructions), payment.bank_transfer!.amount_mismatch_policy, expires_ms,
      ],
    );
    await recordEvent(tx, { merchant_id, type: "payment.created", object_id: payment.id, object: await readPaymentView(tx, payment) });
    await tx.run(
      `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, amount, currency, capture, routing_reason, routing_strategy,
         routing_scores, next_inquiry_ms, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, 1, ?, NULL, NULL, NULL, ?, ?)`,
      [attempt_id, payment.id, merchant_id, connector.name, payment.amount, payment.currency,
        `bank transfer in ${country}: ${connector.name} collects there`, now, now],
    );
  });
  await openAndRecord(ctx, connector, payment.id, attempt_id);
  return ok(await readPaymentView(ctx.db, (await loadPayment(ctx.db, merchant_id, payment.id))!));
}

/** Opens (or re-opens: idempotent) the collection of a persisted attempt and records the answer. */
async function openAndRecord(ctx: PaymentsContext, connector: CollectionConnector, payment_id: string, attempt_id: string): Promise<void> {
  const row = await ctx.db.get<Record<string, unknown>>("SELECT * FROM payments WHERE id = ?", [payment_id]);
  assert(row, `payment ${payment_id} exists`);
  const fields = paymentFromRow(row).bank_transfer!;
  const started = performance.now();
  const outcome = await connector.openCollection({
    reference: attempt_id, kind: fields.instructions.type, account: accountOf(fields.instructions), bank: fields.instructions.bank,
    amount: Number(row.amount), currency: row.currency as string, expires_at_ms: fields.expires_ms,
  });
  await ctx.db.transaction((tx) => recordOpenOutcome(tx, payment_id, attempt_id, outcome, Math.round(performance.now() - started)));
}

async function recordOpenOutcome(tx: Tx, payment_id: string, attempt_id: string, outcome: OpenCollectionOutcome, latency_ms: number): Promise<void> {
  const payment = await lockPayment(tx, payment_id);
  const attempt = await tx.get<{ status: string }>(`SELECT status FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt_id]);
  if (attempt?.status !== "pending") return; // recorded already (a janitor's re-open, a transfer)
  const now = Date.now();
  switch (outcome.kind) {
    case "opened": {
      await tx.run("UPDATE attempts SET status = 'requires_action', channel_reference = ?, latency_ms = ?, updated_ms = ? WHERE id = ?", [
        outcome.channel_reference, latency_ms, now, attempt_id,
      ]);
      if (payment.status !== "processing") return; // canceled meanwhile: later transfers go to refunds due
      if (payment.cancel_requested) {
        // The merchant canceled while the collection was being opened: any transfer to it is owed back.
        payment.status = "canceled";
        await savePayment(tx, payment);
        await emit(tx, payment, "payment.canceled");
        return;
      }
      payment.status = "requires_action";
      payment.channel = (await tx.get<{ channel: string }>("SELECT channel FROM attempts WHERE id = ?", [attempt_id]))!.channel;
      payment.next_action = { type: "display_bank_transfer_instructions", display_bank_transfer_instructions: payment.bank_transfer!.instructions };
      await savePayment(tx, payment);
      await emit(tx, payment, "payment.requires_action");
      return;
    }
    case "error": {
      await tx.run("UPDATE attempts SET status = 'failed', decline_code = 'processing_error', decline_category = 'technical', raw_code = ?, latency_ms = ?, updated_ms = ? WHERE id = ?", [
        outcome.reason.slice(0, 200), latency_ms, now, attempt_id,
      ]);
      if (payment.status !== "processing") return;
      payment.status = "failed";
      payment.last_error = { type: "api_error", code: "processing_error", message: "The bank could not issue the transfer instructions.", attempt: attempt_id };
      await savePayment(tx, payment);
      await emit(tx, payment, "payment.failed");
      return;
    }
    case "unknown":
      // Still `pending`: the janitor opens it again (idempotent at the channel).
      await tx.run("UPDATE attempts SET status = 'pending', latency_ms = ?, updated_ms = ? WHERE id = ?", [latency_ms, now, attempt_id]);
      return;
  }
}

type Disposition = "applied" | "partially_applied" | "refund_due_amount_mismatch" | "refund_due_late" | "refund_due_closed" | "refund_due_unpaid_balance";

/** How much of one transfer goes to the payment, and how much is owed back, by the merchant's policy. */
function dispose(payment: PaymentRecord, transfer: ReceivedTransfer): { applied: number; refund_due: number; disposition: Disposition; expire: boolean } {
  const fields = payment.bank_transfer!;
  const open = (payment.status === "requires_action" || payment.status === "processing") && !payment.cancel_requested;
  if (!open) return { applied: 0, refund_due: transfer.amount, disposition: "refund_due_closed", expire: false };
  if (transfer.received_at_ms > fields.expires_ms) return { applied: 0, refund_due: transfer.amount, disposition: "refund_due_late", expire: true };
  const remaining = payment.amount - payment.amount_received;
  const refuse = { applied: 0, refund_due: transfer.amount, disposition: "refund_due_amount_mismatch" as const, expire: false };
  switch (fields.amount_mismatch_policy) {
    case "reject":
      return transfer.amount === remaining ? { applied: transfer.amount, refund_due: 0, disposition: "applied", expire: false } : refuse;
    case "accept_partial": {
      const applied = Math.min(transfer.amount, remaining);
      return { applied, refund_due: transfer.amount - applied, disposition: applied === remaining ? "applied" : "partially_applied", expire: false };
    }
    case "accept_and_refund_excess":
      return transfer.amount >= remaining ? { applied: remaining, refund_due: transfer.amount - remaining, disposition: "applied", expire: false } : refuse;
  }
}

/**
 * Applies the channel's record of a collection: each transfer not seen before, once, in the order
 * received; then, when `expire_now` and the instructions have expired unpaid, cancels the payment.
 */
export async function applyCollectionRecord(
  ctx: PaymentsContext, attempt_id: string, record: CollectionRecord, options: { expire_now: boolean },
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const attemptRow = await tx.get<{ payment_id: string; channel: string }>("SELECT payment_id, channel FROM attempts WHERE id = ?", [attempt_id]);
    assert(attemptRow, `attempt ${attempt_id} exists`);
    const payment = await lockPayment(tx, attemptRow.payment_id);
    assert(payment.bank_transfer, `payment ${payment.id} is a bank transfer`);
    const fields = payment.bank_transfer;
    const transfers = record.found ? [...record.transfers].sort((a, b) => a.received_at_ms - b.received_at_ms || a.id.localeCompare(b.id)) : [];
    const before = payment.status;
    for (const transfer of transfers) {
      const seen = await tx.get("SELECT transfer_id FROM bank_transfers_received WHERE channel = ? AND transfer_id = ?", [attemptRow.channel, transfer.id]);
      if (seen) continue; // applied already: a duplicate notification or a second inquiry
      const outcome = dispose(payment, transfer);
      const movement = { merchant_id: payment.merchant_id, channel: attemptRow.channel, currency: payment.currency, amount: transfer.amount };
      // The money arrived at the channel: booked in full; what is not the merchant's is owed back at once.
      await postSale(tx, transfer.id, movement);
      if (outcome.refund_due > 0) {
        const owed = await postTransfer(tx, {
          debit: { owner: payment.merchant_id, currency: payment.currency, purpose: "merchant_pending" },
          credit: { owner: payment.merchant_id, currency: payment.currency, purpose: "customer_refunds_due" },
          amount: BigInt(outcome.refund_due), code: "refund_due", ref: transfer.id,
        });
        assert(owed.ok, "a refund-due transfer between unflagged accounts always posts");
      }
      await tx.run(
        `INSERT INTO bank_transfers_received (channel, transfer_id, payment_id, attempt_id, amount, amount_applied, amount_refund_due, disposition, received_ms, created_ms, sender)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [attemptRow.channel, transfer.id, payment.id, attempt_id, transfer.amount, outcome.applied, outcome.refund_due, outcome.disposition, transfer.received_at_ms, Date.now(),
          transfer.sender ? JSON.stringify(transfer.sender) : null],
      );
      payment.amount_received += outcome.applied;
      fields.amount_refund_due += outcome.refund_due;
      if (outcome.expire) expire(payment);
      else if (outcome.applied > 0 && payment.amount_received === payment.amount) {
        payment.status = "succeeded";
        payment.next_action = null;
        payment.channel = attemptRow.channel;
      }
    }
    const expiredUnpaid = options.expire_now && (payment.status === "requires_action" || payment.status === "processing") && !payment.cancel_requested && Date.now() > fields.expires_ms;
    if (expiredUnpaid) expire(payment);
    if (payment.status === "canceled" && payment.amount_received > 0) await oweBackPartialPayment(tx, payment);
    await savePayment(tx, payment);
    await tx.run("UPDATE payments SET amount_refund_due = ? WHERE id = ?", [fields.amount_refund_due, payment.id]);
    if (payment.status !== before) {
      const attemptStatus = payment.status === "succeeded" ? "captured" : "expired";
      await tx.run("UPDATE attempts SET status = ?, channel_reference = COALESCE(channel_reference, ?), next_inquiry_ms = NULL, updated_ms = ? WHERE id = ?", [
        attemptStatus, record.found ? record.channel_reference : null, Date.now(), attempt_id,
      ]);
      await emit(tx, payment, payment.status === "succeeded" ? "payment.succeeded" : "payment.canceled");
    }
  });
}

/**
 * A payment closed (expired, or canceled by the merchant) after part of its amount was paid under
 * accept_partial: it will never succeed, so it can never be refunded, and the part paid is not the
 * merchant's. Each transfer applied to it is owed back in full (and paid back by the janitor).
 */
async function oweBackPartialPayment(tx: Tx, payment: PaymentRecord): Promise<void> {
  const fields = payment.bank_transfer!;
  const rows = await tx.all<{ transfer_id: string; amount_applied: unknown; amount_refund_due: unknown }>(
    "SELECT transfer_id, amount_applied, amount_refund_due FROM bank_transfers_received WHERE payment_id = ? AND amount_applied > 0 ORDER BY received_ms, transfer_id",
    [payment.id],
  );
  let released = 0;
  for (const row of rows) {
    const applied = toSafeNumber(row.amount_applied);
    // Only a transfer that completes the payment is both applied and owed in part (an excess).
    assert(toSafeNumber(row.amount_refund_due) === 0, `transfer ${row.transfer_id} of the unpaid payment ${payment.id} owes nothing yet`);
    const owed = await postTransfer(tx, {
      debit: { owner: payment.merchant_id, currency: payment.currency, purpose: "merchant_pending" },
      credit: { owner: payment.merchant_id, currency: payment.currency, purpose: "customer_refunds_due" },
      amount: BigInt(applied), code: "refund_due", ref: row.transfer_id,
    });
    assert(owed.ok, "a refund-due transfer between unflagged accounts always posts");
    await tx.run(
      "UPDATE bank_transfers_received SET amount_applied = 0, amount_refund_due = ?, disposition = 'refund_due_unpaid_balance' WHERE transfer_id = ? AND payment_id = ?",
      [applied, row.transfer_id, payment.id],
    );
    released += applied;
  }
  assert(released === payment.amount_received, `the transfers of ${payment.id} account for its ${payment.amount_received} received`);
  payment.amount_received = 0;
  fields.amount_refund_due += released;
}

function expire(payment: PaymentRecord): void {
  payment.status = "canceled";
  payment.cancellation_reason = "expired";
  payment.next_action = null;
}

async function inquire(connector: CollectionConnector, attempt_id: string): Promise<CollectionRecord | undefined> {
  const record = await connector.inquireCollection(attempt_id);
  return "unreachable" in record ? undefined : record;
}

/** A verified notification from a collection channel: ask for its record, apply it. */
export async function handleCollectionNotification(ctx: PaymentsContext, connector: CollectionConnector, reference: string): Promise<"done" | "retry_later" | "unknown_reference"> {
  if (reference.startsWith("va_")) return handleVirtualAccountNotification(ctx, connector, reference); // a reusable virtual account
  const attempt = await ctx.db.get<{ id: string }>("SELECT id FROM attempts WHERE id = ? AND channel = ?", [reference, connector.name]);
  if (!attempt) return "unknown_reference";
  const record = await inquire(connector, attempt.id);
  if (!record) return "retry_later";
  await applyCollectionRecord(ctx, attempt.id, record, { expire_now: false });
  return "done";
}

/**
 * Janitor: bank-transfer payments whose instructions expired unpaid (the channel is asked first:
 * a transfer whose notification was lost is applied, never assumed absent), collections whose
 * opening answer was lost (opened again), and payments the merchant canceled after part was paid
 * (that part is owed back).
 */
export async function bankTransferJanitorTick(ctx: PaymentsContext): Promise<number> {
  if (!ctx.collections) return 0;
  const now = Date.now();
  const stale = now - ctx.settings.channel_timeout_ms - ctx.settings.unknown_inquiry_delay_ms;
  const rows = await ctx.db.all<{ id: string; status: string; attempt_id: string; channel: string; attempt_status: string }>(
    `SELECT p.id AS id, p.status AS status, a.id AS attempt_id, a.channel AS channel, a.status AS attempt_status
       FROM payments p JOIN attempts a ON a.payment_id = p.id
      WHERE p.method_type = 'bank_transfer' AND p.expires_ms IS NOT NULL
        AND ((p.status IN ('requires_action', 'processing') AND p.expires_ms <= ?) OR (p.status = 'processing' AND a.status = 'pending' AND a.updated_ms <= ?)
          OR (p.status = 'canceled' AND p.amount_received > 0))
      ORDER BY p.expires_ms LIMIT ?`,
    [now, stale, limits.janitor_batch_max],
  );
  let handled = 0;
  for (const row of rows) {
    const connector = ctx.collections.get(row.channel);
    if (!connector) continue;
    if (row.attempt_status === "pending") await openAndRecord(ctx, connector, row.id, row.attempt_id);
    const record = await inquire(connector, row.attempt_id);
    if (!record) continue; // unreachable: ask again next tick, never assume nothing arrived
    await applyCollectionRecord(ctx, row.attempt_id, record, { expire_now: true });
    handled++;
  }
  handled += await recheckCollections(ctx); // lost notifications of transfers before expiry, or after the payment closed
  handled += await virtualAccountJanitorTick(ctx); // reusable virtual accounts: lost notifications, expiry
  return handled + (await returnOwedFundsTick(ctx));
}

/** A collection is asked again at least this long after the last time. */
const recheck_interval_min_ms = 1_000;
/** A collection is asked again as often as one quarter of its age: young ones soon, old ones rarely. */
const recheck_age_divisor = 4;
/** Collections asked again per janitor tick (least recently asked first), so the tick's other work is not held up. */
const recheck_batch_max = 25;

/**
 * Janitor: a notification can be lost, and the bank takes transfers whatever the payment's state.
 * Each collection (open, or closed for less than a day after its expiry) is asked again with a
 * backoff that grows with its age (attempt.updated_ms marks the last time it was asked), so a
 * transfer whose notification was lost is booked (and owed money paid back) without waiting for
 * the expiry, and a transfer to a canceled, expired or paid payment is never left unbooked.
 */
async function recheckCollections(ctx: PaymentsContext): Promise<number> {
  const now = Date.now();
  const rows = await ctx.db.all<{ attempt_id: string; channel: string }>(
    `SELECT a.id AS attempt_id, a.channel AS channel
       FROM payments p JOIN attempts a ON a.payment_id = p.id
      WHERE p.method_type = 'bank_transfer' AND p.virtual_account_id IS NULL AND p.expires_ms > ?
        AND a.status IN ('requires_action', 'captured', 'expired') AND a.updated_ms <= ?
        AND (a.updated_ms <= ? OR ? * (? - a.updated_ms) >= ? - p.created_ms)
      ORDER BY a.updated_ms LIMIT ?`,
    [now - closed_inquiry_window_ms, now - recheck_interval_min_ms, now - inquiry_interval_max_ms, recheck_age_divisor, now, now, recheck_batch_max],
  );
  let handled = 0;
  for (const row of rows) {
    const connector = ctx.collections?.get(row.channel);
    if (!connector) continue;
    const record = await inquire(connector, row.attempt_id);
    if (record) {
      await applyCollectionRecord(ctx, row.attempt_id, record, { expire_now: false });
      handled++;
    }
    // Asked (or unreachable: asked again after the same backoff, never assumed empty).
    await ctx.db.transaction((tx) => tx.run("UPDATE attempts SET updated_ms = ? WHERE id = ?", [Date.now(), row.attempt_id]));
  }
  return handled;
}
