import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clabeCheckDigit, clabeForPayment, isValidClabe, makeClabe } from "./clabe.ts";

describe("CLABE", () => {
  it("computes the check digit with weights 3, 7, 1 (known CLABEs)", () => {
    // Published examples: Banamex 002 010 07777777777 1; BBVA 032 180 00011835971 9.
    assert.equal(clabeCheckDigit("00201007777777777"), 1);
    assert.equal(clabeCheckDigit("03218000011835971"), 9);
    assert.ok(isValidClabe("002010077777777771"));
    assert.ok(isValidClabe("032180000118359719"));
  });

  it("rejects a wrong check digit or length", () => {
    assert.equal(isValidClabe("002010077777777772"), false);
    assert.equal(isValidClabe("00201007777777777"), false);
    assert.equal(isValidClabe("00201007777777777a"), false);
  });

  it("builds 3 bank + 3 city + 11 account + 1 check digit", () => {
    const clabe = makeClabe("646", "180", "12345678901");
    assert.equal(clabe.length, 18);
    assert.equal(clabe.slice(0, 17), "64618012345678901");
    assert.ok(isValidClabe(clabe));
    const forPayment = clabeForPayment("stp", "pay_x");
    assert.ok(forPayment.startsWith("646180"));
    assert.ok(isValidClabe(forPayment));
  });
});
