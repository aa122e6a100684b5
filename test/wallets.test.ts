// E-wallets end to end through the HTTP API: redirect (GCash, DANA, Alipay+), app push (OVO) and QR
// (ShopeePay, PayPay), with the sandbox wallet as a real HTTP service that notifies Corridor with
// Ed25519-signed notices. The ledger is verified balanced after every test.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { creditBalance } from "../src/ledger/ledger.ts";
import { DEFAULT_SWALLET_SEED, loadSigningKey, signWalletNotification, SWALLET_CLIENT_ID } from "../src/sandbox/wallet/index.ts";
import { assertLedgerBalanced, call, createMerchant, eventually, useStack, type Merchant, waitForPayment, pendingBalanceOf } from "./helpers.ts";

const setup = useStack();
afterEach(async () => assertLedgerBalanced(setup.stack));

const notificationPath = "/v1/channels/sandboxwallet/notifications";

function walletBody(provider: string, currency: string, amount: number, wallet: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { amount, currency, confirm: true, payment_method_data: { type: "wallet", wallet: { provider, ...wallet } }, ...extra };
}

async function create(merchant: Merchant, body: unknown, headers: Record<string, string> = {}) {
  const response = await call(setup.stack.url, "POST", "/v1/payments", { key: merchant.secret, body, headers });
  assert.equal(response.status, 200, response.text);
  return response.body;
}

const get = (merchant: Merchant, path: string) => call(setup.stack.url, "GET", path, { key: merchant.secret });

/** The sandbox wallet's own API (the customer's side and its records). */
async function wallet(method: string, path: string, body?: unknown) {
  const response = await fetch(`${setup.stack.sandboxes.wallet.url}${path}`, {
    method, redirect: "manual", ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // an HTML page or an empty redirect
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

const waitFor = (merchant: Merchant, id: string, check: (payment: any) => boolean, what: string, timeout_ms?: number) =>
  waitForPayment(setup.stack, merchant, id, check, what, timeout_ms);

const pendingBalance = (merchant: Merchant, currency: string) => pendingBalanceOf(setup.stack, merchant, currency);

/** The ledger transfers booked under one reference, by code (ids within one millisecond are not ordered). */
async function postingsFor(ref: string): Promise<{ code: string; amount: number }[]> {
  const rows = await setup.stack.corridor.ctx.db.all<{ code: string; amount: unknown }>("SELECT code, amount FROM ledger_transfers WHERE ref = ? ORDER BY code", [ref]);
  return rows.map((row) => ({ code: row.code, amount: Number(row.amount) }));
}

/** Lifecycle order of events, for events created within one millisecond (their ids are not ordered then). */
const stepOf: Record<string, number> = {
  "payment.created": 0, "payment.requires_action": 1, "payment.processing": 1, "payment.succeeded": 2, "payment.failed": 2, "payment.canceled": 2,
  "refund.created": 0, "refund.succeeded": 1, "refund.failed": 1,
};

async function eventTypes(merchant: Merchant, object_id: string): Promise<string[]> {
  const events = (await get(merchant, "/v1/events?limit=100")).body.data as any[];
  return events
    .filter((event) => event.data.object.id === object_id)
    .sort((a, b) => a.created - b.created || stepOf[a.type]! - stepOf[b.type]!)
    .map((event) => event.type);
}

const attemptOf = (payment: any) => payment.attempts[0].id as string;

describe("redirect wallets", () => {
  it("GCash: the customer approves on the wallet's page and comes back; succeeded, booked once, events for each step", async () => {
    const merchant = await createMerchant(setup.stack, "Shop PH");
    const payment = await create(merchant, walletBody("gcash", "php", 125_050, {}, { return_url: "https://shop.example/done" }));
    assert.equal(payment.status, "requires_action");
    assert.deepEqual(payment.payment_method_details, { type: "wallet", wallet: { provider: "gcash", flow: "redirect" } });
    assert.equal(payment.next_action.type, "redirect_to_url");
    assert.equal(payment.next_action.redirect_to_url.return_url, "https://shop.example/done");
    assert.ok(payment.expires_at > Date.now() / 1000 + 800, "15 minutes by default");
    assert.equal(payment.attempts[0].channel, "sandboxwallet");
    const page_url = new URL(payment.next_action.redirect_to_url.url);
    assert.equal(page_url.origin, setup.stack.sandboxes.wallet.url);

    const page = await fetch(page_url);
    const html = await page.text();
    assert.match(html, /1250\.50 PHP/);
    const approved = await fetch(`${page_url}/approve`, { method: "POST", redirect: "manual" });
    assert.equal(approved.status, 303);
    const back = approved.headers.get("location")!;
    assert.equal(back, `${setup.stack.url}/v1/payments/${payment.id}/return`);
    const returned = await fetch(back, { redirect: "manual" });
    assert.equal(returned.status, 303);
    assert.equal(returned.headers.get("location"), `https://shop.example/done?payment=${payment.id}`);

    const done = (await get(merchant, `/v1/payments/${payment.id}`)).body;
    assert.equal(done.status, "succeeded", "the return page asked the wallet");
    assert.equal(done.amount_received, 125_050);
    assert.equal(done.next_action, null);
    assert.equal(done.attempts[0].status, "captured");
    await new Promise((resolve) => setTimeout(resolve, 300)); // the wallet's notice arrives too: nothing more
    assert.deepEqual(await postingsFor(attemptOf(done)), [{ code: "capture", amount: 125_050 }]);
    assert.equal(await pendingBalance(merchant, "php"), 125_050);
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.requires_action", "payment.succeeded"]);
  });

  it("Alipay+ in USD: approved through the wallet (sandbox control), notified, succeeded", async () => {
    const merchant = await createMerchant(setup.stack, "Shop US");
    const payment = await create(merchant, walletBody("alipay_plus", "usd", 4_999));
    assert.equal(payment.status, "requires_action");
    const approved = await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, {});
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.body.order.order_amount.value, "49.99");
    const done = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded by notification");
    assert.equal(done.channel, "sandboxwallet");
    assert.equal(await pendingBalance(merchant, "usd"), 4_999);
  });

  it("DANA: the customer declines on the page; failed with a wallet_error, nothing booked", async () => {
    const merchant = await createMerchant(setup.stack, "Shop ID");
    const payment = await create(merchant, walletBody("dana", "idr", 10_000_000));
    const declined = await fetch(`${payment.next_action.redirect_to_url.url}/decline`, { method: "POST", redirect: "manual" });
    assert.equal(declined.status, 303);
    const failed = await waitFor(merchant, payment.id, (p) => p.status === "failed", "failed");
    assert.equal(failed.last_error.type, "wallet_error");
    assert.equal(failed.last_error.code, "generic_decline");
    assert.equal(failed.last_error.decline_code, "USER_REJECTED");
    assert.equal(failed.attempts[0].status, "declined");
    assert.deepEqual(await postingsFor(attemptOf(failed)), []);
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.requires_action", "payment.failed"]);
  });
});

describe("app push wallets", () => {
  it("OVO: processing without a next action until the customer approves in the app; ~60 s by default", async () => {
    const merchant = await createMerchant(setup.stack, "Shop OVO");
    const payment = await create(merchant, walletBody("ovo", "idr", 5_000_000, { phone: "+6281234567890" }));
    assert.equal(payment.status, "processing");
    assert.equal(payment.next_action, null);
    assert.deepEqual(payment.payment_method_details.wallet, { provider: "ovo", flow: "app_push", phone: "**********7890" });
    assert.ok(payment.expires_at <= Math.ceil(Date.now() / 1000) + 60, "about 60 s to approve");
    const order = (await wallet("GET", `/v1/orders/${attemptOf(payment)}`)).body.order;
    assert.equal(order.payer_phone, "+6281234567890");
    assert.equal(order.order_amount.value, "50000.00");
    assert.equal((await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, {})).status, 200);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.processing", "payment.succeeded"]);
  });

  it("OVO: an amount ending in 51 fails for insufficient balance", async () => {
    const merchant = await createMerchant(setup.stack, "Shop OVO poor");
    const payment = await create(merchant, walletBody("ovo", "idr", 5_000_051, { phone: "+6281234567890" }));
    await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, {});
    const failed = await waitFor(merchant, payment.id, (p) => p.status === "failed", "failed");
    assert.equal(failed.last_error.code, "insufficient_funds");
    assert.equal(failed.last_error.decline_code, "USER_BALANCE_NOT_ENOUGH");
    assert.equal(await pendingBalance(merchant, "idr"), 0);
  });

  it("OVO: a phone with no wallet account (ending in 404) fails at once", async () => {
    const merchant = await createMerchant(setup.stack, "Shop OVO nobody");
    const response = await call(setup.stack.url, "POST", "/v1/payments", { key: merchant.secret, body: walletBody("ovo", "idr", 5_000_000, { phone: "+6281200000404" }) });
    assert.equal(response.status, 402, "a declined confirmation, as for cards");
    assert.equal(response.body.error.decline_code, "USER_NOT_FOUND");
    const payment = response.body.error.payment;
    assert.equal(payment.status, "failed");
    assert.equal(payment.last_error.type, "wallet_error");
    assert.equal(payment.last_error.decline_code, "USER_NOT_FOUND");
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.failed"]);
  });
});

describe("QR wallets", () => {
  it("ShopeePay: the QR payload to show; the customer scans it and pays", async () => {
    const merchant = await createMerchant(setup.stack, "Shop QR");
    const payment = await create(merchant, walletBody("shopeepay", "idr", 7_500_000, { expires_in: 600 }));
    assert.equal(payment.status, "requires_action");
    assert.equal(payment.next_action.type, "display_qr_code");
    const qr = payment.next_action.display_qr_code;
    assert.match(qr.data, /^swallet:\/\/qr\/shopeepay\//);
    assert.equal(qr.expires_at, payment.expires_at);
    assert.ok(Math.abs(qr.expires_at - (Date.now() / 1000 + 600)) < 5);
    assert.equal((await wallet("POST", "/_sandbox/scan", { qr_code: qr.data })).status, 200);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.equal(await pendingBalance(merchant, "idr"), 7_500_000);
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.requires_action", "payment.succeeded"]);
  });

  it("PayPay in JPY (no minor unit): amounts cross the wire exactly", async () => {
    const merchant = await createMerchant(setup.stack, "Shop JP");
    const payment = await create(merchant, walletBody("paypay", "jpy", 1_500));
    assert.match(payment.next_action.display_qr_code.data, /amount=1500$/);
    await wallet("POST", "/_sandbox/scan", { qr_code: payment.next_action.display_qr_code.data });
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.equal(await pendingBalance(merchant, "jpy"), 1_500);
  });
});

describe("notifications", () => {
  it("a duplicated notice and a replayed one never post twice", async () => {
    const merchant = await createMerchant(setup.stack, "Shop dup");
    const payment = await create(merchant, walletBody("ovo", "idr", 2_000_000, { phone: "+6281234567890" }));
    await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, { notify: "duplicate" });
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    // The same notice again, correctly signed: acknowledged, nothing more.
    const raw = JSON.stringify({ notify_type: "PAYMENT_RESULT", merchant_order_ref: attemptOf(payment), status: "PAID", notify_id: "ntf_replay" });
    for (let round = 0; round < 3; round++) {
      const headers = signWalletNotification(loadSigningKey(DEFAULT_SWALLET_SEED), notificationPath, SWALLET_CLIENT_ID, new Date().toISOString(), raw);
      const replay = await call(setup.stack.url, "POST", notificationPath, { raw, headers });
      assert.equal(replay.status, 200, replay.text);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await postingsFor(attemptOf(payment)), [{ code: "capture", amount: 2_000_000 }]);
    assert.equal(await pendingBalance(merchant, "idr"), 2_000_000);
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.processing", "payment.succeeded"]);
  });

  it("a forged or tampered notice is rejected (400) and changes nothing", async () => {
    const merchant = await createMerchant(setup.stack, "Shop forged");
    const payment = await create(merchant, walletBody("gcash", "php", 10_000));
    const raw = JSON.stringify({ notify_type: "PAYMENT_RESULT", merchant_order_ref: attemptOf(payment), status: "PAID" });
    const headers = signWalletNotification(loadSigningKey(DEFAULT_SWALLET_SEED), notificationPath, SWALLET_CLIENT_ID, new Date().toISOString(), raw);
    const tampered = await call(setup.stack.url, "POST", notificationPath, { raw: raw.replace("PAID", "PAID "), headers });
    assert.equal(tampered.status, 400);
    assert.equal(tampered.body.error.code, "signature_invalid");
    const otherKey = signWalletNotification(loadSigningKey("11".repeat(32)), notificationPath, SWALLET_CLIENT_ID, new Date().toISOString(), raw);
    assert.equal((await call(setup.stack.url, "POST", notificationPath, { raw, headers: otherKey })).status, 400);
    const unsigned = await call(setup.stack.url, "POST", notificationPath, { raw });
    assert.equal(unsigned.status, 400);
    assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.status, "requires_action");
  });

  it("a lost create answer: the payment stays processing, the janitor opens the order again (idempotent) and shows it", async () => {
    const merchant = await createMerchant(setup.stack, "Shop lost create");
    assert.equal((await wallet("POST", "/_sandbox/faults", { lose_create_answers: 1 })).status, 200);
    const payment = await create(merchant, walletBody("gcash", "php", 45_000));
    assert.equal(payment.status, "processing");
    assert.equal(payment.next_action, null);
    assert.equal(payment.attempts[0].status, "pending");
    const shown = await waitFor(merchant, payment.id, (p) => p.status === "requires_action", "order opened again");
    assert.equal(shown.next_action.type, "redirect_to_url");
    const orders = (await wallet("GET", "/v1/orders")).body.orders.filter((order: any) => order.merchant_order_ref === attemptOf(payment));
    assert.equal(orders.length, 1, "one order at the wallet");
    await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, {});
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.requires_action", "payment.succeeded"]);
  });

  it("a lost notice: the janitor asks the wallet and applies what it recorded", async () => {
    const merchant = await createMerchant(setup.stack, "Shop lost");
    const payment = await create(merchant, walletBody("ovo", "idr", 3_000_000, { phone: "+6281234567890" }));
    await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, { notify: "drop" });
    const done = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded by inquiry");
    assert.deepEqual(await postingsFor(attemptOf(done)), [{ code: "capture", amount: 3_000_000 }]);
    // Channel metrics see wallet attempts too: one sample, approved.
    const samples = await setup.stack.corridor.ctx.db.all<{ outcome: string; channel: string }>("SELECT outcome, channel FROM attempt_samples WHERE attempt_id = ?", [attemptOf(done)]);
    assert.deepEqual(samples, [{ outcome: "approved", channel: "sandboxwallet" }]);
  });
});

describe("expiry, cancel and late payments", () => {
  it("an unpaid QR payment expires: closed at the wallet, canceled (expired), nothing booked", async () => {
    const merchant = await createMerchant(setup.stack, "Shop expiry");
    const payment = await create(merchant, walletBody("grabpay", "sgd", 1_200, { expires_in: 1 }));
    const canceled = await waitFor(merchant, payment.id, (p) => p.status === "canceled", "expired");
    assert.equal(canceled.cancellation_reason, "expired");
    assert.equal(canceled.next_action, null);
    assert.equal(canceled.attempts[0].status, "expired");
    assert.equal((await wallet("GET", `/v1/orders/${attemptOf(payment)}`)).body.order.status, "CLOSED");
    assert.equal((await wallet("POST", "/_sandbox/scan", { qr_code: payment.next_action.display_qr_code.data })).status, 409, "no longer payable");
    assert.deepEqual(await postingsFor(attemptOf(payment)), []);
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.requires_action", "payment.canceled"]);
  });

  it("an app push nobody approves expires too", async () => {
    const merchant = await createMerchant(setup.stack, "Shop push expiry");
    const payment = await create(merchant, walletBody("ovo", "idr", 1_000_000, { phone: "+6281234567890", expires_in: 1 }));
    const canceled = await waitFor(merchant, payment.id, (p) => p.status === "canceled", "expired");
    assert.equal(canceled.cancellation_reason, "expired");
  });

  it("the merchant cancels an open payment: closed at the wallet first, then canceled", async () => {
    const merchant = await createMerchant(setup.stack, "Shop cancel");
    const payment = await create(merchant, walletBody("maya", "php", 50_000));
    const canceled = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: merchant.secret, body: {} });
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.body.status, "canceled");
    assert.equal(canceled.body.cancellation_reason, "requested_by_customer");
    assert.equal(canceled.body.attempts[0].status, "voided");
    assert.equal((await wallet("GET", `/v1/orders/${attemptOf(payment)}`)).body.order.status, "CLOSED");
    assert.equal((await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, {})).status, 409);
    const again = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: merchant.secret, body: {} });
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, "payment_unexpected_state");
  });

  it("canceling a payment the customer already paid: the wallet's record wins (succeeded, cancel refused)", async () => {
    const merchant = await createMerchant(setup.stack, "Shop cancel race");
    const payment = await create(merchant, walletBody("gcash", "php", 60_000));
    await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, { notify: "drop" });
    const canceled = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: merchant.secret, body: {} });
    assert.equal(canceled.status, 400, canceled.text);
    assert.equal(canceled.body.error.code, "payment_unexpected_state");
    const done = (await get(merchant, `/v1/payments/${payment.id}`)).body;
    assert.equal(done.status, "succeeded");
    assert.deepEqual(await postingsFor(attemptOf(done)), [{ code: "capture", amount: 60_000 }]);
  });

  it("a payment the wallet takes after expiry is booked and refunded to the wallet at once; the payment stays canceled", async () => {
    const merchant = await createMerchant(setup.stack, "Shop late");
    const payment = await create(merchant, walletBody("dana", "idr", 8_800_000, { expires_in: 1 }));
    await waitFor(merchant, payment.id, (p) => p.status === "canceled", "expired");
    // The wallet settles a payment its close raced with: it notifies PAID for a closed order.
    const late = await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, { force: true });
    assert.equal(late.status, 200, late.text);
    const reversed = await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "reversed", "reversed");
    assert.equal(reversed.status, "canceled");
    assert.equal(reversed.amount_received, 0);
    // Booked (the wallet has the money), owed back at once (never the merchant's), then paid back.
    assert.deepEqual(await postingsFor(attemptOf(payment)), [{ code: "capture", amount: 8_800_000 }, { code: "refund_due", amount: 8_800_000 }]);
    assert.deepEqual(await postingsFor(`${attemptOf(payment)}_rev`), [{ code: "return_of_funds", amount: 8_800_000 }]);
    assert.equal(await pendingBalance(merchant, "idr"), 0);
    const owed = await creditBalance(setup.stack.corridor.ctx.db, { owner: merchant.id, currency: "IDR", purpose: "customer_refunds_due" });
    assert.equal(owed.posted, 0n, "nothing left owed to the customer");
    const refund = (await wallet("GET", `/v1/refunds/${attemptOf(payment)}_rev`)).body.refund;
    assert.equal(refund.status, "REFUND_SUCCESS");
    assert.equal(refund.refund_amount.value, "88000.00");
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.requires_action", "payment.canceled"]);
  });
});

describe("late payments whose notice is lost", () => {
  it("the janitor keeps asking about a closed order: a payment the wallet took after expiry is found, booked as owed back and refunded", async () => {
    const merchant = await createMerchant(setup.stack, "Shop late lost notice");
    const payment = await create(merchant, walletBody("gcash", "php", 77_000, { expires_in: 1 }));
    await waitFor(merchant, payment.id, (p) => p.status === "canceled", "expired");
    const late = await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, { force: true, notify: "drop" });
    assert.equal(late.status, 200, late.text);
    const reversed = await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "reversed", "found by the janitor and reversed", 15_000);
    assert.equal(reversed.status, "canceled");
    assert.equal(reversed.amount_received, 0);
    assert.deepEqual(await postingsFor(attemptOf(payment)), [{ code: "capture", amount: 77_000 }, { code: "refund_due", amount: 77_000 }]);
    assert.deepEqual(await postingsFor(`${attemptOf(payment)}_rev`), [{ code: "return_of_funds", amount: 77_000 }]);
    assert.equal((await wallet("GET", `/v1/refunds/${attemptOf(payment)}_rev`)).body.refund.status, "REFUND_SUCCESS");
    assert.equal(await pendingBalance(merchant, "php"), 0);
    assert.deepEqual(await eventTypes(merchant, payment.id), ["payment.created", "payment.requires_action", "payment.canceled"]);
  });

  it("a payment taken after the merchant canceled, notice lost, is found and refunded too", async () => {
    const merchant = await createMerchant(setup.stack, "Shop cancel late lost notice");
    const payment = await create(merchant, walletBody("shopeepay", "idr", 3_300_000));
    const canceled = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: merchant.secret, body: {} });
    assert.equal(canceled.status, 200, canceled.text);
    await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, { force: true, notify: "drop" });
    const reversed = await waitFor(merchant, payment.id, (p) => p.attempts[0].status === "reversed", "found by the janitor and reversed", 15_000);
    assert.equal(reversed.status, "canceled");
    assert.equal(await pendingBalance(merchant, "idr"), 0);
  });
});

describe("late payments whose refund the wallet refuses", () => {
  it("the money stays booked as owed back to the customer (never the merchant's), the attempt reversing", async () => {
    const merchant = await createMerchant(setup.stack, "Shop late refused");
    const payment = await create(merchant, walletBody("dana", "idr", 1_000_066, { expires_in: 1 }));
    await waitFor(merchant, payment.id, (p) => p.status === "canceled", "expired");
    await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, { force: true });
    await eventually(async () => (await wallet("GET", `/v1/refunds/${attemptOf(payment)}_rev`)).body.refund?.status === "REFUND_FAILED", 10_000, "refused");
    await new Promise((resolve) => setTimeout(resolve, 500)); // the refusal notice and a janitor round
    const current = (await get(merchant, `/v1/payments/${payment.id}`)).body;
    assert.equal(current.status, "canceled");
    assert.equal(current.attempts[0].status, "reversing");
    assert.equal(await pendingBalance(merchant, "idr"), 0);
    const owed = await creditBalance(setup.stack.corridor.ctx.db, { owner: merchant.id, currency: "IDR", purpose: "customer_refunds_due" });
    assert.equal(owed.posted, 1_000_066n);
    assert.deepEqual(await postingsFor(`${attemptOf(payment)}_rev`), []);
  });
});

describe("refunds to the wallet", () => {
  async function paid(merchant: Merchant, amount: number) {
    const payment = await create(merchant, walletBody("gcash", "php", amount));
    await wallet("POST", `/_sandbox/orders/${attemptOf(payment)}/approve`, {});
    return waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
  }

  it("a partial refund is paid back to the wallet asynchronously: pending, then succeeded", async () => {
    const merchant = await createMerchant(setup.stack, "Shop refund");
    const payment = await paid(merchant, 100_000);
    const created = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id, amount: 30_000 } });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.body.status, "pending", "the wallet pays refunds out asynchronously");
    const refund = await eventually(async () => {
      const current = (await get(merchant, `/v1/refunds/${created.body.id}`)).body;
      return current.status === "succeeded" ? current : undefined;
    }, 10_000, "refund succeeded");
    assert.equal(refund.amount, 30_000);
    assert.equal((await wallet("GET", `/v1/refunds/${created.body.id}`)).body.refund.status, "REFUND_SUCCESS");
    assert.equal(await pendingBalance(merchant, "php"), 70_000);
    assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.amount_refunded, 30_000);
    assert.deepEqual(await eventTypes(merchant, created.body.id), ["refund.created", "refund.succeeded"]);
    const over = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id, amount: 70_001 } });
    assert.equal(over.status, 400);
  });

  it("a refund the wallet fails (amount ending in 66) releases the reservation; the ledger stays balanced", async () => {
    const merchant = await createMerchant(setup.stack, "Shop refund fail");
    const payment = await paid(merchant, 100_000);
    const created = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id, amount: 10_066 } });
    assert.equal(created.status, 200, created.text);
    const refund = await eventually(async () => {
      const current = (await get(merchant, `/v1/refunds/${created.body.id}`)).body;
      return current.status === "failed" ? current : undefined;
    }, 10_000, "refund failed");
    assert.equal(refund.failure_reason, "transaction_not_allowed");
    assert.equal(await pendingBalance(merchant, "php"), 100_000);
    assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.amount_refunded, 0);
    assert.deepEqual(await eventTypes(merchant, created.body.id), ["refund.created", "refund.failed"]);
  });
});

describe("invalid method data", () => {
  const cases: { name: string; body: unknown; param: string }[] = [
    { name: "unknown provider", body: walletBody("venmo", "php", 1_000), param: "payment_method_data.wallet.provider" },
    { name: "currency the provider does not take", body: walletBody("gcash", "idr", 1_000), param: "currency" },
    { name: "app push without a phone", body: walletBody("ovo", "idr", 1_000_000), param: "payment_method_data.wallet.phone" },
    { name: "malformed phone", body: walletBody("ovo", "idr", 1_000_000, { phone: "call me" }), param: "payment_method_data.wallet.phone" },
    { name: "expiry past the provider's window", body: walletBody("ovo", "idr", 1_000_000, { phone: "+6281234567890", expires_in: 120 }), param: "payment_method_data.wallet.expires_in" },
    { name: "expiry out of range", body: walletBody("gcash", "php", 1_000, { expires_in: 0 }), param: "payment_method_data.wallet.expires_in" },
    { name: "not confirmed", body: walletBody("gcash", "php", 1_000, {}, { confirm: false }), param: "confirm" },
    { name: "manual capture", body: walletBody("gcash", "php", 1_000, {}, { capture_method: "manual" }), param: "capture_method" },
    { name: "unknown wallet field", body: walletBody("gcash", "php", 1_000, { pin: "1234" }), param: "payment_method_data.wallet.pin" },
    { name: "provider missing", body: { amount: 1_000, currency: "php", confirm: true, payment_method_data: { type: "wallet", wallet: {} } }, param: "payment_method_data.wallet.provider" },
    { name: "wallet object missing", body: { amount: 1_000, currency: "php", confirm: true, payment_method_data: { type: "wallet" } }, param: "payment_method_data.wallet" },
  ];

  it("each answers 400 naming the field, and nothing is written", async () => {
    const merchant = await createMerchant(setup.stack, "Shop invalid");
    for (const { name, body, param } of cases) {
      const response = await call(setup.stack.url, "POST", "/v1/payments", { key: merchant.secret, body });
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assert.equal(response.body.error.param, param, name);
      assert.equal(response.body.error.type, "invalid_request_error", name);
    }
    assert.equal((await get(merchant, "/v1/payments")).body.data.length, 0);
    assert.equal((await get(merchant, "/v1/events")).body.data.length, 0);
  });

  it("the OpenAPI document describes the wallet fields", async () => {
    const document = (await call(setup.stack.url, "GET", "/openapi.json")).body;
    const text = JSON.stringify(document);
    for (const word of ["alipay_plus", "app_push", "display_qr_code", "expires_in", "wallet_error"]) assert.ok(text.includes(word), word);
  });
});

describe("tenancy", () => {
  it("another merchant's wallet payment is not found, and cannot be canceled or refunded", async () => {
    const owner = await createMerchant(setup.stack, "Owner");
    const stranger = await createMerchant(setup.stack, "Stranger");
    const payment = await create(owner, walletBody("gcash", "php", 20_000));
    assert.equal((await get(stranger, `/v1/payments/${payment.id}`)).status, 404);
    assert.equal((await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: stranger.secret, body: {} })).status, 404);
    assert.equal((await call(setup.stack.url, "POST", "/v1/refunds", { key: stranger.secret, body: { payment: payment.id } })).status, 404);
    assert.equal((await get(owner, `/v1/payments/${payment.id}`)).body.status, "requires_action");
  });

  it("an idempotent retry of a create replays the first answer and opens one order", async () => {
    const merchant = await createMerchant(setup.stack, "Shop retry");
    const body = walletBody("gcash", "php", 33_000);
    const first = await create(merchant, body, { "idempotency-key": "wallet-retry-1" });
    const second = await create(merchant, body, { "idempotency-key": "wallet-retry-1" });
    assert.equal(second.id, first.id);
    assert.equal((await get(merchant, "/v1/payments")).body.data.length, 1);
  });
});
