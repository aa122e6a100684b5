// Idempotency keys: replay byte for byte, 422 on another body, 409 while in flight, per setup.merchant,
// and many concurrent requests with one key charge once at the channel.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertLedgerBalanced, call, cardPayment, cards, channelRecords, createMerchant, useStack } from "./helpers.ts";

const setup = useStack();

const create = (key: string, body: unknown, secret = setup.merchant.secret) =>
  call(setup.stack.url, "POST", "/v1/payments", { key: secret, body, headers: { "idempotency-key": key } });

async function chargesAtChannels(amount: number): Promise<number> {
  const records = [...(await channelRecords(setup.stack, "globalpay")), ...(await channelRecords(setup.stack, "localacq"))];
  return records.filter((record) => JSON.stringify(record).includes(`"${amount}"`) || JSON.stringify(record).includes(`:${amount},`) || JSON.stringify(record).includes(`:${amount}}`)).length;
}

describe("idempotency keys", () => {
  it("replays the first response byte for byte", async () => {
    const first = await create("replay-1", cardPayment(cards.visa, { amount: 1111 }));
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("idempotent-replayed"), null);
    const second = await create("replay-1", cardPayment(cards.visa, { amount: 1111 }));
    assert.equal(second.status, 200);
    assert.equal(second.headers.get("idempotent-replayed"), "true");
    assert.equal(second.text, first.text);
    const list = await call(setup.stack.url, "GET", "/v1/payments?limit=100", { key: setup.merchant.secret });
    assert.equal(list.body.data.filter((p: { amount: number }) => p.amount === 1111).length, 1);
  });

  it("replays a decline with its status", async () => {
    const first = await create("replay-decline", cardPayment(cards.doNotHonor));
    assert.equal(first.status, 402);
    const second = await create("replay-decline", cardPayment(cards.doNotHonor));
    assert.equal(second.status, 402);
    assert.equal(second.text, first.text);
  });

  it("rejects the same key with another body (422)", async () => {
    await create("mismatch-1", cardPayment(cards.visa, { amount: 500 }));
    const other = await create("mismatch-1", cardPayment(cards.visa, { amount: 501 }));
    assert.equal(other.status, 422);
    assert.equal(other.body.error.code, "idempotency_key_reused");
  });

  it("scopes keys per merchant", async () => {
    const other = await createMerchant(setup.stack, "Other shop");
    const mine = await create("shared-key", cardPayment(cards.visa, { amount: 600 }));
    const theirs = await create("shared-key", cardPayment(cards.visa, { amount: 600 }), other.secret);
    assert.equal(theirs.status, 200);
    assert.equal(theirs.headers.get("idempotent-replayed"), null);
    assert.notEqual(theirs.body.id, mine.body.id);
  });

  it("does not keep keys of rejected bad input", async () => {
    const bad = await create("bad-then-good", { amount: -1, currency: "usd" });
    assert.equal(bad.status, 400);
    const good = await create("bad-then-good", cardPayment(cards.visa, { amount: 650 }));
    assert.equal(good.status, 200, good.text);
  });

  it("rejects an over-long key", async () => {
    const response = await create("k".repeat(256), cardPayment(cards.visa));
    assert.equal(response.status, 400);
    assert.equal(response.body.error.param, "Idempotency-Key");
  });

  it("20 concurrent requests with one key make one charge at the channel", async () => {
    const amount = 7777;
    const body = cardPayment(cards.visa, { amount });
    const responses = await Promise.all(Array.from({ length: 20 }, () => create("concurrent-1", body)));
    const statuses = responses.map((response) => response.status);
    assert.ok(statuses.every((status) => status === 200 || status === 409), statuses.join(","));
    const ok = responses.filter((response) => response.status === 200);
    assert.ok(ok.length >= 1);
    const ids = new Set(ok.map((response) => response.body.id));
    assert.equal(ids.size, 1, "every success is the same payment");
    for (const conflict of responses.filter((response) => response.status === 409)) {
      assert.equal(conflict.body.error.code, "idempotency_key_in_use");
    }
    const list = await call(setup.stack.url, "GET", "/v1/payments?limit=100", { key: setup.merchant.secret });
    assert.equal(list.body.data.filter((p: { amount: number }) => p.amount === amount).length, 1);
    assert.equal(await chargesAtChannels(amount), 1, "exactly one charge at the channels");
    const replay = await create("concurrent-1", body);
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.equal(replay.text, ok[0].text);
  });
});
