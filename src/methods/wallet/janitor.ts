// The wallet janitor: open wallet orders are asked about when no notification came (every
// `unknown_inquiry_delay_ms`), and at expiry asked first, then closed at the wallet, then canceled;
// orders whose create answer was lost are opened again (idempotent by reference); late payments
// being refunded to the wallet are followed until the refund is done; closed orders are asked
// about again, less and less often, for a day (src/payments/late-watch.ts) (a payment the wallet settled after
// our close, whose notice was lost, is found and refunded). Rows are claimed with a compare-and-set
// (on updated_ms, or next_inquiry_ms for watched orders), so several API processes can run it at once.
import type { WalletConnector } from "../../channels/contract.ts";
import { limits } from "../../limits.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { claimDueWatchedAttempts } from "../../payments/late-watch.ts";
import { loadAttempt } from "../../payments/model.ts";
import { toSafeNumber } from "../../store/db.ts";
import { resumeReversal } from "./apply.ts";
import { openOrderAndRecord } from "./flow.ts";
import { inquireAndApply } from "./inquiry.ts";

interface OpenRow {
  payment_id: string;
  attempt_id: string;
  channel: string;
  attempt_status: string;
  updated_ms: unknown;
}

/** Takes a row for this process: only one compare-and-set on updated_ms succeeds. */
async function claim(ctx: PaymentsContext, attempt_id: string, updated_ms: unknown): Promise<boolean> {
  const result = await ctx.db.transaction((tx) =>
    tx.run("UPDATE attempts SET updated_ms = ? WHERE id = ? AND updated_ms = ?", [Math.max(Date.now(), toSafeNumber(updated_ms) + 1), attempt_id, updated_ms]),
  );
  return result.changes === 1;
}

export async function walletJanitorTick(ctx: PaymentsContext): Promise<number> {
  const wallets = ctx.wallets?.list() ?? [];
  if (wallets.length === 0) return 0;
  return (await tickOpenOrders(ctx)) + (await tickReversals(ctx, wallets)) + (await tickClosedOrders(ctx, wallets));
}

/** Closed orders still watched: asked again (a PAID answer is applied as a late payment and refunded). */
async function tickClosedOrders(ctx: PaymentsContext, wallets: WalletConnector[]): Promise<number> {
  const due = await claimDueWatchedAttempts(ctx, ["expired", "voided"], wallets.map((wallet) => wallet.name));
  for (const attempt of due) await inquireAndApply(ctx, ctx.wallets!.get(attempt.channel)!, attempt.id, { expire_now: false });
  return due.length;
}

async function tickOpenOrders(ctx: PaymentsContext): Promise<number> {
  const now = Date.now();
  const quiet = now - ctx.settings.unknown_inquiry_delay_ms;
  const lost = now - ctx.settings.channel_timeout_ms - ctx.settings.unknown_inquiry_delay_ms;
  const rows = await ctx.db.all<OpenRow>(
    `SELECT p.id AS payment_id, a.id AS attempt_id, a.channel AS channel, a.status AS attempt_status, a.updated_ms AS updated_ms
       FROM payments p JOIN attempts a ON a.payment_id = p.id
      WHERE p.method_type = 'wallet' AND p.status IN ('requires_action', 'processing') AND a.status IN ('pending', 'requires_action')
        AND (p.expires_ms <= ? OR (a.status = 'requires_action' AND a.updated_ms <= ?) OR (a.status = 'pending' AND a.updated_ms <= ?))
      ORDER BY a.updated_ms LIMIT ?`,
    [now, quiet, lost, limits.janitor_batch_max],
  );
  let handled = 0;
  for (const row of rows) {
    const connector = ctx.wallets!.get(row.channel);
    if (!connector || !(await claim(ctx, row.attempt_id, row.updated_ms))) continue;
    if (row.attempt_status === "pending") await openOrderAndRecord(ctx, connector, row.payment_id, row.attempt_id);
    await settleOrExpire(ctx, connector, row.attempt_id);
    handled++;
  }
  return handled;
}

/** Ask first (a payment whose notice was lost is applied, never assumed absent); past expiry, close then ask again. */
async function settleOrExpire(ctx: PaymentsContext, connector: WalletConnector, attempt_id: string): Promise<void> {
  const result = await inquireAndApply(ctx, connector, attempt_id, { expire_now: true });
  if (result !== "close_needed") return;
  const closed = await connector.closeOrder(attempt_id);
  if (closed.kind === "unknown") return; // unreachable: next tick, never assume the order closed
  // closed → the record says CLOSED (canceled); already_paid → PAID (succeeded); not_found → nothing to pay.
  await inquireAndApply(ctx, connector, attempt_id, { expire_now: true });
}

async function tickReversals(ctx: PaymentsContext, wallets: WalletConnector[]): Promise<number> {
  const names = wallets.map((wallet) => wallet.name);
  const rows = await ctx.db.all<{ id: string; channel: string; updated_ms: unknown }>(
    `SELECT id, channel, updated_ms FROM attempts WHERE status = 'reversing' AND channel IN (${names.map(() => "?").join(", ")}) AND updated_ms <= ?
      ORDER BY updated_ms LIMIT ?`,
    [...names, Date.now() - ctx.settings.unknown_inquiry_delay_ms, limits.janitor_batch_max],
  );
  let handled = 0;
  for (const row of rows) {
    if (!(await claim(ctx, row.id, row.updated_ms))) continue;
    const attempt = await loadAttempt(ctx.db, row.id);
    if (attempt?.status === "reversing") await resumeReversal(ctx, ctx.wallets!.get(row.channel)!, attempt);
    handled++;
  }
  return handled;
}
