// A reconciliation run (on request, and after each import): bank credits matched to the batches
// they fund (N batches : 1 credit, by the batch numbers the remittance names, else by amount),
// then the checks that depend on time: captures and succeeded refunds no report carried within the
// channel's delay and grace (missing_in_report, each behind its own watermark per channel), batches
// no credit funded (unfunded_batch), credits nothing explains (unmatched_bank_credit). A refund that
// a later report carries closes its missing_in_report here (matched_late), or, when an operator had
// already resolved it, has that resolution's transfers posted back (the line booked it). Every step
// is idempotent: a rerun finds the same subjects and adds nothing.
import { newId } from "../ids.ts";
import type { AccountPurpose, TransferCode } from "../ledger/ledger.ts";
import { refundsSucceededBetween, type SucceededRefund } from "../payments/refund-facts.ts";
import { capturesBetween, capturesByAttempt, factsLookupBatchMax } from "../payments/settlement-facts.ts";
import { toBigInt, toSafeNumber, type Tx } from "../store/db.ts";
import { bookAdjustment, bookFunding } from "./bookings.ts";
import type { SettlementChannel, SettlementContext } from "./context.ts";
import { closeBySubject, findException, missingRefundDetailsKind, raiseException, type ExceptionType } from "./exceptions.ts";
import { dateMs, dayMs, settlementLimits, startOfUtcDay } from "./terms.ts";

export interface RunSummary {
  id: string;
  as_of_ms: number;
  channels: string[];
  funded_batches: number;
  new_exceptions: Partial<Record<ExceptionType, number>>;
  closed_exceptions: number;
}

/** Captures and refunds committed this recently may still be arriving from other processes: not yet watermarked. */
const watermarkLagMs = 60_000;

function count(summary: RunSummary, type: ExceptionType, isNew: boolean): void {
  if (isNew) summary.new_exceptions[type] = (summary.new_exceptions[type] ?? 0) + 1;
}

interface EntryRow {
  id: string;
  bank: string;
  booking_date: string;
  amount: unknown;
  currency: string;
  channel: string | null;
  counterparty: string | null;
  batch_numbers: string;
  direction: string;
}

interface BatchRow {
  id: string;
  channel: string;
  batch_number: string;
  net: unknown;
}

async function batchesFor(tx: Tx, entry: EntryRow, reportChannels: ReadonlySet<string>): Promise<BatchRow[] | "wait"> {
  const numbers: string[] = JSON.parse(entry.batch_numbers);
  if (entry.channel && numbers.length > 0) {
    const rows = await tx.all<BatchRow>(
      `SELECT id, channel, batch_number, net FROM settlement_batches WHERE channel = ? AND currency = ? AND funded_by IS NULL
       AND batch_number IN (${numbers.map(() => "?").join(", ")})`, [entry.channel, entry.currency, ...numbers]);
    return rows.length === numbers.length ? rows : "wait";
  }
  // No batch named: the one unfunded batch of the paying channel with exactly this net.
  const channel = entry.counterparty?.toLowerCase();
  if (!channel || !reportChannels.has(channel)) return "wait";
  const rows = await tx.all<BatchRow>(
    "SELECT id, channel, batch_number, net FROM settlement_batches WHERE channel = ? AND currency = ? AND funded_by IS NULL AND net = ? LIMIT 2",
    [channel, entry.currency, entry.amount]);
  return rows.length === 1 ? rows : "wait";
}

async function fundEntry(tx: Tx, s: SettlementContext, entry_id: string, reportChannels: ReadonlySet<string>, summary: RunSummary, now_ms: number): Promise<void> {
  const entry = await tx.get<EntryRow>(`SELECT * FROM bank_statement_entries WHERE id = ? AND status = 'unmatched' ${tx.forUpdate}`, [entry_id]);
  if (!entry || entry.direction !== "credit") return;
  const batches = await batchesFor(tx, entry, reportChannels);
  if (batches === "wait") return;
  const channel = batches[0].channel;
  const announced = batches.reduce((sum, batch) => sum + toBigInt(batch.net), 0n);
  const amount = toBigInt(entry.amount);
  const tolerance = BigInt(s.channels.get(channel)?.terms.funding_tolerance_minor_per_batch ?? 0) * BigInt(batches.length);
  const difference = amount - announced;
  if ((difference < 0n ? -difference : difference) > tolerance) {
    count(summary, "amount_mismatch", await raiseException(tx, {
      type: "amount_mismatch", channel, subject: `amount_mismatch:bank_entry:${entry.id}`, entry_id: entry.id, currency: entry.currency,
      expected_amount: announced, reported_amount: amount, batch_id: batches.length === 1 ? batches[0].id : null,
      details: { batches: batches.map((batch) => batch.batch_number), difference: difference.toString(), tolerance_minor: tolerance.toString() },
    }, now_ms));
    return;
  }
  const funded = await tx.run(
    `UPDATE settlement_batches SET funded_by = ?, funded_ms = ? WHERE funded_by IS NULL AND id IN (${batches.map(() => "?").join(", ")})`,
    [entry.id, now_ms, ...batches.map((batch) => batch.id)]);
  if (funded.changes !== batches.length) throw new Error("programmer error: batches funded twice within one transaction");
  await tx.run("UPDATE bank_statement_entries SET status = 'matched' WHERE id = ?", [entry.id]);
  await bookFunding(tx, { channel, currency: entry.currency, amount, announced, ref: entry.id });
  summary.funded_batches += batches.length;
  for (const batch of batches) {
    if (await closeBySubject(tx, `unfunded_batch:${batch.id}`, { action: "funded_late", bank_entry: entry.id, by: "reconciliation" }, now_ms)) summary.closed_exceptions++;
  }
}

async function fundBatches(s: SettlementContext, bank: SettlementChannel, summary: RunSummary, as_of_ms: number): Promise<void> {
  const reportChannels = new Set([...s.channels.values()].filter((channel) => channel.parser.kind === "channel_report").map((channel) => channel.channel));
  // Credits only: debits (payouts from the account) stay unmatched and would fill the page.
  const entries = await s.db.all<{ id: string; booking_date: string; amount: unknown; currency: string; direction: string; counterparty: string | null }>(
    "SELECT id, booking_date, amount, currency, direction, counterparty FROM bank_statement_entries WHERE status = 'unmatched' AND bank = ? AND direction = 'credit' ORDER BY booking_date, id LIMIT ?",
    [bank.channel, settlementLimits.entries_per_run_max]);
  for (const entry of entries) {
    const now_ms = Date.now();
    await s.db.transaction((tx) => fundEntry(tx, s, entry.id, reportChannels, summary, now_ms));
  }
  // Credits still unexplained past the bank's grace days (one whose batches disagree with it is
  // already an amount_mismatch: the operator resolves it there).
  const deadline = (date: string) => dateMs(date) + (bank.terms.grace_days + 1) * dayMs;
  const stale = await s.db.all<{ id: string; booking_date: string; amount: unknown; currency: string; direction: string; counterparty: string | null; remittance: string | null }>(
    `SELECT id, booking_date, amount, currency, direction, counterparty, remittance FROM bank_statement_entries b WHERE status = 'unmatched' AND bank = ? AND direction = 'credit'
       AND NOT EXISTS (SELECT 1 FROM reconciliation_exceptions e WHERE e.subject = 'amount_mismatch:bank_entry:' || b.id)
     ORDER BY booking_date, id LIMIT ?`,
    [bank.channel, settlementLimits.entries_per_run_max]);
  const due = stale.filter((entry) => deadline(entry.booking_date) <= as_of_ms);
  if (due.length === 0) return;
  await s.db.transaction(async (tx) => {
    for (const entry of due) {
      count(summary, "unmatched_bank_credit", await raiseException(tx, {
        type: "unmatched_bank_credit", channel: bank.channel, subject: `unmatched_bank_credit:${entry.id}`, entry_id: entry.id,
        currency: entry.currency, reported_amount: toBigInt(entry.amount),
        details: { booking_date: entry.booking_date, counterparty: entry.counterparty, remittance: entry.remittance },
      }, Date.now()));
    }
  });
}

async function unfundedBatches(s: SettlementContext, channel: SettlementChannel, summary: RunSummary, as_of_ms: number): Promise<void> {
  const rows = await s.db.all<{ id: string; batch_number: string; currency: string; booking_date: string; net: unknown; file_id: string }>(
    "SELECT id, batch_number, currency, booking_date, net, file_id FROM settlement_batches WHERE channel = ? AND funded_by IS NULL ORDER BY booking_date, id LIMIT ?",
    [channel.channel, settlementLimits.batches_per_run_max]);
  const due = rows.filter((batch) => dateMs(batch.booking_date) + (channel.terms.payout_delay_days + channel.terms.grace_days + 1) * dayMs <= as_of_ms && toBigInt(batch.net) > 0n);
  if (due.length === 0) return;
  await s.db.transaction(async (tx) => {
    for (const batch of due) {
      count(summary, "unfunded_batch", await raiseException(tx, {
        type: "unfunded_batch", channel: channel.channel, subject: `unfunded_batch:${batch.id}`, batch_id: batch.id, file_id: batch.file_id,
        currency: batch.currency, expected_amount: toBigInt(batch.net),
        details: { batch_number: batch.batch_number, booking_date: batch.booking_date, payout_delay_days: channel.terms.payout_delay_days, grace_days: channel.terms.grace_days },
      }, Date.now()));
    }
  });
}

/** The ids among `ids` that an imported report line carries as a `match_kind` (matched, or an exception of its own), with that line's file. */
async function carriedByLines(tx: Tx, match_kind: "capture" | "refund", ids: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const unique = [...new Set(ids)];
  for (let start = 0; start < unique.length; start += factsLookupBatchMax) {
    const chunk = unique.slice(start, start + factsLookupBatchMax);
    const rows = await tx.all<{ match_id: string; file_id: string }>(
      `SELECT match_id, file_id FROM settlement_lines WHERE match_kind = ? AND match_id IN (${chunk.map(() => "?").join(", ")})`, [match_kind, ...chunk]);
    for (const row of rows) if (!found.has(row.match_id)) found.set(row.match_id, row.file_id);
  }
  return found;
}

/** A time check that walks a channel's facts oldest first behind a watermark kept in `table.column`. */
interface WatermarkedCheck<Fact> {
  table: "reconciliation_channels" | "reconciliation_refund_watermarks";
  column: "captures_checked_through_ms" | "refunds_checked_through_ms";
  page_max: number;
  pages_per_run_max: number;
  /** Facts in (after_ms, through_ms], oldest first, at most `limit`. */
  page(tx: Tx, after_ms: number, through_ms: number, limit: number): Promise<Fact[]>;
  timeOf(fact: Fact): number;
  /** Raises the exceptions of one page (idempotent: by subject). */
  check(tx: Tx, facts: Fact[]): Promise<void>;
}

/** Runs `check` over the channel's facts whose day + settlement delay + grace days is at or before as_of. */
async function checkOverdue<Fact>(s: SettlementContext, channel: SettlementChannel, as_of_ms: number, check: WatermarkedCheck<Fact>): Promise<void> {
  const lagDays = channel.terms.settlement_delay_days + channel.terms.grace_days + 1;
  // A fact is overdue when the start of its day + lagDays is at or before as_of.
  const through_ms = Math.min(startOfUtcDay(as_of_ms - lagDays * dayMs) + dayMs - 1, Date.now());
  for (let page = 0; page < check.pages_per_run_max; page++) {
    const more = await s.db.transaction(async (tx) => {
      const state = await tx.get<Record<string, unknown>>(`SELECT ${check.column} FROM ${check.table} WHERE channel = ? ${tx.forUpdate}`, [channel.channel]);
      if (!state) await tx.run(`INSERT INTO ${check.table} (channel, ${check.column}, updated_ms) VALUES (?, 0, ?) ON CONFLICT (channel) DO NOTHING`, [channel.channel, Date.now()]);
      const after_ms = toSafeNumber(state?.[check.column] ?? 0);
      if (after_ms >= through_ms) return false;
      const facts = await check.page(tx, after_ms, through_ms, check.page_max);
      const full = facts.length === check.page_max;
      await check.check(tx, facts);
      // A full page may end inside one millisecond: the next page starts just before its last fact (rechecking is harmless).
      // The watermark stays behind the last minute: facts committing now by other processes are checked again next run.
      const reached = full ? check.timeOf(facts[facts.length - 1]) - 1 : through_ms;
      const next = Math.max(after_ms, Math.min(reached, Date.now() - watermarkLagMs));
      await tx.run(`UPDATE ${check.table} SET ${check.column} = ?, updated_ms = ? WHERE channel = ?`, [next, Date.now(), channel.channel]);
      return full && reached > after_ms;
    });
    if (!more) return;
  }
}

type CaptureInWindow = Awaited<ReturnType<typeof capturesBetween>>[number];

function missingCaptures(channel: SettlementChannel, summary: RunSummary): WatermarkedCheck<CaptureInWindow> {
  return {
    table: "reconciliation_channels", column: "captures_checked_through_ms",
    page_max: settlementLimits.capture_page_max, pages_per_run_max: settlementLimits.capture_pages_per_run_max,
    page: (tx, after_ms, through_ms, limit) => capturesBetween(tx, channel.channel, after_ms, through_ms, limit),
    timeOf: (capture) => capture.captured_ms,
    async check(tx, captures) {
      const reported = await carriedByLines(tx, "capture", captures.map((capture) => capture.attempt_id));
      const missing = captures.filter((capture) => !reported.has(capture.attempt_id));
      const facts = await capturesByAttempt(tx, missing.map((capture) => capture.attempt_id));
      for (const capture of missing) {
        const fact = facts.get(capture.attempt_id);
        count(summary, "missing_in_report", await raiseException(tx, {
          type: "missing_in_report", channel: channel.channel, subject: `missing_in_report:${capture.attempt_id}`, attempt_id: capture.attempt_id,
          payment_id: fact?.payment_id ?? null, merchant_id: fact?.merchant_id ?? null, reference: capture.attempt_id, currency: capture.currency,
          expected_amount: BigInt(fact?.amount ?? capture.amount),
          details: { captured: new Date(capture.captured_ms).toISOString(), settlement_delay_days: channel.terms.settlement_delay_days, grace_days: channel.terms.grace_days },
        }, Date.now()));
      }
    },
  };
}

/** Succeeded refunds no line carries: the channel should have taken them back in a report (a negative line). */
function missingRefunds(channel: SettlementChannel, summary: RunSummary): WatermarkedCheck<SucceededRefund> {
  return {
    table: "reconciliation_refund_watermarks", column: "refunds_checked_through_ms",
    page_max: settlementLimits.refund_page_max, pages_per_run_max: settlementLimits.refund_pages_per_run_max,
    page: (tx, after_ms, through_ms, limit) => refundsSucceededBetween(tx, channel.channel, after_ms, through_ms, limit),
    timeOf: (refund) => refund.succeeded_ms,
    async check(tx, refunds) {
      const reported = await carriedByLines(tx, "refund", refunds.map((refund) => refund.refund_id));
      for (const refund of refunds.filter((candidate) => !reported.has(candidate.refund_id))) {
        count(summary, "missing_in_report", await raiseException(tx, {
          type: "missing_in_report", channel: channel.channel, subject: `missing_in_report:${refund.refund_id}`,
          payment_id: refund.payment_id, merchant_id: refund.merchant_id, reference: refund.refund_id, currency: refund.currency,
          expected_amount: -BigInt(refund.amount),
          details: {
            kind: missingRefundDetailsKind, refund: refund.refund_id, attempt: refund.attempt_id, succeeded: new Date(refund.succeeded_ms).toISOString(),
            settlement_delay_days: channel.terms.settlement_delay_days, grace_days: channel.terms.grace_days,
          },
        }, Date.now()));
      }
    },
  };
}

/** Open refund exceptions whose refund a line now carries close (matched_late): the import booked that line.
 *  (Captures are closed by the import itself; refunds here, at the run after it.) */
async function closeLateRefunds(s: SettlementContext, channel: SettlementChannel, summary: RunSummary): Promise<void> {
  for (let page = 0; page < settlementLimits.refund_pages_per_run_max; page++) {
    const found = await s.db.transaction(async (tx) => {
      const rows = await tx.all<{ subject: string; file_id: string }>(
        `SELECT e.subject, l.file_id FROM reconciliation_exceptions e JOIN settlement_lines l ON l.match_kind = 'refund' AND l.match_id = e.reference
         WHERE e.status = 'open' AND e.type = 'missing_in_report' AND e.channel = ? ORDER BY e.id LIMIT ?`,
        [channel.channel, settlementLimits.refund_page_max]);
      for (const row of rows) {
        if (await closeBySubject(tx, row.subject, { action: "matched_late", settlement_file: row.file_id, by: "reconciliation" }, Date.now())) summary.closed_exceptions++;
      }
      return rows.length;
    });
    if (found < settlementLimits.refund_page_max) return;
  }
}

/** Transfers one resolution books: a handful (a receivable residual and a merchant move). */
const resolutionTransfersMax = 100;

interface BookedTransfer {
  amount: unknown;
  currency: string;
  code: TransferCode;
  debit_owner: string;
  debit_purpose: AccountPurpose;
  credit_owner: string;
  credit_purpose: AccountPurpose;
}

/** A refund an operator settled without a line (missing_in_report resolved by write_off or
 *  accept_reported) that a line carries now: the import booked that line as the refund's settlement
 *  (matching does not know the resolution), so the resolution's transfers are posted back, exactly,
 *  and the exception's resolution says it was superseded. The refund is booked once, by its line. */
async function supersedeRefundResolutions(s: SettlementContext, channel: SettlementChannel): Promise<void> {
  for (let page = 0; page < settlementLimits.refund_pages_per_run_max; page++) {
    const found = await s.db.transaction(async (tx) => {
      const rows = await tx.all<{ refund_id: string; exception_id: string; file_id: string }>(
        `SELECT w.refund_id, w.exception_id, l.file_id FROM refunds_resolved_without_line w
           JOIN settlement_lines l ON l.match_kind = 'refund' AND l.match_id = w.refund_id
         WHERE w.channel = ? ORDER BY w.refund_id LIMIT ?`, [channel.channel, settlementLimits.refund_page_max]);
      const handled = new Set<string>();
      for (const row of rows) {
        if (handled.has(row.refund_id)) continue;
        handled.add(row.refund_id);
        const claimed = await tx.run("DELETE FROM refunds_resolved_without_line WHERE refund_id = ?", [row.refund_id]);
        if (claimed.changes !== 1) continue; // another run superseded it
        const exception = await findException(tx, row.exception_id, tx.forUpdate);
        if (!exception) throw new Error(`programmer error: refund ${row.refund_id} was resolved by a missing exception ${row.exception_id}`);
        const transfers = await tx.all<BookedTransfer>(
          `SELECT t.amount, t.currency, t.code, d.owner AS debit_owner, d.purpose AS debit_purpose, c.owner AS credit_owner, c.purpose AS credit_purpose
             FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
           WHERE t.ref = ? AND t.kind = 'posted' ORDER BY t.id LIMIT ?`, [exception.id, resolutionTransfersMax]);
        for (const transfer of transfers) {
          await bookAdjustment(tx, {
            debit: { owner: transfer.credit_owner, currency: transfer.currency, purpose: transfer.credit_purpose },
            credit: { owner: transfer.debit_owner, currency: transfer.currency, purpose: transfer.debit_purpose },
            amount: toBigInt(transfer.amount), code: transfer.code, ref: exception.id,
          });
        }
        const superseded = { by: "reconciliation", settlement_file: row.file_id, reversed_transfers: transfers.length, at: new Date().toISOString() };
        await tx.run("UPDATE reconciliation_exceptions SET resolution = ? WHERE id = ?", [JSON.stringify({ ...exception.resolution, superseded }), exception.id]);
      }
      return rows.length;
    });
    if (found < settlementLimits.refund_page_max) return;
  }
}

export async function runReconciliation(
  s: SettlementContext, input: { channel?: string; as_of_ms: number; trigger: "api" | "import" | "schedule" },
): Promise<RunSummary> {
  const channels = [...s.channels.values()].filter((channel) => input.channel === undefined || channel.channel === input.channel);
  const summary: RunSummary = { id: newId("rrun"), as_of_ms: input.as_of_ms, channels: channels.map((channel) => channel.channel), funded_batches: 0, new_exceptions: {}, closed_exceptions: 0 };
  // Funding first (any channel's batches may be funded by the bank's credits), then the time checks.
  for (const bank of [...s.channels.values()].filter((channel) => channel.parser.kind === "bank_statement")) await fundBatches(s, bank, summary, input.as_of_ms);
  for (const channel of channels) {
    if (channel.parser.kind !== "channel_report") continue;
    await unfundedBatches(s, channel, summary, input.as_of_ms);
    await checkOverdue(s, channel, input.as_of_ms, missingCaptures(channel, summary));
    // Refunds a later report carried first (closed, or their operator resolution superseded), then the overdue ones.
    await closeLateRefunds(s, channel, summary);
    await supersedeRefundResolutions(s, channel);
    await checkOverdue(s, channel, input.as_of_ms, missingRefunds(channel, summary));
  }
  await s.db.transaction((tx) => tx.run(
    "INSERT INTO reconciliation_runs (id, channel, as_of_ms, triggered_by, summary, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
    [summary.id, input.channel ?? null, input.as_of_ms, input.trigger, JSON.stringify(summary), Date.now()]));
  return summary;
}

export function runView(summary: RunSummary) {
  return {
    id: summary.id, object: "reconciliation_run", as_of: new Date(summary.as_of_ms).toISOString(), channels: summary.channels,
    funded_batches: summary.funded_batches, new_exceptions: summary.new_exceptions, closed_exceptions: summary.closed_exceptions,
  };
}
