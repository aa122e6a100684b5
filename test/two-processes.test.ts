// Two API servers sharing one PostgreSQL database (as in production): racing refunds and
// captures sent to both never exceed what was captured, and the ledger stays balanced.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertLedgerBalanced, backend, call, cards, createMerchant, pay, startStack, type Merchant, type Stack } from "./helpers.ts";

let first: Stack;
let second: Stack;
let merchant: Merchant;

describe("two API servers on one PostgreSQL database", { skip: backend !== "postgres" && "PostgreSQL only: one SQLite file has one writer process" }, () => {
  before(async () => {
    first = await startStack();
    second = await startStack({ database: first.database, vault_keys: first.vault_keys, sandboxes: first.sandboxes });
    merchant = await createMerchant(first);
  });

  after(async () => {
    await assertLedgerBalanced(first);
    await second.close();
    await first.close();
  });

  it("racing refunds across servers never exceed the captured amount", async () => {
    const payments = await Promise.all(Array.from({ length: 20 }, (_, i) => pay(i % 2 ? first : second, merchant, cards.visa, { amount: 1000 })));
    const refunds = await Promise.all(
      payments.flatMap((payment) =>
        [first, second, first, second].map((stack) => call(stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.body.id, amount: 400 } })),
      ),
    );
    assert.ok(refunds.every((response) => response.status === 200 || response.status === 400), refunds.map((r) => r.status).join(","));
    for (const payment of payments) {
      const current = await call(second.url, "GET", `/v1/payments/${payment.body.id}`, { key: merchant.secret });
      assert.equal(current.body.amount_refunded, 800, "exactly two refunds of 400 fit in 1000");
    }
    await assertLedgerBalanced(second);
  });

  it("one idempotency key sent to both servers charges once", async () => {
    const body = { amount: 4321, currency: "usd", confirm: true, payment_method_data: { type: "card", card: { number: cards.visa, exp_month: 12, exp_year: 2040, cvc: "123" } } };
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call((i % 2 ? first : second).url, "POST", "/v1/payments", { key: merchant.secret, body, headers: { "idempotency-key": "both-servers" } })),
    );
    const ids = new Set(responses.filter((response) => response.status === 200).map((response) => response.body.id));
    assert.equal(ids.size, 1);
    assert.ok(responses.every((response) => response.status === 200 || response.status === 409));
  });
});
