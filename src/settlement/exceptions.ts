// The exception queue: everything reconciliation could not match, once per subject (a rerun finds
// the same subject and adds nothing), open until an operator resolves it or a late match closes it.
// missing_in_report is about a capture (`missing_in_report:<attempt>`) or a refund
// (`missing_in_report:<refund>`, details.kind "refund").
import { newId } from "../ids.ts";
import { toSafeNumber, type Queryable, type Tx } from "../store/db.ts";

export const exceptionTypes = [
  "missing_in_report", "missing_in_corridor", "amount_mismatch", "currency_mismatch", "duplicate_line",
  "unfunded_batch", "fee_mismatch", "unmatched_bank_credit",
] as const;
export type ExceptionType = (typeof exceptionTypes)[number];

export interface NewException {
  type: ExceptionType;
  channel: string;
  /** What the exception is about, unique across the queue: `<type>:<object>`. */
  subject: string;
  file_id?: string | null;
  line?: number | null;
  batch_id?: string | null;
  entry_id?: string | null;
  payment_id?: string | null;
  attempt_id?: string | null;
  merchant_id?: string | null;
  reference?: string | null;
  currency?: string | null;
  expected_amount?: bigint | null;
  reported_amount?: bigint | null;
  details: Record<string, unknown>;
}

export interface ExceptionRecord extends Required<Omit<NewException, "expected_amount" | "reported_amount">> {
  id: string;
  status: "open" | "resolved";
  expected_amount: number | null;
  reported_amount: number | null;
  resolution: Record<string, unknown> | null;
  resolved_ms: number | null;
  created_ms: number;
}

/** Adds the exception unless its subject is already queued. Returns whether it is new. */
export async function raiseException(tx: Tx, exception: NewException, now_ms: number): Promise<boolean> {
  const result = await tx.run(
    `INSERT INTO reconciliation_exceptions (id, type, channel, status, subject, file_id, line, batch_id, entry_id, payment_id, attempt_id,
       merchant_id, reference, currency, expected_amount, reported_amount, details, created_ms)
     VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subject) DO NOTHING`,
    [
      newId("rex"), exception.type, exception.channel, exception.subject, exception.file_id ?? null, exception.line ?? null,
      exception.batch_id ?? null, exception.entry_id ?? null, exception.payment_id ?? null, exception.attempt_id ?? null,
      exception.merchant_id ?? null, exception.reference ?? null, exception.currency ?? null,
      exception.expected_amount ?? null, exception.reported_amount ?? null, JSON.stringify(exception.details), now_ms,
    ],
  );
  return result.changes === 1;
}

/** Closes an open exception that later facts answered (a late line, a late bank credit). */
export async function closeBySubject(tx: Tx, subject: string, resolution: Record<string, unknown>, now_ms: number): Promise<boolean> {
  const result = await tx.run(
    "UPDATE reconciliation_exceptions SET status = 'resolved', resolution = ?, resolved_ms = ? WHERE subject = ? AND status = 'open'",
    [JSON.stringify(resolution), now_ms, subject],
  );
  return result.changes === 1;
}

/** A missing_in_report about a refund (not a capture) says so in its details; its reference is the refund. */
export const missingRefundDetailsKind = "refund";

/** The refund a missing_in_report is about, or null (one about a capture, or another type). */
export function missingRefundOf(exception: Pick<ExceptionRecord, "type" | "details" | "reference">): string | null {
  if (exception.type !== "missing_in_report" || exception.details.kind !== missingRefundDetailsKind) return null;
  return exception.reference;
}

type ExceptionRow = Record<string, unknown>;

export function toException(row: ExceptionRow): ExceptionRecord {
  const amount = (value: unknown) => (value === null || value === undefined ? null : toSafeNumber(value));
  return {
    id: row.id as string, type: row.type as ExceptionType, channel: row.channel as string, status: row.status as "open" | "resolved",
    subject: row.subject as string, file_id: (row.file_id as string) ?? null, line: row.line === null ? null : toSafeNumber(row.line),
    batch_id: (row.batch_id as string) ?? null, entry_id: (row.entry_id as string) ?? null, payment_id: (row.payment_id as string) ?? null,
    attempt_id: (row.attempt_id as string) ?? null, merchant_id: (row.merchant_id as string) ?? null, reference: (row.reference as string) ?? null,
    currency: (row.currency as string) ?? null, expected_amount: amount(row.expected_amount), reported_amount: amount(row.reported_amount),
    details: JSON.parse(row.details as string), resolution: row.resolution ? JSON.parse(row.resolution as string) : null,
    resolved_ms: row.resolved_ms === null ? null : toSafeNumber(row.resolved_ms), created_ms: toSafeNumber(row.created_ms),
  };
}

export async function findException(db: Queryable, id: string, lock = ""): Promise<ExceptionRecord | undefined> {
  const row = await db.get<ExceptionRow>(`SELECT * FROM reconciliation_exceptions WHERE id = ? ${lock}`, [id]);
  return row && toException(row);
}

export async function listExceptions(
  db: Queryable, filter: { status?: string; channel?: string; type?: string }, page: { limit: number; starting_after?: string },
): Promise<{ data: ExceptionRecord[]; has_more: boolean }> {
  const conditions = ["1 = 1"];
  const params: unknown[] = [];
  for (const column of ["status", "channel", "type"] as const) {
    if (filter[column] === undefined) continue;
    conditions.push(`${column} = ?`);
    params.push(filter[column]);
  }
  if (page.starting_after) {
    conditions.push("id < ?");
    params.push(page.starting_after);
  }
  const rows = await db.all<ExceptionRow>(
    `SELECT * FROM reconciliation_exceptions WHERE ${conditions.join(" AND ")} ORDER BY id DESC LIMIT ?`, [...params, page.limit + 1]);
  return { data: rows.slice(0, page.limit).map(toException), has_more: rows.length > page.limit };
}

export function exceptionView(exception: ExceptionRecord) {
  return {
    id: exception.id, object: "reconciliation_exception", type: exception.type, status: exception.status, channel: exception.channel,
    subject: exception.subject, settlement_file: exception.file_id, line: exception.line, settlement_batch: exception.batch_id,
    bank_entry: exception.entry_id, payment: exception.payment_id, attempt: exception.attempt_id, merchant: exception.merchant_id,
    reference: exception.reference, currency: exception.currency?.toLowerCase() ?? null,
    expected_amount: exception.expected_amount, reported_amount: exception.reported_amount, details: exception.details,
    resolution: exception.resolution, resolved: exception.resolved_ms === null ? null : Math.floor(exception.resolved_ms / 1000),
    created: Math.floor(exception.created_ms / 1000),
  };
}
