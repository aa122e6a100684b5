// Bank transfers end to end through the HTTP API: Indonesian virtual accounts, Mexican CLABEs and
// Brazilian Pix, with the sandbox bank as a real HTTP service that notifies Corridor of transfers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accountBalance, accountId, creditBalance } from "../src/ledger/ledger.ts";
import { clabeCheckDigit, isValidClabe } from "../src/methods/bank-transfer/clabe.ts";
import { crc16ccittFalse, hasValidPixCrc, parseEmv, PIX_GUI } from "../src/methods/bank-transfer/pix.ts";
import { isVirtualAccountOf } from "../src/methods/bank-transfer/va.ts";
import { signSbank } from "../src/sandbox/bank/index.ts";
import { assertLedgerBalanced, call, createMerchant, eventually, useStack, type Merchant, waitForPayment, pendingBalanceOf } from "./helpers.ts";

const setup = useStack();

type Country = "ID" | "MX" | "BR";
const currencyOf: Record<Country, string> = { ID: "idr", MX: "mxn", BR: "brl" };
const amountOf: Record<Country, number> = { ID: 15_000_000, MX: 125_050, BR: 4_990 };

function body(country: Country, extra: Record<string, unknown> = {}, bank_transfer: Record<string, unknown> = {}) {
  return {
    amount: amountOf[country], currency: currencyOf[country], confirm: true,
    payment_method_data: { type: "bank_transfer", bank_transfer: { country, ...bank_transfer } },
    ...extra,
  };
}

async function create(merchant: Merchant, country: Country, extra: Record<string, unknown> = {}, bank_transfer: Record<string, unknown> = {}) {
  const response = await call(setup.stack.url, "POST", "/v1/payments", { key: merchant.secret, body: body(country, extra, bank_transfer) });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, "requires_action", response.text);
  return response.body;
}

const get = (merchant: Merchant, path: string) => call(setup.stack.url, "GET", path, { key: merchant.secret });

/** Where the customer sends the money: the VA number, the CLABE, or the txid inside the Pix payload. */
function payTo(payment: any): string {
  const instructions = payment.next_action.display_bank_transfer_instructions;
  if (instructions.type === "id_virtual_account") return instructions.account_number;
  if (instructions.type === "mx_clabe") return instructions.clabe;
  return parseEmv(parseEmv(instructions.pix_copy_paste)!.get("62")!)!.get("05")!;
}

/** A customer's transfer at the sandbox bank. */
async function transfer(reference: string, amount: number, options: { drop_notification?: boolean; sender?: { name: string; account: string } } = {}) {
  const response = await fetch(`${setup.stack.sandboxes.sandboxbank.url}/transfers`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reference, amount, ...options }),
  });
  const answer: any = await response.json();
  assert.equal(response.status, 201, JSON.stringify(answer));
  return answer.transfer as { transfer_id: string; collection_id: string; amount: number; received_at: string };
}

const waitFor = (merchant: Merchant, id: string, check: (payment: any) => boolean, what: string, timeout_ms?: number) =>
  waitForPayment(setup.stack, merchant, id, check, what, timeout_ms);

const pendingBalance = (merchant: Merchant, currency: string) => pendingBalanceOf(setup.stack, merchant, currency);

/** Everything ever owed back to customers (paying it back later does not lower this). */
async function refundsDue(merchant: Merchant, currency: string): Promise<number> {
  const ref = { owner: merchant.id, currency: currency.toUpperCase(), purpose: "customer_refunds_due" as const };
  return Number((await accountBalance(setup.stack.corridor.ctx.db, accountId(ref))).credits_posted);
}

/** Owed and not yet paid back. */
async function refundsStillDue(merchant: Merchant, currency: string): Promise<number> {
  const ref = { owner: merchant.id, currency: currency.toUpperCase(), purpose: "customer_refunds_due" as const };
  return Number((await creditBalance(setup.stack.corridor.ctx.db, ref)).posted);
}

async function postingsFor(ref: string): Promise<number> {
  const row = await setup.stack.corridor.ctx.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM ledger_transfers WHERE ref = ?", [ref]);
  return Number(row?.n ?? 0);
}

describe("instructions and exact payments", () => {
  for (const country of ["ID", "MX", "BR"] as const) {
    it(`${country}: valid instructions; the exact amount succeeds once, however often the bank notifies`, async () => {
      const merchant = await createMerchant(setup.stack, `Shop ${country}`);
      const payment = await create(merchant, country);
      assert.match(payment.id, /^pay_/);
      assert.equal(payment.currency, currencyOf[country]);
      assert.equal(payment.amount_received, 0);
      assert.equal(payment.amount_refund_due, 0);
      assert.equal(payment.amount_mismatch_policy, "reject");
      assert.equal(payment.payment_method_details.type, "bank_transfer");
      assert.equal(payment.channel, "sandboxbank");
      assert.equal(payment.attempts.length, 1);
      assert.equal(payment.attempts[0].channel, "sandboxbank");
      assert.equal(payment.attempts[0].status, "requires_action");
      const action = payment.next_action;
      assert.equal(action.type, "display_bank_transfer_instructions");
      const instructions = action.display_bank_transfer_instructions;
      assert.equal(instructions.amount, amountOf[country]);
      assert.equal(instructions.currency, currencyOf[country]);
      const expiresIn = instructions.expires_at - Math.floor(Date.now() / 1000);
      assert.ok(expiresIn > 86_400 - 60 && expiresIn <= 86_400, `expires in 24 h (${expiresIn} s)`);
      assert.equal(payment.expires_at, instructions.expires_at);
      if (country === "ID") {
        assert.equal(instructions.type, "id_virtual_account");
        assert.equal(instructions.bank, "bca");
        assert.ok(isVirtualAccountOf("bca", instructions.account_number), instructions.account_number);
        const other = await create(merchant, "ID", {}, { bank: "mandiri" });
        const va = other.next_action.display_bank_transfer_instructions.account_number;
        assert.ok(isVirtualAccountOf("mandiri", va), va);
        assert.notEqual(va, instructions.account_number, "one VA per payment");
        await call(setup.stack.url, "POST", `/v1/payments/${other.id}/cancel`, { key: merchant.secret, body: {} });
      }
      if (country === "MX") {
        assert.equal(instructions.type, "mx_clabe");
        assert.match(instructions.clabe, /^646180[0-9]{12}$/);
        assert.ok(isValidClabe(instructions.clabe), "the CLABE check digit is valid");
      }
      if (country === "BR") {
        assert.equal(instructions.type, "br_pix");
        const pix: string = instructions.pix_copy_paste;
        assert.ok(hasValidPixCrc(pix), "valid CRC16");
        assert.equal(pix.slice(-4), crc16ccittFalse(pix.slice(0, -4)).toString(16).toUpperCase().padStart(4, "0"));
        const fields = parseEmv(pix)!;
        assert.equal(fields.get("00"), "01");
        assert.equal(parseEmv(fields.get("26")!)!.get("00"), PIX_GUI);
        assert.equal(fields.get("53"), "986");
        assert.equal(fields.get("54"), "49.90");
        assert.equal(fields.get("58"), "BR");
        assert.match(parseEmv(fields.get("62")!)!.get("05")!, /^[a-zA-Z0-9]{26,35}$/);
      }
      // The public return page has nothing to ask for a transfer: it shows the status (never a 5xx).
      const returned = await call(setup.stack.url, "GET", `/v1/payments/${payment.id}/return`);
      assert.equal(returned.status, 200, returned.text);
      assert.equal(returned.body.status, "requires_action");
      const events = await get(merchant, "/v1/events?type=payment.requires_action");
      assert.ok(events.body.data.some((event: any) => event.data.object.id === payment.id), "payment.requires_action");

      const sent = await transfer(payTo(payment), amountOf[country]);
      const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
      assert.equal(paid.amount_received, amountOf[country]);
      assert.equal(paid.amount_refund_due, 0);
      assert.equal(paid.next_action, null);
      assert.equal(paid.attempts[0].status, "captured");
      assert.equal(await pendingBalance(merchant, currencyOf[country]), amountOf[country]);
      assert.equal(await postingsFor(sent.transfer_id), 1);
      const succeeded = await get(merchant, "/v1/events?type=payment.succeeded");
      assert.equal(succeeded.body.data.filter((event: any) => event.data.object.id === payment.id).length, 1);

      // The bank notifies the same transfer again (a retry): verified, applied once only.
      const notification = JSON.stringify({
        event: "transfer.received", collection_id: sent.collection_id, merchant_ref: payment.attempts[0].id,
        transfer_id: sent.transfer_id, amount: amountOf[country], currency: currencyOf[country].toUpperCase(), received_at: sent.received_at,
      });
      for (let i = 0; i < 2; i++) {
        const again = await call(setup.stack.url, "POST", "/v1/channels/sandboxbank/notifications", {
          raw: notification, headers: { "x-sbank-signature": signSbank("sbank_sandbox_notification_secret", notification) },
        });
        assert.equal(again.status, 200, again.text);
      }
      assert.equal(await postingsFor(sent.transfer_id), 1, "no double post");
      assert.equal(await pendingBalance(merchant, currencyOf[country]), amountOf[country]);
      assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.amount_received, amountOf[country]);
      await assertLedgerBalanced(setup.stack);

      const refund = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id } });
      assert.equal(refund.status, 400, refund.text);
      assert.equal(refund.body.error.code, "refund_requires_bank_account");
      assert.equal(refund.body.error.param, "destination");
    });
  }

  it("rejects a forged notification", async () => {
    const raw = JSON.stringify({ event: "transfer.received", merchant_ref: "att_x", transfer_id: "trf_x", amount: 1 });
    const forged = await call(setup.stack.url, "POST", "/v1/channels/sandboxbank/notifications", { raw, headers: { "x-sbank-signature": signSbank("wrong", raw) } });
    assert.equal(forged.status, 400);
    assert.equal(forged.body.error.code, "signature_invalid");
  });
});

describe("wrong amounts, by the merchant's policy", () => {
  it("reject: an under-payment is owed back and the payment stays open; then the exact amount succeeds", async () => {
    const merchant = await createMerchant(setup.stack, "Reject shop");
    const payment = await create(merchant, "ID");
    await transfer(payTo(payment), 5_000_000);
    const open = await waitFor(merchant, payment.id, (p) => p.amount_refund_due === 5_000_000, "refund due");
    assert.equal(open.status, "requires_action");
    assert.equal(open.amount_received, 0);
    assert.equal(await pendingBalance(merchant, "idr"), 0);
    assert.equal(await refundsDue(merchant, "idr"), 5_000_000);
    await transfer(payTo(payment), amountOf.ID);
    const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.equal(paid.amount_received, amountOf.ID);
    assert.equal(paid.amount_refund_due, 5_000_000);
    assert.equal(await pendingBalance(merchant, "idr"), amountOf.ID);
    await assertLedgerBalanced(setup.stack);
  });

  it("reject: an over-payment is owed back in full", async () => {
    const merchant = await createMerchant(setup.stack, "Reject over shop");
    const payment = await create(merchant, "MX");
    await transfer(payTo(payment), amountOf.MX + 1);
    const open = await waitFor(merchant, payment.id, (p) => p.amount_refund_due === amountOf.MX + 1, "refund due");
    assert.equal(open.status, "requires_action");
    assert.equal(await refundsDue(merchant, "mxn"), amountOf.MX + 1);
  });

  it("accept_partial: amount_received grows until the full amount is paid", async () => {
    const merchant = await createMerchant(setup.stack, "Partial shop");
    const payment = await create(merchant, "MX", { amount_mismatch_policy: "accept_partial" });
    assert.equal(payment.amount_mismatch_policy, "accept_partial");
    await transfer(payTo(payment), 100_000);
    const partly = await waitFor(merchant, payment.id, (p) => p.amount_received === 100_000, "partly paid");
    assert.equal(partly.status, "requires_action");
    assert.equal(await pendingBalance(merchant, "mxn"), 100_000);
    await transfer(payTo(payment), 30_000); // 4 950 too much
    const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.equal(paid.amount_received, amountOf.MX);
    assert.equal(paid.amount_refund_due, 130_000 - amountOf.MX);
    assert.equal(await pendingBalance(merchant, "mxn"), amountOf.MX);
    assert.equal(await refundsDue(merchant, "mxn"), 130_000 - amountOf.MX);
    await assertLedgerBalanced(setup.stack);
  });

  for (const ending of ["expires", "is canceled by the merchant"] as const) {
    it(`accept_partial: a partly paid payment that ${ending} keeps nothing; the part paid goes back to the sender`, async () => {
      const merchant = await createMerchant(setup.stack, `Partial then ${ending} shop`);
      const payment = await create(merchant, "MX", { amount_mismatch_policy: "accept_partial" }, ending === "expires" ? { expires_in: 2 } : {});
      const sender = { name: "Partial Payer", account: destinationOf.MX.account as string };
      const sent = await transfer(payTo(payment), 100_000, { sender });
      await waitFor(merchant, payment.id, (p) => p.amount_received === 100_000, "partly paid");
      assert.equal(await pendingBalance(merchant, "mxn"), 100_000);
      if (ending === "is canceled by the merchant") {
        const canceled = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: merchant.secret, body: {} });
        assert.equal(canceled.status, 200, canceled.text);
      }
      const closed = await waitFor(merchant, payment.id, (p) => p.status === "canceled" && p.amount_refund_due === 100_000, "the part paid owed back");
      assert.equal(closed.amount_received, 0, "a canceled payment holds no money (it could never be refunded)");
      assert.equal(await pendingBalance(merchant, "mxn"), 0);
      const returned = await eventually(async () => {
        const refunds = (await get(merchant, `/v1/refunds?payment=${payment.id}`)).body.data;
        return refunds.length === 1 && refunds[0].status === "succeeded" ? refunds[0] : undefined;
      }, 10_000, "returned to the sender");
      assert.equal(returned.kind, "return_of_funds");
      assert.equal(returned.amount, 100_000);
      assert.equal(returned.metadata.transfer, sent.transfer_id);
      assert.equal(await refundsDue(merchant, "mxn"), 100_000);
      assert.equal(await refundsStillDue(merchant, "mxn"), 0);
      await assertLedgerBalanced(setup.stack);
    });
  }

  it("accept_and_refund_excess: an under-payment is owed back, the payment stays open", async () => {
    const merchant = await createMerchant(setup.stack, "Excess under shop");
    const payment = await create(merchant, "BR", { amount_mismatch_policy: "accept_and_refund_excess" });
    await transfer(payTo(payment), 1_000);
    const open = await waitFor(merchant, payment.id, (p) => p.amount_refund_due === 1_000, "refund due");
    assert.equal(open.status, "requires_action");
    assert.equal(open.amount_received, 0);
    assert.equal(await pendingBalance(merchant, "brl"), 0);
  });

  it("accept_and_refund_excess: an over-payment succeeds for the amount, the excess is owed back", async () => {
    const merchant = await createMerchant(setup.stack, "Excess over shop");
    const payment = await create(merchant, "BR", { amount_mismatch_policy: "accept_and_refund_excess" });
    await transfer(payTo(payment), 6_000);
    const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
    assert.equal(paid.amount_received, amountOf.BR);
    assert.equal(paid.amount_refund_due, 6_000 - amountOf.BR);
    assert.equal(await pendingBalance(merchant, "brl"), amountOf.BR);
    assert.equal(await refundsDue(merchant, "brl"), 6_000 - amountOf.BR);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("expiry", () => {
  it("instructions that expire unpaid cancel the payment (janitor)", async () => {
    const merchant = await createMerchant(setup.stack, "Expiry shop");
    const payment = await create(merchant, "ID", {}, { expires_in: 1 });
    const canceled = await waitFor(merchant, payment.id, (p) => p.status === "canceled", "canceled");
    assert.equal(canceled.cancellation_reason, "expired");
    assert.equal(canceled.next_action, null);
    assert.equal(canceled.amount_received, 0);
    assert.equal(canceled.attempts[0].status, "expired");
  });

  it("a transfer after expiry is paid back to the account it came from; the payment stays canceled", async () => {
    const merchant = await createMerchant(setup.stack, "Late shop");
    const payment = await create(merchant, "MX", {}, { expires_in: 1 });
    await waitFor(merchant, payment.id, (p) => p.status === "canceled", "canceled");
    const sender = { name: "Late Payer", account: destinationOf.MX.account as string };
    const sent = await transfer(payTo(payment), amountOf.MX, { sender });
    const late = await waitFor(merchant, payment.id, (p) => p.amount_refund_due === amountOf.MX, "refund due");
    assert.equal(late.status, "canceled");
    assert.equal(late.cancellation_reason, "expired");
    assert.equal(late.amount_received, 0);
    assert.equal(await pendingBalance(merchant, "mxn"), 0);
    assert.equal(await refundsDue(merchant, "mxn"), amountOf.MX);

    // The money goes back by itself: a refund of kind return_of_funds, paid out to the sender.
    const returned = await eventually(async () => {
      const refunds = (await get(merchant, `/v1/refunds?payment=${payment.id}`)).body.data;
      return refunds.length === 1 && refunds[0].status === "succeeded" ? refunds[0] : undefined;
    }, 10_000, "returned to the sender");
    assert.equal(returned.kind, "return_of_funds");
    assert.equal(returned.amount, amountOf.MX);
    assert.equal(returned.metadata.transfer, sent.transfer_id);
    assert.equal(returned.destination.account_last4, sender.account.slice(-4));
    const payout: any = await (await fetch(`${setup.stack.sandboxes.sandboxbank.url}/payouts/${returned.id}`)).json();
    assert.equal(payout.payout.beneficiary.account, sender.account);
    assert.equal(payout.payout.amount, amountOf.MX);
    assert.equal(await refundsStillDue(merchant, "mxn"), 0, "nothing owed any more");
    const after = (await get(merchant, `/v1/payments/${payment.id}`)).body;
    assert.equal(after.amount_refunded, 0, "the merchant refunded nothing: the money was never theirs");
    assert.equal(await pendingBalance(merchant, "mxn"), 0);
    await assertLedgerBalanced(setup.stack);
  });

  it("a transfer whose notification was lost is found by the janitor's inquiry at expiry", async () => {
    const merchant = await createMerchant(setup.stack, "Lost notification shop");
    const payment = await create(merchant, "BR", {}, { expires_in: 2 });
    const sent = await transfer(payTo(payment), amountOf.BR, { drop_notification: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.status, "requires_action", "nothing heard yet");
    const paid = await waitFor(merchant, payment.id, (p) => p.status !== "requires_action", "resolved at expiry");
    assert.equal(paid.status, "succeeded", "found by inquiry, never assumed absent");
    assert.equal(paid.amount_received, amountOf.BR);
    assert.equal(await postingsFor(sent.transfer_id), 1);
    assert.equal(await pendingBalance(merchant, "brl"), amountOf.BR);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("lost notifications before expiry", () => {
  it("a transfer whose notification was lost is booked long before the 24 h expiry (the janitor asks the bank again)", async () => {
    const merchant = await createMerchant(setup.stack, "Lost notification, long expiry shop");
    const payment = await create(merchant, "ID");
    const sent = await transfer(payTo(payment), amountOf.ID, { drop_notification: true });
    const paid = await waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded without a notification");
    assert.equal(paid.amount_received, amountOf.ID);
    assert.equal(await postingsFor(sent.transfer_id), 1);
    await assertLedgerBalanced(setup.stack);
  });

  it("a transfer to a canceled payment whose notification was lost is booked and paid back to the sender", async () => {
    const merchant = await createMerchant(setup.stack, "Lost notification, canceled shop");
    const payment = await create(merchant, "MX");
    const canceled = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: merchant.secret, body: {} });
    assert.equal(canceled.status, 200, canceled.text);
    const sender = { name: "Lost Payer", account: destinationOf.MX.account as string };
    const sent = await transfer(payTo(payment), amountOf.MX, { drop_notification: true, sender });
    const owed = await waitFor(merchant, payment.id, (p) => p.amount_refund_due === amountOf.MX, "owed back without a notification");
    assert.equal(owed.status, "canceled");
    assert.equal(await postingsFor(sent.transfer_id), 2, "booked once, and owed back once");
    const returned = await eventually(async () => {
      const refunds = (await get(merchant, `/v1/refunds?payment=${payment.id}`)).body.data;
      return refunds.length === 1 && refunds[0].status === "succeeded" ? refunds[0] : undefined;
    }, 10_000, "returned to the sender");
    assert.equal(returned.kind, "return_of_funds");
    assert.equal(returned.metadata.transfer, sent.transfer_id);
    assert.equal(await refundsStillDue(merchant, "mxn"), 0);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("cancel", () => {
  it("a canceled payment's instructions take no more money: a transfer is owed back", async () => {
    const merchant = await createMerchant(setup.stack, "Cancel shop");
    const payment = await create(merchant, "ID");
    const canceled = await call(setup.stack.url, "POST", `/v1/payments/${payment.id}/cancel`, { key: merchant.secret, body: { cancellation_reason: "abandoned" } });
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.body.status, "canceled");
    await transfer(payTo(payment), amountOf.ID);
    const after = await waitFor(merchant, payment.id, (p) => p.amount_refund_due === amountOf.ID, "refund due");
    assert.equal(after.status, "canceled");
    assert.equal(await pendingBalance(merchant, "idr"), 0);
    await assertLedgerBalanced(setup.stack);
  });
});

describe("bad input", () => {
  it("answers 400 naming the field and writes nothing", async () => {
    const merchant = await createMerchant(setup.stack, "Bad input shop");
    const cases: [string, unknown, string, string?][] = [
      ["unsupported country", body("ID", {}, { country: "FR" }), "payment_method_data.bank_transfer.country", "country_unsupported"],
      ["malformed country", body("ID", {}, { country: "IDN" }), "payment_method_data.bank_transfer.country"],
      ["missing country", { ...body("ID"), payment_method_data: { type: "bank_transfer", bank_transfer: {} } }, "payment_method_data.bank_transfer.country"],
      ["currency mismatch", body("ID", { currency: "usd" }), "currency", "currency_mismatch"],
      ["currency of another country", body("MX", { currency: "brl" }), "currency", "currency_mismatch"],
      ["unknown bank", body("ID", {}, { bank: "nobank" }), "payment_method_data.bank_transfer.bank", "bank_unsupported"],
      ["expiry of 0 s", body("ID", {}, { expires_in: 0 }), "payment_method_data.bank_transfer.expires_in"],
      ["unknown policy", body("ID", { amount_mismatch_policy: "keep" }), "amount_mismatch_policy"],
      ["without confirm", body("ID", { confirm: false }), "confirm", "confirmation_required"],
      ["without details", { ...body("ID"), payment_method_data: { type: "bank_transfer" } }, "payment_method_data.bank_transfer", "parameter_missing"],
      ["card type without card", { ...body("ID"), payment_method_data: { type: "card" } }, "payment_method_data.card", "parameter_missing"],
    ];
    for (const [name, request, param, code] of cases) {
      const response = await call(setup.stack.url, "POST", "/v1/payments", { key: merchant.secret, body: request });
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assert.equal(response.body.error.param, param, `${name}: ${response.text}`);
      if (code) assert.equal(response.body.error.code, code, name);
    }
    const listed = await get(merchant, "/v1/payments");
    assert.equal(listed.body.data.length, 0, "nothing written");
    const events = await get(merchant, "/v1/events");
    assert.equal(events.body.data.length, 0, "no event");
    const collections: any = await (await fetch(`${setup.stack.sandboxes.sandboxbank.url}/collections`)).json();
    assert.ok(!collections.collections.some((c: any) => c.amount === amountOf.ID && c.currency === "USD"), "nothing opened at the bank");
  });
});

/** A customer's account in each country the sandbox bank pays out to. */
const destinationOf: Record<Country, Record<string, unknown>> = {
  ID: { type: "bank_account", account_holder_name: "Budi Santoso", country: "ID", account: "8800123456", bank: "bni" },
  MX: { type: "bank_account", account_holder_name: "Ana Lopez", country: "MX", account: "012180015025674929" },
  BR: { type: "bank_account", account_holder_name: "Joao Silva", country: "BR", account: "joao@pix.example" },
};

/** A valid CLABE ending in 0000: the sandbox bank reports that account closed. */
function closedAccountClabe(): string {
  for (let n = 0; n < 10_000; n++) {
    const first17 = `0121800${String(n).padStart(7, "0")}000`;
    if (clabeCheckDigit(first17) === 0) return `${first17}0`;
  }
  throw new Error("no CLABE ending in 0000 found");
}

async function paidPayment(merchant: Merchant, country: Country) {
  const payment = await create(merchant, country);
  await transfer(payTo(payment), amountOf[country]);
  return waitFor(merchant, payment.id, (p) => p.status === "succeeded", "succeeded");
}

async function waitForRefund(merchant: Merchant, id: string, status: string) {
  return eventually(async () => {
    const refund = (await get(merchant, `/v1/refunds/${id}`)).body;
    return refund.status === status ? refund : undefined;
  }, 10_000, `refund ${status}`);
}

describe("refunds paid out to the customer's bank account", () => {
  for (const country of ["ID", "MX", "BR"] as const) {
    it(`${country}: a refund is a payout that stays pending until the bank has paid it`, async () => {
      const merchant = await createMerchant(setup.stack, `Refunding shop ${country}`);
      const payment = await paidPayment(merchant, country);
      const part = Math.floor(amountOf[country] / 4);
      const created = await call(setup.stack.url, "POST", "/v1/refunds", {
        key: merchant.secret, headers: { "Idempotency-Key": `refund-${country}` },
        body: { payment: payment.id, amount: part, destination: destinationOf[country] },
      });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.body.status, "pending", "the bank pays out asynchronously");
      assert.equal(created.body.destination.account_last4, String(destinationOf[country].account).slice(-4));
      assert.ok(!created.text.includes(String(destinationOf[country].account)), "the account is never shown whole");
      assert.equal(await pendingBalance(merchant, currencyOf[country]), amountOf[country] - part, "reserved at once");

      const replay = await call(setup.stack.url, "POST", "/v1/refunds", {
        key: merchant.secret, headers: { "Idempotency-Key": `refund-${country}` },
        body: { payment: payment.id, amount: part, destination: destinationOf[country] },
      });
      assert.equal(replay.body.id, created.body.id, "a retry is the same refund");

      const done = await waitForRefund(merchant, created.body.id, "succeeded");
      assert.equal(done.failure_reason, null);
      const payout: any = await (await fetch(`${setup.stack.sandboxes.sandboxbank.url}/payouts/${created.body.id}`)).json();
      assert.equal(payout.payout.status, "paid");
      assert.equal(payout.payout.amount, part);
      assert.equal(payout.payout.beneficiary.account, destinationOf[country].account, "the bank paid the customer's account");
      assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.amount_refunded, part);
      assert.equal(await pendingBalance(merchant, currencyOf[country]), amountOf[country] - part);
      const events = (await get(merchant, "/v1/events")).body.data.filter((event: any) => event.data.object.id === created.body.id);
      assert.deepEqual(events.map((event: any) => event.type).sort(), ["refund.created", "refund.succeeded"]);
      await assertLedgerBalanced(setup.stack);
    });
  }

  it("a payout the bank rejects fails the refund and gives the reservation back", async () => {
    const merchant = await createMerchant(setup.stack, "Closed account shop");
    const payment = await paidPayment(merchant, "MX");
    const created = await call(setup.stack.url, "POST", "/v1/refunds", {
      key: merchant.secret, body: { payment: payment.id, destination: { ...destinationOf.MX, account: closedAccountClabe() } },
    });
    assert.equal(created.status, 200, created.text);
    const failed = await waitForRefund(merchant, created.body.id, "failed");
    assert.equal(failed.failure_reason, "account_closed");
    const after = (await get(merchant, `/v1/payments/${payment.id}`)).body;
    assert.equal(after.amount_refunded, 0, "nothing refunded");
    assert.equal(await pendingBalance(merchant, "mxn"), amountOf.MX, "the reservation is voided");
    assert.ok((await get(merchant, "/v1/events?type=refund.failed")).body.data.some((event: any) => event.data.object.id === created.body.id));
    await assertLedgerBalanced(setup.stack);
  });

  it("a wrong destination is a 400 naming the field, and nothing is written", async () => {
    const merchant = await createMerchant(setup.stack, "Careful shop");
    const payment = await paidPayment(merchant, "ID");
    const mx = await paidPayment(merchant, "MX");
    const cases: [string, string, Record<string, unknown>, string, string][] = [
      ["another country", payment.id, { ...destinationOf.ID, country: "MX" }, "destination.country", "country_mismatch"],
      ["an unknown bank", payment.id, { ...destinationOf.ID, bank: "nobank" }, "destination.bank", "bank_unsupported"],
      ["no bank", payment.id, { ...destinationOf.ID, bank: undefined }, "destination.bank", "bank_unsupported"],
      ["letters in the account", payment.id, { ...destinationOf.ID, account: "88abc" }, "destination.account", "invalid_account_number"],
      ["a CLABE with a wrong check digit", mx.id, { ...destinationOf.MX, account: "012180015025674928" }, "destination.account", "invalid_clabe"],
      ["no account holder", payment.id, { ...destinationOf.ID, account_holder_name: undefined }, "destination.account_holder_name", ""],
    ];
    for (const [name, id, destination, param, code] of cases) {
      const response = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: id, destination } });
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assert.equal(response.body.error.param, param, `${name}: ${response.text}`);
      if (code) assert.equal(response.body.error.code, code, name);
    }
    const refunds = await get(merchant, "/v1/refunds");
    assert.equal(refunds.body.data.length, 0, "no refund written");
    assert.equal((await get(merchant, `/v1/payments/${payment.id}`)).body.amount_refunded, 0);
    await assertLedgerBalanced(setup.stack);
  });
});
