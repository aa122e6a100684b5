// Shared fixtures for the routing tests (not used by production code).
import type { ChannelCapabilities } from "../channels/contract.ts";
import type { PaymentFactsV2 } from "./conditions.ts";
import type { RoutingConfigV2 } from "./config.ts";
import type { RoutingChannel, RoutingContext } from "./context.ts";
import { defaultFeeModel, type FeeModel } from "./fees.ts";

export function testChannel(name: string, capabilities: Partial<ChannelCapabilities> = {}): RoutingChannel {
  return {
    name,
    capabilities: {
      methods: ["card"], brands: ["visa", "mastercard"], currencies: "*", countries: "*",
      partial_capture: true, refund: true, partial_refund: true, three_ds: false, ...capabilities,
    },
  };
}

export function testFacts(overrides: Partial<PaymentFactsV2> = {}): PaymentFactsV2 {
  return { method: "card", brand: "visa", currency: "USD", amount: 1_000, country: "US", issuer: null, card_type: null, metadata: {}, ...overrides };
}

export function testContext(payment: Partial<PaymentFactsV2> = {}, channels: RoutingChannel[] = [testChannel("a"), testChannel("b")], fees: FeeModel = defaultFeeModel): RoutingContext {
  return { payment: testFacts(payment), channels, fees };
}

export function testConfig(overrides: Partial<RoutingConfigV2> = {}): RoutingConfigV2 {
  return {
    version: 2, rules: [], default_channels: ["a", "b"], strategy: { type: "rules" },
    elimination: { enabled: false, failure_threshold: 0.5, window: 20, cooldown_ms: 10_000 },
    ...overrides,
  };
}
