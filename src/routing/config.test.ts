import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultRoutingConfigV2, validateRoutingConfigV2 } from "./config.ts";

const fields = (input: unknown, known?: string[]) => {
  const result = validateRoutingConfigV2(input, known);
  return result.ok ? [] : result.errors.map((error) => error.field);
};

describe("routing config v2 validation", () => {
  it("accepts the default and a full configuration", () => {
    assert.deepEqual(fields(defaultRoutingConfigV2(["globalpay", "localacq"]), ["globalpay", "localacq"]), []);
    assert.deepEqual(fields({
      version: 2,
      rules: [{ name: "BR local", conditions: { countries: ["BR"], issuers: ["itau"], card_types: ["debit"], amount_min: 100, amount_max: 500_000, metadata: { tier: "gold" } }, channels: ["localacq", "globalpay"] }],
      default_channels: ["globalpay", "localacq"],
      strategy: { type: "volume_split", weights: { globalpay: 70, localacq: 30 }, segment_by: ["brand", "issuer"], amount_bands_usd_minor: [1_000, 50_000] },
      elimination: { enabled: true, failure_threshold: 0.4, window: 30, cooldown_ms: 5_000, min_attempts: 10, window_ms: 30_000, open_channels: "drop" },
    }, ["globalpay", "localacq"]), []);
  });

  it("names every bad field", () => {
    assert.deepEqual(fields(null), [""]);
    assert.deepEqual(fields({
      version: 1,
      rules: [{ name: "", conditions: { amount_min: 10, amount_max: 5, colour: ["red"], metadata: { tier: 3 } }, channels: [] }],
      default_channels: ["globalpay", "globalpay"],
      strategy: { type: "fastest", weights: { globalpay: 1.5, nowhere: 1 }, exploration_share: 0.9, margin_bps: -1, segment_by: ["brand", "brand", "colour"], amount_bands_usd_minor: [100, 50] },
      elimination: { enabled: "yes", failure_threshold: 0, window: 100, cooldown_ms: -1, open_channels: "hide" },
    }, ["globalpay"]).sort(), [
      "default_channels",
      "elimination.cooldown_ms",
      "elimination.enabled",
      "elimination.failure_threshold",
      "elimination.open_channels",
      "elimination.window",
      "rules[0].channels",
      "rules[0].conditions.amount_max",
      "rules[0].conditions.colour",
      "rules[0].conditions.metadata.tier",
      "rules[0].name",
      "strategy.amount_bands_usd_minor[1]",
      "strategy.exploration_share",
      "strategy.margin_bps",
      "strategy.segment_by",
      "strategy.segment_by[2]",
      "strategy.type",
      "strategy.weights.globalpay",
      "strategy.weights.nowhere",
      "version",
    ]);
  });

  it("volume split needs weights; unknown channels are named", () => {
    assert.deepEqual(fields({ ...defaultRoutingConfigV2(["a"]), strategy: { type: "volume_split" } }), ["strategy.weights"]);
    assert.deepEqual(fields({ ...defaultRoutingConfigV2(["a"]), strategy: { type: "volume_split", weights: { a: 0 } } }), ["strategy.weights"]);
    assert.deepEqual(fields(defaultRoutingConfigV2(["a", "zz"]), ["a"]), ["default_channels[1]"]);
  });
});
