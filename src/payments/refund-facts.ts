// The refunds a card channel should carry in its settlement reports, for reconciliation
// (src/settlement/runs.ts): succeeded refunds by the time the ledger posted them against the
// channel's receivable, one bounded page at a time (as captures are, in settlement-facts.ts).
import { toSafeNumber, type Queryable } from "../store/db.ts";

export interface SucceededRefund {
  refund_id: string;
  payment_id: string;
  merchant_id: string;
  /** The captured attempt the refund gives money back from. */
  attempt_id: string;
  currency: string;
  /** Refunded, minor units (ISO exponent); positive (its report line is negative). */
  amount: number;
  /** When the ledger posted the refund against the channel receivable. */
  succeeded_ms: number;
}

/** Succeeded refunds posted against `channel`'s receivable in (after_ms, through_ms], oldest first, at most `limit`. */
export async function refundsSucceededBetween(
  db: Queryable, channel: string, after_ms: number, through_ms: number, limit: number,
): Promise<SucceededRefund[]> {
  const rows = await db.all<Omit<SucceededRefund, "amount" | "succeeded_ms"> & { amount: unknown; succeeded_ms: unknown }>(`
    SELECT r.id AS refund_id, r.payment_id, r.merchant_id, r.attempt_id, r.currency, r.amount, t.created_ms AS succeeded_ms
      FROM ledger_transfers t JOIN refunds r ON r.id = t.ref JOIN ledger_accounts acc ON acc.id = t.credit_account_id
     WHERE t.code = 'refund' AND t.kind = 'post_pending' AND t.created_ms > ? AND t.created_ms <= ?
       AND acc.owner = ? AND acc.purpose = 'channel_receivable' AND r.status = 'succeeded'
     ORDER BY t.created_ms, r.id LIMIT ?`,
  [after_ms, through_ms, channel, limit]);
  return rows.map((row) => ({ ...row, amount: toSafeNumber(row.amount), succeeded_ms: toSafeNumber(row.succeeded_ms) }));
}

