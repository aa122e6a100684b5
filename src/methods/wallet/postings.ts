// The ledger entries of a late wallet payment (paid at the wallet after we closed the order or the
// payment ended), per currency:
//   detected:  the sale (channel receivable → merchant pending, as any wallet payment), then at once
//              merchant pending → customer refunds due (code refund_due): it is not the merchant's
//   refunded:  customer refunds due → channel receivable (code return_of_funds), once the wallet
//              confirms the refund; until then (or if the wallet refuses it) it stays owed back
import { postTransfer } from "../../ledger/ledger.ts";
import { assert } from "../../limits.ts";
import { postSale } from "../../payments/postings.ts";
import type { Tx } from "../../store/db.ts";

interface Movement {
  merchant_id: string;
  channel: string;
  currency: string;
  amount: number;
}

export async function postLatePayment(tx: Tx, attempt_id: string, movement: Movement): Promise<void> {
  await postSale(tx, attempt_id, movement);
  const owed = await postTransfer(tx, {
    debit: { owner: movement.merchant_id, currency: movement.currency, purpose: "merchant_pending" },
    credit: { owner: movement.merchant_id, currency: movement.currency, purpose: "customer_refunds_due" },
    amount: BigInt(movement.amount), code: "refund_due", ref: attempt_id,
  });
  assert(owed.ok, "a refund-due transfer between unflagged accounts always posts");
}

export async function postLatePaymentRefunded(tx: Tx, reversal_reference: string, movement: Movement): Promise<void> {
  const paid = await postTransfer(tx, {
    debit: { owner: movement.merchant_id, currency: movement.currency, purpose: "customer_refunds_due" },
    credit: { owner: movement.channel, currency: movement.currency, purpose: "channel_receivable" },
    amount: BigInt(movement.amount), code: "return_of_funds", ref: reversal_reference,
  });
  assert(paid.ok, "paying back money owed to a customer between unflagged accounts always posts");
}
