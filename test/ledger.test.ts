// The ledger under concurrency: many parallel payments, captures and refunds from many clients;
// the trial balance stays zero per currency and every payment's money matches its ledger.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertLedgerBalanced, call, cards, createMerchant, pay, startStack, type Merchant, type Stack } from "./helpers.ts";

let stack: Stack;
let merchants: Merchant[];

before(async () => {
  stack = await startStack();
  merchants = await Promise.all([createMerchant(stack, "A"), createMerchant(stack, "B"), createMerchant(stack, "C")]);
});

after(async () => {
  await assertLedgerBalanced(stack);
  await stack.close();
});

const parallelPayments = 60;

describe("ledger under concurrency", () => {
  it(`stays balanced under ${parallelPayments} parallel payments followed by parallel captures and refunds`, async () => {
    const currencies = ["usd", "eur", "jpy"];
    const payments = await Promise.all(
      Array.from({ length: parallelPayments }, (_, i) =>
        pay(stack, merchants[i % 3], i % 2 === 0 ? cards.visa : cards.mastercard, {
          amount: 1000 + i,
          currency: currencies[i % 3],
          capture_method: i % 4 === 0 ? "manual" : "automatic",
        }),
      ),
    );
    assert.ok(payments.every((response) => response.status === 200), payments.map((r) => r.status).join(","));
    await assertLedgerBalanced(stack);

    const operations = payments.map((response, i) => {
      const payment = response.body;
      const key = merchants[i % 3].secret;
      if (payment.status === "requires_capture") {
        return call(stack.url, "POST", `/v1/payments/${payment.id}/capture`, { key, body: { amount_to_capture: 500 } });
      }
      // two racing refunds of 60 % each: exactly one may succeed
      return Promise.all([
        call(stack.url, "POST", "/v1/refunds", { key, body: { payment: payment.id, amount: Math.floor(payment.amount * 0.6) } }),
        call(stack.url, "POST", "/v1/refunds", { key, body: { payment: payment.id, amount: Math.floor(payment.amount * 0.6) } }),
      ]);
    });
    const results = (await Promise.all(operations)).flat();
    assert.ok(results.every((response) => response.status < 500), results.map((r) => r.status).join(","));
    await assertLedgerBalanced(stack);

    let expectedPending: Record<string, number> = {};
    for (const [i, response] of payments.entries()) {
      const current = await call(stack.url, "GET", `/v1/payments/${response.body.id}`, { key: merchants[i % 3].secret });
      const payment = current.body;
      assert.ok(payment.amount_refunded <= payment.amount_received, `${payment.id} refunded more than captured`);
      if (payment.capture_method === "automatic") assert.equal(payment.amount_refunded, Math.floor(payment.amount * 0.6), "exactly one of the racing refunds succeeded");
      if (i % 3 === 0) expectedPending[payment.currency] = (expectedPending[payment.currency] ?? 0) + payment.amount_received - payment.amount_refunded;
    }
    const balance = await call(stack.url, "GET", "/v1/balance", { key: merchants[0].secret });
    const pending = Object.fromEntries(balance.body.pending.map((entry: { currency: string; amount: number }) => [entry.currency, entry.amount]));
    assert.deepEqual(pending, expectedPending, "the balance read from the ledger matches the payments");
  });
});
