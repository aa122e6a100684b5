// BNPL janitor: every open checkout that needs a look, in bounded batches —
//   a create whose answer was lost (attempt `pending`, stale): opened again (idempotent);
//   an expired payment: the provider is asked first (an approval whose notice was lost is applied),
//     otherwise the payment is canceled (reason `expired`) and the checkout canceled there;
//   a payment closed while its checkout is open (merchant cancel), or an unwanted approval
//     (`reversing`): canceled or voided at the provider;
//   any open checkout not heard of for a while: polled (a lost notification);
//   an expired checkout: asked again, less and less often, for a day (src/payments/late-watch.ts) (the
//     provider may approve a checkout it expired; a lost notice of it is found and voided).
// Every call is idempotent at the provider, so API processes running this at once do no harm.
import type { BnplConnector } from "../../channels/contract.ts";
import { limits } from "../../limits.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { claimDueWatchedAttempts } from "../../payments/late-watch.ts";
import { settleCheckout } from "./settle.ts";

/** How often an open checkout is polled when nothing was heard (a lost notification). */
export function pollIntervalMs(ctx: PaymentsContext): number {
  return Math.max(ctx.settings.unknown_inquiry_delay_ms * 10, 1000);
}

export async function bnplJanitorTick(ctx: PaymentsContext): Promise<number> {
  const connectors = [...(ctx.bnpl?.values() ?? [])];
  if (connectors.length === 0) return 0;
  const now = Date.now();
  const retryBefore = now - ctx.settings.unknown_inquiry_delay_ms;
  const staleBefore = now - ctx.settings.channel_timeout_ms - ctx.settings.unknown_inquiry_delay_ms;
  const names = connectors.map((connector) => connector.name);
  const rows = await ctx.db.all<{ id: string; payment_id: string; currency: string; channel: string; status: string }>(
    `SELECT a.id AS id, a.payment_id AS payment_id, a.currency AS currency, a.channel AS channel, a.status AS status
       FROM attempts a JOIN payments p ON p.id = a.payment_id
      WHERE a.status IN ('pending', 'requires_action', 'reversing') AND a.channel IN (${names.map(() => "?").join(", ")})
        AND a.updated_ms <= ?
        AND ((a.status = 'pending' AND a.updated_ms <= ?) OR a.status = 'reversing' OR p.status NOT IN ('requires_action', 'processing')
             OR p.cancel_requested = 1 OR p.expires_ms <= ? OR (a.status = 'requires_action' AND a.updated_ms <= ?))
      ORDER BY a.updated_ms LIMIT ?`,
    [...names, retryBefore, staleBefore, now, now - pollIntervalMs(ctx), limits.janitor_batch_max],
  );
  let handled = await tickExpiredCheckouts(ctx, connectors);
  for (const row of rows) {
    const connector = connectors.find((candidate) => candidate.name === row.channel)!;
    const outcome = await settleCheckout(ctx, connector, row, { expire_now: true });
    // Not settled: look again after the retry delay, not on every tick.
    if (outcome !== "done") {
      await ctx.db.transaction((tx) => tx.run("UPDATE attempts SET updated_ms = ? WHERE id = ? AND status = ?", [Date.now(), row.id, row.status]));
    }
    handled++;
  }
  return handled;
}

/** Expired checkouts still watched: asked again (an approval is voided at the provider, never booked). */
async function tickExpiredCheckouts(ctx: PaymentsContext, connectors: BnplConnector[]): Promise<number> {
  const due = await claimDueWatchedAttempts(ctx, ["expired"], connectors.map((connector) => connector.name));
  for (const attempt of due) await settleCheckout(ctx, connectors.find((candidate) => candidate.name === attempt.channel)!, attempt, { expire_now: true });
  return due.length;
}
