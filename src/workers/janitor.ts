// The unknown-outcome janitor (after Kill Bill's): asks channels about every attempt, capture,
// void and refund whose answer we did not get, and applies what they recorded. Rows are claimed
// with a compare-and-set on their next inquiry time, so several API processes can run it at once.
import { limits } from "../limits.ts";
import { bankTransferJanitorTick } from "../methods/bank-transfer/flow.ts";
import { bnplJanitorTick } from "../methods/bnpl/janitor.ts";
import { directDebitJanitorTick } from "../methods/direct-debit/flow.ts";
import { walletJanitorTick } from "../methods/wallet/janitor.ts";
import type { PaymentsContext } from "../payments/context.ts";
import { attemptFromRow } from "../payments/model.ts";
import { resolveAttemptByInquiry, resolveOperationByInquiry, resolveRefundByInquiry } from "../payments/resolve.ts";
import { toSafeNumber } from "../store/db.ts";
import { expireAuthorization, type OperationKind } from "../payments/operations.ts";
import { startLoop, type Loop } from "./loop.ts";

const inquiryBackoffMaxMs = 10 * 60 * 1000;

type Table = "attempts" | "operations" | "refunds";

interface DueRow {
  id: string;
  next_inquiry_ms: unknown;
  inquiries: unknown;
  [column: string]: unknown;
}

export interface JanitorReport {
  attempts: number;
  operations: number;
  refunds: number;
  expired_authorizations: number;
  /** Bank-transfer payments inquired at their expiry (or whose collection was opened again). */
  bank_transfers?: number;
  /** BNPL checkouts inquired, opened again, expired or canceled at the provider. */
  bnpl?: number;
  /** Direct debits submitted again or inquired, and mandates lapsed. */
  direct_debits?: number;
  /** Wallet orders inquired, opened again or expired, and late payments being refunded. */
  wallets?: number;
}

function backoffMs(ctx: PaymentsContext, inquiries: number): number {
  return Math.min(ctx.settings.unknown_inquiry_delay_ms * 2 ** Math.min(inquiries, 16), inquiryBackoffMaxMs);
}

/** Takes a due row for this process: only one process's compare-and-set succeeds. */
async function claim(ctx: PaymentsContext, table: Table, row: DueRow): Promise<boolean> {
  const inquiries = toSafeNumber(row.inquiries);
  const next = Date.now() + Math.max(backoffMs(ctx, inquiries), 1000);
  const result = await ctx.db.transaction((tx) =>
    tx.run(`UPDATE ${table} SET next_inquiry_ms = ?, inquiries = inquiries + 1 WHERE id = ? AND next_inquiry_ms = ?`, [next, row.id, row.next_inquiry_ms]),
  );
  return result.changes === 1;
}

async function dueRows(ctx: PaymentsContext, table: Table, extra: string): Promise<DueRow[]> {
  return ctx.db.all<DueRow>(
    `SELECT * FROM ${table} WHERE next_inquiry_ms IS NOT NULL AND next_inquiry_ms <= ? ${extra} ORDER BY next_inquiry_ms LIMIT ?`,
    [Date.now(), limits.janitor_batch_max],
  );
}

async function clear(ctx: PaymentsContext, table: Table, id: string, statusFilter: string): Promise<void> {
  await ctx.db.transaction((tx) => tx.run(`UPDATE ${table} SET next_inquiry_ms = NULL WHERE id = ? AND ${statusFilter}`, [id]));
}

export async function janitorTick(ctx: PaymentsContext): Promise<JanitorReport> {
  const report: JanitorReport = { attempts: 0, operations: 0, refunds: 0, expired_authorizations: 0 };
  for (const row of await dueRows(ctx, "attempts", "AND status IN ('unknown', 'requires_action', 'pending', 'reversing')")) {
    if (!(await claim(ctx, "attempts", row))) continue;
    const outcome = await resolveAttemptByInquiry(ctx, attemptFromRow(row));
    if (outcome === "done") await clear(ctx, "attempts", row.id, "status NOT IN ('unknown', 'requires_action', 'pending', 'reversing')");
    report.attempts++;
  }
  for (const row of await dueRows(ctx, "operations", "AND status IN ('pending', 'unknown')")) {
    if (!(await claim(ctx, "operations", row))) continue;
    await resolveOperationByInquiry(ctx, {
      id: row.id, kind: row.kind as OperationKind, amount: toSafeNumber(row.amount),
      attempt_id: row.attempt_id as string, payment_id: row.payment_id as string,
    });
    report.operations++;
  }
  for (const row of await dueRows(ctx, "refunds", "AND status = 'pending'")) {
    if (!(await claim(ctx, "refunds", row))) continue;
    await resolveRefundByInquiry(ctx, row.id);
    report.refunds++;
  }
  const expiring = await ctx.db.all<Record<string, unknown>>(
    "SELECT * FROM attempts WHERE status = 'authorized' AND authorization_expires_ms <= ? ORDER BY authorization_expires_ms LIMIT ?",
    [Date.now(), limits.janitor_batch_max],
  );
  for (const row of expiring) if (await expireAuthorization(ctx, attemptFromRow(row))) report.expired_authorizations++;
  report.bank_transfers = await bankTransferJanitorTick(ctx);
  report.bnpl = await bnplJanitorTick(ctx);
  report.direct_debits = await directDebitJanitorTick(ctx);
  report.wallets = await walletJanitorTick(ctx);
  return report;
}

export function startJanitor(ctx: PaymentsContext, interval_ms: number, onError: (error: unknown) => void): Loop {
  return startLoop(() => janitorTick(ctx), interval_ms, onError);
}
