// sandboxbnpl wire conversions: money in each ISO exponent (exact, never floats), every provider
// state mapped, and the notification signature (HMAC-SHA512 over "t.body", ±5 minutes).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { signSbnpl } from "../../sandbox/bnpl/handler.ts";
import { cancelOutcome, checkoutRecord, fromWireMoney, parseSandboxBnplNotification, refundOutcome, toWireMoney } from "./transformers.ts";

describe("sandboxbnpl transformers", () => {
  it("converts minor units to decimal strings and back, in the currency's exponent", () => {
    assert.deepEqual(toWireMoney(10_001, "usd"), { value: "100.01", currency: "USD" });
    assert.deepEqual(toWireMoney(5, "EUR"), { value: "0.05", currency: "EUR" });
    assert.deepEqual(toWireMoney(1500, "JPY"), { value: "1500", currency: "JPY" });
    assert.deepEqual(toWireMoney(1_234, "KWD"), { value: "1.234", currency: "KWD" });
    assert.equal(fromWireMoney({ value: "100.01", currency: "USD" }, "USD"), 10_001);
    assert.equal(fromWireMoney({ value: "100.1", currency: "USD" }, "USD"), undefined, "wrong number of decimals");
    assert.equal(fromWireMoney({ value: "1e3", currency: "USD" }, "USD"), undefined);
    assert.equal(fromWireMoney({ value: "1.00", currency: "EUR" }, "USD"), undefined, "another currency");
  });

  it("maps records, cancels and refunds; malformed answers are not guessed", () => {
    const checkout = {
      id: "chk_1", merchant_reference: "att_1", state: "APPROVED", amount: { value: "10.00", currency: "USD" }, checkout_url: "http://p/checkout/chk_1",
      decline_reason: null, refunded: { value: "0.00", currency: "USD" },
      plan: { kind: "PAY_IN_4", count: 4, installments: [{ number: 1, due_on: "2026-01-01", amount: { value: "2.50", currency: "USD" }, refunded: { value: "0.00", currency: "USD" }, state: "PAID" }] },
    };
    const record = checkoutRecord({ kind: "answered", status: 200, body: JSON.stringify({ checkout }) }, "USD");
    assert.ok("found" in record && record.found && record.status === "approved" && record.amount === 1000 && record.installments[0]!.status === "paid");
    assert.deepEqual(checkoutRecord({ kind: "answered", status: 404, body: "{}" }, "USD"), { found: false });
    assert.ok("unreachable" in checkoutRecord({ kind: "answered", status: 200, body: JSON.stringify({ checkout: { ...checkout, state: "NEW_STATE" } }) }, "USD"));
    assert.ok("unreachable" in checkoutRecord({ kind: "unknown", reason: "timeout" }, "USD"));
    assert.deepEqual(cancelOutcome({ kind: "answered", status: 200, body: JSON.stringify({ checkout: { ...checkout, state: "VOIDED" } }) }), { kind: "canceled", was_approved: true });
    assert.equal(cancelOutcome({ kind: "answered", status: 503, body: "{}" }).kind, "unknown");
    const rejected = refundOutcome({ kind: "answered", status: 201, body: JSON.stringify({ refund: { id: "rfd_1", merchant_refund_reference: "re_1", state: "REJECTED", reason: "REFUND_NOT_ALLOWED" } }) });
    assert.ok(rejected.kind === "declined" && rejected.decline.code === "transaction_not_allowed" && rejected.decline.raw_code === "REFUND_NOT_ALLOWED");
    assert.equal(refundOutcome({ kind: "unknown", reason: "reset" }).kind, "unknown");
  });

  it("verifies the provider's signature and its timestamp", () => {
    const body = JSON.stringify({ type: "checkout.approved", merchant_reference: "att_1" });
    const now = 1_800_000_000;
    const headers = (value: string) => ({ "x-sbnpl-signature": value });
    assert.deepEqual(parseSandboxBnplNotification(headers(signSbnpl("s", body, now)), body, "s", now), { verified: true, reference: "att_1", event: "checkout.updated", refund_reference: undefined });
    assert.equal(parseSandboxBnplNotification(headers(signSbnpl("other", body, now)), body, "s", now).verified, false);
    assert.equal(parseSandboxBnplNotification(headers(signSbnpl("s", body, now - 301)), body, "s", now).verified, false);
    assert.equal(parseSandboxBnplNotification(headers(signSbnpl("s", body, now)), `${body} `, "s", now).verified, false);
    assert.equal(parseSandboxBnplNotification({}, body, "s", now).verified, false);
  });
});
