// The ledger entries of the card payment life cycle (per currency):
//   sale (authorized and captured in one call): posted   channel receivable → merchant pending
//   authorization: pending   channel receivable → merchant pending
//   capture:       post the pending transfer (partial post releases the rest)
//   void / expiry: void the pending transfer
//   refund:        pending   merchant pending → channel receivable, posted or voided by the channel's answer
//   return of funds (bank transfers): pending customer refunds due → channel receivable, the same way
import type { Tx } from "../store/db.ts";
import { pendTransfer, postPending, postTransfer, voidPending, type AccountRef, type LedgerResult } from "../ledger/ledger.ts";

function channelReceivable(channel: string, currency: string): AccountRef {
  return { owner: channel, currency, purpose: "channel_receivable" };
}

function merchantPending(merchant_id: string, currency: string): AccountRef {
  return { owner: merchant_id, currency, purpose: "merchant_pending" };
}

function expectOk(result: LedgerResult, what: string): string {
  if (!result.ok) throw new Error(`ledger invariant broken while posting ${what}: ${result.error}`);
  return result.transfer_id;
}

interface Movement {
  merchant_id: string;
  channel: string;
  currency: string;
  amount: number;
}

export async function postAuthorization(tx: Tx, attempt_id: string, movement: Movement): Promise<string> {
  const result = await pendTransfer(tx, {
    debit: channelReceivable(movement.channel, movement.currency),
    credit: merchantPending(movement.merchant_id, movement.currency),
    amount: BigInt(movement.amount),
    code: "authorization",
    ref: attempt_id,
  });
  return expectOk(result, "authorization");
}

/** Authorized and captured at once (automatic capture): one posted transfer. */
export async function postSale(tx: Tx, attempt_id: string, movement: Movement): Promise<void> {
  const result = await postTransfer(tx, {
    debit: channelReceivable(movement.channel, movement.currency),
    credit: merchantPending(movement.merchant_id, movement.currency),
    amount: BigInt(movement.amount),
    code: "capture",
    ref: attempt_id,
  });
  expectOk(result, "sale");
}

async function authorizationTransferId(tx: Tx, attempt_id: string): Promise<string> {
  const row = await tx.get<{ id: string }>(
    "SELECT id FROM ledger_transfers WHERE ref = ? AND code = 'authorization' AND kind = 'pending'",
    [attempt_id],
  );
  if (!row) throw new Error(`ledger invariant broken: no authorization transfer for ${attempt_id}`);
  return row.id;
}

export async function postCapture(tx: Tx, attempt_id: string, amount: number, operation_id: string): Promise<void> {
  const pending_id = await authorizationTransferId(tx, attempt_id);
  expectOk(await postPending(tx, pending_id, BigInt(amount), "capture", operation_id), "capture");
}

export async function postRelease(tx: Tx, attempt_id: string, code: "void" | "authorization_expired", ref: string): Promise<void> {
  const pending_id = await authorizationTransferId(tx, attempt_id);
  expectOk(await voidPending(tx, pending_id, code, ref), code);
}

export async function pendRefund(tx: Tx, refund_id: string, movement: Movement): Promise<string> {
  const result = await pendTransfer(tx, {
    debit: merchantPending(movement.merchant_id, movement.currency),
    credit: channelReceivable(movement.channel, movement.currency),
    amount: BigInt(movement.amount),
    code: "refund",
    ref: refund_id,
  });
  return expectOk(result, "refund");
}

/** Money owed back to a customer (never the merchant's) being paid out: pending customer refunds due → channel receivable. */
export async function pendReturnOfFunds(tx: Tx, refund_id: string, movement: Movement): Promise<string> {
  const result = await pendTransfer(tx, {
    debit: { owner: movement.merchant_id, currency: movement.currency, purpose: "customer_refunds_due" },
    credit: channelReceivable(movement.channel, movement.currency),
    amount: BigInt(movement.amount),
    code: "return_of_funds",
    ref: refund_id,
  });
  return expectOk(result, "return of funds");
}

export async function settleRefund(tx: Tx, pending_id: string, refund_id: string, succeeded: boolean): Promise<void> {
  const result = succeeded
    ? await postPending(tx, pending_id, undefined, "refund", refund_id)
    : await voidPending(tx, pending_id, "refund_failed", refund_id);
  expectOk(result, succeeded ? "refund" : "failed refund");
}

/** A captured approval the merchant did not want (canceled while the outcome was unknown) and
 *  that the channel then refunded: a posted reversal, merchant pending → channel receivable. */
export async function postReversal(tx: Tx, attempt_id: string, movement: Movement): Promise<void> {
  const result = await postTransfer(tx, {
    debit: merchantPending(movement.merchant_id, movement.currency),
    credit: channelReceivable(movement.channel, movement.currency),
    amount: BigInt(movement.amount),
    code: "refund",
    ref: attempt_id,
  });
  expectOk(result, "reversal");
}
