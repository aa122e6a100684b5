import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { cardExpired, checkCardNumber, luhnValid } from "./card.ts";

describe("card numbers", () => {
  it("detects brands by prefix, local schemes included", () => {
    const brand = (number: string) => {
      const check = checkCardNumber(number);
      return check.ok ? check.brand : check.code;
    };
    assert.equal(brand("4242424242424242"), "visa");
    assert.equal(brand("5555555555554444"), "mastercard");
    assert.equal(brand("378282246310005"), "amex");
    assert.equal(brand("2200000000000004"), "mir");
    assert.equal(brand("6521500000000006"), "rupay");
    assert.equal(brand("4242424242424241"), "invalid_number");
    assert.equal(brand("42424242"), "invalid_number");
  });

  it("Luhn: changing any one digit of a valid number makes it invalid", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 9 }), (position, delta) => {
        const number = "4242424242424242";
        const digit = (Number(number[position]) + delta) % 10;
        const changed = number.slice(0, position) + digit + number.slice(position + 1);
        return !luhnValid(changed);
      }),
    );
  });

  it("expiry is the end of the expiry month, in UTC", () => {
    const now = new Date(Date.UTC(2026, 10, 25));
    assert.equal(cardExpired(11, 2026, now), false);
    assert.equal(cardExpired(10, 2026, now), true);
    assert.equal(cardExpired(1, 2027, now), false);
  });
});
