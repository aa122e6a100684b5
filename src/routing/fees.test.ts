import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { convertMinor, defaultFeeModel, defaultFx, divideHalfEven, estimateCost, estimateFee, type FeeQuery } from "./fees.ts";

const query = (overrides: Partial<FeeQuery>): FeeQuery => ({ method: "card", brand: "visa", card_country: "US", amount: 10_000, currency: "USD", ...overrides });

describe("fee models", () => {
  it("rounds half to even, both signs", () => {
    assert.equal(divideHalfEven(25n, 10n), 2n);
    assert.equal(divideHalfEven(35n, 10n), 4n);
    assert.equal(divideHalfEven(26n, 10n), 3n);
    assert.equal(divideHalfEven(24n, 10n), 2n);
    assert.equal(divideHalfEven(-25n, 10n), -2n);
    assert.equal(divideHalfEven(-35n, 10n), -4n);
    assert.throws(() => divideHalfEven(1n, 0n));
  });

  it("converts minor units across exponents at mid rate", () => {
    assert.equal(convertMinor(defaultFx, 30n, "USD", "GBP"), 24n); // 23.7
    assert.equal(convertMinor(defaultFx, 30n, "USD", "BRL"), 150n);
    assert.equal(convertMinor(defaultFx, 10n, "USD", "IDR"), 160_000n); // 1,600.00 IDR
    assert.equal(convertMinor(defaultFx, 100n, "USD", "JPY"), 150n); // JPY has no minor unit
    assert.equal(convertMinor(defaultFx, 100n, "USD", "CHF"), undefined);
  });

  it("globalpay: 2.9 % + 30 ¢ domestic; +1 % cross-border; +1.5 % FX; amex 3.5 %", () => {
    assert.equal(estimateCost(defaultFeeModel, "globalpay", query({})), 290 + 30);
    // GB card in GBP: (2.9 + 1) % of £100 = 390p; 30 ¢ = 23.7p → 24p.
    assert.deepEqual(estimateFee(defaultFeeModel, "globalpay", query({ card_country: "GB", currency: "GBP" })), {
      cost_minor: 414, percent_bps: 390, percent_minor: 390, fixed_minor: 24, cross_border: true, fx_conversion: false, line: 1,
    });
    // BR card in BRL: (2.9 + 1 + 1.5) % of R$100 = 540; 30 ¢ = 150 centavos.
    assert.equal(estimateCost(defaultFeeModel, "globalpay", query({ card_country: "BR", currency: "BRL" })), 690);
    assert.equal(estimateCost(defaultFeeModel, "globalpay", query({ brand: "amex" })), 350 + 30);
    // Unknown card country counts as cross-border.
    assert.equal(estimateCost(defaultFeeModel, "globalpay", query({ card_country: null })), 390 + 30);
  });

  it("localacq: cheap domestic (local schemes cheapest), expensive cross-border", () => {
    // Domestic Elo, R$100: 1.1 % = 110; 5 ¢ = 25 centavos.
    assert.equal(estimateCost(defaultFeeModel, "localacq", query({ brand: "elo", card_country: "BR", currency: "BRL" })), 135);
    // Domestic RuPay ₹1,234.56: 1.1 % = 1,358.016 → 1,358 paise; 5 ¢ = 415 paise.
    assert.equal(estimateCost(defaultFeeModel, "localacq", query({ brand: "rupay", card_country: "IN", currency: "INR", amount: 123_456 })), 1_773);
    // Domestic Visa in IDR 10,000.00: 1.7 % = 17,000; 10 ¢ = 160,000 (1,600.00 IDR).
    assert.equal(estimateCost(defaultFeeModel, "localacq", query({ card_country: "ID", currency: "IDR", amount: 1_000_000 })), 177_000);
    // A US card in USD: (3.2 + 2.5) % = 570; 30 ¢.
    assert.equal(estimateCost(defaultFeeModel, "localacq", query({})), 600);
  });

  it("rounds the percentage half-even", () => {
    assert.equal(estimateCost(defaultFeeModel, "globalpay", query({ amount: 500 })), 14 + 30); // 2.9 % of 500 = 14.5 → 14
    assert.equal(estimateCost(defaultFeeModel, "globalpay", query({ amount: 1_500 })), 44 + 30); // 2.9 % of 1,500 = 43.5 → 44
  });

  it("unknown channel or unconvertible currency: no estimate", () => {
    assert.equal(estimateCost(defaultFeeModel, "nowhere", query({})), undefined);
    assert.equal(estimateCost(defaultFeeModel, "globalpay", query({ currency: "CHF" })), undefined);
  });
});
