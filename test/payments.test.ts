// Card payments end to end through the HTTP API, with the sandbox channels as real HTTP services.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertLedgerBalanced, call, cardPayment, cards, channelRecords, createMerchant, eventually, pay, useStack } from "./helpers.ts";

const setup = useStack();

const get = (path: string, key = setup.merchant.secret) => call(setup.stack.url, "GET", path, { key });
const post = (path: string, body: unknown = {}, key = setup.merchant.secret) => call(setup.stack.url, "POST", path, { key, body });

describe("approved cards", () => {
  it("captures automatically, shows no PAN, and books the ledger", async () => {
    const response = await pay(setup.stack, setup.merchant, cards.visa, { currency: "USD", metadata: { order: "42" } });
    assert.equal(response.status, 200, response.text);
    const payment = response.body;
    assert.match(payment.id, /^pay_/);
    assert.equal(payment.object, "payment");
    assert.equal(payment.status, "succeeded");
    assert.equal(payment.currency, "usd");
    assert.equal(payment.amount_received, 2000);
    assert.equal(payment.amount_capturable, 0);
    assert.deepEqual(payment.metadata, { order: "42" });
    assert.equal(payment.payment_method_details.card.brand, "visa");
    assert.equal(payment.payment_method_details.card.last4, "4242");
    assert.ok(!response.text.includes(cards.visa), "the PAN is never returned");
    assert.ok(!response.text.includes('"123"'), "the CVC is never returned");
    assert.equal(payment.attempts.length, 1);
    assert.equal(payment.attempts[0].status, "captured");
    assert.match(payment.attempts[0].id, /^att_/);
    assert.equal(typeof payment.attempts[0].latency_ms, "number");
    assert.match(payment.attempts[0].routing_reason, /default channel list/);
    const fetched = await get(`/v1/payments/${payment.id}`);
    assert.deepEqual(fetched.body, payment);
    await assertLedgerBalanced(setup.stack);
  });

  it("authorizes, then captures part and releases the rest", async () => {
    const created = await pay(setup.stack, setup.merchant, cards.mastercard, { capture_method: "manual", amount: 5000 });
    assert.equal(created.body.status, "requires_capture", created.text);
    assert.equal(created.body.amount_capturable, 5000);
    const tooMuch = await post(`/v1/payments/${created.body.id}/capture`, { amount_to_capture: 6000 });
    assert.equal(tooMuch.status, 400);
    assert.equal(tooMuch.body.error.param, "amount_to_capture");
    const captured = await post(`/v1/payments/${created.body.id}/capture`, { amount_to_capture: 3000 });
    assert.equal(captured.status, 200, captured.text);
    assert.equal(captured.body.status, "succeeded");
    assert.equal(captured.body.amount_received, 3000);
    assert.equal(captured.body.amount_capturable, 0);
    const again = await post(`/v1/payments/${created.body.id}/capture`, {});
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, "payment_unexpected_state");
    const verify = await call(setup.stack.url, "GET", "/v1/admin/ledger/verify", { key: setup.stack.admin_key });
    assert.equal(verify.body.balanced, true);
  });

  it("cancels an authorization, voiding it at the channel", async () => {
    const created = await pay(setup.stack, setup.merchant, cards.visa, { capture_method: "manual" });
    const canceled = await post(`/v1/payments/${created.body.id}/cancel`, { cancellation_reason: "abandoned" });
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.body.status, "canceled");
    assert.equal(canceled.body.cancellation_reason, "abandoned");
    assert.equal(canceled.body.attempts[0].status, "voided");
    const capture = await post(`/v1/payments/${created.body.id}/capture`, {});
    assert.equal(capture.status, 400);
  });

  it("creates without confirming, then confirms", async () => {
    const body = cardPayment(cards.visa);
    delete (body as { confirm?: boolean }).confirm;
    const created = await post("/v1/payments", body);
    assert.equal(created.status, 200, created.text);
    assert.equal(created.body.status, "requires_confirmation");
    assert.equal(created.body.attempts.length, 0);
    const confirmed = await post(`/v1/payments/${created.body.id}/confirm`, {});
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.body.status, "succeeded");
    const twice = await post(`/v1/payments/${created.body.id}/confirm`, {});
    assert.equal(twice.status, 400);
  });

  it("creates without a payment method, then confirms with one", async () => {
    const created = await post("/v1/payments", { amount: 700, currency: "eur" });
    assert.equal(created.body.status, "requires_payment_method", created.text);
    const confirmed = await post(`/v1/payments/${created.body.id}/confirm`, { payment_method_data: cardPayment(cards.visa).payment_method_data });
    assert.equal(confirmed.body.status, "succeeded", confirmed.text);
    assert.equal(confirmed.body.currency, "eur");
  });

  it("handles zero-decimal currencies in minor units", async () => {
    const response = await pay(setup.stack, setup.merchant, cards.visa, { amount: 1500, currency: "jpy" });
    assert.equal(response.body.status, "succeeded", response.text);
    assert.equal(response.body.amount_received, 1500);
  });

  it("lists payments newest first with cursor pagination", async () => {
    const other = await createMerchant(setup.stack, "Pagination shop");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await pay(setup.stack, other, cards.visa, { amount: 100 + i })).body.id);
    const first = await get("/v1/payments?limit=2", other.secret);
    assert.equal(first.body.object, "list");
    assert.deepEqual(first.body.data.map((p: { id: string }) => p.id), [ids[4], ids[3]]);
    assert.equal(first.body.has_more, true);
    const rest = await get(`/v1/payments?limit=10&starting_after=${ids[3]}`, other.secret);
    assert.deepEqual(rest.body.data.map((p: { id: string }) => p.id), [ids[2], ids[1], ids[0]]);
    assert.equal(rest.body.has_more, false);
  });
});

describe("declines and cascading", () => {
  async function declined(number: string) {
    const response = await pay(setup.stack, setup.merchant, number);
    assert.equal(response.status, 402, response.text);
    assert.equal(response.body.error.type, "card_error");
    assert.equal(response.body.error.payment.status, "failed");
    return response.body.error;
  }

  it("do not honor is hard: one attempt, no cascade", async () => {
    const error = await declined(cards.doNotHonor);
    assert.equal(error.code, "card_declined");
    assert.equal(error.decline_code, "do_not_honor");
    assert.equal(error.payment.attempts.length, 1);
    assert.equal(error.payment.attempts[0].decline_category, "hard");
  });

  it("insufficient funds is not retried on another channel", async () => {
    const error = await declined(cards.insufficientFunds);
    assert.equal(error.decline_code, "insufficient_funds");
    assert.equal(error.payment.attempts.length, 1);
    assert.equal(error.payment.last_error.decline_code, "insufficient_funds");
  });

  it("expired card", async () => {
    const error = await declined(cards.expired);
    assert.equal(error.code, "expired_card");
    assert.equal(error.payment.attempts.length, 1);
  });

  it("a processing error on the first channel cascades to the next, which approves", async () => {
    const response = await pay(setup.stack, setup.merchant, cards.processingErrorFirst);
    assert.equal(response.status, 200, response.text);
    const payment = response.body;
    assert.equal(payment.status, "succeeded");
    assert.equal(payment.attempts.length, 2);
    assert.equal(payment.attempts[0].channel, "globalpay");
    assert.equal(payment.attempts[0].status, "failed");
    assert.equal(payment.attempts[0].decline_category, "technical");
    assert.equal(payment.attempts[1].channel, "localacq");
    assert.equal(payment.attempts[1].status, "captured");
    assert.match(payment.attempts[1].routing_reason, /priority 2/);
    assert.equal(payment.channel, "localacq");
  });

  it("follows the merchant's routing rules, and records why", async () => {
    const shop = await createMerchant(setup.stack, "Routed shop");
    const config = await call(setup.stack.url, "PUT", "/v1/routing/config", {
      key: shop.secret,
      body: {
        rules: [{ name: "mastercard local", conditions: { brands: ["mastercard"], currencies: ["USD"] }, channels: ["localacq", "globalpay"] }],
        default_channels: ["globalpay", "localacq"],
      },
    });
    assert.equal(config.status, 200, config.text);
    assert.equal(config.body.version, 1);
    const routed = await pay(setup.stack, shop, cards.mastercard);
    assert.equal(routed.body.channel, "localacq");
    assert.match(routed.body.attempts[0].routing_reason, /rule #1 "mastercard local"/);
    const fallback = await pay(setup.stack, shop, cards.visa);
    assert.equal(fallback.body.channel, "globalpay");
    const unknownChannel = await call(setup.stack.url, "PUT", "/v1/routing/config", {
      key: shop.secret, body: { rules: [], default_channels: ["nowhere"] },
    });
    assert.equal(unknownChannel.status, 400);
    assert.equal(unknownChannel.body.error.param, "default_channels.0");
  });
});

describe("3-D Secure", () => {
  it("requires action, and completing the challenge finishes the payment", async () => {
    const response = await pay(setup.stack, setup.merchant, cards.threeDs, { return_url: "https://shop.example/done" });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.status, "requires_action");
    const url: string = response.body.next_action.redirect_to_url.url;
    assert.ok(url.startsWith(setup.stack.sandboxes.globalpay.url), url);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<form/i);
    const completed = await fetch(`${url}/complete`, { method: "POST", redirect: "manual" });
    assert.equal(completed.status, 303);
    const back = completed.headers.get("location")!;
    assert.ok(back.startsWith(`${setup.stack.url}/v1/payments/${response.body.id}/return`), back);
    const returned = await fetch(back, { redirect: "manual" });
    assert.equal(returned.status, 303);
    assert.match(returned.headers.get("location")!, /^https:\/\/shop\.example\/done\?payment=pay_/);
    const payment = await eventually(async () => {
      const current = await get(`/v1/payments/${response.body.id}`);
      return current.body.status === "succeeded" ? current.body : undefined;
    }, 5000, "3DS payment to succeed");
    assert.equal(payment.amount_received, 2000);
    assert.equal(payment.next_action, null);
  });

  it("a failed challenge fails the payment", async () => {
    const response = await pay(setup.stack, setup.merchant, cards.threeDs);
    const url: string = response.body.next_action.redirect_to_url.url;
    await fetch(`${url}/fail`, { method: "POST", redirect: "manual" });
    const payment = await eventually(async () => {
      const current = await get(`/v1/payments/${response.body.id}`);
      return current.body.status === "failed" ? current.body : undefined;
    }, 5000, "3DS payment to fail");
    assert.equal(payment.last_error.decline_code, "authentication_failed");
  });
});

describe("unknown outcomes", () => {
  it("a timed-out approval stays processing until the janitor asks the channel, then succeeds", async () => {
    const response = await pay(setup.stack, setup.merchant, cards.slow);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.status, "processing");
    assert.equal(response.body.attempts[0].status, "unknown");
    const payment = await eventually(async () => {
      const current = await get(`/v1/payments/${response.body.id}`);
      return current.body.status === "succeeded" ? current.body : undefined;
    }, 8000, "janitor to complete the payment");
    assert.equal(payment.attempts.length, 1, "never cascaded: the first channel may have charged");
    assert.equal(payment.attempts[0].status, "captured");
    assert.equal(payment.amount_received, 2000);
  });

  it("a timed-out approval the merchant canceled meanwhile is reversed at the channel", async () => {
    const response = await pay(setup.stack, setup.merchant, cards.slow, { amount: 3333 });
    assert.equal(response.body.status, "processing");
    const cancel = await post(`/v1/payments/${response.body.id}/cancel`, {});
    assert.equal(cancel.status, 200, cancel.text);
    const payment = await eventually(async () => {
      const current = await get(`/v1/payments/${response.body.id}`);
      return current.body.status === "canceled" ? current.body : undefined;
    }, 8000, "janitor to reverse the payment");
    assert.equal(payment.attempts[0].status, "reversed");
    const records = await channelRecords(setup.stack, "globalpay");
    const record = records.find((candidate) => JSON.stringify(candidate).includes(payment.attempts[0].id));
    assert.ok(record, "the channel has a record under our attempt reference");
    const text = JSON.stringify(record);
    assert.ok(/refund|cancel|void|revers/i.test(text), `the channel record shows the reversal: ${text}`);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("balance", () => {
  it("reads the merchant's pending balance from the ledger", async () => {
    const shop = await createMerchant(setup.stack, "Balance shop");
    await pay(setup.stack, shop, cards.visa, { amount: 1000 });
    await pay(setup.stack, shop, cards.visa, { amount: 2500, currency: "eur" });
    await pay(setup.stack, shop, cards.visa, { amount: 999, capture_method: "manual" });
    const balance = await get("/v1/balance", shop.secret);
    assert.equal(balance.body.object, "balance");
    const pending = Object.fromEntries(balance.body.pending.map((entry: { currency: string; amount: number }) => [entry.currency, entry.amount]));
    assert.deepEqual(pending, { usd: 1000, eur: 2500 }, "authorized but uncaptured money is not in the balance");
  });
});
