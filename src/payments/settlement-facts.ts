// What Corridor recorded of the money a channel should settle, for reconciliation (src/settlement):
// captures (from the ledger: a sale's posted capture, or the posts of an authorization), succeeded
// refunds and disputes, looked up in bounded batches by our references or the channel's.
import { toSafeNumber, type Queryable } from "../store/db.ts";

/** Ids per lookup query (IN lists). */
export const factsLookupBatchMax = 500;

export interface CaptureFact {
  attempt_id: string;
  payment_id: string;
  merchant_id: string;
  channel: string;
  channel_reference: string | null;
  currency: string;
  /** Captured, minor units (ISO exponent). */
  amount: number;
  captured_ms: number;
  brand: string | null;
  card_country: string | null;
}

export interface RefundFact {
  refund_id: string;
  payment_id: string;
  merchant_id: string;
  attempt_id: string;
  channel: string;
  currency: string;
  amount: number;
  status: string;
}

export interface DisputeFact {
  dispute_id: string;
  channel_dispute_id: string;
  payment_id: string;
  attempt_id: string;
  merchant_id: string;
  channel: string;
  currency: string;
  amount: number;
  status: string;
}

function placeholders(n: number): string {
  return Array(n).fill("?").join(", ");
}

async function inBatches<T>(ids: readonly string[], query: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  const unique = [...new Set(ids)];
  for (let start = 0; start < unique.length; start += factsLookupBatchMax) {
    out.push(...(await query(unique.slice(start, start + factsLookupBatchMax))));
  }
  return out;
}

const attemptColumns = `
  a.id AS attempt_id, a.payment_id, a.merchant_id, a.channel, a.channel_reference, a.currency, v.brand AS brand, v.bin_country AS card_country`;
const attemptJoins = "attempts a JOIN payments p ON p.id = a.payment_id LEFT JOIN vault_cards v ON v.id = p.card_id";

type AttemptRow = Omit<CaptureFact, "amount" | "captured_ms">;

/**
 * What each attempt captured, from the ledger: a sale's posted captures, or the posts of its
 * authorization holds; and when (the latest capture, else the latest post). One indexed look-up of
 * the attempts' transfers per chunk, summed here: attempts that captured nothing are left out.
 */
async function withCaptures(db: Queryable, attempts: readonly AttemptRow[]): Promise<CaptureFact[]> {
  if (attempts.length === 0) return [];
  const transfers = await db.all<{ ref: string; code: string; amount: unknown; created_ms: unknown; posted_amount: unknown; posted_ms: unknown }>(
    `SELECT t.ref, t.code, t.amount, t.created_ms, r.amount AS posted_amount, r.created_ms AS posted_ms
       FROM ledger_transfers t LEFT JOIN ledger_transfers r ON r.pending_id = t.id AND r.kind = 'post_pending'
      WHERE t.ref IN (${placeholders(attempts.length)})
        AND ((t.code = 'capture' AND t.kind = 'posted') OR (t.code = 'authorization' AND t.kind = 'pending'))`,
    attempts.map((attempt) => attempt.attempt_id));
  const sums = new Map<string, { amount: number; captured_ms: number; posted_ms: number }>();
  for (const transfer of transfers) {
    let sum = sums.get(transfer.ref);
    if (!sum) sums.set(transfer.ref, (sum = { amount: 0, captured_ms: 0, posted_ms: 0 }));
    if (transfer.code === "capture") {
      sum.amount += toSafeNumber(transfer.amount);
      sum.captured_ms = Math.max(sum.captured_ms, toSafeNumber(transfer.created_ms));
    } else if (transfer.posted_amount !== null && transfer.posted_amount !== undefined) {
      sum.amount += toSafeNumber(transfer.posted_amount);
      sum.posted_ms = Math.max(sum.posted_ms, toSafeNumber(transfer.posted_ms));
    }
  }
  const facts: CaptureFact[] = [];
  for (const attempt of attempts) {
    const sum = sums.get(attempt.attempt_id);
    if (!sum || sum.amount <= 0) continue;
    facts.push({
      attempt_id: attempt.attempt_id, payment_id: attempt.payment_id, merchant_id: attempt.merchant_id, channel: attempt.channel,
      channel_reference: attempt.channel_reference, currency: attempt.currency, amount: sum.amount, captured_ms: sum.captured_ms || sum.posted_ms,
      brand: attempt.brand, card_country: attempt.card_country,
    });
  }
  return facts;
}

/** Captured attempts by our attempt id; attempts that captured nothing are left out. */
export async function capturesByAttempt(db: Queryable, attempt_ids: readonly string[]): Promise<Map<string, CaptureFact>> {
  const facts = await inBatches(attempt_ids, async (chunk) => withCaptures(db, await db.all<AttemptRow>(
    `SELECT ${attemptColumns} FROM ${attemptJoins} WHERE a.id IN (${placeholders(chunk.length)})`, chunk)));
  return new Map(facts.map((fact) => [fact.attempt_id, fact]));
}

/** Captured attempts of one channel by the channel's own reference (a report line without ours). */
export async function capturesByChannelReference(db: Queryable, channel: string, references: readonly string[]): Promise<Map<string, CaptureFact>> {
  const facts = await inBatches(references, async (chunk) => withCaptures(db, await db.all<AttemptRow>(
    `SELECT ${attemptColumns} FROM ${attemptJoins} WHERE a.channel = ? AND a.channel_reference IN (${placeholders(chunk.length)})`, [channel, ...chunk])));
  return new Map(facts.map((fact) => [fact.channel_reference!, fact]));
}

export async function refundsById(db: Queryable, refund_ids: readonly string[]): Promise<Map<string, RefundFact>> {
  const rows = await inBatches(refund_ids, (chunk) => db.all<RefundFact & { amount: unknown }>(
    `SELECT r.id AS refund_id, r.payment_id, r.merchant_id, r.attempt_id, a.channel, r.currency, r.amount, r.status
     FROM refunds r JOIN attempts a ON a.id = r.attempt_id WHERE r.id IN (${placeholders(chunk.length)})`, chunk));
  return new Map(rows.map((row) => [row.refund_id, { ...row, amount: toSafeNumber(row.amount) }]));
}

export async function disputesByChannelId(db: Queryable, channel: string, channel_dispute_ids: readonly string[]): Promise<Map<string, DisputeFact>> {
  const rows = await inBatches(channel_dispute_ids, (chunk) => db.all<DisputeFact & { amount: unknown }>(
    `SELECT id AS dispute_id, channel_dispute_id, payment_id, attempt_id, merchant_id, channel, currency, amount, status
     FROM disputes WHERE channel = ? AND channel_dispute_id IN (${placeholders(chunk.length)})`, [channel, ...chunk]));
  return new Map(rows.map((row) => [row.channel_dispute_id, { ...row, amount: toSafeNumber(row.amount) }]));
}

/** Captures booked on `channel` in (after_ms, through_ms], oldest first, at most `limit`. */
export async function capturesBetween(
  db: Queryable, channel: string, after_ms: number, through_ms: number, limit: number,
): Promise<{ attempt_id: string; captured_ms: number; currency: string; amount: number }[]> {
  const rows = await db.all<{ attempt_id: string; captured_ms: unknown; currency: string; amount: unknown }>(`
    SELECT attempt_id, captured_ms, currency, amount FROM (
      SELECT t.ref AS attempt_id, t.created_ms AS captured_ms, t.currency AS currency, t.amount AS amount
        FROM ledger_transfers t JOIN ledger_accounts acc ON acc.id = t.debit_account_id
       WHERE t.code = 'capture' AND t.kind = 'posted' AND t.created_ms > ? AND t.created_ms <= ?
         AND acc.owner = ? AND acc.purpose = 'channel_receivable'
      UNION ALL
      SELECT p.ref AS attempt_id, r.created_ms AS captured_ms, r.currency AS currency, r.amount AS amount
        FROM ledger_transfers r JOIN ledger_transfers p ON p.id = r.pending_id JOIN ledger_accounts acc ON acc.id = r.debit_account_id
       WHERE r.code = 'capture' AND r.kind = 'post_pending' AND r.amount > 0 AND r.created_ms > ? AND r.created_ms <= ?
         AND acc.owner = ? AND acc.purpose = 'channel_receivable'
    ) captures ORDER BY captured_ms, attempt_id LIMIT ?`,
  [after_ms, through_ms, channel, after_ms, through_ms, channel, limit]);
  return rows.map((row) => ({ attempt_id: row.attempt_id, captured_ms: toSafeNumber(row.captured_ms), currency: row.currency, amount: toSafeNumber(row.amount) }));
}
