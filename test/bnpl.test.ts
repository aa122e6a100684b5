// BNPL through a provider, end to end through the HTTP API, with the sandbox BNPL provider as a
// real HTTP service that runs the customer's checkout and notifies Corridor: approval (plan shown,
// merchant paid the amount less the provider's fee), denial, duplicate and lost notifications,
// expiry, a late approval reversed, refunds reducing the plan (and failing), plans by currency,
// bad input, tenancy. The ledger is verified balanced after every test.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { signSbnpl } from "../src/sandbox/bnpl/index.ts";
import { assertLedgerBalanced, call, createMerchant, eventually, useStack, type Merchant, waitForPayment, pendingBalanceOf } from "./helpers.ts";

const setup = useStack();
afterEach(async () => assertLedgerBalanced(setup.stack));

function body(extra: Record<string, unknown> = {}, bnpl: Record<string, unknown> = {}) {
  return {
    amount: 10_001, currency: "usd", confirm: true, return_url: "https://shop.example/back",
    payment_method_data: { type: "bnpl", bnpl: { provider: "sandbox", customer_email: "approved@example.com", ...bnpl } },
    ...extra,
  };
}

async function create(merchant: Merchant, extra: Record<string, unknown> = {}, bnpl: Record<string, unknown> = {}, status = "requires_action") {
  const response = await call(setup.stack.url, "POST", "/v1/payments", { key: merchant.secret, body: body(extra, bnpl) });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, status, response.text);
  return response.body;
}

const get = (merchant: Merchant, path: string) => call(setup.stack.url, "GET", path, { key: merchant.secret });

/** A call to the sandbox provider itself (the customer's browser, or its test controls). */
async function provider(method: string, path: string, payload?: unknown) {
  const response = await fetch(`${setup.stack.sandboxes.bnpl.url}${path}`, {
    method, headers: payload === undefined ? {} : { "content-type": "application/json" }, body: payload === undefined ? undefined : JSON.stringify(payload), redirect: "manual",
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text.startsWith("{") ? JSON.parse(text) : undefined };
}

const waitFor = (merchant: Merchant, id: string, check: (payment: any) => boolean, what: string, timeout_ms?: number) =>
  waitForPayment(setup.stack, merchant, id, check, what, timeout_ms);

const pendingBalance = (merchant: Merchant, currency: string) => pendingBalanceOf(setup.stack, merchant, currency);

async function postings(ref: string): Promise<{ code: string; amount: number }[]> {
  const rows = await setup.stack.corridor.ctx.db.all<{ code: string; amount: unknown }>("SELECT code, amount FROM ledger_transfers WHERE ref = ? ORDER BY code", [ref]);
  return rows.map((row) => ({ code: row.code, amount: Number(row.amount) }));
}

async function eventsOf(merchant: Merchant, id: string): Promise<string[]> {
  const events = (await get(merchant, "/v1/events?limit=100")).body.data;
  return events.filter((event: any) => event.data.object.id === id || event.data.object.payment === id).map((event: any) => event.type).reverse();
}

/** The customer approves on the provider's page, and comes back through Corridor's return page. */
async function customerConfirms(payment: any) {
  const page = await fetch(payment.next_action.redirect_to_url.url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Confirm plan/);
  const checkoutId = payment.payment_method_details.bnpl.checkout;
  const decided = await provider("POST", `/checkout/${checkoutId}/confirm`);
  assert.equal(decided.status, 303);
  const back = await fetch(decided.headers.get("location")!, { redirect: "manual" });
  assert.equal(back.status, 303, "Corridor's return page sends the customer on to the merchant");
  assert.match(back.headers.get("location")!, new RegExp(`^https://shop\\.example/back\\?payment=${payment.id}`));
}

describe("approval", () => {
  it("the customer approves: the plan is the provider's, the merchant is owed the amount less the fee, once", async () => {
    const merchant = await createMerchant(setup.stack, "BNPL shop");
    const keyed = { key: merchant.secret, body: body(), headers: { "idempotency-key": "bnpl-first" } };
    const first = await call(setup.stack.url, "POST", "/v1/payments", keyed);
    const replay = await call(setup.stack.url, "POST", "/v1/payments", keyed);
    assert.equal(first.status, 200, first.text);
    assert.equal(replay.text, first.text, "a retry with the same key replays the first answer");
    const payment = first.body;
    assert.equal(payment.status, "requires_action");
    assert.equal(payment.next_action.type, "redirect_to_url");
    assert.equal(payment.next_action.redirect_to_url.return_url, "https://shop.example/back");
    assert.equal(payment.channel, "sandboxbnpl");
    assert.equal(payment.attempts[0].status, "requires_action");
    const proposed = payment.payment_method_details.bnpl;
    assert.equal(payment.payment_method_details.type, "bnpl");
    assert.equal(proposed.provider, "sandbox");
    assert.equal(proposed.plan.type, "pay_in_4");
    assert.equal(proposed.plan.source, "proposed");
    assert.deepEqual(proposed.plan.installments.map((item: any) => item.amount), [2501, 2500, 2500, 2500]);
    assert.equal(proposed.plan.fee, 630, "6 % of 100.01 (half-even) + 0.30");
    assert.equal(proposed.plan.net_amount, 10_001 - 630);
    const expiresIn = payment.expires_at - Math.floor(Date.now() / 1000);
    assert.ok(expiresIn > 1700 && expiresIn <= 1800, `expires in 30 min (${expiresIn} s)`);

    await customerConfirms(payment);
    const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.equal(paid.amount_received, 10_001);
    assert.equal(paid.next_action, null);
    assert.equal(paid.attempts[0].status, "captured");
    const plan = paid.payment_method_details.bnpl.plan;
    assert.equal(plan.source, "provider");
    assert.deepEqual(plan.installments.map((item: any) => [item.sequence, item.amount, item.status]), [[1, 2501, "paid"], [2, 2500, "scheduled"], [3, 2500, "scheduled"], [4, 2500, "scheduled"]]);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal(plan.installments[0].due_date, today, "the first installment at checkout");
    assert.equal(Date.parse(plan.installments[1].due_date) - Date.parse(today), 14 * 86_400_000, "then every 2 weeks");
    assert.equal(await pendingBalance(merchant, "usd"), 10_001 - 630);
    assert.deepEqual(await postings(payment.attempts[0].id), [{ code: "bnpl_fee", amount: 630 }, { code: "capture", amount: 10_001 }]);
    await eventually(async () => (await eventsOf(merchant, payment.id)).includes("payment.succeeded"), 5000, "event");
    assert.deepEqual(await eventsOf(merchant, payment.id), ["payment.created", "payment.requires_action", "payment.succeeded"]);
  });

  it("a repeated or late notification never posts twice; a forged one is refused", async () => {
    const merchant = await createMerchant(setup.stack, "Duplicate shop");
    const payment = await create(merchant);
    const attempt = payment.attempts[0].id;
    await provider("POST", `/_sandbox/checkouts/${attempt}/approve`);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    const raw = JSON.stringify({ type: "checkout.approved", checkout_id: payment.payment_method_details.bnpl.checkout, merchant_reference: attempt, state: "APPROVED" });
    for (let round = 0; round < 3; round++) {
      const again = await call(setup.stack.url, "POST", "/v1/channels/sandboxbnpl/notifications", { raw, headers: { "x-sbnpl-signature": signSbnpl("sbnpl_sandbox_notification_secret", raw) } });
      assert.equal(again.status, 200, again.text);
    }
    const declined = JSON.stringify({ type: "checkout.declined", checkout_id: "chk_x", merchant_reference: attempt, state: "DECLINED" });
    const outOfOrder = await call(setup.stack.url, "POST", "/v1/channels/sandboxbnpl/notifications", { raw: declined, headers: { "x-sbnpl-signature": signSbnpl("sbnpl_sandbox_notification_secret", declined) } });
    assert.equal(outOfOrder.status, 200, "verified, but only prompts an inquiry");
    const forged = await call(setup.stack.url, "POST", "/v1/channels/sandboxbnpl/notifications", { raw, headers: { "x-sbnpl-signature": signSbnpl("wrong", raw) } });
    assert.equal(forged.status, 400);
    assert.equal(forged.body.error.code, "signature_invalid");
    const stale = await call(setup.stack.url, "POST", "/v1/channels/sandboxbnpl/notifications", { raw, headers: { "x-sbnpl-signature": signSbnpl("sbnpl_sandbox_notification_secret", raw, Math.floor(Date.now() / 1000) - 3600) } });
    assert.equal(stale.status, 400, "outside the timestamp tolerance");
    assert.equal((await postings(attempt)).length, 2);
    assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.status, "succeeded");
    assert.equal((await eventsOf(merchant, payment.id)).filter((type) => type === "payment.succeeded").length, 1);
    assert.equal(await pendingBalance(merchant, "usd"), 10_001 - 630);
  });

  it("a lost notification: the janitor polls the provider and applies the approval", async () => {
    const merchant = await createMerchant(setup.stack, "Lost notice shop");
    const payment = await create(merchant);
    const approved = await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`, { drop_notification: true });
    assert.equal(approved.body.checkout.state, "APPROVED");
    const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded by polling", 15_000);
    assert.equal(paid.payment_method_details.bnpl.plan.source, "provider");
    assert.equal((await postings(payment.attempts[0].id)).length, 2);
  });

  it("a lost answer to the checkout's creation: the payment waits in processing, then the janitor opens it again", async () => {
    const merchant = await createMerchant(setup.stack, "Slow shop");
    const payment = await create(merchant, {}, { customer_email: "slow@example.com" }, "processing");
    assert.equal(payment.attempts[0].status, "pending");
    assert.equal(payment.next_action, null);
    const open = await waitFor(merchant, payment.id, (p) => p.status === "requires_action", "requires_action");
    assert.match(open.next_action.redirect_to_url.url, /\/checkout\/chk_/);
    await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.equal((await postings(payment.attempts[0].id)).length, 2);
  });
});

describe("denial and expiry", () => {
  it("the provider declines the customer: failed, with the reason, nothing booked", async () => {
    const merchant = await createMerchant(setup.stack, "Denied shop");
    const payment = await create(merchant, {}, { customer_email: "denied@example.com" });
    await customerConfirms(payment);
    const failed = await waitFor(merchant, payment.id, (p) => p.status === "failed", "failed");
    assert.equal(failed.last_error.code, "payment_method_provider_decline");
    assert.equal(failed.last_error.decline_code, "credit_check_failed");
    assert.equal(failed.attempts[0].status, "declined");
    assert.equal(failed.next_action, null);
    assert.deepEqual(await postings(payment.attempts[0].id), []);
    assert.equal(await pendingBalance(merchant, "usd"), 0);
    await eventually(async () => (await eventsOf(merchant, payment.id)).includes("payment.failed"), 5000, "payment.failed");
  });

  it("nobody decides: at expiry the provider is asked, the checkout canceled there, the payment canceled (expired)", async () => {
    const merchant = await createMerchant(setup.stack, "Expiry shop");
    const payment = await create(merchant, {}, { customer_email: "timeout@example.com", expires_in: 1 });
    await customerConfirms(payment); // the credit decision never comes
    const canceled = await waitFor(merchant, payment.id, (p) => p.status === "canceled", "canceled");
    assert.equal(canceled.cancellation_reason, "expired");
    const settled = await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "expired", "attempt expired");
    assert.equal(settled.next_action, null);
    const atProvider = await provider("GET", `/checkouts/${payment.attempts[0].id}`);
    assert.ok(["CANCELLED", "EXPIRED"].includes(atProvider.body.checkout.state), atProvider.text);
    assert.deepEqual(await postings(payment.attempts[0].id), []);
    await eventually(async () => (await eventsOf(merchant, payment.id)).includes("payment.canceled"), 5000, "payment.canceled");
  });

  it("an approval after the payment expired is voided at the provider, never booked", async () => {
    const merchant = await createMerchant(setup.stack, "Late shop");
    await provider("POST", "/_sandbox/faults", { fail_cancels: true });
    try {
      const payment = await create(merchant, {}, { customer_email: "timeout@example.com", expires_in: 1 });
      const attempt = payment.attempts[0].id;
      const canceled = await waitFor(merchant, payment.id, (p) => p.status === "canceled", "canceled");
      assert.equal(canceled.cancellation_reason, "expired");
      assert.equal(canceled.attempts[0].status, "requires_action", "the provider could not be told yet");
      const late = await provider("POST", `/_sandbox/checkouts/${attempt}/approve`);
      assert.equal(late.body.checkout.state, "APPROVED");
      await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "reversing", "reversing");
      await provider("POST", "/_sandbox/faults", { fail_cancels: false });
      const reversed = await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "reversed", "reversed");
      assert.equal(reversed.status, "canceled");
      assert.equal((await provider("GET", `/checkouts/${attempt}`)).body.checkout.state, "VOIDED");
      assert.deepEqual(await postings(attempt), []);
      assert.equal(await pendingBalance(merchant, "usd"), 0);
      const types = await eventsOf(merchant, payment.id);
      assert.ok(!types.includes("payment.succeeded"), types.join());
      assert.equal(types.filter((type) => type === "payment.canceled").length, 1, types.join());
    } finally {
      await provider("POST", "/_sandbox/faults", { fail_cancels: false });
    }
  });

  it("the provider expired the checkout too, then approves it anyway: voided, never booked", async () => {
    const merchant = await createMerchant(setup.stack, "Provider expiry shop");
    await provider("POST", "/_sandbox/faults", { expiry_grace_ms: 0 });
    try {
      const payment = await create(merchant, {}, { customer_email: "timeout@example.com", expires_in: 1 });
      const attempt = payment.attempts[0].id;
      const closed = await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "expired", "expired");
      assert.equal(closed.status, "canceled");
      assert.equal(closed.cancellation_reason, "expired");
      assert.equal((await provider("GET", `/checkouts/${attempt}`)).body.checkout.state, "EXPIRED");
      assert.equal((await provider("POST", `/_sandbox/checkouts/${attempt}/approve`)).body.checkout.state, "APPROVED");
      await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "reversed", "reversed");
      assert.equal((await provider("GET", `/checkouts/${attempt}`)).body.checkout.state, "VOIDED");
      assert.deepEqual(await postings(attempt), []);
    } finally {
      await provider("POST", "/_sandbox/faults", {});
    }
  });

  it("the provider expired the checkout, then approves it anyway and its notice is lost: the janitor's watch finds it and voids it", async () => {
    const merchant = await createMerchant(setup.stack, "Provider expiry lost notice shop");
    await provider("POST", "/_sandbox/faults", { expiry_grace_ms: 0 });
    try {
      const payment = await create(merchant, {}, { customer_email: "timeout@example.com", expires_in: 1 });
      const attempt = payment.attempts[0].id;
      await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "expired", "expired");
      const late = await provider("POST", `/_sandbox/checkouts/${attempt}/approve`, { drop_notification: true });
      assert.equal(late.body.checkout.state, "APPROVED");
      const reversed = await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "reversed", "found by the janitor and voided", 15_000);
      assert.equal(reversed.status, "canceled");
      assert.equal((await provider("GET", `/checkouts/${attempt}`)).body.checkout.state, "VOIDED");
      assert.deepEqual(await postings(attempt), []);
      assert.equal(await pendingBalance(merchant, "usd"), 0);
    } finally {
      await provider("POST", "/_sandbox/faults", {});
    }
  });

  it("the merchant cancels while the customer is at the provider: the checkout is canceled there too", async () => {
    const merchant = await createMerchant(setup.stack, "Cancel shop");
    const payment = await create(merchant);
    const canceled = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: merchant.secret, body: { cancellation_reason: "abandoned" } });
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.body.status, "canceled");
    const settled = await waitFor(merchant, payment.id, (p) => ["expired", "reversed"].includes(p.attempts[0].status), "checkout closed at the provider");
    assert.equal(settled.attempts[0].status, "expired");
    const late = await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`);
    assert.equal(late.status, 409, "the provider no longer lets the customer approve");
    assert.deepEqual(await postings(payment.attempts[0].id), []);
  });

  it("the customer cancels on the provider's page: canceled (abandoned)", async () => {
    const merchant = await createMerchant(setup.stack, "Abandon shop");
    const payment = await create(merchant);
    const left = await provider("POST", `/checkout/${payment.payment_method_details.bnpl.checkout}/abandon`);
    assert.equal(left.status, 303);
    const canceled = await waitFor(merchant, payment.id, (p) => p.status === "canceled", "canceled");
    assert.equal(canceled.cancellation_reason, "abandoned");
    assert.equal(canceled.attempts[0].status, "expired");
    assert.deepEqual(await postings(payment.attempts[0].id), []);
  });
});

describe("refunds", () => {
  it("a refund reduces the plan from the last installment backwards; the merchant bears it, the fee stays with the provider", async () => {
    const merchant = await createMerchant(setup.stack, "Refund shop");
    const payment = await create(merchant);
    await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    const refund = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id, amount: 3000 } });
    assert.equal(refund.status, 200, refund.text);
    assert.equal(refund.body.status, "succeeded", refund.text);
    const reduced = await waitFor(merchant, payment.id, (p) => p.payment_method_details.bnpl.plan.amount_refunded === 3000, "plan reduced");
    assert.equal(reduced.amount_refunded, 3000);
    const plan = reduced.payment_method_details.bnpl.plan;
    assert.equal(plan.amount, 10_001 - 3000);
    assert.deepEqual(plan.installments.map((item: any) => [item.amount, item.amount_refunded, item.status]),
      [[2501, 0, "paid"], [2500, 0, "scheduled"], [2000, 500, "scheduled"], [0, 2500, "canceled"]]);
    assert.equal(await pendingBalance(merchant, "usd"), 10_001 - 630 - 3000);
    await assertLedgerBalanced(setup.stack);

    const rest = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id } });
    assert.equal(rest.body.status, "succeeded", rest.text);
    assert.equal(rest.body.amount, 7001);
    const emptied = await waitFor(merchant, payment.id, (p) => p.payment_method_details.bnpl.plan.amount === 0, "plan emptied");
    assert.deepEqual(emptied.payment_method_details.bnpl.plan.installments.map((item: any) => item.status), ["refunded", "canceled", "canceled", "canceled"]);
    assert.equal(await pendingBalance(merchant, "usd"), -630, "the merchant refunded in full; the provider kept its fee");
    const over = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id, amount: 1 } });
    assert.equal(over.status, 400);
    await eventually(async () => (await get(merchant, "/v1/events?type=refund.succeeded")).body.data.length === 2, 5000, "refund.succeeded events");
  });

  it("a refund whose answer and notice are both lost stays pending until the provider is asked, then succeeds and the plan shrinks", async () => {
    const merchant = await createMerchant(setup.stack, "Lost refund answer shop");
    const payment = await create(merchant);
    await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    await provider("POST", "/_sandbox/faults", { lose_refund_answers: true, drop_refund_notifications: true });
    try {
      const refund = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id, amount: 2501 } });
      assert.equal(refund.status, 200, refund.text);
      assert.equal(refund.body.status, "pending", refund.text);
      await eventually(async () => (await get(merchant, `/v1/refunds/${refund.body.id}`)).body.status === "succeeded", 10_000, "refund succeeded");
    } finally {
      await provider("POST", "/_sandbox/faults", {});
    }
    const reduced = await waitFor(merchant, payment.id, (p) => p.payment_method_details.bnpl.plan.amount_refunded === 2501, "plan reduced");
    assert.deepEqual(reduced.payment_method_details.bnpl.plan.installments.map((item: any) => item.amount), [2501, 2500, 2499, 0]);
    assert.equal(await pendingBalance(merchant, "usd"), 10_001 - 630 - 2501);
  });

  it("a refund the provider rejects fails, the reservation is released, and the ledger stays balanced", async () => {
    const merchant = await createMerchant(setup.stack, "Rejected refund shop");
    const payment = await create(merchant, {}, { customer_email: "refund_rejected@example.com" });
    await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    const refund = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id, amount: 5000 } });
    assert.equal(refund.status, 200, refund.text);
    assert.equal(refund.body.status, "failed");
    assert.ok(refund.body.failure_reason);
    const after = (await get(merchant, `/v1/payments/${payment.id}`)).body;
    assert.equal(after.amount_refunded, 0);
    assert.equal(after.payment_method_details.bnpl.plan.amount_refunded, 0);
    assert.equal(await pendingBalance(merchant, "usd"), 10_001 - 630);
    await eventually(async () => (await get(merchant, "/v1/events?type=refund.failed")).body.data.length === 1, 5000, "refund.failed");
  });
});

describe("plans by currency", () => {
  it("Brazil parcelado: 12 monthly installments, the remainder on the first", async () => {
    const merchant = await createMerchant(setup.stack, "Loja");
    const payment = await create(merchant, { amount: 10_003, currency: "brl" }, { installments: 12 });
    const plan = payment.payment_method_details.bnpl.plan;
    assert.equal(plan.type, "parcelado");
    assert.equal(plan.interval, "monthly");
    assert.equal(plan.fee, 849, "8.49 % of 100.03 BRL, half-even");
    await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`);
    const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    const amounts = paid.payment_method_details.bnpl.plan.installments.map((item: any) => item.amount);
    assert.deepEqual(amounts, [840, ...Array(11).fill(833)]);
    assert.ok(paid.payment_method_details.bnpl.plan.installments.every((item: any) => item.status === "scheduled"), "monthly: nothing due at checkout");
    assert.equal(await pendingBalance(merchant, "brl"), 10_003 - 849);
  });

  it("Mexico meses sin intereses: 9 installments of at least 100 MXN, the remainder on the first", async () => {
    const merchant = await createMerchant(setup.stack, "Tienda");
    const payment = await create(merchant, { amount: 100_001, currency: "mxn" }, { installments: 9 });
    assert.equal(payment.payment_method_details.bnpl.plan.type, "meses_sin_intereses");
    assert.equal(payment.payment_method_details.bnpl.plan.fee, 6_000, "6 % of 1 000.01 MXN, half-even");
    await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`);
    const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.deepEqual(paid.payment_method_details.bnpl.plan.installments.map((item: any) => item.amount), [11_113, ...Array(8).fill(11_111)]);
    assert.equal(await pendingBalance(merchant, "mxn"), 100_001 - 6_000);
  });
});

describe("bad input and tenancy", () => {
  it("answers 400 naming the field and writes nothing", async () => {
    const merchant = await createMerchant(setup.stack, "Bad BNPL input shop");
    const cases: [string, unknown, string, string?][] = [
      ["unknown provider", body({}, { provider: "klarna" }), "payment_method_data.bnpl.provider", "provider_unsupported"],
      ["malformed provider", body({}, { provider: "Sand Box" }), "payment_method_data.bnpl.provider"],
      ["missing provider", { ...body(), payment_method_data: { type: "bnpl", bnpl: {} } }, "payment_method_data.bnpl.provider"],
      ["currency without a plan", body({ currency: "jpy" }), "currency", "currency_unsupported"],
      ["pay-in-4 with 3", body({}, { installments: 3 }), "payment_method_data.bnpl.installments", "installments_unsupported"],
      ["parcelado with 13", body({ currency: "brl" }, { installments: 13 }), "payment_method_data.bnpl.installments", "installments_unsupported"],
      ["parcelado under 5 BRL each", body({ amount: 2_000, currency: "brl" }, { installments: 5 }), "payment_method_data.bnpl.installments", "installments_unsupported"],
      ["MSI with 4", body({ amount: 120_000, currency: "mxn" }, { installments: 4 }), "payment_method_data.bnpl.installments", "installments_unsupported"],
      ["MSI under 100 MXN each", body({ amount: 110_000, currency: "mxn" }, { installments: 12 }), "payment_method_data.bnpl.installments", "installments_unsupported"],
      ["MSI amount too small for any plan", body({ amount: 20_000, currency: "mxn" }), "amount", "installments_unsupported"],
      ["installments over the schema's maximum", body({}, { installments: 25 }), "payment_method_data.bnpl.installments"],
      ["malformed e-mail", body({}, { customer_email: "nobody" }), "payment_method_data.bnpl.customer_email"],
      ["expiry of 0 s", body({}, { expires_in: 0 }), "payment_method_data.bnpl.expires_in"],
      ["unknown field", body({}, { plan: "x" }), "payment_method_data.bnpl.plan"],
      ["without confirm", body({ confirm: false }), "confirm", "confirmation_required"],
      ["manual capture", body({ capture_method: "manual" }), "capture_method", "capture_method_unsupported"],
      ["without details", { ...body(), payment_method_data: { type: "bnpl" } }, "payment_method_data.bnpl", "parameter_missing"],
      ["another family's object", { ...body(), payment_method_data: { type: "bnpl", bnpl: { provider: "sandbox" }, wallet: { provider: "gcash" } } }, "payment_method_data.wallet", "parameter_unknown"],
      ["a bank-transfer policy", body({ amount_mismatch_policy: "reject" }), "amount_mismatch_policy", "parameter_unknown"],
    ];
    for (const [name, request, param, code] of cases) {
      const response = await call(setup.stack.url, "POST", "/v1/payments", { key: merchant.secret, body: request });
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assert.equal(response.body.error.param, param, `${name}: ${response.text}`);
      if (code) assert.equal(response.body.error.code, code, name);
    }
    assert.equal((await get(merchant, "/v1/payments")).body.data.length, 0, "nothing written");
    assert.equal((await get(merchant, "/v1/events")).body.data.length, 0, "no event");
  });

  it("another merchant sees nothing: 404 on the payment and its refund", async () => {
    const owner = await createMerchant(setup.stack, "Owner shop");
    const other = await createMerchant(setup.stack, "Other shop");
    const payment = await create(owner);
    await provider("POST", `/_sandbox/checkouts/${payment.attempts[0].id}/approve`);
    await waitFor(owner, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.equal((await get(other, `/v1/payments/${payment.id}`)).status, 404);
    const refund = await call(setup.stack.url, "POST", "/v1/refunds", { key: other.secret, body: { payment: payment.id } });
    assert.equal(refund.status, 404);
    const cancel = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: other.secret, body: {} });
    assert.equal(cancel.status, 404);
    assert.equal((await get(owner, `/v1/payments/${payment.id}`)).body.amount_refunded, 0);
  });

  it("the OpenAPI document describes the BNPL fields", async () => {
    const spec = (await call(setup.stack.url, "GET", "/openapi.json")).body;
    const text = JSON.stringify(spec);
    for (const field of ["customer_email", "installments", "expires_in", "meses sin intereses", "parcelado"]) assert.ok(text.includes(field), field);
  });
});
