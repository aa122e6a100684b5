import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useDb } from "../../test/helpers.ts";
import { accountBalance, accountId, pendTransfer, postPending, postTransfer, verifyLedger, voidPending, type AccountRef } from "./ledger.ts";

const setup = useDb();

const receivable: AccountRef = { owner: "chan", currency: "USD", purpose: "channel_receivable" };
const merchant: AccountRef = { owner: "mer_1", currency: "USD", purpose: "merchant_pending" };
const available: AccountRef = { owner: "mer_1", currency: "USD", purpose: "merchant_available" };

describe("ledger", () => {
  it("two-phase: pending reserves, a partial post posts part and releases the rest", async () => {
    const pending = await setup.db.transaction((tx) => pendTransfer(tx, { debit: receivable, credit: merchant, amount: 1000n, code: "authorization", ref: "att_a" }));
    assert.ok(pending.ok);
    let balance = await accountBalance(setup.db, accountId(merchant));
    assert.equal(balance.credits_pending, 1000n);
    assert.equal(balance.credits_posted, 0n);
    const posted = await setup.db.transaction((tx) => postPending(tx, pending.transfer_id, 600n, "capture", "op_a"));
    assert.ok(posted.ok);
    balance = await accountBalance(setup.db, accountId(merchant));
    assert.equal(balance.credits_pending, 0n);
    assert.equal(balance.credits_posted, 600n);
    const again = await setup.db.transaction((tx) => voidPending(tx, pending.transfer_id, "void", "op_b"));
    assert.deepEqual(again, { ok: false, error: "pending_already_resolved" });
  });

  it("refuses to post more than the pending amount, and voids release everything", async () => {
    const pending = await setup.db.transaction((tx) => pendTransfer(tx, { debit: receivable, credit: merchant, amount: 500n, code: "authorization", ref: "att_b" }));
    assert.ok(pending.ok);
    const tooMuch = await setup.db.transaction((tx) => postPending(tx, pending.transfer_id, 501n, "capture", "op_c"));
    assert.deepEqual(tooMuch, { ok: false, error: "exceeds_pending_amount" });
    const voided = await setup.db.transaction((tx) => voidPending(tx, pending.transfer_id, "void", "op_d"));
    assert.ok(voided.ok);
    const balance = await accountBalance(setup.db, accountId(receivable));
    assert.equal(balance.debits_pending, 0n);
  });

  it("an account flagged debits-must-not-exceed-credits refuses an overdraft, and the transaction rolls back", async () => {
    await setup.db.transaction((tx) => postTransfer(tx, { debit: merchant, credit: available, amount: 100n, code: "capture", ref: "settle_1" }));
    await assert.rejects(
      setup.db.transaction(async (tx) => {
        const result = await postTransfer(tx, { debit: available, credit: merchant, amount: 101n, code: "refund", ref: "payout_1" });
        if (!result.ok) throw new Error(result.error);
      }),
      /exceeds_credits/,
    );
    const balance = await accountBalance(setup.db, accountId(available));
    assert.equal(balance.debits_posted, 0n, "the refused transfer left nothing behind");
  });

  it("the trial balance is zero per currency and amounts stay exact beyond 2^53", async () => {
    const big = 2n ** 60n + 7n;
    const eurA: AccountRef = { owner: "chan", currency: "EUR", purpose: "channel_receivable" };
    const eurB: AccountRef = { owner: "mer_2", currency: "EUR", purpose: "merchant_pending" };
    await setup.db.transaction((tx) => postTransfer(tx, { debit: eurA, credit: eurB, amount: big, code: "capture", ref: "big" }));
    const trial = await verifyLedger(setup.db);
    assert.equal(trial.balanced, true, JSON.stringify(trial));
    const eur = trial.currencies.find((row) => row.currency === "EUR")!;
    assert.equal(eur.debits, big.toString());
    assert.equal(eur.credits, big.toString());
    assert.equal((await accountBalance(setup.db, accountId(eurB))).credits_posted, big);
  });

  it("linked transfers in one transaction commit together or not at all", async () => {
    const before = await verifyLedger(setup.db);
    await assert.rejects(
      setup.db.transaction(async (tx) => {
        await postTransfer(tx, { debit: receivable, credit: merchant, amount: 5n, code: "capture", ref: "linked_1" });
        throw new Error("second leg failed");
      }),
    );
    assert.deepEqual(await verifyLedger(setup.db), before);
  });
});
