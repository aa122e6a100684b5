import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeConditions, matchesConditions } from "./conditions.ts";
import { testFacts } from "./testing.ts";

describe("extended rule conditions", () => {
  const facts = testFacts({ brand: "elo", currency: "BRL", country: "BR", amount: 5_000, issuer: "itau", card_type: "debit", metadata: { tier: "gold", channel: "app" } });

  it("v1 conditions still match as before", () => {
    assert.equal(matchesConditions({}, facts), true);
    assert.equal(matchesConditions({ brands: ["elo"], currencies: ["BRL"], countries: ["BR"] }, facts), true);
    assert.equal(matchesConditions({ countries: ["MX"] }, facts), false);
    assert.equal(matchesConditions({ countries: ["BR"] }, { ...facts, country: null }), false);
    assert.equal(matchesConditions({ amount_min: 5_000, amount_max: 5_000 }, facts), true);
    assert.equal(matchesConditions({ amount_min: 5_001 }, facts), false);
    assert.equal(matchesConditions({ amount_max: 4_999 }, facts), false);
  });

  it("issuer, card type and metadata equality", () => {
    assert.equal(matchesConditions({ issuers: ["itau", "bradesco"] }, facts), true);
    assert.equal(matchesConditions({ issuers: ["nubank"] }, facts), false);
    assert.equal(matchesConditions({ issuers: ["itau"] }, { ...facts, issuer: null }), false);
    assert.equal(matchesConditions({ card_types: ["debit"] }, facts), true);
    assert.equal(matchesConditions({ card_types: ["credit"] }, facts), false);
    assert.equal(matchesConditions({ metadata: { tier: "gold" } }, facts), true);
    assert.equal(matchesConditions({ metadata: { tier: "gold", channel: "web" } }, facts), false);
    assert.equal(matchesConditions({ metadata: { toString: "x" } }, facts), false, "only own keys");
  });

  it("describes itself for reasons", () => {
    assert.equal(describeConditions({}), "always");
    assert.equal(describeConditions({ brands: ["visa", "elo"], issuers: ["itau"], metadata: { tier: "gold" } }), "brands=visa|elo, issuers=itau, metadata.tier=gold");
  });
});
