// globalpay's settlement side for Corridor: the settlement-details CSV (the format is documented
// where globalpay writes it, src/sandbox/globalpay/settlement-report.ts) parsed into the
// channel-neutral report lines, and the source that lists and fetches the published reports.
//
// Reading is RFC 4180 (quoted fields may hold commas, quotes and line breaks): a record with a
// quote is parsed by csv-parse, one without by comma splitting, which is all RFC 4180 allows there
// (csv-parse alone reads some 75 000 rows a second; this about 200 000–300 000, see
// settlement.bench.ts). Columns are found by header name (extra columns are ignored, order is free),
// one pass over the records with nothing kept per record but its report line. Every row is checked, and any violation rejects the
// file with errors naming the physical line (1-based, the header is line 1; a record spanning
// lines is named by its first):
//   - the row has as many fields as the header; Type is a known type
//   - Gross Currency and Net Currency are ISO 4217 codes; the amounts are unsigned decimals with at
//     most the currency's exponent digits (converted to integer minor units by digits, no floats),
//     at most one of each Debit/Credit pair filled, the result a safe integer
//   - Exchange Rate is a positive decimal (units of the net currency per unit of the gross: a line
//     globalpay converted before paying it out), 1 when the two currencies are equal; Creation Date is
//     "YYYY-MM-DD HH:MM:SS" in TimeZone UTC (or GMT)
//   - net = gross − (commission + markup + scheme fees + interchange) when the currencies are equal
//   - Batch Number present (digits); one net currency per batch; exactly one MerchantPayout row per
//     batch, whose net is −(the sum of the batch's other nets)
// Mapped to report lines: Settled → settled, Refunded → refunded, Chargeback → chargeback,
// ChargebackReversed → chargeback_reversal, Fee → fee, MerchantPayout → payout. gross = credit −
// debit, net = credit − debit; merchant_reference is Merchant Reference (null when empty);
// channel_reference is Psp Reference on Settled rows (the authorization id Corridor keeps for the
// attempt) and Modification Reference on every other row (the refund's id, the dispute's id, the
// payout reference); booking_date is the date of Creation Date.
import { parse } from "csv-parse/sync";
import { findCurrency } from "../../money/currency.ts";
import { parseReport, type ParseError, type ParsedReport, type PublishedFile, type ReportLine, type ReportParser, type ReportScan, type SettlementLineType, type SettlementSource, type Unreachable } from "../../settlement/report.ts";
import type { Transport } from "../transport.ts";

export const GLOBALPAY_COLUMNS = {
  company_account: "Company Account",
  merchant_account: "Merchant Account",
  psp_reference: "Psp Reference",
  merchant_reference: "Merchant Reference",
  payment_method: "Payment Method",
  creation_date: "Creation Date",
  timezone: "TimeZone",
  type: "Type",
  modification_reference: "Modification Reference",
  gross_currency: "Gross Currency",
  gross_debit: "Gross Debit (GC)",
  gross_credit: "Gross Credit (GC)",
  exchange_rate: "Exchange Rate",
  net_currency: "Net Currency",
  net_debit: "Net Debit (NC)",
  net_credit: "Net Credit (NC)",
  commission: "Commission (NC)",
  markup: "Markup (NC)",
  scheme_fees: "Scheme Fees (NC)",
  interchange: "Interchange (NC)",
  batch_number: "Batch Number",
} as const;
type Column = keyof typeof GLOBALPAY_COLUMNS;

const lineTypes: Readonly<Record<string, SettlementLineType>> = {
  Settled: "settled", Refunded: "refunded", Chargeback: "chargeback", ChargebackReversed: "chargeback_reversal", Fee: "fee", MerchantPayout: "payout",
};

/** Errors kept per file; parsing stops once this many are found. */
export const GLOBALPAY_MAX_ERRORS = 100;
const MAX_AMOUNT_CHARS = 24;

class TooManyErrors {}

/**
 * Decimal major units → integer minor units of an exponent, exactly, by digits: "12.34", 2 → 1234;
 * "12.3", 2 → 1230; "7", 0 → 7. undefined for anything else (signs, spaces, "1.", ".5", more
 * fraction digits than the exponent, results past 2^53).
 */
export function decimalToMinor(text: string, exponent: number): number | undefined {
  const length = text.length;
  if (length === 0 || length > MAX_AMOUNT_CHARS) return undefined;
  let value = 0;
  let index = 0;
  for (; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code === 46) break;
    if (code < 48 || code > 57) return undefined;
    value = value * 10 + (code - 48);
  }
  if (index === 0) return undefined;
  let fraction = 0;
  if (index < length) {
    index++;
    if (index === length) return undefined;
    for (; index < length; index++) {
      const code = text.charCodeAt(index);
      if (code < 48 || code > 57 || ++fraction > exponent) return undefined;
      value = value * 10 + (code - 48);
    }
  }
  for (; fraction < exponent; fraction++) value *= 10;
  return Number.isSafeInteger(value) ? value : undefined;
}

const currencyCache = new Map<string, { code: string; exponent: number }>();

/** An upper-case ISO 4217 code and its exponent (one shared object, and code string, per currency). */
function currencyOf(code: string): { code: string; exponent: number } | undefined {
  let currency = currencyCache.get(code);
  if (currency === undefined) {
    if (!/^[A-Z]{3}$/.test(code)) return undefined;
    const iso = findCurrency(code);
    if (!iso) return undefined;
    currency = { code: iso.code, exponent: iso.exponent };
    currencyCache.set(code, currency);
  }
  return currency;
}

const positiveDecimal = /^(?:0|[1-9]\d{0,11})(?:\.\d{1,12})?$/;
const zero = /^0(?:\.0+)?$/;
const one = /^1(?:\.0+)?$/;
const creationDate = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;
const batchPattern = /^\d{1,20}$/;

function countQuotes(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf('"', from); at !== -1 && at < to; at = text.indexOf('"', at + 1)) count++;
  return count;
}

/**
 * Every record of an RFC 4180 CSV text with its physical line number; empty lines are skipped,
 * "\n" and "\r\n" line ends both accepted, a leading BOM ignored. A line without a double quote is a
 * record whose fields are its comma-separated parts (all RFC 4180 allows there); a record that
 * contains a quote — it runs on over following lines while its quotes are unbalanced — is parsed
 * by csv-parse. The fields array of an unquoted record is reused for the next one: a consumer keeps
 * its strings, never the array.
 */
export function* csvRecords(content: string, malformed: (line: number, message: string) => void): Generator<CsvRecord, void, undefined> {
  const length = content.length;
  let start = content.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 0;
  // The next double quote at or after `start` (-1: none left), searched again only once passed, so
  // the text is scanned for quotes once in all.
  let quote = content.indexOf('"', start);
  const fields: string[] = [];
  while (start < length) {
    let end = content.indexOf("\n", start);
    if (end === -1) end = length;
    line++;
    if (quote !== -1 && quote < start) quote = content.indexOf('"', start);
    if (quote === -1 || quote > end) {
      const stop = end > start && content.charCodeAt(end - 1) === 13 ? end - 1 : end;
      if (stop > start) {
        // The fields into one reused array (the visitor keeps strings, never the array).
        let count = 0;
        for (let from = start; ;) {
          const comma = content.indexOf(",", from);
          if (comma === -1 || comma >= stop) {
            fields[count++] = content.slice(from, stop);
            break;
          }
          fields[count++] = content.slice(from, comma);
          from = comma + 1;
        }
        if (fields.length !== count) fields.length = count;
        yield { fields, line };
      }
      start = end + 1;
      continue;
    }
    let quotes = countQuotes(content, quote, end);
    let last = line;
    while (quotes % 2 === 1 && end < length) {
      const next = content.indexOf("\n", end + 1);
      const stop = next === -1 ? length : next;
      quotes += countQuotes(content, end + 1, stop);
      end = stop;
      last++;
    }
    const stop = content.charCodeAt(end - 1) === 13 ? end - 1 : end;
    yield* quotedRecords(content.slice(start, stop), line, malformed);
    line = last;
    start = end + 1;
  }
}

/** Records of a text that begins on line `first`, by csv-parse. */
function quotedRecords(text: string, first: number, malformed: (line: number, message: string) => void): CsvRecord[] {
  let physical = first - 1;
  const records: CsvRecord[] = [];
  try {
    parse(text, {
      relax_column_count: true,
      on_record: (record: string[]) => {
        const line = physical + 1;
        physical = line;
        for (const field of record) for (let at = field.indexOf("\n"); at !== -1; at = field.indexOf("\n", at + 1)) physical++;
        if (!(record.length === 1 && record[0] === "")) records.push({ fields: record, line });
        return null;
      },
    });
  } catch (error) {
    const { lines: at, code } = error as { lines?: unknown; code?: unknown };
    const message = error instanceof Error ? error.message.replace(/ at line \d+/, "") : String(error);
    // An unclosed quote runs to the end of the file: the record it opened is the one to name.
    malformed(code === "CSV_QUOTE_NOT_CLOSED" || typeof at !== "number" ? first : first + at - 1, message);
    return [];
  }
  return records;
}

export interface CsvRecord {
  fields: readonly string[];
  /** Physical line (1-based) where the record begins. */
  line: number;
}

interface BatchState {
  currency: string;
  /** Sum of the nets of the batch's rows other than its payout. */
  sum: number;
  payout: { line: number; net: number } | null;
}

/** An amount column: minor units, 0 when empty, NaN when malformed. */
function amountOf(text: string, exponent: number): number {
  if (text === "") return 0;
  return decimalToMinor(text, exponent) ?? Number.NaN;
}

/** One pass over a report: each row checked and mapped as it is read. */
class ReportReader {
  readonly errors: ParseError[] = [];
  private readonly batches = new Map<string, BatchState>();
  private index: Record<Column, number> | undefined;
  private width = 0;
  /** The booking date of the previous row (consecutive rows share one string). */
  private lastDate = "";

  fail(line: number, message: string): undefined {
    this.errors.push({ line, message });
    if (this.errors.length >= GLOBALPAY_MAX_ERRORS) throw new TooManyErrors();
    return undefined;
  }

  /** The record's report line; undefined for the header and for rows that failed a check. */
  record(record: readonly string[], line: number): ReportLine | undefined {
    if (this.index === undefined) return void this.header(record, line);
    return this.row(record, line, this.index);
  }

  private header(record: readonly string[], line: number): void {
    const positions = new Map<string, number>();
    record.forEach((name, position) => {
      if (positions.has(name)) this.fail(line, `the header names column '${name}' twice`);
      positions.set(name, position);
    });
    const found: Partial<Record<Column, number>> = {};
    const missing: string[] = [];
    for (const [key, name] of Object.entries(GLOBALPAY_COLUMNS) as [Column, string][]) {
      const position = positions.get(name);
      if (position === undefined) missing.push(name);
      else found[key] = position;
    }
    if (missing.length > 0) {
      this.fail(line, `the header lacks ${missing.map((name) => `'${name}'`).join(", ")}`);
      throw new TooManyErrors();
    }
    this.index = found as Record<Column, number>;
    this.width = record.length;
  }

  private badAmount(record: readonly string[], line: number, column: Column, exponent: number, currency: string): void {
    this.fail(line, `${GLOBALPAY_COLUMNS[column]} '${record[this.index![column]]}' is not an amount of ${currency} (an unsigned decimal with at most ${exponent} fraction digits)`);
  }

  /** credit − debit of a Debit/Credit pair; NaN (and the errors raised) when malformed. */
  private pair(record: readonly string[], line: number, debit: Column, credit: Column, exponent: number, currency: string): number {
    const at = this.index!;
    const debitText = record[at[debit]];
    const creditText = record[at[credit]];
    if (debitText !== "" && creditText !== "") {
      this.fail(line, `both ${GLOBALPAY_COLUMNS[debit]} and ${GLOBALPAY_COLUMNS[credit]} are filled`);
      return Number.NaN;
    }
    const value = amountOf(creditText, exponent) - amountOf(debitText, exponent);
    if (Number.isNaN(value)) this.badAmount(record, line, debitText === "" ? credit : debit, exponent, currency);
    return value;
  }

  private fee(record: readonly string[], line: number, column: Column, exponent: number, currency: string): number {
    const value = amountOf(record[this.index![column]], exponent);
    if (Number.isNaN(value)) this.badAmount(record, line, column, exponent, currency);
    return value;
  }

  private row(record: readonly string[], line: number, at: Record<Column, number>): ReportLine | undefined {
    if (record.length !== this.width) return this.fail(line, `the row has ${record.length} fields, the header ${this.width}`);
    const typeText = record[at.type];
    const type = lineTypes[typeText];
    if (type === undefined) return this.fail(line, `unknown Type '${typeText}'`);
    const grossCurrency = currencyOf(record[at.gross_currency]);
    const netCurrency = currencyOf(record[at.net_currency]);
    if (!grossCurrency) return this.fail(line, `Gross Currency '${record[at.gross_currency]}' is not an ISO 4217 code`);
    if (!netCurrency) return this.fail(line, `Net Currency '${record[at.net_currency]}' is not an ISO 4217 code`);
    const batch_number = record[at.batch_number];
    if (!batchPattern.test(batch_number)) return this.fail(line, batch_number === "" ? "Batch Number is missing" : `Batch Number '${batch_number}' is not a number`);

    const gross = this.pair(record, line, "gross_debit", "gross_credit", grossCurrency.exponent, grossCurrency.code);
    const net = this.pair(record, line, "net_debit", "net_credit", netCurrency.exponent, netCurrency.code);
    const commission = this.fee(record, line, "commission", netCurrency.exponent, netCurrency.code);
    const markup = this.fee(record, line, "markup", netCurrency.exponent, netCurrency.code);
    const scheme_fees = this.fee(record, line, "scheme_fees", netCurrency.exponent, netCurrency.code);
    const interchange = this.fee(record, line, "interchange", netCurrency.exponent, netCurrency.code);
    const fees = commission + markup + scheme_fees + interchange;
    if (Number.isNaN(gross + net + fees)) return;

    const rate = record[at.exchange_rate];
    const sameCurrency = grossCurrency === netCurrency;
    if (sameCurrency ? !one.test(rate) : !positiveDecimal.test(rate) || zero.test(rate)) {
      return this.fail(line, sameCurrency ? `Exchange Rate is '${rate}' between equal currencies` : `Exchange Rate '${rate}' is not a positive decimal`);
    }
    const date = record[at.creation_date];
    if (!creationDate.test(date)) return this.fail(line, `Creation Date '${date}' is not YYYY-MM-DD HH:MM:SS`);
    if (this.lastDate.length !== 10 || !date.startsWith(this.lastDate)) this.lastDate = date.slice(0, 10);
    const zone = record[at.timezone];
    if (zone !== "UTC" && zone !== "GMT") return this.fail(line, `TimeZone '${zone}' is not UTC`);

    let state = this.batches.get(batch_number);
    if (!state) {
      state = { currency: netCurrency.code, sum: 0, payout: null };
      this.batches.set(batch_number, state);
    } else if (state.currency !== netCurrency.code) {
      return this.fail(line, `batch ${batch_number} is in ${state.currency}, this row in ${netCurrency.code}`);
    }
    if (type === "payout") {
      if (state.payout) return this.fail(line, `batch ${batch_number} has a second MerchantPayout row (the first is line ${state.payout.line})`);
      if (gross !== 0 || fees !== 0) return this.fail(line, "a MerchantPayout row carries no gross amount and no fees");
      state.payout = { line, net };
    } else {
      if (sameCurrency && net !== gross - fees) {
        return this.fail(line, `net ${net} is not gross ${gross} less fees ${fees} (minor units of ${netCurrency.code})`);
      }
      state.sum += net;
      if (!Number.isSafeInteger(state.sum)) return this.fail(line, `batch ${batch_number} totals more than a safe integer`);
    }
    if (this.errors.length > 0) return; // a rejected file yields no more lines
    const merchant_reference = record[at.merchant_reference];
    const channel_reference = type === "settled" ? record[at.psp_reference] : record[at.modification_reference];
    return {
      line, batch_number, type, merchant_reference: merchant_reference === "" ? null : merchant_reference,
      channel_reference: channel_reference === "" ? null : channel_reference, booking_date: this.lastDate, currency: grossCurrency.code, gross,
      net_currency: netCurrency.code, net, exchange_rate: rate, interchange, scheme_fees, markup, commission,
    };
  }

  finish(): void {
    if (this.errors.length > 0) return;
    if (this.index === undefined) this.errors.push({ line: 0, message: "the file has no header row" });
    for (const [batch_number, state] of this.batches) {
      if (!state.payout) this.errors.push({ line: 0, message: `batch ${batch_number} has no MerchantPayout row` });
      else if (state.payout.net !== -state.sum) {
        this.errors.push({ line: state.payout.line, message: `the MerchantPayout of batch ${batch_number} is ${-state.payout.net}, its rows' nets sum to ${state.sum} (minor units of ${state.currency})` });
      }
    }
  }
}

/** The report read line by line (see ReportScan): nothing is kept but the batches' running sums. */
export function scanGlobalPayReport(content: string): ReportScan {
  const reader = new ReportReader();
  function* lines(): Generator<ReportLine, void, undefined> {
    try {
      for (const { fields, line } of csvRecords(content, (at, message) => reader.fail(at, `malformed CSV: ${message}`))) {
        const read = reader.record(fields, line);
        if (read !== undefined) yield read;
      }
    } catch (error) {
      if (!(error instanceof TooManyErrors)) throw error;
    }
    reader.finish();
  }
  return { lines: lines(), errors: () => reader.errors.slice(0, GLOBALPAY_MAX_ERRORS) };
}

export function parseGlobalPayReport(content: string): ParsedReport {
  return parseReport(scanGlobalPayReport(content));
}

export const globalPayReportParser: ReportParser = { kind: "channel_report", scan: scanGlobalPayReport };

// ---- the source: GET /settlement/reports and /settlement/reports/{id} ----

export interface GlobalPaySettlementSourceOptions {
  transport: Transport;
  timeout_ms: number;
}

const LIST_MAX = 1000;
const FILENAMES_KEPT = 10_000;

export function createGlobalPaySettlementSource(options: GlobalPaySettlementSourceOptions): SettlementSource {
  const { transport, timeout_ms } = options;
  const filenames = new Map<string, string>();
  const remember = (id: string, filename: string) => {
    if (filenames.size >= FILENAMES_KEPT) filenames.clear();
    filenames.set(id, filename);
  };
  return {
    channel: "globalpay",
    kind: "channel_report",
    async listFiles(limit): Promise<PublishedFile[] | Unreachable> {
      const bounded = Math.min(LIST_MAX, Math.max(1, Math.floor(limit)));
      const result = await transport.request({ method: "GET", path: `/settlement/reports?limit=${bounded}`, timeout_ms });
      if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
      if (result.status !== 200) return { unreachable: true, reason: `globalpay answered HTTP ${result.status} to the report list` };
      let listed: unknown;
      try {
        listed = JSON.parse(result.body);
      } catch {
        listed = undefined;
      }
      if (!Array.isArray(listed)) return { unreachable: true, reason: "globalpay's report list is not a JSON array" };
      const files: PublishedFile[] = [];
      for (const entry of listed as unknown[]) {
        const { id, filename } = (entry ?? {}) as { id?: unknown; filename?: unknown };
        if (typeof id !== "string" || id === "" || typeof filename !== "string") return { unreachable: true, reason: "globalpay's report list has an entry without id and filename" };
        remember(id, filename);
        files.push({ id, filename });
      }
      return files.slice(-bounded);
    },
    async fetchFile(id) {
      const result = await transport.request({ method: "GET", path: `/settlement/reports/${encodeURIComponent(id)}`, timeout_ms });
      if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
      if (result.status !== 200) return { unreachable: true, reason: `globalpay answered HTTP ${result.status} for report ${id}` };
      return { filename: filenames.get(id) ?? `${id}.csv`, content: result.body };
    },
  };
}
