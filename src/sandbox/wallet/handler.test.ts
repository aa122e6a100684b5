// The sandbox wallet's own behaviour, in process: idempotent orders, the test customers, expiry,
// closing, refunds within the paid amount, and exact decimal amounts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSandboxWalletHandler, formatWalletAmount, parseWalletAmount } from "./handler.ts";

const handler = createSandboxWalletHandler({ refund_delay_ms: 0 });

async function send(method: string, path: string, body?: unknown) {
  const response = await handler({ method, path, query: {}, headers: { host: "wallet.test" }, body: body === undefined ? "" : JSON.stringify(body) });
  return { status: response.status, body: response.body ? JSON.parse(response.body) : undefined };
}

function order(ref: string, value: string, extra: Record<string, unknown> = {}) {
  return {
    merchant_order_ref: ref, provider: "gcash", product_code: "REDIRECT_PAY", order_amount: { currency: "PHP", value },
    redirect_url: "https://corridor.test/return", expire_time: new Date(Date.now() + 60_000).toISOString(), ...extra,
  };
}

describe("sandbox wallet", () => {
  it("creates orders idempotently by merchant_order_ref, and refuses the same ref with another amount", async () => {
    const first = await send("POST", "/v1/orders", order("att_a", "100.00"));
    assert.equal(first.body.result.result_status, "S");
    assert.equal(first.body.order.pay_url, `http://wallet.test/pay/${first.body.order.order_id}`);
    const again = await send("POST", "/v1/orders", order("att_a", "100.00"));
    assert.equal(again.body.order.order_id, first.body.order.order_id);
    const other = await send("POST", "/v1/orders", order("att_a", "100.01"));
    assert.equal(other.body.result.result_code, "REPEAT_REQ_INCONSISTENT");
  });

  it("test customers: unknown phone at create, amount ending in 51 fails when paid", async () => {
    const nobody = await send("POST", "/v1/orders", order("att_b", "10.00", { product_code: "APP_PUSH", provider: "ovo", payer_phone: "+62811404" }));
    assert.equal(nobody.body.result.result_code, "USER_NOT_FOUND");
    await send("POST", "/v1/orders", order("att_c", "10.51"));
    const paid = await send("POST", "/_sandbox/orders/att_c/approve", { notify: "drop" });
    assert.equal(paid.body.order.status, "FAILED");
    assert.equal(paid.body.order.fail_code, "USER_BALANCE_NOT_ENOUGH");
  });

  it("closes unpaid orders (by the merchant, or at expire_time); a paid order cannot be closed", async () => {
    await send("POST", "/v1/orders", order("att_d", "10.00"));
    assert.equal((await send("POST", "/v1/orders/att_d/close", {})).body.order.status, "CLOSED");
    assert.equal((await send("POST", "/_sandbox/orders/att_d/approve", {})).status, 409);
    await send("POST", "/v1/orders", order("att_e", "10.00", { expire_time: new Date(Date.now() - 1).toISOString() }));
    assert.equal((await send("GET", "/v1/orders/att_e")).body.order.fail_code, "ORDER_EXPIRED");
    await send("POST", "/v1/orders", order("att_f", "10.00"));
    await send("POST", "/_sandbox/orders/att_f/approve", { notify: "drop" });
    const close = await send("POST", "/v1/orders/att_f/close", {});
    assert.equal(close.body.result.result_code, "ORDER_STATUS_INVALID");
    assert.equal(close.body.order.status, "PAID");
  });

  it("refunds up to the paid amount, idempotent by refund_request_ref; amounts ending in 66 fail", async () => {
    await send("POST", "/v1/orders", order("att_g", "100.00"));
    await send("POST", "/_sandbox/orders/att_g/approve", { notify: "drop" });
    const refund = await send("POST", "/v1/refunds", { refund_request_ref: "re_1", merchant_order_ref: "att_g", refund_amount: { currency: "PHP", value: "60.00" } });
    assert.equal(refund.body.refund.status, "REFUND_PROCESSING");
    const replay = await send("POST", "/v1/refunds", { refund_request_ref: "re_1", merchant_order_ref: "att_g", refund_amount: { currency: "PHP", value: "60.00" } });
    assert.equal(replay.body.refund.refund_id, refund.body.refund.refund_id);
    const over = await send("POST", "/v1/refunds", { refund_request_ref: "re_2", merchant_order_ref: "att_g", refund_amount: { currency: "PHP", value: "40.01" } });
    assert.equal(over.body.result.result_code, "REFUND_AMOUNT_EXCEED");
    await send("POST", "/v1/refunds", { refund_request_ref: "re_3", merchant_order_ref: "att_g", refund_amount: { currency: "PHP", value: "0.66" } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await send("GET", "/v1/refunds/re_1")).body.refund.status, "REFUND_SUCCESS");
    assert.equal((await send("GET", "/v1/refunds/re_3")).body.refund.status, "REFUND_FAILED");
    assert.equal((await send("GET", "/v1/orders/att_g")).body.order.refunded_amount.value, "60.00", "a failed refund gives its amount back");
  });

  it("reads and writes amounts exactly in the currency's exponent", () => {
    assert.deepEqual(parseWalletAmount({ currency: "IDR", value: "150000.50" }), { currency: "IDR", minor: 15_000_050n });
    assert.deepEqual(parseWalletAmount({ currency: "JPY", value: "1500" }), { currency: "JPY", minor: 1500n });
    assert.equal(parseWalletAmount({ currency: "JPY", value: "1500.00" }), undefined);
    assert.equal(parseWalletAmount({ currency: "PHP", value: "0.00" }), undefined);
    assert.equal(parseWalletAmount({ currency: "PHP", value: "-1.00" }), undefined);
    assert.deepEqual(formatWalletAmount(5n, "KWD"), { currency: "KWD", value: "0.005" });
  });
});
