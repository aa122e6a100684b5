// Reusable virtual accounts for a customer: an Indonesian VA number (bank prefix + merchant + digits
// of the account's id) or a Mexican CLABE (valid check digit), with an open amount (any amount) or a
// closed one (only that amount), single or multi use, with or without an expiry. Created, listed,
// read and deactivated by the merchant; opened at the bank as a collection whose reference is the
// account's id. Transfers into it are applied by virtual-accounts-apply.ts; this module's janitor
// pass asks the bank about accounts whose notifications may have been lost, re-opens accounts whose
// opening answer was lost, and expires accounts past their time (after asking the bank).
import type { CollectionConnector } from "../../channels/contract.ts";
import { invalid, notFound, ok, unexpectedState, type Result } from "../../errors.ts";
import { newId } from "../../ids.ts";
import { assert, limits } from "../../limits.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import type { Queryable, Tx } from "../../store/db.ts";
import { listPage } from "../../store/page.ts";
import { clabeBankCodes, clabeForPayment } from "./clabe.ts";
import { makeVirtualAccount, vaBankPrefixes } from "./va.ts";
import { inquireAndApply } from "./virtual-accounts-apply.ts";
import {
  closeVirtualAccount, emitVirtualAccount, loadVirtualAccount, lockVirtualAccount, nextInquiryMs, saveVirtualAccount, virtualAccountFromRow,
  virtualAccountView, type AmountType, type VirtualAccountKind, type VirtualAccountRecord, type VirtualAccountStatus, type VirtualAccountUsage,
  type VirtualAccountView,
} from "./virtual-accounts-model.ts";

export interface CreateVirtualAccountInput {
  country: string;
  bank?: string;
  customer: string;
  amount_type?: AmountType;
  amount?: number;
  usage?: VirtualAccountUsage;
  /** Seconds until the account stops taking money (default: none for multi use, 24 h for single use). */
  expires_in?: number;
  metadata?: Record<string, string>;
}

interface CountryRule {
  kind: VirtualAccountKind;
  currency: string;
  banks: readonly string[];
  default_bank: string;
}

export const virtualAccountCountries: Readonly<Record<string, CountryRule>> = {
  ID: { kind: "id_virtual_account", currency: "IDR", banks: Object.keys(vaBankPrefixes), default_bank: "bca" },
  MX: { kind: "mx_clabe", currency: "MXN", banks: Object.keys(clabeBankCodes), default_bank: "stp" },
};

export const single_use_expiry_default_s = 24 * 3600;
/** Account numbers tried (derived from the id, then from the id and a counter) before giving up. */
const account_number_tries_max = 8;

interface CheckedInput {
  rule: CountryRule;
  country: string;
  bank: string;
  amount_type: AmountType;
  amount: number | null;
  usage: VirtualAccountUsage;
  expires_in_s: number | null;
  connector: CollectionConnector;
}

/** Every check, before anything is written: one named failure each. */
function checkInput(ctx: PaymentsContext, input: CreateVirtualAccountInput): Result<CheckedInput> {
  const country = input.country.toUpperCase();
  const rule = virtualAccountCountries[country];
  if (!rule) return invalid("country", "country_unsupported", `Virtual accounts are issued in ${Object.keys(virtualAccountCountries).join(", ")}, not '${input.country}'.`);
  const bank = (input.bank ?? rule.default_bank).toLowerCase();
  if (!rule.banks.includes(bank)) return invalid("bank", "bank_unsupported", `Banks for ${country}: ${rule.banks.join(", ")}.`);
  if (!input.customer.trim()) return invalid("customer", "parameter_missing", "A virtual account belongs to a customer: send customer.");
  const amount_type = input.amount_type ?? "open";
  if (amount_type === "closed" && input.amount === undefined) {
    return invalid("amount", "parameter_missing", "A closed-amount virtual account takes only one amount: send amount (integer, minor units).");
  }
  if (amount_type === "open" && input.amount !== undefined) {
    return invalid("amount", "parameter_unknown", "An open-amount virtual account takes any amount: amount applies to amount_type closed only.");
  }
  const usage = input.usage ?? "multi_use";
  const connector = ctx.collections?.forCountry(country);
  if (!connector) return invalid("country", "no_eligible_channel", `No configured channel collects bank transfers in ${country}.`);
  const expires_in_s = input.expires_in ?? (usage === "single_use" ? single_use_expiry_default_s : null);
  return ok({ rule, country, bank, amount_type, amount: input.amount ?? null, usage, expires_in_s, connector });
}

function accountNumberFor(kind: VirtualAccountKind, bank: string, merchant_id: string, seed: string): string {
  return kind === "mx_clabe" ? clabeForPayment(bank, seed) : makeVirtualAccount(bank, merchant_id, seed);
}

/** The account number derived from the id, or (if taken) from the id and the first free counter. */
async function freeAccountNumber(tx: Tx, va: VirtualAccountRecord): Promise<string> {
  for (let attempt = 0; attempt < account_number_tries_max; attempt++) {
    const candidate = accountNumberFor(va.kind, va.bank, va.merchant_id, attempt === 0 ? va.id : `${va.id}:${attempt}`);
    const taken = await tx.get("SELECT id FROM virtual_accounts WHERE account = ?", [candidate]);
    if (!taken) return candidate;
  }
  throw new Error(`programmer error: no free account number for ${va.id} after ${account_number_tries_max} tries`);
}

export async function createVirtualAccount(ctx: PaymentsContext, merchant_id: string, input: CreateVirtualAccountInput): Promise<Result<VirtualAccountView>> {
  const checked = checkInput(ctx, input);
  if (!checked.ok) return checked;
  const { rule, country, bank, amount_type, amount, usage, expires_in_s, connector } = checked.value;
  const now = Date.now();
  const va: VirtualAccountRecord = {
    id: newId("va"), merchant_id, country, kind: rule.kind, bank, account: "", currency: rule.currency, customer: input.customer,
    amount_type, amount, usage, status: "active", status_reason: null, channel: connector.name, bank_state: "pending", channel_reference: null,
    expires_ms: expires_in_s === null ? null : now + expires_in_s * 1000, payments_count: 0, metadata: input.metadata ?? {},
    next_inquiry_ms: null, quiet_inquiries: 0, closed_ms: null, created_ms: now,
  };
  // Safety net: should this process die before the bank's answer is recorded, the janitor opens it again.
  va.next_inquiry_ms = nextInquiryMs(va, ctx.settings, now);
  await ctx.db.transaction(async (tx) => {
    va.account = await freeAccountNumber(tx, va);
    await tx.run(
      `INSERT INTO virtual_accounts (id, merchant_id, country, kind, bank, account, currency, customer, amount_type, amount, usage, status,
         status_reason, channel, bank_state, channel_reference, expires_ms, payments_count, metadata, next_inquiry_ms, quiet_inquiries,
         closed_ms, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', NULL, ?, 'pending', NULL, ?, 0, ?, ?, 0, NULL, ?, ?)`,
      [va.id, merchant_id, country, va.kind, bank, va.account, va.currency, va.customer, amount_type, amount, usage, va.channel,
        va.expires_ms, JSON.stringify(va.metadata), va.next_inquiry_ms, now, now],
    );
    await emitVirtualAccount(tx, va, "virtual_account.created");
  });
  await openAtBank(ctx, connector, va.id);
  const opened = await loadVirtualAccount(ctx.db, merchant_id, va.id);
  assert(opened, `virtual account ${va.id} was written`);
  return ok(virtualAccountView(opened));
}

/** Opens (or re-opens: idempotent by our id) the account's collection at the bank and records the answer. */
async function openAtBank(ctx: PaymentsContext, connector: CollectionConnector, id: string): Promise<void> {
  const row = await ctx.db.get<Record<string, unknown>>("SELECT * FROM virtual_accounts WHERE id = ?", [id]);
  assert(row, `virtual account ${id} exists`);
  const va = virtualAccountFromRow(row);
  const outcome = await connector.openCollection({
    reference: va.id, kind: va.kind, account: va.account, bank: va.bank, amount: va.amount, currency: va.currency,
    expires_at_ms: va.expires_ms, usage: va.usage,
  });
  await ctx.db.transaction(async (tx) => {
    const locked = await lockVirtualAccount(tx, id);
    if (locked.bank_state !== "pending") return; // recorded already (a janitor's re-open)
    const now = Date.now();
    switch (outcome.kind) {
      case "opened":
        locked.bank_state = "opened";
        locked.channel_reference = outcome.channel_reference;
        break;
      case "error":
        locked.bank_state = "failed";
        if (locked.status === "active") await closeVirtualAccount(tx, locked, "inactive", "bank_refused", now);
        break;
      case "unknown":
        break; // still pending: the janitor opens it again
    }
    locked.next_inquiry_ms = nextInquiryMs(locked, ctx.settings, now);
    await saveVirtualAccount(tx, locked);
  });
}

export async function getVirtualAccount(db: Queryable, merchant_id: string, id: string): Promise<Result<VirtualAccountView>> {
  const va = await loadVirtualAccount(db, merchant_id, id);
  return va ? ok(virtualAccountView(va)) : notFound("virtual account", id);
}

export async function listVirtualAccounts(
  db: Queryable, merchant_id: string, page: { limit: number; starting_after?: string; customer?: string; status?: VirtualAccountStatus },
): Promise<{ data: VirtualAccountView[]; has_more: boolean }> {
  assert(page.limit >= 1 && page.limit <= limits.list_page_size_max, "a page is bounded");
  const { rows, has_more } = await listPage(db, "virtual_accounts", { merchant_id, customer: page.customer, status: page.status }, page);
  return { data: rows.map((row) => virtualAccountView(virtualAccountFromRow(row))), has_more };
}

/**
 * The merchant stops the account: later transfers are paid back. The bank is asked first, so a
 * transfer made before (whose notification is late or lost) is still taken.
 */
export async function deactivateVirtualAccount(ctx: PaymentsContext, merchant_id: string, id: string): Promise<Result<VirtualAccountView>> {
  const found = await loadVirtualAccount(ctx.db, merchant_id, id);
  if (!found) return notFound("virtual account", id);
  if (found.status !== "active") return unexpectedState("virtual_account", found.status, "deactivate");
  const connector = ctx.collections?.get(found.channel);
  if (connector && found.bank_state === "opened") await inquireAndApply(ctx, connector, id); // unreachable: deactivated all the same
  return ctx.db.transaction(async (tx) => {
    const va = await lockVirtualAccount(tx, id);
    if (va.status !== "active") return unexpectedState("virtual_account", va.status, "deactivate");
    const now = Date.now();
    await closeVirtualAccount(tx, va, "inactive", "deactivated", now);
    va.next_inquiry_ms = nextInquiryMs(va, ctx.settings, now);
    await saveVirtualAccount(tx, va);
    return ok(virtualAccountView(va));
  });
}

/**
 * Janitor (bounded batch): accounts due for an inquiry (lost notifications, a lost opening answer:
 * opened again first) and active accounts past their expiry (asked first, then expired).
 */
export async function virtualAccountJanitorTick(ctx: PaymentsContext): Promise<number> {
  if (!ctx.collections) return 0;
  const now = Date.now();
  type Due = { id: string; channel: string; bank_state: string };
  const due = await ctx.db.all<Due>(
    "SELECT id, channel, bank_state FROM virtual_accounts WHERE next_inquiry_ms IS NOT NULL AND next_inquiry_ms <= ? ORDER BY next_inquiry_ms LIMIT ?",
    [now, limits.janitor_batch_max],
  );
  const expiring = await ctx.db.all<Due>(
    "SELECT id, channel, bank_state FROM virtual_accounts WHERE status = 'active' AND expires_ms IS NOT NULL AND expires_ms <= ? ORDER BY expires_ms LIMIT ?",
    [now, limits.janitor_batch_max],
  );
  const rows = [...new Map([...expiring, ...due].map((row) => [row.id, row])).values()].slice(0, limits.janitor_batch_max);
  let handled = 0;
  for (const row of rows) {
    const connector = ctx.collections.get(row.channel);
    if (!connector) continue;
    if (row.bank_state === "pending") await openAtBank(ctx, connector, row.id);
    if (await inquireAndApply(ctx, connector, row.id)) {
      handled++;
      continue;
    }
    // Unreachable: asked again after the usual delay, never assumed empty.
    await ctx.db.transaction((tx) =>
      tx.run("UPDATE virtual_accounts SET next_inquiry_ms = ? WHERE id = ?", [Date.now() + ctx.settings.unknown_inquiry_delay_ms, row.id]),
    );
  }
  return handled;
}
