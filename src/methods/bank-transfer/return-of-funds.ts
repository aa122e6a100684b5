// Money that was never the merchant's goes back where it came from: a transfer of the wrong amount
// under `reject`, the excess of an over-payment, a transfer after expiry or after the payment
// closed. The bank reports the ordering account of each transfer; every transfer with an amount
// owed back is paid out once (claimed under a compare-and-set on the transfer's row) as a refund of
// kind `return_of_funds`, reserved from `customer_refunds_due` and settled like any refund.
import type { RefundDestination } from "../../channels/contract.ts";
import { newId } from "../../ids.ts";
import { limits } from "../../limits.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { pendReturnOfFunds } from "../../payments/postings.ts";
import { insertRefund, sendRefund, type RefundRecord } from "../../payments/refunds.ts";
import { toSafeNumber } from "../../store/db.ts";
import { maskedDestination } from "./refund-destination.ts";

interface OwedRow {
  channel: string;
  transfer_id: string;
  payment_id: string;
  attempt_id: string;
  amount_refund_due: unknown;
  sender: string;
  merchant_id: string;
  currency: string;
  bank_transfer_instructions: string;
  channel_reference: string | null;
}

/** Pays back, once each, transfers with money owed to their sender. Returns how many were started. */
export async function returnOwedFundsTick(ctx: PaymentsContext): Promise<number> {
  const rows = await ctx.db.all<OwedRow>(
    `SELECT r.channel, r.transfer_id, r.payment_id, r.attempt_id, r.amount_refund_due, r.sender, p.merchant_id, p.currency,
            p.bank_transfer_instructions, a.channel_reference
       FROM bank_transfers_received r JOIN payments p ON p.id = r.payment_id JOIN attempts a ON a.id = r.attempt_id
      WHERE r.amount_refund_due > 0 AND r.return_refund_id IS NULL AND r.sender IS NOT NULL
      ORDER BY r.created_ms LIMIT ?`,
    [limits.janitor_batch_max],
  );
  let started = 0;
  for (const row of rows) {
    const channel = ctx.refund_channels?.get(row.channel);
    if (!channel) continue;
    const sender = JSON.parse(row.sender) as { name: string; account: string; bank?: string };
    const country = (JSON.parse(row.bank_transfer_instructions) as { country: string }).country;
    const destination: RefundDestination = { type: "bank_account", account_holder_name: sender.name, country, account: sender.account, bank: sender.bank };
    const amount = toSafeNumber(row.amount_refund_due);
    const refund: RefundRecord = {
      id: newId("re"), payment_id: row.payment_id, merchant_id: row.merchant_id, attempt_id: row.attempt_id, amount, currency: row.currency,
      reason: null, status: "pending", failure_reason: null, ledger_pending_id: "", metadata: { transfer: row.transfer_id },
      created_ms: Date.now(), destination: maskedDestination(destination), kind: "return_of_funds",
    };
    const claimed = await ctx.db.transaction(async (tx) => {
      const claim = await tx.run(
        "UPDATE bank_transfers_received SET return_refund_id = ? WHERE channel = ? AND transfer_id = ? AND return_refund_id IS NULL",
        [refund.id, row.channel, row.transfer_id],
      );
      if (claim.changes !== 1) return false; // another process took it
      refund.ledger_pending_id = await pendReturnOfFunds(tx, refund.id, { merchant_id: row.merchant_id, channel: row.channel, currency: row.currency, amount });
      await insertRefund(ctx, tx, refund);
      return true;
    });
    if (!claimed) continue;
    await sendRefund(ctx, refund, channel, { id: row.attempt_id, channel_reference: row.channel_reference }, destination);
    started++;
  }
  return started;
}
