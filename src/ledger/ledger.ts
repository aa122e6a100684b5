// Double-entry ledger in the TigerBeetle model, in SQL: accounts per owner, currency and purpose;
// transfers between two accounts of one currency, single-phase (posted) or two-phase (pending,
// then post_pending with an amount up to the pending one, or void_pending). Transfers are only
// ever appended. Transfers written in one database transaction are linked: they commit together
// or not at all.
//
// Stored balances. Each account's debits_pending, debits_posted, credits_pending and
// credits_posted are stored and changed in the same database transaction as the transfer that
// changes them, so reading a balance never sums transfers (`recomputeAccountBalance` still does,
// for verification; `verifyLedger` recomputes every account and reports any drift).
//
// Hot accounts: one merchant's `merchant_pending` and each channel's `channel_receivable` take
// every payment. One stored row per account would be locked by every payment's transaction until
// it commits, serialising all PostgreSQL writers behind it. So an account's balance is kept as
// sub-balances, `ledger_balance_shards (account_id, shard)`, and is the sum of its shards:
//   - An account without flags spreads its updates over LEDGER_BALANCE_SHARDS shards (default 8).
//     Each database transaction draws one shard number at random and uses it for every account
//     without flags it touches, so two concurrent transactions contend only when they drew the
//     same number, and then on all their rows at once rather than piecemeal. Resolving a pending
//     transfer (post or void) changes the shards the pending transfer reserved on, so each shard's
//     pending amounts are the sum of its own open pending transfers.
//   - An account with `debits_must_not_exceed_credits` always uses shard 0: the check needs one
//     serialised balance, and the row lock the update takes serialises concurrent debits of it.
//   - Each side is one statement (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`, SQLite 3.35+
//     and PostgreSQL), the two always in (account_id, shard) order: two transactions posting
//     between the same accounts lock in the same order and cannot deadlock on them. A
//     transaction with several transfers can still meet another in a different order; PostgreSQL
//     then aborts one with 40P01 and `db.transaction` retries it (src/store/postgres.ts).
//   - The shard count may change at any time (each process may use its own): balances are sums
//     over whatever shards exist. On SQLite (one writer) sharding costs only the extra rows summed
//     on read.
//   - Account flags are read from the account row (cached with the account's existence, as they
//     never change once the account exists).
//
// Balance history: every transfer row records, per side, the shard it changed (`debit_shard`,
// `credit_shard`) and that shard's four balances right after it (`debit_debits_pending_after` …
// `credit_credits_posted_after`). For an account with flags (one shard) that is the account's
// balance after the transfer; for a sharded account it is the shard's. Each shard's history is a
// strict sequence (its row lock serialises its updates), so an account's balance at a moment is
// the sum over its shards of each one's latest recorded value before it. Transfers written before
// balances were stored (the migration backfilled their totals into shard 0) have NULLs there.
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
  | "settlement_write_offs"
  /** The channel's currency conversions on settlement, one account per currency (owner: the channel):
   *  a converted line's gross goes in here in the gross currency, its net and fees come out in the net
   *  currency, so each currency balances on its own; the accounts together are the channel's FX
   *  position (what was converted at which rate), not a balance that nets to zero in one currency. */
  | "fx_conversion";

export const accountFlags = {
  none: 0,
  debits_must_not_exceed_credits: 1,
} as const;

/** The flags an account gets when the ledger creates it. */
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
  fx_conversion: accountFlags.none,
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
  | "settlement_adjustment" | "settlement_write_off" | "settlement_rounding"
  /** A converted settlement line's gross moved from the receivable into the channel's FX
   *  conversion account of the gross currency (its net and fees leave the net currency's FX account
   *  as `settlement` and `settlement_fee`). */
  | "settlement_conversion";

/** Shards for accounts without flags: LEDGER_BALANCE_SHARDS, default 8. */
export const balanceShardsMax = 64;
let balanceShards = parseBalanceShards(process.env.LEDGER_BALANCE_SHARDS);

function parseBalanceShards(text: string | undefined): number {
  if (text === undefined || text === "") return 8;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > balanceShardsMax) {
    throw new Error(`LEDGER_BALANCE_SHARDS must be an integer from 1 to ${balanceShardsMax}`);
  }
  return value;
}

/** Changes the shard count of this process (tests, benchmarks); existing shards keep counting. */
export function setBalanceShards(count: number): void {
  balanceShards = parseBalanceShards(String(count));
}

export function balanceShardCount(): number {
  return balanceShards;
}

/** Account flags known to be committed, per database (accounts are never deleted and their flags
 *  never change: this never goes stale). */
const committedAccountsByDatabase = new WeakMap<object, Map<string, number>>();
const committedAccountsMax = 100_000;
/** Accounts a transaction inserted itself, with their flags: not committed (nor visible to
 *  others) until it commits. */
const insertedByTransaction = new WeakMap<Tx, Map<string, number>>();
/** The shard number a transaction uses for every account without flags. */
const shardOfTransaction = new WeakMap<Tx, number>();

function committedAccounts(tx: Tx): Map<string, number> {
  let committed = committedAccountsByDatabase.get(tx.database);
  if (!committed) committedAccountsByDatabase.set(tx.database, (committed = new Map()));
  return committed;
}

function remember(committed: Map<string, number>, id: string, flags: number): void {
  if (committed.size < committedAccountsMax) committed.set(id, flags);
}

interface Account {
  id: string;
  flags: number;
}

async function ensureAccount(tx: Tx, ref: AccountRef, now_ms: number): Promise<Account> {
  const id = accountId(ref);
  const committed = committedAccounts(tx);
  const known = committed.get(id) ?? insertedByTransaction.get(tx)?.get(id);
  if (known !== undefined) return { id, flags: known };
  const flags = purposeFlags[ref.purpose];
  const inserted = await tx.run(
    "INSERT INTO ledger_accounts (id, owner, currency, purpose, flags, created_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    [id, ref.owner, ref.currency, ref.purpose, flags, now_ms],
  );
  // No conflict target: two transactions creating the same account at once may collide on either
  // unique index (id, or owner+currency+purpose), and both mean "it exists".
  if (inserted.changes === 1) {
    // Ours: it could still roll back with our transaction, so it is remembered as committed only
    // the next time another transaction sees it.
    const ours = insertedByTransaction.get(tx) ?? new Map<string, number>();
    insertedByTransaction.set(tx, ours.set(id, flags));
    return { id, flags };
  }
  // Created by an earlier, committed transaction: its flags are the row's, not the purpose's.
  return { id, flags: await committedFlags(tx, id, committed) };
}

async function committedFlags(tx: Tx, id: string, committed: Map<string, number>): Promise<number> {
  const row = await tx.get<{ flags: unknown }>("SELECT flags FROM ledger_accounts WHERE id = ?", [id]);
  if (!row) throw new Error(`ledger invariant broken: account ${id} does not exist`);
  const flags = Number(row.flags);
  remember(committed, id, flags);
  return flags;
}

function shardFor(tx: Tx, flags: number): number {
  if ((flags & accountFlags.debits_must_not_exceed_credits) !== 0) return 0;
  let shard = shardOfTransaction.get(tx);
  if (shard === undefined) {
    shard = balanceShards === 1 ? 0 : Math.floor(Math.random() * balanceShards);
    shardOfTransaction.set(tx, shard);
  }
  return shard;
}

export interface Balance {
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

/** A change of one shard of one account's balance. */
interface ShardChange extends Balance {
  account_id: string;
  shard: number;
}

// One statement per side. Amounts come back as text: SQLite hands out integers beyond 2^53 as
// inexact numbers otherwise.
const applySql = `
  INSERT INTO ledger_balance_shards (account_id, shard, debits_pending, debits_posted, credits_pending, credits_posted)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (account_id, shard) DO UPDATE SET
    debits_pending = ledger_balance_shards.debits_pending + excluded.debits_pending,
    debits_posted = ledger_balance_shards.debits_posted + excluded.debits_posted,
    credits_pending = ledger_balance_shards.credits_pending + excluded.credits_pending,
    credits_posted = ledger_balance_shards.credits_posted + excluded.credits_posted
  RETURNING CAST(debits_pending AS TEXT) AS debits_pending, CAST(debits_posted AS TEXT) AS debits_posted,
    CAST(credits_pending AS TEXT) AS credits_pending, CAST(credits_posted AS TEXT) AS credits_posted`;

async function applyChange(tx: Tx, change: ShardChange): Promise<Balance> {
  const row = await tx.get<Record<keyof Balance, string>>(applySql, [
    change.account_id, change.shard, change.debits_pending, change.debits_posted, change.credits_pending, change.credits_posted,
  ]);
  if (!row) throw new Error(`ledger invariant broken: no balance row returned for ${change.account_id}/${change.shard}`);
  return toBalance(row);
}

/** Applies both sides' changes, in (account_id, shard) order so that two transactions lock the
 *  same rows in the same order; returns each side's shard balance after them. */
async function applyChanges(tx: Tx, debit: ShardChange, credit: ShardChange): Promise<{ debit: Balance; credit: Balance }> {
  const debitFirst = debit.account_id < credit.account_id || (debit.account_id === credit.account_id && debit.shard <= credit.shard);
  if (debitFirst) {
    const debitAfter = await applyChange(tx, debit);
    return { debit: debitAfter, credit: await applyChange(tx, credit) };
  }
  const creditAfter = await applyChange(tx, credit);
  return { debit: await applyChange(tx, debit), credit: creditAfter };
}

function negate(change: ShardChange): ShardChange {
  return {
    account_id: change.account_id, shard: change.shard,
    debits_pending: -change.debits_pending, debits_posted: -change.debits_posted,
    credits_pending: -change.credits_pending, credits_posted: -change.credits_posted,
  };
}

function toBalance(row: Partial<Record<keyof Balance, unknown>> | undefined): Balance {
  return {
    debits_pending: toBigInt(row?.debits_pending),
    debits_posted: toBigInt(row?.debits_posted),
    credits_pending: toBigInt(row?.credits_pending),
    credits_posted: toBigInt(row?.credits_posted),
  };
}

function exceedsCredits(balance: Balance): boolean {
  return balance.debits_pending + balance.debits_posted > balance.credits_posted;
}

export type LedgerError =
  | "pending_not_found"
  | "pending_already_resolved"
  | "exceeds_pending_amount"
  | "exceeds_credits";

export type LedgerResult = { ok: true; transfer_id: string } | { ok: false; error: LedgerError };

interface NewTransfer {
  debit: AccountRef;
  credit: AccountRef;
  amount: bigint;
  code: TransferCode;
  ref: string;
}

const insertTransferSql = `
  INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, pending_id, pending_amount, code, ref, created_ms,
    debit_shard, debit_debits_pending_after, debit_debits_posted_after, debit_credits_pending_after, debit_credits_posted_after,
    credit_shard, credit_debits_pending_after, credit_debits_posted_after, credit_credits_pending_after, credit_credits_posted_after)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

interface TransferRow {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: bigint;
  currency: string;
  kind: "posted" | "pending" | "post_pending" | "void_pending";
  pending_id: string | null;
  pending_amount: bigint;
  code: TransferCode;
  ref: string;
}

async function writeTransfer(tx: Tx, row: TransferRow, debit: ShardChange, credit: ShardChange, after: { debit: Balance; credit: Balance }): Promise<void> {
  await tx.run(insertTransferSql, [
    row.id, row.debit_account_id, row.credit_account_id, row.amount, row.currency, row.kind, row.pending_id, row.pending_amount, row.code, row.ref, Date.now(),
    debit.shard, after.debit.debits_pending, after.debit.debits_posted, after.debit.credits_pending, after.debit.credits_posted,
    credit.shard, after.credit.debits_pending, after.credit.debits_posted, after.credit.credits_pending, after.credit.credits_posted,
  ]);
}

async function insertTransfer(tx: Tx, transfer: NewTransfer, kind: "posted" | "pending"): Promise<LedgerResult> {
  assert(transfer.amount > 0n, "transfer amounts are positive");
  assert(transfer.debit.currency === transfer.credit.currency, "a transfer moves one currency");
  const now_ms = Date.now();
  const debitAccount = await ensureAccount(tx, transfer.debit, now_ms);
  const creditAccount = await ensureAccount(tx, transfer.credit, now_ms);
  const pending = kind === "pending" ? transfer.amount : 0n;
  const posted = kind === "posted" ? transfer.amount : 0n;
  const debit: ShardChange = {
    account_id: debitAccount.id, shard: shardFor(tx, debitAccount.flags),
    debits_pending: pending, debits_posted: posted, credits_pending: 0n, credits_posted: 0n,
  };
  const credit: ShardChange = {
    account_id: creditAccount.id, shard: shardFor(tx, creditAccount.flags),
    debits_pending: 0n, debits_posted: 0n, credits_pending: pending, credits_posted: posted,
  };
  const after = await applyChanges(tx, debit, credit);
  if ((debitAccount.flags & accountFlags.debits_must_not_exceed_credits) !== 0 && exceedsCredits(after.debit)) {
    // Shard 0 is the whole balance of a flagged account. The change is taken back, so nothing is
    // left behind even by a caller that does not roll back (callers should: the error means the
    // transfers they linked must not commit either).
    await applyChanges(tx, negate(debit), negate(credit));
    return { ok: false, error: "exceeds_credits" };
  }
  const id = newId("tr");
  await writeTransfer(tx, {
    id, debit_account_id: debitAccount.id, credit_account_id: creditAccount.id, amount: transfer.amount, currency: transfer.debit.currency,
    kind, pending_id: null, pending_amount: 0n, code: transfer.code, ref: transfer.ref,
  }, debit, credit, after);
  return { ok: true, transfer_id: id };
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
  debit_shard: unknown;
  credit_shard: unknown;
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
    `SELECT id, debit_account_id, credit_account_id, amount, currency, kind, debit_shard, credit_shard FROM ledger_transfers WHERE id = ? ${tx.forUpdate}`,
    [pending_id],
  );
  if (!pending || pending.kind !== "pending") return { ok: false, error: "pending_not_found" };
  const resolved = await tx.get("SELECT id FROM ledger_transfers WHERE pending_id = ?", [pending_id]);
  if (resolved) return { ok: false, error: "pending_already_resolved" };
  const pending_amount = toBigInt(pending.amount);
  const posted_amount = kind === "void_pending" ? 0n : (amount ?? pending_amount);
  if (posted_amount > pending_amount) return { ok: false, error: "exceeds_pending_amount" };
  assert(kind === "void_pending" || posted_amount > 0n, "a post moves a positive amount");
  // Released where it was reserved: the pending transfer's shards (0 for one written before
  // balances were stored: the migration put everything there; always 0 for a flagged account).
  // Debits only go down, so no flag can be broken here.
  const debit: ShardChange = {
    account_id: pending.debit_account_id, shard: pending.debit_shard == null ? 0 : Number(pending.debit_shard),
    debits_pending: -pending_amount, debits_posted: posted_amount, credits_pending: 0n, credits_posted: 0n,
  };
  const credit: ShardChange = {
    account_id: pending.credit_account_id, shard: pending.credit_shard == null ? 0 : Number(pending.credit_shard),
    debits_pending: 0n, debits_posted: 0n, credits_pending: -pending_amount, credits_posted: posted_amount,
  };
  const after = await applyChanges(tx, debit, credit);
  const id = newId("tr");
  await writeTransfer(tx, {
    id, debit_account_id: pending.debit_account_id, credit_account_id: pending.credit_account_id, amount: posted_amount, currency: pending.currency,
    kind, pending_id, pending_amount, code, ref,
  }, debit, credit, after);
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

const storedBalanceSql = `
  SELECT CAST(COALESCE(SUM(debits_pending), 0) AS TEXT) AS debits_pending, CAST(COALESCE(SUM(debits_posted), 0) AS TEXT) AS debits_posted,
    CAST(COALESCE(SUM(credits_pending), 0) AS TEXT) AS credits_pending, CAST(COALESCE(SUM(credits_posted), 0) AS TEXT) AS credits_posted
  FROM ledger_balance_shards WHERE account_id = ?`;

/** An account's stored balance: the sum of its shards (one statement, so one consistent read). */
export async function accountBalance(db: Queryable, account_id: string): Promise<Balance> {
  return toBalance(await db.get<Record<keyof Balance, string>>(storedBalanceSql, [account_id]));
}

const recomputeSql = `
  SELECT
    CAST(COALESCE(SUM(CASE WHEN debit_account_id = ? AND kind IN ('posted', 'post_pending') THEN amount ELSE 0 END), 0) AS TEXT) AS debits_posted,
    CAST(COALESCE(SUM(CASE WHEN credit_account_id = ? AND kind IN ('posted', 'post_pending') THEN amount ELSE 0 END), 0) AS TEXT) AS credits_posted,
    CAST(COALESCE(SUM(CASE WHEN debit_account_id = ? AND kind = 'pending' THEN amount
                           WHEN debit_account_id = ? AND kind IN ('post_pending', 'void_pending') THEN -pending_amount ELSE 0 END), 0) AS TEXT) AS debits_pending,
    CAST(COALESCE(SUM(CASE WHEN credit_account_id = ? AND kind = 'pending' THEN amount
                           WHEN credit_account_id = ? AND kind IN ('post_pending', 'void_pending') THEN -pending_amount ELSE 0 END), 0) AS TEXT) AS credits_pending
  FROM ledger_transfers WHERE debit_account_id = ? OR credit_account_id = ?`;

/** An account's balance summed over all its transfers (verification: it must equal the stored one). */
export async function recomputeAccountBalance(db: Queryable, account_id: string): Promise<Balance> {
  return toBalance(await db.get<Record<keyof Balance, string>>(recomputeSql, Array(8).fill(account_id)));
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
  /** Stored balances compared with balances recomputed from the transfers. */
  balances: { accounts_checked: number; drifted: number };
}

/** Drift reports listed one by one; `balances.drifted` counts them all. */
const driftViolationsMax = 20;
const balanceFields = ["debits_pending", "debits_posted", "credits_pending", "credits_posted"] as const;

// One read of everything the balance checks compare (one statement: one snapshot on both
// backends, while transfers keep coming): one GROUP BY pass over the transfers per side, and
// one over the stored shards. Columns a–d: for side 'd'/'c' the posted and pending amounts of that
// side; for 's' the four stored sums; `outside` counts non-zero shards other than 0.
const balanceSnapshotSql = `
  SELECT 'd' AS side, debit_account_id AS account_id,
    CAST(SUM(CASE WHEN kind IN ('posted', 'post_pending') THEN amount ELSE 0 END) AS TEXT) AS a,
    CAST(SUM(CASE WHEN kind = 'pending' THEN amount WHEN kind IN ('post_pending', 'void_pending') THEN -pending_amount ELSE 0 END) AS TEXT) AS b,
    NULL AS c, NULL AS d, 0 AS outside
  FROM ledger_transfers GROUP BY debit_account_id
  UNION ALL
  SELECT 'c' AS side, credit_account_id AS account_id,
    CAST(SUM(CASE WHEN kind IN ('posted', 'post_pending') THEN amount ELSE 0 END) AS TEXT) AS a,
    CAST(SUM(CASE WHEN kind = 'pending' THEN amount WHEN kind IN ('post_pending', 'void_pending') THEN -pending_amount ELSE 0 END) AS TEXT) AS b,
    NULL AS c, NULL AS d, 0 AS outside
  FROM ledger_transfers GROUP BY credit_account_id
  UNION ALL
  SELECT 's' AS side, account_id,
    CAST(SUM(debits_posted) AS TEXT) AS a, CAST(SUM(debits_pending) AS TEXT) AS b,
    CAST(SUM(credits_posted) AS TEXT) AS c, CAST(SUM(credits_pending) AS TEXT) AS d,
    SUM(CASE WHEN shard <> 0 AND (debits_pending <> 0 OR debits_posted <> 0 OR credits_pending <> 0 OR credits_posted <> 0) THEN 1 ELSE 0 END) AS outside
  FROM ledger_balance_shards GROUP BY account_id`;

interface SnapshotRow {
  side: "d" | "c" | "s";
  account_id: string;
  a: string | null;
  b: string | null;
  c: string | null;
  d: string | null;
  outside: unknown;
}

const zero = (): Balance => ({ debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n });

/**
 * The trial balance: per currency, total debits equal total credits (posted and pending), the
 * structural invariants hold for every transfer, every stored balance equals the one recomputed
 * from the transfers, and no flagged account is overdrawn. Amounts are strings (exact 64-bit
 * integers).
 */
export async function verifyLedger(db: Queryable): Promise<TrialBalance> {
  const snapshot = await db.all<SnapshotRow>(balanceSnapshotSql);
  // After the snapshot: every account it names is committed, so it is in this list.
  const accounts = await db.all<{ id: string; currency: string; flags: unknown }>("SELECT id, currency, flags FROM ledger_accounts ORDER BY id");
  const recomputed = new Map<string, Balance>();
  const stored = new Map<string, Balance>();
  const outsideShard0 = new Set<string>();
  for (const row of snapshot) {
    if (row.side === "s") {
      stored.set(row.account_id, { debits_posted: toBigInt(row.a), debits_pending: toBigInt(row.b), credits_posted: toBigInt(row.c), credits_pending: toBigInt(row.d) });
      if (Number(row.outside) > 0) outsideShard0.add(row.account_id);
      continue;
    }
    const balance = recomputed.get(row.account_id) ?? zero();
    if (row.side === "d") {
      balance.debits_posted = toBigInt(row.a);
      balance.debits_pending = toBigInt(row.b);
    } else {
      balance.credits_posted = toBigInt(row.a);
      balance.credits_pending = toBigInt(row.b);
    }
    recomputed.set(row.account_id, balance);
  }

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

  // Per currency totals, from the transfers (the stored balances are checked against them below).
  const totals = new Map<string, Balance>();
  let drifted = 0;
  let overdrawn = 0;
  const known = new Set<string>();
  for (const account of accounts) {
    known.add(account.id);
    const fromTransfers = recomputed.get(account.id);
    if (fromTransfers) {
      const total = totals.get(account.currency) ?? zero();
      for (const field of balanceFields) total[field] += fromTransfers[field];
      totals.set(account.currency, total);
    }
    const want = fromTransfers ?? zero();
    const have = stored.get(account.id) ?? zero();
    const differing = balanceFields.filter((field) => have[field] !== want[field]);
    if (differing.length > 0) {
      drifted++;
      if (drifted <= driftViolationsMax) {
        for (const field of differing) violations.push(`account ${account.id} stored ${field} ${have[field]} != recomputed ${want[field]}`);
      }
    }
    if ((Number(account.flags) & accountFlags.debits_must_not_exceed_credits) !== 0) {
      if (exceedsCredits(have) && ++overdrawn <= 10) violations.push(`account ${account.id} has debits exceeding credits`);
      if (outsideShard0.has(account.id)) violations.push(`account ${account.id} has flags but a balance outside shard 0`);
    }
  }
  if (drifted > driftViolationsMax) violations.push(`… and ${drifted - driftViolationsMax} more accounts whose stored balance drifted`);
  for (const id of new Set([...recomputed.keys(), ...stored.keys()])) {
    if (!known.has(id)) violations.push(`account ${id} has a balance but no account row`);
  }

  const currencies = [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, total]) => ({
      currency,
      debits: total.debits_posted.toString(),
      credits: total.credits_posted.toString(),
      pending_debits: total.debits_pending.toString(),
      pending_credits: total.credits_pending.toString(),
    }));
  const balanced =
    violations.length === 0 &&
    currencies.every((row) => row.debits === row.credits && row.pending_debits === row.pending_credits);
  return { balanced, currencies, violations, balances: { accounts_checked: accounts.length, drifted } };
}
