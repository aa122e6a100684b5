// Double-entry ledger in the TigerBeetle model, in SQL: accounts per owner, currency and purpose;
// transfers between two accounts of one currency, single-phase (posted) or two-phase (pending,
// then post_pending with an amount up to the pending one, or void_pending). Transfers are only
// ever appended; balances are derived from them. Transfers written in one database transaction
// are linked: they commit together or not at all.
import { newId } from "../ids.ts";
import { assert } from "../limits.ts";
import { toBigInt, type Queryable, type Tx } from "../store/db.ts";

export type AccountPurpose =
  /** What a channel owes us for captured payments (asset, debit-normal). */
  | "channel_receivable"
  /** Captured funds owed to a merchant, not yet settled (liability, credit-normal). */
  | "merchant_pending"
  /** Settled funds a merchant may pay out (liability, credit-normal). */
  | "merchant_available"
  /** Money received from customers that must go back to them (bank transfers: wrong amount, too late) (liability, credit-normal). */
  | "customer_refunds_due"
  /** Fees the platform earned (dispute fees) (revenue, credit-normal). */
  | "platform_fees"
  /** Merchant fees on settled payments (per-merchant pricing) (revenue, credit-normal; owner "platform"). */
  | "platform_revenue"
  /** What a channel paid out on settlement, until the bank statement shows it arrived (asset, debit-normal; owner: the channel). */
  | "bank_in_transit"
  /** The platform's own bank account, as its statement shows it (asset, debit-normal; owner "platform"). */
  | "platform_bank"
  /** Channel fees from settlement reports, one account per kind (expense, debit-normal; owner: the channel). */
  | "channel_fees_interchange"
  | "channel_fees_scheme"
  | "channel_fees_markup"
  | "channel_fees_commission"
  /** Differences within the rounding tolerance (expense, debit-normal; owner: the channel). */
  | "settlement_rounding"
  /** Differences an operator wrote off (expense, debit-normal; owner: the channel). */
  | "settlement_write_offs";

export const accountFlags = {
  none: 0,
  debits_must_not_exceed_credits: 1,
} as const;

const purposeFlags: Record<AccountPurpose, number> = {
  channel_receivable: accountFlags.none,
  merchant_pending: accountFlags.none,
  merchant_available: accountFlags.debits_must_not_exceed_credits,
  customer_refunds_due: accountFlags.none,
  platform_fees: accountFlags.none,
  platform_revenue: accountFlags.none,
  bank_in_transit: accountFlags.none,
  platform_bank: accountFlags.none,
  channel_fees_interchange: accountFlags.none,
  channel_fees_scheme: accountFlags.none,
  channel_fees_markup: accountFlags.none,
  channel_fees_commission: accountFlags.none,
  settlement_rounding: accountFlags.none,
  settlement_write_offs: accountFlags.none,
};

export interface AccountRef {
  owner: string;
  currency: string;
  purpose: AccountPurpose;
}

export function accountId(ref: AccountRef): string {
  assert(/^[A-Z]{3}$/.test(ref.currency), "ledger currencies are upper-case ISO 4217 codes");
  return `acct_${ref.owner}_${ref.purpose}_${ref.currency}`;
}

export type TransferCode = "authorization" | "capture" | "void" | "refund" | "refund_failed" | "authorization_expired" | "refund_due"
  | "dispute" | "dispute_reversal" | "dispute_fee" | "debit_return" | "return_of_funds" | "bnpl_fee"
  /** Settlement (src/settlement): a batch's lines cleared from the channel receivable, its fees,
   *  the bank credit that funded it, merchant funds made available, merchant fees, operator adjustments. */
  | "settlement" | "settlement_fee" | "settlement_funding" | "merchant_settlement" | "merchant_fee"
  | "settlement_adjustment" | "settlement_write_off" | "settlement_rounding";

export interface Balance {
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

export type LedgerError =
  | "pending_not_found"
  | "pending_already_resolved"
  | "exceeds_pending_amount"
  | "exceeds_credits";

export type LedgerResult = { ok: true; transfer_id: string } | { ok: false; error: LedgerError };

/** Accounts known to be committed, per database (accounts are never deleted: this never goes stale). */
const committedAccountsByDatabase = new WeakMap<object, Set<string>>();
const committedAccountsMax = 100_000;
/** Accounts a transaction inserted itself: not committed (nor visible to others) until it commits. */
const insertedByTransaction = new WeakMap<Tx, Set<string>>();

async function ensureAccount(tx: Tx, ref: AccountRef, now_ms: number): Promise<string> {
  const id = accountId(ref);
  let committedAccounts = committedAccountsByDatabase.get(tx.database);
  if (!committedAccounts) committedAccountsByDatabase.set(tx.database, (committedAccounts = new Set()));
  if (committedAccounts.has(id)) return id;
  const inserted = await tx.run(
    "INSERT INTO ledger_accounts (id, owner, currency, purpose, flags, created_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    [id, ref.owner, ref.currency, ref.purpose, purposeFlags[ref.purpose], now_ms],
  );
  // No conflict target: two transactions creating the same account at once may collide on either
  // unique index (id, or owner+currency+purpose), and both mean "it exists".
  // Created by an earlier, committed transaction: safe to remember. (One we just created could
  // still roll back with our transaction, so it is remembered the next time it is seen.)
  if (inserted.changes === 1) {
    const ours = insertedByTransaction.get(tx) ?? new Set<string>();
    insertedByTransaction.set(tx, ours.add(id));
  } else if (!insertedByTransaction.get(tx)?.has(id) && committedAccounts.size < committedAccountsMax) {
    // A conflict with our own earlier insert is not proof that another transaction committed it.
    committedAccounts.add(id);
  }
  return id;
}

interface NewTransfer {
  debit: AccountRef;
  credit: AccountRef;
  amount: bigint;
  code: TransferCode;
  ref: string;
}

async function insertTransfer(tx: Tx, transfer: NewTransfer, kind: "posted" | "pending"): Promise<LedgerResult> {
  assert(transfer.amount > 0n, "transfer amounts are positive");
  assert(transfer.debit.currency === transfer.credit.currency, "a transfer moves one currency");
  const now_ms = Date.now();
  const debit_id = await ensureAccount(tx, transfer.debit, now_ms);
  const credit_id = await ensureAccount(tx, transfer.credit, now_ms);
  const id = newId("tr");
  await tx.run(
    `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, code, ref, created_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [id, debit_id, credit_id, transfer.amount, transfer.debit.currency, kind, transfer.code, transfer.ref, now_ms],
  );
  const limitError = await checkFlags(tx, debit_id, transfer.debit.purpose);
  return limitError ? { ok: false, error: limitError } : { ok: true, transfer_id: id };
}

async function checkFlags(tx: Tx, debit_id: string, purpose: AccountPurpose): Promise<LedgerError | undefined> {
  if ((purposeFlags[purpose] & accountFlags.debits_must_not_exceed_credits) === 0) return undefined;
  // Serializes concurrent debits of this account on PostgreSQL (SQLite writers are serial already).
  await tx.get(`SELECT id FROM ledger_accounts WHERE id = ? ${tx.forUpdate}`, [debit_id]);
  const balance = await accountBalance(tx, debit_id);
  const debits = balance.debits_posted + balance.debits_pending;
  // The caller's transaction must roll back on this error: the insert is already done.
  return debits > balance.credits_posted ? "exceeds_credits" : undefined;
}

/** Single-phase transfer: posted at once. */
export function postTransfer(tx: Tx, transfer: NewTransfer): Promise<LedgerResult> {
  return insertTransfer(tx, transfer, "posted");
}

/** First phase of a two-phase transfer: reserves the amount on both accounts. */
export function pendTransfer(tx: Tx, transfer: NewTransfer): Promise<LedgerResult> {
  return insertTransfer(tx, transfer, "pending");
}

interface PendingRow {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: unknown;
  currency: string;
  kind: string;
}

async function resolvePending(
  tx: Tx,
  pending_id: string,
  kind: "post_pending" | "void_pending",
  amount: bigint | undefined,
  code: TransferCode,
  ref: string,
): Promise<LedgerResult> {
  const pending = await tx.get<PendingRow>(
    `SELECT id, debit_account_id, credit_account_id, amount, currency, kind FROM ledger_transfers WHERE id = ? ${tx.forUpdate}`,
    [pending_id],
  );
  if (!pending || pending.kind !== "pending") return { ok: false, error: "pending_not_found" };
  const resolved = await tx.get("SELECT id FROM ledger_transfers WHERE pending_id = ?", [pending_id]);
  if (resolved) return { ok: false, error: "pending_already_resolved" };
  const pending_amount = toBigInt(pending.amount);
  const posted_amount = kind === "void_pending" ? 0n : (amount ?? pending_amount);
  if (posted_amount > pending_amount) return { ok: false, error: "exceeds_pending_amount" };
  assert(kind === "void_pending" || posted_amount > 0n, "a post moves a positive amount");
  const id = newId("tr");
  await tx.run(
    `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, pending_id, pending_amount, code, ref, created_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [id, pending.debit_account_id, pending.credit_account_id, posted_amount, pending.currency, kind, pending_id, pending_amount, code, ref, Date.now()],
  );
  return { ok: true, transfer_id: id };
}

/** Second phase: posts `amount` (default: all) of a pending transfer and releases the rest. */
export function postPending(tx: Tx, pending_id: string, amount: bigint | undefined, code: TransferCode, ref: string) {
  return resolvePending(tx, pending_id, "post_pending", amount, code, ref);
}

/** Second phase: releases a pending transfer entirely. */
export function voidPending(tx: Tx, pending_id: string, code: TransferCode, ref: string) {
  return resolvePending(tx, pending_id, "void_pending", undefined, code, ref);
}

const balanceSql = `
  SELECT
    CAST(COALESCE(SUM(CASE WHEN debit_account_id = ? AND kind IN ('posted', 'post_pending') THEN amount ELSE 0 END), 0) AS TEXT) AS debits_posted,
    CAST(COALESCE(SUM(CASE WHEN credit_account_id = ? AND kind IN ('posted', 'post_pending') THEN amount ELSE 0 END), 0) AS TEXT) AS credits_posted,
    CAST(COALESCE(SUM(CASE WHEN debit_account_id = ? AND kind = 'pending' THEN amount
                           WHEN debit_account_id = ? AND kind IN ('post_pending', 'void_pending') THEN -pending_amount ELSE 0 END), 0) AS TEXT) AS debits_pending,
    CAST(COALESCE(SUM(CASE WHEN credit_account_id = ? AND kind = 'pending' THEN amount
                           WHEN credit_account_id = ? AND kind IN ('post_pending', 'void_pending') THEN -pending_amount ELSE 0 END), 0) AS TEXT) AS credits_pending
  FROM ledger_transfers WHERE debit_account_id = ? OR credit_account_id = ?`;

export async function accountBalance(db: Queryable, account_id: string): Promise<Balance> {
  const row = await db.get<Record<keyof Balance, string>>(balanceSql, Array(8).fill(account_id));
  return {
    debits_pending: toBigInt(row?.debits_pending),
    debits_posted: toBigInt(row?.debits_posted),
    credits_pending: toBigInt(row?.credits_pending),
    credits_posted: toBigInt(row?.credits_posted),
  };
}

/** Net credit balance of a credit-normal account, pending debits held back. */
export async function creditBalance(db: Queryable, ref: AccountRef): Promise<{ posted: bigint; pending_debits: bigint }> {
  const balance = await accountBalance(db, accountId(ref));
  return { posted: balance.credits_posted - balance.debits_posted, pending_debits: balance.debits_pending };
}

export async function accountsOf(db: Queryable, owner: string): Promise<{ id: string; currency: string; purpose: AccountPurpose }[]> {
  return db.all("SELECT id, currency, purpose FROM ledger_accounts WHERE owner = ? ORDER BY currency, purpose", [owner]);
}

export interface TrialBalance {
  balanced: boolean;
  currencies: { currency: string; debits: string; credits: string; pending_debits: string; pending_credits: string }[];
  violations: string[];
}

/**
 * The trial balance: per currency, total debits equal total credits (posted and pending), and the
 * structural invariants hold for every transfer. Amounts are strings (exact 64-bit integers).
 */
export async function verifyLedger(db: Queryable): Promise<TrialBalance> {
  const totals = await db.all<{ currency: string; debits: string; credits: string; pending_debits: string; pending_credits: string }>(`
    SELECT a.currency AS currency,
      CAST(COALESCE(SUM(CASE WHEN t.debit_account_id = a.id AND t.kind IN ('posted', 'post_pending') THEN t.amount ELSE 0 END), 0) AS TEXT) AS debits,
      CAST(COALESCE(SUM(CASE WHEN t.credit_account_id = a.id AND t.kind IN ('posted', 'post_pending') THEN t.amount ELSE 0 END), 0) AS TEXT) AS credits,
      CAST(COALESCE(SUM(CASE WHEN t.debit_account_id = a.id AND t.kind = 'pending' THEN t.amount
                             WHEN t.debit_account_id = a.id AND t.kind <> 'posted' AND t.kind <> 'pending' THEN -t.pending_amount ELSE 0 END), 0) AS TEXT) AS pending_debits,
      CAST(COALESCE(SUM(CASE WHEN t.credit_account_id = a.id AND t.kind = 'pending' THEN t.amount
                             WHEN t.credit_account_id = a.id AND t.kind <> 'posted' AND t.kind <> 'pending' THEN -t.pending_amount ELSE 0 END), 0) AS TEXT) AS pending_credits
    FROM ledger_accounts a JOIN ledger_transfers t ON t.debit_account_id = a.id OR t.credit_account_id = a.id
    GROUP BY a.currency ORDER BY a.currency`);
  const violations: string[] = [];
  const mismatched = await db.all<{ id: string }>(`
    SELECT t.id FROM ledger_transfers t
      JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
    WHERE d.currency <> t.currency OR c.currency <> t.currency LIMIT 10`);
  for (const row of mismatched) violations.push(`transfer ${row.id} crosses currencies`);
  const badResolutions = await db.all<{ id: string }>(`
    SELECT r.id FROM ledger_transfers r JOIN ledger_transfers p ON p.id = r.pending_id
    WHERE p.kind <> 'pending' OR r.pending_amount <> p.amount OR r.amount > p.amount
       OR r.debit_account_id <> p.debit_account_id OR r.credit_account_id <> p.credit_account_id LIMIT 10`);
  for (const row of badResolutions) violations.push(`transfer ${row.id} resolves its pending transfer inconsistently`);
  const overdrawn = await db.all<{ id: string }>(`
    SELECT a.id FROM ledger_accounts a WHERE (a.flags & 1) = 1 AND
      (SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers WHERE debit_account_id = a.id AND kind IN ('posted', 'post_pending')) >
      (SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers WHERE credit_account_id = a.id AND kind IN ('posted', 'post_pending')) LIMIT 10`);
  for (const row of overdrawn) violations.push(`account ${row.id} has debits exceeding credits`);
  const currencies = totals.map((row) => ({
    currency: row.currency,
    debits: toBigInt(row.debits).toString(),
    credits: toBigInt(row.credits).toString(),
    pending_debits: toBigInt(row.pending_debits).toString(),
    pending_credits: toBigInt(row.pending_credits).toString(),
  }));
  const balanced =
    violations.length === 0 &&
    currencies.every((row) => row.debits === row.credits && row.pending_debits === row.pending_credits);
  return { balanced, currencies, violations };
}
