import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChannelCapabilities, Connector } from "../channels/contract.ts";
import { ChannelRegistry } from "../channels/registry.ts";
import { decideRoute, type PaymentFacts, type RoutingConfig } from "./rules.ts";

function channel(name: string, capabilities: Partial<ChannelCapabilities>): Connector {
  return {
    name,
    capabilities: {
      methods: ["card"], brands: ["visa", "mastercard"], currencies: "*", countries: "*",
      partial_capture: true, refund: true, partial_refund: true, three_ds: false, ...capabilities,
    },
  } as Connector;
}

const registry = new ChannelRegistry([
  channel("global", { three_ds: true }),
  channel("brazil", { brands: ["visa", "mastercard", "elo"], currencies: ["BRL"] }),
  channel("india", { brands: ["visa", "rupay"], currencies: ["INR"] }),
]);

const config: RoutingConfig = {
  rules: [
    { name: "local Brazil", conditions: { currencies: ["BRL"], countries: ["BR"] }, channels: ["brazil", "global"] },
    { name: "big tickets", conditions: { amount_min: 100_000 }, channels: ["global"] },
  ],
  default_channels: ["global", "brazil", "india"],
};

const facts = (overrides: Partial<PaymentFacts>): PaymentFacts => ({ method: "card", brand: "visa", currency: "USD", amount: 1000, country: "US", ...overrides });

describe("routing rules", () => {
  it("the first matching rule decides the order, with its reason", () => {
    const { route } = decideRoute(config, registry, facts({ currency: "BRL", country: "BR" }));
    assert.deepEqual(route.map((entry) => entry.channel), ["brazil", "global"]);
    assert.match(route[0].reason, /rule #1 "local Brazil" \(currencies=BRL, countries=BR\): priority 1/);
  });

  it("falls through to later rules and then the default list", () => {
    assert.deepEqual(decideRoute(config, registry, facts({ amount: 250_000 })).route.map((e) => e.channel), ["global"]);
    const fallback = decideRoute(config, registry, facts({}));
    assert.deepEqual(fallback.route.map((e) => e.channel), ["global"]);
    assert.match(fallback.route[0].reason, /default channel list/);
    assert.deepEqual(fallback.skipped, ["brazil does not accept USD", "india does not accept USD"]);
  });

  it("drops channels that cannot take the brand, and unknown channels", () => {
    const { route, skipped } = decideRoute({ rules: [], default_channels: ["nowhere", "global", "india"] }, registry, facts({ brand: "rupay", currency: "INR" }));
    assert.deepEqual(route.map((e) => e.channel), ["india"]);
    assert.deepEqual(skipped, ["nowhere is not configured", "global does not accept rupay"]);
  });

  it("a country condition never matches a card of unknown country", () => {
    const { route } = decideRoute(config, registry, facts({ currency: "BRL", country: null }));
    assert.match(route[0].reason, /default channel list/);
  });
});
