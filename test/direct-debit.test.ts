// Direct debit end to end through the HTTP API: SEPA and ACH mandates, debits collected under them
// by the sandbox bank (a real HTTP service with a simulated clock the tests advance), settlements,
// returns before and after settlement, duplicate and lost notifications, ACH re-presentment, the
// 36-month lapse, and tenancy. The ledger verifies balanced after every test.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { XmlDocument, XsdValidator } from "libxml2-wasm";
import { refundDestinationForMandate } from "../src/methods/direct-debit/mandates.ts";
import { signSbank } from "../src/sandbox/bank/index.ts";
import { assertLedgerBalanced, call, createMerchant, eventually, useStack, type Merchant, waitForPayment, pendingBalanceOf } from "./helpers.ts";

const setup = useStack();
afterEach(async () => assertLedgerBalanced(setup.stack));

// Test accounts of the sandbox bank (src/sandbox/bank/debits.ts).
const iban = {
  settles: "DE89 3704 0044 0532 0130 00",
  am04: "DE24370400440000000404",
  ac04: "DE73370400440000000104",
  md06: "DE02370400440000000606",
};
const ach = { settles: "000123456789", r01_once: "000000000001", r01_always: "000000000011", r10: "000000000010" };
const routing = "110000000";

const api = (merchant: Merchant, method: string, path: string, body?: unknown) =>
  call(setup.stack.url, method, path, { key: merchant.secret, ...(body === undefined ? {} : { body }) });

async function bank(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${setup.stack.sandboxes.sandboxbank.url}${path}`, {
    method, headers: { "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

const advance = (days: number, drop_notifications = false) => bank("POST", "/_sandbox/clock/advance", { days, drop_notifications });

async function sepaMandate(merchant: Merchant, account = iban.settles, extra: Record<string, unknown> = {}) {
  const response = await api(merchant, "POST", "/v1/mandates", { type: "sepa_debit", sepa_debit: { iban: account, account_holder_name: "Test Debtor" }, ...extra });
  assert.equal(response.status, 200, response.text);
  return response.body;
}

async function achMandate(merchant: Merchant, account_number = ach.settles) {
  const response = await api(merchant, "POST", "/v1/mandates", {
    type: "ach_debit", ach_debit: { routing_number: routing, account_number, account_type: "checking", account_holder_name: "Test Customer" },
  });
  assert.equal(response.status, 200, response.text);
  return response.body;
}

async function debit(merchant: Merchant, mandate: any, amount = 2500) {
  const response = await api(merchant, "POST", "/v1/payments", { amount, currency: mandate.currency, mandate: mandate.id, confirm: true });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, "processing", response.text);
  return response.body;
}

const waitFor = (merchant: Merchant, id: string, check: (payment: any) => boolean, what: string, timeout_ms?: number) =>
  waitForPayment(setup.stack, merchant, id, check, what, timeout_ms);

/** The types of the events about one object, sorted (ids made in the same millisecond are not ordered). */
async function eventTypes(merchant: Merchant, object_id: string): Promise<string[]> {
  const events = (await api(merchant, "GET", "/v1/events?limit=100")).body.data as any[];
  return events.filter((event) => event.data.object.id === object_id).map((event) => event.type).sort();
}

const sorted = (types: string[]) => [...types].sort();

const pendingBalance = (merchant: Merchant, currency: string) => pendingBalanceOf(setup.stack, merchant, currency);

async function postings(ref: string, code: string): Promise<number> {
  const row = await setup.stack.corridor.ctx.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM ledger_transfers WHERE ref = ? AND code = ?", [ref, code]);
  return Number(row?.n ?? 0);
}

async function count(table: "mandates" | "payments" | "events", merchant: Merchant): Promise<number> {
  const row = await setup.stack.corridor.ctx.db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table} WHERE merchant_id = ?`, [merchant.id]);
  return Number(row?.n ?? 0);
}

describe("mandates", () => {
  it("creates SEPA and ACH mandates, shows the account masked, lists and retrieves them", async () => {
    const merchant = await createMerchant(setup.stack, "Mandates");
    const sepa = await sepaMandate(merchant, iban.settles, { customer: "cus_1", metadata: { plan: "gold" } });
    assert.match(sepa.id, /^md_/);
    assert.equal(sepa.status, "active");
    assert.equal(sepa.scheme, "sepa_core");
    assert.equal(sepa.currency, "eur");
    assert.deepEqual(sepa.sepa_debit, { last4: "3000", country: "DE", bic: null, account_holder_name: "Test Debtor" });
    assert.ok(!JSON.stringify(sepa).includes("0532013000"), "the full IBAN is never shown");
    assert.match(sepa.reference, /^MD-[0-9A-Z]+$/);
    assert.ok(sepa.lapses_at > sepa.accepted_at);
    const b2b = (await api(merchant, "POST", "/v1/mandates", {
      type: "sepa_debit", sepa_debit: { iban: iban.settles, bic: "COBADEFFXXX", account_holder_name: "Test Company GmbH", scheme: "b2b" },
    })).body;
    assert.equal(b2b.scheme, "sepa_b2b");
    assert.equal(b2b.sepa_debit.bic, "COBADEFFXXX");
    const usd = await achMandate(merchant);
    assert.equal(usd.scheme, "ach");
    assert.equal(usd.currency, "usd");
    assert.deepEqual(usd.ach_debit, { last4: "6789", routing_number: routing, account_type: "checking", account_holder_name: "Test Customer" });
    const list = (await api(merchant, "GET", "/v1/mandates?limit=2")).body;
    assert.deepEqual(list.data.map((m: any) => m.id), [usd.id, b2b.id]);
    assert.equal(list.has_more, true);
    assert.equal((await api(merchant, "GET", `/v1/mandates?customer=cus_1`)).body.data[0].id, sepa.id);
    assert.deepEqual((await api(merchant, "GET", `/v1/mandates/${sepa.id}`)).body, sepa);
    assert.deepEqual(await eventTypes(merchant, sepa.id), sorted(["mandate.created"]));
    // Refunds pay back to the mandate's account (the full account, for the bank only).
    const db = setup.stack.corridor.ctx.db;
    assert.deepEqual(await refundDestinationForMandate(db, merchant.id, sepa.id),
      { type: "bank_account", account_holder_name: "Test Debtor", country: "DE", account: "DE89370400440532013000" });
    assert.deepEqual(await refundDestinationForMandate(db, merchant.id, usd.id),
      { type: "bank_account", account_holder_name: "Test Customer", country: "US", account: ach.settles, bank: routing });
    assert.equal(await refundDestinationForMandate(db, "mer_other", sepa.id), undefined);
  });

  it("refuses bad accounts with a 400 naming the field, and writes nothing", async () => {
    const merchant = await createMerchant(setup.stack, "Bad input");
    const cases: [unknown, string][] = [
      [{ type: "sepa_debit", sepa_debit: { iban: "DE89370400440532013001", account_holder_name: "X" } }, "sepa_debit.iban"],
      [{ type: "sepa_debit", sepa_debit: { iban: "XX00", account_holder_name: "X" } }, "sepa_debit.iban"],
      [{ type: "sepa_debit", sepa_debit: { iban: iban.settles, bic: "COBADE", account_holder_name: "X" } }, "sepa_debit.bic"],
      [{ type: "sepa_debit", sepa_debit: { iban: iban.settles, account_holder_name: "X" }, currency: "usd" }, "currency"],
      [{ type: "sepa_debit", ach_debit: { routing_number: routing, account_number: ach.settles, account_holder_name: "X" } }, "sepa_debit"],
      [{ type: "ach_debit", ach_debit: { routing_number: "110000001", account_number: ach.settles, account_holder_name: "X" } }, "ach_debit.routing_number"],
      [{ type: "ach_debit", ach_debit: { routing_number: "11000000", account_number: ach.settles, account_holder_name: "X" } }, "ach_debit.routing_number"],
      [{ type: "ach_debit", ach_debit: { routing_number: routing, account_number: "12a", account_holder_name: "X" } }, "ach_debit.account_number"],
      [{ type: "ach_debit", ach_debit: { routing_number: routing, account_number: ach.settles, account_holder_name: "X" }, currency: "eur" }, "currency"],
      [{ type: "ach_debit", ach_debit: { routing_number: routing, account_number: ach.settles, account_holder_name: "X", account_type: "loan" } }, "ach_debit.account_type"],
      [{ type: "sepa_debit", sepa_debit: { iban: iban.settles, account_holder_name: "X" }, accepted_at: Math.floor(Date.now() / 1000) + 86_400 }, "accepted_at"],
      [{ type: "paypal" }, "type"],
    ];
    for (const [body, param] of cases) {
      const response = await api(merchant, "POST", "/v1/mandates", body);
      assert.equal(response.status, 400, `${JSON.stringify(body)}: ${response.text}`);
      assert.equal(response.body.error.param, param, response.text);
    }
    assert.equal(await count("mandates", merchant), 0);
    assert.equal(await count("events", merchant), 0);
  });

  it("refuses a debit in the wrong currency, unconfirmed, or under an unknown mandate, and writes nothing", async () => {
    const merchant = await createMerchant(setup.stack, "Bad debits");
    const sepa = await sepaMandate(merchant);
    const wrongCurrency = await api(merchant, "POST", "/v1/payments", { amount: 1000, currency: "usd", mandate: sepa.id, confirm: true });
    assert.equal(wrongCurrency.status, 400, wrongCurrency.text);
    assert.equal(wrongCurrency.body.error.param, "currency");
    const unconfirmed = await api(merchant, "POST", "/v1/payments", { amount: 1000, currency: "eur", mandate: sepa.id });
    assert.equal(unconfirmed.status, 400);
    assert.equal(unconfirmed.body.error.param, "confirm");
    const unknown = await api(merchant, "POST", "/v1/payments", { amount: 1000, currency: "eur", mandate: "md_0000000000000000000000000", confirm: true });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.error.param, "mandate");
    const both = await api(merchant, "POST", "/v1/payments", {
      amount: 1000, currency: "eur", mandate: sepa.id, confirm: true, payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 1, exp_year: 2040 } },
    });
    assert.equal(both.status, 400);
    assert.equal(await count("payments", merchant), 0);
    assert.deepEqual(await eventTypes(merchant, sepa.id), sorted(["mandate.created"]));
  });

  it("revokes a mandate: mandate.revoked, and no further collection under it", async () => {
    const merchant = await createMerchant(setup.stack, "Revoke");
    const mandate = await sepaMandate(merchant);
    const revoked = await api(merchant, "POST", `/v1/mandates/${mandate.id}/revoke`);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.body.status, "revoked");
    assert.equal(revoked.body.status_reason, "revoked_by_merchant");
    assert.equal(revoked.body.lapses_at, null);
    const again = await api(merchant, "POST", `/v1/mandates/${mandate.id}/revoke`);
    assert.equal(again.status, 400);
    const refused = await api(merchant, "POST", "/v1/payments", { amount: 1000, currency: "eur", mandate: mandate.id, confirm: true });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, "mandate_inactive");
    assert.equal(refused.body.error.param, "mandate");
    assert.deepEqual(await eventTypes(merchant, mandate.id), sorted(["mandate.created", "mandate.revoked"]));
  });

  it("keeps other merchants out (404)", async () => {
    const owner = await createMerchant(setup.stack, "Owner");
    const other = await createMerchant(setup.stack, "Other");
    const mandate = await sepaMandate(owner);
    const payment = await debit(owner, mandate);
    assert.equal((await api(other, "GET", `/v1/mandates/${mandate.id}`)).status, 404);
    assert.equal((await api(other, "POST", `/v1/mandates/${mandate.id}/revoke`)).status, 404);
    assert.equal((await api(other, "POST", `/v1/payments/${payment.id}/represent`)).status, 404);
    assert.equal((await api(other, "GET", "/v1/mandates")).body.data.length, 0);
    const borrowed = await api(other, "POST", "/v1/payments", { amount: 1000, currency: "eur", mandate: mandate.id, confirm: true });
    assert.equal(borrowed.status, 404, borrowed.text);
    assert.equal(await count("payments", other), 0);
    await advance(4);
    await waitFor(owner, payment.id, (p) => p.status === "succeeded", "the owner's debit to settle");
  });
});

describe("SEPA debits", () => {
  it("happy path: processing, then succeeded when the bank settles; FRST then RCUR; the sale is booked once", async () => {
    const merchant = await createMerchant(setup.stack, "SEPA happy");
    const mandate = await sepaMandate(merchant);
    const payment = await debit(merchant, mandate, 4990);
    assert.equal(payment.mandate, mandate.id);
    const details = payment.payment_method_details;
    assert.equal(details.type, "direct_debit");
    assert.equal(details.direct_debit.scheme, "sepa_core");
    assert.equal(details.direct_debit.sequence_type, "FRST");
    assert.equal(details.direct_debit.last4, "3000");
    assert.equal(details.direct_debit.mandate, mandate.id);
    const attempt = payment.attempts[0].id;
    const atBank = await bank("GET", `/debits/${attempt}`);
    assert.equal(atBank.body.debit.status, "pending");
    assert.equal(atBank.body.debit.sequence_type, "FRST");
    await advance(1);
    assert.equal((await api(merchant, "GET", `/v1/payments/${payment.id}`)).body.status, "processing");
    const second = await debit(merchant, mandate, 1000);
    assert.equal(second.payment_method_details.direct_debit.sequence_type, "RCUR");
    await advance(4);
    const settled = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the debit to settle");
    assert.equal(settled.amount_received, 4990);
    assert.ok(settled.payment_method_details.direct_debit.settled_at > 0);
    await waitFor(merchant, second.id, (p) => p.status === "succeeded", "the second debit to settle");
    assert.equal(await pendingBalance(merchant, "eur"), 5990);
    assert.equal(await postings(attempt, "capture"), 1);
    assert.deepEqual(await eventTypes(merchant, payment.id), sorted(["payment.created", "payment.processing", "payment.succeeded"]));
    const used = (await api(merchant, "GET", `/v1/mandates/${mandate.id}`)).body;
    assert.ok(used.last_collection_at >= mandate.created);
  });

  it("a refund is paid out to the mandate's account: pending until the bank has paid it", async () => {
    const merchant = await createMerchant(setup.stack, "SEPA refunds");
    const mandate = await sepaMandate(merchant);
    const payment = await debit(merchant, mandate, 3000);
    const early = await api(merchant, "POST", "/v1/refunds", { payment: payment.id });
    assert.equal(early.status, 400, "a debit still being collected cannot be refunded");
    await advance(5); // two banking days, whatever weekday the simulated clock is on
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the debit to settle");
    const named = await api(merchant, "POST", "/v1/refunds", {
      payment: payment.id, destination: { type: "bank_account", account_holder_name: "Someone Else", country: "DE", account: "DE89370400440532013000" },
    });
    assert.equal(named.status, 400, named.text);
    assert.equal(named.body.error.param, "destination");
    const refund = await api(merchant, "POST", "/v1/refunds", { payment: payment.id, amount: 1200 });
    assert.equal(refund.status, 200, refund.text);
    assert.equal(refund.body.status, "pending");
    assert.equal(refund.body.destination.account_last4, "3000");
    assert.equal(refund.body.destination.account_holder_name, "Test Debtor");
    const done = await eventually(async () => {
      const current = (await api(merchant, "GET", `/v1/refunds/${refund.body.id}`)).body;
      return current.status === "succeeded" ? current : undefined;
    }, 10_000, "the refund payout");
    assert.equal(done.amount, 1200);
    const payout = await bank("GET", `/payouts/${refund.body.id}`);
    assert.equal(payout.body.payout.beneficiary.account, "DE89370400440532013000", "paid to the mandate's IBAN");
    assert.equal(await pendingBalance(merchant, "eur"), 1800);
    assert.equal((await api(merchant, "GET", `/v1/payments/${payment.id}`)).body.amount_refunded, 1200);
  });

  it("duplicate and late notifications never post twice", async () => {
    const merchant = await createMerchant(setup.stack, "SEPA duplicates");
    const mandate = await sepaMandate(merchant, iban.md06);
    const payment = await debit(merchant, mandate, 3000);
    const attempt = payment.attempts[0].id;
    await advance(4);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the debit to settle");
    // The bank notifies again (three times), and a copy arrives directly, signed, at the same time.
    const body = JSON.stringify({ event: "debit.settled", merchant_ref: attempt, status: "settled" });
    const direct = () => fetch(`${setup.stack.url}/v1/channels/sandboxbank/notifications`, {
      method: "POST", headers: { "content-type": "application/json", "x-sbank-signature": signSbank("sbank_sandbox_notification_secret", body) }, body,
    });
    const answers = await Promise.all([direct(), direct(), bank("POST", `/_sandbox/debits/${attempt}/notify`), bank("POST", `/_sandbox/debits/${attempt}/notify`)]);
    assert.equal(answers[0].status, 200);
    assert.equal(answers[2].status, 202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await postings(attempt, "capture"), 1);
    // Then the debtor claims a refund (MD06): the return is applied once, however often it is notified.
    await advance(10);
    const returned = await waitFor(merchant, payment.id, (p) => p.status === "failed", "the return");
    const returnId = (await bank("GET", `/debits/${attempt}`)).body.debit.return.return_id;
    await Promise.all([bank("POST", `/_sandbox/debits/${attempt}/notify`), bank("POST", `/_sandbox/debits/${attempt}/notify`), direct()]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await postings(returnId, "debit_return"), 1);
    assert.equal(await postings(attempt, "capture"), 1);
    assert.equal(returned.last_error.decline_code, "MD06");
    assert.deepEqual(await eventTypes(merchant, payment.id), sorted(["payment.created", "payment.processing", "payment.succeeded", "payment.returned"]));
  });

  it("a forged debit notice is rejected", async () => {
    const body = JSON.stringify({ event: "debit.settled", merchant_ref: "att_x" });
    const response = await fetch(`${setup.stack.url}/v1/channels/sandboxbank/notifications`, {
      method: "POST", headers: { "content-type": "application/json", "x-sbank-signature": signSbank("wrong_secret", body) }, body,
    });
    assert.equal(response.status, 400);
  });

  it("a return before settlement (AM04) fails the payment; nothing is booked; the mandate stays active", async () => {
    const merchant = await createMerchant(setup.stack, "SEPA AM04");
    const mandate = await sepaMandate(merchant, iban.am04);
    const payment = await debit(merchant, mandate, 1500);
    await advance(4);
    const failed = await waitFor(merchant, payment.id, (p) => p.status === "failed", "the return");
    assert.equal(failed.last_error.type, "bank_error");
    assert.equal(failed.last_error.code, "debit_failed");
    assert.equal(failed.last_error.decline_code, "AM04");
    assert.equal(failed.payment_method_details.direct_debit.return.after_settlement, false);
    assert.equal(failed.attempts[0].status, "failed");
    assert.equal(await postings(payment.attempts[0].id, "capture"), 0);
    assert.equal(await pendingBalance(merchant, "eur"), 0);
    assert.deepEqual(await eventTypes(merchant, payment.id), sorted(["payment.created", "payment.processing", "payment.failed"]));
    assert.equal((await api(merchant, "GET", `/v1/mandates/${mandate.id}`)).body.status, "active");
    const represent = await api(merchant, "POST", `/v1/payments/${payment.id}/represent`);
    assert.equal(represent.status, 400);
    assert.equal(represent.body.error.code, "representment_not_allowed");
  });

  it("a return that ends the mandate (AC04) makes it inactive: mandate.updated, no further debit", async () => {
    const merchant = await createMerchant(setup.stack, "SEPA AC04");
    const mandate = await sepaMandate(merchant, iban.ac04);
    const payment = await debit(merchant, mandate, 1500);
    await advance(4);
    await waitFor(merchant, payment.id, (p) => p.status === "failed", "the return");
    const ended = (await api(merchant, "GET", `/v1/mandates/${mandate.id}`)).body;
    assert.equal(ended.status, "inactive");
    assert.equal(ended.status_reason, "AC04");
    assert.deepEqual(await eventTypes(merchant, mandate.id), sorted(["mandate.created", "mandate.updated"]));
    const refused = await api(merchant, "POST", "/v1/payments", { amount: 1000, currency: "eur", mandate: mandate.id, confirm: true });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, "mandate_inactive");
  });

  it("a return after settlement (MD06) reverses the merchant's funds with a new transfer: payment.returned", async () => {
    const merchant = await createMerchant(setup.stack, "SEPA MD06");
    const mandate = await sepaMandate(merchant, iban.md06);
    const payment = await debit(merchant, mandate, 2200);
    await advance(4);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the settlement");
    assert.equal(await pendingBalance(merchant, "eur"), 2200);
    await advance(10);
    const returned = await waitFor(merchant, payment.id, (p) => p.status === "failed", "the return");
    assert.equal(returned.last_error.code, "debit_returned");
    assert.equal(returned.payment_method_details.direct_debit.return.reason_code, "MD06");
    assert.equal(returned.payment_method_details.direct_debit.return.after_settlement, true);
    assert.equal(returned.attempts[0].status, "reversed");
    assert.equal(await pendingBalance(merchant, "eur"), 0);
    assert.equal(await postings(payment.attempts[0].id, "capture"), 1, "the sale stays; the reversal is a new transfer");
    const row = await setup.stack.corridor.ctx.db.get<{ status: string; next_check_ms: unknown }>("SELECT status, next_check_ms FROM debits WHERE attempt_id = ?", [payment.attempts[0].id]);
    assert.deepEqual({ ...row }, { status: "returned", next_check_ms: null }, "a returned debit is no longer inquired");
    assert.equal((await api(merchant, "GET", `/v1/mandates/${mandate.id}`)).body.status, "active");
    const refund = await api(merchant, "POST", "/v1/refunds", { payment: payment.id });
    assert.equal(refund.status, 400, "a returned debit cannot be refunded again");
  });

  it("a lost submission answer is never forgotten: the janitor submits again (once at the bank) and the debit goes on", async () => {
    const merchant = await createMerchant(setup.stack, "SEPA lost answer");
    const mandate = await sepaMandate(merchant);
    assert.equal((await bank("POST", "/_sandbox/debits/faults", { lose_answers: 1 })).status, 200);
    const payment = await debit(merchant, mandate, 1234);
    const attempt = payment.attempts[0].id;
    assert.equal(payment.attempts[0].status, "pending");
    const submitted = await setup.stack.corridor.ctx.db.get<{ status: string }>("SELECT status FROM debits WHERE attempt_id = ?", [attempt]);
    assert.equal(submitted?.status, "submitting", "the answer was lost: we do not know yet");
    await eventually(async () => (await setup.stack.corridor.ctx.db.get<{ status: string }>("SELECT status FROM debits WHERE attempt_id = ?", [attempt]))?.status === "pending",
      10_000, "the janitor to resubmit");
    const atBank = (await bank("GET", "/debits")).body.debits.filter((d: any) => d.merchant_ref === attempt);
    assert.equal(atBank.length, 1);
    await advance(4);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the settlement");
    assert.equal(await postings(attempt, "capture"), 1);
  });

  it("a lost notification is made up by the janitor's inquiry", async () => {
    const merchant = await createMerchant(setup.stack, "SEPA lost notice");
    const mandate = await sepaMandate(merchant);
    const payment = await debit(merchant, mandate, 777);
    await advance(4, true);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the janitor to find the settlement");
    assert.equal(await postings(payment.attempts[0].id, "capture"), 1);
  });
});

describe("ACH debits", () => {
  it("R01 may be presented again: the second presentment settles", async () => {
    const merchant = await createMerchant(setup.stack, "ACH R01");
    const mandate = await achMandate(merchant, ach.r01_once);
    const payment = await debit(merchant, mandate, 5000);
    assert.equal(payment.payment_method_details.direct_debit.sequence_type, null);
    await advance(4);
    const failed = await waitFor(merchant, payment.id, (p) => p.status === "failed", "the R01 return");
    assert.equal(failed.last_error.decline_code, "R01");
    const represented = await api(merchant, "POST", `/v1/payments/${payment.id}/represent`);
    assert.equal(represented.status, 200, represented.text);
    assert.equal(represented.body.status, "processing");
    assert.equal(represented.body.payment_method_details.direct_debit.presentments, 2);
    assert.equal(represented.body.attempts.length, 2);
    assert.equal(represented.body.last_error, null);
    await advance(4);
    const settled = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the re-presentment to settle");
    assert.equal(settled.amount_received, 5000);
    assert.equal(await pendingBalance(merchant, "usd"), 5000);
    assert.deepEqual(await eventTypes(merchant, payment.id), sorted(["payment.created", "payment.processing", "payment.failed", "payment.processing", "payment.succeeded"]));
  });

  it("re-presentment is bounded: at most twice after the first presentment", async () => {
    const merchant = await createMerchant(setup.stack, "ACH R01 always");
    const mandate = await achMandate(merchant, ach.r01_always);
    const payment = await debit(merchant, mandate, 1200);
    for (let presentment = 1; presentment <= 3; presentment++) {
      await advance(4);
      await waitFor(merchant, payment.id, (p) => p.status === "failed" && p.attempts.length === presentment, `return of presentment ${presentment}`);
      const represented = await api(merchant, "POST", `/v1/payments/${payment.id}/represent`);
      if (presentment < 3) assert.equal(represented.status, 200, represented.text);
      else {
        assert.equal(represented.status, 400, represented.text);
        assert.equal(represented.body.error.code, "representments_exhausted");
      }
    }
    assert.equal(await pendingBalance(merchant, "usd"), 0);
  });

  it("R10 after settlement: funds reversed, the mandate ends, no re-presentment", async () => {
    const merchant = await createMerchant(setup.stack, "ACH R10");
    const mandate = await achMandate(merchant, ach.r10);
    const payment = await debit(merchant, mandate, 9900);
    await advance(4);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the settlement");
    await advance(10);
    const returned = await waitFor(merchant, payment.id, (p) => p.status === "failed", "the R10 return");
    assert.equal(returned.last_error.decline_code, "R10");
    assert.equal(await pendingBalance(merchant, "usd"), 0);
    const represent = await api(merchant, "POST", `/v1/payments/${payment.id}/represent`);
    assert.equal(represent.status, 400);
    assert.equal(represent.body.error.code, "representment_not_allowed");
    const ended = (await api(merchant, "GET", `/v1/mandates/${mandate.id}`)).body;
    assert.equal(ended.status, "inactive");
    assert.equal(ended.status_reason, "R10");
    assert.deepEqual(await eventTypes(merchant, payment.id), sorted(["payment.created", "payment.processing", "payment.succeeded", "payment.returned"]));
    assert.deepEqual(await eventTypes(merchant, mandate.id), sorted(["mandate.created", "mandate.updated"]));
    const refused = await api(merchant, "POST", "/v1/payments", { amount: 1000, currency: "usd", mandate: mandate.id, confirm: true });
    assert.equal(refused.status, 400);
  });

  it("a succeeded payment cannot be presented again", async () => {
    const merchant = await createMerchant(setup.stack, "ACH settles");
    const mandate = await achMandate(merchant);
    const payment = await debit(merchant, mandate, 100);
    const early = await api(merchant, "POST", `/v1/payments/${payment.id}/represent`);
    assert.equal(early.status, 400);
    await advance(4);
    await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "the settlement");
  });
});

describe("36-month lapse", () => {
  const monthsAgo = (months: number) => {
    const at = new Date();
    at.setUTCMonth(at.getUTCMonth() - months);
    return at.getTime();
  };

  it("a mandate unused for 36 months lapses at use: 400, mandate.lapsed", async () => {
    const merchant = await createMerchant(setup.stack, "Lapse at use");
    const mandate = await sepaMandate(merchant);
    // Time travel: the mandate was signed 37 months ago and never used.
    await setup.stack.corridor.ctx.db.transaction((tx) => tx.run("UPDATE mandates SET accepted_ms = ? WHERE id = ?", [monthsAgo(37), mandate.id]));
    const refused = await api(merchant, "POST", "/v1/payments", { amount: 1000, currency: "eur", mandate: mandate.id, confirm: true });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error.code, "mandate_inactive");
    assert.equal(await count("payments", merchant), 0);
    const lapsed = (await api(merchant, "GET", `/v1/mandates/${mandate.id}`)).body;
    assert.equal(lapsed.status, "lapsed");
    assert.deepEqual(await eventTypes(merchant, mandate.id), sorted(["mandate.created", "mandate.lapsed"]));
  });

  it("the janitor lapses mandates whose last collection is 36 months old, and only those", async () => {
    const merchant = await createMerchant(setup.stack, "Lapse sweep");
    const old = await sepaMandate(merchant);
    const recent = await achMandate(merchant);
    await setup.stack.corridor.ctx.db.transaction(async (tx) => {
      await tx.run("UPDATE mandates SET accepted_ms = ?, last_collection_ms = ? WHERE id = ?", [monthsAgo(40), monthsAgo(36) - 86_400_000, old.id]);
      await tx.run("UPDATE mandates SET accepted_ms = ?, last_collection_ms = ? WHERE id = ?", [monthsAgo(40), monthsAgo(35), recent.id]);
    });
    await eventually(async () => (await api(merchant, "GET", `/v1/mandates/${old.id}`)).body.status === "lapsed", 10_000, "the sweep");
    assert.equal((await api(merchant, "GET", `/v1/mandates/${recent.id}`)).body.status, "active");
    assert.deepEqual(await eventTypes(merchant, old.id), sorted(["mandate.created", "mandate.lapsed"]));
  });
});

describe("collection files and the API surface", () => {
  it("a day's SEPA collections as a pain.008 file that validates against the official schema; other merchants and days: 404", async () => {
    const merchant = await createMerchant(setup.stack, "Batch file");
    const core = await sepaMandate(merchant);
    const b2b = (await api(merchant, "POST", "/v1/mandates", {
      type: "sepa_debit", sepa_debit: { iban: iban.am04, bic: "COBADEFFXXX", account_holder_name: "Test Company GmbH", scheme: "b2b" },
    })).body;
    const usd = await achMandate(merchant);
    const first = await debit(merchant, core, 1999);
    await debit(merchant, core, 2001);
    await debit(merchant, b2b, 500);
    await debit(merchant, usd, 700);
    const today = new Date().toISOString().slice(0, 10);
    const response = await fetch(`${setup.stack.url}/v1/direct_debit_batches/${today}/pain008`, { headers: { authorization: `Bearer ${merchant.secret}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /application\/xml/);
    const xml = await response.text();
    const xsd = XmlDocument.fromString(readFileSync(new URL("../src/methods/direct-debit/xsd/pain.008.001.02.xsd", import.meta.url), "utf8"));
    const validator = XsdValidator.fromDoc(xsd);
    const doc = XmlDocument.fromString(xml);
    try {
      validator.validate(doc);
    } finally {
      doc.dispose();
      validator.dispose();
      xsd.dispose();
    }
    assert.match(xml, /<NbOfTxs>3<\/NbOfTxs>/, "SEPA only: the ACH debit is not in it");
    assert.match(xml, /<CtrlSum>45.00<\/CtrlSum>/);
    assert.match(xml, /<SeqTp>FRST<\/SeqTp>/);
    assert.match(xml, /<SeqTp>RCUR<\/SeqTp>/);
    assert.match(xml, /<Cd>B2B<\/Cd>/);
    assert.ok(xml.includes(`<EndToEndId>${first.attempts[0].id.replace("_", "-")}</EndToEndId>`));
    const other = await createMerchant(setup.stack, "Batch other");
    assert.equal((await api(other, "GET", `/v1/direct_debit_batches/${today}/pain008`)).status, 404);
    assert.equal((await api(merchant, "GET", "/v1/direct_debit_batches/2001-01-01/pain008")).status, 404);
    assert.equal((await api(merchant, "GET", "/v1/direct_debit_batches/2001-13-01/pain008")).status, 400);
    await advance(4);
    await waitFor(merchant, first.id, (p) => p.status === "succeeded", "the batch's debits to settle");
  });

  it("Idempotency-Key replays a mandate creation instead of creating a second one", async () => {
    const merchant = await createMerchant(setup.stack, "Idempotent mandates");
    const body = { type: "sepa_debit", sepa_debit: { iban: iban.settles, account_holder_name: "Test Debtor" } };
    const headers = { "idempotency-key": "mandate-1" };
    const first = await call(setup.stack.url, "POST", "/v1/mandates", { key: merchant.secret, body, headers });
    const again = await call(setup.stack.url, "POST", "/v1/mandates", { key: merchant.secret, body, headers });
    assert.equal(first.status, 200);
    assert.equal(again.text, first.text);
    assert.equal(await count("mandates", merchant), 1);
  });

  it("the OpenAPI document describes the new endpoints and fields", async () => {
    const spec = (await call(setup.stack.url, "GET", "/openapi.json")).body;
    const create = spec.paths["/v1/mandates"].post;
    const schema = create.requestBody.content["application/json"].schema;
    assert.ok(schema.properties.sepa_debit.properties.iban.description);
    assert.ok(schema.properties.ach_debit.properties.routing_number.description);
    assert.ok(spec.paths["/v1/mandates/{id}/revoke"].post);
    assert.ok(spec.paths["/v1/payments/{id}/represent"].post);
    assert.ok(spec.paths["/v1/direct_debit_batches/{date}/pain008"].get);
    const payment = spec.paths["/v1/payments"].post.requestBody.content["application/json"].schema;
    assert.ok(payment.properties.mandate.description);
  });
});
