// Reusable virtual accounts: the record, how it is read, locked, saved and shown, and when the
// janitor asks the bank about it again. A virtual account (an Indonesian VA number or a Mexican
// CLABE) belongs to one customer of one merchant; every transfer into it becomes a payment.
import { recordEvent, type EventType } from "../../events/outbox.ts";
import { assert } from "../../limits.ts";
import type { PaymentSettings } from "../../payments/context.ts";
import { toSafeNumber, type Queryable, type Tx } from "../../store/db.ts";

export type VirtualAccountStatus = "active" | "inactive" | "expired";
export type VirtualAccountKind = "id_virtual_account" | "mx_clabe";
export type AmountType = "open" | "closed";
export type VirtualAccountUsage = "multi_use" | "single_use";
/** pending: persisted, the bank being asked to open it (again); opened; failed: the bank refused. */
export type BankState = "pending" | "opened" | "failed";
/** Why a virtual account no longer takes money. */
export type StatusReason = "deactivated" | "used" | "expired" | "bank_refused";

export interface VirtualAccountRecord {
  id: string;
  merchant_id: string;
  country: string;
  kind: VirtualAccountKind;
  bank: string;
  /** The VA number or the CLABE. */
  account: string;
  currency: string;
  customer: string;
  amount_type: AmountType;
  /** Closed amount only: the one amount accepted. */
  amount: number | null;
  usage: VirtualAccountUsage;
  status: VirtualAccountStatus;
  status_reason: StatusReason | null;
  channel: string;
  bank_state: BankState;
  channel_reference: string | null;
  expires_ms: number | null;
  /** Succeeded payments made into it (refused transfers are not counted). */
  payments_count: number;
  metadata: Record<string, string>;
  next_inquiry_ms: number | null;
  /** Inquiries in a row that found nothing new (the backoff of the next one). */
  quiet_inquiries: number;
  closed_ms: number | null;
  created_ms: number;
}

/** The longest wait between two inquiries of a virtual account (notifications may be lost). */
export const inquiry_interval_max_ms = 10 * 60_000;
/** A closed virtual account is still asked about this long (transfers into it are paid back). */
export const closed_inquiry_window_ms = 24 * 3600_000;
/** The backoff stops growing here (quiet_inquiries is kept at most at this). */
export const backoff_exponent_max = 20;

type Raw = Record<string, unknown>;

const optionalNumber = (value: unknown): number | null => (value === null || value === undefined ? null : toSafeNumber(value));

export function virtualAccountFromRow(row: Raw): VirtualAccountRecord {
  return {
    id: row.id as string,
    merchant_id: row.merchant_id as string,
    country: row.country as string,
    kind: row.kind as VirtualAccountKind,
    bank: row.bank as string,
    account: row.account as string,
    currency: row.currency as string,
    customer: row.customer as string,
    amount_type: row.amount_type as AmountType,
    amount: optionalNumber(row.amount),
    usage: row.usage as VirtualAccountUsage,
    status: row.status as VirtualAccountStatus,
    status_reason: (row.status_reason as StatusReason | null) ?? null,
    channel: row.channel as string,
    bank_state: row.bank_state as BankState,
    channel_reference: (row.channel_reference as string | null) ?? null,
    expires_ms: optionalNumber(row.expires_ms),
    payments_count: toSafeNumber(row.payments_count),
    metadata: typeof row.metadata === "string" && row.metadata ? (JSON.parse(row.metadata) as Record<string, string>) : {},
    next_inquiry_ms: optionalNumber(row.next_inquiry_ms),
    quiet_inquiries: toSafeNumber(row.quiet_inquiries),
    closed_ms: optionalNumber(row.closed_ms),
    created_ms: toSafeNumber(row.created_ms),
  };
}

export function virtualAccountView(va: VirtualAccountRecord) {
  const seconds = (ms: number) => Math.floor(ms / 1000);
  return {
    id: va.id,
    object: "virtual_account",
    country: va.country,
    bank: va.bank,
    ...(va.kind === "mx_clabe" ? { clabe: va.account } : { account_number: va.account }),
    currency: va.currency.toLowerCase(),
    customer: va.customer,
    amount_type: va.amount_type,
    amount: va.amount,
    usage: va.usage,
    status: va.status,
    status_reason: va.status_reason,
    expires_at: va.expires_ms === null ? null : seconds(va.expires_ms),
    payments_count: va.payments_count,
    metadata: va.metadata,
    livemode: false,
    created: seconds(va.created_ms),
  };
}

export type VirtualAccountView = ReturnType<typeof virtualAccountView>;

export async function loadVirtualAccount(db: Queryable, merchant_id: string, id: string): Promise<VirtualAccountRecord | undefined> {
  const row = await db.get<Raw>("SELECT * FROM virtual_accounts WHERE id = ? AND merchant_id = ?", [id, merchant_id]);
  return row ? virtualAccountFromRow(row) : undefined;
}

/** Reads and row-locks a virtual account inside a transaction (PostgreSQL: FOR UPDATE). */
export async function lockVirtualAccount(tx: Tx, id: string): Promise<VirtualAccountRecord> {
  const row = await tx.get<Raw>(`SELECT * FROM virtual_accounts WHERE id = ? ${tx.forUpdate}`, [id]);
  assert(row, `virtual account ${id} exists`);
  return virtualAccountFromRow(row);
}

/** Writes the mutable columns of a locked virtual account. */
export async function saveVirtualAccount(tx: Tx, va: VirtualAccountRecord): Promise<void> {
  assert(va.payments_count >= 0, "payments_count is never negative");
  assert((va.status === "active") === (va.status_reason === null), "only a closed virtual account has a status reason");
  await tx.run(
    `UPDATE virtual_accounts SET status = ?, status_reason = ?, bank_state = ?, channel_reference = ?, payments_count = ?,
       next_inquiry_ms = ?, quiet_inquiries = ?, closed_ms = ?, updated_ms = ? WHERE id = ?`,
    [va.status, va.status_reason, va.bank_state, va.channel_reference, va.payments_count, va.next_inquiry_ms, va.quiet_inquiries,
      va.closed_ms, Date.now(), va.id],
  );
}

export async function emitVirtualAccount(tx: Tx, va: VirtualAccountRecord, type: EventType): Promise<void> {
  await recordEvent(tx, { merchant_id: va.merchant_id, type, object_id: va.id, object: virtualAccountView(va) });
}

/** An active virtual account stops taking money (later transfers are paid back). */
export async function closeVirtualAccount(tx: Tx, va: VirtualAccountRecord, status: "inactive" | "expired", reason: StatusReason, now_ms: number): Promise<void> {
  assert(va.status === "active", `virtual account ${va.id} is closed once`);
  va.status = status;
  va.status_reason = reason;
  va.closed_ms = now_ms;
  await emitVirtualAccount(tx, va, "virtual_account.updated");
}

/**
 * When the janitor asks the bank next: soon after a lost opening answer; for an open account, with
 * a backoff from the usual inquiry delay to `inquiry_interval_max_ms` while nothing new arrives
 * (reset by every new transfer); a closed one for a day more; never after the bank refused it.
 */
export function nextInquiryMs(va: VirtualAccountRecord, settings: PaymentSettings, now_ms: number): number | null {
  if (va.bank_state === "pending") return now_ms + settings.channel_timeout_ms + settings.unknown_inquiry_delay_ms;
  if (va.bank_state === "failed") return null;
  if (va.status !== "active" && va.closed_ms !== null && now_ms - va.closed_ms > closed_inquiry_window_ms) return null;
  const delay = settings.unknown_inquiry_delay_ms * 2 ** Math.min(va.quiet_inquiries, backoff_exponent_max);
  return now_ms + Math.min(delay, inquiry_interval_max_ms);
}
