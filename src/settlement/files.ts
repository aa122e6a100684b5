// Settlement files in: a channel's report or the platform bank's statement, uploaded by an
// operator or fetched by the scheduler. The same bytes again are a `duplicate` (nothing booked
// twice); a file that fails its own checks (a malformed line, a trailer count or hash total that
// disagrees, a payout that is not its batch's sum) is `rejected` with errors naming the lines,
// and nothing from it is booked. An imported report is matched and booked in the same transaction
// that stores it, so a crash during import leaves nothing of it behind.
import { createHash } from "node:crypto";
import { crashPoint } from "../chaos/crash.ts";
import { newId } from "../ids.ts";
import { assert } from "../limits.ts";
import { factsLookupBatchMax } from "../payments/settlement-facts.ts";
import { toSafeNumber, type Queryable, type Tx } from "../store/db.ts";
import { bookLines, type LineBooking } from "./bookings.ts";
import type { SettlementChannel, SettlementContext } from "./context.ts";
import { closeBySubject, raiseException } from "./exceptions.ts";
import { matchLines, mergeBookings, type LineRow } from "./matching.ts";
import type { ParseError, ReportLine, ReportParser, StatementEntry } from "./report.ts";
import { settlementLimits } from "./terms.ts";

export interface SettlementFile {
  id: string;
  channel: string;
  kind: "channel_report" | "bank_statement";
  filename: string;
  sha256: string;
  status: "imported" | "duplicate" | "rejected";
  lines: number;
  errors: ParseError[];
  duplicate_of: string | null;
  source: "upload" | "fetch";
  source_file_id: string | null;
  created_ms: number;
}

export type ImportFailure = { code: "unknown_channel" | "file_too_large" | "empty_file"; message: string };

export interface ImportInput {
  channel: string;
  filename: string;
  content: string;
  source: "upload" | "fetch";
  source_file_id?: string;
}

function physicalLines(content: string): number {
  let count = 0;
  for (let index = content.indexOf("\n"); index !== -1; index = content.indexOf("\n", index + 1)) count++;
  return content.endsWith("\n") ? count : count + 1;
}

async function insertFile(tx: Queryable, file: SettlementFile): Promise<void> {
  await tx.run(
    `INSERT INTO settlement_files (id, channel, kind, filename, sha256, status, lines, errors, duplicate_of, source, source_file_id, created_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [file.id, file.channel, file.kind, file.filename, file.sha256, file.status, file.lines, JSON.stringify(file.errors),
      file.duplicate_of, file.source, file.source_file_id, file.created_ms],
  );
}

async function importedWithSha(db: Queryable, channel: string, sha256: string): Promise<string | undefined> {
  const row = await db.get<{ id: string }>("SELECT id FROM settlement_files WHERE channel = ? AND sha256 = ? AND status = 'imported'", [channel, sha256]);
  return row?.id;
}

/** The text of a multi-row INSERT, kept per table and row count (the same string object is the
 *  prepared-statement cache's key, so it is hashed once). */
const insertSql = new Map<string, string>();

function insertStatement(table: string, columns: readonly string[], rows: number): string {
  const key = `${table}|${columns.length}|${rows}`;
  let sql = insertSql.get(key);
  if (sql === undefined) {
    const rowSql = `(${columns.map(() => "?").join(", ")})`;
    sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${Array(rows).fill(rowSql).join(", ")}`;
    if (insertSql.size < 64) insertSql.set(key, sql);
  }
  return sql;
}

/** Multi-row INSERTs of at most `insert_rows_max` rows, each row's values written by `values` into one flat parameter list. */
async function insertRows<T>(tx: Tx, table: string, columns: readonly string[], rows: readonly T[], values: (row: T, into: unknown[]) => void): Promise<void> {
  for (let start = 0; start < rows.length; start += settlementLimits.insert_rows_max) {
    const end = Math.min(rows.length, start + settlementLimits.insert_rows_max);
    const params: unknown[] = [];
    for (let index = start; index < end; index++) values(rows[index], params);
    assert(params.length === (end - start) * columns.length, "each row gives one value per column");
    await tx.run(insertStatement(table, columns, end - start), params);
  }
}

interface BatchSums {
  id: string;
  batch_number: string;
  currency: string;
  booking_date: string;
  gross: bigint;
  interchange: bigint;
  scheme_fees: bigint;
  markup: bigint;
  commission: bigint;
  net: bigint;
  lines: number;
  matched_lines: number;
}

/**
 * One pass over a report's lines, keeping nothing per line: each batch's sums, and the
 * channel-neutral checks (a line's net is its gross less its fees when not converted; a batch's
 * payout is the opposite of the sum of its other nets).
 */
class ReportTotals {
  readonly batches = new Map<string, BatchSums>();
  private readonly errors: ParseError[] = [];
  private readonly payouts = new Map<string, { line: number; net: bigint }>();

  add(line: ReportLine): void {
    const key = batchKey(line);
    if (line.type === "payout") {
      const payout = this.payouts.get(key);
      this.payouts.set(key, { line: payout?.line ?? line.line, net: (payout?.net ?? 0n) + BigInt(line.net) });
      return;
    }
    const fees = BigInt(line.interchange) + BigInt(line.scheme_fees) + BigInt(line.markup) + BigInt(line.commission);
    if (line.net_currency === line.currency && BigInt(line.net) !== BigInt(line.gross) - fees && this.errors.length < settlementLimits.file_errors_max) {
      this.errors.push({ line: line.line, message: `net ${line.net} is not the gross ${line.gross} less the fees ${fees}` });
    }
    let batch = this.batches.get(key);
    if (!batch) {
      batch = { id: newId("sbatch"), batch_number: line.batch_number, currency: line.net_currency, booking_date: line.booking_date,
        gross: 0n, interchange: 0n, scheme_fees: 0n, markup: 0n, commission: 0n, net: 0n, lines: 0, matched_lines: 0 };
      this.batches.set(key, batch);
    }
    if (line.booking_date > batch.booking_date) batch.booking_date = line.booking_date;
    // A batch is in its net currency: a converted line counts its gross as the channel converted
    // it (its net plus its fees), not in the payment's currency.
    batch.gross += line.net_currency === line.currency ? BigInt(line.gross) : BigInt(line.net) + fees;
    batch.interchange += BigInt(line.interchange);
    batch.scheme_fees += BigInt(line.scheme_fees);
    batch.markup += BigInt(line.markup);
    batch.commission += BigInt(line.commission);
    batch.net += BigInt(line.net);
    batch.lines++;
  }

  check(): ParseError[] {
    const errors = [...this.errors];
    for (const [key, payout] of this.payouts) {
      const expected = -(this.batches.get(key)?.net ?? 0n);
      const [batch_number, currency] = key.split("|");
      if (payout.net !== expected) errors.push({ line: payout.line, message: `the payout of batch ${batch_number} (${currency}) is ${payout.net}, not the opposite of its lines' nets (${expected})` });
    }
    return errors.slice(0, settlementLimits.file_errors_max);
  }
}

function batchKey(line: ReportLine): string {
  return `${line.batch_number}|${line.net_currency}`;
}

/** Reads a report once to check it: its errors (the parser's, then the neutral checks), or its batches. */
function checkReport(parser: ReportParser, content: string): { errors: ParseError[]; batches: Map<string, BatchSums> } {
  const scan = parser.scan(content);
  const totals = new ReportTotals();
  let lines = 0;
  for (const line of scan.lines) {
    assert(++lines <= settlementLimits.file_chars_max, "a report yields at most one line per character");
    totals.add(line);
  }
  const parseErrors = scan.errors();
  if (parseErrors.length > 0) return { errors: parseErrors.slice(0, settlementLimits.file_errors_max), batches: totals.batches };
  return { errors: totals.check(), batches: totals.batches };
}

/** Batches another imported file already brought: a file that repeats them is rejected. */
async function knownBatches(db: Queryable, channel: string, batches: Iterable<BatchSums>): Promise<ParseError[]> {
  const errors: ParseError[] = [];
  for (const batch of batches) {
    const row = await db.get<{ file_id: string }>("SELECT file_id FROM settlement_batches WHERE channel = ? AND batch_number = ? AND currency = ?", [channel, batch.batch_number, batch.currency]);
    if (row) errors.push({ line: 0, message: `batch ${batch.batch_number} (${batch.currency}) was already imported from ${row.file_id}` });
    if (errors.length >= settlementLimits.file_errors_max) break;
  }
  return errors;
}

const lineColumns = [
  "file_id", "line", "channel", "batch_id", "type", "merchant_reference", "channel_reference", "booking_date", "currency", "gross",
  "net_currency", "net", "interchange", "scheme_fees", "markup", "commission", "status", "match_kind", "match_id", "payment_id",
  "merchant_id", "expected_amount", "merchant_fee", "pricing_version", "booked", "created_ms", "exchange_rate",
] as const;

function pushLineValues(into: unknown[], file_id: string, channel: string, row: LineRow, now_ms: number): void {
  const line = row.line;
  into.push(
    file_id, line.line, channel, row.batch_id, line.type, line.merchant_reference, line.channel_reference, line.booking_date, line.currency, line.gross,
    line.net_currency, line.net, line.interchange, line.scheme_fees, line.markup, line.commission, row.status, row.match_kind, row.match_id, row.payment_id,
    row.merchant_id, row.expected, row.merchant_fee, row.pricing_version, row.booked ? 1 : 0, now_ms, line.exchange_rate,
  );
}

async function closeLateCaptures(tx: Tx, channel: string, attempts: readonly string[], file_id: string, now_ms: number): Promise<number> {
  // Looked up by subject (not a bounded page of all open ones: every late capture must be closed).
  const subjects = [...new Set(attempts)].map((attempt) => `missing_in_report:${attempt}`);
  let closed = 0;
  for (let start = 0; start < subjects.length; start += factsLookupBatchMax) {
    const chunk = subjects.slice(start, start + factsLookupBatchMax);
    const open = await tx.all<{ subject: string }>(
      `SELECT subject FROM reconciliation_exceptions WHERE channel = ? AND status = 'open' AND subject IN (${chunk.map(() => "?").join(", ")})`, [channel, ...chunk]);
    for (const { subject } of open) {
      if (await closeBySubject(tx, subject, { action: "matched_late", settlement_file: file_id, by: "reconciliation" }, now_ms)) closed++;
    }
  }
  return closed;
}

/** The detail (non-payout) lines of a scan, in chunks of at most `size`. */
function* detailChunks(lines: Iterable<ReportLine>, size: number): Generator<ReportLine[], void, undefined> {
  let chunk: ReportLine[] = [];
  for (const line of lines) {
    if (line.type === "payout") continue;
    chunk.push(line);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function storeReport(
  tx: Tx, s: SettlementContext, channel: SettlementChannel, file: SettlementFile, report: { parser: ReportParser; content: string; batches: Map<string, BatchSums> },
): Promise<{ errors: ParseError[]; duplicate_of?: string }> {
  // The same bytes imported since the check before parsing (a concurrent import that committed
  // first): a duplicate, not a file repeating its batches.
  const earlier = await importedWithSha(tx, file.channel, file.sha256);
  if (earlier) return { errors: [], duplicate_of: earlier };
  const { batches } = report;
  const repeated = await knownBatches(tx, file.channel, batches.values());
  if (repeated.length > 0) return { errors: repeated };
  await insertFile(tx, file);
  const byId = new Map([...batches.values()].map((batch) => [batch.id, batch]));
  const bookings = new Map<string, LineBooking>();
  const fees = s.fees();
  // The file is read a second time, in chunks, inside the one transaction: each chunk's facts,
  // rows and parameters are garbage once it is written, so memory stays flat whatever the file's
  // size. A line repeating one of an earlier chunk is found as a duplicate through the rows
  // already written.
  let detail = 0;
  for (const chunk of detailChunks(report.parser.scan(report.content).lines, settlementLimits.import_chunk_lines)) {
    detail += chunk.length;
    const outcome = await matchLines(tx, {
      channel: file.channel, file_id: file.id, terms: channel.terms, fees, lines: chunk,
      batchIdOf: (line) => batches.get(batchKey(line))!.id,
    });
    for (const row of outcome.rows) if (row.status === "matched") byId.get(row.batch_id)!.matched_lines++;
    await insertRows(tx, "settlement_lines", lineColumns, outcome.rows, (row, into) => pushLineValues(into, file.id, file.channel, row, file.created_ms));
    for (const exception of outcome.exceptions) await raiseException(tx, exception, file.created_ms);
    mergeBookings(bookings, outcome.bookings);
    await closeLateCaptures(tx, file.channel, outcome.settled_attempts, file.id, file.created_ms);
  }
  let counted = 0;
  for (const batch of batches.values()) counted += batch.lines;
  assert(detail === counted, "the second read of a report yields the lines the first read counted");
  await insertRows(tx, "settlement_batches",
    ["id", "channel", "batch_number", "currency", "file_id", "booking_date", "gross", "interchange", "scheme_fees", "markup", "commission", "net", "lines", "matched_lines", "created_ms"],
    [...batches.values()], (batch, into) => into.push(batch.id, file.channel, batch.batch_number, batch.currency, file.id, batch.booking_date, batch.gross,
      batch.interchange, batch.scheme_fees, batch.markup, batch.commission, batch.net, batch.lines, batch.matched_lines, file.created_ms));
  await bookLines(tx, [...bookings.values()], file.id);
  crashPoint("inside_settlement_import");
  return { errors: [] };
}

async function storeStatement(tx: Tx, file: SettlementFile, entries: StatementEntry[]): Promise<void> {
  await insertFile(tx, file);
  for (const entry of entries) {
    await tx.run(
      `INSERT INTO bank_statement_entries (id, file_id, line, bank, entry_reference, booking_date, value_date, direction, amount, currency,
         counterparty, remittance, channel, batch_numbers, status, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'unmatched', ?) ON CONFLICT (bank, entry_reference) DO NOTHING`,
      [newId("bent"), file.id, entry.line, file.channel, entry.entry_reference, entry.booking_date, entry.value_date, entry.direction, entry.amount,
        entry.currency, entry.counterparty, entry.remittance, entry.channel, JSON.stringify(entry.batch_numbers), file.created_ms],
    );
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

export async function importSettlementFile(s: SettlementContext, input: ImportInput): Promise<{ ok: true; file: SettlementFile } | { ok: false; failure: ImportFailure }> {
  const channel = s.channels.get(input.channel);
  if (!channel) return { ok: false, failure: { code: "unknown_channel", message: `No settlement files are known for channel '${input.channel}'; expected one of ${[...s.channels.keys()].join(", ")}.` } };
  if (input.content.length > settlementLimits.file_chars_max) return { ok: false, failure: { code: "file_too_large", message: "The file is larger than settlement files may be." } };
  if (input.content.trim().length === 0) return { ok: false, failure: { code: "empty_file", message: "The file is empty." } };
  const sha256 = createHash("sha256").update(input.content).digest("hex");
  const file: SettlementFile = {
    id: newId("sfile"), channel: input.channel, kind: channel.parser.kind, filename: input.filename, sha256, status: "imported",
    lines: physicalLines(input.content), errors: [], duplicate_of: null, source: input.source, source_file_id: input.source_file_id ?? null, created_ms: Date.now(),
  };
  const recordAs = async (status: "duplicate" | "rejected", extra: Partial<SettlementFile>) => {
    const recorded = { ...file, ...extra, status };
    await s.db.transaction((tx) => insertFile(tx, recorded));
    return { ok: true as const, file: recorded };
  };
  const earlier = await importedWithSha(s.db, input.channel, sha256);
  if (earlier) return recordAs("duplicate", { duplicate_of: earlier });

  const parser = channel.parser;
  if (parser.kind === "bank_statement") {
    const parsed = parser.parse(input.content);
    if (!parsed.ok) return recordAs("rejected", { errors: parsed.errors.slice(0, settlementLimits.file_errors_max) });
    try {
      await s.db.transaction((tx) => storeStatement(tx, file, parsed.entries));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const winner = await importedWithSha(s.db, input.channel, sha256);
      assert(winner !== undefined, "a unique violation on a statement import means the same file was imported");
      return recordAs("duplicate", { duplicate_of: winner });
    }
    return { ok: true, file };
  }
  const checked = checkReport(parser, input.content);
  if (checked.errors.length > 0) return recordAs("rejected", { errors: checked.errors });
  try {
    const stored = await s.db.transaction(async (tx) => storeReport(tx, s, channel, file, { parser, content: input.content, batches: checked.batches }));
    if (stored.duplicate_of) return recordAs("duplicate", { duplicate_of: stored.duplicate_of });
    if (stored.errors.length > 0) return recordAs("rejected", { errors: stored.errors });
    return { ok: true, file };
  } catch (error) {
    // Another process imported the same bytes at the same moment: ours is the duplicate.
    if (!isUniqueViolation(error)) throw error;
    const winner = await importedWithSha(s.db, input.channel, sha256);
    if (winner) return recordAs("duplicate", { duplicate_of: winner });
    // Or another file with one of the same batches: ours repeats them.
    const repeated = await knownBatches(s.db, input.channel, checked.batches.values());
    assert(repeated.length > 0, "a unique violation on import means the same file or one of its batches was imported");
    return recordAs("rejected", { errors: repeated });
  }
}

export function toSettlementFile(row: Record<string, unknown>): SettlementFile {
  return {
    id: row.id as string, channel: row.channel as string, kind: row.kind as SettlementFile["kind"], filename: row.filename as string,
    sha256: row.sha256 as string, status: row.status as SettlementFile["status"], lines: toSafeNumber(row.lines),
    errors: JSON.parse(row.errors as string), duplicate_of: (row.duplicate_of as string) ?? null, source: row.source as SettlementFile["source"],
    source_file_id: (row.source_file_id as string) ?? null, created_ms: toSafeNumber(row.created_ms),
  };
}

export function settlementFileView(file: SettlementFile) {
  return {
    id: file.id, object: "settlement_file", channel: file.channel, kind: file.kind, filename: file.filename, sha256: file.sha256,
    status: file.status, lines: file.lines, errors: file.errors, duplicate_of: file.duplicate_of, source: file.source,
    created: Math.floor(file.created_ms / 1000),
  };
}
