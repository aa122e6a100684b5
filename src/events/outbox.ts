// The transactional outbox: an event is written in the same database transaction as the state
// change it reports, so no change is ever announced that did not commit, nor committed unannounced.
// The webhook worker fans events out to endpoints and delivers them.
import { newId } from "../ids.ts";
import type { Queryable, Tx } from "../store/db.ts";
import { listPage, type PageRequest } from "../store/page.ts";

export const eventTypes = [
  "payment.created",
  "payment.requires_action",
  "payment.processing",
  "payment.requires_capture",
  "payment.succeeded",
  "payment.failed",
  "payment.canceled",
  "payment.captured",
  "refund.created",
  "refund.succeeded",
  "refund.failed",
  "channel.degraded",
  "channel.recovered",
  "dispute.created",
  "dispute.updated",
  "dispute.closed",
  /** A direct debit that had succeeded came back (an R-transaction): the merchant's funds are reversed. */
  "payment.returned",
  "mandate.created",
  "mandate.updated",
  "mandate.revoked",
  "mandate.lapsed",
  /** A reusable virtual account (src/methods/bank-transfer/virtual-accounts.ts): created; deactivated, used up (single use) or expired. */
  "virtual_account.created",
  "virtual_account.updated",
] as const;

export type EventType = (typeof eventTypes)[number];

export interface CorridorEvent {
  id: string;
  object: "event";
  type: EventType;
  created: number;
  data: { object: unknown };
}

export async function recordEvent(
  tx: Tx,
  input: { merchant_id: string; type: EventType; object_id: string; object: unknown },
): Promise<string> {
  const id = newId("evt");
  await tx.run("INSERT INTO events (id, merchant_id, type, object_id, data, created_ms) VALUES (?, ?, ?, ?, ?, ?)", [
    id, input.merchant_id, input.type, input.object_id, JSON.stringify(input.object), Date.now(),
  ]);
  return id;
}

interface EventRow {
  id: string;
  type: EventType;
  data: string;
  created_ms: unknown;
}

export function eventView(row: EventRow): CorridorEvent {
  return {
    id: row.id,
    object: "event",
    type: row.type,
    created: Math.floor(Number(row.created_ms) / 1000),
    data: { object: JSON.parse(row.data) },
  };
}

export async function listEvents(
  db: Queryable,
  merchant_id: string,
  page: PageRequest & { type?: string },
): Promise<{ data: CorridorEvent[]; has_more: boolean }> {
  const { rows, has_more } = await listPage(db, "events", { merchant_id, type: page.type }, page);
  return { data: rows.map((row) => eventView(row as unknown as EventRow)), has_more };
}

export async function findEvent(db: Queryable, merchant_id: string, id: string): Promise<CorridorEvent | undefined> {
  const row = await db.get<EventRow>("SELECT id, type, data, created_ms FROM events WHERE id = ? AND merchant_id = ?", [id, merchant_id]);
  return row ? eventView(row) : undefined;
}
