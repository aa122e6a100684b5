// The settlement back office through the HTTP API: the sandbox card channels close their day and
// publish their reports in their own formats, they pay the platform bank account, Corridor fetches
// the reports and the bank's camt.053 statement itself, matches, books and funds; every exception
// type is provoked (by the sandboxes' seeded faults or by a crafted upload) and resolved.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { call, cards, createMerchant, pay, useStack, type Merchant } from "./helpers.ts";

const setup = useStack();
const admin = () => setup.stack.admin_key;
const adminGet = (path: string) => call(setup.stack.url, "GET", path, { key: admin() });
const adminPost = (path: string, body: unknown = {}) => call(setup.stack.url, "POST", path, { key: admin(), body });

async function sandbox(channel: "globalpay" | "localacq", method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${setup.stack.sandboxes[channel].url}${path}`, {
    method, headers: { "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const closeDay = (channel: "globalpay" | "localacq", faults?: Record<string, unknown>) => sandbox(channel, "POST", "/_sandbox/settlement/close", faults ? { faults } : {});

async function fetchFiles(): Promise<any[]> {
  const response = await adminPost("/v1/admin/settlement_files/fetch");
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body.unreachable, []);
  return response.body.files;
}

async function openExceptions(query = ""): Promise<any[]> {
  const response = await adminGet(`/v1/admin/reconciliation/exceptions?status=open&limit=100${query}`);
  assert.equal(response.status, 200, response.text);
  return response.body.data;
}

async function verify(): Promise<any> {
  const response = await adminGet("/v1/admin/ledger/verify");
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.balanced, true, JSON.stringify(response.body));
  assert.equal(response.body.balances.drifted, 0, JSON.stringify(response.body));
  return response.body;
}

async function balance(merchant: Merchant, currency: string): Promise<{ available: number; pending: number }> {
  const response = await call(setup.stack.url, "GET", "/v1/balance", { key: merchant.secret });
  const find = (list: any[]) => list.find((entry) => entry.currency === currency)?.amount ?? 0;
  return { available: find(response.body.available), pending: find(response.body.pending) };
}

async function route(merchant: Merchant, channel: "globalpay" | "localacq"): Promise<void> {
  const response = await call(setup.stack.url, "PUT", "/v1/routing/config", { key: merchant.secret, body: { rules: [], default_channels: [channel], strategy: { type: "rules" } } });
  assert.equal(response.status, 200, response.text);
}

async function captured(merchant: Merchant, amount: number, currency = "usd"): Promise<any> {
  const response = await pay(setup.stack, merchant, cards.visa, { amount, currency });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, "succeeded", response.text);
  return response.body;
}

/** Runs reconciliation as of `days` from now. */
async function runAsOf(days: number, channel?: string): Promise<any> {
  const as_of = new Date(Date.now() + days * 86_400_000).toISOString();
  const response = await adminPost("/v1/admin/reconciliation/runs", { as_of, ...(channel ? { channel } : {}) });
  assert.equal(response.status, 201, response.text);
  return response.body;
}

describe("settlement and reconciliation", () => {
  let merchant: Merchant;
  before(async () => {
    merchant = await createMerchant(setup.stack, "Settled shop");
  });

  it("globalpay: the day's report and the bank credit reconcile with no exception; funds become available less the merchant's fee", async () => {
    await route(merchant, "globalpay");
    const pricing = await call(setup.stack.url, "PUT", `/v1/admin/merchants/${merchant.id}/pricing`, {
      key: admin(), body: { model: "blended", percent_bps: 150, fixed_amount: 10, currency: "usd" },
    });
    assert.equal(pricing.status, 200, pricing.text);
    assert.equal(pricing.body.version, 1);
    const amounts = [10_000, 2_550, 4_999];
    const payments = [];
    for (const amount of amounts) payments.push(await captured(merchant, amount));
    const refund = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payments[0].id, amount: 1_000 } });
    assert.equal(refund.status, 200, refund.text);
    assert.equal(refund.body.status, "succeeded", refund.text);
    const before = await balance(merchant, "usd");
    assert.equal(before.available, 0);

    const closed = await closeDay("globalpay");
    assert.ok(closed.batches.length >= 1, JSON.stringify(closed));
    const files = await fetchFiles();
    const report = files.find((file) => file.channel === "globalpay");
    assert.equal(report?.status, "imported", JSON.stringify(files));
    assert.equal(files.find((file) => file.channel === "sandboxbank")?.status, "imported", JSON.stringify(files));
    assert.deepEqual(await openExceptions(), []);

    const batches = (await adminGet("/v1/admin/settlement_batches?channel=globalpay")).body.data;
    const batch = batches.find((entry: any) => entry.settlement_file === report.id);
    assert.equal(batch.status, "reconciled", JSON.stringify(batch));
    assert.equal(batch.lines, 4);
    assert.equal(batch.matched_lines, 4);
    assert.equal(batch.gross, 10_000 + 2_550 + 4_999 - 1_000);
    assert.equal(batch.net, batch.gross - batch.fees.total);
    assert.ok(batch.fees.interchange > 0 && batch.fees.scheme_fees > 0 && batch.fees.markup > 0, JSON.stringify(batch.fees));
    assert.match(batch.funded_by, /^bent_/);

    // 1.5 % half-even + 10 cents on each capture; refunds carry no fee.
    const merchantFees = 150 + 10 + 38 + 10 + 75 + 10;
    const after = await balance(merchant, "usd");
    assert.equal(after.available, 10_000 + 2_550 + 4_999 - 1_000 - merchantFees);
    assert.equal(after.pending, before.pending - after.available - merchantFees);
    const margins = (await adminGet("/v1/admin/settlement/margins?channel=globalpay")).body.data;
    const usd = margins.find((row: any) => row.currency === "usd");
    assert.equal(usd.merchant_fees, merchantFees);
    assert.equal(usd.channel_fees.total, batch.fees.total);
    assert.equal(usd.margin, merchantFees - batch.fees.total);
    await verify();

    // A rerun books nothing and raises nothing.
    const rerun = await runAsOf(0);
    assert.deepEqual(rerun.new_exceptions, {});
    assert.deepEqual(await balance(merchant, "usd"), after);
  });

  it("the same file uploaded again is a duplicate and books nothing; a malformed file is rejected naming the line", async () => {
    const listed = await adminGet("/v1/admin/settlement_files?channel=globalpay&status=imported&limit=1");
    const original = listed.body.data[0];
    const reports = await sandbox("globalpay", "GET", "/settlement/reports");
    const content = await sandbox("globalpay", "GET", `/settlement/reports/${reports.at(-1).id}`);
    const ledgerBefore = await verify();
    const again = await adminPost("/v1/admin/settlement_files", { channel: "globalpay", filename: "again.csv", content });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.body.status, "duplicate");
    assert.equal(again.body.duplicate_of, original.id);
    const lines = String(content).split("\n");
    lines[2] = lines[2].replace(/,[0-9]+\.[0-9]{2},/, ",12.3x4,");
    const broken = await adminPost("/v1/admin/settlement_files", { channel: "globalpay", filename: "broken.csv", content: lines.join("\n") });
    assert.equal(broken.status, 201, broken.text);
    assert.equal(broken.body.status, "rejected");
    assert.ok(broken.body.errors.some((error: any) => error.line === 3), broken.text);
    assert.deepEqual((await verify()).currencies, ledgerBefore.currencies, "nothing booked");
    const unknown = await adminPost("/v1/admin/settlement_files", { channel: "nowhere", filename: "x.csv", content: "x" });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.param, "channel");
  });

  it("seeded report faults become exactly their exceptions, and each resolution posts its adjustment", async () => {
    await route(merchant, "globalpay");
    const p: any[] = [];
    for (const amount of [1_200, 1_300, 1_400, 1_500, 1_600]) p.push(await captured(merchant, amount));
    const ref = (index: number) => p[index].attempts.at(-1).id;
    const closed = await closeDay("globalpay", {
      drop: [ref(0)], duplicate: [ref(1)], change_amount: { [ref(2)]: 500 }, wrong_fee: { [ref(3)]: 300 },
    });
    assert.ok(closed.batches.length >= 1, JSON.stringify(closed));
    await fetchFiles();
    const open = await openExceptions("&channel=globalpay");
    const types = open.map((exception: any) => `${exception.type}:${exception.attempt ?? exception.reference}`).sort();
    assert.deepEqual(types, [`amount_mismatch:${ref(2)}`, `duplicate_line:${ref(1)}`, `fee_mismatch:${ref(3)}`].sort());
    const overdue = await runAsOf(10, "globalpay");
    assert.equal(overdue.new_exceptions.missing_in_report, 1, JSON.stringify(overdue));
    const missing = await openExceptions("&type=missing_in_report");
    assert.equal(missing.length, 1);
    assert.equal(missing[0].attempt, ref(0));
    assert.equal(missing[0].expected_amount, 1_200);
    assert.deepEqual((await runAsOf(10, "globalpay")).new_exceptions, {}, "a rerun adds nothing");

    const resolve = (exception: any, body: Record<string, unknown>) => adminPost(`/v1/admin/reconciliation/exceptions/${exception.id}/resolve`, { note: "checked with the channel", operator: "ops@example.test", ...body });
    const byType = (type: string) => open.find((exception: any) => exception.type === type) ?? missing[0];
    const wrongAction = await resolve(byType("duplicate_line"), { action: "accept_reported" });
    assert.equal(wrongAction.status, 400);
    assert.equal(wrongAction.body.error.code, "invalid_action");
    const before = await balance(merchant, "usd");
    const mismatch = await resolve(byType("amount_mismatch"), { action: "accept_reported" });
    assert.equal(mismatch.status, 200, mismatch.text);
    assert.equal(mismatch.body.status, "resolved");
    assert.deepEqual(mismatch.body.resolution, { action: "accept_reported", note: "checked with the channel", by: "ops@example.test" });
    const afterMismatch = await balance(merchant, "usd");
    // The channel's figure stands: the merchant is settled 1 900 (1 400 + 500) less the fee of that amount.
    assert.equal(afterMismatch.available - before.available, 1_900 - (28 + 10));
    for (const exception of [byType("duplicate_line"), byType("fee_mismatch"), missing[0]]) {
      const resolved = await resolve(exception, { action: "write_off" });
      assert.equal(resolved.status, 200, resolved.text);
    }
    const twice = await resolve(missing[0], { action: "write_off" });
    assert.equal(twice.body.error.code, "exception_already_resolved");
    assert.deepEqual(await openExceptions("&channel=globalpay"), []);
    await verify();
  });

  it("a batch the channel never pays becomes unfunded_batch past its payout delay and grace, and is written off", async () => {
    await route(merchant, "globalpay");
    const payment = await captured(merchant, 3_000);
    const closed = await closeDay("globalpay", { unfunded: true });
    assert.equal(closed.funded, false, JSON.stringify(closed));
    await fetchFiles();
    assert.deepEqual(await openExceptions("&channel=globalpay"), []);
    const overdue = await runAsOf(10, "globalpay");
    assert.equal(overdue.new_exceptions.unfunded_batch, 1, JSON.stringify(overdue));
    const unfunded = (await openExceptions("&type=unfunded_batch"))[0];
    assert.ok(unfunded.expected_amount > 0 && unfunded.expected_amount < 3_000);
    const writeOff = await adminPost(`/v1/admin/reconciliation/exceptions/${unfunded.id}/resolve`, { action: "write_off", note: "the channel will not pay" });
    assert.equal(writeOff.status, 200, writeOff.text);
    void payment;
    await verify();
  });

  it("a refund no report carries becomes missing_in_report past its settlement day and grace; a later report closes it, a write-off books it balanced", async () => {
    await route(merchant, "globalpay");
    const payment = await captured(merchant, 6_000);
    await closeDay("globalpay");
    await fetchFiles();
    const refund = async (amount: number) => {
      const response = await call(setup.stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: payment.id, amount } });
      assert.equal(response.body.status, "succeeded", response.text);
      return response.body;
    };
    const carriedLate = await refund(1_000);
    const neverCarried = await refund(1_500);
    // The day's report holds only the first refund, and is published late; the second is in no report at all.
    const held = await closeDay("globalpay", { late: true, drop: [neverCarried.id] });
    assert.ok(held.report_id, JSON.stringify(held));
    await fetchFiles();
    assert.deepEqual(await openExceptions("&channel=globalpay"), []);
    assert.deepEqual((await runAsOf(0, "globalpay")).new_exceptions, {}, "not before the settlement day and grace");
    assert.deepEqual((await runAsOf(10, "globalpay")).new_exceptions, { missing_in_report: 2 });
    assert.deepEqual((await runAsOf(10, "globalpay")).new_exceptions, {}, "a rerun adds nothing");
    const missing = await openExceptions("&type=missing_in_report");
    assert.deepEqual(missing.map((exception: any) => exception.reference).sort(), [carriedLate.id, neverCarried.id].sort());
    for (const exception of missing) {
      assert.equal(exception.subject, `missing_in_report:${exception.reference}`);
      assert.equal(exception.payment, payment.id);
      assert.equal(exception.merchant, merchant.id);
      assert.equal(exception.currency, "usd");
      assert.equal(exception.expected_amount, exception.reference === carriedLate.id ? -1_000 : -1_500);
    }

    await sandbox("globalpay", "POST", `/_sandbox/settlement/reports/${held.report_id}/publish`);
    const late = (await fetchFiles()).find((file) => file.channel === "globalpay");
    assert.equal(late?.status, "imported");
    const closed = (await adminGet(`/v1/admin/reconciliation/exceptions/${missing.find((exception: any) => exception.reference === carriedLate.id).id}`)).body;
    assert.equal(closed.status, "resolved", JSON.stringify(closed));
    assert.deepEqual(closed.resolution, { action: "matched_late", settlement_file: late.id, by: "reconciliation" });

    const open = missing.find((exception: any) => exception.reference === neverCarried.id);
    const before = await balance(merchant, "usd");
    const writeOff = await adminPost(`/v1/admin/reconciliation/exceptions/${open.id}/resolve`, { action: "write_off", note: "the channel never took it back" });
    assert.equal(writeOff.status, 200, writeOff.text);
    assert.equal(writeOff.body.status, "resolved");
    // The merchant bears the refund, as if its line had come.
    assert.equal((await balance(merchant, "usd")).available, before.available - 1_500);
    assert.deepEqual(await openExceptions("&channel=globalpay"), []);
    await verify();
  });

  it("globalpay settling a EUR capture in USD: the converted report matches, the USD credit funds its batch, the merchant is settled in EUR", async () => {
    const euroShop = await createMerchant(setup.stack, "Euro shop");
    await route(euroShop, "globalpay");
    const payment = await captured(euroShop, 10_000, "eur");
    const closed = await sandbox("globalpay", "POST", "/_sandbox/settlement/close", { settle_in: { EUR: "USD" } });
    const [line] = closed.lines.filter((entry: any) => entry.merchant_reference !== "" && entry.currency === "EUR");
    assert.ok(line, JSON.stringify(closed.lines));
    assert.equal(line.gross, 10_000);
    assert.equal(line.net_currency, "USD");
    assert.equal(line.exchange_rate, "1.0870");
    assert.equal(line.net + line.fees, 10_870);
    assert.deepEqual(closed.batches.map((batch: any) => batch.currency), ["USD"]);
    assert.deepEqual(closed.payouts.map((payout: any) => [payout.currency, payout.funded]), [["USD", true]]);

    const files = await fetchFiles();
    const report = files.find((file) => file.channel === "globalpay");
    assert.equal(report?.status, "imported", JSON.stringify(files));
    assert.deepEqual(await openExceptions("&channel=globalpay"), []);
    const batches = (await adminGet("/v1/admin/settlement_batches?channel=globalpay")).body.data;
    const batch = batches.find((entry: any) => entry.settlement_file === report.id);
    assert.equal(batch.currency, "usd");
    assert.equal(batch.status, "reconciled", JSON.stringify(batch));
    assert.equal(batch.net, line.net);
    assert.equal(batch.gross, 10_870);
    // No pricing: the merchant gets Corridor's amount, in the payment's currency.
    assert.equal((await balance(euroShop, "eur")).available, 10_000);
    assert.equal((await balance(euroShop, "usd")).available, 0);
    assert.equal(payment.currency, "eur");
    await verify();
  });
});
