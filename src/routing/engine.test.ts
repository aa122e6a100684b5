import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { corridorDecline, normalizeDecline } from "../channels/declines.ts";
import { decide, defaultRoutingConfigV2, observe, outcomeKindOf, RoutingStats, seededRandom } from "./engine.ts";
import { testChannel, testConfig, testContext } from "./testing.ts";

describe("engine: the success-rate bandit", () => {
  const config = testConfig({ strategy: { type: "success_rate", exploration_share: 0.1 } });
  const context = testContext();

  function play(stats: RoutingStats, rates: Record<string, number>, rounds: number, random: () => number): Record<string, number> {
    const firsts: Record<string, number> = { a: 0, b: 0 };
    for (let round = 0; round < rounds; round++) {
      const decision = decide(config, context, stats, random);
      const channel = decision.route[0].channel;
      firsts[channel]++;
      observe(stats, { channel, segment: decision.segment, kind: random() < rates[channel] ? "approved" : "soft" });
    }
    return firsts;
  }

  it("converges to the better channel on a stationary two-arm problem, and re-adapts after the arms swap", () => {
    const stats = new RoutingStats({ discount_window: 300 });
    const random = seededRandom(2024);
    play(stats, { a: 0.7, b: 0.85 }, 1_500, random);
    const settled = play(stats, { a: 0.7, b: 0.85 }, 1_000, random);
    assert.ok(settled.b / 1_000 >= 0.9, `b first in ${settled.b} of 1000`);

    // The arms swap: a is now the better one.
    const adapting = play(stats, { a: 0.85, b: 0.7 }, 1_500, random);
    const readapted = play(stats, { a: 0.85, b: 0.7 }, 1_000, random);
    assert.ok(adapting.a > 0, "it noticed");
    assert.ok(readapted.a / 1_000 >= 0.9, `a first in ${readapted.a} of 1000 after the swap`);
  });

  it("is reproducible for a seed", () => {
    const run = () => play(new RoutingStats(), { a: 0.6, b: 0.8 }, 500, seededRandom(5));
    assert.deepEqual(run(), run());
  });
});

describe("engine: decisions", () => {
  it("returns entries with strategy, reason and scores, the segment and its time", () => {
    const config = defaultRoutingConfigV2(["globalpay", "localacq"]);
    const context = testContext({ brand: "visa", country: "BR", currency: "BRL", amount: 10_000 }, [testChannel("globalpay"), testChannel("localacq")]);
    const decision = decide(config, context, new RoutingStats(), seededRandom(1));
    assert.equal(decision.segment, "brand=visa|bin_country=BR|amount_band=1");
    assert.equal(decision.route.length, 2);
    for (const entry of decision.route) {
      assert.ok(["cost_aware", "success_rate"].includes(entry.strategy));
      assert.equal(typeof entry.reason, "string");
      assert.equal(typeof entry.scores.approval_mean, "number");
      assert.equal(entry.scores.breaker, "closed");
    }
    // Nothing known yet: equal estimates, so the cheaper (domestic) channel goes first.
    assert.equal(decision.route[0].channel, "localacq");
    assert.deepEqual(decision.route.map((e) => e.scores.cost_minor), [220, 690]);
    assert.ok(decision.decision_us >= 0);
  });

  it("an empty route when no channel can take the payment", () => {
    const decision = decide(testConfig(), testContext({ brand: "amex" }), new RoutingStats(), Math.random);
    assert.deepEqual(decision.route, []);
    assert.deepEqual(decision.skipped, ["a does not accept amex", "b does not accept amex"]);
  });

  it("decides in well under 50 µs (p99) for three channels", () => {
    const config = defaultRoutingConfigV2(["a", "b", "c"]);
    const channels = [testChannel("a"), testChannel("b"), testChannel("c")];
    const stats = new RoutingStats();
    const random = seededRandom(11);
    const contexts = ["US", "BR", "IN", "MX"].map((country) => testContext({ country, amount: 5_000 }, channels));
    const timings: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const decision = decide(config, contexts[i % contexts.length], stats, random);
      observe(stats, { channel: decision.route[0].channel, segment: decision.segment, kind: random() < 0.8 ? "approved" : "soft" });
      if (i >= 2_000) timings.push(decision.decision_us);
    }
    timings.sort((x, y) => x - y);
    const p99 = timings[Math.floor(timings.length * 0.99)];
    assert.ok(p99 <= 50, `p99 ${p99} µs`);
  });
});

describe("engine: outcomes", () => {
  it("maps authorize outcomes to what routing learns", () => {
    assert.equal(outcomeKindOf({ kind: "approved", channel_reference: "r", captured: true, raw: null }), "approved");
    assert.equal(outcomeKindOf({ kind: "declined", decline: normalizeDecline("globalpay", "INSUFFICIENT_FUNDS"), raw: null }), "soft");
    assert.equal(outcomeKindOf({ kind: "declined", decline: normalizeDecline("globalpay", "DO_NOT_HONOR"), raw: null }), "hard");
    assert.equal(outcomeKindOf({ kind: "error", decline: corridorDecline("processing_error"), raw: null }), "technical");
    assert.equal(outcomeKindOf({ kind: "unknown", reason: "timeout" }), "unknown");
    assert.equal(outcomeKindOf({ kind: "challenge", channel_reference: "r", redirect_url: "u", raw: null }), undefined);
    assert.equal(outcomeKindOf({ kind: "error", decline: corridorDecline("currency_not_supported"), raw: null }), undefined);
  });
});
