// An authorization not captured in time is released in the ledger and voided at the channel.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertLedgerBalanced, call, cards, createMerchant, eventually, pay, startStack, type Merchant, type Stack } from "./helpers.ts";

let stack: Stack;
let merchant: Merchant;

before(async () => {
  stack = await startStack({ env: { AUTHORIZATION_VALIDITY_MS: "400" } });
  merchant = await createMerchant(stack);
});

after(async () => {
  await assertLedgerBalanced(stack);
  await stack.close();
});

describe("authorization validity", () => {
  it("releases an expired authorization and cancels the payment", async () => {
    const created = await pay(stack, merchant, cards.visa, { capture_method: "manual", amount: 4200 });
    assert.equal(created.body.status, "requires_capture");
    const payment = await eventually(async () => {
      const current = await call(stack.url, "GET", `/v1/payments/${created.body.id}`, { key: merchant.secret });
      return current.body.status === "canceled" ? current.body : undefined;
    }, 5000, "the authorization to expire");
    assert.equal(payment.cancellation_reason, "expired");
    assert.equal(payment.amount_capturable, 0);
    assert.equal(payment.attempts[0].status, "expired");
    const capture = await call(stack.url, "POST", `/v1/payments/${created.body.id}/capture`, { key: merchant.secret, body: {} });
    assert.equal(capture.status, 400);
    const verify = await call(stack.url, "GET", "/v1/admin/ledger/verify", { key: stack.admin_key });
    const usd = verify.body.currencies.find((row: { currency: string }) => row.currency === "USD");
    assert.equal(usd.pending_debits, "0", "nothing stays reserved");
  });
});
