import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import { startSandboxChannel, type RunningSandboxChannel } from "../../sandbox/index.ts";
import { testCards } from "../../sandbox/test-cards.ts";
import type { AuthorizeRequest, ChannelRecord, Connector } from "../contract.ts";
import { createHttpTransport, createInProcessTransport } from "../transport.ts";
import { createLocalAcqConnector } from "./connector.ts";

const TIMEOUT_MS = 3_000;
const SHORT_TIMEOUT_MS = 150;
const SLOW_RESPONSE_MS = 600;

let sandbox: RunningSandboxChannel;
let transport: ReturnType<typeof createHttpTransport>;
let connector: Connector;
let sequence = 0;

function reference(): string {
  sequence += 1;
  return `att_la_${process.pid}_${sequence}`;
}

function authorizeRequest(number: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  return {
    reference: reference(),
    amount: 10_000,
    currency: "BRL",
    card: { number, exp_month: 6, exp_year: new Date().getUTCFullYear() + 3, cvc: "123", brand: "visa" },
    capture: false,
    return_url: "https://shop.example/return",
    ...overrides,
  };
}

async function approved(request: AuthorizeRequest): Promise<string> {
  const outcome = await connector.authorize(request);
  assert.equal(outcome.kind, "approved", JSON.stringify(outcome));
  return outcome.kind === "approved" ? outcome.channel_reference : "";
}

async function found(reference: string, currency: string): Promise<Extract<ChannelRecord, { found: true }>> {
  const record = await connector.inquire(reference, currency);
  assert.ok("found" in record && record.found, JSON.stringify(record));
  return record as Extract<ChannelRecord, { found: true }>;
}

async function channelTransaction(ref: string): Promise<{ amount: number; currency: string }> {
  const response = await fetch(`${sandbox.url}/transactions?ref=${encodeURIComponent(ref)}`);
  return ((await response.json()) as { transaction: { amount: number; currency: string } }).transaction;
}

before(async () => {
  sandbox = await startSandboxChannel("localacq", { port: 0, slow_response_ms: SLOW_RESPONSE_MS });
  transport = createHttpTransport(sandbox.url);
  connector = createLocalAcqConnector({ transport, timeout_ms: TIMEOUT_MS });
});

after(async () => {
  await transport.close();
  await sandbox.close();
});

describe("localacq authorize", () => {
  test("approves with DE39 00: pre-auth (0100) and sale (0200)", async () => {
    const preauth = await connector.authorize(authorizeRequest(testCards.visa_approve));
    assert.ok(preauth.kind === "approved" && !preauth.captured && preauth.network_response_code === "00" && /^\d{12}$/.test(preauth.channel_reference));
    const sale = await connector.authorize(authorizeRequest(testCards.mastercard_approve, { capture: true, currency: "USD" }));
    assert.ok(sale.kind === "approved" && sale.captured);
  });

  test("declines carry DE39 and map through the unified table", async () => {
    const cases: [string, string, string][] = [
      [testCards.do_not_honor, "do_not_honor", "05"],
      [testCards.insufficient_funds, "insufficient_funds", "51"],
      [testCards.expired_card, "expired_card", "54"],
      [testCards.three_ds_challenge, "authentication_required", "1A"],
      ["4242424242424241", "invalid_card", "14"],
    ];
    for (const [number, code, de39] of cases) {
      const outcome = await connector.authorize(authorizeRequest(number));
      assert.ok(outcome.kind === "declined", `${number}: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.decline.code, code);
      assert.equal(outcome.decline.raw_code, de39);
      assert.equal(outcome.decline.network_response_code, de39);
    }
    const threeDs = await connector.authorize(authorizeRequest(testCards.three_ds_challenge));
    assert.ok(threeDs.kind === "declined" && threeDs.decline.cascade);
  });

  test("the globalpay processing-error card is approved here", async () => {
    assert.equal((await connector.authorize(authorizeRequest(testCards.processing_error, { capture: true }))).kind, "approved");
  });

  test("re-authorizing the same reference returns the same RRN and one record", async () => {
    const request = authorizeRequest(testCards.visa_approve, { capture: true });
    assert.equal(await approved(request), await approved(request));
    const response = await fetch(`${sandbox.url}/transactions`);
    const { transactions } = (await response.json()) as { transactions: { ref: string }[] };
    assert.equal(transactions.filter((transaction) => transaction.ref === request.reference).length, 1);
  });
});

describe("localacq completion, reversal, refund", () => {
  test("partial completion (0220); over-completion declined", async () => {
    const request = authorizeRequest(testCards.visa_approve);
    const channel_reference = await approved(request);
    const over = await connector.capture({ channel_reference, reference: reference(), amount: 10_001, currency: "BRL" });
    assert.ok(over.kind === "declined" && over.decline.code === "amount_exceeds_capturable" && over.decline.raw_code === "13");
    const partial = await connector.capture({ channel_reference, reference: reference(), amount: 6_000, currency: "BRL" });
    assert.equal(partial.kind, "succeeded");
    const record = await found(request.reference, "BRL");
    assert.deepEqual([record.status, record.authorized_amount, record.captured_amount], ["captured", 10_000, 6_000]);
  });

  test("reversal (0400), then completion refused", async () => {
    const request = authorizeRequest(testCards.visa_approve);
    const channel_reference = await approved(request);
    assert.equal((await connector.void({ channel_reference, reference: reference(), currency: "BRL" })).kind, "succeeded");
    const capture = await connector.capture({ channel_reference, reference: reference(), amount: 10_000, currency: "BRL" });
    assert.ok(capture.kind === "declined" && capture.decline.raw_code === "12");
    assert.equal((await found(request.reference, "BRL")).status, "voided");
  });

  test("partial refunds; over-refund declined; idempotent by DE48", async () => {
    const request = authorizeRequest(testCards.visa_approve, { capture: true });
    const channel_reference = await approved(request);
    const first_reference = reference();
    const first = await connector.refund({ channel_reference, reference: first_reference, amount: 3_000, currency: "BRL" });
    const replay = await connector.refund({ channel_reference, reference: first_reference, amount: 3_000, currency: "BRL" });
    assert.ok(first.kind === "succeeded" && replay.kind === "succeeded" && first.channel_reference === replay.channel_reference);
    const over_reference = reference();
    const over = await connector.refund({ channel_reference, reference: over_reference, amount: 8_000, currency: "BRL" });
    assert.ok(over.kind === "declined" && over.decline.raw_code === "13");
    const record = await found(request.reference, "BRL");
    assert.equal(record.refunded_amount, 3_000);
    assert.deepEqual(record.refunds, [
      { reference: first_reference, amount: 3_000, status: "succeeded" },
      { reference: over_reference, amount: 8_000, status: "declined" },
    ]);
  });
});

describe("localacq exponents and currencies", () => {
  test("IDR is sent without decimals and inquired back in ISO minor units", async () => {
    const request = authorizeRequest(testCards.visa_approve, { currency: "IDR", amount: 15_000_000, capture: true });
    const channel_reference = await approved(request);
    const atChannel = await channelTransaction(request.reference);
    assert.equal(atChannel.amount, 150_000);
    assert.equal(atChannel.currency, "360");
    const refund = await connector.refund({ channel_reference, reference: reference(), amount: 5_000_000, currency: "IDR" });
    assert.equal(refund.kind, "succeeded");
    const record = await found(request.reference, "IDR");
    assert.deepEqual([record.authorized_amount, record.captured_amount, record.refunded_amount], [15_000_000, 15_000_000, 5_000_000]);
  });

  test("an IDR amount with sen is refused, never rounded, and nothing is sent", async () => {
    const request = authorizeRequest(testCards.visa_approve, { currency: "IDR", amount: 15_000_050 });
    const outcome = await connector.authorize(request);
    assert.ok(outcome.kind === "error" && outcome.decline.code === "currency_not_supported");
    assert.deepEqual(await connector.inquire(request.reference, "IDR"), { found: false });
  });

  test("a currency localacq does not settle is refused locally", async () => {
    const outcome = await connector.authorize(authorizeRequest(testCards.visa_approve, { currency: "JPY" }));
    assert.ok(outcome.kind === "error" && outcome.decline.cascade);
  });
});

describe("localacq unknown outcomes", () => {
  test("slow card times out as unknown; inquiry then finds it authorized", async () => {
    const slow = createLocalAcqConnector({ transport, timeout_ms: SHORT_TIMEOUT_MS });
    const request = authorizeRequest(testCards.slow_response);
    assert.equal((await slow.authorize(request)).kind, "unknown");
    const record = await found(request.reference, "BRL");
    assert.deepEqual([record.status, record.authorized_amount], ["authorized", 10_000]);
  });

  test("connection refused is an error (nothing sent)", async () => {
    const closed = await startSandboxChannel("localacq", { port: 0 });
    await closed.close();
    const refusedTransport = createHttpTransport(closed.url);
    const refused = createLocalAcqConnector({ transport: refusedTransport, timeout_ms: TIMEOUT_MS });
    const outcome = await refused.authorize(authorizeRequest(testCards.visa_approve));
    assert.ok(outcome.kind === "error" && outcome.decline.code === "channel_unavailable", JSON.stringify(outcome));
    await refusedTransport.close();
  });

  test("a malformed answer or a wrong MTI is unknown; technical DE39 is an error", async () => {
    const answers = [
      { status: 200, body: "{" },
      { status: 200, body: JSON.stringify({ mti: "0210", fields: { "39": "00", "37": "000000000001" } }) },
      { status: 500, body: "oops" },
    ];
    for (const answer of answers) {
      const fake = createLocalAcqConnector({ transport: createInProcessTransport(async () => answer), timeout_ms: TIMEOUT_MS });
      assert.equal((await fake.authorize(authorizeRequest(testCards.visa_approve))).kind, "unknown");
    }
    const technical = createLocalAcqConnector({
      transport: createInProcessTransport(async () => ({ status: 200, body: JSON.stringify({ mti: "0110", fields: { "39": "96" } }) })),
      timeout_ms: TIMEOUT_MS,
    });
    const outcome = await technical.authorize(authorizeRequest(testCards.visa_approve));
    assert.ok(outcome.kind === "error" && outcome.decline.code === "processing_error");
  });

  test("parseNotification says localacq sends none", () => {
    assert.equal(connector.parseNotification({}, "{}").verified, false);
  });
});

describe("localacq under sandbox faults", () => {
  const setFaults = async (faults: unknown) => {
    const response = await fetch(`${sandbox.url}/_sandbox/faults`, { method: "PUT", body: JSON.stringify(faults) });
    assert.equal(response.status, 200, await response.text());
  };
  const clearFaults = () => fetch(`${sandbox.url}/_sandbox/faults`, { method: "DELETE" }).then((response) => response.arrayBuffer());

  test("timeouts, ambiguous 5xx, garbage and resets are unknown; a DE39 96 503 is an error; replays answer once", async () => {
    const short = createLocalAcqConnector({ transport, timeout_ms: SHORT_TIMEOUT_MS * 2 });
    const cases: { faults: Record<string, unknown>; kind: string; processed: boolean }[] = [
      { faults: { timeout: { probability: 1, ms: 900 } }, kind: "unknown", processed: true },
      { faults: { server_error: { probability: 1, ambiguous_share: 1 } }, kind: "unknown", processed: true },
      { faults: { server_error: { probability: 1, ambiguous_share: 0 } }, kind: "error", processed: false },
      { faults: { malformed: { probability: 1 } }, kind: "unknown", processed: true },
      { faults: { connection_reset: { probability: 1, processed_share: 1 } }, kind: "unknown", processed: true },
      { faults: { connection_reset: { probability: 1, processed_share: 0 } }, kind: "unknown", processed: false },
    ];
    try {
      for (const { faults, kind, processed } of cases) {
        await setFaults(faults);
        const request = authorizeRequest(testCards.visa_approve, { capture: true });
        const outcome = await short.authorize(request);
        assert.equal(outcome.kind, kind, `${JSON.stringify(faults)}: ${JSON.stringify(outcome)}`);
        await clearFaults();
        const record = await connector.inquire(request.reference, "BRL");
        assert.ok("found" in record && record.found === processed, JSON.stringify({ faults, record }));
        const rrn = await approved(request);
        assert.equal(await approved(request), rrn, "the replay is the same transaction");
        assert.equal((await found(request.reference, "BRL")).captured_amount, 10_000);
      }
    } finally {
      await clearFaults();
    }
  });

  test("a 5xx carrying an approval is ambiguous, not an approval", async () => {
    const fake = createLocalAcqConnector({
      transport: createInProcessTransport(async () => ({ status: 500, body: JSON.stringify({ mti: "0110", fields: { "39": "00", "37": "000000000001" } }) })),
      timeout_ms: TIMEOUT_MS,
    });
    assert.equal((await fake.authorize(authorizeRequest(testCards.visa_approve))).kind, "unknown");
  });
});
