// Webhooks: signed per Standard Webhooks (checked with the reference verifier), retried, durable
// across a restart, filtered by type; and the events list, newest first with cursor pagination.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { assertLedgerBalanced, call, cards, createMerchant, eventually, freePort, pay, startStack, type Merchant, type Stack } from "./helpers.ts";

interface Received {
  body: string;
  headers: IncomingHttpHeaders;
  status: number;
}

interface Receiver {
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1; `answer` picks the status for the n-th request (0-based). */
async function startReceiver(options: { port?: number; answer?: (index: number) => number } = {}): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const status = options.answer?.(received.length) ?? 200;
      received.push({ body: Buffer.concat(chunks).toString("utf8"), headers: request.headers, status });
      response.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "no");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function verify(secret: string, delivery: Received): any {
  const headers = {
    "webhook-id": String(delivery.headers["webhook-id"]),
    "webhook-timestamp": String(delivery.headers["webhook-timestamp"]),
    "webhook-signature": String(delivery.headers["webhook-signature"]),
  };
  return new Webhook(secret).verify(delivery.body, headers);
}

const typesOf = (receiver: Receiver) => receiver.received.map((delivery) => JSON.parse(delivery.body).type as string);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function createEndpoint(stack: Stack, merchant: Merchant, url: string, enabled_events: string[]) {
  const response = await call(stack.url, "POST", "/v1/webhook_endpoints", { key: merchant.secret, body: { url, enabled_events } });
  assert.equal(response.status, 201, response.text);
  assert.match(response.body.secret, /^whsec_/);
  assert.equal(response.body.url, url);
  assert.deepEqual(response.body.enabled_events, enabled_events);
  assert.equal(response.body.status, "enabled");
  return response.body as { id: string; secret: string };
}

describe("webhooks", () => {
  let stack: Stack;
  const receivers: Receiver[] = [];

  before(async () => {
    stack = await startStack({ webhook_retry_schedule_ms: [100, 100, 100] });
  });

  after(async () => {
    for (const receiver of receivers) await receiver.close();
    if (!stack) return;
    await assertLedgerBalanced(stack);
    await stack.close();
  });

  it("delivers signed events the reference verifier accepts; webhook-id is the event id; tampering fails", async () => {
    const merchant = await createMerchant(stack);
    const receiver = await startReceiver();
    receivers.push(receiver);
    const endpoint = await createEndpoint(stack, merchant, receiver.url, ["*"]);
    const secretFree = await call(stack.url, "GET", `/v1/webhook_endpoints/${endpoint.id}`, { key: merchant.secret });
    assert.equal(secretFree.status, 200);
    assert.equal(secretFree.body.secret, undefined, "the secret is shown only at creation");

    const paid = await pay(stack, merchant, cards.visa);
    assert.equal(paid.body.status, "succeeded", paid.text);
    await eventually(async () => typesOf(receiver).includes("payment.created") && typesOf(receiver).includes("payment.succeeded"), 5_000, "deliveries");

    const events = await call(stack.url, "GET", "/v1/events?limit=100", { key: merchant.secret });
    const eventIds = new Set(events.body.data.map((event: any) => event.id));
    for (const delivery of receiver.received) {
      assert.equal(delivery.headers["content-type"], "application/json");
      const payload = verify(endpoint.secret, delivery);
      assert.equal(delivery.headers["webhook-id"], payload.id, "webhook-id is the event id");
      assert.ok(eventIds.has(payload.id), `event ${payload.id} is listed`);
      assert.equal(payload.object, "event");
      assert.equal(payload.data.object.id, paid.body.id);
      const stored = await call(stack.url, "GET", `/v1/events/${payload.id}`, { key: merchant.secret });
      assert.equal(stored.status, 200);
      assert.deepEqual(stored.body, payload);

      const tampered = delivery.body.replace(`"amount":2000`, `"amount":2`);
      assert.notEqual(tampered, delivery.body);
      assert.throws(() => verify(endpoint.secret, { ...delivery, body: tampered }));
      assert.throws(() => verify("whsec_" + Buffer.from("another secret, 24 bytes").toString("base64"), delivery));
      // A receiver refuses a delivery whose timestamp is more than 5 minutes off (a replay), even
      // when it is otherwise intact: the signature covers the timestamp.
      const sentAt = Number(delivery.headers["webhook-timestamp"]);
      for (const skew of [-301, 301]) {
        const replayed = { ...delivery, headers: { ...delivery.headers, "webhook-timestamp": String(sentAt + skew) } };
        assert.throws(() => verify(endpoint.secret, replayed), /timestamp|signature/i);
      }
      const signer = new Webhook(endpoint.secret);
      const stale = new Date((sentAt - 301) * 1000);
      const staleHeaders = {
        "webhook-id": String(delivery.headers["webhook-id"]),
        "webhook-timestamp": String(sentAt - 301),
        "webhook-signature": signer.sign(String(delivery.headers["webhook-id"]), stale, delivery.body),
      };
      assert.throws(() => signer.verify(delivery.body, staleHeaders), /too old/i, "correctly signed but stale: refused");
    }
    const succeeded = receiver.received.find((delivery) => JSON.parse(delivery.body).type === "payment.succeeded")!;
    assert.equal(JSON.parse(succeeded.body).data.object.status, "succeeded");
  });

  it("retries a failing receiver until it answers 2xx, then stops", async () => {
    const merchant = await createMerchant(stack);
    const receiver = await startReceiver({ answer: (index) => (index < 2 ? 500 : 200) });
    receivers.push(receiver);
    const endpoint = await createEndpoint(stack, merchant, receiver.url, ["payment.created"]);
    const paid = await pay(stack, merchant, cards.visa);
    assert.equal(paid.status, 200, paid.text);
    await eventually(async () => receiver.received.some((delivery) => delivery.status === 200), 5_000, "a successful delivery");
    await sleep(400);
    assert.deepEqual(receiver.received.map((delivery) => delivery.status), [500, 500, 200]);
    const ids = new Set(receiver.received.map((delivery) => delivery.headers["webhook-id"]));
    assert.equal(ids.size, 1, "every retry carries the same webhook-id");
    for (const delivery of receiver.received) assert.equal(verify(endpoint.secret, delivery).type, "payment.created");
  });

  it("sends an endpoint only the event types it subscribed to", async () => {
    const merchant = await createMerchant(stack);
    const receiver = await startReceiver();
    receivers.push(receiver);
    const endpoint = await createEndpoint(stack, merchant, receiver.url, ["payment.failed"]);
    assert.equal((await pay(stack, merchant, cards.visa)).status, 200);
    const declined = await pay(stack, merchant, cards.doNotHonor);
    assert.equal(declined.status, 402, declined.text);
    await eventually(async () => receiver.received.length > 0, 5_000, "the payment.failed delivery");
    await sleep(400);
    assert.deepEqual(typesOf(receiver), ["payment.failed"]);
    const payload = verify(endpoint.secret, receiver.received[0]);
    assert.equal(payload.data.object.id, declined.body.error.payment.id);
  });

  it("refuses an unknown event type with 400 param enabled_events", async () => {
    const merchant = await createMerchant(stack);
    for (const enabled_events of [["payment.exploded"], ["*", "nope"], []]) {
      const response = await call(stack.url, "POST", "/v1/webhook_endpoints", { key: merchant.secret, body: { url: "http://127.0.0.1:9/x", enabled_events } });
      assert.equal(response.status, 400, response.text);
      assert.equal(response.body.error.type, "invalid_request_error");
      assert.equal(response.body.error.param, "enabled_events", response.text);
    }
    const bad = await call(stack.url, "POST", "/v1/webhook_endpoints", { key: merchant.secret, body: { url: "ftp://example.com/x", enabled_events: ["*"] } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error.param, "url");
    const list = await call(stack.url, "GET", "/v1/webhook_endpoints", { key: merchant.secret });
    assert.deepEqual(list.body.data, []);
  });

  it("a disabled endpoint receives nothing more", async () => {
    const merchant = await createMerchant(stack);
    const receiver = await startReceiver();
    receivers.push(receiver);
    const endpoint = await createEndpoint(stack, merchant, receiver.url, ["*"]);
    const deleted = await call(stack.url, "DELETE", `/v1/webhook_endpoints/${endpoint.id}`, { key: merchant.secret });
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.deleted, true);
    assert.equal((await pay(stack, merchant, cards.visa)).status, 200);
    await sleep(400);
    assert.equal(receiver.received.length, 0);
  });

  it("lists events newest first, with limit, starting_after and has_more", async () => {
    const merchant = await createMerchant(stack);
    const payments: string[] = [];
    for (let i = 0; i < 3; i++) {
      const paid = await pay(stack, merchant, cards.visa, { amount: 1000 + i });
      assert.equal(paid.status, 200);
      payments.push(paid.body.id);
    }
    const all = await call(stack.url, "GET", "/v1/events?limit=100", { key: merchant.secret });
    assert.equal(all.status, 200);
    assert.equal(all.body.object, "list");
    assert.equal(all.body.has_more, false);
    const events: any[] = all.body.data;
    assert.equal(events.length, 6, events.map((event) => event.type).join(","));
    assert.equal(events[0].type, "payment.succeeded");
    assert.equal(events[0].data.object.id, payments[2], "the newest event comes first");
    assert.equal(events.at(-1).type, "payment.created");
    assert.equal(events.at(-1).data.object.id, payments[0], "the oldest event comes last");
    for (let i = 1; i < events.length; i++) {
      assert.ok(events[i - 1].created >= events[i].created, "created never increases down the list");
    }

    const walked: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await call(stack.url, "GET", `/v1/events?limit=4${cursor ? `&starting_after=${cursor}` : ""}`, { key: merchant.secret });
      assert.equal(response.status, 200, response.text);
      const data: any[] = response.body.data;
      assert.ok(data.length <= 4);
      walked.push(...data.map((event) => event.id));
      if (!response.body.has_more) break;
      assert.equal(data.length, 4);
      cursor = data.at(-1).id;
    }
    assert.deepEqual(walked, events.map((event) => event.id));

    const first = await call(stack.url, "GET", "/v1/events?limit=2", { key: merchant.secret });
    assert.equal(first.body.data.length, 2);
    assert.equal(first.body.has_more, true);
    const exact = await call(stack.url, "GET", `/v1/events?limit=2&starting_after=${events[3].id}`, { key: merchant.secret });
    assert.deepEqual(exact.body.data.map((event: any) => event.id), [events[4].id, events[5].id]);
    assert.equal(exact.body.has_more, false);

    const created = await call(stack.url, "GET", "/v1/events?limit=100&type=payment.created", { key: merchant.secret });
    assert.deepEqual(created.body.data.map((event: any) => event.data.object.id), [...payments].reverse());
  });
});

describe("webhook delivery survives a restart", () => {
  let stack: Stack | undefined;
  let restarted: Stack | undefined;
  let receiver: Receiver | undefined;

  after(async () => {
    await receiver?.close();
    if (restarted) {
      await assertLedgerBalanced(restarted);
      await restarted.close();
    } else if (stack) {
      await stack.close();
    }
  });

  it("delivers an event left pending when the receiver was down, after Corridor restarts", async () => {
    // The receiver's port is free (nothing listens): deliveries fail and stay pending.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hooks`;
    stack = await startStack({ webhook_retry_schedule_ms: Array.from({ length: 10 }, () => 300) });
    const merchant = await createMerchant(stack);
    const endpoint = await createEndpoint(stack, merchant, url, ["payment.succeeded"]);
    const paid = await pay(stack, merchant, cards.visa);
    assert.equal(paid.body.status, "succeeded", paid.text);
    await sleep(200);
    await assertLedgerBalanced(stack);
    await stack.stop();

    restarted = await startStack({ database: stack.database, vault_keys: stack.vault_keys, webhook_retry_schedule_ms: [100, 100, 100] });
    receiver = await startReceiver({ port });
    const still = await call(restarted.url, "GET", `/v1/payments/${paid.body.id}`, { key: merchant.secret });
    assert.equal(still.status, 200, "merchant keys persist across the restart");
    await eventually(async () => receiver!.received.length > 0, 5_000, "the pending delivery");
    const payload = verify(endpoint.secret, receiver.received[0]);
    assert.equal(payload.type, "payment.succeeded");
    assert.equal(payload.data.object.id, paid.body.id);
    await sleep(300);
    assert.equal(receiver.received.length, 1, "delivered once");
  });
});
