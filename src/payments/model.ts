// The payment and attempt records, how they are read, and how they look over the API.
import { toSafeNumber, type Queryable, type Tx } from "../store/db.ts";

export const paymentStatuses = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "requires_capture",
  "succeeded",
  "canceled",
  "failed",
] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

/** pending: persisted, channel being called. unknown: the call may have moved money; the janitor asks. */
export type AttemptStatus =
  | "pending"
  | "requires_action"
  | "authorized"
  | "captured"
  | "declined"
  | "failed"
  | "unknown"
  | "voided"
  | "expired"
  /** Approved at the channel after the merchant gave up on it: being voided or refunded there. */
  | "reversing"
  | "reversed";

export interface LastError {
  /** bank_error: the bank refused or returned a direct debit (the code is its reason code).
   *  wallet_error: the e-wallet or its customer refused the payment. */
  type: "card_error" | "api_error" | "bank_error" | "wallet_error" | "bnpl_error";
  code: string;
  decline_code?: string;
  message: string;
  attempt: string;
}

export type NextAction =
  | { type: "redirect_to_url"; redirect_to_url: { url: string; return_url: string | null } }
  | { type: "display_bank_transfer_instructions"; display_bank_transfer_instructions: BankTransferInstructions }
  /** Wallets paid by scanning: the payload to render as a QR code, and until when it can be paid. */
  | { type: "display_qr_code"; display_qr_code: { data: string; expires_at: number } };

/** What the customer needs to pay a bank transfer (see src/methods/bank-transfer). */
export interface BankTransferInstructions {
  type: "id_virtual_account" | "mx_clabe" | "br_pix";
  country: string;
  bank: string;
  account_number?: string;
  clabe?: string;
  pix_copy_paste?: string;
  txid?: string;
  amount: number;
  currency: string;
  /** Unix seconds. */
  expires_at: number;
}

export type AmountMismatchPolicy = "reject" | "accept_partial" | "accept_and_refund_excess";

/** The bank-transfer columns of a payment (absent for cards). */
export interface BankTransferFields {
  instructions: BankTransferInstructions;
  amount_mismatch_policy: AmountMismatchPolicy;
  expires_ms: number;
  amount_refund_due: number;
  /** The reusable virtual account the transfer was made into (va_...), or null for a payment's own instructions. */
  virtual_account?: string | null;
}

export interface PaymentRecord {
  id: string;
  merchant_id: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  capture_method: "automatic" | "manual";
  amount_capturable: number;
  amount_received: number;
  amount_refunded: number;
  card_id: string | null;
  channel: string | null;
  customer: string | null;
  description: string | null;
  metadata: Record<string, string>;
  last_error: LastError | null;
  next_action: NextAction | null;
  return_url: string | null;
  cancel_requested: boolean;
  cancellation_reason: string | null;
  created_ms: number;
  /** "card", "bank_transfer", or null for payments made before methods were recorded. */
  method_type?: string | null;
  bank_transfer?: BankTransferFields;
  /** Currently debited for open or lost disputes (written only by disputes). */
  amount_disputed?: number;
  /**
   * What a wallet, BNPL or direct-debit payment shows of its method (the provider, the installment
   * plan, the masked account); written by the family in src/methods/, shown as
   * `payment_method_details[method_type]`.
   */
  method_details?: Record<string, unknown> | null;
  /** When an open payment of an asynchronous family expires (bank transfers keep theirs in bank_transfer). */
  expires_ms?: number | null;
  /** Direct debit: the mandate the payment is collected under. */
  mandate_id?: string | null;
}

export interface AttemptRecord {
  id: string;
  payment_id: string;
  channel: string;
  status: AttemptStatus;
  amount: number;
  currency: string;
  capture: boolean;
  channel_reference: string | null;
  decline_code: string | null;
  decline_category: string | null;
  raw_code: string | null;
  network_response_code: string | null;
  latency_ms: number | null;
  routing_reason: string;
  routing_strategy: string | null;
  routing_scores: Record<string, unknown> | null;
  inquiries: number;
  created_ms: number;
}

export interface CardDetails {
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  bin_country: string | null;
  fingerprint: string;
}

type Raw = Record<string, unknown>;

function parseJson<T>(value: unknown): T | null {
  return typeof value === "string" && value.length > 0 ? (JSON.parse(value) as T) : null;
}

export function paymentFromRow(row: Raw): PaymentRecord {
  return {
    id: row.id as string,
    merchant_id: row.merchant_id as string,
    status: row.status as PaymentStatus,
    amount: toSafeNumber(row.amount),
    currency: row.currency as string,
    capture_method: row.capture_method as "automatic" | "manual",
    amount_capturable: toSafeNumber(row.amount_capturable),
    amount_received: toSafeNumber(row.amount_received),
    amount_refunded: toSafeNumber(row.amount_refunded),
    card_id: (row.card_id as string | null) ?? null,
    channel: (row.channel as string | null) ?? null,
    customer: (row.customer as string | null) ?? null,
    description: (row.description as string | null) ?? null,
    metadata: parseJson<Record<string, string>>(row.metadata) ?? {},
    last_error: parseJson<LastError>(row.last_error),
    next_action: parseJson<NextAction>(row.next_action),
    return_url: (row.return_url as string | null) ?? null,
    cancel_requested: Number(row.cancel_requested) === 1,
    cancellation_reason: (row.cancellation_reason as string | null) ?? null,
    created_ms: toSafeNumber(row.created_ms),
    method_type: (row.method_type as string | null | undefined) ?? null,
    bank_transfer: row.method_type === "bank_transfer" ? bankTransferFromRow(row) : undefined,
    amount_disputed: toSafeNumber(row.amount_disputed ?? 0),
    method_details: parseJson<Record<string, unknown>>(row.method_details),
    expires_ms: row.expires_ms === null || row.expires_ms === undefined ? null : toSafeNumber(row.expires_ms),
    mandate_id: (row.mandate_id as string | null | undefined) ?? null,
  };
}

function bankTransferFromRow(row: Raw): BankTransferFields {
  return {
    instructions: parseJson<BankTransferInstructions>(row.bank_transfer_instructions)!,
    amount_mismatch_policy: (row.amount_mismatch_policy as AmountMismatchPolicy | null) ?? "reject",
    expires_ms: toSafeNumber(row.expires_ms),
    amount_refund_due: toSafeNumber(row.amount_refund_due ?? 0),
    virtual_account: (row.virtual_account_id as string | null | undefined) ?? null,
  };
}

export function attemptFromRow(row: Raw): AttemptRecord {
  return {
    id: row.id as string,
    payment_id: row.payment_id as string,
    channel: row.channel as string,
    status: row.status as AttemptStatus,
    amount: toSafeNumber(row.amount),
    currency: row.currency as string,
    capture: Number(row.capture) === 1,
    channel_reference: (row.channel_reference as string | null) ?? null,
    decline_code: (row.decline_code as string | null) ?? null,
    decline_category: (row.decline_category as string | null) ?? null,
    raw_code: (row.raw_code as string | null) ?? null,
    network_response_code: (row.network_response_code as string | null) ?? null,
    latency_ms: row.latency_ms === null || row.latency_ms === undefined ? null : toSafeNumber(row.latency_ms),
    routing_reason: row.routing_reason as string,
    routing_strategy: (row.routing_strategy as string | null) ?? null,
    routing_scores: parseJson<Record<string, unknown>>(row.routing_scores),
    inquiries: toSafeNumber(row.inquiries),
    created_ms: toSafeNumber(row.created_ms),
  };
}

export async function loadPayment(db: Queryable, merchant_id: string, id: string): Promise<PaymentRecord | undefined> {
  const row = await db.get<Raw>("SELECT * FROM payments WHERE id = ? AND merchant_id = ?", [id, merchant_id]);
  return row ? paymentFromRow(row) : undefined;
}

/** Reads and row-locks a payment inside a transaction (PostgreSQL: FOR UPDATE). */
export async function lockPayment(tx: Tx, id: string): Promise<PaymentRecord> {
  const row = await tx.get<Raw>(`SELECT * FROM payments WHERE id = ? ${tx.forUpdate}`, [id]);
  if (!row) throw new Error(`programmer error: payment ${id} vanished`);
  return paymentFromRow(row);
}

export async function loadAttempt(db: Queryable, id: string): Promise<AttemptRecord | undefined> {
  const row = await db.get<Raw>("SELECT * FROM attempts WHERE id = ?", [id]);
  return row ? attemptFromRow(row) : undefined;
}

export async function loadAttempts(db: Queryable, payment_id: string): Promise<AttemptRecord[]> {
  const rows = await db.all<Raw>("SELECT * FROM attempts WHERE payment_id = ? ORDER BY id", [payment_id]);
  return rows.map(attemptFromRow);
}

// Vaulted cards never change: their display details are cached by id.
const cardDetailsCache = new Map<string, CardDetails>();
const cardDetailsCacheMax = 10_000;

export function rememberCardDetails(card_id: string, details: CardDetails): void {
  if (cardDetailsCache.size >= cardDetailsCacheMax) cardDetailsCache.clear();
  cardDetailsCache.set(card_id, details);
}

export async function loadCardDetails(db: Queryable, card_id: string): Promise<CardDetails | undefined> {
  const cached = cardDetailsCache.get(card_id);
  if (cached) return cached;
  const row = await db.get<Raw>("SELECT brand, last4, exp_month, exp_year, bin_country, fingerprint FROM vault_cards WHERE id = ?", [card_id]);
  if (!row) return undefined;
  const details: CardDetails = {
    brand: row.brand as string,
    last4: row.last4 as string,
    exp_month: toSafeNumber(row.exp_month),
    exp_year: toSafeNumber(row.exp_year),
    bin_country: (row.bin_country as string | null) ?? null,
    fingerprint: row.fingerprint as string,
  };
  rememberCardDetails(card_id, details);
  return details;
}

/** Writes the mutable state columns of a payment (the money itself lives in the ledger). */
export async function savePayment(tx: Tx, payment: PaymentRecord): Promise<void> {
  await tx.run(
    `UPDATE payments SET status = ?, amount_capturable = ?, amount_received = ?, amount_refunded = ?, channel = ?,
       last_error = ?, next_action = ?, cancel_requested = ?, cancellation_reason = ?, updated_ms = ? WHERE id = ?`,
    [
      payment.status, payment.amount_capturable, payment.amount_received, payment.amount_refunded, payment.channel,
      payment.last_error ? JSON.stringify(payment.last_error) : null,
      payment.next_action ? JSON.stringify(payment.next_action) : null,
      payment.cancel_requested ? 1 : 0, payment.cancellation_reason, Date.now(), payment.id,
    ],
  );
}

export function attemptView(attempt: AttemptRecord) {
  return {
    id: attempt.id,
    object: "payment_attempt",
    channel: attempt.channel,
    status: attempt.status,
    decline_code: attempt.decline_code,
    decline_category: attempt.decline_category,
    network_response_code: attempt.network_response_code,
    channel_response_code: attempt.raw_code,
    latency_ms: attempt.latency_ms,
    routing_reason: attempt.routing_reason,
    routing_strategy: attempt.routing_strategy,
    routing_scores: attempt.routing_scores,
    created: Math.floor(attempt.created_ms / 1000),
  };
}

export function paymentView(payment: PaymentRecord, card: CardDetails | undefined, attempts: AttemptRecord[]) {
  return {
    id: payment.id,
    object: "payment",
    status: payment.status,
    amount: payment.amount,
    amount_capturable: payment.amount_capturable,
    amount_received: payment.amount_received,
    amount_refunded: payment.amount_refunded,
    amount_disputed: payment.amount_disputed ?? 0,
    currency: payment.currency.toLowerCase(),
    capture_method: payment.capture_method,
    payment_method_details: card
      ? { type: "card", card }
      : payment.bank_transfer
        ? {
            type: "bank_transfer",
            bank_transfer: {
              country: payment.bank_transfer.instructions.country, bank: payment.bank_transfer.instructions.bank,
              ...(payment.bank_transfer.virtual_account ? { virtual_account: payment.bank_transfer.virtual_account } : {}),
            },
          }
        : payment.method_type && payment.method_details
          ? { type: payment.method_type, [payment.method_type]: payment.method_details }
          : null,
    channel: payment.channel,
    attempts: attempts.map(attemptView),
    last_error: payment.last_error,
    next_action: payment.next_action,
    cancellation_reason: payment.cancellation_reason,
    customer: payment.customer,
    description: payment.description,
    metadata: payment.metadata,
    livemode: false,
    created: Math.floor(payment.created_ms / 1000),
    ...(payment.bank_transfer
      ? {
          amount_mismatch_policy: payment.bank_transfer.amount_mismatch_policy,
          /** Received but owed back to the customer (wrong amount, too late): not the merchant's. */
          amount_refund_due: payment.bank_transfer.amount_refund_due,
          expires_at: Math.floor(payment.bank_transfer.expires_ms / 1000),
        }
      : payment.expires_ms
        ? { expires_at: Math.floor(payment.expires_ms / 1000) }
        : {}),
    ...(payment.mandate_id ? { mandate: payment.mandate_id } : {}),
  };
}

export type PaymentView = ReturnType<typeof paymentView>;

export async function readPaymentView(db: Queryable, payment: PaymentRecord): Promise<PaymentView> {
  const [card, attempts] = await Promise.all([
    payment.card_id ? loadCardDetails(db, payment.card_id) : undefined,
    loadAttempts(db, payment.id),
  ]);
  return paymentView(payment, card, attempts);
}
