import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type { AuthorizeOutcome, Connector } from "../channels/contract.ts";
import { corridorDecline, normalizeDecline } from "../channels/declines.ts";
import { ChannelRegistry } from "../channels/registry.ts";
import { applyChannelHealth, ChannelHealthTracker, healthSignal, healthTrackerOf, withChannelHealth, withHealthTracking } from "./health.ts";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const approved: AuthorizeOutcome = { kind: "approved", channel_reference: "x", captured: false, raw: null };
const technical: AuthorizeOutcome = { kind: "error", decline: corridorDecline("processing_error"), raw: null };
const timeout: AuthorizeOutcome = { kind: "unknown", reason: "no answer within 400 ms" };

function fakeConnector(name: string, outcomes: AuthorizeOutcome[]): Connector {
  return {
    name,
    capabilities: { methods: ["card"], brands: ["visa"], currencies: "*", countries: "*", partial_capture: true, refund: true, partial_refund: true, three_ds: false },
    authorize: async () => outcomes.shift() ?? approved,
    capture: async () => ({ kind: "unknown", reason: "n/a" }),
    void: async () => ({ kind: "unknown", reason: "n/a" }),
    refund: async () => ({ kind: "unknown", reason: "n/a" }),
    inquire: async () => ({ found: false }),
    parseNotification: () => ({ verified: false, reason: "n/a" }),
  };
}

const route = () => [
  { channel: "globalpay", reason: "default channel list: priority 1" },
  { channel: "localacq", reason: "default channel list: priority 2" },
];

describe("health signals", () => {
  test("approvals, challenges and issuer declines are successes; technical errors and unknowns are failures", () => {
    assert.equal(healthSignal(approved).kind, "success");
    assert.equal(healthSignal({ kind: "challenge", channel_reference: "x", redirect_url: "u", raw: null }).kind, "success");
    assert.equal(healthSignal({ kind: "declined", decline: normalizeDecline("globalpay", "DO_NOT_HONOR"), raw: null }).kind, "success");
    assert.deepEqual(healthSignal(technical), { kind: "failure", failure: "technical_error" });
    assert.deepEqual(healthSignal(timeout), { kind: "failure", failure: "timeout" });
    assert.deepEqual(healthSignal({ kind: "unknown", reason: "malformed globalpay authorization answer" }), { kind: "failure", failure: "unknown" });
    assert.equal(healthSignal({ kind: "error", decline: corridorDecline("currency_not_supported"), raw: null }).kind, "neutral");
  });
});

describe("circuit breaker", () => {
  test("stays closed below the minimum number of attempts, opens at ≥ 50% failures over ≥ 10", () => {
    const time = clock();
    const tracker = new ChannelHealthTracker({ now: time.now });
    for (let index = 0; index < 9; index++) tracker.observe("gp", technical);
    assert.equal(tracker.state("gp"), "closed", "9 attempts are not enough to judge");
    tracker.observe("gp", approved);
    assert.equal(tracker.state("gp"), "open");
    assert.equal(tracker.snapshot().gp.opens, 1);
  });

  test("a healthy mix keeps it closed", () => {
    const tracker = new ChannelHealthTracker({ now: clock().now });
    for (let index = 0; index < 100; index++) tracker.observe("gp", index % 3 === 0 ? technical : approved);
    assert.equal(tracker.state("gp"), "closed");
  });

  test("the window slides (bounded) and old failures age out", () => {
    const time = clock();
    const tracker = new ChannelHealthTracker({ now: time.now, window_size: 20, window_ms: 60_000 });
    for (let index = 0; index < 9; index++) tracker.observe("gp", timeout);
    time.advance(61_000);
    tracker.observe("gp", timeout);
    assert.equal(tracker.state("gp"), "closed", "failures older than the window do not count");
    for (let index = 0; index < 1000; index++) tracker.observe("ok", approved);
    assert.deepEqual(tracker.snapshot().ok.window, { attempts: 20, failures: 0 });
  });

  test("open → half-open after the cool-down → one probe → closed on success", () => {
    const time = clock();
    const tracker = new ChannelHealthTracker({ now: time.now, cool_down_ms: 5_000 });
    for (let index = 0; index < 10; index++) tracker.observe("gp", timeout);
    assert.deepEqual(tracker.admit("gp").demote, true);
    time.advance(5_000);
    assert.equal(tracker.state("gp"), "half_open");
    assert.deepEqual(tracker.admit("gp"), { demote: false, probe: true }, "the first payment probes");
    assert.equal(tracker.admit("gp").demote, true, "the others still avoid it while the probe is in flight");
    tracker.observe("gp", approved);
    assert.equal(tracker.state("gp"), "closed");
    assert.deepEqual(tracker.snapshot().gp.window, { attempts: 0, failures: 0 }, "closing starts a fresh window");
    assert.deepEqual(tracker.admit("gp"), { demote: false, probe: false });
  });

  test("a failed probe opens it again for another cool-down; an abandoned probe is replaced", () => {
    const time = clock();
    const tracker = new ChannelHealthTracker({ now: time.now, cool_down_ms: 5_000 });
    for (let index = 0; index < 10; index++) tracker.observe("gp", technical);
    time.advance(5_000);
    assert.equal(tracker.admit("gp").demote, false);
    tracker.observe("gp", timeout);
    assert.equal(tracker.state("gp"), "open");
    assert.equal(tracker.snapshot().gp.opens, 2);
    time.advance(5_000);
    assert.equal(tracker.admit("gp").demote, false, "probe claimed");
    time.advance(5_000);
    assert.equal(tracker.admit("gp").demote, false, "the probe never reported: another payment probes");
  });
});

describe("routing by health", () => {
  test("an open channel goes to the end (never dropped) and the reasons say why", async () => {
    const time = clock();
    const tracker = new ChannelHealthTracker({ now: time.now, cool_down_ms: 5_000 });
    const registry = new ChannelRegistry(withChannelHealth([fakeConnector("globalpay", Array(10).fill(timeout)), fakeConnector("localacq", [])], tracker));
    assert.deepEqual(applyChannelHealth(route(), registry), route(), "healthy: unchanged");
    for (let index = 0; index < 10; index++) await registry.require("globalpay").authorize({} as never);
    assert.equal(tracker.state("globalpay"), "open");
    const reordered = applyChannelHealth(route(), registry);
    assert.deepEqual(reordered.map((entry) => entry.channel), ["localacq", "globalpay"]);
    assert.match(reordered[1].reason, /circuit breaker open for globalpay \(10 of the last 10 attempts failed technically\): moved to the end/);
    assert.match(reordered[0].reason, /tried at position 1 instead, because circuit breaker open for globalpay/);
    assert.deepEqual(applyChannelHealth([route()[0]], registry), [route()[0]], "a single channel stays");
    time.advance(5_000);
    const probe = applyChannelHealth(route(), registry);
    assert.deepEqual(probe.map((entry) => entry.channel), ["globalpay", "localacq"]);
    assert.match(probe[0].reason, /half-open for globalpay: this payment is its probe/);
    assert.deepEqual(applyChannelHealth(route(), registry).map((entry) => entry.channel), ["localacq", "globalpay"]);
  });

  test("unwrapped connectors are left alone; wrapping delegates everything and reports exceptions", async () => {
    const registry = new ChannelRegistry([fakeConnector("globalpay", []), fakeConnector("localacq", [])]);
    assert.equal(healthTrackerOf(registry.get("globalpay")), undefined);
    assert.deepEqual(applyChannelHealth(route(), registry), route());
    const tracker = new ChannelHealthTracker();
    const throwing = withHealthTracking({ ...fakeConnector("gp", []), authorize: async () => { throw new Error("bug"); } }, tracker);
    await assert.rejects(() => throwing.authorize({} as never), /bug/);
    assert.equal(tracker.snapshot().gp.totals.exception, 1);
    assert.equal(healthTrackerOf(throwing), tracker);
    assert.deepEqual(await throwing.inquire("r", "USD"), { found: false });
  });
});
