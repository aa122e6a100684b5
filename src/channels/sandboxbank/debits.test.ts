// The sandbox bank's debit wire format: notices (signed like its transfer notices) and answers,
// converted to the debit contract.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { signSbank } from "../../sandbox/bank/handler.ts";
import { addBankingDays } from "../../sandbox/bank/debits.ts";
import { debitInquiryOutcome, parseDebitNotification, submitOutcome } from "./debits.ts";

const secret = "test_secret";
const headersFor = (body: string, key = secret) => ({ "x-sbank-signature": signSbank(key, body) });

describe("debit notifications", () => {
  it("a signed debit notice names our reference", () => {
    const body = JSON.stringify({ event: "debit.returned", merchant_ref: "att_1", reason_code: "R01" });
    assert.deepEqual(parseDebitNotification(headersFor(body), body, secret), { kind: "debit", reference: "att_1" });
  });
  it("a transfer notice is not a debit notice (the collection flow reads it)", () => {
    const body = JSON.stringify({ event: "transfer.received", merchant_ref: "att_1", transfer_id: "trf_1" });
    assert.deepEqual(parseDebitNotification(headersFor(body), body, secret), { kind: "not_a_debit" });
    assert.deepEqual(parseDebitNotification({}, "not json", secret), { kind: "not_a_debit" });
  });
  it("a wrong, missing or stale signature is rejected", () => {
    const body = JSON.stringify({ event: "debit.settled", merchant_ref: "att_1" });
    assert.equal(parseDebitNotification(headersFor(body, "other"), body, secret).kind, "rejected");
    assert.equal(parseDebitNotification({}, body, secret).kind, "rejected");
    const stale = { "x-sbank-signature": signSbank(secret, body, Math.floor(Date.now() / 1000) - 3600) };
    assert.equal(parseDebitNotification(stale, body, secret).kind, "rejected");
  });
});

describe("debit answers", () => {
  const debit = { debit_id: "dbt_1", merchant_ref: "att_1", amount: 100, currency: "EUR", status: "pending", settled_at: null, return: null };
  it("a submission answer: accepted, refused (4xx), or unknown (timeout, 5xx)", () => {
    assert.deepEqual(submitOutcome({ kind: "answered", status: 201, body: JSON.stringify({ debit }) }), { kind: "accepted", channel_reference: "dbt_1" });
    assert.equal(submitOutcome({ kind: "answered", status: 400, body: "{}" }).kind, "error");
    assert.equal(submitOutcome({ kind: "answered", status: 503, body: "" }).kind, "unknown");
    assert.equal(submitOutcome({ kind: "unknown", reason: "timeout" }).kind, "unknown");
    assert.equal(submitOutcome({ kind: "not_sent", reason: "refused" }).kind, "error");
  });
  it("an inquiry answer: the record with its settlement and return, not found, or unreachable", () => {
    const returned = { ...debit, status: "returned", settled_at: "2026-11-27T00:00:00.000Z", return: { return_id: "rtn_1", reason_code: "MD06", returned_at: "2026-12-02T00:00:00.000Z" } };
    assert.deepEqual(debitInquiryOutcome({ kind: "answered", status: 200, body: JSON.stringify({ debit: returned }) }), {
      found: true, channel_reference: "dbt_1", amount: 100, currency: "EUR", status: "returned",
      settled_at_ms: Date.parse("2026-11-27T00:00:00.000Z"), return: { id: "rtn_1", reason_code: "MD06", returned_at_ms: Date.parse("2026-12-02T00:00:00.000Z") },
    });
    assert.deepEqual(debitInquiryOutcome({ kind: "answered", status: 404, body: "{}" }), { found: false });
    assert.ok("unreachable" in debitInquiryOutcome({ kind: "answered", status: 200, body: JSON.stringify({ debit: { ...debit, status: "lost" } }) }));
    assert.ok("unreachable" in debitInquiryOutcome({ kind: "unknown", reason: "reset" }));
  });
});

describe("banking days", () => {
  it("skip Saturdays and Sundays", () => {
    const friday = Date.UTC(2026, 10, 27, 10);
    assert.equal(addBankingDays(friday, 1), Date.UTC(2026, 10, 30, 10));
    assert.equal(addBankingDays(friday, 2), Date.UTC(2026, 11, 1, 10));
    const monday = Date.UTC(2026, 10, 23, 10);
    assert.equal(addBankingDays(monday, 2), Date.UTC(2026, 10, 25, 10));
  });
});
