// Card disputes through the HTTP API: the globalpay sandbox raises and decides chargebacks and
// notifies Corridor (signed); the dispute, its deadline, evidence and the ledger follow.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { signPayload } from "../src/sandbox/notifier.ts";
import { assertLedgerBalanced, call, cards, createMerchant, eventually, pay, useStack } from "./helpers.ts";

const setup = useStack();
const day = 86_400;
const fee = 1500;

async function sandbox(method: string, path: string, body?: unknown) {
  return call(setup.stack.sandboxes.globalpay.url, method, path, { body });
}

async function pendingBalance(key = setup.merchant.secret): Promise<number> {
  const response = await call(setup.stack.url, "GET", "/v1/balance", { key });
  return response.body.pending.find((entry: { currency: string }) => entry.currency === "usd")?.amount ?? 0;
}

async function disputesOf(payment_id: string, key = setup.merchant.secret): Promise<any[]> {
  return (await call(setup.stack.url, "GET", `/v1/disputes?payment=${payment_id}`, { key })).body.data;
}

async function awaitDispute(payment_id: string, check: (dispute: any) => boolean = () => true) {
  return eventually(async () => (await disputesOf(payment_id)).find(check), 10_000, "the dispute");
}

async function paidAndChargedBack(card: string, reason_code: string, amount = 5000) {
  const payment = (await pay(setup.stack, setup.merchant, card, { amount })).body;
  assert.equal(payment.status, "succeeded");
  const before = await pendingBalance();
  const chargeback = await sandbox("POST", "/_sandbox/chargebacks", { merchant_reference: payment.attempts[0].id, reason_code });
  assert.equal(chargeback.status, 201, chargeback.text);
  const dispute = await awaitDispute(payment.id);
  return { payment, before, chargeback: chargeback.body, dispute };
}

const decide = (id: string, outcome: "won" | "lost") => sandbox("POST", `/_sandbox/chargebacks/${id}/decide`, { outcome });
const evidence = (id: string, body: unknown, key = setup.merchant.secret) => call(setup.stack.url, "POST", `/v1/disputes/${id}/evidence`, { key, body });

describe("disputes", () => {
  it("a Visa chargeback opens a dispute due in 30 days and debits amount + fee", async () => {
    const { payment, before, dispute } = await paidAndChargedBack(cards.visa, "10.4");
    assert.match(dispute.id, /^dp_/);
    assert.equal(dispute.object, "dispute");
    assert.equal(dispute.payment, payment.id);
    assert.equal(dispute.amount, 5000);
    assert.equal(dispute.currency, "usd");
    assert.equal(dispute.network, "visa");
    assert.equal(dispute.reason_code, "10.4");
    assert.match(dispute.reason, /fraud/i);
    assert.equal(dispute.stage, "chargeback");
    assert.equal(dispute.status, "needs_response");
    assert.equal(dispute.fee, fee);
    assert.equal(dispute.evidence, null);
    assert.ok(Math.abs(dispute.evidence_due_by - dispute.created - 30 * day) <= 1, JSON.stringify(dispute));
    assert.equal(await pendingBalance(), before - 5000 - fee);
    const viewed = (await call(setup.stack.url, "GET", `/v1/payments/${payment.id}`, { key: setup.merchant.secret })).body;
    assert.equal(viewed.amount_received, 5000);
    assert.equal(viewed.amount_disputed, 5000);
    const fetched = await call(setup.stack.url, "GET", `/v1/disputes/${dispute.id}`, { key: setup.merchant.secret });
    assert.deepEqual(fetched.body, dispute);
    await assertLedgerBalanced(setup.stack);
  });

  it("a Mastercard chargeback is due in 45 days", async () => {
    const { dispute } = await paidAndChargedBack(cards.mastercard, "4837");
    assert.equal(dispute.network, "mastercard");
    assert.ok(Math.abs(dispute.evidence_due_by - dispute.created - 45 * day) <= 1, JSON.stringify(dispute));
    await assertLedgerBalanced(setup.stack);
  });

  it("a duplicate notification makes one dispute and one debit", async () => {
    const { payment, before, chargeback } = await paidAndChargedBack(cards.visa, "13.1");
    const again = await Promise.all([1, 2, 3].map(() => sandbox("POST", `/_sandbox/chargebacks/${chargeback.id}/renotify`)));
    assert.ok(again.every((response) => response.status === 200));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await disputesOf(payment.id)).length, 1);
    assert.equal(await pendingBalance(), before - 5000 - fee);
    await assertLedgerBalanced(setup.stack);
  });

  it("evidence moves it to representment; won restores the amount but not the fee; evidence after close is refused", async () => {
    const { payment, before, chargeback, dispute } = await paidAndChargedBack(cards.visa, "13.3");
    const saved = await evidence(dispute.id, { product_description: "A lamp" });
    assert.equal(saved.status, 200, saved.text);
    assert.equal(saved.body.status, "needs_response");
    const submitted = await evidence(dispute.id, { customer_communication: "Delivered, signed for", submit: true });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.stage, "representment");
    assert.equal(submitted.body.status, "under_review");
    assert.deepEqual(submitted.body.evidence, { product_description: "A lamp", customer_communication: "Delivered, signed for" });
    // The evidence reached the channel, which now holds it for the issuer.
    const atChannel = await sandbox("GET", `/v2/disputes/${chargeback.id}`);
    assert.deepEqual(atChannel.body.evidence, { product_description: "A lamp", customer_communication: "Delivered, signed for" });
    assert.ok(atChannel.body.evidence_submitted_at);
    const twice = await evidence(dispute.id, { uncategorized_text: "more", submit: true });
    assert.equal(twice.status, 400);
    assert.equal((await decide(chargeback.id, "won")).status, 200);
    const won = await awaitDispute(payment.id, (candidate) => candidate.status === "won");
    assert.equal(won.stage, "representment");
    assert.equal(await pendingBalance(), before - fee);
    const viewed = (await call(setup.stack.url, "GET", `/v1/payments/${payment.id}`, { key: setup.merchant.secret })).body;
    assert.equal(viewed.amount_disputed, 0);
    const late = await evidence(dispute.id, { uncategorized_text: "late", submit: true });
    assert.equal(late.status, 400);
    assert.equal(late.body.error.code, "dispute_not_awaiting_response");
    assert.match(late.body.error.message, /won/);
    const events = (await call(setup.stack.url, "GET", "/v1/events?limit=100", { key: setup.merchant.secret })).body;
    if (Array.isArray(events?.data)) {
      const types = events.data.filter((event: any) => event.data.object.id === dispute.id).map((event: any) => event.type);
      assert.ok(types.includes("dispute.created") && types.includes("dispute.updated") && types.includes("dispute.closed"), types.join());
    }
    await assertLedgerBalanced(setup.stack);
  });

  it("lost leaves the amount debited", async () => {
    const { payment, before, chargeback, dispute } = await paidAndChargedBack(cards.mastercard, "4853");
    assert.equal((await evidence(dispute.id, { uncategorized_text: "We shipped it", submit: true })).status, 200);
    assert.equal((await decide(chargeback.id, "lost")).status, 200);
    const lost = await awaitDispute(payment.id, (candidate) => candidate.status === "lost");
    assert.equal(lost.stage, "representment");
    assert.equal(await pendingBalance(), before - 5000 - fee);
    const late = await evidence(dispute.id, { uncategorized_text: "late", submit: true });
    assert.equal(late.status, 400);
    await assertLedgerBalanced(setup.stack);
  });

  it("an escalation to pre-arbitration debits again; winning it credits back", async () => {
    const { payment, before, chargeback, dispute } = await paidAndChargedBack(cards.visa, "13.6");
    await evidence(dispute.id, { uncategorized_text: "Credit was issued", submit: true });
    await decide(chargeback.id, "won");
    await awaitDispute(payment.id, (candidate) => candidate.status === "won");
    assert.equal(await pendingBalance(), before - fee);
    assert.equal((await sandbox("POST", `/_sandbox/chargebacks/${chargeback.id}/escalate`)).status, 200);
    const reopened = await awaitDispute(payment.id, (candidate) => candidate.stage === "pre_arbitration");
    assert.equal(reopened.status, "needs_response");
    assert.equal(await pendingBalance(), before - 5000 - fee);
    assert.equal((await evidence(dispute.id, { uncategorized_text: "Again", submit: true })).body.status, "under_review");
    await decide(chargeback.id, "won");
    await awaitDispute(payment.id, (candidate) => candidate.stage === "pre_arbitration" && candidate.status === "won");
    assert.equal(await pendingBalance(), before - fee);
    await assertLedgerBalanced(setup.stack);
  });

  it("a notice only prompts a look-up: a signed notice whose state the channel does not hold changes nothing", async () => {
    const { payment, before, chargeback, dispute } = await paidAndChargedBack(cards.visa, "13.1");
    const body = JSON.stringify({
      id: "gp_evt_forged", type: "dispute.updated", created: Math.floor(Date.now() / 1000),
      data: { ...chargeback, status: "WON", sequence: chargeback.sequence + 5 },
    });
    const notified = await call(setup.stack.url, "POST", "/v1/channels/globalpay/notifications", {
      raw: body, headers: { "GP-Signature": signPayload("gp_sandbox_notification_secret", body) },
    });
    assert.equal(notified.status, 200, notified.text);
    const still = (await call(setup.stack.url, "GET", `/v1/disputes/${dispute.id}`, { key: setup.merchant.secret })).body;
    assert.equal(still.status, "needs_response", "the channel's record says open");
    assert.equal(await pendingBalance(), before - 5000 - fee, "nothing credited back");
    // The stage is then really won at the channel: its record is applied.
    await decide(chargeback.id, "won");
    await awaitDispute(payment.id, (candidate) => candidate.status === "won");
    assert.equal(await pendingBalance(), before - fee);
    await assertLedgerBalanced(setup.stack);
  });

  it("evidence the channel refuses is kept, and the merchant is told", async () => {
    const { payment, chargeback, dispute } = await paidAndChargedBack(cards.visa, "13.3", 2000);
    // The issuer decides before the merchant answers; the notice of that decision is lost on the way.
    const decided = await sandbox("POST", `/_sandbox/chargebacks/${chargeback.id}/decide`, { outcome: "lost", drop_notification: true });
    assert.equal(decided.status, 200);
    assert.equal((await call(setup.stack.url, "GET", `/v1/disputes/${dispute.id}`, { key: setup.merchant.secret })).body.status, "needs_response");
    const refused = await evidence(dispute.id, { uncategorized_text: "Too late", submit: true });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error.code, "dispute_evidence_rejected");
    assert.match(refused.body.error.message, /already decided/);
    const kept = (await call(setup.stack.url, "GET", `/v1/disputes/${dispute.id}`, { key: setup.merchant.secret })).body;
    assert.deepEqual(kept.evidence, { uncategorized_text: "Too late" }, "the evidence is kept");
    assert.equal((await sandbox("GET", `/v2/disputes/${chargeback.id}`)).body.evidence, null, "nothing reached the issuer");
    assert.equal(payment.status, "succeeded");
    await assertLedgerBalanced(setup.stack);
  });

  it("another merchant's dispute is not found", async () => {
    const { dispute } = await paidAndChargedBack(cards.visa, "12.6", 1000);
    const other = await createMerchant(setup.stack, "Other shop");
    const fetched = await call(setup.stack.url, "GET", `/v1/disputes/${dispute.id}`, { key: other.secret });
    assert.equal(fetched.status, 404);
    const submitted = await evidence(dispute.id, { uncategorized_text: "not mine", submit: true }, other.secret);
    assert.equal(submitted.status, 404);
    const listed = await call(setup.stack.url, "GET", "/v1/disputes", { key: other.secret });
    assert.deepEqual(listed.body.data, []);
  });
});
