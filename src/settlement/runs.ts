// A reconciliation run (on request, and after each import): bank credits matched to the batches
// they fund (N batches : 1 credit, by the batch numbers the remittance names, else by amount),
// then the checks that depend on time: captures no report settled within the channel's delay and
// grace (missing_in_report), batches no credit funded (unfunded_batch), credits nothing explains
// (unmatched_bank_credit). Every step is idempotent: a rerun finds the same subjects and adds nothing.
import { newId } from "../ids.ts";
import { capturesBetween, capturesByAttempt, factsLookupBatchMax } from "../payments/settlement-facts.ts";
import { toBigInt, toSafeNumber, type Tx } from "../store/db.ts";
import { bookFunding } from "./bookings.ts";
import type { SettlementChannel, SettlementContext } from "./context.ts";
import { closeBySubject, raiseException, type ExceptionType } from "./exceptions.ts";
import { dateMs, dayMs, settlementLimits, startOfUtcDay } from "./terms.ts";

export interface RunSummary {
  id: string;
  as_of_ms: number;
  channels: string[];
  funded_batches: number;
  new_exceptions: Partial<Record<ExceptionType, number>>;
  closed_exceptions: number;
}

/** Captures committed this recently may still be arriving from other processes: not yet watermarked. */
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

async function inReports(tx: Tx, attempt_ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let start = 0; start < attempt_ids.length; start += factsLookupBatchMax) {
    const chunk = attempt_ids.slice(start, start + factsLookupBatchMax);
    const rows = await tx.all<{ match_id: string }>(
      `SELECT match_id FROM settlement_lines WHERE match_kind = 'capture' AND match_id IN (${chunk.map(() => "?").join(", ")})`, chunk);
    for (const row of rows) found.add(row.match_id);
  }
  return found;
}

async function missingInReport(s: SettlementContext, channel: SettlementChannel, summary: RunSummary, as_of_ms: number): Promise<void> {
  const lagDays = channel.terms.settlement_delay_days + channel.terms.grace_days + 1;
  // A capture is overdue when the start of its day + lagDays is at or before as_of.
  const through_ms = Math.min(startOfUtcDay(as_of_ms - lagDays * dayMs) + dayMs - 1, Date.now());
  for (let page = 0; page < settlementLimits.capture_pages_per_run_max; page++) {
    const more = await s.db.transaction(async (tx) => {
      const state = await tx.get<{ captures_checked_through_ms: unknown }>(
        `SELECT captures_checked_through_ms FROM reconciliation_channels WHERE channel = ? ${tx.forUpdate}`, [channel.channel]);
      if (!state) await tx.run("INSERT INTO reconciliation_channels (channel, captures_checked_through_ms, updated_ms) VALUES (?, 0, ?) ON CONFLICT (channel) DO NOTHING", [channel.channel, Date.now()]);
      const after_ms = toSafeNumber(state?.captures_checked_through_ms ?? 0);
      if (after_ms >= through_ms) return false;
      const captures = await capturesBetween(tx, channel.channel, after_ms, through_ms, settlementLimits.capture_page_max);
      const full = captures.length === settlementLimits.capture_page_max;
      const reported = await inReports(tx, captures.map((capture) => capture.attempt_id));
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
      // A full page may end inside one millisecond: the next page starts just before its last capture (rechecking is harmless).
      // The watermark stays behind the last minute: captures committing now by other processes are checked again next run.
      const reached = full ? captures[captures.length - 1].captured_ms - 1 : through_ms;
      const next = Math.max(after_ms, Math.min(reached, Date.now() - watermarkLagMs));
      await tx.run("UPDATE reconciliation_channels SET captures_checked_through_ms = ?, updated_ms = ? WHERE channel = ?", [next, Date.now(), channel.channel]);
      return full && reached > after_ms;
    });
    if (!more) return;
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
    await missingInReport(s, channel, summary, input.as_of_ms);
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
