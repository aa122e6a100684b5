// Installment plans: properties over random amounts (sum, remainder on the first, minimums) and
// the documented shapes (pay-in-4 every 2 weeks, parcelado, meses sin intereses, month ends).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { addMonths, dueDates, feeMinor, planFor, planRules, providerFeeFor, splitAmount } from "./plans.ts";

const checkout = Date.UTC(2026, 0, 31, 12, 0, 0);

describe("splitAmount", () => {
  it("adds up, puts the remainder on the first, and the rest are equal", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 99_999_999_999 }), fc.integer({ min: 1, max: 12 }), (amount, count) => {
      const parts = splitAmount(amount, count);
      assert.equal(parts.length, count);
      assert.equal(parts.reduce((sum, part) => sum + part, 0), amount);
      const base = Math.floor(amount / count);
      assert.equal(parts[0], base + (amount % count));
      for (const part of parts.slice(1)) assert.equal(part, base);
      assert.ok(parts[0]! - base < count, "the remainder is less than one minor unit per installment");
    }));
  });
});

describe("planFor", () => {
  it("every accepted plan adds up and honours its minimum installment, for every currency and count", () => {
    const currencies = Object.keys(planRules);
    fc.assert(fc.property(fc.constantFrom(...currencies), fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 13 }), (currency, amount, count) => {
      const rule = planRules[currency]!;
      const result = planFor(amount, currency, count, checkout);
      if (!result.ok) return;
      assert.ok(rule.counts.includes(count));
      const amounts = result.plan.installments.map((item) => item.amount);
      assert.equal(amounts.reduce((sum, part) => sum + part, 0), amount);
      for (const part of amounts) assert.ok(part >= rule.installment_minor_min, `${part} ≥ ${rule.installment_minor_min}`);
      assert.ok(result.plan.fee > 0 && result.plan.fee < amount);
    }));
  });

  it("pay-in-4: four installments every 14 days, the first at checkout, remainder first", () => {
    const result = planFor(10_001, "USD", undefined, checkout);
    assert.ok(result.ok);
    assert.equal(result.plan.type, "pay_in_4");
    assert.deepEqual(result.plan.installments.map((item) => item.amount), [2501, 2500, 2500, 2500]);
    assert.deepEqual(result.plan.installments.map((item) => item.due_date), ["2026-01-31", "2026-02-14", "2026-02-28", "2026-03-14"]);
    assert.equal(result.plan.fee, 600 + 30, "6 % of 100.01 rounds half-even to 6.00, plus 0.30");
    assert.equal(planFor(10_001, "EUR", 3, checkout).ok, false);
  });

  it("parcelado: 1 to 12 monthly installments of at least 5 BRL", () => {
    const result = planFor(10_003, "BRL", 12, checkout);
    assert.ok(result.ok);
    assert.equal(result.plan.type, "parcelado");
    assert.equal(result.plan.installments[0]!.amount, 833 + 7);
    assert.equal(result.plan.installments[0]!.due_date, "2026-02-28", "Jan 31 + 1 month is clamped to Feb 28");
    assert.equal(result.plan.installments[1]!.due_date, "2026-03-31");
    const tooMany = planFor(2_000, "BRL", 5, checkout);
    assert.ok(!tooMany.ok && tooMany.problem === "installments_unsupported" && /at most 4 installments/.test(tooMany.message));
    assert.equal(planFor(2_000, "BRL", 13, checkout).ok, false);
    assert.equal(planFor(2_000, "BRL", 4, checkout).ok, true);
  });

  it("meses sin intereses: 3, 6, 9 or 12 of at least 100 MXN", () => {
    assert.equal(planFor(120_000, "MXN", 6, checkout).ok, true);
    assert.equal(planFor(120_000, "MXN", 12, checkout).ok, true);
    assert.equal(planFor(120_000, "MXN", 4, checkout).ok, false);
    assert.equal(planFor(110_000, "MXN", 12, checkout).ok, false, "91.66 MXN per installment is under the minimum");
    const result = planFor(100_001, "MXN", 9, checkout);
    assert.ok(result.ok);
    assert.deepEqual(result.plan.installments.map((item) => item.amount), [11_113, ...Array(8).fill(11_111)]);
  });

  it("refuses currencies without a plan", () => {
    const result = planFor(10_000, "JPY", undefined, checkout);
    assert.ok(!result.ok && result.problem === "currency_unsupported");
  });
});

describe("fees and dates", () => {
  it("fees are half-even basis points plus the fixed part", () => {
    assert.equal(feeMinor(250, { percent_bps: 100, fixed_minor: 0 }), 2, "2.5 rounds to 2");
    assert.equal(feeMinor(350, { percent_bps: 100, fixed_minor: 0 }), 4, "3.5 rounds to 4");
    assert.deepEqual(providerFeeFor("meses_sin_intereses", 12), { percent_bps: 700, fixed_minor: 0 });
  });

  it("monthly dates clamp to the end of the month; 2-week dates are 14 days apart", () => {
    assert.equal(addMonths(Date.UTC(2024, 0, 31), 1), "2024-02-29");
    assert.equal(addMonths(Date.UTC(2026, 10, 30), 3), "2027-02-28");
    assert.deepEqual(dueDates("every_2_weeks", 2, Date.UTC(2026, 11, 25)), ["2026-12-25", "2027-01-08"]);
  });
});
