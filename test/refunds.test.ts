// Refunds through the HTTP API: partial refunds up to the captured amount, racing refunds, ledger.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertLedgerBalanced, call, cards, channelRecords, createMerchant, pay, useStack } from "./helpers.ts";

const setup = useStack();

const refund = (body: unknown, key = setup.merchant.secret) => call(setup.stack.url, "POST", "/v1/refunds", { key, body });

describe("refunds", () => {
  it("refunds partially several times up to the captured amount", async () => {
    const payment = (await pay(setup.stack, setup.merchant, cards.visa, { amount: 1000 })).body;
    const first = await refund({ payment: payment.id, amount: 300, reason: "requested_by_customer" });
    assert.equal(first.status, 200, first.text);
    assert.match(first.body.id, /^re_/);
    assert.equal(first.body.status, "succeeded");
    assert.equal(first.body.amount, 300);
    assert.equal(first.body.currency, "usd");
    const second = await refund({ payment: payment.id, amount: 700 });
    assert.equal(second.body.status, "succeeded", second.text);
    const third = await refund({ payment: payment.id, amount: 1 });
    assert.equal(third.status, 400);
    assert.equal(third.body.error.param, "amount");
    const current = await call(setup.stack.url, "GET", `/v1/payments/${payment.id}`, { key: setup.merchant.secret });
    assert.equal(current.body.amount_refunded, 1000);
    const fetched = await call(setup.stack.url, "GET", `/v1/refunds/${first.body.id}`, { key: setup.merchant.secret });
    assert.deepEqual(fetched.body, first.body);
    const listed = await call(setup.stack.url, "GET", `/v1/refunds?payment=${payment.id}`, { key: setup.merchant.secret });
    assert.deepEqual(listed.body.data.map((r: { id: string }) => r.id), [second.body.id, first.body.id]);
    const records = await channelRecords(setup.stack, "globalpay");
    const record = JSON.stringify(records.find((candidate) => JSON.stringify(candidate).includes(payment.attempts[0].id)));
    assert.ok(record.includes(first.body.id) && record.includes(second.body.id), "the channel recorded both refunds under our references");
  });

  it("refunds the whole remaining amount when no amount is given", async () => {
    const payment = (await pay(setup.stack, setup.merchant, cards.mastercard, { amount: 1234 })).body;
    await refund({ payment: payment.id, amount: 234 });
    const rest = await refund({ payment: payment.id });
    assert.equal(rest.body.amount, 1000, rest.text);
  });

  it("refunds a partially captured payment only up to what was captured", async () => {
    const created = (await pay(setup.stack, setup.merchant, cards.visa, { amount: 5000, capture_method: "manual" })).body;
    await call(setup.stack.url, "POST", `/v1/payments/${created.id}/capture`, { key: setup.merchant.secret, body: { amount_to_capture: 2000 } });
    const over = await refund({ payment: created.id, amount: 2001 });
    assert.equal(over.status, 400);
    const exact = await refund({ payment: created.id, amount: 2000 });
    assert.equal(exact.body.status, "succeeded");
  });

  it("refuses to refund a payment that was not captured", async () => {
    const created = (await pay(setup.stack, setup.merchant, cards.visa, { capture_method: "manual" })).body;
    const response = await refund({ payment: created.id });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, "payment_unexpected_state");
  });

  it("racing refunds never exceed the captured amount", async () => {
    const payment = (await pay(setup.stack, setup.merchant, cards.visa, { amount: 1000 })).body;
    const responses = await Promise.all(Array.from({ length: 20 }, () => refund({ payment: payment.id, amount: 100 })));
    const succeeded = responses.filter((response) => response.status === 200 && response.body.status === "succeeded");
    const refused = responses.filter((response) => response.status === 400);
    assert.equal(succeeded.length, 10);
    assert.equal(refused.length, 10);
    assert.ok(responses.every((response) => response.status < 500));
    const current = await call(setup.stack.url, "GET", `/v1/payments/${payment.id}`, { key: setup.merchant.secret });
    assert.equal(current.body.amount_refunded, 1000);
    await assertLedgerBalanced(setup.stack);
  });

  it("updates the balance from the ledger", async () => {
    const shop = await createMerchant(setup.stack, "Refund balance shop");
    const payment = (await pay(setup.stack, shop, cards.visa, { amount: 1000 })).body;
    await refund({ payment: payment.id, amount: 400 }, shop.secret);
    const balance = await call(setup.stack.url, "GET", "/v1/balance", { key: shop.secret });
    assert.deepEqual(balance.body.pending, [{ amount: 600, currency: "usd" }]);
  });
});
