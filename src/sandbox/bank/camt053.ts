// ISO 20022 camt.053.001.02 (BankToCustomerStatementV02): the end-of-day statement of one account,
// written from entries in integer minor units. Pure (no clock, no state): the sandbox bank serves
// what it writes, and tests and benchmarks use it to produce statements. Corridor's connector has its
// own parser (src/channels/sandboxbank/statements.ts) and shares no code with this writer.
//
// Shape (element order as the schema's sequences require):
//   Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
//     BkToCstmrStmt
//       GrpHdr        MsgId, CreDtTm
//       Stmt          Id, ElctrncSeqNb, CreDtTm, FrToDt (FrDtTm, ToDtTm),
//                     Acct (Id/IBAN, Nm?, Ownr/Nm?, Svcr/FinInstnId/BIC?),
//                     Bal* (per currency: OPBD then CLBD; Tp/CdOrPrtry/Cd, Amt Ccy, CdtDbtInd, Dt/Dt),
//                     TxsSummry (TtlNtries, TtlCdtNtries, TtlDbtNtries: NbOfNtries),
//                     Ntry* (Amt Ccy, CdtDbtInd, Sts BOOK, BookgDt/Dt, ValDt/Dt, AcctSvcrRef,
//                            BkTxCd/Domn (Cd, Fmly/Cd, Fmly/SubFmlyCd),
//                            NtryDtls/TxDtls (Refs/EndToEndId, RltdPties/Dbtr|Cdtr/Nm, RmtInf/Ustrd))
// The account may hold several currencies: one Stmt carries entries in each, with a pair of balances
// per currency. Amounts are decimal text in major units with exactly the currency's ISO 4217
// exponent ("12.34" EUR, "1234" JPY, "1.234" KWD); a balance is never negative in the text, its sign
// is its CdtDbtInd.
import { XMLBuilder } from "fast-xml-parser";
import { findCurrency } from "../../money/currency.ts";

export const CAMT053_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02";
/** Max35Text: ids and references. */
export const ID_LENGTH_MAX = 35;
/** Max140Text: names and unstructured remittance. */
export const TEXT_LENGTH_MAX = 140;

/** ISO bank transaction code, domain / family / sub-family (each 1–4 upper-case letters). */
export interface BankTransactionCode {
  domain: string;
  family: string;
  sub_family: string;
}

/** A SEPA credit transfer received (PMNT/RCDT/ESCT), or a cross-border one outside EUR (XBCT). */
export function receivedTransferCode(currency: string): BankTransactionCode {
  return { domain: "PMNT", family: "RCDT", sub_family: currency === "EUR" ? "ESCT" : "XBCT" };
}

/** A credit transfer the account holder issued (PMNT/ICDT/ESCT or XBCT). */
export function issuedTransferCode(currency: string): BankTransactionCode {
  return { domain: "PMNT", family: "ICDT", sub_family: currency === "EUR" ? "ESCT" : "XBCT" };
}

/** Account charges (ACMT/MDOP/CHRG): the bank's own fees. */
export const CHARGES_CODE: BankTransactionCode = { domain: "ACMT", family: "MDOP", sub_family: "CHRG" };

export interface Camt053Entry {
  /** The bank's unique reference of the entry (AcctSvcrRef). */
  entry_reference: string;
  /** The payer's reference (EndToEndId), when known. */
  end_to_end_id: string | null;
  /** YYYY-MM-DD. */
  booking_date: string;
  value_date: string;
  direction: "credit" | "debit";
  /** Positive minor units of `currency`. */
  amount: number;
  currency: string;
  /** Who paid (credit: Dbtr) or who was paid (debit: Cdtr). */
  counterparty: string | null;
  remittance: string | null;
  /** Default: a received or issued credit transfer. */
  transaction_code?: BankTransactionCode;
}

export interface Camt053Account {
  iban: string;
  /** The account's name (Max70Text). */
  name?: string;
  owner?: string;
  servicer_bic?: string;
}

export interface Camt053Statement {
  /** GrpHdr/MsgId (Max35Text). */
  message_id: string;
  /** Stmt/Id (Max35Text). */
  statement_id: string;
  /** ElctrncSeqNb: a non-negative integer. */
  sequence_number: number;
  /** ISO date-time of GrpHdr/CreDtTm and Stmt/CreDtTm. */
  created_at: string;
  account: Camt053Account;
  /** The booking date the statement covers (YYYY-MM-DD): its balances' date. */
  date: string;
  /** Signed minor units per currency at the start of `date` (currencies without entries may be listed too). */
  opening_balances: ReadonlyMap<string, bigint>;
  entries: readonly Camt053Entry[];
  /** Currency of the zero balance written when there is neither an opening balance nor an entry (Bal is required). */
  default_currency?: string;
}

const isoDate = /^\d{4}-\d{2}-\d{2}$/;
const codePart = /^[A-Z]{1,4}$/;
const ibanShape = /^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$/;
const bicShape = /^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$/;
/** C0 controls, DEL, lone surrogates and the XML non-characters: what an XML text (or a bank) cannot carry. */
const unwritable = /[\u0000-\u001f\u007f\ufffe\uffff]|\p{Cs}/u;

/** Text that fits a camt.053 MaxNText: 1 to `max` characters (code points), no control characters. */
export function isStatementText(value: unknown, max: number): value is string {
  if (typeof value !== "string" || value.length === 0 || unwritable.test(value)) return false;
  let count = 0;
  for (const _ of value) if (++count > max) return false;
  return true;
}

/** A real calendar date written YYYY-MM-DD. */
export function isIsoDate(value: unknown): value is string {
  if (typeof value !== "string" || !isoDate.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`programmer error: camt.053 writer: ${message}`);
}

/** Minor units → decimal text with exactly `exponent` decimals ("-" never: the caller writes the sign as CdtDbtInd). */
export function formatMinorUnits(minor: bigint, exponent: number): string {
  check(minor >= 0n, "amounts are written without sign");
  const digits = minor.toString();
  if (exponent === 0) return digits;
  const padded = digits.padStart(exponent + 1, "0");
  return `${padded.slice(0, -exponent)}.${padded.slice(-exponent)}`;
}

function exponentOf(currency: string): number {
  const found = findCurrency(currency);
  check(found && found.code === currency, `unknown currency ${currency}`);
  return found.exponent;
}

function amountNode(minor: bigint, currency: string) {
  const magnitude = minor < 0n ? -minor : minor;
  check(magnitude.toString().length <= 18, "an amount has at most 18 digits (the schema's totalDigits)");
  return { "@_Ccy": currency, "#text": formatMinorUnits(magnitude, exponentOf(currency)) };
}

function balanceNode(code: "OPBD" | "CLBD", minor: bigint, currency: string, date: string) {
  return { Tp: { CdOrPrtry: { Cd: code } }, Amt: amountNode(minor, currency), CdtDbtInd: minor < 0n ? "DBIT" : "CRDT", Dt: { Dt: date } };
}

function checkEntry(entry: Camt053Entry, index: number): void {
  const at = `entry ${index + 1}`;
  check(isStatementText(entry.entry_reference, ID_LENGTH_MAX), `${at}: entry_reference is Max35Text`);
  check(entry.end_to_end_id === null || isStatementText(entry.end_to_end_id, ID_LENGTH_MAX), `${at}: end_to_end_id is Max35Text`);
  check(isIsoDate(entry.booking_date) && isIsoDate(entry.value_date), `${at}: dates are YYYY-MM-DD`);
  check(entry.direction === "credit" || entry.direction === "debit", `${at}: direction`);
  check(Number.isSafeInteger(entry.amount) && entry.amount > 0, `${at}: amount is a positive safe integer`);
  exponentOf(entry.currency);
  check(entry.counterparty === null || isStatementText(entry.counterparty, TEXT_LENGTH_MAX), `${at}: counterparty is Max140Text`);
  check(entry.remittance === null || isStatementText(entry.remittance, TEXT_LENGTH_MAX), `${at}: remittance is Max140Text`);
  const code = entry.transaction_code;
  check(!code || (codePart.test(code.domain) && codePart.test(code.family) && codePart.test(code.sub_family)), `${at}: transaction code parts are 1-4 letters`);
}

function entryNode(entry: Camt053Entry) {
  const code = entry.transaction_code ?? (entry.direction === "credit" ? receivedTransferCode(entry.currency) : issuedTransferCode(entry.currency));
  const details: Record<string, unknown> = {};
  if (entry.end_to_end_id !== null) details.Refs = { EndToEndId: entry.end_to_end_id };
  if (entry.counterparty !== null) details.RltdPties = { [entry.direction === "credit" ? "Dbtr" : "Cdtr"]: { Nm: entry.counterparty } };
  if (entry.remittance !== null) details.RmtInf = { Ustrd: entry.remittance };
  return {
    Amt: amountNode(BigInt(entry.amount), entry.currency),
    CdtDbtInd: entry.direction === "credit" ? "CRDT" : "DBIT",
    Sts: "BOOK",
    BookgDt: { Dt: entry.booking_date },
    ValDt: { Dt: entry.value_date },
    AcctSvcrRef: entry.entry_reference,
    BkTxCd: { Domn: { Cd: code.domain, Fmly: { Cd: code.family, SubFmlyCd: code.sub_family } } },
    ...(Object.keys(details).length > 0 ? { NtryDtls: { TxDtls: details } } : {}),
  };
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", format: true, indentBy: "  ", suppressEmptyNode: false });

/** The statement as camt.053.001.02 XML (UTF-8 text). Throws on input a bank could not write (a programmer error). */
export function buildCamt053(statement: Camt053Statement): string {
  check(isStatementText(statement.message_id, ID_LENGTH_MAX) && isStatementText(statement.statement_id, ID_LENGTH_MAX), "message and statement ids are Max35Text");
  check(Number.isSafeInteger(statement.sequence_number) && statement.sequence_number >= 0, "the sequence number is a non-negative integer");
  check(!Number.isNaN(Date.parse(statement.created_at)), "created_at is an ISO date-time");
  check(isIsoDate(statement.date), "the statement date is YYYY-MM-DD");
  const { account } = statement;
  check(ibanShape.test(account.iban), "the account is an IBAN");
  check(account.name === undefined || isStatementText(account.name, 70), "the account name is Max70Text");
  check(account.owner === undefined || isStatementText(account.owner, TEXT_LENGTH_MAX), "the owner is Max140Text");
  check(account.servicer_bic === undefined || bicShape.test(account.servicer_bic), "the servicer is a BIC");
  statement.entries.forEach(checkEntry);

  const closing = new Map<string, bigint>();
  for (const [currency, amount] of statement.opening_balances) {
    exponentOf(currency);
    closing.set(currency, amount);
  }
  let credits = 0;
  for (const entry of statement.entries) {
    const signed = entry.direction === "credit" ? BigInt(entry.amount) : -BigInt(entry.amount);
    closing.set(entry.currency, (closing.get(entry.currency) ?? 0n) + signed);
    if (entry.direction === "credit") credits++;
  }
  if (closing.size === 0) closing.set(statement.default_currency ?? "EUR", 0n);
  const balances = [...closing.keys()].sort().flatMap((currency) => [
    balanceNode("OPBD", statement.opening_balances.get(currency) ?? 0n, currency, statement.date),
    balanceNode("CLBD", closing.get(currency)!, currency, statement.date),
  ]);

  const created = new Date(statement.created_at).toISOString();
  const dayEnd = `${statement.date}T23:59:59.999Z`;
  const acct: Record<string, unknown> = { Id: { IBAN: account.iban } };
  if (account.name !== undefined) acct.Nm = account.name;
  if (account.owner !== undefined) acct.Ownr = { Nm: account.owner };
  if (account.servicer_bic !== undefined) acct.Svcr = { FinInstnId: { BIC: account.servicer_bic } };
  const count = statement.entries.length;
  const document = {
    Document: {
      "@_xmlns": CAMT053_NAMESPACE,
      BkToCstmrStmt: {
        GrpHdr: { MsgId: statement.message_id, CreDtTm: created },
        Stmt: {
          Id: statement.statement_id,
          ElctrncSeqNb: String(statement.sequence_number),
          CreDtTm: created,
          FrToDt: { FrDtTm: `${statement.date}T00:00:00.000Z`, ToDtTm: created < dayEnd ? created : dayEnd },
          Acct: acct,
          Bal: balances,
          TxsSummry: {
            TtlNtries: { NbOfNtries: String(count) },
            TtlCdtNtries: { NbOfNtries: String(credits) },
            TtlDbtNtries: { NbOfNtries: String(count - credits) },
          },
          ...(count > 0 ? { Ntry: statement.entries.map(entryNode) } : {}),
        },
      },
    },
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(document) as string}`;
}
