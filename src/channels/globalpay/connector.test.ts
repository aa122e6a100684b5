import { strict as assert } from "node:assert";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { startSandboxChannel, type RunningSandboxChannel } from "../../sandbox/index.ts";
import { testCards } from "../../sandbox/test-cards.ts";
import type { AuthorizeRequest, Connector } from "../contract.ts";
import { createHttpTransport, createInProcessTransport, type Transport } from "../transport.ts";
import { createGlobalPayConnector } from "./connector.ts";

const SECRET = "test_gp_secret";
const RETURN_URL = "https://shop.example/return";
const TIMEOUT_MS = 3_000;
const SHORT_TIMEOUT_MS = 150;
const SLOW_RESPONSE_MS = 600;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let sandbox: RunningSandboxChannel;
let receiver: Server;
let transport: Transport & { close(): Promise<void> };
let connector: Connector;
const received: Received[] = [];
const waiters: (() => void)[] = [];
let sequence = 0;

function reference(): string {
  sequence += 1;
  return `att_gp_${process.pid}_${sequence}`;
}

function authorizeRequest(number: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  return {
    reference: reference(),
    amount: 1000,
    currency: "EUR",
    card: { number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: "123", brand: "visa" },
    capture: false,
    return_url: RETURN_URL,
    ...overrides,
  };
}

async function nextNotification(count: number): Promise<Received> {
  while (received.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
  return received[count - 1];
}

async function approved(request: AuthorizeRequest): Promise<string> {
  const outcome = await connector.authorize(request);
  assert.equal(outcome.kind, "approved");
  return outcome.kind === "approved" ? outcome.channel_reference : "";
}

before(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
      waiters.splice(0).forEach((wake) => wake());
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const notify_url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notifications`;
  sandbox = await startSandboxChannel("globalpay", { port: 0, notify_url, notification_secret: SECRET, slow_response_ms: SLOW_RESPONSE_MS });
  transport = createHttpTransport(sandbox.url);
  connector = createGlobalPayConnector({ transport, timeout_ms: TIMEOUT_MS, notification_secret: SECRET });
});

after(async () => {
  await transport.close();
  await sandbox.close();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe("globalpay authorize", () => {
  test("approves the approve cards and any other Luhn-valid PAN", async () => {
    for (const number of [testCards.visa_approve, testCards.mastercard_approve, "378282246310005"]) {
      const outcome = await connector.authorize(authorizeRequest(number));
      assert.equal(outcome.kind, "approved");
      assert.ok(outcome.kind === "approved" && outcome.channel_reference.startsWith("gp_auth_") && !outcome.captured);
    }
    const captured = await connector.authorize(authorizeRequest(testCards.visa_approve, { capture: true }));
    assert.ok(captured.kind === "approved" && captured.captured);
  });

  test("declines map through the unified table", async () => {
    const cases: [string, string, string][] = [
      [testCards.do_not_honor, "do_not_honor", "DO_NOT_HONOR"],
      [testCards.insufficient_funds, "insufficient_funds", "INSUFFICIENT_FUNDS"],
      [testCards.expired_card, "expired_card", "EXPIRED_CARD"],
      ["4242424242424241", "invalid_card", "INVALID_CARD"],
    ];
    for (const [number, code, raw_code] of cases) {
      const outcome = await connector.authorize(authorizeRequest(number));
      assert.equal(outcome.kind, "declined", number);
      assert.ok(outcome.kind === "declined");
      assert.equal(outcome.decline.code, code);
      assert.equal(outcome.decline.raw_code, raw_code);
    }
  });

  test("processing error is a technical error that cascades, recorded as failed", async () => {
    const request = authorizeRequest(testCards.processing_error, { capture: true });
    const outcome = await connector.authorize(request);
    assert.equal(outcome.kind, "error");
    assert.ok(outcome.kind === "error");
    assert.equal(outcome.decline.code, "processing_error");
    assert.equal(outcome.decline.cascade, true);
    const record = await connector.inquire(request.reference, "EUR");
    assert.ok("found" in record && record.found);
    assert.equal(record.status, "failed");
    assert.equal(record.captured_amount, 0);
  });

  test("re-authorizing the same reference returns the same record and charges once", async () => {
    const request = authorizeRequest(testCards.visa_approve, { capture: true });
    const first = await approved(request);
    const second = await approved(request);
    assert.equal(first, second);
    const response = await fetch(`${sandbox.url}/v2/records`);
    const { records } = (await response.json()) as { records: { merchant_reference: string }[] };
    assert.equal(records.filter((record) => record.merchant_reference === request.reference).length, 1);
  });
});

describe("globalpay capture, void, refund", () => {
  test("authorize then capture in full", async () => {
    const request = authorizeRequest(testCards.visa_approve);
    const channel_reference = await approved(request);
    const capture = await connector.capture({ channel_reference, reference: reference(), amount: 1000, currency: "EUR" });
    assert.equal(capture.kind, "succeeded");
    const record = await connector.inquire(request.reference, "EUR");
    assert.ok("found" in record && record.found);
    assert.deepEqual([record.status, record.authorized_amount, record.captured_amount], ["captured", 1000, 1000]);
  });

  test("partial capture once; the rest is released; over-capture declined", async () => {
    const request = authorizeRequest(testCards.visa_approve);
    const channel_reference = await approved(request);
    const tooMuch = await connector.capture({ channel_reference, reference: reference(), amount: 1001, currency: "EUR" });
    assert.ok(tooMuch.kind === "declined" && tooMuch.decline.code === "amount_exceeds_capturable");
    const capture_reference = reference();
    const partial = await connector.capture({ channel_reference, reference: capture_reference, amount: 600, currency: "EUR" });
    assert.equal(partial.kind, "succeeded");
    const replay = await connector.capture({ channel_reference, reference: capture_reference, amount: 600, currency: "EUR" });
    assert.deepEqual(replay.kind === "succeeded" && replay.channel_reference, partial.kind === "succeeded" && partial.channel_reference);
    const second = await connector.capture({ channel_reference, reference: reference(), amount: 400, currency: "EUR" });
    assert.ok(second.kind === "declined" && second.decline.raw_code === "NOT_CAPTURABLE");
    const record = await connector.inquire(request.reference, "EUR");
    assert.ok("found" in record && record.found && record.captured_amount === 600);
  });

  test("void, then no capture after void", async () => {
    const request = authorizeRequest(testCards.mastercard_approve);
    const channel_reference = await approved(request);
    const voided = await connector.void({ channel_reference, reference: reference(), currency: "EUR" });
    assert.equal(voided.kind, "succeeded");
    const capture = await connector.capture({ channel_reference, reference: reference(), amount: 1000, currency: "EUR" });
    assert.equal(capture.kind, "declined");
    const record = await connector.inquire(request.reference, "EUR");
    assert.ok("found" in record && record.found && record.status === "voided");
  });

  test("partial refunds, over-refund declined, idempotent by reference", async () => {
    const request = authorizeRequest(testCards.visa_approve, { capture: true });
    const channel_reference = await approved(request);
    const first_reference = reference();
    const first = await connector.refund({ channel_reference, reference: first_reference, amount: 300, currency: "EUR" });
    assert.equal(first.kind, "succeeded");
    const replay = await connector.refund({ channel_reference, reference: first_reference, amount: 300, currency: "EUR" });
    assert.equal(replay.kind, "succeeded");
    const over_reference = reference();
    const over = await connector.refund({ channel_reference, reference: over_reference, amount: 800, currency: "EUR" });
    assert.ok(over.kind === "declined" && over.decline.code === "refund_exceeds_captured");
    const rest_reference = reference();
    assert.equal((await connector.refund({ channel_reference, reference: rest_reference, amount: 700, currency: "EUR" })).kind, "succeeded");
    const record = await connector.inquire(request.reference, "EUR");
    assert.ok("found" in record && record.found);
    assert.equal(record.refunded_amount, 1000);
    assert.deepEqual(record.refunds, [
      { reference: first_reference, amount: 300, status: "succeeded" },
      { reference: over_reference, amount: 800, status: "declined" },
      { reference: rest_reference, amount: 700, status: "succeeded" },
    ]);
  });
});

describe("globalpay unknown outcomes", () => {
  test("slow card times out as unknown; inquiry then finds it captured", async () => {
    const slow = createGlobalPayConnector({ transport, timeout_ms: SHORT_TIMEOUT_MS, notification_secret: SECRET });
    const request = authorizeRequest(testCards.slow_response, { capture: true });
    const outcome = await slow.authorize(request);
    assert.equal(outcome.kind, "unknown");
    const record = await connector.inquire(request.reference, "EUR");
    assert.ok("found" in record && record.found);
    assert.equal(record.status, "captured");
    assert.equal(record.captured_amount, 1000);
    assert.deepEqual(await connector.inquire("never_sent", "EUR"), { found: false });
  });

  test("connection refused is an error (nothing sent); inquiry is unreachable", async () => {
    const closed = await startSandboxChannel("globalpay", { port: 0 });
    await closed.close();
    const refusedTransport = createHttpTransport(closed.url);
    const refused = createGlobalPayConnector({ transport: refusedTransport, timeout_ms: TIMEOUT_MS, notification_secret: SECRET });
    const outcome = await refused.authorize(authorizeRequest(testCards.visa_approve));
    assert.ok(outcome.kind === "error" && outcome.decline.code === "channel_unavailable", JSON.stringify(outcome));
    assert.ok("unreachable" in (await refused.inquire("x", "EUR")));
    await refusedTransport.close();
  });

  test("malformed answers and unknown statuses are unknown, never declines", async () => {
    const answers = [
      { status: 200, body: "not json" },
      { status: 201, body: JSON.stringify({ id: "gp_auth_x", merchant_reference: "r", status: "PENDING", amount: { value: 1, currency: "EUR" } }) },
      { status: 503, body: JSON.stringify({ error: { code: "MAINTENANCE" } }) },
    ];
    for (const answer of answers) {
      const fake = createGlobalPayConnector({ transport: createInProcessTransport(async () => answer), timeout_ms: TIMEOUT_MS, notification_secret: SECRET });
      assert.equal((await fake.authorize(authorizeRequest(testCards.visa_approve))).kind, "unknown");
      assert.equal((await fake.refund({ channel_reference: "gp_auth_x", reference: "r", amount: 1, currency: "EUR" })).kind, "unknown");
    }
    const technical = createGlobalPayConnector({
      transport: createInProcessTransport(async () => ({ status: 502, body: JSON.stringify({ error: { code: "ISSUER_UNAVAILABLE" } }) })),
      timeout_ms: TIMEOUT_MS,
      notification_secret: SECRET,
    });
    const outcome = await technical.capture({ channel_reference: "gp_auth_x", reference: "r", amount: 1, currency: "EUR" });
    assert.ok(outcome.kind === "error" && outcome.decline.code === "issuer_unavailable");
  });

  test("in-process transport serves the same handler and applies the timeout", async () => {
    const inProcess = createGlobalPayConnector({ transport: createInProcessTransport(sandbox.handler), timeout_ms: SHORT_TIMEOUT_MS, notification_secret: SECRET });
    assert.equal((await inProcess.authorize(authorizeRequest(testCards.visa_approve))).kind, "approved");
    assert.equal((await inProcess.authorize(authorizeRequest(testCards.slow_response))).kind, "unknown");
  });
});

describe("globalpay 3-D Secure", () => {
  test("challenge completed: 303 to return_url and a signed notification", async () => {
    const request = authorizeRequest(testCards.three_ds_challenge, { capture: true });
    const outcome = await connector.authorize(request);
    assert.equal(outcome.kind, "challenge");
    assert.ok(outcome.kind === "challenge");
    assert.ok(outcome.redirect_url.startsWith(`${sandbox.url}/3ds/`));
    const page = await fetch(outcome.redirect_url);
    const html = await page.text();
    assert.match(html, /Complete authentication/);
    assert.match(html, /Fail authentication/);
    const count = received.length;
    const completed = await fetch(`${outcome.redirect_url}/complete`, { method: "POST", redirect: "manual" });
    assert.equal(completed.status, 303);
    assert.equal(completed.headers.get("location"), RETURN_URL);
    const notification = await nextNotification(count + 1);
    const parsed = connector.parseNotification(notification.headers, notification.body);
    assert.deepEqual(parsed, { verified: true, reference: request.reference, type: "authorization.approved", captured: true });
    const tampered = notification.body.replace('"CAPTURED"', '"REFUSED"');
    assert.equal(connector.parseNotification(notification.headers, tampered).verified, false);
    assert.equal(connector.parseNotification({}, notification.body).verified, false);
    const record = await connector.inquire(request.reference, "EUR");
    assert.ok("found" in record && record.found && record.status === "captured" && record.captured_amount === 1000);
  });

  test("challenge failed: declined with authentication_failed, notified, redirected", async () => {
    const request = authorizeRequest(testCards.three_ds_challenge);
    const outcome = await connector.authorize(request);
    assert.ok(outcome.kind === "challenge");
    const count = received.length;
    const failed = await fetch(`${outcome.redirect_url}/fail`, { method: "POST", redirect: "manual" });
    assert.equal(failed.status, 303);
    const notification = await nextNotification(count + 1);
    const parsed = connector.parseNotification(notification.headers, notification.body);
    assert.ok(parsed.verified && parsed.type === "authorization.declined" && parsed.decline?.code === "authentication_failed");
    const record = await connector.inquire(request.reference, "EUR");
    assert.ok("found" in record && record.found && record.status === "declined");
  });
});

describe("globalpay under sandbox faults", () => {
  const setFaults = async (faults: unknown) => {
    const response = await fetch(`${sandbox.url}/_sandbox/faults`, { method: "PUT", body: JSON.stringify(faults) });
    return { status: response.status, body: (await response.json()) as any };
  };
  const clearFaults = async () => (await fetch(`${sandbox.url}/_sandbox/faults`, { method: "DELETE" })).json() as Promise<any>;
  const recordsOf = async (merchant_reference: string) => {
    const { records } = (await (await fetch(`${sandbox.url}/v2/records`)).json()) as { records: { merchant_reference: string; captures: unknown[] }[] };
    return records.filter((record) => record.merchant_reference === merchant_reference);
  };

  test("the admin endpoint validates, reports and clears the configuration", async () => {
    try {
      assert.equal((await setFaults({ timeout: { probability: 2 } })).status, 400);
      assert.equal((await setFaults({ timeout: { probability: 0.6 }, malformed: { probability: 0.6 } })).status, 400);
      assert.equal((await setFaults({ bogus: true })).status, 400);
      const set = await setFaults({ malformed: { probability: 0.5 }, seed: 7 });
      assert.equal(set.status, 200);
      assert.equal(set.body.active, true);
      assert.equal(set.body.config.seed, 7);
      const view = (await (await fetch(`${sandbox.url}/_sandbox/faults`)).json()) as any;
      assert.equal(view.injected.malformed, 0);
    } finally {
      const cleared = await clearFaults();
      assert.equal(cleared.active, false);
    }
  });

  test("each fault maps to the outcome its semantics require, and a replayed reference charges once", async () => {
    const short = createGlobalPayConnector({ transport, timeout_ms: SHORT_TIMEOUT_MS * 2, notification_secret: SECRET });
    const cases: { faults: Record<string, unknown>; kind: string; processed: boolean }[] = [
      { faults: { timeout: { probability: 1, ms: 900 } }, kind: "unknown", processed: true },
      { faults: { server_error: { probability: 1, ambiguous_share: 1 } }, kind: "unknown", processed: true },
      { faults: { server_error: { probability: 1, ambiguous_share: 0 } }, kind: "error", processed: false },
      { faults: { malformed: { probability: 1 } }, kind: "unknown", processed: true },
      { faults: { connection_reset: { probability: 1, processed_share: 1 } }, kind: "unknown", processed: true },
      { faults: { connection_reset: { probability: 1, processed_share: 0 } }, kind: "unknown", processed: false },
      { faults: { latency_spike: { probability: 1, ms: 20 } }, kind: "approved", processed: true },
    ];
    try {
      for (const { faults, kind, processed } of cases) {
        await setFaults(faults);
        const request = authorizeRequest(testCards.visa_approve, { capture: true });
        const outcome = await short.authorize(request);
        assert.equal(outcome.kind, kind, `${JSON.stringify(faults)}: ${JSON.stringify(outcome)}`);
        await clearFaults();
        const record = await connector.inquire(request.reference, "EUR");
        assert.ok("found" in record, JSON.stringify(record));
        assert.equal(record.found, processed, JSON.stringify(faults));
        const replay = await approved(request);
        assert.ok(replay.startsWith("gp_auth_"));
        assert.equal((await recordsOf(request.reference)).length, 1, "one record per reference");
      }
      await setFaults({ server_error: { probability: 1, ambiguous_share: 0 } });
      const error = await connector.authorize(authorizeRequest(testCards.visa_approve));
      assert.ok(error.kind === "error" && error.decline.code === "processing_error" && error.decline.cascade);
    } finally {
      await clearFaults();
    }
  });

  test("a capture whose answer is garbled is unknown; its replay captures once", async () => {
    const request = authorizeRequest(testCards.visa_approve);
    const channel_reference = await approved(request);
    const capture = { channel_reference, reference: reference(), amount: 1000, currency: "EUR" };
    try {
      const counts = await setFaults({ malformed: { probability: 1 }, seed: 3 });
      assert.equal(counts.status, 200);
      assert.equal((await connector.capture(capture)).kind, "unknown");
      const view = (await (await fetch(`${sandbox.url}/_sandbox/faults`)).json()) as any;
      assert.equal(view.injected.malformed, 1);
    } finally {
      await clearFaults();
    }
    assert.equal((await connector.capture(capture)).kind, "succeeded");
    const [record] = await recordsOf(request.reference);
    assert.equal(record.captures.length, 1);
  });

  test("notifications can be duplicated and held back", async () => {
    try {
      await setFaults({ duplicate_notifications: true, out_of_order_notifications: true, out_of_order_max_ms: 50, notify_authorizations: true });
      const count = received.length;
      const request = authorizeRequest(testCards.visa_approve);
      await approved(request);
      const first = await nextNotification(count + 1);
      const second = await nextNotification(count + 2);
      assert.equal(first.body, second.body, "the same event twice");
      assert.deepEqual(connector.parseNotification(first.headers, first.body), { verified: true, reference: request.reference, type: "authorization.approved", captured: false });
      const view = (await (await fetch(`${sandbox.url}/_sandbox/faults`)).json()) as any;
      assert.equal(view.injected.duplicate_notification, 1);
      assert.equal(view.injected.out_of_order_notification, 1);
    } finally {
      await clearFaults();
    }
  });
});
