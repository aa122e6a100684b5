// Direct-debit mandates: the customer's authorization to pull money from one bank account, SEPA
// (Core or B2B, EUR, an IBAN checked with ibantools) or ACH (USD, an ABA routing number with its
// 3-7-1 checksum and an account number). Owns the `mandates` table: creation, reading, listing,
// revocation by the merchant, the end of a mandate after a return that kills it (`inactive`), and
// the 36-month lapse without a collection (checked at use and swept by the janitor). The full
// account is kept because every collection needs it; views show only its last four characters.
import { electronicFormatIBAN, isSEPACountry, isValidBIC, isValidIBAN } from "ibantools";
import type { DebitAccount, RefundDestination } from "../../channels/contract.ts";
import { invalid, notFound, ok, unexpectedState, type Result } from "../../errors.ts";
import { recordEvent, type EventType } from "../../events/outbox.ts";
import { newId } from "../../ids.ts";
import { assert, limits } from "../../limits.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { toSafeNumber, type Queryable, type Tx } from "../../store/db.ts";
import { listPage } from "../../store/page.ts";
import type { DebitScheme } from "./returns.ts";

export type MandateStatus = "active" | "inactive" | "revoked" | "lapsed";
export type MandateType = "sepa_debit" | "ach_debit";

/** A mandate with no collection for this many months lapses (SEPA rulebook). */
export const MANDATE_LAPSE_MONTHS = 36;
/** The SEPA creditor identifier collections are made under (the sandbox creditor). */
export const CREDITOR_ID = "DE98ZZZ09999999999";
export const CREDITOR_NAME = "Corridor Sandbox";
/** How far in the future a signature time may be (clock skew). */
const acceptedAtSkewMs = 5 * 60 * 1000;

export interface CreateMandateInput {
  type: MandateType;
  currency?: string;
  sepa_debit?: { iban: string; bic?: string; account_holder_name: string; scheme?: "core" | "b2b" };
  ach_debit?: { routing_number: string; account_number: string; account_type?: "checking" | "savings"; account_holder_name: string };
  customer?: string;
  /** Unix seconds: when the customer signed (default: now). */
  accepted_at?: number;
  metadata?: Record<string, string>;
}

export interface MandateRecord {
  id: string;
  merchant_id: string;
  scheme: DebitScheme;
  status: MandateStatus;
  status_reason: string | null;
  currency: string;
  reference: string;
  account: DebitAccount;
  last4: string;
  customer: string | null;
  metadata: Record<string, string>;
  accepted_ms: number;
  last_collection_ms: number | null;
  created_ms: number;
}

/** ABA routing number: nine digits, 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function isValidRoutingNumber(routing: string): boolean {
  if (!/^[0-9]{9}$/.test(routing)) return false;
  const d = [...routing].map(Number);
  const sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
  return sum % 10 === 0;
}

/** When a mandate last used (or signed) at `from_ms` lapses. */
export function lapsesAtMs(from_ms: number): number {
  const at = new Date(from_ms);
  at.setUTCMonth(at.getUTCMonth() + MANDATE_LAPSE_MONTHS);
  return at.getTime();
}

export function mandateTypeOf(scheme: DebitScheme): MandateType {
  return scheme === "ach" ? "ach_debit" : "sepa_debit";
}

function mandateFromRow(row: Record<string, unknown>): MandateRecord {
  const scheme = row.scheme as DebitScheme;
  const name = row.account_holder_name as string;
  const account: DebitAccount = scheme === "ach"
    ? { account_holder_name: name, routing_number: row.routing_number as string, account_number: row.account_number as string, account_type: row.account_type as "checking" | "savings" }
    : { account_holder_name: name, iban: row.iban as string, ...(row.bic ? { bic: row.bic as string } : {}) };
  return {
    id: row.id as string,
    merchant_id: row.merchant_id as string,
    scheme,
    status: row.status as MandateStatus,
    status_reason: (row.status_reason as string | null) ?? null,
    currency: row.currency as string,
    reference: row.reference as string,
    account,
    last4: row.last4 as string,
    customer: (row.customer as string | null) ?? null,
    metadata: typeof row.metadata === "string" && row.metadata ? (JSON.parse(row.metadata) as Record<string, string>) : {},
    accepted_ms: toSafeNumber(row.accepted_ms),
    last_collection_ms: row.last_collection_ms === null || row.last_collection_ms === undefined ? null : toSafeNumber(row.last_collection_ms),
    created_ms: toSafeNumber(row.created_ms),
  };
}

export function mandateView(mandate: MandateRecord) {
  const seconds = (ms: number) => Math.floor(ms / 1000);
  const type = mandateTypeOf(mandate.scheme);
  const account = mandate.account;
  return {
    id: mandate.id,
    object: "mandate",
    type,
    scheme: mandate.scheme,
    status: mandate.status,
    /** Why the mandate is no longer active: the return code that ended it, `revoked_by_merchant`, or `no_collection_for_36_months`. */
    status_reason: mandate.status_reason,
    currency: mandate.currency.toLowerCase(),
    /** The unique mandate reference given to the bank with every collection. */
    reference: mandate.reference,
    ...(type === "sepa_debit"
      ? { creditor_id: CREDITOR_ID, sepa_debit: { last4: mandate.last4, country: account.iban!.slice(0, 2), bic: account.bic ?? null, account_holder_name: account.account_holder_name } }
      : { ach_debit: { last4: mandate.last4, routing_number: account.routing_number!, account_type: account.account_type!, account_holder_name: account.account_holder_name } }),
    customer: mandate.customer,
    accepted_at: seconds(mandate.accepted_ms),
    last_collection_at: mandate.last_collection_ms === null ? null : seconds(mandate.last_collection_ms),
    lapses_at: mandate.status === "active" ? seconds(lapsesAtMs(mandate.last_collection_ms ?? mandate.accepted_ms)) : null,
    metadata: mandate.metadata,
    livemode: false,
    created: seconds(mandate.created_ms),
  };
}

export type MandateView = ReturnType<typeof mandateView>;

interface CheckedAccount {
  scheme: DebitScheme;
  currency: string;
  account: DebitAccount;
  last4: string;
}

function checkSepa(input: NonNullable<CreateMandateInput["sepa_debit"]>): Result<CheckedAccount> {
  const iban = electronicFormatIBAN(input.iban);
  if (!iban || !isValidIBAN(iban)) return invalid("sepa_debit.iban", "invalid_iban", "The IBAN is not valid (its length, format or check digits are wrong).");
  if (!isSEPACountry(iban.slice(0, 2))) return invalid("sepa_debit.iban", "iban_country_unsupported", `SEPA direct debit needs an account in a SEPA country, not ${iban.slice(0, 2)}.`);
  const bic = input.bic?.toUpperCase();
  if (bic !== undefined && !isValidBIC(bic)) return invalid("sepa_debit.bic", "invalid_bic", "The BIC is not valid (8 or 11 characters: bank, country, location, branch).");
  const name = input.account_holder_name.trim();
  if (!name) return invalid("sepa_debit.account_holder_name", "parameter_invalid", "The account holder's name is required.");
  return ok({
    scheme: input.scheme === "b2b" ? "sepa_b2b" : "sepa_core",
    currency: "EUR",
    account: { account_holder_name: name, iban, ...(bic ? { bic } : {}) },
    last4: iban.slice(-4),
  });
}

function checkAch(input: NonNullable<CreateMandateInput["ach_debit"]>): Result<CheckedAccount> {
  if (!isValidRoutingNumber(input.routing_number)) {
    return invalid("ach_debit.routing_number", "invalid_routing_number", "The routing number must be nine digits with a valid ABA checksum.");
  }
  if (!/^[0-9]{4,17}$/.test(input.account_number)) return invalid("ach_debit.account_number", "invalid_account_number", "The account number must be 4 to 17 digits.");
  const name = input.account_holder_name.trim();
  if (!name) return invalid("ach_debit.account_holder_name", "parameter_invalid", "The account holder's name is required.");
  return ok({
    scheme: "ach",
    currency: "USD",
    account: { account_holder_name: name, routing_number: input.routing_number, account_number: input.account_number, account_type: input.account_type ?? "checking" },
    last4: input.account_number.slice(-4),
  });
}

/** Every check, before anything is written. */
function checkMandateInput(input: CreateMandateInput, now_ms: number): Result<CheckedAccount & { accepted_ms: number }> {
  const own = input.type === "sepa_debit" ? input.sepa_debit : input.ach_debit;
  if (!own) return invalid(input.type, "parameter_missing", `A ${input.type} mandate needs the ${input.type} object.`);
  const other = input.type === "sepa_debit" ? "ach_debit" : "sepa_debit";
  if (input[other]) return invalid(other, "parameter_unknown", `A ${input.type} mandate takes ${input.type}, not ${other}.`);
  const checked = input.type === "sepa_debit" ? checkSepa(input.sepa_debit!) : checkAch(input.ach_debit!);
  if (!checked.ok) return checked;
  if (input.currency !== undefined && input.currency.toUpperCase() !== checked.value.currency) {
    return invalid("currency", "currency_mismatch", `A ${input.type} mandate collects in ${checked.value.currency.toLowerCase()}, not '${input.currency}'.`);
  }
  const accepted_ms = input.accepted_at === undefined ? now_ms : input.accepted_at * 1000;
  if (accepted_ms > now_ms + acceptedAtSkewMs) return invalid("accepted_at", "parameter_invalid", "accepted_at is in the future.");
  if (lapsesAtMs(accepted_ms) <= now_ms) return invalid("accepted_at", "mandate_lapsed", `A mandate signed more than ${MANDATE_LAPSE_MONTHS} months ago without a collection has lapsed.`);
  return ok({ ...checked.value, accepted_ms });
}

async function emitMandate(tx: Tx, mandate: MandateRecord, type: EventType): Promise<void> {
  await recordEvent(tx, { merchant_id: mandate.merchant_id, type, object_id: mandate.id, object: mandateView(mandate) });
}

export async function createMandate(ctx: PaymentsContext, merchant_id: string, input: CreateMandateInput): Promise<Result<MandateView>> {
  const now = Date.now();
  const checked = checkMandateInput(input, now);
  if (!checked.ok) return checked;
  const { scheme, currency, account, last4, accepted_ms } = checked.value;
  const id = newId("md");
  const mandate: MandateRecord = {
    id, merchant_id, scheme, status: "active", status_reason: null, currency,
    // The unique mandate reference: SEPA's character set has no underscore.
    reference: id.replace("_", "-").toUpperCase(),
    account, last4, customer: input.customer ?? null, metadata: input.metadata ?? {}, accepted_ms, last_collection_ms: null, created_ms: now,
  };
  await ctx.db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO mandates (id, merchant_id, scheme, status, status_reason, currency, reference, account_holder_name, iban, bic,
         routing_number, account_number, account_type, last4, customer, metadata, accepted_ms, last_collection_ms, created_ms, updated_ms)
       VALUES (?, ?, ?, 'active', NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
      [id, merchant_id, scheme, currency, mandate.reference, account.account_holder_name, account.iban ?? null, account.bic ?? null,
        account.routing_number ?? null, account.account_number ?? null, account.account_type ?? null, last4, mandate.customer,
        JSON.stringify(mandate.metadata), accepted_ms, now, now],
    );
    await emitMandate(tx, mandate, "mandate.created");
  });
  return ok(mandateView(mandate));
}

export async function loadMandate(db: Queryable, merchant_id: string, id: string): Promise<MandateRecord | undefined> {
  const row = await db.get<Record<string, unknown>>("SELECT * FROM mandates WHERE id = ? AND merchant_id = ?", [id, merchant_id]);
  return row ? mandateFromRow(row) : undefined;
}

/** Reads and row-locks a mandate inside a transaction. */
export async function lockMandate(tx: Tx, id: string): Promise<MandateRecord> {
  const row = await tx.get<Record<string, unknown>>(`SELECT * FROM mandates WHERE id = ? ${tx.forUpdate}`, [id]);
  assert(row, `mandate ${id} exists`);
  return mandateFromRow(row);
}

export async function listMandates(
  db: Queryable, merchant_id: string, page: { limit: number; starting_after?: string; customer?: string },
): Promise<{ data: MandateView[]; has_more: boolean }> {
  assert(page.limit >= 1 && page.limit <= limits.list_page_size_max, "a page is bounded");
  const { rows, has_more } = await listPage(db, "mandates", { merchant_id, customer: page.customer }, page);
  return { data: rows.map((row) => mandateView(mandateFromRow(row))), has_more };
}

async function changeStatus(tx: Tx, mandate: MandateRecord, status: MandateStatus, reason: string, event: EventType): Promise<void> {
  mandate.status = status;
  mandate.status_reason = reason;
  await tx.run("UPDATE mandates SET status = ?, status_reason = ?, updated_ms = ? WHERE id = ?", [status, reason, Date.now(), mandate.id]);
  await emitMandate(tx, mandate, event);
}

/** The merchant ends the mandate: no further collection; debits already submitted go on. */
export async function revokeMandate(ctx: PaymentsContext, merchant_id: string, id: string): Promise<Result<MandateView>> {
  const found = await loadMandate(ctx.db, merchant_id, id);
  if (!found) return notFound("mandate", id);
  return ctx.db.transaction(async (tx) => {
    const mandate = await lockMandate(tx, id);
    if (mandate.status !== "active") return unexpectedState("mandate", mandate.status, "revoke");
    await changeStatus(tx, mandate, "revoked", "revoked_by_merchant", "mandate.revoked");
    return ok(mandateView(mandate));
  });
}

/** A return said the account or the authorization is gone (AC04, MD01, R02, R03, R10, ...). */
export async function endMandateAfterReturn(tx: Tx, mandate_id: string, reason_code: string): Promise<void> {
  const mandate = await lockMandate(tx, mandate_id);
  if (mandate.status !== "active") return;
  await changeStatus(tx, mandate, "inactive", reason_code, "mandate.updated");
}

/** Lapses a locked active mandate that went 36 months without a collection; true when it did. */
export async function lapseIfDue(tx: Tx, mandate: MandateRecord, now_ms: number): Promise<boolean> {
  if (mandate.status !== "active" || lapsesAtMs(mandate.last_collection_ms ?? mandate.accepted_ms) > now_ms) return false;
  await changeStatus(tx, mandate, "lapsed", "no_collection_for_36_months", "mandate.lapsed");
  return true;
}

/** Janitor: active mandates past their lapse date (bounded batch). */
export async function lapseSweep(ctx: PaymentsContext): Promise<number> {
  const now = Date.now();
  // Lapse dates are calendar months: select by a cutoff a little generous, then check each exactly.
  const cutoff = now - (MANDATE_LAPSE_MONTHS * 30 + 10) * 86_400_000;
  const rows = await ctx.db.all<{ id: string }>(
    `SELECT id FROM mandates WHERE status = 'active' AND COALESCE(last_collection_ms, accepted_ms) <= ? ORDER BY id LIMIT ?`,
    [cutoff, limits.janitor_batch_max],
  );
  let lapsed = 0;
  for (const row of rows) {
    if (await ctx.db.transaction(async (tx) => lapseIfDue(tx, await lockMandate(tx, row.id), now))) lapsed++;
  }
  return lapsed;
}

/**
 * The bank account behind a merchant's mandate, in full: where a refund of a direct-debit payment
 * is paid back to (for refunds), or undefined when the merchant has no such mandate.
 */
export async function mandateAccount(db: Queryable, merchant_id: string, mandate_id: string): Promise<(DebitAccount & { scheme: DebitScheme; currency: string }) | undefined> {
  const mandate = await loadMandate(db, merchant_id, mandate_id);
  return mandate ? { ...mandate.account, scheme: mandate.scheme, currency: mandate.currency } : undefined;
}

/**
 * A refund of a direct-debit payment is paid back to the account it was collected from: the
 * mandate's account as a refund destination (SEPA: the IBAN, its country and BIC; ACH: the account
 * number, US and the routing number as the bank), or undefined when the merchant has no such mandate.
 */
export async function refundDestinationForMandate(db: Queryable, merchant_id: string, mandate_id: string): Promise<RefundDestination | undefined> {
  const mandate = await loadMandate(db, merchant_id, mandate_id);
  if (!mandate) return undefined;
  const account = mandate.account;
  return mandate.scheme === "ach"
    ? { type: "bank_account", account_holder_name: account.account_holder_name, country: "US", account: account.account_number!, bank: account.routing_number! }
    : { type: "bank_account", account_holder_name: account.account_holder_name, country: account.iban!.slice(0, 2), account: account.iban!, ...(account.bic ? { bank: account.bic } : {}) };
}
