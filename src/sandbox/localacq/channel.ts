// localacq's business rules over its in-memory transaction log, keyed by our reference (DE48).
import { randomInt } from "node:crypto";
import { BoundedStore } from "../bounded-store.ts";
import { brandOfPan } from "../settlement/brands.ts";
import { cardScenario, isExpiryPast, type CardScenario } from "../test-cards.ts";
import { parseAmountField, parseExpiryField, responseMti, type IsoFields, type IsoMessage } from "./messages.ts";

export type LaKind = "preauth" | "sale" | "completion" | "reversal" | "refund";
export type LaStatus = "APPROVED" | "COMPLETED" | "REVERSED" | "DECLINED";

export interface LaTransaction {
  reference: string;
  rrn: string;
  kind: LaKind;
  status: LaStatus;
  /** In localacq's own exponent for the currency. */
  amount: number;
  currency_numeric: string;
  response_code: string;
  auth_code?: string;
  original_rrn?: string;
  captured_amount: number;
  refunded_amount: number;
  related: string[];
  response: IsoMessage;
  created_at: string;
  /** The card scheme of a pre-authorization or sale (by PAN prefix): what its settlement fee depends on. */
  brand?: string;
}

/** DE48 (our reference) as localacq keeps it: it is written in its fixed-width clearing file. */
export const REFERENCE_MAX_LENGTH = 40;
const referencePattern = /^[\x20-\x7e]+$/;

export const APPROVED = "00";
const FORMAT_ERROR = "30";
const INVALID_TRANSACTION = "12";
const INVALID_AMOUNT = "13";
const NOT_PERMITTED = "57";

/** ISO 4217 numeric codes localacq settles. */
export const LOCALACQ_CURRENCIES_NUMERIC = new Set(["986", "360", "356", "484", "949", "566", "840", "978", "348"]);

const scenarioCode: Record<CardScenario, string> = {
  approve: APPROVED,
  invalid_number: "14",
  do_not_honor: "05",
  insufficient_funds: "51",
  expired_card: "54",
  processing_error: APPROVED,
  slow_response: APPROVED,
  three_ds_challenge: "1A",
};

export type ProcessResult = { kind: "answered"; transaction: LaTransaction; scenario?: CardScenario } | { kind: "format_error"; response: IsoMessage };

export class LocalAcqChannel {
  private readonly byReference: BoundedStore<LaTransaction>;
  private readonly referenceByRrn: BoundedStore<string>;
  private nextRrn = (Date.now() % 1_000_000_000) * 1_000;

  constructor(capacity: number) {
    this.byReference = new BoundedStore(capacity);
    this.referenceByRrn = new BoundedStore(capacity);
  }

  find(reference: string): LaTransaction | undefined {
    return this.byReference.get(reference);
  }

  all(): LaTransaction[] {
    return [...this.byReference.values()];
  }

  findByRrn(rrn: string): LaTransaction | undefined {
    const reference = this.referenceByRrn.get(rrn);
    return reference === undefined ? undefined : this.byReference.get(reference);
  }

  process(message: IsoMessage): ProcessResult {
    const { mti, fields } = message;
    const reference = fields["48"];
    const amount = parseAmountField(fields["4"]);
    if (!reference || reference.length > REFERENCE_MAX_LENGTH || !referencePattern.test(reference) || !/^\d{6}$/.test(fields["11"] ?? "")) return formatError(message);
    const existing = this.byReference.get(reference);
    if (existing) return { kind: "answered", transaction: existing };
    if (mti === "0100" || mti === "0200") return this.financial(message, reference, amount);
    if (mti === "0220") return this.completion(message, reference, amount);
    if (mti === "0400" || mti === "0420") return this.reversal(message, reference);
    return formatError(message);
  }

  private financial(message: IsoMessage, reference: string, amount: number | undefined): ProcessResult {
    const processing = message.fields["3"];
    if (message.mti === "0200" && processing === "200000") return this.refundOf(message, reference, amount);
    const expiry = parseExpiryField(message.fields["14"]);
    if (processing !== "000000" || !amount || !expiry || !message.fields["2"] || !message.fields["49"]) return formatError(message);
    const kind: LaKind = message.mti === "0100" ? "preauth" : "sale";
    const scenario = cardScenario(message.fields["2"]);
    let code = scenarioCode[scenario];
    if (code === APPROVED && isExpiryPast(expiry.month, expiry.year)) code = "54";
    if (!LOCALACQ_CURRENCIES_NUMERIC.has(message.fields["49"])) code = NOT_PERMITTED;
    const transaction = this.record(message, reference, kind, amount, code);
    transaction.brand = brandOfPan(message.fields["2"]);
    if (code === APPROVED) this.settleAuthorization(transaction, kind, amount);
    return { kind: "answered", transaction, scenario };
  }

  private settleAuthorization(transaction: LaTransaction, kind: LaKind, amount: number): void {
    transaction.status = kind === "sale" ? "COMPLETED" : "APPROVED";
    transaction.captured_amount = kind === "sale" ? amount : 0;
  }

  private completion(message: IsoMessage, reference: string, amount: number | undefined): ProcessResult {
    const original = this.original(message);
    if (!amount || !original) return this.rejectLinked(message, reference, amount, original);
    const code = completionCode(original, amount, message.fields["49"]);
    const transaction = this.record(message, reference, "completion", amount, code, original);
    if (code === APPROVED) {
      original.captured_amount = amount;
      original.status = "COMPLETED";
    }
    return { kind: "answered", transaction };
  }

  private reversal(message: IsoMessage, reference: string): ProcessResult {
    const original = this.original(message);
    if (!original) return this.rejectLinked(message, reference, undefined, undefined);
    const code = original.kind === "preauth" && original.status === "APPROVED" ? APPROVED : INVALID_TRANSACTION;
    const transaction = this.record(message, reference, "reversal", original.amount, code, original);
    if (code === APPROVED) original.status = "REVERSED";
    return { kind: "answered", transaction };
  }

  private refundOf(message: IsoMessage, reference: string, amount: number | undefined): ProcessResult {
    const original = this.original(message);
    if (!amount || !original) return this.rejectLinked(message, reference, amount, original);
    const code = refundCode(original, amount, message.fields["49"]);
    const transaction = this.record(message, reference, "refund", amount, code, original);
    if (code === APPROVED) original.refunded_amount += amount;
    return { kind: "answered", transaction };
  }

  private original(message: IsoMessage): LaTransaction | undefined {
    const reference = this.referenceByRrn.get(message.fields["90"] ?? "");
    return reference === undefined ? undefined : this.byReference.get(reference);
  }

  /** A linked message whose original is unknown or whose amount is malformed. */
  private rejectLinked(message: IsoMessage, reference: string, amount: number | undefined, original: LaTransaction | undefined): ProcessResult {
    if (!message.fields["90"] || (message.mti !== "0400" && message.mti !== "0420" && !amount)) return formatError(message);
    const kind: LaKind = message.mti === "0220" ? "completion" : message.mti.startsWith("04") ? "reversal" : "refund";
    return { kind: "answered", transaction: this.record(message, reference, kind, amount ?? 0, INVALID_TRANSACTION, original) };
  }

  private record(message: IsoMessage, reference: string, kind: LaKind, amount: number, code: string, original?: LaTransaction): LaTransaction {
    const rrn = this.allocateRrn();
    const auth_code = code === APPROVED ? String(randomInt(0, 1_000_000)).padStart(6, "0") : undefined;
    const transaction: LaTransaction = {
      reference, rrn, kind, amount, response_code: code, auth_code,
      status: code === APPROVED ? "COMPLETED" : "DECLINED",
      currency_numeric: message.fields["49"] ?? original?.currency_numeric ?? "",
      original_rrn: original?.rrn,
      captured_amount: 0,
      refunded_amount: 0,
      related: [],
      response: responseFor(message, rrn, code, auth_code),
      created_at: new Date().toISOString(),
    };
    original?.related.push(reference);
    this.byReference.set(reference, transaction);
    this.referenceByRrn.set(rrn, reference);
    return transaction;
  }

  private allocateRrn(): string {
    this.nextRrn += 1;
    return String(this.nextRrn % 10 ** 12).padStart(12, "0");
  }
}

function completionCode(original: LaTransaction, amount: number, currency: string | undefined): string {
  if (original.kind !== "preauth" || original.status !== "APPROVED") return INVALID_TRANSACTION;
  if (currency !== undefined && currency !== original.currency_numeric) return INVALID_TRANSACTION;
  return amount <= original.amount ? APPROVED : INVALID_AMOUNT;
}

function refundCode(original: LaTransaction, amount: number, currency: string | undefined): string {
  if (original.status !== "COMPLETED" || (original.kind !== "preauth" && original.kind !== "sale")) return INVALID_TRANSACTION;
  if (currency !== undefined && currency !== original.currency_numeric) return INVALID_TRANSACTION;
  return original.refunded_amount + amount <= original.captured_amount ? APPROVED : INVALID_AMOUNT;
}

function responseFor(message: IsoMessage, rrn: string, code: string, auth_code: string | undefined): IsoMessage {
  const fields: IsoFields = { ...message.fields, "37": rrn, "39": code };
  delete fields["2"];
  delete fields["14"];
  if (auth_code) fields["38"] = auth_code;
  return { mti: responseMti(message.mti), fields };
}

function formatError(message: IsoMessage): ProcessResult {
  const fields: IsoFields = { ...message.fields, "39": FORMAT_ERROR };
  delete fields["2"];
  delete fields["14"];
  return { kind: "format_error", response: { mti: responseMti(message.mti), fields } };
}
