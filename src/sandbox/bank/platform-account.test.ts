// The platform account at the sandbox bank over real HTTP: channels' settlement credits (idempotent by
// their reference), injected entries, and the day's camt.053 statement listed, fetched and parsed
// through Corridor's connector — balances carried from day to day, a growing day under new ids.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHttpTransport } from "../../channels/transport.ts";
import { createSandboxBankStatementSource, parseCamt053, statementFilename, type ParsedCamt053Statement } from "../../channels/sandboxbank/statements.ts";
import { PLATFORM_ACCOUNT, startSandboxBank, type RunningSandboxBank } from "./index.ts";
import type { SettlementSource } from "../../settlement/report.ts";

async function call(bank: RunningSandboxBank, method: string, path: string, body?: unknown) {
  const response = await fetch(`${bank.url}${path}`, {
    method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, type: response.headers.get("content-type") };
}

const credit = (extra: Record<string, unknown> = {}) => ({
  reference: "GLOBALPAY-STL-1042", debtor: "globalpay", amount: 123456, currency: "EUR", remittance: "GLOBALPAY SETTLEMENT BATCHES 1042,1043", ...extra,
});

async function fetchParsed(source: SettlementSource, id: string): Promise<{ content: string; statement: ParsedCamt053Statement }> {
  const file = await source.fetchFile(id);
  assert.ok(!("unreachable" in file), JSON.stringify(file));
  const parsed = parseCamt053(file.content);
  assert.ok(parsed.ok, parsed.ok ? "" : JSON.stringify(parsed.errors));
  return { content: file.content, statement: parsed };
}

async function listIds(source: SettlementSource, limit = 10): Promise<string[]> {
  const files = await source.listFiles(limit);
  assert.ok(Array.isArray(files), JSON.stringify(files));
  return files.map((file) => file.id);
}

describe("sandbox bank platform account and camt.053 statements", () => {
  let bank: RunningSandboxBank;
  let transport: ReturnType<typeof createHttpTransport>;
  let source: SettlementSource;
  let today: string;

  before(async () => {
    bank = await startSandboxBank({ port: 0 });
    transport = createHttpTransport(bank.url);
    source = createSandboxBankStatementSource({ transport, timeout_ms: 5_000 });
    today = (await call(bank, "GET", "/_sandbox/clock")).json.now.slice(0, 10);
  });
  after(async () => {
    await transport.close();
    await bank.close();
  });

  it("refuses bad input with 400 and books nothing", async () => {
    const bad: [string, unknown][] = [
      ["/_sandbox/settlement_credits", "not json"],
      ["/_sandbox/settlement_credits", [credit()]],
      ["/_sandbox/settlement_credits", credit({ reference: undefined })],
      ["/_sandbox/settlement_credits", credit({ reference: "" })],
      ["/_sandbox/settlement_credits", credit({ reference: "R".repeat(36) })],
      ["/_sandbox/settlement_credits", credit({ reference: "line\nbreak" })],
      ["/_sandbox/settlement_credits", credit({ amount: 0 })],
      ["/_sandbox/settlement_credits", credit({ amount: -5 })],
      ["/_sandbox/settlement_credits", credit({ amount: 12.5 })],
      ["/_sandbox/settlement_credits", credit({ amount: "1000" })],
      ["/_sandbox/settlement_credits", credit({ amount: 2 ** 53 })],
      ["/_sandbox/settlement_credits", credit({ currency: "eur" })],
      ["/_sandbox/settlement_credits", credit({ currency: "XYZ" })],
      ["/_sandbox/settlement_credits", credit({ currency: "XAU" })],
      ["/_sandbox/settlement_credits", credit({ debtor: undefined })],
      ["/_sandbox/settlement_credits", credit({ debtor: "" })],
      ["/_sandbox/settlement_credits", credit({ remittance: undefined })],
      ["/_sandbox/settlement_credits", credit({ remittance: "x".repeat(141) })],
      ["/_sandbox/settlement_credits", credit({ remittance: "bell\u0007" })],
      ["/_sandbox/settlement_credits", credit({ remittance: "lone \ud800 surrogate" })],
      ["/_sandbox/settlement_credits", credit({ value_date: "2026-02-30" })],
      ["/_sandbox/settlement_credits", credit({ value_date: "25.11.2026" })],
      ["/_sandbox/statement_entries", credit({ direction: undefined })],
      ["/_sandbox/statement_entries", credit({ direction: "sideways" })],
      ["/_sandbox/statement_entries", credit({ direction: "debit", transaction_code: "CHRG" })],
    ];
    for (const [path, body] of bad) {
      const answer = await call(bank, "POST", path, body);
      assert.equal(answer.status, 400, `${path} ${JSON.stringify(body)}: ${answer.text}`);
      assert.equal(typeof answer.json.error, "string");
    }
    assert.deepEqual(await listIds(source), []);
    assert.deepEqual((await call(bank, "GET", "/account")).json.balances, []);
  });

  let firstId: string;
  let firstContent: string;

  it("books a channel's settlement credit once per reference", async () => {
    const first = await call(bank, "POST", "/_sandbox/settlement_credits", credit());
    assert.equal(first.status, 201, first.text);
    assert.match(first.json.entry_reference, /^SBK-\d{8}-\d{10}$/);
    assert.equal(first.json.booking_date, today);
    assert.equal(first.json.value_date, today);
    assert.equal(first.json.account, PLATFORM_ACCOUNT.iban);
    assert.deepEqual({ direction: first.json.direction, amount: first.json.amount, currency: first.json.currency, debtor: first.json.debtor },
      { direction: "credit", amount: 123456, currency: "EUR", debtor: "globalpay" });
    const again = await call(bank, "POST", "/_sandbox/settlement_credits", credit());
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, first.json);
    const reused = await call(bank, "POST", "/_sandbox/settlement_credits", credit({ amount: 123457 }));
    assert.equal(reused.status, 409);
    assert.equal(reused.json.error, "reference_reused");
    assert.equal((await call(bank, "POST", "/_sandbox/settlement_credits", credit({ value_date: today }))).status, 200, "the value date it was booked with");

    const other = await call(bank, "POST", "/_sandbox/settlement_credits", {
      reference: "LOCALACQ-STL-7", debtor: "localacq", amount: 7000, currency: "JPY", remittance: "LOCALACQ SETTLEMENT BATCHES 7", value_date: "2026-01-02",
    });
    assert.equal(other.status, 201, other.text);
    // What a test injects: a credit nobody explains, a fee the bank debits.
    const unexplained = await call(bank, "POST", "/_sandbox/statement_entries", {
      reference: "UNKNOWN-1", direction: "credit", amount: 5000, currency: "EUR", debtor: "Someone & Sons <GmbH>",
    });
    assert.equal(unexplained.status, 201, unexplained.text);
    const fee = await call(bank, "POST", "/_sandbox/statement_entries", {
      reference: "FEE-2026-11", direction: "debit", amount: 250, currency: "EUR", counterparty: "Sandbox Bank", remittance: "ACCOUNT FEE", transaction_code: "ACMT/MDOP/CHRG",
    });
    assert.equal(fee.status, 201, fee.text);
    assert.equal(fee.json.transaction_code, "ACMT/MDOP/CHRG");
    assert.deepEqual((await call(bank, "GET", "/account")).json.balances, [{ currency: "EUR", amount: 123456 + 5000 - 250 }, { currency: "JPY", amount: 7000 }]);
  });

  it("lists the day's statement and serves it as camt.053 that the connector parses", async () => {
    const listing = await call(bank, "GET", "/statements?limit=5");
    assert.equal(listing.status, 200);
    assert.deepEqual(listing.json.statements.map((s: any) => [s.id, s.date, s.entries, s.filename]), [[`${today}-4`, today, 4, statementFilename(`${today}-4`)]]);
    assert.deepEqual(await source.listFiles(5), [{ id: `${today}-4`, filename: listing.json.statements[0].filename }]);

    const raw = await call(bank, "GET", `/statements/${today}-4`);
    assert.match(raw.type ?? "", /application\/xml/);
    const { content, statement } = await fetchParsed(source, `${today}-4`);
    assert.equal(content, raw.text);
    assert.equal(statement.statement_id, `${today}-4`);
    assert.equal(statement.account, PLATFORM_ACCOUNT.iban);
    assert.match(content, /<Amt Ccy="EUR">1234.56<\/Amt>/);
    assert.match(content, /<Amt Ccy="JPY">7000<\/Amt>/);
    assert.match(content, /<EndToEndId>GLOBALPAY-STL-1042<\/EndToEndId>/);
    assert.deepEqual(statement.entries.map((e) => [e.line, e.direction, e.amount, e.currency, e.counterparty, e.channel, e.batch_numbers, e.value_date]), [
      [1, "credit", 123456, "EUR", "globalpay", "globalpay", ["1042", "1043"], today],
      [2, "credit", 7000, "JPY", "localacq", "localacq", ["7"], "2026-01-02"],
      [3, "credit", 5000, "EUR", "Someone & Sons <GmbH>", null, [], today],
      [4, "debit", 250, "EUR", "Sandbox Bank", null, [], today],
    ]);
    assert.equal(new Set(statement.entries.map((e) => e.entry_reference)).size, 4);
    assert.ok(statement.entries.every((e) => e.booking_date === today));
    assert.deepEqual(statement.balances, [
      { currency: "EUR", opening: 0n, closing: 128206n },
      { currency: "JPY", opening: 0n, closing: 7000n },
    ]);
    firstId = `${today}-4`;
    firstContent = content;
  });

  it("a growing day is listed under a new id; the earlier id answers the same bytes", async () => {
    assert.equal((await call(bank, "POST", "/_sandbox/settlement_credits", credit({ reference: "GLOBALPAY-STL-1044", amount: 100, remittance: "GLOBALPAY SETTLEMENT BATCHES 1044" }))).status, 201);
    assert.deepEqual(await listIds(source), [`${today}-5`]);
    const grown = await fetchParsed(source, `${today}-5`);
    assert.notEqual(grown.content, firstContent);
    assert.deepEqual(grown.statement.entries.slice(0, 4), (await fetchParsed(source, firstId)).statement.entries);
    assert.equal(grown.statement.entries[4].amount, 100);
    assert.deepEqual(grown.statement.balances[0], { currency: "EUR", opening: 0n, closing: 128306n });
    assert.equal((await fetchParsed(source, firstId)).content, firstContent);
  });

  it("the next banking day opens with the previous day's closing balance", async () => {
    assert.equal((await call(bank, "POST", "/_sandbox/clock/advance", { days: 1 })).status, 200);
    const next = await call(bank, "POST", "/_sandbox/settlement_credits", credit({ reference: "GLOBALPAY-STL-1045", amount: 1, remittance: "GLOBALPAY SETTLEMENT BATCHES 1045" }));
    assert.equal(next.status, 201);
    const tomorrow = next.json.booking_date;
    assert.ok(tomorrow > today);
    assert.deepEqual(await listIds(source), [`${today}-5`, `${tomorrow}-1`]);
    assert.deepEqual(await listIds(source, 1), [`${tomorrow}-1`]);
    const { statement } = await fetchParsed(source, `${tomorrow}-1`);
    assert.deepEqual(statement.entries.map((e) => [e.booking_date, e.amount]), [[tomorrow, 1]]);
    assert.deepEqual(statement.balances, [
      { currency: "EUR", opening: 128306n, closing: 128307n },
      { currency: "JPY", opening: 7000n, closing: 7000n },
    ]);
  });

  it("answers 404 for statements it does not have, 400 for a bad limit; the connector reports both as unreachable", async () => {
    for (const id of [`${today}-6`, `${today}-0`, "2000-01-01-1", "nonsense", "%E0%A4%A"]) {
      assert.equal((await call(bank, "GET", `/statements/${id}`)).status, 404, id);
    }
    assert.ok("unreachable" in (await source.fetchFile(`${today}-99`)));
    assert.ok("unreachable" in (await source.fetchFile("../account")));
    for (const limit of ["0", "1001", "ten", "-1"]) assert.equal((await call(bank, "GET", `/statements?limit=${limit}`)).status, 400, limit);
  });
});

describe("the platform account's bounded storage", () => {
  it("evicts the oldest entries, carrying their amounts into the opening balance and no longer serving their day", async () => {
    const bank = await startSandboxBank({ port: 0, platform_account: { capacity: 3 } });
    const transport = createHttpTransport(bank.url);
    const source = createSandboxBankStatementSource({ transport });
    try {
      for (const [reference, amount] of [["A", 100], ["B", 20]] as const) {
        assert.equal((await call(bank, "POST", "/_sandbox/settlement_credits", credit({ reference, amount }))).status, 201);
      }
      await call(bank, "POST", "/_sandbox/clock/advance", { days: 1 });
      let day2 = "";
      for (const [reference, amount] of [["C", 3], ["D", 4]] as const) {
        const answer = await call(bank, "POST", "/_sandbox/settlement_credits", credit({ reference, amount }));
        assert.equal(answer.status, 201);
        day2 = answer.json.booking_date;
      }
      assert.deepEqual(await listIds(source), [`${day2}-2`], "the first day lost an entry: its statement is gone");
      const { statement } = await fetchParsed(source, `${day2}-2`);
      assert.deepEqual(statement.balances, [{ currency: "EUR", opening: 120n, closing: 127n }]);
      // An evicted reference is forgotten: the bank books it again.
      assert.equal((await call(bank, "POST", "/_sandbox/settlement_credits", credit({ reference: "A", amount: 100 }))).status, 201);
      assert.deepEqual((await call(bank, "GET", "/account")).json.balances, [{ currency: "EUR", amount: 227 }]);
    } finally {
      await transport.close();
      await bank.close();
    }
  });

  it("keeps each currency's balance a safe integer", async () => {
    const bank = await startSandboxBank({ port: 0 });
    try {
      assert.equal((await call(bank, "POST", "/_sandbox/settlement_credits", credit({ reference: "MAX", amount: Number.MAX_SAFE_INTEGER }))).status, 201);
      const over = await call(bank, "POST", "/_sandbox/settlement_credits", credit({ reference: "ONE-MORE", amount: 1 }));
      assert.equal(over.status, 400);
      assert.equal(over.json.error, "balance_limit");
    } finally {
      await bank.close();
    }
  });

  it("the connector says unreachable when the bank is down", async () => {
    const bank = await startSandboxBank({ port: 0 });
    const url = bank.url;
    await bank.close();
    const transport = createHttpTransport(url);
    try {
      const source = createSandboxBankStatementSource({ transport, timeout_ms: 2_000 });
      assert.ok("unreachable" in (await source.listFiles(10)));
      assert.ok("unreachable" in (await source.fetchFile("2026-11-25-1")));
    } finally {
      await transport.close();
    }
  });
});
