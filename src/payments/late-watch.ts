// Closed attempts the channel may still complete: a wallet order we closed, a BNPL checkout we
// expired. The channel can take the customer's money afterwards, and its one notification can be
// lost, so such an attempt stays watched (`next_inquiry_ms`) and is asked about again, less and less
// often, for `late_watch_ms` after it was made. Rows are claimed with a compare-and-set on
// `next_inquiry_ms`, so several API processes can run the watch at once.
import { limits } from "../limits.ts";
import { toSafeNumber } from "../store/db.ts";
import type { PaymentSettings, PaymentsContext } from "./context.ts";

/** How long a closed attempt is watched, and the longest gap between two looks. */
export const late_watch_ms = 24 * 60 * 60 * 1000;
const late_watch_interval_max_ms = 60 * 60 * 1000;
/** Doublings of the first interval before the gap stops growing (bounds the exponent). */
const late_watch_doublings_max = 16;

/** The next look after `inquiries` looks, or null once the watch (from the attempt's creation) is over. */
export function nextLateWatchMs(settings: PaymentSettings, created_ms: number, inquiries: number, now = Date.now()): number | null {
  if (now - created_ms >= late_watch_ms) return null;
  const gap = settings.unknown_inquiry_delay_ms * 2 ** Math.min(inquiries, late_watch_doublings_max);
  return now + Math.min(gap, late_watch_interval_max_ms);
}

export interface WatchedAttempt {
  id: string;
  payment_id: string;
  currency: string;
  channel: string;
}

/** The watched attempts in `statuses` on `channels` that are due, each claimed for this process (bounded batch). */
export async function claimDueWatchedAttempts(ctx: PaymentsContext, statuses: readonly string[], channels: readonly string[]): Promise<WatchedAttempt[]> {
  if (channels.length === 0) return [];
  const rows = await ctx.db.all<WatchedAttempt & { next_inquiry_ms: unknown; inquiries: unknown; created_ms: unknown }>(
    `SELECT id, payment_id, currency, channel, next_inquiry_ms, inquiries, created_ms FROM attempts
      WHERE status IN (${statuses.map(() => "?").join(", ")}) AND channel IN (${channels.map(() => "?").join(", ")})
        AND next_inquiry_ms IS NOT NULL AND next_inquiry_ms <= ?
      ORDER BY next_inquiry_ms LIMIT ?`,
    [...statuses, ...channels, Date.now(), limits.janitor_batch_max],
  );
  const claimed: WatchedAttempt[] = [];
  for (const row of rows) {
    const next = nextLateWatchMs(ctx.settings, toSafeNumber(row.created_ms), toSafeNumber(row.inquiries));
    const result = await ctx.db.transaction((tx) =>
      tx.run("UPDATE attempts SET next_inquiry_ms = ?, inquiries = inquiries + 1 WHERE id = ? AND next_inquiry_ms = ?", [next, row.id, row.next_inquiry_ms]),
    );
    if (result.changes === 1) claimed.push({ id: row.id, payment_id: row.payment_id, currency: row.currency, channel: row.channel });
  }
  return claimed;
}
