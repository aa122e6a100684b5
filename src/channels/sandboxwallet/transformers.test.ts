// The sandbox wallet connector's wire conversions: signed notifications (Ed25519), decimal-string
// amounts, and the status and result mappings.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { DEFAULT_SWALLET_SEED, loadSigningKey, publicKeyOf, signWalletNotification, SWALLET_CLIENT_ID } from "../../sandbox/wallet/index.ts";
import {
  closeOutcome, createOutcome, fromWalletMoney, NOTIFICATION_PATH, orderRecord, parseSandboxWalletNotification, refundOutcome, refundRecord,
  SANDBOX_WALLET_PUBLIC_KEY, toWalletMoney, walletPublicKey,
} from "./transformers.ts";

const key = loadSigningKey(DEFAULT_SWALLET_SEED);
const publicKey = walletPublicKey(SANDBOX_WALLET_PUBLIC_KEY);
const body = JSON.stringify({ notify_type: "PAYMENT_RESULT", merchant_order_ref: "att_1", order_id: "2026x", status: "PAID" });

function signed(raw: string, time = new Date().toISOString(), path = NOTIFICATION_PATH, signer = key) {
  return signWalletNotification(signer, path, SWALLET_CLIENT_ID, time, raw);
}

describe("sandboxwallet notifications", () => {
  it("the connector's well-known public key is the sandbox's signing key", () => {
    assert.equal(publicKeyOf(key), SANDBOX_WALLET_PUBLIC_KEY);
  });

  it("accepts a correctly signed notice and names our reference", () => {
    assert.deepEqual(parseSandboxWalletNotification(signed(body), body, publicKey), { verified: true, kind: "payment", reference: "att_1" });
    const refund = JSON.stringify({ notify_type: "REFUND_RESULT", refund_request_ref: "re_1", status: "REFUND_SUCCESS" });
    assert.deepEqual(parseSandboxWalletNotification(signed(refund), refund, publicKey), { verified: true, kind: "refund", reference: "re_1" });
  });

  it("rejects a tampered body, another path, another key, a stale time and malformed headers", () => {
    const headers = signed(body);
    const tampered = body.replace("PAID", "CLOSED");
    assert.equal(parseSandboxWalletNotification(headers, tampered, publicKey).verified, false);
    assert.equal(parseSandboxWalletNotification(signed(body, undefined, "/elsewhere"), body, publicKey).verified, false);
    const other = generateKeyPairSync("ed25519").privateKey;
    assert.equal(parseSandboxWalletNotification(signed(body, undefined, NOTIFICATION_PATH, other), body, publicKey).verified, false);
    const stale = new Date(Date.now() - 10 * 60_000).toISOString();
    assert.deepEqual(parseSandboxWalletNotification(signed(body, stale), body, publicKey), { verified: false, reason: "request-time outside tolerance" });
    assert.equal(parseSandboxWalletNotification({ ...headers, "request-time": new Date(Date.now() + 1000).toISOString() }, body, publicKey).verified, false);
    assert.equal(parseSandboxWalletNotification({ ...headers, signature: "algorithm=RSA256,keyVersion=1,signature=abc" }, body, publicKey).verified, false);
    assert.equal(parseSandboxWalletNotification({}, body, publicKey).verified, false);
  });

  it("rejects a signed notice it does not understand", () => {
    const odd = JSON.stringify({ notify_type: "SOMETHING_ELSE" });
    assert.deepEqual(parseSandboxWalletNotification(signed(odd), odd, publicKey), { verified: false, reason: "unexpected notification body" });
  });
});

describe("sandboxwallet amounts", () => {
  it("writes and reads decimal strings in the currency's exponent, exactly", () => {
    assert.deepEqual(toWalletMoney(15_000_050, "IDR"), { currency: "IDR", value: "150000.50" });
    assert.deepEqual(toWalletMoney(5, "PHP"), { currency: "PHP", value: "0.05" });
    assert.deepEqual(toWalletMoney(1500, "JPY"), { currency: "JPY", value: "1500" });
    assert.deepEqual(toWalletMoney(1234, "KWD"), { currency: "KWD", value: "1.234" });
    for (const [amount, currency] of [[15_000_050, "IDR"], [5, "PHP"], [1500, "JPY"], [1234, "KWD"]] as const) {
      assert.equal(fromWalletMoney(toWalletMoney(amount, currency)), amount);
    }
    assert.equal(fromWalletMoney({ currency: "PHP", value: "1.5" }), undefined, "not in the exponent");
    assert.equal(fromWalletMoney({ currency: "JPY", value: "15.00" }), undefined);
    assert.equal(fromWalletMoney({ currency: "PHP", value: "1e3" }), undefined);
    assert.equal(fromWalletMoney({ currency: "XXX1", value: "1.00" }), undefined);
  });
});

describe("sandboxwallet answers", () => {
  const answered = (status: number, payload: unknown) => ({ kind: "answered" as const, status, body: JSON.stringify(payload) });
  const order = (status: string, extra: Record<string, unknown> = {}) => ({
    order_id: "2026a", merchant_order_ref: "att_1", status, order_amount: { currency: "PHP", value: "100.00" }, fail_code: null, pay_url: null, qr_code: null, ...extra,
  });
  const S = { result_status: "S", result_code: "SUCCESS" };

  it("maps create answers to outcomes, timeouts to unknown", () => {
    assert.deepEqual(createOutcome(answered(200, { result: S, order: order("WAIT_PAY", { pay_url: "http://w/pay/2026a" }) })), {
      kind: "created", channel_reference: "2026a", redirect_url: "http://w/pay/2026a", qr_data: undefined,
    });
    const declined = createOutcome(answered(200, { result: { result_status: "F", result_code: "USER_NOT_FOUND" } }));
    assert.equal(declined.kind, "declined");
    assert.equal(createOutcome(answered(400, { result: { result_status: "F", result_code: "PARAM_ILLEGAL" } })).kind, "error");
    assert.equal(createOutcome(answered(200, { result: { result_status: "U", result_code: "PROCESSING" } })).kind, "unknown");
    assert.equal(createOutcome(answered(502, "<html>")).kind, "unknown");
    assert.equal(createOutcome({ kind: "unknown", reason: "timeout" }).kind, "unknown");
    assert.equal(createOutcome({ kind: "not_sent", reason: "ECONNREFUSED" }).kind, "error");
  });

  it("maps every order status, and an unknown one to unreachable (never to a state)", () => {
    for (const [wire, ours] of [["WAIT_PAY", "waiting"], ["PAID", "paid"], ["FAILED", "failed"], ["CLOSED", "closed"]] as const) {
      const record = orderRecord(answered(200, { result: S, order: order(wire, wire === "FAILED" ? { fail_code: "USER_BALANCE_NOT_ENOUGH" } : {}) }));
      assert.ok("found" in record && record.found && record.status === ours, wire);
      if (wire === "FAILED") assert.equal((record as any).decline.code, "insufficient_funds");
    }
    assert.ok("unreachable" in orderRecord(answered(200, { result: S, order: order("REFUNDED") })));
    assert.deepEqual(orderRecord(answered(404, { result: { result_status: "F", result_code: "ORDER_NOT_EXIST" } })), { found: false });
    assert.ok("unreachable" in orderRecord(answered(404, "not json")));
  });

  it("maps close and refund answers", () => {
    assert.deepEqual(closeOutcome(answered(200, { result: S, order: order("CLOSED") })), { kind: "closed" });
    assert.deepEqual(closeOutcome(answered(200, { result: { result_status: "F", result_code: "ORDER_STATUS_INVALID" }, order: order("PAID") })), { kind: "already_paid" });
    assert.equal(closeOutcome({ kind: "unknown", reason: "timeout" }).kind, "unknown");
    const refund = (status: string) => ({ refund_id: "rf1", refund_request_ref: "re_1", status, fail_code: status === "REFUND_FAILED" ? "USER_ACCOUNT_FROZEN" : null });
    assert.deepEqual(refundOutcome(answered(200, { result: S, refund: refund("REFUND_PROCESSING") })), { kind: "pending", channel_reference: "rf1" });
    assert.equal(refundOutcome(answered(200, { result: S, refund: refund("REFUND_SUCCESS") })).kind, "succeeded");
    assert.equal(refundOutcome(answered(200, { result: { result_status: "F", result_code: "REFUND_AMOUNT_EXCEED" } })).kind, "declined");
    assert.deepEqual(refundRecord(answered(200, { result: S, refund: refund("REFUND_FAILED") })), { found: true, status: "failed", failure_reason: "transaction_not_allowed" });
    assert.deepEqual(refundRecord(answered(404, { result: { result_status: "F", result_code: "REFUND_NOT_EXIST" } })), { found: false });
  });
});
