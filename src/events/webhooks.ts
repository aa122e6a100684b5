// Webhook endpoints and delivery. Events are fanned out from the outbox to each enabled endpoint
// (one delivery row per event and endpoint), then sent signed per Standard Webhooks
// (`webhook-id` = event id so receivers can dedupe), retried with backoff for about three days.
// Delivery rows are claimed with a compare-and-set lease, so several processes can deliver.
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { Agent, fetch as guardedFetch } from "undici";
import { crashPoint } from "../chaos/crash.ts";
import { newId } from "../ids.ts";
import { limits } from "../limits.ts";
import type { Db, Queryable } from "../store/db.ts";
import { toSafeNumber } from "../store/db.ts";
import { eventTypes } from "./outbox.ts";
import { checkWebhookUrl, guardedLookup, systemResolver, type Resolver } from "./ssrf.ts";

/**
 * Where deliveries may go. Outside sandbox mode (the default when nothing was set for a database)
 * every delivery is checked against the SSRF guard after DNS resolution, and the connection itself
 * only dials addresses that pass it.
 */
export interface DeliveryPolicy {
  sandbox_mode: boolean;
  resolver?: Resolver;
}

const deliveryPolicies = new WeakMap<object, { policy: DeliveryPolicy; agent?: Agent }>();

/** Called by the HTTP edge when it starts, with the process's mode (the workers share its Db). */
export function setDeliveryPolicy(db: Db, policy: DeliveryPolicy): void {
  const resolver = policy.resolver ?? systemResolver;
  const agent = policy.sandbox_mode ? undefined : new Agent({ connect: { lookup: guardedLookup(resolver) as never } });
  deliveryPolicies.get(db)?.agent?.close().catch(() => {});
  deliveryPolicies.set(db, { policy: { ...policy, resolver }, agent });
}

/** Releases the delivery agent of a database's policy (on shutdown). */
export async function clearDeliveryPolicy(db: Db): Promise<void> {
  const entry = deliveryPolicies.get(db);
  deliveryPolicies.delete(db);
  await entry?.agent?.close().catch(() => {});
}

function deliveryPolicyOf(db: Db): { policy: DeliveryPolicy; agent?: Agent } {
  let entry = deliveryPolicies.get(db);
  if (!entry) {
    setDeliveryPolicy(db, { sandbox_mode: false });
    entry = deliveryPolicies.get(db)!;
  }
  return entry;
}

/** Delay before each retry; the sum is about 68 hours. */
export const defaultRetryScheduleMs = [
  5_000, 30_000, 120_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
  14_400_000, 28_800_000, 43_200_000, 57_600_000, 86_400_000, 86_400_000,
];

export interface WebhookEndpoint {
  id: string;
  object: "webhook_endpoint";
  url: string;
  enabled_events: string[];
  status: "enabled" | "disabled";
  created: number;
}

function endpointFromRow(row: Record<string, unknown>): WebhookEndpoint {
  return {
    id: row.id as string,
    object: "webhook_endpoint",
    url: row.url as string,
    enabled_events: JSON.parse(row.enabled_events as string),
    status: row.status as "enabled" | "disabled",
    created: Math.floor(toSafeNumber(row.created_ms) / 1000),
  };
}

export const subscribableEvents = ["*", ...eventTypes] as readonly string[];

export async function createEndpoint(db: Db, merchant_id: string, input: { url: string; enabled_events: string[] }) {
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const id = newId("we");
  const created_ms = Date.now();
  await db.transaction((tx) =>
    tx.run("INSERT INTO webhook_endpoints (id, merchant_id, url, enabled_events, secret, status, created_ms) VALUES (?, ?, ?, ?, ?, 'enabled', ?)", [
      id, merchant_id, input.url, JSON.stringify(input.enabled_events), secret, created_ms,
    ]),
  );
  return { ...endpointFromRow({ id, url: input.url, enabled_events: JSON.stringify(input.enabled_events), status: "enabled", created_ms }), secret };
}

export async function countEndpoints(db: Queryable, merchant_id: string): Promise<number> {
  const row = await db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE merchant_id = ?", [merchant_id]);
  return toSafeNumber(row?.n);
}

export async function findEndpoint(db: Queryable, merchant_id: string, id: string): Promise<WebhookEndpoint | undefined> {
  const row = await db.get<Record<string, unknown>>("SELECT * FROM webhook_endpoints WHERE id = ? AND merchant_id = ?", [id, merchant_id]);
  return row ? endpointFromRow(row) : undefined;
}

export async function listEndpoints(db: Queryable, merchant_id: string): Promise<WebhookEndpoint[]> {
  const rows = await db.all<Record<string, unknown>>("SELECT * FROM webhook_endpoints WHERE merchant_id = ? ORDER BY id DESC", [merchant_id]);
  return rows.map(endpointFromRow);
}

export async function disableEndpoint(db: Db, merchant_id: string, id: string): Promise<boolean> {
  const result = await db.transaction((tx) =>
    tx.run("UPDATE webhook_endpoints SET status = 'disabled' WHERE id = ? AND merchant_id = ?", [id, merchant_id]),
  );
  return result.changes === 1;
}

/** Creates one delivery per (event, subscribed endpoint) for events not yet fanned out. */
export const fanOutBatchMax = 500;

export async function fanOut(db: Db): Promise<number> {
  const events = await db.all<{ id: string; merchant_id: string; type: string }>(
    "SELECT id, merchant_id, type FROM events WHERE fanned_out = 0 ORDER BY id LIMIT ?",
    [fanOutBatchMax],
  );
  if (events.length === 0) return 0;
  const merchants = [...new Set(events.map((event) => event.merchant_id))];
  const endpoints = await db.all<{ id: string; merchant_id: string; enabled_events: string }>(
    `SELECT id, merchant_id, enabled_events FROM webhook_endpoints WHERE status = 'enabled' AND merchant_id IN (${merchants.map(() => "?").join(", ")})`,
    merchants,
  );
  const now = Date.now();
  await db.transaction(async (tx) => {
    for (const event of events) {
      for (const endpoint of endpoints) {
        if (endpoint.merchant_id !== event.merchant_id) continue;
        const wanted: string[] = JSON.parse(endpoint.enabled_events);
        if (!wanted.includes("*") && !wanted.includes(event.type)) continue;
        await tx.run(
          `INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, next_attempt_ms, created_ms) VALUES (?, ?, ?, 'pending', ?, ?)
           ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
          [newId("whd"), event.id, endpoint.id, now, now],
        );
      }
    }
    await tx.run(`UPDATE events SET fanned_out = 1 WHERE id IN (${events.map(() => "?").join(", ")})`, events.map((event) => event.id));
  });
  return events.length;
}

interface DueDelivery {
  id: string;
  event_id: string;
  attempts: unknown;
  locked_until_ms: unknown;
  url: string;
  secret: string;
  type: string;
  data: string;
  created_ms: unknown;
}

/** Sends due deliveries. Returns how many were tried. */
export async function deliverDue(db: Db, retry_schedule_ms: readonly number[]): Promise<number> {
  const now = Date.now();
  const due = await db.all<DueDelivery>(
    `SELECT d.id, d.event_id, d.attempts, d.locked_until_ms, w.url, w.secret, e.type, e.data, e.created_ms
     FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id
     WHERE d.status = 'pending' AND d.next_attempt_ms <= ? AND d.locked_until_ms < ? ORDER BY d.next_attempt_ms LIMIT ?`,
    [now, now, limits.webhook_batch_max],
  );
  await Promise.all(due.map((delivery) => deliverOne(db, delivery, retry_schedule_ms)));
  return due.length;
}

async function deliverOne(db: Db, delivery: DueDelivery, retry_schedule_ms: readonly number[]): Promise<void> {
  const lease = Date.now() + limits.webhook_timeout_ms * 2;
  const claimed = await db.transaction((tx) =>
    tx.run("UPDATE webhook_deliveries SET locked_until_ms = ? WHERE id = ? AND locked_until_ms = ?", [lease, delivery.id, delivery.locked_until_ms]),
  );
  if (claimed.changes !== 1) return;
  const body = JSON.stringify({
    id: delivery.event_id,
    object: "event",
    type: delivery.type,
    created: Math.floor(toSafeNumber(delivery.created_ms) / 1000),
    data: { object: JSON.parse(delivery.data) },
  });
  const sentAt = new Date();
  const signature = new Webhook(delivery.secret).sign(delivery.event_id, sentAt, body);
  let status: number | null = null;
  let error: string | null = null;
  const { policy, agent } = deliveryPolicyOf(db);
  try {
    const request = {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": delivery.event_id,
        "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
        "webhook-signature": signature,
      },
      body,
      // Never follow a redirect: a 3xx counts as a failed delivery (it could point anywhere).
      redirect: "manual",
      signal: AbortSignal.timeout(limits.webhook_timeout_ms),
    } as const;
    if (policy.sandbox_mode) {
      const response = await fetch(delivery.url, request);
      status = response.status;
      await response.body?.cancel();
    } else {
      // Live mode: the URL is checked again now (DNS may have changed since the endpoint was
      // created), and the agent's lookup re-checks the address it actually connects to.
      const check = await checkWebhookUrl(delivery.url, policy.resolver);
      if (!check.ok) {
        error = `url_not_allowed: ${check.reason}`;
      } else {
        const response = await guardedFetch(delivery.url, { ...request, dispatcher: agent });
        status = response.status;
        await response.body?.cancel();
      }
    }
  } catch (caught) {
    const cause = caught instanceof Error ? (caught.cause as Error | undefined) : undefined;
    error = caught instanceof Error ? (cause?.message ? `${caught.message}: ${cause.message}` : caught.message) : String(caught);
  }
  crashPoint("inside_webhook_delivery");
  const attempts = toSafeNumber(delivery.attempts) + 1;
  const delivered = status !== null && status >= 200 && status < 300;
  const exhausted = attempts >= Math.min(limits.webhook_attempts_max, retry_schedule_ms.length + 1);
  const next = delivered || exhausted ? null : Date.now() + retry_schedule_ms[attempts - 1];
  await db.transaction((tx) =>
    tx.run(
      `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_ms = ?, locked_until_ms = 0, last_response_status = ?,
         last_error = ?, delivered_ms = ? WHERE id = ?`,
      [delivered ? "delivered" : exhausted ? "failed" : "pending", attempts, next, status, error ?? (delivered ? null : `HTTP ${status}`),
        delivered ? Date.now() : null, delivery.id],
    ),
  );
}
