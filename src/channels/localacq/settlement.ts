// localacq's settlement side for Corridor: its fixed-width clearing file (the layout is documented
// where localacq writes it, src/sandbox/localacq/clearing-file.ts) parsed into the channel-neutral
// report lines, and the source that lists and fetches the published files.
//
// The record layouts are data (field, start, length, kind) and every record is sliced by its
// layout. Checked, with errors naming the physical line (0: the file as a whole):
//   - every record is exactly 150 characters ("\n" or "\r\n" line ends; nothing after the last)
//   - record types: one H first, D and B records, one T last; sequence numbers = line numbers
//   - numeric fields are digits, dates real YYYYMMDD dates, signs "C" or "D", known transaction
//     types, currencies ISO 4217 numeric codes localacq settles
//   - a batch trailer (optional) follows its batch's details and agrees with them: batch number,
//     currency, detail count, gross, fee and net totals; one currency per batch
//   - the file trailer's detail count and hash total (sum of the detail amounts, mod 10^18) and its
//     batch count agree with the records
// Amounts are converted from localacq's own exponent to ISO 4217 (IDR and HUF × 100), exactly.
// Mapped: 05 → settled (channel_reference: the authorization's RRN, what Corridor keeps for the
// attempt), 06 → refunded, 15 → chargeback, 16 → chargeback_reversal, 19 → fee (channel_reference:
// the record's own RRN); net = signed amount − fee; interchange, scheme fees and markup are 0 and the
// fee is the commission (localacq prices blended). Each batch gets one `payout` line computed from
// its details (net = −their net sum, gross 0), placed after them and named by the batch trailer's
// line, or by the file trailer's when the file has no batch trailers; booking date is the file's
// creation date.
import { currencyByNumeric } from "../../money/currency.ts";
import { parseReport, type ParseError, type ParsedReport, type PublishedFile, type ReportLine, type ReportParser, type ReportScan, type SettlementLineType, type SettlementSource, type Unreachable } from "../../settlement/report.ts";
import type { Transport } from "../transport.ts";
import { channelCurrency, fromChannelAmount, type ChannelCurrency } from "./transformers.ts";

export const CLEARING_RECORD_LENGTH = 150;
export const LOCALACQ_MAX_ERRORS = 100;
const HASH_MODULUS = 10n ** 18n;

type FieldKind = "N" | "A" | "D" | "S";
interface Field<Name extends string> {
  name: Name;
  /** 1-based. */
  start: number;
  length: number;
  /** N numeric, A text (right-trimmed), D date YYYYMMDD, S sign C/D. */
  kind: FieldKind;
}

const field = <Name extends string>(name: Name, start: number, length: number, kind: FieldKind): Field<Name> => ({ name, start, length, kind });

export const headerLayout = [
  field("record_type", 1, 1, "A"), field("record_seq", 2, 8, "N"), field("file_id", 10, 12, "N"), field("creation_date", 22, 8, "D"),
  field("creation_time", 30, 6, "N"), field("acquirer_id", 36, 11, "N"), field("version", 47, 2, "N"),
] as const;
export const detailLayout = [
  field("record_type", 1, 1, "A"), field("record_seq", 2, 8, "N"), field("transaction_type", 10, 2, "N"), field("reference", 12, 40, "A"),
  field("rrn", 52, 12, "N"), field("auth_rrn", 64, 12, "N"), field("currency", 76, 3, "N"), field("amount", 79, 15, "N"), field("sign", 94, 1, "S"),
  field("fee", 95, 12, "N"), field("batch_number", 107, 10, "N"), field("transaction_date", 117, 8, "D"), field("scheme", 125, 10, "A"),
] as const;
export const batchTrailerLayout = [
  field("record_type", 1, 1, "A"), field("record_seq", 2, 8, "N"), field("batch_number", 10, 10, "N"), field("currency", 20, 3, "N"),
  field("detail_count", 23, 8, "N"), field("gross", 31, 15, "N"), field("gross_sign", 46, 1, "S"), field("fee_total", 47, 15, "N"),
  field("net", 62, 15, "N"), field("net_sign", 77, 1, "S"),
] as const;
export const fileTrailerLayout = [
  field("record_type", 1, 1, "A"), field("record_seq", 2, 8, "N"), field("detail_count", 10, 8, "N"), field("batch_count", 18, 6, "N"),
  field("hash_total", 24, 18, "N"),
] as const;

type Layout = readonly Field<string>[];
type Values<L extends Layout> = { [F in L[number] as F["name"]]: string };

const transactionTypes: Readonly<Record<string, SettlementLineType>> = {
  "05": "settled", "06": "refunded", "15": "chargeback", "16": "chargeback_reversal", "19": "fee",
};

function validDate(text: string): boolean {
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(4, 6));
  const day = Number(text.slice(6, 8));
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const digits = /^\d+$/;

/** Slices a record by its layout; the first field that does not fit its kind is the error. */
export function sliceRecord<L extends Layout>(record: string, layout: L): { ok: true; values: Values<L> } | { ok: false; message: string } {
  const values: Record<string, string> = {};
  for (const { name, start, length, kind } of layout) {
    const raw = record.slice(start - 1, start - 1 + length);
    if (kind === "N" && !digits.test(raw)) return { ok: false, message: `${name} (columns ${start}-${start + length - 1}) is not numeric: '${raw}'` };
    if (kind === "D" && (!digits.test(raw) || !validDate(raw))) return { ok: false, message: `${name} (columns ${start}-${start + length - 1}) is not a date YYYYMMDD: '${raw}'` };
    if (kind === "S" && raw !== "C" && raw !== "D") return { ok: false, message: `${name} (column ${start}) is not C or D: '${raw}'` };
    values[name] = kind === "A" ? raw.trimEnd() : raw;
  }
  return { ok: true, values: values as Values<L> };
}

const isoDate = (yyyymmdd: string) => `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
const signed = (amount: string, sign: string) => (sign === "D" ? -BigInt(amount) : BigInt(amount));

interface OpenBatch {
  batch_number: string;
  currency: ChannelCurrency;
  count: number;
  /** localacq units. */
  gross: bigint;
  fees: bigint;
  /** ISO minor units. */
  net: number;
  first_line: number;
}

class ClearingReader {
  readonly errors: ParseError[] = [];
  /** Lines read from the current record, taken by the scan before the next. */
  readonly lines: ReportLine[] = [];
  private header: Values<typeof headerLayout> | undefined;
  private trailerSeen = false;
  private details = 0;
  private hash = 0n;
  private trailers = 0;
  /** The batch whose details are being read (trailers close it). */
  private open: OpenBatch | undefined;
  /** Batches without a trailer, closed at the file trailer. */
  private readonly unclosed = new Map<string, OpenBatch>();
  private readonly closed = new Set<string>();

  fail(line: number, message: string): void {
    if (this.errors.length < LOCALACQ_MAX_ERRORS) this.errors.push({ line, message });
  }

  record(record: string, line: number): void {
    if (record.length !== CLEARING_RECORD_LENGTH) return this.fail(line, `the record is ${record.length} characters, the layout ${CLEARING_RECORD_LENGTH}`);
    if (this.trailerSeen) return this.fail(line, "a record after the file trailer");
    const type = record[0];
    if (line === 1 && type !== "H") return this.fail(line, `the file begins with a '${type}' record, not the header`);
    if (type === "H") return this.onHeader(record, line);
    if (type === "D") return this.onDetail(record, line);
    if (type === "B") return this.onBatchTrailer(record, line);
    if (type === "T") return this.onFileTrailer(record, line);
    this.fail(line, `unknown record type '${type}'`);
  }

  private sequence(values: { record_seq: string }, line: number): boolean {
    if (Number(values.record_seq) === line) return true;
    this.fail(line, `record sequence ${Number(values.record_seq)} on line ${line}`);
    return false;
  }

  private onHeader(record: string, line: number): void {
    if (line !== 1) return this.fail(line, "a header after the first record");
    const sliced = sliceRecord(record, headerLayout);
    if (!sliced.ok) return this.fail(line, sliced.message);
    if (!this.sequence(sliced.values, line)) return;
    this.header = sliced.values;
  }

  private onDetail(record: string, line: number): void {
    if (!this.header) return;
    const sliced = sliceRecord(record, detailLayout);
    if (!sliced.ok) return this.fail(line, sliced.message);
    const values = sliced.values;
    if (!this.sequence(values, line)) return;
    this.details += 1;
    this.hash = (this.hash + BigInt(values.amount)) % HASH_MODULUS;
    const type = transactionTypes[values.transaction_type];
    if (!type) return this.fail(line, `unknown transaction type '${values.transaction_type}'`);
    const iso = currencyByNumeric(values.currency);
    const currency = iso && channelCurrency(iso.code);
    if (!currency) return this.fail(line, `currency '${values.currency}' is not one localacq settles`);
    const amount = signed(values.amount, values.sign);
    const fee = BigInt(values.fee);
    const gross = this.iso(amount, currency, line);
    const fees = this.iso(fee, currency, line);
    if (gross === undefined || fees === undefined) return;
    const batch_number = String(Number(values.batch_number));
    let batch = this.open;
    if (batch && batch.batch_number !== batch_number) {
      batch = undefined;
      this.parkOpen();
    }
    if (!batch) {
      if (this.closed.has(batch_number)) return this.fail(line, `batch ${batch_number} continues after its trailer`);
      batch = this.unclosed.get(batch_number) ?? { batch_number, currency, count: 0, gross: 0n, fees: 0n, net: 0, first_line: line };
      this.unclosed.delete(batch_number);
      this.open = batch;
    }
    if (batch.currency.iso.code !== currency.iso.code) return this.fail(line, `batch ${batch_number} is in ${batch.currency.iso.code}, this record in ${currency.iso.code}`);
    batch.count += 1;
    batch.gross += amount;
    batch.fees += fee;
    batch.net += gross - fees;
    if (!Number.isSafeInteger(batch.net)) return this.fail(line, `batch ${batch_number} totals more than a safe integer`);
    if (this.errors.length > 0) return;
    const reference = values.reference;
    this.lines.push({
      line, batch_number, type, merchant_reference: reference === "" ? null : reference,
      channel_reference: type === "settled" ? values.auth_rrn : values.rrn, booking_date: isoDate(values.transaction_date),
      currency: currency.iso.code, gross, net_currency: currency.iso.code, net: gross - fees, exchange_rate: "1",
      interchange: 0, scheme_fees: 0, markup: 0, commission: fees,
    });
  }

  private iso(amount: bigint, currency: ChannelCurrency, line: number): number | undefined {
    const value = Number(amount);
    const converted = Number.isSafeInteger(value) ? fromChannelAmount(value, currency) : undefined;
    if (converted === undefined) this.fail(line, `${amount} is not a safe amount of ${currency.iso.code}`);
    return converted;
  }

  /** A batch without its trailer (yet): kept until the file trailer. */
  private parkOpen(): void {
    if (this.open) this.unclosed.set(this.open.batch_number, this.open);
    this.open = undefined;
  }

  private payout(batch: OpenBatch, line: number): void {
    this.closed.add(batch.batch_number);
    if (this.errors.length > 0 || !this.header) return;
    this.lines.push({
      line, batch_number: batch.batch_number, type: "payout", merchant_reference: null, channel_reference: null,
      booking_date: isoDate(this.header.creation_date), currency: batch.currency.iso.code, gross: 0, net_currency: batch.currency.iso.code,
      net: 0 - batch.net, exchange_rate: "1", interchange: 0, scheme_fees: 0, markup: 0, commission: 0,
    });
  }

  private onBatchTrailer(record: string, line: number): void {
    if (!this.header) return;
    const sliced = sliceRecord(record, batchTrailerLayout);
    if (!sliced.ok) return this.fail(line, sliced.message);
    const values = sliced.values;
    if (!this.sequence(values, line)) return;
    this.trailers += 1;
    const batch_number = String(Number(values.batch_number));
    let batch = this.open;
    this.open = undefined;
    if (batch?.batch_number !== batch_number && Number(values.detail_count) === 0 && !this.closed.has(batch_number)) {
      // A batch whose every line was left out: its trailer alone (a payout of zero).
      if (batch) this.unclosed.set(batch.batch_number, batch);
      const iso = currencyByNumeric(values.currency);
      const currency = iso && channelCurrency(iso.code);
      if (!currency) return this.fail(line, `currency '${values.currency}' is not one localacq settles`);
      batch = { batch_number, currency, count: 0, gross: 0n, fees: 0n, net: 0, first_line: line };
    }
    if (!batch || batch.batch_number !== batch_number) {
      if (batch) this.unclosed.set(batch.batch_number, batch);
      return this.fail(line, `the trailer of batch ${batch_number} does not follow that batch's details`);
    }
    const problems: string[] = [];
    if (values.currency !== batch.currency.iso.numeric) problems.push(`currency ${values.currency}, the details ${batch.currency.iso.numeric}`);
    if (Number(values.detail_count) !== batch.count) problems.push(`${Number(values.detail_count)} details, the batch has ${batch.count}`);
    if (signed(values.gross, values.gross_sign) !== batch.gross) problems.push(`gross ${signed(values.gross, values.gross_sign)}, the details sum to ${batch.gross}`);
    if (BigInt(values.fee_total) !== batch.fees) problems.push(`fees ${BigInt(values.fee_total)}, the details sum to ${batch.fees}`);
    if (signed(values.net, values.net_sign) !== batch.gross - batch.fees) problems.push(`net ${signed(values.net, values.net_sign)}, the details sum to ${batch.gross - batch.fees}`);
    if (problems.length > 0) return this.fail(line, `the trailer of batch ${batch_number} says ${problems.join("; ")}`);
    this.payout(batch, line);
  }

  private onFileTrailer(record: string, line: number): void {
    if (!this.header) return;
    const sliced = sliceRecord(record, fileTrailerLayout);
    if (!sliced.ok) return this.fail(line, sliced.message);
    const values = sliced.values;
    if (!this.sequence(values, line)) return;
    this.trailerSeen = true;
    if (Number(values.detail_count) !== this.details) this.fail(line, `the file trailer counts ${Number(values.detail_count)} detail records, the file has ${this.details}`);
    if (BigInt(values.hash_total) !== this.hash) this.fail(line, `the file trailer's hash total is ${BigInt(values.hash_total)}, the detail amounts sum to ${this.hash}`);
    if (Number(values.batch_count) !== this.trailers) this.fail(line, `the file trailer counts ${Number(values.batch_count)} batches, the file has ${this.trailers} batch trailers`);
    this.parkOpen();
    if (this.unclosed.size > 0 && this.trailers > 0) {
      for (const batch of this.unclosed.values()) this.fail(batch.first_line, `batch ${batch.batch_number} has no batch trailer`);
      return;
    }
    // A file without batch trailers: each batch's payout is named by the file trailer.
    for (const batch of this.unclosed.values()) this.payout(batch, line);
    this.unclosed.clear();
  }

  finish(): void {
    if (!this.header && this.errors.length === 0) this.fail(0, "the file has no header record");
    else if (!this.trailerSeen) this.fail(0, "the file has no trailer record");
  }
}

/** The file read record by record (see ReportScan): a record's lines are yielded as it is read. */
export function scanLocalAcqClearingFile(content: string): ReportScan {
  const reader = new ClearingReader();
  function* lines(): Generator<ReportLine, void, undefined> {
    const length = content.length;
    let start = 0;
    let line = 0;
    while (start < length) {
      let end = content.indexOf("\n", start);
      if (end === -1) end = length;
      line += 1;
      const stop = end > start && content.charCodeAt(end - 1) === 13 ? end - 1 : end;
      reader.record(content.slice(start, stop), line);
      yield* reader.lines;
      reader.lines.length = 0;
      if (reader.errors.length >= LOCALACQ_MAX_ERRORS) break;
      start = end + 1;
    }
    reader.finish();
  }
  return { lines: lines(), errors: () => reader.errors };
}

export function parseLocalAcqClearingFile(content: string): ParsedReport {
  return parseReport(scanLocalAcqClearingFile(content));
}

export const localAcqReportParser: ReportParser = { kind: "channel_report", scan: scanLocalAcqClearingFile };

// ---- the source: GET /clearing/files and /clearing/files/{file_id} ----

export interface LocalAcqSettlementSourceOptions {
  transport: Transport;
  timeout_ms: number;
}

const LIST_MAX = 1000;
const FILENAMES_KEPT = 10_000;

export function createLocalAcqSettlementSource(options: LocalAcqSettlementSourceOptions): SettlementSource {
  const { transport, timeout_ms } = options;
  const filenames = new Map<string, string>();
  return {
    channel: "localacq",
    kind: "channel_report",
    async listFiles(limit): Promise<PublishedFile[] | Unreachable> {
      const bounded = Math.min(LIST_MAX, Math.max(1, Math.floor(limit)));
      const result = await transport.request({ method: "GET", path: `/clearing/files?limit=${bounded}`, timeout_ms });
      if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
      if (result.status !== 200) return { unreachable: true, reason: `localacq answered HTTP ${result.status} to the clearing file list` };
      let listed: unknown;
      try {
        listed = (JSON.parse(result.body) as { files?: unknown } | null)?.files;
      } catch {
        listed = undefined;
      }
      if (!Array.isArray(listed)) return { unreachable: true, reason: "localacq's clearing file list has no files array" };
      const files: PublishedFile[] = [];
      for (const entry of listed as unknown[]) {
        const { file_id, file_name } = (entry ?? {}) as { file_id?: unknown; file_name?: unknown };
        if (typeof file_id !== "string" || file_id === "" || typeof file_name !== "string") return { unreachable: true, reason: "localacq's clearing file list has an entry without file_id and file_name" };
        if (filenames.size >= FILENAMES_KEPT) filenames.clear();
        filenames.set(file_id, file_name);
        files.push({ id: file_id, filename: file_name });
      }
      return files.slice(-bounded);
    },
    async fetchFile(id) {
      const result = await transport.request({ method: "GET", path: `/clearing/files/${encodeURIComponent(id)}`, timeout_ms });
      if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
      if (result.status !== 200) return { unreachable: true, reason: `localacq answered HTTP ${result.status} for clearing file ${id}` };
      return { filename: filenames.get(id) ?? `${id}.txt`, content: result.body };
    },
  };
}
