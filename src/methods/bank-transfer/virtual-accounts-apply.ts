// Transfers into reusable virtual accounts: every transfer the bank records for a virtual account
// becomes a payment, once (keyed by the bank's transfer id), under the virtual account's row lock.
// Accepted (the account is active and unexpired; a closed amount matches exactly): a succeeded
// payment for the transfer's amount. Refused: a canceled payment whose money is booked and owed
// back (`customer_refunds_due`), then paid back to the sender by the return-of-funds janitor.
import type { CollectionConnector, CollectionRecord, ReceivedTransfer } from "../../channels/contract.ts";
import { newId } from "../../ids.ts";
import { postTransfer } from "../../ledger/ledger.ts";
import { assert } from "../../limits.ts";
import { emit } from "../../payments/attempts.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { paymentFromRow, type BankTransferInstructions } from "../../payments/model.ts";
import { postSale } from "../../payments/postings.ts";
import type { Tx } from "../../store/db.ts";
import {
  backoff_exponent_max, closeVirtualAccount, lockVirtualAccount, nextInquiryMs, saveVirtualAccount, type VirtualAccountRecord,
} from "./virtual-accounts-model.ts";

/** Why a transfer into a virtual account was refused (the payment's cancellation_reason). */
export type Refusal = "amount_mismatch" | "virtual_account_inactive" | "virtual_account_expired";

/** The disposition recorded on the transfer's row (the same words as a payment's own instructions). */
const dispositionOf: Readonly<Record<Refusal, string>> = {
  amount_mismatch: "refund_due_amount_mismatch",
  virtual_account_inactive: "refund_due_closed",
  virtual_account_expired: "refund_due_late",
};

/** New transfers applied in one pass; more are applied by the next inquiry, asked for at once. */
const transfers_per_pass_max = 100;

/** Whether a transfer is taken: the account's state when it is applied, its expiry when the money arrived. */
export function refusalOf(va: VirtualAccountRecord, transfer: ReceivedTransfer): Refusal | null {
  if (va.status === "inactive") return "virtual_account_inactive";
  if (va.status === "expired" || (va.expires_ms !== null && transfer.received_at_ms > va.expires_ms)) return "virtual_account_expired";
  if (va.amount_type === "closed" && transfer.amount !== va.amount) return "amount_mismatch";
  return null;
}

/** What a payment made into the virtual account shows as its instructions (the refund route reads the country). */
function instructionsOf(va: VirtualAccountRecord, transfer: ReceivedTransfer, expires_ms: number): BankTransferInstructions {
  return {
    type: va.kind, country: va.country, bank: va.bank,
    ...(va.kind === "mx_clabe" ? { clabe: va.account } : { account_number: va.account }),
    amount: va.amount ?? transfer.amount, currency: va.currency.toLowerCase(), expires_at: Math.floor(expires_ms / 1000),
  };
}

async function seenTransfers(tx: Tx, va_id: string): Promise<Set<string>> {
  const rows = await tx.all<{ transfer_id: string }>(
    `SELECT r.transfer_id FROM bank_transfers_received r JOIN payments p ON p.id = r.payment_id WHERE p.virtual_account_id = ?`,
    [va_id],
  );
  return new Set(rows.map((row) => row.transfer_id));
}

/** One transfer: its payment and attempt, the ledger, the transfer's row, the events; the account is updated in memory. */
async function bookTransfer(tx: Tx, va: VirtualAccountRecord, transfer: ReceivedTransfer, channel_reference: string): Promise<void> {
  assert(Number.isSafeInteger(transfer.amount) && transfer.amount > 0, `transfer ${transfer.id} has a positive integer amount`);
  const refusal = refusalOf(va, transfer);
  const now = Date.now();
  const payment_id = newId("pay");
  const attempt_id = newId("att");
  const expires_ms = va.expires_ms ?? transfer.received_at_ms;
  const received = refusal ? 0 : transfer.amount;
  const refund_due = refusal ? transfer.amount : 0;
  await tx.run(
    `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded,
       card_id, channel, customer, description, metadata, cancellation_reason, return_url, idempotency_key, created_ms, updated_ms,
       method_type, bank_transfer_instructions, amount_mismatch_policy, expires_ms, amount_refund_due, virtual_account_id)
     VALUES (?, ?, ?, ?, ?, 'automatic', 0, ?, 0, NULL, ?, ?, NULL, '{}', ?, NULL, NULL, ?, ?, 'bank_transfer', ?, 'reject', ?, ?, ?)`,
    [payment_id, va.merchant_id, refusal ? "canceled" : "succeeded", transfer.amount, va.currency, received, va.channel, va.customer, refusal,
      now, now, JSON.stringify(instructionsOf(va, transfer, expires_ms)), expires_ms, refund_due, va.id],
  );
  await tx.run(
    `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, amount, currency, capture, channel_reference, routing_reason,
       routing_strategy, routing_scores, next_inquiry_ms, created_ms, updated_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, NULL, NULL, ?, ?)`,
    [attempt_id, payment_id, va.merchant_id, va.channel, refusal ? "expired" : "captured", transfer.amount, va.currency, channel_reference,
      `transfer into virtual account ${va.id}`, now, now],
  );
  // The money arrived at the bank: booked in full; what is not the merchant's is owed back at once.
  await postSale(tx, transfer.id, { merchant_id: va.merchant_id, channel: va.channel, currency: va.currency, amount: transfer.amount });
  if (refusal) {
    const owed = await postTransfer(tx, {
      debit: { owner: va.merchant_id, currency: va.currency, purpose: "merchant_pending" },
      credit: { owner: va.merchant_id, currency: va.currency, purpose: "customer_refunds_due" },
      amount: BigInt(refund_due), code: "refund_due", ref: transfer.id,
    });
    assert(owed.ok, "a refund-due transfer between unflagged accounts always posts");
  }
  await tx.run(
    `INSERT INTO bank_transfers_received (channel, transfer_id, payment_id, attempt_id, amount, amount_applied, amount_refund_due, disposition, received_ms, created_ms, sender)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [va.channel, transfer.id, payment_id, attempt_id, transfer.amount, received, refund_due, refusal ? dispositionOf[refusal] : "applied",
      transfer.received_at_ms, now, transfer.sender ? JSON.stringify(transfer.sender) : null],
  );
  const row = await tx.get<Record<string, unknown>>("SELECT * FROM payments WHERE id = ?", [payment_id]);
  assert(row, `payment ${payment_id} was written`);
  const payment = paymentFromRow(row);
  await emit(tx, payment, "payment.created");
  await emit(tx, payment, refusal ? "payment.canceled" : "payment.succeeded");
  if (refusal) return;
  va.payments_count++;
  if (va.usage === "single_use") await closeVirtualAccount(tx, va, "inactive", "used", now);
}

/**
 * Applies the bank's record of a virtual account: each transfer not seen before, once, in the order
 * received; then expires the account when its time is up (the bank was asked first, so a transfer
 * whose notification was lost is applied before, never assumed absent).
 */
export async function applyVirtualAccountRecord(ctx: PaymentsContext, va_id: string, record: CollectionRecord): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const va = await lockVirtualAccount(tx, va_id);
    const now = Date.now();
    let applied = 0;
    let more = false;
    if (record.found) {
      const seen = await seenTransfers(tx, va.id);
      const transfers = [...record.transfers].sort((a, b) => a.received_at_ms - b.received_at_ms || a.id.localeCompare(b.id));
      for (const transfer of transfers) {
        if (seen.has(transfer.id)) continue; // applied already: a duplicate notification or a second inquiry
        if (applied === transfers_per_pass_max) {
          more = true;
          break;
        }
        await bookTransfer(tx, va, transfer, record.channel_reference);
        applied++;
      }
    }
    if (va.status === "active" && va.expires_ms !== null && now > va.expires_ms) await closeVirtualAccount(tx, va, "expired", "expired", now);
    va.quiet_inquiries = applied > 0 ? 0 : Math.min(va.quiet_inquiries + 1, backoff_exponent_max);
    va.next_inquiry_ms = more ? now : nextInquiryMs(va, ctx.settings, now);
    await saveVirtualAccount(tx, va);
  });
}

/** Asks the bank for the account's record and applies it; false when the bank could not be reached. */
export async function inquireAndApply(ctx: PaymentsContext, connector: CollectionConnector, va_id: string): Promise<boolean> {
  const record = await connector.inquireCollection(va_id);
  if ("unreachable" in record) return false;
  await applyVirtualAccountRecord(ctx, va_id, record);
  return true;
}

/** A verified notification whose reference is a virtual account: ask for its record, apply it. */
export async function handleVirtualAccountNotification(
  ctx: PaymentsContext, connector: CollectionConnector, reference: string,
): Promise<"done" | "retry_later" | "unknown_reference"> {
  const known = await ctx.db.get<{ id: string }>("SELECT id FROM virtual_accounts WHERE id = ? AND channel = ?", [reference, connector.name]);
  if (!known) return "unknown_reference";
  return (await inquireAndApply(ctx, connector, known.id)) ? "done" : "retry_later";
}
