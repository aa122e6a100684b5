import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultFx } from "../routing/fees.ts";
import { merchantFee, type MerchantPricing } from "./pricing.ts";

const base = { merchant_id: "mer_x", version: 1, created_ms: 0 };
const blended: MerchantPricing = { ...base, model: "blended", percent_bps: 290, fixed_amount: 30, currency: "USD" };
const icpp: MerchantPricing = { ...base, model: "interchange_plus", percent_bps: 50, fixed_amount: 10, currency: "USD" };
const line = { gross: 10_000n, currency: "USD", interchange: 180n, scheme_fees: 20n };

test("blended: percent of gross (half-even) plus fixed", () => {
  assert.equal(merchantFee(blended, line, defaultFx), 290n + 30n);
  // 2.9 % of 1 250 = 36.25 → 36; of 1 750 = 50.75 → 51; 0.5 % of 100 = 0.5 → 0 (even), of 300 = 1.5 → 2 (even)
  assert.equal(merchantFee(blended, { ...line, gross: 1_250n }, defaultFx), 36n + 30n);
  assert.equal(merchantFee(blended, { ...line, gross: 1_750n }, defaultFx), 51n + 30n);
  assert.equal(merchantFee({ ...icpp, fixed_amount: 0 }, { ...line, gross: 100n, interchange: 0n, scheme_fees: 0n }, defaultFx), 0n);
  assert.equal(merchantFee({ ...icpp, fixed_amount: 0 }, { ...line, gross: 300n, interchange: 0n, scheme_fees: 0n }, defaultFx), 2n);
});

test("interchange++: reported interchange and scheme fees passed through, plus markup and fixed", () => {
  assert.equal(merchantFee(icpp, line, defaultFx), 180n + 20n + 50n + 10n);
});

test("the fixed fee is converted to the line's currency at the mid rate", () => {
  // 30 US cents at 0.92 EUR per USD = 27.6 → 28 euro cents
  assert.equal(merchantFee(blended, { ...line, currency: "EUR" }, defaultFx), 290n + 28n);
});

test("refunds, chargebacks and unpriced merchants carry no fee", () => {
  assert.equal(merchantFee(blended, { ...line, gross: -5_000n }, defaultFx), 0n);
  assert.equal(merchantFee(undefined, line, defaultFx), 0n);
});
