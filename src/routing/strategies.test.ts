import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decide, observe } from "./engine.ts";
import { seededRandom } from "./random.ts";
import { RoutingStats, type OutcomeKind } from "./stats.ts";
import { compileConfig, routeByRules, segmentOf, splitByVolume } from "./strategies.ts";
import { testChannel, testConfig, testContext } from "./testing.ts";
import type { FeeModel } from "./fees.ts";

const channels = [testChannel("a"), testChannel("b"), testChannel("c", { brands: ["visa", "elo"], currencies: ["BRL"] })];

function feed(stats: RoutingStats, segment: string, channel: string, approved: number, declined: number): void {
  // interleaved, so that discounting treats both alike
  const total = approved + declined;
  for (let i = 0; i < total; i++) {
    const kind: OutcomeKind = Math.floor(((i + 1) * approved) / total) > Math.floor((i * approved) / total) ? "approved" : "soft";
    observe(stats, { channel, segment, kind });
  }
}

describe("rules strategy (extended conditions)", () => {
  it("first matching rule, eligibility, reasons and skips", () => {
    const config = testConfig({
      rules: [
        { name: "gold debit", conditions: { card_types: ["debit"], metadata: { tier: "gold" } }, channels: ["c", "b", "zz"] },
        { name: "issuer x", conditions: { issuers: ["x"], amount_min: 500 }, channels: ["b"] },
      ],
      default_channels: ["a", "b"],
    });
    const compiled = compileConfig(config);
    const gold = routeByRules(compiled, testContext({ card_type: "debit", metadata: { tier: "gold" } }, channels));
    assert.deepEqual(gold.route.map((entry) => entry.channel), ["b"]);
    assert.deepEqual(gold.skipped, ["c does not accept USD", "zz is not configured"]);
    assert.match(gold.route[0].reason, /^rule #1 "gold debit" \(card_types=debit, metadata.tier=gold\): priority 1; skipped: c does not accept USD; zz is not configured$/);
    assert.equal(gold.route[0].strategy, "rules");
    assert.deepEqual(gold.route[0].scores, { rule_priority: 1 });
    assert.deepEqual(routeByRules(compiled, testContext({ issuer: "x", amount: 500 }, channels)).route.map((e) => e.channel), ["b"]);
    assert.deepEqual(routeByRules(compiled, testContext({ issuer: "x", amount: 499 }, channels)).route.map((e) => e.channel), ["a", "b"]);
  });
});

describe("volume split", () => {
  it("follows integer weights, deterministically for a seed; unweighted channels go last", () => {
    const config = testConfig({ default_channels: ["a", "b", "c"], strategy: { type: "volume_split", weights: { a: 3, b: 1 } } });
    const context = testContext({ currency: "BRL" }, channels);
    const run = (seed: number) => {
      const random = seededRandom(seed);
      const stats = new RoutingStats();
      return Array.from({ length: 4_000 }, () => decide(config, context, stats, random).route.map((e) => e.channel).join(","));
    };
    const orders = run(1);
    assert.deepEqual(orders, run(1));
    const aFirst = orders.filter((order) => order === "a,b,c").length / orders.length;
    assert.ok(Math.abs(aFirst - 0.75) < 0.03, `a first in ${aFirst}`);
    assert.ok(orders.every((order) => order === "a,b,c" || order === "b,a,c"));
    const entry = splitByVolume(routeByRules(compileConfig(config), context).route, { a: 3, b: 1 }, () => 0.9)[0];
    assert.equal(entry.channel, "b");
    assert.equal(entry.strategy, "volume_split");
    assert.equal(entry.reason, "volume_split: drawn 1st with weight 1 of 4");
  });
});

describe("success-rate strategy", () => {
  const config = testConfig({ strategy: { type: "success_rate", exploration_share: 0.1, segment_by: ["brand", "bin_country", "amount_band"] } });

  it("puts the channel with the best posterior first, with its scores", () => {
    const stats = new RoutingStats({ discount_window: 1e9, drift_window: 0 });
    const context = testContext({}, channels);
    const segment = segmentOf(compileConfig(config), context);
    assert.equal(segment, "brand=visa|bin_country=US|amount_band=0");
    feed(stats, segment, "a", 70, 30);
    feed(stats, segment, "b", 90, 10);
    const decision = decide({ ...config, strategy: { ...config.strategy, exploration_share: 0 } }, context, stats, seededRandom(3));
    assert.deepEqual(decision.route.map((e) => e.channel), ["b", "a"]);
    assert.equal(decision.route[0].strategy, "success_rate");
    assert.equal(decision.route[0].scores.evidence, 100);
    assert.ok(Math.abs(decision.route[0].scores.approval_mean! - 91 / 102) < 1e-9);
    assert.match(decision.route[0].reason, /^success_rate: highest expected approval in brand=visa\|bin_country=US\|amount_band=0: 89\.2% \(~100 outcomes\)$/);
    assert.match(decision.route[1].reason, /^success_rate: fallback #1, expected approval 69\.6%/);
  });

  it("explores at most the configured share of decisions", () => {
    const stats = new RoutingStats();
    const random = seededRandom(9);
    let explored = 0;
    const decisions = 5_000;
    for (let i = 0; i < decisions; i++) if (decide(config, testContext({}, channels), stats, random).route[0].reason.includes("exploring")) explored++;
    // Unknown arms: the sample disagrees with the (tied) best estimate half the time; 10 % of those explore.
    assert.ok(explored > 0 && explored / decisions <= 0.1, `explored ${explored}`);
    assert.ok(Math.abs(explored / decisions - 0.05) < 0.01);
  });
});

describe("cost-aware strategy", () => {
  // a: expensive, b: 0.5 point worse and cheaper, c: cheapest but 5 points worse.
  const fees: FeeModel = {
    fx: { per_usd_micro: { USD: 1_000_000n } },
    channels: Object.fromEntries([["a", 300], ["b", 200], ["c", 100]].map(([name, bps]) => [name, {
      acquiring_countries: ["US"], settlement_currencies: ["USD"], lines: [{ percent_bps: bps as number, fixed: { amount_minor: 0, currency: "USD" } }],
      cross_border_bps: 0, fx_markup_bps: 0,
    }])),
  };
  const three = [testChannel("a"), testChannel("b"), testChannel("c")];
  const config = testConfig({ default_channels: ["a", "b", "c"], strategy: { type: "cost_aware", exploration_share: 0, margin_bps: 100 } });

  it("prefers the cheapest channel within the margin of the best expected approval", () => {
    const stats = new RoutingStats({ discount_window: 1e9, drift_window: 0 });
    const context = testContext({ amount: 10_000 }, three, fees);
    const segment = segmentOf(compileConfig(config), context);
    feed(stats, segment, "a", 900, 100);
    feed(stats, segment, "b", 895, 105);
    feed(stats, segment, "c", 850, 150);
    const decision = decide(config, context, stats, seededRandom(1));
    assert.deepEqual(decision.route.map((e) => [e.channel, e.scores.cost_minor]), [["b", 200], ["a", 300], ["c", 100]]);
    assert.equal(decision.route[0].strategy, "cost_aware");
    assert.match(decision.route[0].reason, /^cost_aware: cheapest \(200 minor units\) of the channels within 100 bps of the best expected approval .* \(89\.9%\); its own 89\.4% \(~1000 outcomes\)$/);
    // With no margin, the best expected approval wins.
    const strict = decide({ ...config, strategy: { ...config.strategy, margin_bps: 0 } }, context, stats, seededRandom(1));
    assert.equal(strict.route[0].channel, "a");
  });
});

describe("elimination (health.ts breakers per channel and per channel × segment)", () => {
  const elimination = { enabled: true, failure_threshold: 0.6, window: 20, cooldown_ms: 10_000, min_attempts: 10 };
  const config = testConfig({ elimination, strategy: { type: "rules" } });

  it("open → half-open (one probe) → closed", () => {
    let now = 1_000_000;
    const stats = new RoutingStats({ now: () => now });
    const context = testContext();
    const first = decide(config, context, stats, Math.random);
    assert.deepEqual(first.route.map((e) => e.channel), ["a", "b"]);
    for (let i = 0; i < 10; i++) observe(stats, { channel: "a", segment: first.segment, kind: i % 2 ? "technical" : "unknown" });

    const open = decide(config, context, stats, Math.random);
    assert.deepEqual(open.route.map((e) => [e.channel, e.strategy, e.scores.breaker]), [["b", "rules", "closed"], ["a", "elimination", "open"]]);
    assert.match(open.route[1].reason, /^elimination: circuit breaker open for a: moved to the end/);

    now += 10_000;
    const probe = decide(config, context, stats, Math.random);
    assert.deepEqual(probe.route.map((e) => [e.channel, e.scores.breaker]), [["a", "half_open"], ["b", "closed"]]);
    assert.match(probe.route[0].reason, /half-open for a: this payment is its probe/);
    const whileProbing = decide(config, context, stats, Math.random);
    assert.deepEqual(whileProbing.route.map((e) => e.channel), ["b", "a"], "one probe at a time");

    observe(stats, { channel: "a", segment: probe.segment, kind: "hard" }); // a decline: the channel works
    const closed = decide(config, context, stats, Math.random);
    assert.deepEqual(closed.route.map((e) => [e.channel, e.scores.breaker]), [["a", "closed"], ["b", "closed"]]);
  });

  it("a failed probe opens the breaker again", () => {
    let now = 0;
    const stats = new RoutingStats({ now: () => now });
    const context = testContext();
    const { segment } = decide(config, context, stats, Math.random);
    for (let i = 0; i < 10; i++) observe(stats, { channel: "a", segment, kind: "technical" });
    now += 10_000;
    assert.equal(decide(config, context, stats, Math.random).route[0].channel, "a");
    observe(stats, { channel: "a", segment, kind: "technical" });
    assert.deepEqual(decide(config, context, stats, Math.random).route.map((e) => [e.channel, e.scores.breaker]), [["b", "closed"], ["a", "open"]]);
  });

  it("a channel failing in one segment only is demoted in that segment only; 'drop' drops it", () => {
    const stats = new RoutingStats({ now: () => 0 });
    const us = testContext({ country: "US" });
    const br = testContext({ country: "BR" });
    const usSegment = decide(config, us, stats, Math.random).segment;
    const brSegment = decide(config, br, stats, Math.random).segment;
    for (let i = 0; i < 10; i++) observe(stats, { channel: "a", segment: usSegment, kind: "approved" });
    for (let i = 0; i < 10; i++) observe(stats, { channel: "a", segment: brSegment, kind: "technical" });
    // channel-wide: 10 failures of 20 (below 0.6); in BR: 10 of 10.
    assert.deepEqual(decide(config, us, stats, Math.random).route.map((e) => e.channel), ["a", "b"]);
    const demoted = decide(config, br, stats, Math.random);
    assert.deepEqual(demoted.route.map((e) => e.channel), ["b", "a"]);
    assert.match(demoted.route[1].reason, /circuit breaker open for a in brand=visa\|bin_country=BR\|amount_band=0/);
    const drop = testConfig({ elimination: { ...elimination, open_channels: "drop" } });
    assert.deepEqual(decide(drop, br, stats, Math.random).route.map((e) => e.channel), ["b"]);
  });

  it("a lone channel is never eliminated", () => {
    const stats = new RoutingStats({ now: () => 0 });
    const context = testContext({}, [testChannel("a")]);
    const { segment } = decide(config, context, stats, Math.random);
    for (let i = 0; i < 10; i++) observe(stats, { channel: "a", segment, kind: "technical" });
    assert.deepEqual(decide(config, context, stats, Math.random).route.map((e) => [e.channel, e.scores.breaker]), [["a", "open"]]);
  });
});

describe("channel-wide drift", () => {
  it("a channel that gets worse in busy segments is marked down in quiet ones too", () => {
    const stats = new RoutingStats({ discount_window: 1e9, drift_window: 100 });
    const config = testConfig({ strategy: { type: "success_rate", exploration_share: 0, segment_by: ["bin_country"] } });
    const quiet = testContext({ country: "BR" });
    const busy = testContext({ country: "US" });
    const quietSegment = decide(config, quiet, stats, Math.random).segment;
    const busySegment = decide(config, busy, stats, Math.random).segment;
    feed(stats, quietSegment, "a", 90, 10);
    feed(stats, quietSegment, "b", 85, 15);
    feed(stats, busySegment, "a", 900, 100);
    assert.equal(decide(config, quiet, stats, Math.random).route[0].channel, "a");
    feed(stats, busySegment, "a", 60, 140); // a degrades: 30 % instead of 90 %
    const after = decide(config, quiet, stats, Math.random);
    assert.deepEqual(after.route.map((e) => e.channel), ["b", "a"]);
    assert.ok(after.route[1].scores.approval_mean! < 0.8, `a's estimate in BR ${after.route[1].scores.approval_mean}`);
  });
});
