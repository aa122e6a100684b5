// The sandbox bank's statements of Corridor's platform account: ISO 20022 camt.053.001.02
// (BankToCustomerStatementV02), read into the channel-neutral ParsedStatement, and the bank's
// statement listing as a SettlementSource.
//
// The parser never throws and never rounds: a document it cannot read whole is refused with errors
// (line = the physical line for malformed XML, the 1-based entry position for an entry, 0 for the
// document as a whole). Amounts are decimal text converted to integer minor units with string
// arithmetic; more decimals than the currency's ISO 4217 exponent, a sign, an exponent or a zero
// amount refuse the document. Only booked entries (Sts BOOK) are returned; pending and information
// entries are not money on the account yet. The balances (OPBD, CLBD per currency) and the entry
// counts of TxsSummry are checked against the entries, so a truncated or altered statement is refused.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { findCurrency } from "../../money/currency.ts";
import type { ParsedStatement, ParseError, PublishedFile, SettlementSource, StatementEntry, StatementParser, Unreachable } from "../../settlement/report.ts";
import type { Transport } from "../transport.ts";
import { parseJsonObject } from "../json.ts";
import { CHANNEL } from "./transformers.ts";

export const CAMT053_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02";
/** Errors reported before the parser stops listing them. */
export const MAX_ERRORS = 100;
/** Larger documents are refused unread. */
export const MAX_STATEMENT_BYTES = 50_000_000;
export const STATEMENTS_LIST_MAX = 1000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/** For tests and benchmarks: the camt.053 writer the sandbox bank serves its statements with. */
export { buildCamt053 as writeCamt053, type Camt053Entry, type Camt053Statement as Camt053Document } from "../../sandbox/bank/camt053.ts";

/** One balance pair of the statement, signed minor units (null when the statement gives none); bigint, as a balance may outgrow 2^53. */
export interface StatementBalance {
  currency: string;
  opening: bigint | null;
  closing: bigint | null;
}

export type ParsedCamt053Statement = Extract<ParsedStatement, { ok: true }> & {
  /** Stmt/CreDtTm as written. */
  created_at: string;
  balances: StatementBalance[];
};

export type ParsedCamt053 = ParsedCamt053Statement | Extract<ParsedStatement, { ok: false }>;

const arrayTags = new Set(["Stmt", "Ntry", "Bal", "NtryDtls", "TxDtls", "Ustrd"]);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Numeric character references (&#228;) as well as the five XML entities; any other named entity
  // is refused before parsing, so HTML names never reach this decoder.
  htmlEntities: true,
  isArray: (name) => arrayTags.has(name),
});

/** "&" not starting one of the five XML entities or a character reference. */
const foreignEntity = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)/g;
const decimal = /^(\d*)(?:\.(\d*))?$/;
const isoDate = /^\d{4}-\d{2}-\d{2}/;
const remittancePattern = /(?:^|[^A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_-]*)\s+SETTLEMENT\s+BATCHES\s+(\d+(?:\s*,\s*\d+)*)/i;

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function child(node: unknown, ...path: string[]): unknown {
  let at: unknown = node;
  for (const name of path) {
    if (Array.isArray(at)) at = at[0];
    if (!isNode(at)) return undefined;
    at = at[name];
  }
  return Array.isArray(at) ? at[0] : at;
}

/** Text content of an element (with or without attributes); undefined when absent or not text. */
function text(node: unknown, ...path: string[]): string | undefined {
  const value = child(node, ...path);
  if (typeof value === "string") return value === "" ? undefined : value;
  if (isNode(value) && typeof value["#text"] === "string") return value["#text"] === "" ? undefined : value["#text"];
  return undefined;
}

function list(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function lineAt(content: string, index: number): number {
  let line = 1;
  for (let i = content.indexOf("\n"); i !== -1 && i < index; i = content.indexOf("\n", i + 1)) line++;
  return line;
}

/** "12.34" with exponent 2 → 1234, exactly; a reason when it is not a positive amount of that precision. */
export function decimalToMinorUnits(value: string, exponent: number): number | string {
  const match = value.match(decimal);
  if (!match || (match[1] === "" && (match[2] ?? "") === "")) return `amount "${value.slice(0, 40)}" is not a decimal number`;
  const fraction = match[2] ?? "";
  if (fraction.length > exponent) return `amount ${value} has more decimals than the currency's ${exponent}`;
  const digits = `${match[1]}${fraction.padEnd(exponent, "0")}`.replace(/^0+(?=\d)/, "");
  if (digits.length > 16 || BigInt(digits) > BigInt(Number.MAX_SAFE_INTEGER)) return `amount ${value} is too large`;
  const minor = Number(digits);
  return minor > 0 ? minor : `amount ${value} is not positive`;
}

/** A signed balance: the amount with its CdtDbtInd. */
function balanceAmount(balance: unknown): { currency: string; code: string; amount: bigint } | string {
  const code = text(balance, "Tp", "CdOrPrtry", "Cd") ?? text(balance, "Tp", "CdOrPrtry", "Prtry") ?? "";
  const raw = text(balance, "Amt");
  const currency = findCurrency(text(balance, "Amt", "@_Ccy") ?? "");
  const indicator = text(balance, "CdtDbtInd");
  if (raw === undefined || !currency || (indicator !== "CRDT" && indicator !== "DBIT")) return `balance ${code || "?"} lacks Amt, a known Ccy or CdtDbtInd`;
  const match = raw.match(decimal);
  const fraction = match?.[2] ?? "";
  if (!match || (match[1] === "" && fraction === "") || match[1].length > 30 || fraction.length > currency.exponent) return `balance ${code} amount "${raw.slice(0, 40)}" is not a ${currency.code} amount`;
  const minor = BigInt(`${match[1] || "0"}${fraction.padEnd(currency.exponent, "0")}`);
  return { currency: currency.code, code, amount: indicator === "DBIT" ? -minor : minor };
}

function datePart(node: unknown, name: string): string | undefined {
  const value = text(node, name, "Dt") ?? text(node, name, "DtTm");
  if (value === undefined || !isoDate.test(value)) return undefined;
  const date = value.slice(0, 10);
  const ms = Date.parse(`${date}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === date ? date : undefined;
}

/** Channel and batch numbers named by `<CHANNEL> SETTLEMENT BATCHES <n>[,<n>…]`, anywhere in the remittance. */
export function settlementBatchesOf(remittance: string | null): { channel: string | null; batch_numbers: string[] } {
  const match = remittance?.match(remittancePattern);
  if (!match) return { channel: null, batch_numbers: [] };
  const numbers = [...new Set(match[2].split(",").map((n) => n.trim()))];
  return { channel: match[1].toLowerCase(), batch_numbers: numbers };
}

type EntryResult = { entry: StatementEntry | null; signed: bigint } | { error: string };

function readEntry(node: unknown, line: number): EntryResult {
  const status = text(node, "Sts");
  if (status === undefined) return { error: `entry ${line}: missing Sts` };
  if (status === "PDNG" || status === "INFO") return { entry: null, signed: 0n };
  if (status !== "BOOK") return { error: `entry ${line}: Sts "${status.slice(0, 10)}" is not BOOK, PDNG or INFO` };
  const amountText = text(node, "Amt");
  const code = text(node, "Amt", "@_Ccy");
  const indicator = text(node, "CdtDbtInd");
  const entry_reference = text(node, "AcctSvcrRef");
  const booking_date = datePart(node, "BookgDt");
  const missing = [
    amountText === undefined && "Amt", code === undefined && "Amt/@Ccy", indicator === undefined && "CdtDbtInd",
    booking_date === undefined && "BookgDt (a date)", entry_reference === undefined && "AcctSvcrRef",
  ].filter(Boolean);
  if (missing.length > 0) return { error: `entry ${line}: missing ${missing.join(", ")}` };
  if (indicator !== "CRDT" && indicator !== "DBIT") return { error: `entry ${line}: CdtDbtInd "${indicator!.slice(0, 10)}" is neither CRDT nor DBIT` };
  const currency = findCurrency(code!);
  if (!currency || currency.code !== code) return { error: `entry ${line}: currency "${code!.slice(0, 10)}" is not an ISO 4217 code` };
  const amount = decimalToMinorUnits(amountText!, currency.exponent);
  if (typeof amount === "string") return { error: `entry ${line}: ${amount}` };
  const direction = indicator === "CRDT" ? "credit" : "debit";
  const signed = direction === "credit" ? BigInt(amount) : -BigInt(amount);
  const valueDateGiven = child(node, "ValDt") !== undefined;
  const value_date = valueDateGiven ? datePart(node, "ValDt") : booking_date;
  if (value_date === undefined) return { error: `entry ${line}: ValDt is not a date` };
  // The first transaction's details: who paid (or was paid) and the remittance, as the bank shows them.
  const details = child(node, "NtryDtls", "TxDtls");
  const debtor = text(details, "RltdPties", "Dbtr", "Nm");
  const creditor = text(details, "RltdPties", "Cdtr", "Nm");
  const counterparty = (direction === "credit" ? debtor ?? creditor : creditor ?? debtor) ?? null;
  const information = child(details, "RmtInf");
  const parts = list(isNode(information) ? information.Ustrd : undefined)
    .map((part) => (typeof part === "string" ? part : isNode(part) && typeof part["#text"] === "string" ? part["#text"] : ""))
    .filter((part) => part !== "");
  const remittance = parts.length > 0 ? parts.join(" ") : null;
  return {
    entry: {
      line, entry_reference: entry_reference!, booking_date: booking_date!, value_date, direction, amount, currency: currency.code,
      counterparty, remittance, ...settlementBatchesOf(remittance),
    },
    signed,
  };
}

function refuse(errors: ParseError[]): ParsedCamt053 {
  return { ok: false, errors: errors.slice(0, MAX_ERRORS) };
}

/** Reads a camt.053.001.02 statement of one account; never throws. */
export function parseCamt053(content: string): ParsedCamt053 {
  try {
    return parseChecked(content);
  } catch (error) {
    // The XML library failing on input it validated: still an answer, never a throw.
    return refuse([{ line: 0, message: `unreadable statement: ${error instanceof Error ? error.message : String(error)}` }]);
  }
}

function parseChecked(content: string): ParsedCamt053 {
  if (typeof content !== "string" || content.trim() === "") return refuse([{ line: 0, message: "the statement is empty" }]);
  if (content.length > MAX_STATEMENT_BYTES) return refuse([{ line: 0, message: `the statement exceeds ${MAX_STATEMENT_BYTES} characters` }]);
  const doctype = content.search(/<!DOCTYPE/i);
  if (doctype !== -1) return refuse([{ line: lineAt(content, doctype), message: "a DOCTYPE is not allowed in a statement" }]);
  const valid = XMLValidator.validate(content);
  if (valid !== true) return refuse([{ line: valid.err.line ?? 0, message: `malformed XML: ${valid.err.msg}${valid.err.col ? ` (column ${valid.err.col})` : ""}` }]);
  // CDATA sections and comments may hold a bare "&"; blanked (newlines kept) so lines still count.
  const markup = content.replace(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g, (skipped) => skipped.replace(/[^\n]/g, " "));
  foreignEntity.lastIndex = 0;
  const entity = foreignEntity.exec(markup);
  if (entity) return refuse([{ line: lineAt(content, entity.index), message: "malformed XML: an undefined entity or a bare &" }]);

  const root = parser.parse(content) as Node;
  const roots = Object.keys(root);
  if (roots.length !== 1 || roots[0] !== "Document" || !isNode(root.Document)) {
    return refuse([{ line: 0, message: `expected one root element Document, found ${roots.slice(0, 3).join(", ") || "none"}` }]);
  }
  const namespace = root.Document["@_xmlns"];
  if (namespace !== CAMT053_NAMESPACE) {
    return refuse([{ line: 0, message: `not a camt.053.001.02 statement (namespace ${typeof namespace === "string" ? namespace.slice(0, 80) : "missing"})` }]);
  }
  const message = child(root.Document, "BkToCstmrStmt");
  const statements = list(isNode(message) ? message.Stmt : undefined);
  if (statements.length !== 1) return refuse([{ line: 0, message: `expected one Stmt (one account), found ${statements.length}` }]);
  const stmt = statements[0];
  const statement_id = text(stmt, "Id");
  const created_at = text(stmt, "CreDtTm") ?? text(root.Document, "BkToCstmrStmt", "GrpHdr", "CreDtTm");
  const account = text(stmt, "Acct", "Id", "IBAN") ?? text(stmt, "Acct", "Id", "Othr", "Id");
  const errors: ParseError[] = [];
  if (statement_id === undefined) errors.push({ line: 0, message: "Stmt/Id is missing" });
  if (account === undefined) errors.push({ line: 0, message: "Stmt/Acct/Id (IBAN or Othr/Id) is missing" });
  if (created_at === undefined) errors.push({ line: 0, message: "Stmt/CreDtTm is missing" });

  const nodes = list(isNode(stmt) ? stmt.Ntry : undefined);
  const entries: StatementEntry[] = [];
  const net = new Map<string, bigint>();
  const seen = new Map<string, number>();
  nodes.forEach((node, index) => {
    const line = index + 1;
    const result = readEntry(node, line);
    if ("error" in result) return void errors.push({ line, message: result.error });
    if (result.entry === null) return;
    const currency = result.entry.currency;
    net.set(currency, (net.get(currency) ?? 0n) + result.signed);
    const earlier = seen.get(result.entry.entry_reference);
    if (earlier !== undefined) return void errors.push({ line, message: `entry ${line}: AcctSvcrRef ${result.entry.entry_reference} repeats entry ${earlier}` });
    seen.set(result.entry.entry_reference, line);
    entries.push(result.entry);
  });

  // Balances: every pair must agree with the booked entries; a currency with entries needs its pair.
  const balances = new Map<string, StatementBalance>();
  const opening = new Map<string, bigint>();
  const closing = new Map<string, bigint>();
  for (const balance of list(isNode(stmt) ? stmt.Bal : undefined)) {
    const read = balanceAmount(balance);
    if (typeof read === "string") {
      errors.push({ line: 0, message: read });
      continue;
    }
    if (read.code !== "OPBD" && read.code !== "CLBD") continue;
    const target = read.code === "OPBD" ? opening : closing;
    if (target.has(read.currency)) errors.push({ line: 0, message: `two ${read.code} balances in ${read.currency}` });
    target.set(read.currency, read.amount);
  }
  for (const currency of new Set([...opening.keys(), ...closing.keys(), ...net.keys()])) {
    const open = opening.get(currency);
    const close = closing.get(currency);
    if (open !== undefined && close !== undefined && open + (net.get(currency) ?? 0n) !== close) {
      errors.push({ line: 0, message: `the ${currency} entries do not lead from the opening balance to the closing balance` });
    }
    balances.set(currency, { currency, opening: open ?? null, closing: close ?? null });
  }

  // The summary's counts, when given, cover every entry of the statement (booked or not).
  const counted = (name: string) => {
    const value = text(stmt, "TxsSummry", name, "NbOfNtries");
    return value === undefined ? undefined : /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  };
  const total = counted("TtlNtries");
  if (total !== undefined && total !== nodes.length) errors.push({ line: 0, message: `TxsSummry counts ${total} entries, the statement has ${nodes.length}` });
  const allCredits = nodes.filter((node) => text(node, "CdtDbtInd") === "CRDT").length;
  const creditCount = counted("TtlCdtNtries");
  if (creditCount !== undefined && creditCount !== allCredits) errors.push({ line: 0, message: `TxsSummry counts ${creditCount} credit entries, the statement has ${allCredits}` });
  const debitCount = counted("TtlDbtNtries");
  if (debitCount !== undefined && debitCount !== nodes.length - allCredits) {
    errors.push({ line: 0, message: `TxsSummry counts ${debitCount} debit entries, the statement has ${nodes.length - allCredits}` });
  }

  if (errors.length > 0) return refuse(errors);
  return {
    ok: true, statement_id: statement_id!, account: account!, created_at: created_at!, entries,
    balances: [...balances.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1)),
  };
}

export const sandboxBankStatementParser: StatementParser = { kind: "bank_statement", parse: parseCamt053 };

// ——— The bank's statement listing as a settlement source ———

/** The filename the bank lists a statement under (fetching answers the XML alone). */
export function statementFilename(id: string): string {
  return `sandboxbank-camt053-${id}.xml`;
}

const statementId = /^[A-Za-z0-9._-]{1,64}$/;

export interface SandboxBankStatementSourceOptions {
  transport: Transport;
  timeout_ms?: number;
}

export function createSandboxBankStatementSource(options: SandboxBankStatementSourceOptions): SettlementSource {
  const { transport } = options;
  const timeout_ms = options.timeout_ms ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return {
    channel: CHANNEL,
    kind: "bank_statement",
    async listFiles(limit): Promise<PublishedFile[] | Unreachable> {
      const count = Math.min(Math.max(Number.isSafeInteger(limit) ? limit : 1, 1), STATEMENTS_LIST_MAX);
      const result = await transport.request({ method: "GET", path: `/statements?limit=${count}`, timeout_ms });
      if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
      if (result.status !== 200) return { unreachable: true, reason: `unexpected answer ${result.status}` };
      const statements = parseJsonObject(result.body)?.statements;
      if (!Array.isArray(statements)) return { unreachable: true, reason: "the statement listing is unreadable" };
      const files: PublishedFile[] = [];
      for (const item of statements as unknown[]) {
        const id = isNode(item) ? item.id : undefined;
        if (typeof id !== "string" || !statementId.test(id)) return { unreachable: true, reason: "the statement listing has an unreadable id" };
        files.push({ id, filename: statementFilename(id) });
      }
      return files.slice(-count);
    },
    async fetchFile(id) {
      if (!statementId.test(id)) return { unreachable: true, reason: `not a statement id: ${id.slice(0, 64)}` };
      const result = await transport.request({ method: "GET", path: `/statements/${encodeURIComponent(id)}`, timeout_ms });
      if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
      if (result.status === 404) return { unreachable: true, reason: `the bank has no statement ${id}` };
      if (result.status !== 200) return { unreachable: true, reason: `unexpected answer ${result.status}` };
      return { filename: statementFilename(id), content: result.body };
    },
  };
}
