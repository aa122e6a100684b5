import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isVirtualAccountOf, makeVirtualAccount, vaBankPrefixes, VA_LENGTH } from "./va.ts";

describe("Indonesian virtual accounts", () => {
  it("are the bank prefix, the merchant code and payment digits, 16 digits in all", () => {
    for (const bank of Object.keys(vaBankPrefixes)) {
      const va = makeVirtualAccount(bank, "mer_1", "pay_01abc");
      assert.equal(va.length, VA_LENGTH);
      assert.match(va, /^[0-9]+$/);
      assert.ok(va.startsWith(vaBankPrefixes[bank]));
      assert.ok(isVirtualAccountOf(bank, va));
    }
  });

  it("share the merchant part between payments and differ per payment", () => {
    const a = makeVirtualAccount("bca", "mer_1", "pay_a");
    const b = makeVirtualAccount("bca", "mer_1", "pay_b");
    const c = makeVirtualAccount("bca", "mer_2", "pay_a");
    assert.equal(a.slice(0, 9), b.slice(0, 9));
    assert.notEqual(a, b);
    assert.notEqual(a.slice(5, 9), c.slice(5, 9));
    assert.equal(makeVirtualAccount("bca", "mer_1", "pay_a"), a, "stable");
  });
});
