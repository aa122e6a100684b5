// The channel-neutral shape of a settlement report and a bank statement. Each channel's connector
// parses its own wire format (CSV, fixed-width clearing file, camt.053) into these; nothing past
// the connector knows a wire format.
//
// Amounts are signed integers in the ISO 4217 minor unit of their currency (a channel's own
// exponent is converted at the connector), always safe integers (|amount| < 2^53).

export type SettlementLineType =
  /** A capture the channel settled (gross > 0). */
  | "settled"
  /** A refund the channel paid back (gross < 0). */
  | "refunded"
  /** A chargeback debited (gross < 0). */
  | "chargeback"
  /** A chargeback reversed in our favour (gross > 0). */
  | "chargeback_reversal"
  /** A fee charged on its own (gross 0, net < 0), e.g. a chargeback fee. */
  | "fee"
  /** The batch's payout to the platform bank account: net = −(sum of the batch's other nets). */
  | "payout";

export interface ReportLine {
  /** 1-based physical line number in the file (errors and exceptions name it). */
  line: number;
  batch_number: string;
  type: SettlementLineType;
  /** Our reference: the attempt id for settled/chargeback lines, the refund id for refunds. */
  merchant_reference: string | null;
  /** The channel's own reference (authorization id / RRN, dispute id). */
  channel_reference: string | null;
  /** YYYY-MM-DD (UTC). */
  booking_date: string;
  /** Gross currency (ISO 4217 alpha). */
  currency: string;
  /** Signed gross amount, minor units of `currency`. */
  gross: number;
  net_currency: string;
  /** Signed net amount = gross − fees (when no conversion), minor units of `net_currency`. */
  net: number;
  /** Decimal text, "1" when gross and net currency are the same. */
  exchange_rate: string;
  /** Non-negative costs in minor units of `net_currency`. */
  interchange: number;
  scheme_fees: number;
  markup: number;
  commission: number;
}

export interface ParseError {
  /** 1-based line number in the file (0: the file as a whole). */
  line: number;
  message: string;
}

export type ParsedReport =
  | { ok: true; lines: ReportLine[] }
  | { ok: false; errors: ParseError[] };

/** One entry (Ntry) of a bank statement of the platform's bank account. */
export interface StatementEntry {
  /** 1-based position of the entry in the statement (errors and exceptions name it). */
  line: number;
  /** The bank's unique entry reference (AcctSvcrRef): the key that makes re-imports idempotent. */
  entry_reference: string;
  booking_date: string;
  value_date: string;
  direction: "credit" | "debit";
  /** Positive minor units of `currency`. */
  amount: number;
  currency: string;
  /** Who paid (the channel's name as the bank shows it), when known. */
  counterparty: string | null;
  /** Unstructured remittance information, as sent. */
  remittance: string | null;
  /** Channel and batch numbers the remittance names (`<CHANNEL> SETTLEMENT BATCHES <n>[,<n>…]`). */
  channel: string | null;
  batch_numbers: string[];
}

export type ParsedStatement =
  | { ok: true; statement_id: string; account: string; entries: StatementEntry[] }
  | { ok: false; errors: ParseError[] };

/** What a settlement source has published, to be fetched by the scheduler. */
export interface PublishedFile {
  id: string;
  filename: string;
}

export type Unreachable = { unreachable: true; reason: string };

/** A channel's settlement side, as its connector exposes it. */
export interface SettlementSource {
  channel: string;
  kind: "channel_report" | "bank_statement";
  /** The files the channel has published (newest last), at most `limit`. */
  listFiles(limit: number): Promise<PublishedFile[] | Unreachable>;
  fetchFile(id: string): Promise<{ filename: string; content: string } | Unreachable>;
}

/**
 * A report read line by line: `lines` yields each line as it is read and keeps none, so a file of
 * any size is read in constant memory (an import reads it twice: once to check it, once to book
 * it). `errors()` is complete once `lines` is exhausted; a file with errors must not be booked,
 * whatever lines were yielded before its first error.
 */
export interface ReportScan {
  lines: Iterable<ReportLine>;
  errors(): ParseError[];
}

export interface ReportParser {
  kind: "channel_report";
  scan(content: string): ReportScan;
}

/** A whole report in memory: its lines, or its errors (for small files and tests). */
export function parseReport(scan: ReportScan): ParsedReport {
  const lines: ReportLine[] = [];
  for (const line of scan.lines) lines.push(line);
  const errors = scan.errors();
  return errors.length > 0 ? { ok: false, errors } : { ok: true, lines };
}

/** A scan over a report parsed whole (parsers of small formats). */
export function scanParsed(parsed: ParsedReport): ReportScan {
  return { lines: parsed.ok ? parsed.lines : [], errors: () => (parsed.ok ? [] : parsed.errors) };
}

export interface StatementParser {
  kind: "bank_statement";
  parse(content: string): ParsedStatement;
}
