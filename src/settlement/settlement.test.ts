// The settlement core against a real database (SQLite file, or a fresh PostgreSQL database when
// DATABASE_URL points at PostgreSQL), without HTTP: Corridor's facts are seeded through the real
// ledger postings, channel reports and bank statements come through test parsers that read JSON
// (the channels' own formats are parsed by their connectors), and every scenario checks the
// exceptions, the lines, the ledger balances and the trial balance.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { newId } from "../ids.ts";
import { accountBalance, accountId, verifyLedger, type AccountPurpose } from "../ledger/ledger.ts";
import { createMerchant } from "../merchants/merchants.ts";
import { pendRefund, postSale, settleRefund } from "../payments/postings.ts";
import { defaultFeeModel, divideHalfEven } from "../routing/fees.ts";
import { openDb, toSafeNumber, type Db } from "../store/db.ts";
import { freshDatabase } from "../../test/helpers.ts";
import type { SettlementContext } from "./context.ts";
import { listExceptions, type ExceptionRecord, type ExceptionType } from "./exceptions.ts";
import { importSettlementFile, type SettlementFile } from "./files.ts";
import { passThroughFees } from "./matching.ts";
import { setPricing } from "./pricing.ts";
import { channelMargins, listSettlementBatches } from "./queries.ts";
import { scanParsed, type ParsedReport, type ParsedStatement, type ReportLine, type ReportParser, type StatementEntry, type StatementParser } from "./report.ts";
import { resolveException, type ResolveInput } from "./resolve.ts";
import { runReconciliation, type RunSummary } from "./runs.ts";
import { dateMs, dayMs, defaultTerms } from "./terms.ts";

// ---- database ----

// ---- test parsers: JSON in, the channel-neutral shapes out ----

const reportParser: ReportParser = {
  kind: "channel_report",
  scan: (content: string) => scanParsed(parseJsonReport(content)),
};

function parseJsonReport(content: string): ParsedReport {
  let body: { lines?: ReportLine[]; errors?: { line: number; message: string }[] };
  try {
    body = JSON.parse(content);
  } catch (error) {
    return { ok: false, errors: [{ line: 0, message: `not JSON: ${(error as Error).message}` }] };
  }
  if (body.errors) return { ok: false, errors: body.errors };
  return { ok: true, lines: body.lines ?? [] };
}

/** Remittance `<CHANNEL> SETTLEMENT BATCHES <n>[,<n>…]` names a channel and its batches. */
function remittanceNames(remittance: string | null): { channel: string | null; batch_numbers: string[] } {
  const match = remittance?.match(/^([A-Z]+) SETTLEMENT BATCHES ([0-9A-Z,]+)$/);
  return match ? { channel: match[1].toLowerCase(), batch_numbers: match[2].split(",") } : { channel: null, batch_numbers: [] };
}

const statementParser: StatementParser = {
  kind: "bank_statement",
  parse(content: string): ParsedStatement {
    let body: { statement_id: string; entries?: Partial<StatementEntry>[]; errors?: { line: number; message: string }[] };
    try {
      body = JSON.parse(content);
    } catch (error) {
      return { ok: false, errors: [{ line: 0, message: `not JSON: ${(error as Error).message}` }] };
    }
    if (body.errors) return { ok: false, errors: body.errors };
    const entries = (body.entries ?? []).map((entry, index): StatementEntry => ({
      line: index + 1, entry_reference: entry.entry_reference!, booking_date: entry.booking_date ?? today, value_date: entry.value_date ?? entry.booking_date ?? today,
      direction: entry.direction ?? "credit", amount: entry.amount!, currency: entry.currency ?? "USD", counterparty: entry.counterparty ?? null,
      remittance: entry.remittance ?? null, ...remittanceNames(entry.remittance ?? null),
    }));
    return { ok: true, statement_id: body.statement_id, account: "PLATFORM-USD", entries };
  },
};

function contextFor(db: Db): SettlementContext {
  return {
    db,
    fees: () => defaultFeeModel,
    channels: new Map([
      ["globalpay", { channel: "globalpay", parser: reportParser, terms: defaultTerms.globalpay }],
      ["sandboxbank", { channel: "sandboxbank", parser: statementParser, terms: defaultTerms.sandboxbank }],
    ]),
  };
}

// ---- harness: one fresh database per scenario ----

interface Harness {
  db: Db;
  s: SettlementContext;
  drop(): Promise<void>;
}

function useSettlement(): Harness {
  const h = {} as Harness;
  before(async () => {
    const database = await freshDatabase();
    h.db = await openDb(database.url);
    h.s = contextFor(h.db);
    h.drop = database.drop;
  });
  after(async () => {
    await assertLedgerBalanced(h);
    await h.db.close();
    await h.drop();
  });
  return h;
}

const today = new Date().toISOString().slice(0, 10);
const todayMs = dateMs(today);

async function assertLedgerBalanced(h: Harness): Promise<void> {
  const trial = await verifyLedger(h.db);
  assert.deepEqual(trial.violations, []);
  assert.equal(trial.balances.drifted, 0);
  assert.equal(trial.balanced, true, JSON.stringify(trial));
}

/** Runs `fn` with the clock moved to `ms` (captures "made" days ago). */
async function atTime<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  const offset = ms - realNow();
  Date.now = () => realNow() + offset;
  try {
    return await fn();
  } finally {
    Date.now = realNow;
  }
}

// ---- Corridor facts, through the real postings ----

async function merchant(h: Harness, name: string): Promise<string> {
  return (await createMerchant(h.db, { name, country: "US", default_currency: "USD" })).merchant.id;
}

interface Capture {
  payment_id: string;
  attempt_id: string;
  channel_reference: string;
  merchant_id: string;
  amount: number;
  currency: string;
}

async function capture(h: Harness, merchant_id: string, amount: number, options: { currency?: string; at_ms?: number } = {}): Promise<Capture> {
  const currency = options.currency ?? "USD";
  const make = async (): Promise<Capture> => {
    const now = Date.now();
    const cap: Capture = { payment_id: newId("pay"), attempt_id: newId("att"), channel_reference: `gp_${randomBytes(8).toString("hex")}`, merchant_id, amount, currency };
    await h.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded, channel, metadata, created_ms, updated_ms)
         VALUES (?, ?, 'succeeded', ?, ?, 'automatic', 0, ?, 0, 'globalpay', '{}', ?, ?)`,
        [cap.payment_id, merchant_id, amount, currency, amount, now, now]);
      await tx.run(
        `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, amount, currency, capture, channel_reference, routing_reason, created_ms, updated_ms)
         VALUES (?, ?, ?, 'globalpay', 'captured', ?, ?, 1, ?, 'test', ?, ?)`,
        [cap.attempt_id, cap.payment_id, merchant_id, amount, currency, cap.channel_reference, now, now]);
      await postSale(tx, cap.attempt_id, { merchant_id, channel: "globalpay", currency, amount });
    });
    return cap;
  };
  return options.at_ms === undefined ? make() : atTime(options.at_ms, make);
}

async function refund(h: Harness, cap: Capture, amount: number): Promise<string> {
  const refund_id = newId("re");
  await h.db.transaction(async (tx) => {
    const movement = { merchant_id: cap.merchant_id, channel: "globalpay", currency: cap.currency, amount };
    const pending_id = await pendRefund(tx, refund_id, movement);
    const now = Date.now();
    await tx.run(
      `INSERT INTO refunds (id, payment_id, merchant_id, attempt_id, amount, currency, status, ledger_pending_id, metadata, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?, 'succeeded', ?, '{}', ?, ?)`,
      [refund_id, cap.payment_id, cap.merchant_id, cap.attempt_id, amount, cap.currency, pending_id, now, now]);
    await tx.run("UPDATE payments SET amount_refunded = amount_refunded + ? WHERE id = ?", [amount, cap.payment_id]);
    await settleRefund(tx, pending_id, refund_id, true);
  });
  return refund_id;
}

// ---- report lines ----

/** globalpay's fee for a US-priced card line: 290 bps (half-even) + 30 cents. */
function modelFee(gross: number): number {
  return Number(divideHalfEven(BigInt(gross) * 290n, 10_000n)) + 30;
}

type Fees = Pick<ReportLine, "interchange" | "scheme_fees" | "markup" | "commission">;

/** The model's fee split into interchange (60 %), scheme fees (10 %) and the acquirer's markup. */
function modelFees(gross: number): Fees {
  const total = modelFee(gross);
  const interchange = Math.floor(total * 0.6);
  const scheme_fees = Math.floor(total * 0.1);
  return { interchange, scheme_fees, markup: total - interchange - scheme_fees, commission: 0 };
}

type Line = Omit<ReportLine, "line">;

function lineOf(input: Partial<Line> & Pick<Line, "batch_number" | "type" | "gross">): Line {
  const fees: Fees = { interchange: input.interchange ?? 0, scheme_fees: input.scheme_fees ?? 0, markup: input.markup ?? 0, commission: input.commission ?? 0 };
  const currency = input.currency ?? "USD";
  return {
    merchant_reference: null, channel_reference: null, booking_date: today, currency, net_currency: currency, exchange_rate: "1",
    net: input.gross - fees.interchange - fees.scheme_fees - fees.markup - fees.commission, ...input, ...fees,
  };
}

function settled(cap: Capture, batch_number: string, extra: Partial<Line> = {}): Line {
  const gross = extra.gross ?? cap.amount;
  return lineOf({ batch_number, type: "settled", merchant_reference: cap.attempt_id, channel_reference: cap.channel_reference, currency: cap.currency, gross, ...modelFees(gross), ...extra });
}

function refunded(refund_id: string, amount: number, batch_number: string): Line {
  return lineOf({ batch_number, type: "refunded", merchant_reference: refund_id, channel_reference: `gp_rf_${refund_id}`, gross: -amount });
}

/** The batch's payout line (MerchantPayout): net = −(sum of the batch's other nets). */
function payout(lines: readonly Line[], batch_number: string, currency = "USD"): Line {
  const net = lines.filter((line) => line.batch_number === batch_number && line.net_currency === currency && line.type !== "payout").reduce((sum, line) => sum + line.net, 0);
  return lineOf({ batch_number, type: "payout", currency, gross: 0, net: -net });
}

function reportContent(lines: readonly Line[]): string {
  return JSON.stringify({ lines: lines.map((line, index) => ({ line: index + 2, ...line })) });
}

let fileCounter = 0;

async function importReport(h: Harness, lines: readonly Line[] | string): Promise<SettlementFile> {
  const content = typeof lines === "string" ? lines : reportContent(lines);
  const result = await importSettlementFile(h.s, { channel: "globalpay", filename: `report_${++fileCounter}.json`, content, source: "upload" });
  assert.ok(result.ok, JSON.stringify(result));
  return result.file;
}

async function importStatement(h: Harness, entries: Partial<StatementEntry>[]): Promise<SettlementFile> {
  const content = JSON.stringify({ statement_id: `stmt_${++fileCounter}`, entries });
  const result = await importSettlementFile(h.s, { channel: "sandboxbank", filename: `camt_${fileCounter}.json`, content, source: "upload" });
  assert.ok(result.ok, JSON.stringify(result));
  return result.file;
}

function credit(amount: number, remittance: string | null, counterparty: string | null = "GLOBALPAY", booking_date = today): Partial<StatementEntry> {
  return { entry_reference: `ACSV${randomBytes(6).toString("hex").toUpperCase()}`, booking_date, direction: "credit", amount, currency: "USD", counterparty, remittance };
}

const netOf = (lines: readonly Line[], batch_number: string, currency = "USD") =>
  lines.filter((line) => line.batch_number === batch_number && line.net_currency === currency && line.type !== "payout").reduce((sum, line) => sum + line.net, 0);

// ---- reading back ----

/** Posted balance, debit-positive (assets and expenses positive, liabilities and revenue negative). */
async function debitBalance(h: Harness, owner: string, purpose: AccountPurpose, currency = "USD"): Promise<bigint> {
  const balance = await accountBalance(h.db, accountId({ owner, currency, purpose }));
  assert.equal(balance.debits_pending, 0n, `${owner} ${purpose} has no pending debits`);
  return balance.debits_posted - balance.credits_posted;
}

/** Posted balance of a credit-normal account. */
async function creditBalanceOf(h: Harness, owner: string, purpose: AccountPurpose, currency = "USD"): Promise<bigint> {
  return -(await debitBalance(h, owner, purpose, currency));
}

const key = (owner: string, purpose: AccountPurpose, currency = "USD") => accountId({ owner, currency, purpose });

/** Every account's posted balance (debit-positive), by account id. */
async function snapshot(h: Harness): Promise<Map<string, bigint>> {
  const accounts = await h.db.all<{ id: string }>("SELECT id FROM ledger_accounts ORDER BY id");
  const out = new Map<string, bigint>();
  for (const { id } of accounts) {
    const balance = await accountBalance(h.db, id);
    out.set(id, balance.debits_posted - balance.credits_posted);
  }
  return out;
}

/** The accounts whose balance changed between two snapshots, with the change (debit-positive). */
function changes(before: Map<string, bigint>, after: Map<string, bigint>): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const [id, value] of after) {
    const change = value - (before.get(id) ?? 0n);
    if (change !== 0n) out[id] = change;
  }
  return out;
}

async function transferCount(h: Harness): Promise<number> {
  return toSafeNumber((await h.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM ledger_transfers"))?.n);
}

interface LineState {
  line: number;
  type: string;
  status: string;
  match_kind: string | null;
  match_id: string | null;
  merchant_fee: number;
  pricing_version: number | null;
  booked: number;
}

async function linesOf(h: Harness, file_id: string): Promise<LineState[]> {
  const rows = await h.db.all<Record<string, unknown>>(
    "SELECT line, type, status, match_kind, match_id, merchant_fee, pricing_version, booked FROM settlement_lines WHERE file_id = ? ORDER BY line", [file_id]);
  return rows.map((row) => ({
    line: toSafeNumber(row.line), type: row.type as string, status: row.status as string, match_kind: (row.match_kind as string) ?? null,
    match_id: (row.match_id as string) ?? null, merchant_fee: toSafeNumber(row.merchant_fee),
    pricing_version: row.pricing_version === null ? null : toSafeNumber(row.pricing_version), booked: toSafeNumber(row.booked),
  }));
}

async function exceptions(h: Harness, filter: { status?: string; type?: ExceptionType } = {}): Promise<ExceptionRecord[]> {
  const page = await listExceptions(h.db, filter, { limit: 1000 });
  assert.equal(page.has_more, false);
  return page.data;
}

async function openOf(h: Harness, type: ExceptionType, predicate: (exception: ExceptionRecord) => boolean = () => true): Promise<ExceptionRecord> {
  const found = (await exceptions(h, { status: "open", type })).filter(predicate);
  assert.equal(found.length, 1, `one open ${type}: ${JSON.stringify(found)}`);
  return found[0];
}

async function batchView(h: Harness, batch_number: string, currency = "usd") {
  const page = await listSettlementBatches(h.db, { channel: "globalpay" }, { limit: 100 });
  const batch = page.data.find((row) => row.batch_number === batch_number && row.currency === currency);
  assert.ok(batch, `batch ${batch_number} ${currency}`);
  return batch;
}

const run = (h: Harness, as_of_ms: number, channel?: string): Promise<RunSummary> => runReconciliation(h.s, { as_of_ms, trigger: "api", ...(channel ? { channel } : {}) });

function resolve(h: Harness, id: string, input: Partial<ResolveInput> & Pick<ResolveInput, "action">) {
  return resolveException(h.s, id, { note: `checked by the test (${input.action})`, operator: "ops@corridor.test", ...input });
}

async function resolved(h: Harness, exception: ExceptionRecord, input: Partial<ResolveInput> & Pick<ResolveInput, "action">): Promise<ExceptionRecord> {
  const result = await resolve(h, exception.id, input);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.exception.status, "resolved");
  assert.deepEqual(result.exception.resolution, { action: input.action, note: `checked by the test (${input.action})`, by: "ops@corridor.test", ...(input.payment ? { payment: input.payment } : {}) });
  const again = await resolve(h, exception.id, input);
  assert.ok(!again.ok);
  assert.equal(again.failure.code, "exception_already_resolved");
  const stored = (await exceptions(h, { type: exception.type })).find((row) => row.id === exception.id)!;
  assert.equal(stored.status, "resolved");
  assert.deepEqual(stored.resolution, result.exception.resolution);
  return stored;
}

// ---- 1. a valid report, its payout, the bank credit that funds it ----

describe("a valid report: matched, booked per batch, then funded by the bank", { concurrency: false }, () => {
  const h = useSettlement();
  let blended: string, icpp: string, unpriced: string;
  let a: Capture, b: Capture, c: Capture, d: Capture, refundId: string;
  let lines: Line[];
  let file: SettlementFile;
  const feeA = 350 + 25, feeC = 175 + 25;
  let feeB: number;

  before(async () => {
    blended = await merchant(h, "Blended shop");
    icpp = await merchant(h, "IC++ shop");
    unpriced = await merchant(h, "Unpriced shop");
    await h.db.transaction((tx) => setPricing(tx, blended, { model: "blended", percent_bps: 100, fixed_amount: 0, currency: "USD" }));
    const v2 = await h.db.transaction((tx) => setPricing(tx, blended, { model: "blended", percent_bps: 350, fixed_amount: 25, currency: "USD" }));
    assert.equal(v2.version, 2);
    await h.db.transaction((tx) => setPricing(tx, icpp, { model: "interchange_plus", percent_bps: 60, fixed_amount: 10, currency: "USD" }));
    a = await capture(h, blended, 10_000);
    b = await capture(h, icpp, 25_000);
    c = await capture(h, blended, 5_000);
    d = await capture(h, unpriced, 12_345);
    refundId = await refund(h, c, 2_000);
    const fb = modelFees(25_000);
    feeB = fb.interchange + fb.scheme_fees + Number(divideHalfEven(25_000n * 60n, 10_000n)) + 10;
    lines = [
      settled(a, "1001"),
      settled(b, "1001"),
      settled(c, "1001"),
      // Without our reference: matched by the channel's own.
      settled(d, "1001", { merchant_reference: null }),
      refunded(refundId, 2_000, "1001"),
    ];
    lines.push(payout(lines, "1001"));
  });

  it("imports the report: every line matched, no exception, each priced line at its merchant's current pricing", async () => {
    file = await importReport(h, lines);
    assert.equal(file.status, "imported");
    assert.deepEqual(file.errors, []);
    assert.deepEqual(await exceptions(h), []);
    const states = await linesOf(h, file.id);
    assert.equal(states.length, 5, "the payout line is not a matched line");
    assert.deepEqual(states.map((line) => [line.type, line.status, line.match_kind, line.match_id, line.booked]), [
      ["settled", "matched", "capture", a.attempt_id, 1],
      ["settled", "matched", "capture", b.attempt_id, 1],
      ["settled", "matched", "capture", c.attempt_id, 1],
      ["settled", "matched", "capture", d.attempt_id, 1],
      ["refunded", "matched", "refund", refundId, 1],
    ]);
    // blended v2: round(10 000 × 3.5 %) + 25 = 375; 5 000 → 175 + 25; IC++: interchange + scheme fees + 0.6 % + 10.
    assert.deepEqual(states.map((line) => [line.merchant_fee, line.pricing_version]), [[feeA, 2], [feeB, 1], [feeC, 2], [0, null], [0, null]]);
    assert.equal(feeB, 453 + 75 + 150 + 10);
  });

  it("clears the channel receivable, makes merchant funds available less their fees, and holds the net in transit", async () => {
    assert.equal(await debitBalance(h, "globalpay", "channel_receivable"), 0n);
    for (const m of [blended, icpp, unpriced]) assert.equal(await creditBalanceOf(h, m, "merchant_pending"), 0n);
    assert.equal(await creditBalanceOf(h, blended, "merchant_available"), BigInt(10_000 + 5_000 - 2_000 - feeA - feeC));
    assert.equal(await creditBalanceOf(h, icpp, "merchant_available"), BigInt(25_000 - feeB));
    assert.equal(await creditBalanceOf(h, unpriced, "merchant_available"), 12_345n);
    assert.equal(await creditBalanceOf(h, "platform", "platform_revenue"), BigInt(feeA + feeB + feeC));
    const net = netOf(lines, "1001");
    assert.equal(await debitBalance(h, "globalpay", "bank_in_transit"), BigInt(net));
    const sum = (field: keyof Fees) => BigInt(lines.reduce((total, line) => total + line[field], 0));
    assert.equal(await debitBalance(h, "globalpay", "channel_fees_interchange"), sum("interchange"));
    assert.equal(await debitBalance(h, "globalpay", "channel_fees_scheme"), sum("scheme_fees"));
    assert.equal(await debitBalance(h, "globalpay", "channel_fees_markup"), sum("markup"));
    const batch = await batchView(h, "1001");
    assert.equal(batch.status, "awaiting_funds");
    assert.equal(batch.lines, 5);
    assert.equal(batch.matched_lines, 5);
    assert.equal(batch.net, net);
    assert.equal(batch.gross, 10_000 + 25_000 + 5_000 + 12_345 - 2_000);
    assert.equal(batch.fees.total, batch.gross - net);
    await assertLedgerBalanced(h);
  });

  it("reports the channel margin: merchant fees less channel fees, exactly", async () => {
    const [margin, ...others] = await channelMargins(h.db, { channel: "globalpay", from: today, to: today });
    assert.deepEqual(others, []);
    const channelFees = lines.reduce((total, line) => total + line.interchange + line.scheme_fees + line.markup + line.commission, 0);
    assert.equal(margin.lines, 5);
    assert.equal(margin.currency, "usd");
    assert.equal(margin.settled_gross, 52_345);
    assert.equal(margin.returned_gross, 2_000);
    assert.equal(margin.channel_fees.total, channelFees);
    assert.equal(margin.merchant_fees, feeA + feeB + feeC);
    assert.equal(margin.margin, feeA + feeB + feeC - channelFees);
    assert.equal(margin.margin_bps, Math.trunc(((feeA + feeB + feeC - channelFees) * 10_000) / 52_345));
    assert.deepEqual(await channelMargins(h.db, { from: "2000-01-01", to: "2000-01-02" }), []);
  });

  it("a bank credit naming the batch funds it: platform bank debited, nothing left in transit, the batch reconciled", async () => {
    const net = netOf(lines, "1001");
    const statement = await importStatement(h, [credit(net, "GLOBALPAY SETTLEMENT BATCHES 1001")]);
    assert.equal(statement.status, "imported");
    const summary = await run(h, Date.now());
    assert.equal(summary.funded_batches, 1);
    assert.deepEqual(summary.new_exceptions, {});
    assert.equal(await debitBalance(h, "platform", "platform_bank"), BigInt(net));
    assert.equal(await debitBalance(h, "globalpay", "bank_in_transit"), 0n);
    const batch = await batchView(h, "1001");
    assert.equal(batch.status, "reconciled");
    assert.ok(batch.funded_by?.startsWith("bent_"));
    // Rerun: nothing new, nothing booked twice.
    const transfers = await transferCount(h);
    const again = await run(h, Date.now());
    assert.equal(again.funded_batches, 0);
    assert.equal(await transferCount(h), transfers);
    await assertLedgerBalanced(h);
  });

  it("a credit within the funding tolerance funds its batch, the difference booked as rounding; one naming nothing funds the one batch with its exact net", async () => {
    const e = await capture(h, unpriced, 7_000);
    const f = await capture(h, unpriced, 3_000);
    const more = [settled(e, "1002"), settled(f, "1003")];
    await importReport(h, more);
    const before = await snapshot(h);
    // Debits on the statement (payouts to merchants) are not credits to match.
    await importStatement(h, [
      credit(netOf(more, "1002") + 1, "GLOBALPAY SETTLEMENT BATCHES 1002"),
      credit(netOf(more, "1003"), "GLOBALPAY PAYOUT", "GLOBALPAY"),
      { ...credit(4_000, "MERCHANT PAYOUT", "SOMEONE"), direction: "debit" },
    ]);
    const summary = await run(h, Date.now());
    assert.equal(summary.funded_batches, 2);
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("platform", "platform_bank")]: BigInt(netOf(more, "1002") + 1 + netOf(more, "1003")),
      [key("globalpay", "bank_in_transit")]: -BigInt(netOf(more, "1002") + netOf(more, "1003")),
      [key("globalpay", "settlement_rounding")]: -1n,
    });
    assert.equal((await batchView(h, "1002")).status, "reconciled");
    assert.equal((await batchView(h, "1003")).status, "reconciled");
    await assertLedgerBalanced(h);
  });
});

// ---- 2. duplicates and rejections ----

describe("files imported once: duplicates, repeated batches, parser errors", { concurrency: false }, () => {
  const h = useSettlement();
  let m: string;
  let lines: Line[];
  let first: SettlementFile;

  before(async () => {
    m = await merchant(h, "Shop");
    const cap = await capture(h, m, 9_900);
    lines = [settled(cap, "2001")];
    lines.push(payout(lines, "2001"));
    first = await importReport(h, lines);
    assert.equal(first.status, "imported");
  });

  it("the same bytes again are a duplicate of the first file, and nothing is booked twice", async () => {
    const before = await snapshot(h);
    const transfers = await transferCount(h);
    const again = await importReport(h, reportContent(lines));
    assert.equal(again.status, "duplicate");
    assert.equal(again.duplicate_of, first.id);
    assert.notEqual(again.id, first.id);
    assert.deepEqual(await linesOf(h, again.id), []);
    assert.equal(await transferCount(h), transfers);
    assert.deepEqual(changes(before, await snapshot(h)), {});
    assert.deepEqual(await exceptions(h), []);
    await assertLedgerBalanced(h);
  });

  it("another file with a batch already imported is rejected, naming the batch, and books nothing", async () => {
    const other = await capture(h, m, 1_500);
    const transfers = await transferCount(h);
    const repeated = [settled(other, "2001")];
    const file = await importReport(h, repeated);
    assert.equal(file.status, "rejected");
    assert.equal(file.errors.length, 1);
    assert.match(file.errors[0].message, /batch 2001 \(USD\) was already imported from sfile_/);
    assert.deepEqual(await linesOf(h, file.id), []);
    assert.equal(await transferCount(h), transfers);
    assert.deepEqual(await exceptions(h), []);
    // The batches table still has the one batch.
    const batches = await listSettlementBatches(h.db, {}, { limit: 10 });
    assert.equal(batches.data.length, 1);
    assert.equal(batches.data[0].settlement_file, first.id);
    // Its line can still come in a batch of its own.
    const fine = await importReport(h, [settled(other, "2002")]);
    assert.equal(fine.status, "imported");
  });

  it("a parser error rejects the file: only the file row is written, with the parser's errors", async () => {
    const transfers = await transferCount(h);
    const tables = async () => Promise.all(["settlement_batches", "settlement_lines", "reconciliation_exceptions", "bank_statement_entries"].map(async (table) =>
      toSafeNumber((await h.db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n)));
    const before = await tables();
    const file = await importReport(h, JSON.stringify({ errors: [{ line: 3, message: "amount is not a number" }] }));
    assert.equal(file.status, "rejected");
    assert.deepEqual(file.errors, [{ line: 3, message: "amount is not a number" }]);
    const garbled = await importReport(h, "{ not json");
    assert.equal(garbled.status, "rejected");
    assert.equal(garbled.errors[0].line, 0);
    const statement = await importSettlementFile(h.s, { channel: "sandboxbank", filename: "camt.json", content: JSON.stringify({ errors: [{ line: 0, message: "bad XML" }] }), source: "upload" });
    assert.ok(statement.ok);
    assert.equal(statement.file.status, "rejected");
    assert.deepEqual(await tables(), before);
    assert.equal(await transferCount(h), transfers);
    const rows = await h.db.all<{ id: string; status: string }>("SELECT id, status FROM settlement_files WHERE id IN (?, ?, ?)", [file.id, garbled.id, statement.file.id]);
    assert.deepEqual(rows.map((row) => row.status), ["rejected", "rejected", "rejected"]);
    // The same bytes as a rejected file are parsed again (and rejected again), not a duplicate.
    const retry = await importReport(h, JSON.stringify({ errors: [{ line: 3, message: "amount is not a number" }] }));
    assert.equal(retry.status, "rejected");
  });

  it("a line whose net is not its gross less its fees, or a payout that is not its batch's sum, rejects the file", async () => {
    const cap = await capture(h, m, 4_000);
    const transfers = await transferCount(h);
    const bad = settled(cap, "2003");
    const inconsistent = await importReport(h, [{ ...bad, net: bad.net + 7 }]);
    assert.equal(inconsistent.status, "rejected");
    assert.equal(inconsistent.errors[0].line, 2);
    const good = [settled(cap, "2003")];
    const wrongPayout = await importReport(h, [...good, { ...payout(good, "2003"), net: -1 }]);
    assert.equal(wrongPayout.status, "rejected");
    assert.match(wrongPayout.errors.map((error) => error.message).join("; "), /payout/);
    assert.equal(await transferCount(h), transfers);
    assert.deepEqual(await exceptions(h), []);
    // The corrected file imports.
    const fixed = await importReport(h, [...good, payout(good, "2003")]);
    assert.equal(fixed.status, "imported");
  });

  it("an unknown channel and an empty file are refused before anything is stored", async () => {
    const unknown = await importSettlementFile(h.s, { channel: "nochannel", filename: "x", content: "{}", source: "upload" });
    assert.ok(!unknown.ok);
    assert.equal(unknown.failure.code, "unknown_channel");
    const empty = await importSettlementFile(h.s, { channel: "globalpay", filename: "x", content: "  \n", source: "upload" });
    assert.ok(!empty.ok);
    assert.equal(empty.failure.code, "empty_file");
  });

  it("a bank statement imported twice is a duplicate and its entries are stored once", async () => {
    const content = JSON.stringify({ statement_id: "stmt_dup", entries: [credit(123, "SOMETHING", "SOMEONE")] });
    const one = await importSettlementFile(h.s, { channel: "sandboxbank", filename: "camt.json", content, source: "upload" });
    const two = await importSettlementFile(h.s, { channel: "sandboxbank", filename: "camt.json", content, source: "upload" });
    assert.ok(one.ok && two.ok);
    assert.equal(one.file.status, "imported");
    assert.equal(two.file.status, "duplicate");
    assert.equal(two.file.duplicate_of, one.file.id);
    const entries = await h.db.all("SELECT id FROM bank_statement_entries WHERE file_id IN (?, ?)", [one.file.id, two.file.id]);
    assert.equal(entries.length, 1);
    await assertLedgerBalanced(h);
  });
});

// ---- 3. every exception type ----

describe("every exception type, raised once per subject", { concurrency: false }, () => {
  const h = useSettlement();
  let m: string;
  let old: Capture, amount: Capture, currency: Capture, dup: Capture, dupAcross: Capture, fee: Capture, ok: Capture;
  let file1: SettlementFile, file2: SettlementFile;
  let lines1: Line[], lines2: Line[];

  before(async () => {
    m = await merchant(h, "Shop");
    old = await capture(h, m, 4_000, { at_ms: Date.now() - 3 * dayMs });
    amount = await capture(h, m, 10_000);
    currency = await capture(h, m, 8_000);
    dup = await capture(h, m, 6_000);
    dupAcross = await capture(h, m, 7_000);
    fee = await capture(h, m, 10_000);
    ok = await capture(h, m, 3_000);
  });

  it("line exceptions are raised at import: missing_in_corridor, amount_mismatch, currency_mismatch, duplicate_line, fee_mismatch", async () => {
    lines1 = [
      settled(amount, "3001", { gross: 10_500 }),
      settled(currency, "3001", { currency: "EUR", net_currency: "EUR" }),
      settled(dup, "3001"),
      settled(dup, "3001"),
      settled(dupAcross, "3001"),
      settled(fee, "3001", { interchange: 600, scheme_fees: 100, markup: 200, net: 10_000 - 900 }),
      lineOf({ batch_number: "3001", type: "settled", merchant_reference: "att_nothing_of_ours", channel_reference: "gp_unknown", gross: 2_500, ...modelFees(2_500) }),
    ];
    lines1.push(payout(lines1, "3001"), payout(lines1, "3001", "EUR"));
    file1 = await importReport(h, lines1);
    assert.equal(file1.status, "imported");
    lines2 = [settled(dupAcross, "3002"), settled(ok, "3002")];
    file2 = await importReport(h, lines2);
    assert.equal(file2.status, "imported");

    const open = await exceptions(h, { status: "open" });
    const byType = (type: ExceptionType) => open.filter((exception) => exception.type === type);
    assert.equal(open.length, 6, JSON.stringify(open.map((exception) => exception.type)));
    const [amountMismatch] = byType("amount_mismatch");
    assert.equal(amountMismatch.attempt_id, amount.attempt_id);
    assert.equal(amountMismatch.expected_amount, 10_000);
    assert.equal(amountMismatch.reported_amount, 10_500);
    assert.equal(amountMismatch.details.difference, "500");
    assert.equal(amountMismatch.file_id, file1.id);
    assert.equal(amountMismatch.line, 2);
    const [currencyMismatch] = byType("currency_mismatch");
    assert.equal(currencyMismatch.attempt_id, currency.attempt_id);
    assert.deepEqual(currencyMismatch.details, { expected_currency: "USD", reported_currency: "EUR", net_currency: "EUR" });
    const duplicates = byType("duplicate_line");
    assert.deepEqual(duplicates.map((exception) => [exception.file_id, exception.line, exception.details.duplicates]).sort(), [
      [file1.id, 5, `capture:${dup.attempt_id}`],
      [file2.id, 2, `capture:${dupAcross.attempt_id}`],
    ].sort());
    const [feeMismatch] = byType("fee_mismatch");
    assert.equal(feeMismatch.attempt_id, fee.attempt_id);
    assert.equal(feeMismatch.reported_amount, 900);
    // Unknown card: the model's range is from the domestic price (2.9 % + 30) to the foreign one (3.9 % + 30).
    assert.equal(feeMismatch.details.fee_model_min, "320");
    assert.equal(feeMismatch.details.fee_model_max, "420");
    const [missing] = byType("missing_in_corridor");
    assert.equal(missing.reference, "att_nothing_of_ours");
    assert.equal(missing.reported_amount, 2_500);

    const states = await linesOf(h, file1.id);
    assert.deepEqual(states.map((line) => [line.line, line.status, line.match_kind, line.booked]), [
      [2, "exception", "capture", 0],
      [3, "exception", "capture", 0],
      [4, "matched", "capture", 1],
      [5, "exception", null, 0],
      [6, "matched", "capture", 1],
      // A fee mismatch is booked as reported (and is an exception as well).
      [7, "matched", "capture", 1],
      [8, "exception", null, 0],
    ]);
    // Booked: dup (once), dupAcross (file 1), fee, ok; their receivable is cleared, the others' not.
    assert.equal(await debitBalance(h, "globalpay", "channel_receivable"), BigInt(old.amount + amount.amount + currency.amount));
    assert.equal(await creditBalanceOf(h, m, "merchant_available"), BigInt(dup.amount + dupAcross.amount + fee.amount + ok.amount));
    assert.equal((await batchView(h, "3001")).matched_lines, 3);
    await assertLedgerBalanced(h);
  });

  it("the time checks wait for their deadlines, then raise missing_in_report, unmatched_bank_credit and unfunded_batch once", async () => {
    await importStatement(h, [credit(netOf(lines2, "3002"), "GLOBALPAY SETTLEMENT BATCHES 3002"), credit(123, "INTEREST Q3", "SANDBOX BANK")]);
    const count = async () => (await exceptions(h)).length;
    const before = await count();
    // Today: the credit for 3002 funds it; nothing is late yet.
    let summary = await run(h, Date.now());
    assert.equal(summary.funded_batches, 1);
    assert.deepEqual(summary.new_exceptions, {});
    // The capture of three days ago is due in a report by its day + 1 day + 2 days' grace.
    summary = await run(h, todayMs + dayMs - 1);
    assert.deepEqual(summary.new_exceptions, {});
    summary = await run(h, todayMs + dayMs);
    assert.deepEqual(summary.new_exceptions, { missing_in_report: 1 });
    const missing = await openOf(h, "missing_in_report");
    assert.equal(missing.attempt_id, old.attempt_id);
    assert.equal(missing.payment_id, old.payment_id);
    assert.equal(missing.merchant_id, m);
    assert.equal(missing.expected_amount, 4_000);
    // The bank's unexplained credit after its 2 grace days.
    summary = await run(h, todayMs + 3 * dayMs - 1);
    assert.deepEqual(summary.new_exceptions, {});
    summary = await run(h, todayMs + 3 * dayMs);
    assert.deepEqual(summary.new_exceptions, { unmatched_bank_credit: 1 });
    const unmatched = await openOf(h, "unmatched_bank_credit");
    assert.equal(unmatched.reported_amount, 123);
    assert.equal(unmatched.channel, "sandboxbank");
    // Batches unpaid past their payout day + grace (3001 in USD and in EUR; 3002 is funded).
    summary = await run(h, todayMs + 4 * dayMs - 1);
    assert.deepEqual(summary.new_exceptions, {});
    summary = await run(h, todayMs + 4 * dayMs);
    assert.deepEqual(summary.new_exceptions, { unfunded_batch: 2 });
    const unfunded = await exceptions(h, { type: "unfunded_batch" });
    assert.deepEqual(unfunded.map((exception) => [exception.details.batch_number, exception.currency, exception.expected_amount]).sort(), [
      ["3001", "EUR", netOf(lines1, "3001", "EUR")],
      ["3001", "USD", netOf(lines1, "3001")],
    ]);
    assert.equal((await batchView(h, "3001")).status, "unfunded");
    // Funded, but one of its lines (the duplicate) is still an exception.
    assert.equal((await batchView(h, "3002")).status, "funded");
    assert.equal(await count(), before + 4);
    await assertLedgerBalanced(h);
  });

  it("rerunning adds nothing and books nothing", async () => {
    const total = (await exceptions(h)).length;
    const transfers = await transferCount(h);
    const balances = await snapshot(h);
    for (let i = 0; i < 2; i++) {
      const summary = await run(h, todayMs + 30 * dayMs);
      assert.deepEqual(summary.new_exceptions, {});
      assert.equal(summary.funded_batches, 0);
    }
    assert.equal((await exceptions(h)).length, total);
    assert.equal(await transferCount(h), transfers);
    assert.deepEqual(changes(balances, await snapshot(h)), {});
    const types = new Set((await exceptions(h)).map((exception) => exception.type));
    assert.deepEqual([...types].sort(), [
      "amount_mismatch", "currency_mismatch", "duplicate_line", "fee_mismatch", "missing_in_corridor", "missing_in_report", "unfunded_batch", "unmatched_bank_credit",
    ]);
    await assertLedgerBalanced(h);
  });
});

// ---- 4. resolutions ----

describe("resolutions post their transfers and close the exception", { concurrency: false }, () => {
  const h = useSettlement();
  let m: string;
  const c: Record<string, Capture> = {};
  let fileA: SettlementFile;
  let linesA: Line[], linesB: Line[], linesC: Line[];
  let mismatchedCredit: Partial<StatementEntry>;

  before(async () => {
    m = await merchant(h, "Shop");
    for (const [name, amount] of [["up", 10_000], ["down", 10_000], ["cur", 8_000], ["fx", 5_000], ["match", 3_000], ["dup", 6_000], ["dupFx", 2_000], ["fee1", 10_000], ["fee2", 10_000], ["okB", 4_400], ["okC", 5_500]] as const) {
      c[name] = await capture(h, m, amount);
    }
    for (const [name, amount] of [["mirWrite", 4_000], ["mirAccept", 4_100], ["mirLate", 4_200], ["mirThenMatch", 3_300], ["mirAmount", 4_300]] as const) {
      c[name] = await capture(h, m, amount, { at_ms: Date.now() - 3 * dayMs });
    }
    linesA = [
      settled(c.up, "4001", { gross: 10_500 }),
      settled(c.down, "4001", { gross: 9_500 }),
      settled(c.cur, "4001", { currency: "EUR", net_currency: "EUR" }),
      // Converted by the channel: gross in EUR, fees and net in USD.
      settled(c.fx, "4001", { currency: "EUR", gross: 4_600, net_currency: "USD", exchange_rate: "1.0847826", ...modelFees(5_000), net: 4_990 - modelFee(5_000) }),
      lineOf({ batch_number: "4001", type: "settled", merchant_reference: "att_unknown", channel_reference: "gp_unknown", gross: 1_234, ...modelFees(1_234) }),
      settled(c.match, "4001", { merchant_reference: "ord_42", channel_reference: "gp_garbled" }),
      settled(c.dup, "4001"),
      settled(c.dup, "4001"),
      settled(c.dupFx, "4001"),
      settled(c.dupFx, "4001", { currency: "EUR", gross: 1_840, net_currency: "USD", exchange_rate: "1.0869565", ...modelFees(2_000), net: 2_000 - modelFee(2_000) }),
      settled(c.fee1, "4001", { interchange: 700, scheme_fees: 100, markup: 100, net: 9_100 }),
      settled(c.fee2, "4001", { interchange: 10, scheme_fees: 0, markup: 0, net: 9_990 }),
    ];
    fileA = await importReport(h, linesA);
    assert.equal(fileA.status, "imported");
    linesB = [settled(c.okB, "4002")];
    await importReport(h, linesB);
    linesC = [settled(c.okC, "4003")];
    await importReport(h, linesC);
    mismatchedCredit = credit(netOf(linesC, "4003") - 300, "GLOBALPAY SETTLEMENT BATCHES 4003");
    await importStatement(h, [mismatchedCredit, credit(555, "INTEREST", "SANDBOX BANK")]);
    await run(h, Date.now());
    const summary = await run(h, todayMs + 4 * dayMs);
    // Five captures of three days ago in no report, and today's capture whose line names nothing Corridor
    // knows (c.match, until an operator matches it): as of four days on, all are overdue.
    assert.deepEqual(summary.new_exceptions, { missing_in_report: 6, unfunded_batch: 4, unmatched_bank_credit: 1 });
    const open = await exceptions(h, { status: "open" });
    const count = (type: ExceptionType) => open.filter((exception) => exception.type === type).length;
    assert.equal(count("amount_mismatch"), 3, "two lines and one bank credit");
    assert.equal(count("currency_mismatch"), 2);
    assert.equal(count("missing_in_corridor"), 2);
    assert.equal(count("duplicate_line"), 2);
    assert.equal(count("fee_mismatch"), 2);
    await assertLedgerBalanced(h);
  });

  const lineException = (type: ExceptionType, cap: Capture | undefined, reference?: string) =>
    openOf(h, type, (exception) => (cap ? exception.attempt_id === cap.attempt_id : exception.reference === reference));

  it("refuses actions a type does not allow, and unknown exceptions", async () => {
    const cases: [ExceptionType, ResolveInput["action"]][] = [
      ["currency_mismatch", "accept_reported"], ["duplicate_line", "match"], ["unfunded_batch", "accept_reported"],
      ["unmatched_bank_credit", "match"], ["missing_in_report", "match"], ["fee_mismatch", "match"], ["amount_mismatch", "match"],
    ];
    const transfers = await transferCount(h);
    for (const [type, action] of cases) {
      const exception = (await exceptions(h, { status: "open", type }))[0];
      const result = await resolve(h, exception.id, { action });
      assert.ok(!result.ok, `${type} ${action}`);
      assert.equal(result.failure.code, "invalid_action");
      assert.equal(result.failure.param, "action");
    }
    const missing = await resolve(h, "rex_nothing", { action: "write_off" });
    assert.ok(!missing.ok);
    assert.equal(missing.failure.code, "resource_missing");
    assert.equal(await transferCount(h), transfers);
  });

  it("amount_mismatch: accept_reported settles the merchant at the channel's figure; write_off keeps Corridor's and writes the difference off", async () => {
    let before = await snapshot(h);
    const up = linesA[0];
    await resolved(h, await lineException("amount_mismatch", c.up), { action: "accept_reported" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable")]: -10_000n,
      [key("globalpay", "bank_in_transit")]: BigInt(up.net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(up.interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(up.scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(up.markup),
      // The merchant is owed the reported 10 500: the 500 more is credited to pending, then all of it made available.
      [key(m, "merchant_pending")]: 10_000n,
      [key(m, "merchant_available")]: -10_500n,
    });
    before = await snapshot(h);
    const down = linesA[1];
    await resolved(h, await lineException("amount_mismatch", c.down), { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable")]: -10_000n,
      [key("globalpay", "bank_in_transit")]: BigInt(down.net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(down.interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(down.scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(down.markup),
      [key("globalpay", "settlement_write_offs")]: 500n,
      [key(m, "merchant_pending")]: 10_000n,
      [key(m, "merchant_available")]: -10_000n,
    });
    const states = await linesOf(h, fileA.id);
    assert.deepEqual(states.slice(0, 2).map((line) => [line.status, line.booked]), [["resolved", 1], ["resolved", 1]]);
    await assertLedgerBalanced(h);
  });

  it("currency_mismatch write_off: the line booked as reported, Corridor's receivable written off, the merchant keeps its amount (also when the channel converted)", async () => {
    let before = await snapshot(h);
    const cur = linesA[2];
    await resolved(h, await lineException("currency_mismatch", c.cur), { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "bank_in_transit", "EUR")]: BigInt(cur.net),
      [key("globalpay", "channel_fees_interchange", "EUR")]: BigInt(cur.interchange),
      [key("globalpay", "channel_fees_scheme", "EUR")]: BigInt(cur.scheme_fees),
      [key("globalpay", "channel_fees_markup", "EUR")]: BigInt(cur.markup),
      [key("globalpay", "settlement_write_offs", "EUR")]: -BigInt(cur.gross),
      [key("globalpay", "settlement_write_offs")]: 8_000n,
      [key("globalpay", "channel_receivable")]: -8_000n,
      [key(m, "merchant_pending")]: 8_000n,
      [key(m, "merchant_available")]: -8_000n,
    });
    before = await snapshot(h);
    const fx = linesA[3];
    await resolved(h, await lineException("currency_mismatch", c.fx), { action: "write_off" });
    const fxFees = fx.interchange + fx.scheme_fees + fx.markup;
    // What the channel reported is in USD (net + fees, the gross converted): booked as reported and
    // written off; Corridor's USD receivable written off; on the receivable the two cancel out.
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "bank_in_transit")]: BigInt(fx.net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(fx.interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(fx.scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(fx.markup),
      [key("globalpay", "settlement_write_offs")]: 5_000n - BigInt(fx.net + fxFees),
      [key("globalpay", "channel_receivable")]: -5_000n,
      [key(m, "merchant_pending")]: 5_000n,
      [key(m, "merchant_available")]: -5_000n,
    });
    await assertLedgerBalanced(h);
  });

  it("missing_in_corridor: write_off books what the channel paid against write-offs; match books it as the payment's capture", async () => {
    let before = await snapshot(h);
    const unknown = linesA[4];
    await resolved(h, await lineException("missing_in_corridor", undefined, "att_unknown"), { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "bank_in_transit")]: BigInt(unknown.net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(unknown.interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(unknown.scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(unknown.markup),
      [key("globalpay", "settlement_write_offs")]: -BigInt(unknown.gross),
    });

    const exception = await lineException("missing_in_corridor", undefined, "ord_42");
    const transfers = await transferCount(h);
    const noPayment = await resolve(h, exception.id, { action: "match" });
    assert.ok(!noPayment.ok);
    assert.equal(noPayment.failure.code, "parameter_missing");
    const taken = await resolve(h, exception.id, { action: "match", payment: c.dup.payment_id });
    assert.ok(!taken.ok);
    assert.equal(taken.failure.code, "payment_not_matchable");
    assert.match(taken.failure.message, /already settled/);
    // A capture of another amount (reported missing, not settled by any line).
    const disagrees = await resolve(h, exception.id, { action: "match", payment: c.mirWrite.payment_id });
    assert.ok(!disagrees.ok);
    assert.equal(disagrees.failure.code, "payment_not_matchable");
    assert.match(disagrees.failure.message, /does not agree/);
    assert.equal(await transferCount(h), transfers);

    before = await snapshot(h);
    const line = linesA[5];
    await resolved(h, exception, { action: "match", payment: c.match.payment_id });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable")]: -3_000n,
      [key("globalpay", "bank_in_transit")]: BigInt(line.net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(line.interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(line.scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(line.markup),
      [key(m, "merchant_pending")]: 3_000n,
      [key(m, "merchant_available")]: -3_000n,
    });
    const state = (await linesOf(h, fileA.id)).find((row) => row.line === 7)!;
    assert.deepEqual([state.status, state.match_kind, state.match_id], ["resolved", "capture", c.match.attempt_id]);
    await assertLedgerBalanced(h);
  });

  it("duplicate_line write_off: the second payment is booked and written off (also a converted one)", async () => {
    let before = await snapshot(h);
    const second = linesA[7];
    await resolved(h, await lineException("duplicate_line", c.dup), { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "bank_in_transit")]: BigInt(second.net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(second.interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(second.scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(second.markup),
      [key("globalpay", "settlement_write_offs")]: -BigInt(second.gross),
    });
    before = await snapshot(h);
    const converted = linesA[9];
    await resolved(h, await lineException("duplicate_line", c.dupFx), { action: "write_off" });
    const fees = converted.interchange + converted.scheme_fees + converted.markup;
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "bank_in_transit")]: BigInt(converted.net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(converted.interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(converted.scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(converted.markup),
      [key("globalpay", "settlement_write_offs")]: -BigInt(converted.net + fees),
    });
    await assertLedgerBalanced(h);
  });

  it("fee_mismatch: accept_reported and write_off close it without booking (the fees were booked as reported)", async () => {
    const transfers = await transferCount(h);
    await resolved(h, await lineException("fee_mismatch", c.fee1), { action: "accept_reported" });
    await resolved(h, await lineException("fee_mismatch", c.fee2), { action: "write_off" });
    assert.equal(await transferCount(h), transfers);
  });

  it("missing_in_report: write_off settles the merchant at the platform's cost; accept_reported reverses the merchant's funds", async () => {
    let before = await snapshot(h);
    await resolved(h, await lineException("missing_in_report", c.mirWrite), { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable")]: -4_000n,
      [key("globalpay", "settlement_write_offs")]: 4_000n,
      [key(m, "merchant_pending")]: 4_000n,
      [key(m, "merchant_available")]: -4_000n,
    });
    before = await snapshot(h);
    await resolved(h, await lineException("missing_in_report", c.mirAccept), { action: "accept_reported" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable")]: -4_100n,
      [key(m, "merchant_pending")]: 4_100n,
    });
    await assertLedgerBalanced(h);
  });

  it("a late line for a capture an operator already wrote off is a duplicate, not a second settlement", async () => {
    const before = await snapshot(h);
    const late = [settled(c.mirWrite, "4005")];
    const file = await importReport(h, late);
    assert.equal(file.status, "imported");
    assert.deepEqual((await linesOf(h, file.id)).map((line) => [line.status, line.booked]), [["exception", 0]]);
    const duplicate = await openOf(h, "duplicate_line", (exception) => exception.file_id === file.id);
    assert.equal(duplicate.attempt_id, c.mirWrite.attempt_id);
    assert.deepEqual(changes(before, await snapshot(h)), {});
    // Its write-off books what the channel paid against the earlier write-off.
    await resolved(h, duplicate, { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "bank_in_transit")]: BigInt(late[0].net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(late[0].interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(late[0].scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(late[0].markup),
      [key("globalpay", "settlement_write_offs")]: -4_000n,
    });
    await assertLedgerBalanced(h);
  });

  it("matching a line to a capture reported missing closes the missing_in_report", async () => {
    const missing = await lineException("missing_in_report", c.mirThenMatch);
    const file = await importReport(h, [settled(c.mirThenMatch, "4006", { merchant_reference: null, channel_reference: "gp_garbled_too" })]);
    const exception = await openOf(h, "missing_in_corridor", (row) => row.file_id === file.id);
    await resolved(h, exception, { action: "match", payment: c.mirThenMatch.payment_id });
    const closed = (await exceptions(h, { type: "missing_in_report" })).find((row) => row.id === missing.id)!;
    assert.equal(closed.status, "resolved");
    assert.equal(closed.resolution?.action, "matched_late");
    const again = await resolve(h, missing.id, { action: "write_off" });
    assert.ok(!again.ok);
    assert.equal(again.failure.code, "exception_already_resolved");
    await assertLedgerBalanced(h);
  });

  it("a late line that is an exception itself closes the missing_in_report too: the capture is booked once, by that line's resolution", async () => {
    const missing = await lineException("missing_in_report", c.mirAmount);
    const file = await importReport(h, [settled(c.mirAmount, "4007", { gross: 4_800 })]);
    const closed = (await exceptions(h, { type: "missing_in_report" })).find((row) => row.id === missing.id)!;
    assert.equal(closed.status, "resolved");
    assert.deepEqual(closed.resolution, { action: "matched_late", settlement_file: file.id, by: "reconciliation" });
    const again = await resolve(h, missing.id, { action: "write_off" });
    assert.ok(!again.ok);
    assert.equal(again.failure.code, "exception_already_resolved");
    const before = await snapshot(h);
    await resolved(h, await lineException("amount_mismatch", c.mirAmount), { action: "write_off" });
    const change = changes(before, await snapshot(h));
    assert.equal(change[key("globalpay", "channel_receivable")], -4_300n);
    assert.equal(change[key("globalpay", "settlement_write_offs")], -500n);
    assert.equal(change[key(m, "merchant_available")], -4_300n);
    await assertLedgerBalanced(h);
  });

  it("a late file that brings a missing capture closes its missing_in_report (matched_late)", async () => {
    const missing = await lineException("missing_in_report", c.mirLate);
    const before = await snapshot(h);
    const late = [settled(c.mirLate, "4004")];
    const file = await importReport(h, late);
    const closed = (await exceptions(h, { type: "missing_in_report" })).find((row) => row.id === missing.id)!;
    assert.equal(closed.status, "resolved");
    assert.deepEqual(closed.resolution, { action: "matched_late", settlement_file: file.id, by: "reconciliation" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable")]: -4_200n,
      [key("globalpay", "bank_in_transit")]: BigInt(late[0].net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(late[0].interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(late[0].scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(late[0].markup),
      [key(m, "merchant_pending")]: 4_200n,
      [key(m, "merchant_available")]: -4_200n,
    });
    await assertLedgerBalanced(h);
  });

  it("unfunded_batch: write_off takes the batch's net out of transit; a late credit closes another (funded_late)", async () => {
    const unfundedA = await openOf(h, "unfunded_batch", (exception) => exception.details.batch_number === "4001" && exception.currency === "USD");
    let before = await snapshot(h);
    await resolved(h, unfundedA, { action: "write_off" });
    const net = BigInt(unfundedA.expected_amount!);
    assert.equal(net, BigInt(netOf(linesA, "4001")));
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "bank_in_transit")]: -net,
      [key("globalpay", "settlement_write_offs")]: net,
    });
    assert.equal((await batchView(h, "4001")).funded_by, unfundedA.id);

    const unfundedB = await openOf(h, "unfunded_batch", (exception) => exception.details.batch_number === "4002");
    await importStatement(h, [credit(netOf(linesB, "4002"), "GLOBALPAY SETTLEMENT BATCHES 4002")]);
    before = await snapshot(h);
    // Funding does not wait for deadlines (as of tomorrow: no other check is due).
    const summary = await run(h, todayMs + dayMs);
    assert.equal(summary.funded_batches, 1);
    assert.equal(summary.closed_exceptions, 1);
    const closed = (await exceptions(h, { type: "unfunded_batch" })).find((row) => row.id === unfundedB.id)!;
    assert.equal(closed.status, "resolved");
    assert.equal(closed.resolution?.action, "funded_late");
    assert.equal(closed.resolution?.by, "reconciliation");
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("platform", "platform_bank")]: BigInt(netOf(linesB, "4002")),
      [key("globalpay", "bank_in_transit")]: -BigInt(netOf(linesB, "4002")),
    });
    assert.equal((await batchView(h, "4002")).status, "reconciled");
    await assertLedgerBalanced(h);
  });

  it("amount_mismatch on a bank credit: write_off funds the batches it names and writes the difference off; their unfunded_batch closes", async () => {
    const exception = await openOf(h, "amount_mismatch", (row) => row.entry_id !== null);
    assert.equal(exception.expected_amount, netOf(linesC, "4003"));
    assert.equal(exception.reported_amount, netOf(linesC, "4003") - 300);
    // The credit is explained by its amount_mismatch: it is no unmatched_bank_credit as well.
    const unmatched = await exceptions(h, { type: "unmatched_bank_credit" });
    assert.equal(unmatched.length, 1);
    assert.equal(unmatched[0].reported_amount, 555);
    const before = await snapshot(h);
    await resolved(h, exception, { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("platform", "platform_bank")]: BigInt(netOf(linesC, "4003") - 300),
      [key("globalpay", "bank_in_transit")]: -BigInt(netOf(linesC, "4003")),
      [key("globalpay", "settlement_write_offs")]: 300n,
    });
    const batch = await batchView(h, "4003");
    assert.equal(batch.status, "reconciled");
    const unfunded = (await exceptions(h, { type: "unfunded_batch" })).find((row) => row.details.batch_number === "4003")!;
    assert.equal(unfunded.status, "resolved");
    assert.equal(unfunded.resolution?.action, "funded_late");
    await assertLedgerBalanced(h);
  });

  it("unmatched_bank_credit write_off: the money is in the bank, against write-offs", async () => {
    const exception = await openOf(h, "unmatched_bank_credit");
    const before = await snapshot(h);
    await resolved(h, exception, { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("platform", "platform_bank")]: 555n,
      [key("sandboxbank", "settlement_write_offs")]: -555n,
    });
    const entry = await h.db.get<{ status: string }>("SELECT status FROM bank_statement_entries WHERE id = ?", [exception.entry_id]);
    assert.equal(entry?.status, "resolved");
  });

  it("leaves only the EUR batch's unfunded_batch open, and everything nets out on the ledger", async () => {
    const open = await exceptions(h, { status: "open" });
    assert.deepEqual(open.map((exception) => [exception.type, exception.currency]), [["unfunded_batch", "EUR"]]);
    await resolved(h, open[0], { action: "write_off" });
    assert.equal(await debitBalance(h, "globalpay", "channel_receivable"), 0n);
    assert.equal(await debitBalance(h, "globalpay", "channel_receivable", "EUR"), 0n);
    assert.equal(await creditBalanceOf(h, m, "merchant_pending"), 0n);
    await assertLedgerBalanced(h);
  });
});

// ---- 5. concurrency ----

describe("concurrent imports", { concurrency: false }, () => {
  const h = useSettlement();
  let m: string;
  before(async () => {
    m = await merchant(h, "Shop");
  });

  it("the same report twice at once: exactly one imported, one duplicate, booked once", async () => {
    for (let round = 0; round < 3; round++) {
      const cap = await capture(h, m, 5_000 + round);
      const lines = [settled(cap, `500${round}`)];
      lines.push(payout(lines, `500${round}`));
      const content = reportContent(lines);
      const results = await Promise.all([0, 1].map(() => importSettlementFile(h.s, { channel: "globalpay", filename: "same.json", content, source: "upload" })));
      const files = results.map((result) => {
        assert.ok(result.ok, JSON.stringify(result));
        return result.file;
      });
      assert.deepEqual(files.map((file) => file.status).sort(), ["duplicate", "imported"], JSON.stringify(files));
      const imported = files.find((file) => file.status === "imported")!;
      assert.equal(files.find((file) => file.status === "duplicate")!.duplicate_of, imported.id);
      assert.equal((await linesOf(h, imported.id)).length, 1);
    }
    assert.equal(await debitBalance(h, "globalpay", "channel_receivable"), 0n);
    assert.equal(await creditBalanceOf(h, m, "merchant_available"), 15_003n);
    await assertLedgerBalanced(h);
  });

  it("the same statement twice at once: one imported, one duplicate, its credit funds once", async () => {
    const cap = await capture(h, m, 2_000);
    const lines = [settled(cap, "5100")];
    await importReport(h, lines);
    const before = await snapshot(h);
    const content = JSON.stringify({ statement_id: "stmt_race", entries: [credit(netOf(lines, "5100"), "GLOBALPAY SETTLEMENT BATCHES 5100")] });
    const results = await Promise.all([0, 1].map(() => importSettlementFile(h.s, { channel: "sandboxbank", filename: "camt.json", content, source: "upload" })));
    assert.deepEqual(results.map((result) => (result.ok ? result.file.status : result.failure.code)).sort(), ["duplicate", "imported"]);
    const runs = await Promise.all([run(h, Date.now()), run(h, Date.now())]);
    assert.equal(runs[0].funded_batches + runs[1].funded_batches, 1);
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("platform", "platform_bank")]: BigInt(netOf(lines, "5100")),
      [key("globalpay", "bank_in_transit")]: -BigInt(netOf(lines, "5100")),
    });
    await assertLedgerBalanced(h);
  });

  it("two different files bringing the same batch at once: one imported, the other rejected", async () => {
    const one = await capture(h, m, 1_111);
    const two = await capture(h, m, 2_222);
    const results = await Promise.all([one, two].map((cap) =>
      importSettlementFile(h.s, { channel: "globalpay", filename: "race.json", content: reportContent([settled(cap, "5200")]), source: "upload" })));
    assert.deepEqual(results.map((result) => (result.ok ? result.file.status : result.failure.code)).sort(), ["imported", "rejected"]);
    await assertLedgerBalanced(h);
  });
});

// ---- 6. refunds no report carries ----

describe("refunds no report carries: missing_in_report past their settlement day and grace, closed by a later line or resolved", { concurrency: false }, () => {
  const h = useSettlement();
  let m: string;
  const c: Record<string, Capture> = {};
  const r: Record<string, string> = {};
  const amounts = { late: 2_000, write: 1_500, accept: 1_200, superseded: 500, reported: 1_000 } as const;
  // globalpay: a refund of today is due in a report by its day + 1 day + 2 days' grace.
  const dueMs = todayMs + 4 * dayMs;

  /** A refund the channel declined: its reservation voided, nothing for a report to carry. */
  async function failedRefund(cap: Capture, amount: number): Promise<string> {
    const refund_id = newId("re");
    await h.db.transaction(async (tx) => {
      const pending_id = await pendRefund(tx, refund_id, { merchant_id: cap.merchant_id, channel: "globalpay", currency: cap.currency, amount });
      const now = Date.now();
      await tx.run(
        `INSERT INTO refunds (id, payment_id, merchant_id, attempt_id, amount, currency, status, ledger_pending_id, metadata, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, 'failed', ?, '{}', ?, ?)`,
        [refund_id, cap.payment_id, cap.merchant_id, cap.attempt_id, amount, cap.currency, pending_id, now, now]);
      await settleRefund(tx, pending_id, refund_id, false);
    });
    return refund_id;
  }

  const refundException = async (refund_id: string) => {
    const found = (await exceptions(h, { type: "missing_in_report" })).filter((exception) => exception.reference === refund_id);
    assert.equal(found.length, 1, `one missing_in_report for ${refund_id}: ${JSON.stringify(found)}`);
    return found[0];
  };

  /** What booking a refund's line does: the receivable gets the refund back, the merchant bears it. */
  const refundLineBooked = (amount: number) => ({
    [key("globalpay", "channel_receivable")]: BigInt(amount),
    [key("globalpay", "bank_in_transit")]: -BigInt(amount),
    [key(m, "merchant_pending")]: -BigInt(amount),
    [key(m, "merchant_available")]: BigInt(amount),
  });

  before(async () => {
    m = await merchant(h, "Refunding shop");
    for (const [name, amount] of [["late", 10_000], ["write", 8_000], ["accept", 6_000], ["superseded", 5_000], ["reported", 4_000]] as const) {
      c[name] = await capture(h, m, amount);
      r[name] = await refund(h, c[name], amounts[name]);
    }
    r.failed = await failedRefund(c.late, 700);
    // The captures and one of the refunds are reported today; the other refunds are not.
    const lines = [...Object.values(c).map((cap) => settled(cap, "6001")), refunded(r.reported, amounts.reported, "6001")];
    lines.push(payout(lines, "6001"));
    await importReport(h, lines);
    await importStatement(h, [credit(netOf(lines, "6001"), "GLOBALPAY SETTLEMENT BATCHES 6001")]);
    assert.equal((await run(h, Date.now())).funded_batches, 1);
    assert.deepEqual(await exceptions(h), []);
  });

  it("raises nothing before the refunds' settlement day and grace have passed", async () => {
    assert.deepEqual((await run(h, Date.now())).new_exceptions, {});
    assert.deepEqual((await run(h, dueMs - 1)).new_exceptions, {});
    assert.deepEqual(await exceptions(h), []);
  });

  it("then one missing_in_report per succeeded refund no line carries, negative, with its payment and merchant; a rerun adds nothing", async () => {
    const summary = await run(h, dueMs);
    assert.deepEqual(summary.new_exceptions, { missing_in_report: 4 });
    const open = await exceptions(h, { status: "open", type: "missing_in_report" });
    assert.deepEqual(open.map((exception) => exception.reference).sort(), [r.late, r.write, r.accept, r.superseded].sort());
    const late = await refundException(r.late);
    assert.equal(late.subject, `missing_in_report:${r.late}`);
    assert.equal(late.channel, "globalpay");
    assert.equal(late.expected_amount, -amounts.late);
    assert.equal(late.currency, "USD");
    assert.equal(late.payment_id, c.late.payment_id);
    assert.equal(late.merchant_id, m);
    assert.equal(late.attempt_id, null, "the exception is about the refund, not a missing capture");
    assert.equal(late.details.kind, "refund");
    assert.equal(late.details.attempt, c.late.attempt_id);
    const transfers = await transferCount(h);
    for (const as_of of [dueMs, dueMs + 30 * dayMs]) assert.deepEqual((await run(h, as_of)).new_exceptions, {});
    assert.equal((await exceptions(h)).length, 4);
    assert.equal(await transferCount(h), transfers);
    await assertLedgerBalanced(h);
  });

  it("a later report that carries the refund: its line is booked, resolving is refused, and the next run closes the exception (matched_late)", async () => {
    const missing = await refundException(r.late);
    const before = await snapshot(h);
    const file = await importReport(h, [refunded(r.late, amounts.late, "6002")]);
    assert.deepEqual((await linesOf(h, file.id)).map((line) => [line.status, line.match_kind, line.match_id]), [["matched", "refund", r.late]]);
    const refused = await resolve(h, missing.id, { action: "write_off" });
    assert.ok(!refused.ok);
    assert.equal(refused.failure.code, "exception_not_resolvable");
    const summary = await run(h, dueMs);
    assert.equal(summary.closed_exceptions, 1);
    assert.deepEqual(summary.new_exceptions, {});
    const closed = await refundException(r.late);
    assert.equal(closed.status, "resolved");
    assert.deepEqual(closed.resolution, { action: "matched_late", settlement_file: file.id, by: "reconciliation" });
    // Booked once, by the line.
    assert.deepEqual(changes(before, await snapshot(h)), refundLineBooked(amounts.late));
    assert.equal((await run(h, dueMs)).closed_exceptions, 0);
    await assertLedgerBalanced(h);
  });

  it("write_off: the merchant bears the refund and the receivable the channel never took back is written off", async () => {
    const exception = await refundException(r.write);
    const wrong = await resolve(h, exception.id, { action: "match", payment: c.write.payment_id });
    assert.ok(!wrong.ok);
    assert.equal(wrong.failure.code, "invalid_action");
    const before = await snapshot(h);
    await resolved(h, exception, { action: "write_off" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable")]: BigInt(amounts.write),
      [key("globalpay", "settlement_write_offs")]: -BigInt(amounts.write),
      [key(m, "merchant_pending")]: -BigInt(amounts.write),
      [key(m, "merchant_available")]: BigInt(amounts.write),
    });
    await assertLedgerBalanced(h);
  });

  it("accept_reported: the channel never took it back, so the refund's amount returns to the merchant's pending funds", async () => {
    const before = await snapshot(h);
    await resolved(h, await refundException(r.accept), { action: "accept_reported" });
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable")]: BigInt(amounts.accept),
      [key(m, "merchant_pending")]: BigInt(-amounts.accept),
    });
    await assertLedgerBalanced(h);
  });

  it("a line that carries a refund an operator already resolved: the next run posts the resolution back, so the refund is booked once", async () => {
    const exception = await refundException(r.superseded);
    const before = await snapshot(h);
    await resolved(h, exception, { action: "write_off" });
    const file = await importReport(h, [refunded(r.superseded, amounts.superseded, "6003")]);
    await run(h, dueMs);
    assert.deepEqual(changes(before, await snapshot(h)), refundLineBooked(amounts.superseded));
    const stored = await refundException(r.superseded);
    assert.equal(stored.status, "resolved");
    assert.equal(stored.resolution?.action, "write_off");
    const superseded = stored.resolution?.superseded as Record<string, unknown>;
    assert.equal(superseded.settlement_file, file.id);
    assert.equal(superseded.by, "reconciliation");
    assert.equal(superseded.reversed_transfers, 2);
    const transfers = await transferCount(h);
    await run(h, dueMs);
    assert.equal(await transferCount(h), transfers, "a rerun posts nothing back twice");
    await assertLedgerBalanced(h);
  });

  it("leaves nothing open and the channel receivable cleared", async () => {
    assert.deepEqual(await exceptions(h, { status: "open" }), []);
    assert.equal(await debitBalance(h, "globalpay", "channel_receivable"), 0n);
    await assertLedgerBalanced(h);
  });
});

describe("converted lines: a EUR capture settled in USD at the line's exchange rate", { concurrency: false }, () => {
  const h = useSettlement();
  let m: string;
  let converted: Capture, rounded: Capture, refundedCapture: Capture, offRate: Capture, otherGross: Capture, plain: Capture;
  let refundId: string;
  let lines: Line[];
  let file: SettlementFile;
  const rate = "1.0870";
  /** EUR cents at 1.0870 USD per EUR, half-even, in US cents. */
  const toUsd = (eur: number) => Number(divideHalfEven(BigInt(eur) * 10_870n, 10_000n));

  /** A settled line of a EUR capture, paid in USD: fees in USD, net the converted gross less them (+ `net_off`). */
  function convertedLine(cap: Capture, batch_number: string, net_off = 0, extra: Partial<Line> = {}): Line {
    const fees = modelFees(toUsd(cap.amount));
    const net = toUsd(cap.amount) - fees.interchange - fees.scheme_fees - fees.markup + net_off;
    return settled(cap, batch_number, { net_currency: "USD", exchange_rate: rate, ...fees, net, ...extra });
  }

  before(async () => {
    m = await merchant(h, "Euro shop");
    converted = await capture(h, m, 10_000, { currency: "EUR" });
    rounded = await capture(h, m, 3_333, { currency: "EUR" });
    refundedCapture = await capture(h, m, 6_000, { currency: "EUR" });
    offRate = await capture(h, m, 5_000, { currency: "EUR" });
    otherGross = await capture(h, m, 4_000, { currency: "EUR" });
    plain = await capture(h, m, 2_500);
    refundId = await refund(h, refundedCapture, 2_000);
    lines = [
      convertedLine(converted, "7001"),
      // 3 333 × 1.087 = 3 622.971: a net one cent off the exact conversion is within the tolerance.
      convertedLine(rounded, "7001", 1),
      convertedLine(refundedCapture, "7001"),
      lineOf({ batch_number: "7001", type: "refunded", merchant_reference: refundId, channel_reference: `gp_rf_${refundId}`, currency: "EUR", gross: -2_000,
        net_currency: "USD", exchange_rate: rate, net: -toUsd(2_000) }),
      // 50 cents more than the rate gives: an amount mismatch naming the rate.
      convertedLine(offRate, "7001", 50),
      // Gross in GBP for a EUR payment: still a currency mismatch, converted or not.
      convertedLine(otherGross, "7001", 0, { currency: "GBP" }),
      settled(plain, "7001"),
    ];
    lines.push(payout(lines, "7001", "USD"));
  });

  it("matches a converted line whose net is its gross at the rate less its fees; a net off the rate is an amount_mismatch, another gross currency a currency_mismatch", async () => {
    file = await importReport(h, lines);
    assert.equal(file.status, "imported", JSON.stringify(file.errors));
    const states = await linesOf(h, file.id);
    assert.deepEqual(states.map((line) => [line.line, line.status, line.match_kind, line.booked]), [
      [2, "matched", "capture", 1],
      [3, "matched", "capture", 1],
      [4, "matched", "capture", 1],
      [5, "matched", "refund", 1],
      [6, "exception", "capture", 0],
      [7, "exception", "capture", 0],
      [8, "matched", "capture", 1],
    ]);
    const open = await exceptions(h, { status: "open" });
    assert.deepEqual(open.map((exception) => exception.type).sort(), ["amount_mismatch", "currency_mismatch"]);
    const mismatch = await openOf(h, "amount_mismatch");
    assert.equal(mismatch.attempt_id, offRate.attempt_id);
    assert.equal(mismatch.expected_amount, 5_000);
    assert.equal(mismatch.reported_amount, 5_000);
    const fees = modelFee(toUsd(5_000));
    assert.deepEqual(mismatch.details, {
      line_type: "settled", exchange_rate: rate, net_currency: "USD", converted_gross: String(toUsd(5_000)),
      expected_net: String(toUsd(5_000) - fees), reported_net: String(toUsd(5_000) - fees + 50), net_difference: "50",
      tolerance_minor: defaultTerms.globalpay.amount_tolerance_minor + defaultTerms.globalpay.fx_rounding_minor,
    });
    const currencyMismatch = await openOf(h, "currency_mismatch");
    assert.equal(currencyMismatch.attempt_id, otherGross.attempt_id);
    assert.deepEqual(currencyMismatch.details, { expected_currency: "EUR", reported_currency: "GBP", net_currency: "USD", exchange_rate: rate });
    await assertLedgerBalanced(h);
  });

  it("books the gross out of the EUR receivable into the FX account, the net and fees out of the USD one; the merchant is settled in EUR", async () => {
    const matchedConverted = [lines[0], lines[1], lines[2], lines[3]];
    const sum = (of: readonly Line[], pick: (line: Line) => number) => BigInt(of.reduce((total, line) => total + pick(line), 0));
    // Left on the EUR receivable: only the two exception lines' captures.
    assert.equal(await debitBalance(h, "globalpay", "channel_receivable", "EUR"), BigInt(offRate.amount + otherGross.amount));
    assert.equal(await debitBalance(h, "globalpay", "channel_receivable"), 0n);
    // In EUR the FX account took the converted gross; in USD it paid out the nets and the fees.
    assert.equal(await debitBalance(h, "globalpay", "fx_conversion", "EUR"), sum(matchedConverted, (line) => line.gross));
    assert.equal(await debitBalance(h, "globalpay", "fx_conversion"),
      -sum(matchedConverted, (line) => line.net + line.interchange + line.scheme_fees + line.markup + line.commission));
    assert.equal(await debitBalance(h, "globalpay", "bank_in_transit"), sum([...matchedConverted, lines[6]], (line) => line.net));
    assert.equal(await debitBalance(h, "globalpay", "bank_in_transit", "EUR"), 0n);
    assert.equal(await debitBalance(h, "globalpay", "channel_fees_interchange"), sum([...matchedConverted, lines[6]], (line) => line.interchange));
    assert.equal(await debitBalance(h, "globalpay", "channel_fees_markup", "EUR"), 0n);
    // The merchant side stays in the payment's currency, at Corridor's amounts.
    assert.equal(await creditBalanceOf(h, m, "merchant_available", "EUR"), BigInt(converted.amount + rounded.amount + refundedCapture.amount - 2_000));
    assert.equal(await creditBalanceOf(h, m, "merchant_pending", "EUR"), BigInt(offRate.amount + otherGross.amount));
    assert.equal(await creditBalanceOf(h, m, "merchant_available"), BigInt(plain.amount));
    // The batch is in USD: its gross counts the converted lines as the channel converted them.
    const batch = await batchView(h, "7001");
    assert.equal(batch.net, netOf(lines, "7001"));
    assert.equal(batch.gross, batch.net + batch.fees.total);
    assert.equal(batch.matched_lines, 5);
    // Each line keeps the rate it was converted at.
    const rates = await h.db.all<{ exchange_rate: string }>("SELECT DISTINCT exchange_rate FROM settlement_lines WHERE file_id = ? ORDER BY exchange_rate", [file.id]);
    assert.deepEqual(rates.map((row) => row.exchange_rate), ["1", rate]);
    // Margins leave the converted lines out (fees in USD, merchant fees in EUR): only the plain capture counts.
    const margins = await channelMargins(h.db, { channel: "globalpay" });
    assert.deepEqual(margins.map((margin) => [margin.currency, margin.lines, margin.settled_gross]), [["usd", 1, plain.amount]]);
    await assertLedgerBalanced(h);
  });

  it("passes a converted line's interchange and scheme fees through (IC++) in the payment's currency, at the line's rate", () => {
    const line = lines[0];
    assert.deepEqual(passThroughFees({ ...line, line: 2 }), {
      interchange: divideHalfEven(BigInt(line.interchange) * 10_000n, 10_870n),
      scheme_fees: divideHalfEven(BigInt(line.scheme_fees) * 10_000n, 10_870n),
    });
    assert.deepEqual(passThroughFees({ ...lines[6], line: 8 }), { interchange: BigInt(lines[6].interchange), scheme_fees: BigInt(lines[6].scheme_fees) });
  });

  it("the bank credit in USD funds the batch", async () => {
    await importStatement(h, [credit(netOf(lines, "7001"), "GLOBALPAY SETTLEMENT BATCHES 7001")]);
    const summary = await run(h, Date.now());
    assert.equal(summary.funded_batches, 1);
    // The credit clears the whole batch; what stays out of transit are the two exception lines' nets, until resolved.
    assert.equal(await debitBalance(h, "globalpay", "bank_in_transit"), -BigInt(lines[4].net + lines[5].net));
    assert.equal(await debitBalance(h, "platform", "platform_bank"), BigInt(netOf(lines, "7001")));
    assert.equal((await batchView(h, "7001")).status, "funded");
    await assertLedgerBalanced(h);
  });

  it("accepting the amount mismatch books the converted line as reported through the FX accounts", async () => {
    const before = await snapshot(h);
    await resolved(h, await openOf(h, "amount_mismatch"), { action: "accept_reported" });
    const line = lines[4];
    assert.deepEqual(changes(before, await snapshot(h)), {
      [key("globalpay", "channel_receivable", "EUR")]: -5_000n,
      [key("globalpay", "fx_conversion", "EUR")]: 5_000n,
      [key("globalpay", "fx_conversion")]: -BigInt(line.net + line.interchange + line.scheme_fees + line.markup),
      [key("globalpay", "bank_in_transit")]: BigInt(line.net),
      [key("globalpay", "channel_fees_interchange")]: BigInt(line.interchange),
      [key("globalpay", "channel_fees_scheme")]: BigInt(line.scheme_fees),
      [key("globalpay", "channel_fees_markup")]: BigInt(line.markup),
      [key(m, "merchant_pending", "EUR")]: 5_000n,
      [key(m, "merchant_available", "EUR")]: -5_000n,
    });
    await assertLedgerBalanced(h);
  });
});
