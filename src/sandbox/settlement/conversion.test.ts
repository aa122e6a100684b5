// Settling in another currency (settle_in): the close's option is parsed strictly, and a converted
// line's money is exactly what Corridor's matching expects (its net the gross at the rate less
// the converted fees).
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { convertAtRate, parseDecimalRate, type DecimalRate } from "../../money/exchange-rate.ts";
import { convertLineMoney, parseSettleIn, SANDBOX_SETTLEMENT_RATES, type SettlementConversion } from "./conversion.ts";
import { globalPayCaptureFees, totalFees } from "./fees.ts";

describe("sandbox settlement: settle_in", () => {
  test("parses pairs the sandbox has a rate for, and refuses anything else", () => {
    const parsed = parseSettleIn({ EUR: "USD", USD: "USD" });
    assert.ok(parsed.ok);
    assert.deepEqual([...parsed.settle_in.keys()], ["EUR"], "a currency settled in itself is not converted");
    assert.equal(parsed.settle_in.get("EUR")?.exchange_rate, SANDBOX_SETTLEMENT_RATES["EUR:USD"]);
    assert.ok(parseSettleIn(undefined).ok);
    for (const bad of [[], "EUR", { EUR: "usd" }, { eur: "USD" }, { EUR: 1 }, { EUR: "BRL" }]) {
      assert.equal(parseSettleIn(bad).ok, false, JSON.stringify(bad));
    }
  });

  test("a converted line's net is its gross at the rate less its fees, each fee converted half-even", () => {
    const parsed = parseSettleIn({ EUR: "USD", USD: "JPY" });
    assert.ok(parsed.ok);
    for (const [currency, gross] of [["EUR", 10_000n], ["EUR", 3_333n], ["EUR", 1n], ["USD", 12_345n]] as const) {
      const conversion: SettlementConversion = parsed.settle_in.get(currency)!;
      const fees = globalPayCaptureFees(gross, currency, "visa");
      const converted = convertLineMoney(gross, fees, conversion);
      const rate: DecimalRate = parseDecimalRate(conversion.exchange_rate)!;
      assert.equal(converted.net, convertAtRate(gross, rate, conversion.from_exponent, conversion.to_exponent) - totalFees(converted.fees));
    }
    const eur = parsed.settle_in.get("EUR")!;
    // 10 000 EUR cents at 1.0870 are 10 870 US cents; 3 333 → 3 622.971 → 3 623.
    assert.equal(convertLineMoney(10_000n, { interchange: 0n, scheme_fees: 0n, markup: 0n, commission: 0n }, eur).net, 10_870n);
    assert.equal(convertLineMoney(3_333n, { interchange: 0n, scheme_fees: 0n, markup: 0n, commission: 0n }, eur).net, 3_623n);
    // USD → JPY (exponent 0): 123.45 USD at 150 yen = 18 517.5 → 18 518 (half to even).
    assert.equal(convertLineMoney(12_345n, { interchange: 0n, scheme_fees: 0n, markup: 0n, commission: 0n }, parsed.settle_in.get("USD")!).net, 18_518n);
  });
});
