// camt.053.001.02 statements of the platform account: what the writer produces the parser reads back
// exactly (amounts in 0, 2 and 3 decimal currencies, remittances with XML's special characters), and
// the parser refuses what it cannot read whole, with errors naming the line or the entry, never a throw.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ParsedStatement } from "../../settlement/report.ts";
import {
  decimalToMinorUnits, parseCamt053, sandboxBankStatementParser, settlementBatchesOf, writeCamt053,
  type Camt053Document, type Camt053Entry,
} from "./statements.ts";

const IBAN = "DE25370400440532099900";

const entry = (extra: Partial<Camt053Entry> = {}): Camt053Entry => ({
  entry_reference: "SBK-20261125-0000000001", end_to_end_id: "GLOBALPAY-STL-1042", booking_date: "2026-11-25", value_date: "2026-11-25",
  direction: "credit", amount: 123456, currency: "EUR", counterparty: "globalpay", remittance: "GLOBALPAY SETTLEMENT BATCHES 1042,1043", ...extra,
});

const statement = (entries: Camt053Entry[], opening: [string, bigint][] = []): Camt053Document => ({
  message_id: "SBK-CAMT053-20261125-1", statement_id: "2026-11-25-1", sequence_number: 20261125, created_at: "2026-11-25T18:00:00.000Z",
  account: { iban: IBAN, name: "Corridor platform account", owner: "Corridor Payments", servicer_bic: "COBADEFFXXX" },
  date: "2026-11-25", opening_balances: new Map(opening), entries,
});

/** The errors of a refused statement, as an assertion message. */
const reasons = (parsed: ParsedStatement) => (parsed.ok ? "" : JSON.stringify(parsed.errors));

function errorsOf(content: string) {
  const parsed = parseCamt053(content);
  assert.equal(parsed.ok, false, "the statement should be refused");
  return parsed.ok ? [] : parsed.errors;
}

describe("camt.053 writer and parser", () => {
  it("reads back a statement: entries, balances per currency, the remittance's channel and batches", () => {
    const xml = writeCamt053(statement([
      entry(),
      entry({ entry_reference: "SBK-2", end_to_end_id: null, amount: 5000, currency: "JPY", counterparty: null, remittance: null }),
      entry({ entry_reference: "SBK-3", direction: "debit", amount: 1, currency: "KWD", counterparty: "Sandbox Bank", remittance: "ACCOUNT FEE" }),
    ], [["EUR", 10n], ["USD", -250n]]));
    assert.match(xml, /<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">/);
    assert.match(xml, /<Amt Ccy="EUR">1234.56<\/Amt>/);
    assert.match(xml, /<Amt Ccy="JPY">5000<\/Amt>/);
    assert.match(xml, /<Amt Ccy="KWD">0.001<\/Amt>/);
    const parsed = sandboxBankStatementParser.parse(xml);
    assert.ok(parsed.ok, reasons(parsed));
    assert.equal(parsed.statement_id, "2026-11-25-1");
    assert.equal(parsed.account, IBAN);
    assert.deepEqual(parsed.entries[0], {
      line: 1, entry_reference: "SBK-20261125-0000000001", booking_date: "2026-11-25", value_date: "2026-11-25", direction: "credit",
      amount: 123456, currency: "EUR", counterparty: "globalpay", remittance: "GLOBALPAY SETTLEMENT BATCHES 1042,1043",
      channel: "globalpay", batch_numbers: ["1042", "1043"],
    });
    assert.deepEqual(parsed.entries[1], {
      line: 2, entry_reference: "SBK-2", booking_date: "2026-11-25", value_date: "2026-11-25", direction: "credit", amount: 5000, currency: "JPY",
      counterparty: null, remittance: null, channel: null, batch_numbers: [],
    });
    assert.equal(parsed.entries[2].direction, "debit");
    assert.equal(parsed.entries[2].counterparty, "Sandbox Bank");
    const full = parseCamt053(xml);
    assert.ok(full.ok);
    assert.deepEqual(full.balances, [
      { currency: "EUR", opening: 10n, closing: 123466n },
      { currency: "JPY", opening: 0n, closing: 5000n },
      { currency: "KWD", opening: 0n, closing: -1n },
      { currency: "USD", opening: -250n, closing: -250n },
    ]);
  });

  it("round-trips any entries exactly (fast-check)", () => {
    const currencies = ["EUR", "USD", "JPY", "KRW", "KWD", "BHD", "IDR", "CLF"];
    // XML's special characters, quotes, entity look-alikes, non-ASCII and astral characters.
    const pieces = ["&", "<", ">", "\"", "'", "&amp;", "&#38;", "]]>", "ü", "€", "😀", " ", "a", "Z", "9", ",", "SETTLEMENT", "BATCHES"];
    const textArb = fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 20 }).map((parts) => parts.join("").trim().slice(0, 100))
      .filter((value) => value.length > 0 && !/[\uD800-\uDBFF]$/.test(value));
    const remittanceArb = fc.oneof(
      textArb,
      fc.tuple(fc.constantFrom("globalpay", "LocalAcq", "GLOBALPAY"), fc.array(fc.integer({ min: 1, max: 999_999 }), { minLength: 1, maxLength: 5 }))
        .map(([channel, batches]) => `${channel} SETTLEMENT BATCHES ${batches.join(",")}`),
    );
    const entryArb = fc.record({
      amount: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
      currency: fc.constantFrom(...currencies),
      direction: fc.constantFrom("credit" as const, "debit" as const),
      counterparty: fc.option(textArb, { nil: null }),
      remittance: fc.option(remittanceArb, { nil: null }),
      end_to_end_id: fc.option(textArb.map((value) => value.slice(0, 30)).filter((value) => value.trim().length > 0 && !/[\uD800-\uDBFF]$/.test(value)), { nil: null }),
      value_date: fc.constantFrom("2026-11-24", "2026-11-25", "2026-11-27"),
    });
    fc.assert(fc.property(fc.array(entryArb, { maxLength: 12 }), fc.array(fc.tuple(fc.constantFrom(...currencies), fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n })), { maxLength: 3 }), (generated, opening) => {
      const entries = generated.map((value, index) => ({ ...value, entry_reference: `SBK-${index + 1}`, booking_date: "2026-11-25" }));
      const parsed = parseCamt053(writeCamt053(statement(entries, opening)));
      assert.ok(parsed.ok, reasons(parsed));
      assert.equal(parsed.entries.length, entries.length);
      entries.forEach((written, index) => {
        const read = parsed.entries[index];
        assert.equal(read.line, index + 1);
        assert.equal(read.entry_reference, written.entry_reference);
        assert.equal(read.amount, written.amount);
        assert.equal(read.currency, written.currency);
        assert.equal(read.direction, written.direction);
        assert.equal(read.value_date, written.value_date);
        assert.equal(read.counterparty, written.counterparty);
        assert.equal(read.remittance, written.remittance);
        assert.deepEqual({ channel: read.channel, batch_numbers: read.batch_numbers }, settlementBatchesOf(written.remittance));
      });
      const openingOf = new Map(opening);
      const currenciesSeen = new Set([...openingOf.keys(), ...entries.map((e) => e.currency)]);
      assert.deepEqual(parsed.balances.map((b) => b.currency), currenciesSeen.size > 0 ? [...currenciesSeen].sort() : ["EUR"]);
      for (const balance of parsed.balances) {
        const net = entries.filter((e) => e.currency === balance.currency).reduce((sum, e) => sum + (e.direction === "credit" ? 1n : -1n) * BigInt(e.amount), 0n);
        const open = openingOf.get(balance.currency) ?? 0n;
        assert.equal(balance.opening, open);
        assert.equal(balance.closing, open + net);
      }
    }), { numRuns: 300 });
  });

  it("converts decimal text exactly, refusing more decimals than the currency has, signs, exponents and zero", () => {
    assert.equal(decimalToMinorUnits("1234.56", 2), 123456);
    assert.equal(decimalToMinorUnits("0.01", 2), 1);
    assert.equal(decimalToMinorUnits("12", 2), 1200);
    assert.equal(decimalToMinorUnits("12.5", 2), 1250);
    assert.equal(decimalToMinorUnits("5000", 0), 5000);
    assert.equal(decimalToMinorUnits("0.001", 3), 1);
    assert.equal(decimalToMinorUnits("90071992547409.91", 2), Number.MAX_SAFE_INTEGER);
    for (const [value, exponent] of [["1.005", 2], ["10.500", 2], ["1.0", 0], ["-1.00", 2], ["+1.00", 2], ["1e3", 2], ["1,00", 2], ["", 2], [".", 2],
      ["0.00", 2], ["0", 0], ["90071992547409.92", 2], ["1 000.00", 2], ["0x10", 0], ["١٢", 0]] as const) {
      assert.equal(typeof decimalToMinorUnits(value, exponent), "string", `${value} (exponent ${exponent}) should be refused`);
    }
  });

  it("extracts the channel and batch numbers from the remittance pattern, case-insensitively", () => {
    assert.deepEqual(settlementBatchesOf("GLOBALPAY SETTLEMENT BATCHES 1042,1043"), { channel: "globalpay", batch_numbers: ["1042", "1043"] });
    assert.deepEqual(settlementBatchesOf("localacq settlement batches 7"), { channel: "localacq", batch_numbers: ["7"] });
    assert.deepEqual(settlementBatchesOf("REF 99 LocalAcq Settlement Batches 1, 2 ,2 EUR"), { channel: "localacq", batch_numbers: ["1", "2"] });
    assert.deepEqual(settlementBatchesOf("SETTLEMENT BATCHES 1042"), { channel: null, batch_numbers: [] });
    assert.deepEqual(settlementBatchesOf("GLOBALPAY SETTLEMENT 1042"), { channel: null, batch_numbers: [] });
    assert.deepEqual(settlementBatchesOf(null), { channel: null, batch_numbers: [] });
  });

  it("refuses malformed XML with its line, never throwing", () => {
    const xml = writeCamt053(statement([entry()]));
    const broken = xml.replace("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>CRDT</CdtDbInd>");
    const line = xml.split("\n").findIndex((text) => text.includes("<CdtDbtInd>CRDT")) + 1;
    const [error] = errorsOf(broken);
    assert.equal(error.line, line);
    assert.match(error.message, /malformed XML/);
    assert.match(errorsOf(xml.replace("GLOBALPAY SETTLEMENT", "GLOBALPAY & SETTLEMENT"))[0].message, /malformed XML/);
    assert.match(errorsOf(xml.replace("GLOBALPAY SETTLEMENT", "GLOBALPAY &nbsp; SETTLEMENT"))[0].message, /undefined entity/);
    assert.match(errorsOf(`<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY e "x">]>\n${xml.slice(xml.indexOf("<Document"))}`)[0].message, /DOCTYPE/);
    assert.match(errorsOf("")[0].message, /empty/);
    assert.match(errorsOf("not xml at all")[0].message, /malformed XML/);
    assert.match(errorsOf("<a/><b/>")[0].message, /one root element Document/);
    assert.match(errorsOf(xml.replace("camt.053.001.02", "camt.053.001.08"))[0].message, /namespace/);
    assert.match(errorsOf(xml.slice(0, xml.length / 2))[0].message, /malformed XML/);
  });

  it("refuses bad amounts, currencies and missing fields, naming the entry", () => {
    const xml = writeCamt053(statement([entry(), entry({ entry_reference: "SBK-2", amount: 700 })]));
    // Changes the second entry only.
    const second = (from: string | RegExp, to: string) => {
      const at = xml.lastIndexOf("<Ntry>");
      const changed = xml.slice(at).replace(from, to);
      assert.notEqual(changed, xml.slice(at), `${from} is in the second entry`);
      return `${xml.slice(0, at)}${changed}`;
    };
    const cases: [string, RegExp][] = [
      [second(`<Amt Ccy="EUR">7.00</Amt>`, `<Amt Ccy="EUR">7.001</Amt>`), /entry 2: amount 7.001 has more decimals/],
      [second(`<Amt Ccy="EUR">7.00</Amt>`, `<Amt Ccy="EUR">-7.00</Amt>`), /entry 2: amount "-7.00" is not a decimal/],
      [second(`<Amt Ccy="EUR">7.00</Amt>`, `<Amt Ccy="EUR">7e0</Amt>`), /entry 2: amount "7e0"/],
      [second(`<Amt Ccy="EUR">7.00</Amt>`, `<Amt Ccy="EUR">0.00</Amt>`), /entry 2: amount 0.00 is not positive/],
      [second(`<Amt Ccy="EUR">7.00</Amt>`, `<Amt Ccy="XYZ">7.00</Amt>`), /entry 2: currency "XYZ"/],
      [second(`<Amt Ccy="EUR">7.00</Amt>`, `<Amt Ccy="eur">7.00</Amt>`), /entry 2: currency "eur"/],
      [second(`<Amt Ccy="EUR">7.00</Amt>`, `<Amt>7.00</Amt>`), /entry 2: missing Amt\/@Ccy/],
      [second("<AcctSvcrRef>SBK-2</AcctSvcrRef>", ""), /entry 2: missing AcctSvcrRef/],
      [second("<AcctSvcrRef>SBK-2</AcctSvcrRef>", "<AcctSvcrRef>SBK-20261125-0000000001</AcctSvcrRef>"), /entry 2: AcctSvcrRef .* repeats entry 1/],
      [second("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>CRED</CdtDbtInd>"), /entry 2: CdtDbtInd "CRED"/],
      [second(/<BookgDt>\s*<Dt>2026-11-25<\/Dt>/, "<BookgDt><Dt>2026-02-30</Dt>"), /entry 2: missing BookgDt/],
      [second(/<ValDt>\s*<Dt>2026-11-25<\/Dt>/, "<ValDt><Dt>25.11.2026</Dt>"), /entry 2: ValDt is not a date/],
      [second("<Sts>BOOK</Sts>", "<Sts>LOST</Sts>"), /entry 2: Sts "LOST"/],
    ];
    for (const [content, message] of cases) {
      const errors = errorsOf(content);
      assert.ok(errors.some((error) => error.line === 2 && message.test(error.message)), `${message}: ${JSON.stringify(errors)}`);
    }
  });

  it("refuses a statement whose balances or entry counts disagree with its entries", () => {
    const xml = writeCamt053(statement([entry(), entry({ entry_reference: "SBK-2", amount: 700 })]));
    assert.match(errorsOf(xml.replace(/<Ntry>[\s\S]*?<\/Ntry>\s*/, ""))[0].message, /TxsSummry counts 2 entries|do not lead/);
    assert.ok(errorsOf(xml.replace("<Amt Ccy=\"EUR\">1241.56</Amt>", "<Amt Ccy=\"EUR\">1241.57</Amt>")).some((error) => /do not lead from the opening/.test(error.message)));
    assert.match(errorsOf(xml.replace(/<Stmt>[\s\S]*<\/Stmt>/, (stmt) => `${stmt}${stmt}`))[0].message, /one Stmt/);
    assert.match(errorsOf(xml.replace(/<IBAN>.*<\/IBAN>/, ""))[0].message, /Acct/);
  });

  it("leaves pending entries out: not money on the account yet", () => {
    const xml = writeCamt053(statement([entry(), entry({ entry_reference: "SBK-2", amount: 700 })]));
    const at = xml.lastIndexOf("<Sts>BOOK</Sts>");
    const pending = `${xml.slice(0, at)}<Sts>PDNG</Sts>${xml.slice(at + "<Sts>BOOK</Sts>".length)}`
      .replace("<Amt Ccy=\"EUR\">1241.56</Amt>", "<Amt Ccy=\"EUR\">1234.56</Amt>");
    const parsed = parseCamt053(pending);
    assert.ok(parsed.ok, reasons(parsed));
    assert.deepEqual(parsed.entries.map((e) => e.entry_reference), ["SBK-20261125-0000000001"]);
  });

  it("reads character references and prefixed entity text as XML means them", () => {
    const xml = writeCamt053(statement([entry({ remittance: "A &amp; B" })])).replace("<Nm>globalpay</Nm>", "<Nm>Gl&#246;balpay &#x26; Co</Nm>");
    const parsed = parseCamt053(xml);
    assert.ok(parsed.ok, reasons(parsed));
    assert.equal(parsed.entries[0].remittance, "A &amp; B");
    assert.equal(parsed.entries[0].counterparty, "Glöbalpay & Co");
    const commented = parseCamt053(writeCamt053(statement([entry()])).replace("<Sts>BOOK</Sts>", "<!-- a & b --><Sts>BOOK</Sts>"));
    assert.ok(commented.ok, reasons(commented));
  });

  it("never throws, whatever the bytes (fast-check over mutated statements and arbitrary text)", () => {
    const xml = writeCamt053(statement([entry(), entry({ entry_reference: "SBK-2", direction: "debit", amount: 7, currency: "JPY" })]));
    fc.assert(fc.property(fc.integer({ min: 0, max: xml.length }), fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 12 }), (at, cut, insert) => {
      const mutated = `${xml.slice(0, at)}${insert}${xml.slice(at + cut)}`;
      const parsed = parseCamt053(mutated);
      if (parsed.ok) for (const e of parsed.entries) assert.ok(Number.isSafeInteger(e.amount) && e.amount > 0);
      else assert.ok(parsed.errors.length > 0 && parsed.errors.every((error) => Number.isInteger(error.line) && typeof error.message === "string"));
    }), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (content) => {
      assert.equal(typeof parseCamt053(content).ok, "boolean");
    }), { numRuns: 300 });
  });

  it("the writer refuses what a bank could not write", () => {
    assert.throws(() => writeCamt053(statement([entry({ amount: 0 })])), /programmer error/);
    assert.throws(() => writeCamt053(statement([entry({ amount: 1.5 })])), /programmer error/);
    assert.throws(() => writeCamt053(statement([entry({ currency: "XYZ" })])), /programmer error/);
    assert.throws(() => writeCamt053(statement([entry({ remittance: "x".repeat(141) })])), /programmer error/);
    assert.throws(() => writeCamt053(statement([entry({ end_to_end_id: "x".repeat(36) })])), /programmer error/);
    assert.throws(() => writeCamt053(statement([entry({ counterparty: "bell\u0007" })])), /programmer error/);
  });
});
