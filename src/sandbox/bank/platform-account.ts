// sandboxbank platform account: Corridor's own account at the bank (the merchant-of-record account),
// into which the card channels pay each settlement batch's net, and its ISO 20022 camt.053.001.02
// statements (camt053.ts). Its own wire format:
//   GET  /account                      {iban, bic, name, owner, balances: [{currency, amount}]} (signed minor units)
//   POST /_sandbox/settlement_credits  {reference, debtor, amount, currency, remittance, value_date?}
//                                      a channel's payout to the account → 201 the entry
//                                      {entry_reference, booking_date, value_date, booked_at, reference, direction,
//                                      amount, currency, counterparty, debtor (credits) | creditor (debits), remittance,
//                                      account, transaction_code}.
//                                      Idempotent by the payer's `reference`: the same reference answers the
//                                      first entry (200), never a second one; the same reference with another
//                                      amount, currency, debtor, remittance or value date is 409.
//   POST /_sandbox/statement_entries   the same fields plus `direction` ("credit" | "debit"); `counterparty` (or
//                                      `debtor`) and `remittance` optional; `transaction_code` "DOMN/FMLY/SUBF"
//                                      optional (e.g. "ACMT/MDOP/CHRG" for a fee): any entry a test needs
//                                      (a credit nobody explains, a fee debited)
//   GET  /statements?limit=N           {statements: [{id, filename, date, created_at, entries}]}: one statement per
//                                      booking date with entries, oldest first, the last N (default 31, 1-1000)
//   GET  /statements/:id               the statement as camt.053.001.02 XML (application/xml)
// Entries are booked on the bank's simulated clock (clock.ts), UTC dates. A statement's id is
// `<booking date>-<number of entries>`: the day still open (today) grows, and each growth is a new id
// with new bytes; an earlier id of the same day keeps answering the same bytes (the first N entries
// of the day are never changed), so a fetched statement can be fetched again. Amounts are integer minor
// units of the currency's ISO 4217 exponent, written as decimals in the statement.
// Storage is bounded: past `capacity` entries the oldest is evicted (its amount carried into the
// opening balance); a day that lost an entry is no longer listed or served, and an evicted payer
// reference books a new entry if it comes again.
import { findCurrency } from "../../money/currency.ts";
import { jsonResponse, parseJsonObject, type SandboxRequest, type SandboxResponse } from "../types.ts";
import {
  buildCamt053, ID_LENGTH_MAX, isIsoDate, issuedTransferCode, isStatementText, receivedTransferCode, TEXT_LENGTH_MAX,
  type BankTransactionCode,
} from "./camt053.ts";
import type { SandboxClock } from "./clock.ts";

/** Corridor's merchant-of-record account at the sandbox bank. */
export const PLATFORM_ACCOUNT = {
  iban: "DE25370400440532099900",
  bic: "COBADEFFXXX",
  name: "Corridor platform account",
  owner: "Corridor Payments",
} as const;

export const DEFAULT_ENTRY_CAPACITY = 100_000;
export const STATEMENTS_LIST_DEFAULT = 31;
export const STATEMENTS_LIST_MAX = 1000;

export interface PlatformAccountOptions {
  /** Entries kept before the oldest is evicted. */
  capacity?: number;
  iban?: string;
  bic?: string;
  name?: string;
  owner?: string;
}

interface Entry {
  entry_reference: string;
  reference: string;
  direction: "credit" | "debit";
  amount: number;
  currency: string;
  counterparty: string | null;
  remittance: string | null;
  booking_date: string;
  value_date: string;
  booked_at: string;
  transaction_code: BankTransactionCode;
  /** Whether the value date was given (a replay compares it only then). */
  value_date_given: boolean;
}

interface Day {
  date: string;
  entries: Entry[];
  /** Net of the day's entries per currency (signed minor units). */
  totals: Map<string, bigint>;
  /** False once an entry of the day was evicted: its statement can no longer be written whole. */
  complete: boolean;
}

const statementIdPattern = /^(\d{4}-\d{2}-\d{2})-([1-9]\d{0,8})$/;
const transactionCodePattern = /^([A-Z]{4})\/([A-Z]{4})\/([A-Z]{4})$/;

export function statementFilename(id: string): string {
  return `sandboxbank-camt053-${id}.xml`;
}

const signed = (entry: Entry) => (entry.direction === "credit" ? BigInt(entry.amount) : -BigInt(entry.amount));

function addTo(totals: Map<string, bigint>, currency: string, amount: bigint): void {
  totals.set(currency, (totals.get(currency) ?? 0n) + amount);
}

function invalid(message: string): SandboxResponse {
  return jsonResponse(400, { error: "invalid_entry", message });
}

type EntryInput = Omit<Entry, "entry_reference" | "booking_date" | "booked_at" | "value_date"> & { value_date: string | null };

/** Reads an entry from a request body: the input, or the 400 that says what is wrong. */
function readEntry(body: Record<string, unknown> | undefined, kind: "settlement_credit" | "statement_entry"): EntryInput | SandboxResponse {
  if (!body) return invalid("the body is a JSON object");
  const { reference, amount, currency, remittance, value_date, transaction_code } = body;
  const direction = kind === "settlement_credit" ? "credit" : body.direction;
  const counterparty = kind === "settlement_credit" ? body.debtor : (body.counterparty ?? body.debtor ?? null);
  if (!isStatementText(reference, ID_LENGTH_MAX)) return invalid(`reference is 1 to ${ID_LENGTH_MAX} characters without control characters`);
  if (direction !== "credit" && direction !== "debit") return invalid("direction is credit or debit");
  if (!Number.isSafeInteger(amount) || (amount as number) <= 0) return invalid("amount is a positive integer in minor units");
  if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency) || !findCurrency(currency)) return invalid("currency is an ISO 4217 code");
  if (kind === "settlement_credit" && !isStatementText(counterparty, TEXT_LENGTH_MAX)) {
    return invalid(`debtor (the channel's name) is 1 to ${TEXT_LENGTH_MAX} characters without control characters`);
  }
  if (counterparty !== null && !isStatementText(counterparty, TEXT_LENGTH_MAX)) return invalid(`counterparty is 1 to ${TEXT_LENGTH_MAX} characters`);
  const text = typeof remittance === "string" ? remittance.trim() : remittance;
  if ((kind === "settlement_credit" || (text !== undefined && text !== null)) && !isStatementText(text, TEXT_LENGTH_MAX)) {
    return invalid(`remittance is 1 to ${TEXT_LENGTH_MAX} characters without control characters`);
  }
  if (value_date !== undefined && value_date !== null && !isIsoDate(value_date)) return invalid("value_date is a date YYYY-MM-DD");
  let code: BankTransactionCode = direction === "credit" ? receivedTransferCode(currency) : issuedTransferCode(currency);
  if (kind === "statement_entry" && transaction_code !== undefined && transaction_code !== null) {
    const match = typeof transaction_code === "string" ? transaction_code.match(transactionCodePattern) : null;
    if (!match) return invalid("transaction_code is DOMAIN/FAMILY/SUBFAMILY, e.g. ACMT/MDOP/CHRG");
    code = { domain: match[1], family: match[2], sub_family: match[3] };
  }
  return {
    reference, direction, amount: amount as number, currency, counterparty: (counterparty as string | null) ?? null,
    remittance: (text as string | null | undefined) ?? null, value_date: (value_date as string | null | undefined) ?? null,
    value_date_given: value_date !== undefined && value_date !== null, transaction_code: code,
  };
}

function sameEntry(entry: Entry, input: EntryInput): boolean {
  return entry.direction === input.direction && entry.amount === input.amount && entry.currency === input.currency &&
    entry.counterparty === input.counterparty && entry.remittance === input.remittance &&
    (!input.value_date_given || entry.value_date === input.value_date);
}

/** The platform account's routes; answers undefined for any other path. */
export function createPlatformAccount(clock: SandboxClock, options: PlatformAccountOptions = {}): (request: SandboxRequest) => Promise<SandboxResponse | undefined> {
  const capacity = options.capacity ?? DEFAULT_ENTRY_CAPACITY;
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error("programmer error: capacity must be a positive integer");
  const account = {
    iban: options.iban ?? PLATFORM_ACCOUNT.iban, bic: options.bic ?? PLATFORM_ACCOUNT.bic,
    name: options.name ?? PLATFORM_ACCOUNT.name, owner: options.owner ?? PLATFORM_ACCOUNT.owner,
  };
  /** Booking dates in order (the clock only moves forward). */
  const days = new Map<string, Day>();
  const byReference = new Map<string, Entry>();
  /** Balances of evicted entries, carried into every opening balance. */
  const carried = new Map<string, bigint>();
  /** The account's balance per currency now (kept within ±2^53 − 1 minor units). */
  const balance = new Map<string, bigint>();
  let size = 0;
  let sequence = 0;
  let lastDate: string | undefined;

  function view(entry: Entry) {
    const { value_date_given: _given, transaction_code: code, ...shown } = entry;
    return {
      ...shown, ...(entry.direction === "credit" ? { debtor: entry.counterparty } : { creditor: entry.counterparty }),
      account: account.iban, transaction_code: `${code.domain}/${code.family}/${code.sub_family}`,
    };
  }

  function evictOldest(): void {
    const day = days.values().next().value;
    if (!day) return;
    const entry = day.entries.shift()!;
    day.complete = false;
    addTo(day.totals, entry.currency, -signed(entry));
    addTo(carried, entry.currency, signed(entry));
    if (byReference.get(entry.reference) === entry) byReference.delete(entry.reference);
    if (day.entries.length === 0) days.delete(day.date);
    size--;
  }

  function book(input: EntryInput): Entry {
    if (size >= capacity) evictOldest();
    const at = clock.now();
    const today = new Date(at).toISOString().slice(0, 10);
    // Never before the last booking date, should real time step back across midnight.
    const booking_date = lastDate !== undefined && lastDate > today ? lastDate : today;
    lastDate = booking_date;
    let day = days.get(booking_date);
    if (!day) {
      day = { date: booking_date, entries: [], totals: new Map(), complete: true };
      days.set(booking_date, day);
    }
    sequence++;
    const { value_date, ...rest } = input;
    const entry: Entry = {
      ...rest, entry_reference: `SBK-${booking_date.replaceAll("-", "")}-${String(sequence).padStart(10, "0")}`,
      booking_date, value_date: value_date ?? booking_date, booked_at: new Date(at).toISOString(),
    };
    day.entries.push(entry);
    addTo(day.totals, entry.currency, signed(entry));
    addTo(balance, entry.currency, signed(entry));
    byReference.set(entry.reference, entry);
    size++;
    return entry;
  }

  function post(request: SandboxRequest, kind: "settlement_credit" | "statement_entry"): SandboxResponse {
    const input = readEntry(parseJsonObject(request.body), kind);
    if ("status" in input) return input;
    const existing = byReference.get(input.reference);
    if (existing) {
      if (!sameEntry(existing, input)) {
        return jsonResponse(409, { error: "reference_reused", message: `reference ${input.reference} was booked with other details`, entry: view(existing) });
      }
      return jsonResponse(200, view(existing));
    }
    const next = (balance.get(input.currency) ?? 0n) + (input.direction === "credit" ? BigInt(input.amount) : -BigInt(input.amount));
    if (next > BigInt(Number.MAX_SAFE_INTEGER) || next < -BigInt(Number.MAX_SAFE_INTEGER)) {
      return jsonResponse(400, { error: "balance_limit", message: `the account's ${input.currency} balance would leave ±${Number.MAX_SAFE_INTEGER} minor units` });
    }
    return jsonResponse(201, view(book(input)));
  }

  function balances() {
    return [...balance.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([currency, amount]) => ({ currency, amount: Number(amount) }));
  }

  function list(request: SandboxRequest): SandboxResponse {
    const raw = request.query.limit;
    const limit = raw === undefined ? STATEMENTS_LIST_DEFAULT : /^\d{1,4}$/.test(raw) ? Number(raw) : 0;
    if (limit < 1 || limit > STATEMENTS_LIST_MAX) return jsonResponse(400, { error: "invalid_limit", message: `limit is an integer from 1 to ${STATEMENTS_LIST_MAX}` });
    const complete = [...days.values()].filter((day) => day.complete).slice(-limit);
    return jsonResponse(200, {
      statements: complete.map((day) => {
        const id = `${day.date}-${day.entries.length}`;
        return { id, filename: statementFilename(id), date: day.date, created_at: day.entries.at(-1)!.booked_at, entries: day.entries.length };
      }),
    });
  }

  function statement(id: string): SandboxResponse {
    const match = id.match(statementIdPattern);
    const day = match ? days.get(match[1]) : undefined;
    const count = match ? Number(match[2]) : 0;
    if (!day || !day.complete || count > day.entries.length) return jsonResponse(404, { error: "not_found", message: `no statement ${id}` });
    const opening = new Map(carried);
    for (const earlier of days.values()) {
      if (earlier.date >= day.date) break;
      for (const [currency, amount] of earlier.totals) addTo(opening, currency, amount);
    }
    const entries = day.entries.slice(0, count);
    const xml = buildCamt053({
      message_id: `SBK-CAMT053-${day.date.replaceAll("-", "")}-${count}`,
      statement_id: id,
      sequence_number: Number(day.date.replaceAll("-", "")),
      created_at: entries.at(-1)!.booked_at,
      account: { iban: account.iban, name: account.name, owner: account.owner, servicer_bic: account.bic },
      date: day.date,
      opening_balances: opening,
      entries: entries.map((entry) => ({
        entry_reference: entry.entry_reference, end_to_end_id: entry.reference, booking_date: entry.booking_date, value_date: entry.value_date,
        direction: entry.direction, amount: entry.amount, currency: entry.currency, counterparty: entry.counterparty, remittance: entry.remittance,
        transaction_code: entry.transaction_code,
      })),
    });
    return { status: 200, headers: { "content-type": "application/xml; charset=utf-8" }, body: xml };
  }

  return async (request) => {
    const { method, path } = request;
    if (method === "POST" && path === "/_sandbox/settlement_credits") return post(request, "settlement_credit");
    if (method === "POST" && path === "/_sandbox/statement_entries") return post(request, "statement_entry");
    if (method === "GET" && path === "/account") return jsonResponse(200, { ...account, balances: balances() });
    if (method === "GET" && path === "/statements") return list(request);
    if (method === "GET" && path.startsWith("/statements/")) {
      let id: string;
      try {
        id = decodeURIComponent(path.slice("/statements/".length));
      } catch {
        return jsonResponse(404, { error: "not_found" });
      }
      return statement(id);
    }
    return undefined;
  };
}
