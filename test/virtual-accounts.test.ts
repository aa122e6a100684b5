// Reusable virtual accounts end to end through the HTTP API: Indonesian VA numbers and Mexican
// CLABEs for a customer, open or closed amount, single or multi use, with the sandbox bank as a
// real HTTP service that notifies Corridor of every transfer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { creditBalance } from "../src/ledger/ledger.ts";
import { isValidClabe } from "../src/methods/bank-transfer/clabe.ts";
import { isVirtualAccountOf } from "../src/methods/bank-transfer/va.ts";
import { signSbank } from "../src/sandbox/bank/index.ts";
import { assertLedgerBalanced, call, createMerchant, eventually, pendingBalanceOf, useStack, waitForPayment, type Merchant } from "./helpers.ts";

const setup = useStack();

const get = (merchant: Merchant, path: string) => call(setup.stack.url, "GET", path, { key: merchant.secret });
const post = (merchant: Merchant, path: string, body: unknown = {}) => call(setup.stack.url, "POST", path, { key: merchant.secret, body });

async function createVa(merchant: Merchant, body: Record<string, unknown>) {
  const response = await post(merchant, "/v1/virtual_accounts", { customer: "cus_123", ...body });
  assert.equal(response.status, 200, response.text);
  assert.match(response.body.id, /^va_/);
  assert.equal(response.body.object, "virtual_account");
  assert.equal(response.body.status, "active", response.text);
  return response.body;
}

const accountOf = (va: any): string => va.account_number ?? va.clabe;

/** A customer's transfer at the sandbox bank. */
async function transfer(reference: string, amount: number, options: { drop_notification?: boolean; sender?: { name: string; account: string; bank?: string } } = {}) {
  const response = await fetch(`${setup.stack.sandboxes.sandboxbank.url}/transfers`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reference, amount, ...options }),
  });
  const answer: any = await response.json();
  assert.equal(response.status, 201, JSON.stringify(answer));
  return answer.transfer as { transfer_id: string; collection_id: string; amount: number; received_at: string };
}

/** The payments made into one virtual account (ids made in one millisecond are in no particular order). */
async function paymentsOf(merchant: Merchant, va_id: string): Promise<any[]> {
  const listed = (await get(merchant, "/v1/payments?limit=100")).body.data as any[];
  return listed.filter((payment) => payment.payment_method_details?.bank_transfer?.virtual_account === va_id).reverse();
}

async function waitForPayments(merchant: Merchant, va_id: string, count: number, what: string): Promise<any[]> {
  return eventually(async () => {
    const payments = await paymentsOf(merchant, va_id);
    return payments.length === count && payments.every((payment) => payment.status === "succeeded" || payment.status === "canceled") ? payments : undefined;
  }, 10_000, what);
}

async function waitForVa(merchant: Merchant, id: string, check: (va: any) => boolean, what: string) {
  return eventually(async () => {
    const va = (await get(merchant, `/v1/virtual_accounts/${id}`)).body;
    return check(va) ? va : undefined;
  }, 10_000, what);
}

/** Owed back to customers and not yet paid back. */
async function refundsStillDue(merchant: Merchant, currency: string): Promise<number> {
  const ref = { owner: merchant.id, currency: currency.toUpperCase(), purpose: "customer_refunds_due" as const };
  return Number((await creditBalance(setup.stack.corridor.ctx.db, ref)).posted);
}

async function postingsFor(ref: string): Promise<number> {
  const row = await setup.stack.corridor.ctx.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM ledger_transfers WHERE ref = ?", [ref]);
  return Number(row?.n ?? 0);
}

/** Events written in one millisecond have ids in no particular order: ordered by time, then by step. */
const stepOf: Record<string, number> = {
  "payment.created": 0, "payment.succeeded": 1, "payment.canceled": 1, "virtual_account.created": 0, "virtual_account.updated": 1,
};

async function eventsFor(merchant: Merchant, object_id: string): Promise<string[]> {
  const events = (await get(merchant, "/v1/events?limit=100")).body.data as any[];
  return events
    .filter((event) => event.data.object.id === object_id)
    .sort((a, b) => a.created - b.created || stepOf[a.type]! - stepOf[b.type]!)
    .map((event) => event.type);
}

/** Waits until the transfer's money went back to the sender: a succeeded refund of kind return_of_funds. */
async function returnedToSender(merchant: Merchant, payment_id: string) {
  return eventually(async () => {
    const refunds = (await get(merchant, `/v1/refunds?payment=${payment_id}`)).body.data;
    return refunds.length === 1 && refunds[0].status === "succeeded" ? refunds[0] : undefined;
  }, 10_000, "returned to the sender");
}

const sender = { name: "Siti Rahma", account: "8800555123", bank: "bni" };

describe("open amount, multi use", () => {
  it("every transfer of any amount is a succeeded payment for the customer; the account stays active", async () => {
    const merchant = await createMerchant(setup.stack, "VA open shop");
    const va = await createVa(merchant, { country: "ID", customer: "cus_open", metadata: { order: "42" } });
    assert.equal(va.country, "ID");
    assert.equal(va.bank, "bca");
    assert.ok(isVirtualAccountOf("bca", va.account_number), va.account_number);
    assert.equal(va.currency, "idr");
    assert.equal(va.customer, "cus_open");
    assert.equal(va.amount_type, "open");
    assert.equal(va.amount, null);
    assert.equal(va.usage, "multi_use");
    assert.equal(va.expires_at, null, "a multi-use account does not expire by default");
    assert.equal(va.payments_count, 0);
    assert.deepEqual(va.metadata, { order: "42" });
    const other = await createVa(merchant, { country: "ID", bank: "mandiri" });
    assert.ok(isVirtualAccountOf("mandiri", other.account_number), other.account_number);
    assert.notEqual(other.account_number, va.account_number, "one number per account");
    const keyed = { key: merchant.secret, headers: { "Idempotency-Key": "va-other" }, body: { country: "ID", customer: "cus_other" } };
    const first = await call(setup.stack.url, "POST", "/v1/virtual_accounts", keyed);
    const replay = await call(setup.stack.url, "POST", "/v1/virtual_accounts", keyed);
    assert.equal(replay.body.id, first.body.id, "a retry with the same key is the same account");
    await post(merchant, `/v1/virtual_accounts/${first.body.id}/deactivate`);

    const amounts = [10_000, 250_000, 7_500_000];
    const sent = [];
    for (const amount of amounts) sent.push(await transfer(va.account_number, amount));
    const payments = await waitForPayments(merchant, va.id, 3, "three payments");
    assert.deepEqual(payments.map((payment) => payment.status), ["succeeded", "succeeded", "succeeded"]);
    assert.deepEqual(payments.map((payment) => payment.amount).sort((a, b) => a - b), amounts);
    for (const payment of payments) {
      assert.equal(payment.amount_received, payment.amount);
      assert.equal(payment.amount_refund_due, 0);
      assert.equal(payment.currency, "idr");
      assert.equal(payment.customer, "cus_open");
      assert.equal(payment.channel, "sandboxbank");
      assert.deepEqual(payment.payment_method_details, { type: "bank_transfer", bank_transfer: { country: "ID", bank: "bca", virtual_account: va.id } });
      assert.equal(payment.attempts.length, 1);
      assert.equal(payment.attempts[0].status, "captured");
      assert.deepEqual(await eventsFor(merchant, payment.id), ["payment.created", "payment.succeeded"]);
    }
    for (const one of sent) assert.equal(await postingsFor(one.transfer_id), 1, "each transfer posted once");
    assert.equal(await pendingBalanceOf(setup.stack, merchant, "idr"), amounts.reduce((sum, amount) => sum + amount, 0));
    const after = await waitForVa(merchant, va.id, (current) => current.payments_count === 3, "three payments counted");
    assert.equal(after.status, "active");
    assert.deepEqual(await eventsFor(merchant, va.id), ["virtual_account.created"]);

    const listed = (await get(merchant, "/v1/virtual_accounts?customer=cus_open")).body;
    assert.equal(listed.object, "list");
    assert.deepEqual(listed.data.map((item: any) => item.id), [va.id]);
    const page = (await get(merchant, "/v1/virtual_accounts?limit=1")).body;
    assert.equal(page.data.length, 1);
    assert.equal(page.has_more, true);
    assert.equal(page.data[0].id, first.body.id, "newest first");
    assert.deepEqual((await get(merchant, "/v1/virtual_accounts?status=inactive")).body.data.map((item: any) => item.id), [first.body.id]);
    await assertLedgerBalanced(setup.stack);
  });

  it("a payment made into a virtual account is refunded like any bank transfer", async () => {
    const merchant = await createMerchant(setup.stack, "VA refund shop");
    const va = await createVa(merchant, { country: "MX" });
    await transfer(va.clabe, 80_000);
    const [payment] = await waitForPayments(merchant, va.id, 1, "a payment");
    const destination = { type: "bank_account", account_holder_name: "Ana Lopez", country: "MX", account: "012180015025674929" };
    const refund = await post(merchant, "/v1/refunds", { payment: payment.id, amount: 30_000, destination });
    assert.equal(refund.status, 200, refund.text);
    await eventually(async () => (await get(merchant, `/v1/refunds/${refund.body.id}`)).body.status === "succeeded", 10_000, "refund paid out");
    assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.amount_refunded, 30_000);
    assert.equal(await pendingBalanceOf(setup.stack, merchant, "mxn"), 50_000);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("closed amount", () => {
  it("the exact amount succeeds; another amount is canceled and paid back to the sender", async () => {
    const merchant = await createMerchant(setup.stack, "VA closed shop");
    const va = await createVa(merchant, { country: "ID", amount_type: "closed", amount: 150_000 });
    assert.equal(va.amount_type, "closed");
    assert.equal(va.amount, 150_000);
    await transfer(va.account_number, 150_000);
    const wrong = await transfer(va.account_number, 149_000, { sender });
    const payments = await waitForPayments(merchant, va.id, 2, "two payments");
    const paid = payments.find((payment) => payment.status === "succeeded");
    const refused = payments.find((payment) => payment.status === "canceled");
    assert.ok(paid && refused, JSON.stringify(payments.map((payment) => payment.status)));
    assert.equal(paid.amount_received, 150_000);
    assert.equal(refused.cancellation_reason, "amount_mismatch");
    assert.equal(refused.amount, 149_000);
    assert.equal(refused.amount_received, 0);
    assert.equal(refused.amount_refund_due, 149_000);
    assert.equal(refused.attempts[0].status, "expired");
    assert.deepEqual(await eventsFor(merchant, refused.id), ["payment.created", "payment.canceled"]);

    const returned = await returnedToSender(merchant, refused.id);
    assert.equal(returned.kind, "return_of_funds");
    assert.equal(returned.amount, 149_000);
    assert.equal(returned.metadata.transfer, wrong.transfer_id);
    const payout: any = await (await fetch(`${setup.stack.sandboxes.sandboxbank.url}/payouts/${returned.id}`)).json();
    assert.equal(payout.payout.beneficiary.account, sender.account, "paid back to the account it came from");
    assert.equal(await refundsStillDue(merchant, "idr"), 0);
    assert.equal(await pendingBalanceOf(setup.stack, merchant, "idr"), 150_000, "only the exact amount is the merchant's");
    assert.equal((await get(merchant, `/v1/virtual_accounts/${va.id}`)).body.payments_count, 1, "refused transfers are not counted");
    await assertLedgerBalanced(setup.stack);
  });
});

describe("single use", () => {
  it("a CLABE that takes one payment, then becomes inactive; a second transfer is paid back", async () => {
    const merchant = await createMerchant(setup.stack, "VA single shop");
    const va = await createVa(merchant, { country: "MX", usage: "single_use" });
    assert.match(va.clabe, /^646180[0-9]{12}$/);
    assert.ok(isValidClabe(va.clabe), "valid check digit");
    const expiresIn = va.expires_at - Math.floor(Date.now() / 1000);
    assert.ok(expiresIn > 86_400 - 60 && expiresIn <= 86_400, `a single-use account expires in 24 h by default (${expiresIn} s)`);
    await transfer(va.clabe, 99_900);
    await waitForPayments(merchant, va.id, 1, "the first payment");
    const used = await waitForVa(merchant, va.id, (current) => current.status === "inactive", "inactive");
    assert.equal(used.status_reason, "used");
    assert.equal(used.payments_count, 1);
    await transfer(va.clabe, 99_900, { sender: { name: "Ana Lopez", account: "012180015025674929" } });
    const payments = await waitForPayments(merchant, va.id, 2, "two payments");
    assert.deepEqual(payments.map((payment) => payment.status).sort(), ["canceled", "succeeded"]);
    const refused = payments.find((payment) => payment.status === "canceled");
    assert.equal(refused.cancellation_reason, "virtual_account_inactive");
    await returnedToSender(merchant, refused.id);
    assert.equal(await pendingBalanceOf(setup.stack, merchant, "mxn"), 99_900);
    assert.deepEqual(await eventsFor(merchant, va.id), ["virtual_account.created", "virtual_account.updated"]);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("deactivation and expiry", () => {
  it("a deactivated account takes no more money", async () => {
    const merchant = await createMerchant(setup.stack, "VA deactivate shop");
    const va = await createVa(merchant, { country: "ID", bank: "bni" });
    const deactivated = await post(merchant, `/v1/virtual_accounts/${va.id}/deactivate`);
    assert.equal(deactivated.status, 200, deactivated.text);
    assert.equal(deactivated.body.status, "inactive");
    assert.equal(deactivated.body.status_reason, "deactivated");
    const again = await post(merchant, `/v1/virtual_accounts/${va.id}/deactivate`);
    assert.equal(again.status, 400, again.text);
    assert.equal(again.body.error.code, "virtual_account_unexpected_state");
    await transfer(va.account_number, 500_000, { sender });
    const [refused] = await waitForPayments(merchant, va.id, 1, "a refused payment");
    assert.equal(refused.status, "canceled");
    assert.equal(refused.cancellation_reason, "virtual_account_inactive");
    await returnedToSender(merchant, refused.id);
    assert.equal(await pendingBalanceOf(setup.stack, merchant, "idr"), 0);
    assert.deepEqual(await eventsFor(merchant, va.id), ["virtual_account.created", "virtual_account.updated"]);
    await assertLedgerBalanced(setup.stack);
  });

  it("deactivation takes a transfer made before it whose notification was lost", async () => {
    const merchant = await createMerchant(setup.stack, "VA deactivate late shop");
    const va = await createVa(merchant, { country: "ID" });
    await transfer(va.account_number, 70_000, { drop_notification: true });
    const deactivated = await post(merchant, `/v1/virtual_accounts/${va.id}/deactivate`);
    assert.equal(deactivated.status, 200, deactivated.text);
    const [payment] = await waitForPayments(merchant, va.id, 1, "the payment");
    assert.equal(payment.status, "succeeded", "made while the account was active");
    assert.equal(deactivated.body.payments_count, 1);
    await assertLedgerBalanced(setup.stack);
  });

  it("an account expires (janitor); a later transfer is paid back", async () => {
    const merchant = await createMerchant(setup.stack, "VA expiry shop");
    const va = await createVa(merchant, { country: "MX", expires_in: 1 });
    assert.ok(va.expires_at <= Math.floor(Date.now() / 1000) + 1);
    const expired = await waitForVa(merchant, va.id, (current) => current.status === "expired", "expired");
    assert.equal(expired.status_reason, "expired");
    await transfer(va.clabe, 12_345, { sender: { name: "Late Payer", account: "012180015025674929" } });
    const [refused] = await waitForPayments(merchant, va.id, 1, "a refused payment");
    assert.equal(refused.status, "canceled");
    assert.equal(refused.cancellation_reason, "virtual_account_expired");
    await returnedToSender(merchant, refused.id);
    assert.equal(await pendingBalanceOf(setup.stack, merchant, "mxn"), 0);
    assert.equal(await refundsStillDue(merchant, "mxn"), 0);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("notifications", () => {
  it("a duplicated notification never posts twice", async () => {
    const merchant = await createMerchant(setup.stack, "VA duplicate shop");
    const va = await createVa(merchant, { country: "ID" });
    const sent = await transfer(va.account_number, 33_000);
    await waitForPayments(merchant, va.id, 1, "the payment");
    const notification = JSON.stringify({
      event: "transfer.received", collection_id: sent.collection_id, merchant_ref: va.id,
      transfer_id: sent.transfer_id, amount: 33_000, currency: "IDR", received_at: sent.received_at,
    });
    const deliveries = await Promise.all([0, 1, 2].map(() => call(setup.stack.url, "POST", "/v1/channels/sandboxbank/notifications", {
      raw: notification, headers: { "x-sbank-signature": signSbank("sbank_sandbox_notification_secret", notification) },
    })));
    for (const delivery of deliveries) assert.equal(delivery.status, 200, delivery.text);
    assert.equal((await paymentsOf(merchant, va.id)).length, 1, "one payment");
    assert.equal(await postingsFor(sent.transfer_id), 1, "no double post");
    assert.equal(await pendingBalanceOf(setup.stack, merchant, "idr"), 33_000);
    assert.equal((await get(merchant, `/v1/virtual_accounts/${va.id}`)).body.payments_count, 1);
    await assertLedgerBalanced(setup.stack);
  });

  it("a transfer whose notification was lost is found by the janitor", async () => {
    const merchant = await createMerchant(setup.stack, "VA lost shop");
    const va = await createVa(merchant, { country: "MX" });
    const sent = await transfer(va.clabe, 45_600, { drop_notification: true });
    const [payment] = await waitForPayments(merchant, va.id, 1, "found by inquiry");
    assert.equal(payment.status, "succeeded");
    assert.equal(payment.amount, 45_600);
    assert.equal(await postingsFor(sent.transfer_id), 1);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("bad input and tenancy", () => {
  it("answers 400 naming the field and writes nothing", async () => {
    const merchant = await createMerchant(setup.stack, "VA bad input shop");
    const cases: [string, Record<string, unknown>, string, string?][] = [
      ["closed without amount", { country: "ID", customer: "c", amount_type: "closed" }, "amount", "parameter_missing"],
      ["amount with open", { country: "ID", customer: "c", amount: 1000 }, "amount", "parameter_unknown"],
      ["amount with explicit open", { country: "ID", customer: "c", amount_type: "open", amount: 1000 }, "amount", "parameter_unknown"],
      ["unknown bank", { country: "ID", customer: "c", bank: "nobank" }, "bank", "bank_unsupported"],
      ["a Mexican bank in Indonesia", { country: "ID", customer: "c", bank: "stp" }, "bank", "bank_unsupported"],
      ["wrong country", { country: "BR", customer: "c" }, "country", "country_unsupported"],
      ["malformed country", { country: "IDN", customer: "c" }, "country", "parameter_invalid"],
      ["no customer", { country: "ID" }, "customer", "parameter_missing"],
      ["blank customer", { country: "ID", customer: "  " }, "customer", "parameter_missing"],
      ["fractional amount", { country: "ID", customer: "c", amount_type: "closed", amount: 10.5 }, "amount", "parameter_invalid"],
      ["zero amount", { country: "ID", customer: "c", amount_type: "closed", amount: 0 }, "amount", "parameter_invalid"],
      ["unknown amount type", { country: "ID", customer: "c", amount_type: "fixed" }, "amount_type", "parameter_invalid"],
      ["unknown usage", { country: "ID", customer: "c", usage: "twice" }, "usage", "parameter_invalid"],
      ["expiry of 0 s", { country: "ID", customer: "c", expires_in: 0 }, "expires_in", "parameter_invalid"],
      ["unknown field", { country: "ID", customer: "c", currency: "idr" }, "currency", "parameter_unknown"],
    ];
    for (const [name, body, param, code] of cases) {
      const response = await post(merchant, "/v1/virtual_accounts", body);
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assert.equal(response.body.error.param, param, `${name}: ${response.text}`);
      if (code) assert.equal(response.body.error.code, code, `${name}: ${response.text}`);
    }
    assert.equal((await get(merchant, "/v1/virtual_accounts")).body.data.length, 0, "nothing written");
    assert.equal((await get(merchant, "/v1/events")).body.data.length, 0, "no event");
    const rows = await setup.stack.corridor.ctx.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM virtual_accounts WHERE merchant_id = ?", [merchant.id]);
    assert.equal(Number(rows?.n), 0);
  });

  it("another merchant's account is a 404 and is never listed", async () => {
    const owner = await createMerchant(setup.stack, "VA owner shop");
    const stranger = await createMerchant(setup.stack, "VA stranger shop");
    const va = await createVa(owner, { country: "ID" });
    const read = await get(stranger, `/v1/virtual_accounts/${va.id}`);
    assert.equal(read.status, 404, read.text);
    assert.equal(read.body.error.code, "resource_missing");
    const deactivate = await post(stranger, `/v1/virtual_accounts/${va.id}/deactivate`);
    assert.equal(deactivate.status, 404, deactivate.text);
    assert.equal((await get(stranger, "/v1/virtual_accounts")).body.data.length, 0);
    assert.equal((await get(owner, `/v1/virtual_accounts/${va.id}`)).body.status, "active", "untouched");
    const missing = await get(owner, "/v1/virtual_accounts/va_00000000000000000000000000");
    assert.equal(missing.status, 404);
  });
});
