import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  GLOBALPAY_REPORT_COLUMNS, globalPayPayoutRow, writeGlobalPayReport, type GlobalPayReportRow, type GlobalPayRowType,
} from "../../sandbox/globalpay/settlement-report.ts";
import type { ParsedReport, ReportLine } from "../../settlement/report.ts";
import { createInProcessTransport } from "../transport.ts";
import { createGlobalPaySettlementSource, decimalToMinor, globalPayReportParser, parseGlobalPayReport } from "./settlement.ts";

const lineTypes: Record<Exclude<GlobalPayRowType, "MerchantPayout">, ReportLine["type"]> = {
  Settled: "settled", Refunded: "refunded", Chargeback: "chargeback", ChargebackReversed: "chargeback_reversal", Fee: "fee",
};

function row(overrides: Partial<GlobalPayReportRow> = {}): GlobalPayReportRow {
  return {
    psp_reference: "gp_auth_1", merchant_reference: "att_1", payment_method: "visa", creation_date: "2026-12-07 10:11:12", type: "Settled",
    modification_reference: "gp_cap_1", gross_currency: "EUR", gross: 10_000, net_currency: "EUR", net: 9_682,
    commission: 0, markup: 118, scheme_fees: 20, interchange: 180, batch_number: 1042, ...overrides,
  };
}

/** A report of the given rows per batch, each batch closed by its payout row. */
function report(batches: GlobalPayReportRow[][]): string {
  return writeGlobalPayReport(batches.flatMap((rows) => [
    ...rows,
    globalPayPayoutRow({ rows, batch_number: rows[0].batch_number, currency: rows[0].net_currency, creation_date: "2026-12-07 23:59:59", reference: `GLOBALPAY-STL-${rows[0].batch_number}` }),
  ]));
}

function errorsOf(parsed: ParsedReport) {
  assert.equal(parsed.ok, false, "the file must be rejected");
  return parsed.ok ? [] : parsed.errors;
}

function linesOf(parsed: ParsedReport): ReportLine[] {
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.ok ? parsed.lines : [];
}

/** The file with physical line `line` (1-based) changed. */
function withLine(content: string, line: number, change: (text: string) => string): string {
  const lines = content.split("\n");
  lines[line - 1] = change(lines[line - 1]);
  return lines.join("\n");
}

describe("globalpay settlement report: decimals", () => {
  test("decimal text becomes exact minor units by digits", () => {
    assert.equal(decimalToMinor("12.34", 2), 1234);
    assert.equal(decimalToMinor("12.3", 2), 1230);
    assert.equal(decimalToMinor("12", 2), 1200);
    assert.equal(decimalToMinor("0.005", 3), 5);
    assert.equal(decimalToMinor("1234", 0), 1234);
    assert.equal(decimalToMinor("90071992547409.91", 2), 9_007_199_254_740_991);
    for (const bad of ["", "12.345", "1.", ".5", "-1.00", "+1", "1,00", " 1.00", "1e3", "12.3x4", "1.2.3", "90071992547409.92"]) {
      assert.equal(decimalToMinor(bad, 2), undefined, bad);
    }
    assert.equal(decimalToMinor("12.0", 0), undefined);
  });
});

describe("globalpay settlement report: round trip", () => {
  const currency = fc.constantFrom<[string, number]>(["JPY", 0], ["EUR", 2], ["USD", 2], ["KWD", 3], ["BHD", 3]);
  const reference = fc.string({ unit: fc.constantFrom("a", "Z", "7", "_", ",", '"', " ", "é", "\n", "\r\n", ";"), minLength: 1, maxLength: 24 });
  const amount = fc.integer({ min: 0, max: 10_000_000_000 });
  const money = fc.record({
    type: fc.constantFrom<Exclude<GlobalPayRowType, "MerchantPayout">>("Settled", "Refunded", "Chargeback", "ChargebackReversed", "Fee"),
    merchant_reference: reference,
    psp_reference: fc.stringMatching(/^gp_auth_[a-z0-9]{1,12}$/),
    modification_reference: reference,
    gross: amount,
    interchange: fc.integer({ min: 0, max: 100_000 }),
    scheme_fees: fc.integer({ min: 0, max: 100_000 }),
    markup: fc.integer({ min: 0, max: 100_000 }),
    commission: fc.integer({ min: 0, max: 100_000 }),
    second: fc.integer({ min: 0, max: 59 }),
  });
  const batch = fc.record({ currency, rows: fc.array(money, { minLength: 0, maxLength: 12 }) });

  test("any report the generator writes parses back to its lines (fast-check)", () => {
    fc.assert(fc.property(fc.array(batch, { minLength: 1, maxLength: 4 }), fc.boolean(), (batches, crlf) => {
      const expected: Omit<ReportLine, "line">[] = [];
      const written = batches.map(({ currency: [code], rows }, index) => {
        const batch_number = 5000 + index;
        const out = rows.map((entry): GlobalPayReportRow => {
          const debit = entry.type === "Refunded" || entry.type === "Chargeback";
          const gross = entry.type === "Fee" ? 0 : debit ? 0 - entry.gross : entry.gross;
          const crlfText = (text: string) => (crlf ? text.replaceAll("\n", "\r\n") : text);
          const net = gross - entry.interchange - entry.scheme_fees - entry.markup - entry.commission;
          expected.push({
            batch_number: String(batch_number), type: lineTypes[entry.type], merchant_reference: crlfText(entry.merchant_reference),
            channel_reference: entry.type === "Settled" ? entry.psp_reference : crlfText(entry.modification_reference), booking_date: "2026-12-07",
            currency: code, gross, net_currency: code, net, exchange_rate: "1",
            interchange: entry.interchange, scheme_fees: entry.scheme_fees, markup: entry.markup, commission: entry.commission,
          });
          return {
            ...entry, payment_method: "visa", creation_date: `2026-12-07 10:00:${String(entry.second).padStart(2, "0")}`,
            gross_currency: code, net_currency: code, gross, net, batch_number,
          };
        });
        const total = out.reduce((sum, entry) => sum + Number(entry.net), 0);
        expected.push({
          batch_number: String(batch_number), type: "payout", merchant_reference: null, channel_reference: `GLOBALPAY-STL-${batch_number}`,
          booking_date: "2026-12-07", currency: code, gross: 0, net_currency: code, net: 0 - total, exchange_rate: "1",
          interchange: 0, scheme_fees: 0, markup: 0, commission: 0,
        });
        return [...out, globalPayPayoutRow({ rows: out, batch_number, currency: code, creation_date: "2026-12-07 23:59:59", reference: `GLOBALPAY-STL-${batch_number}` })];
      });
      let content = writeGlobalPayReport(written.flat());
      if (crlf) content = content.replaceAll("\n", "\r\n");
      const lines = linesOf(parseGlobalPayReport(content));
      assert.deepEqual(lines.map(({ line: _line, ...rest }) => rest), expected);
      // Each line names the physical line its record starts on.
      const physical = content.split("\n");
      for (const line of lines) {
        if (line.type === "payout") assert.match(physical[line.line - 1], /MerchantPayout/);
        else assert.ok(physical[line.line - 1].startsWith("CorridorCOM,CorridorECOM,"), `line ${line.line}`);
      }
    }), { numRuns: 150 });
  });

  test("columns are found by header name, in any order, extra columns ignored", () => {
    const content = report([[row(), row({ type: "Refunded", merchant_reference: "re_1", modification_reference: "gp_ref_1", gross: -500, net: -500, markup: 0, scheme_fees: 0, interchange: 0 })]]);
    const [header, ...rows] = content.trimEnd().split("\n").map((line) => line.split(","));
    const order = header.map((_, index) => index).reverse();
    const shuffled = [[...order.map((index) => header[index]), "Remark"], ...rows.map((fields) => [...order.map((index) => fields[index]), "x"])];
    const lines = linesOf(parseGlobalPayReport(`${shuffled.map((fields) => fields.join(",")).join("\n")}\n`));
    assert.deepEqual(lines.map((line) => [line.type, line.merchant_reference, line.gross, line.net]), [
      ["settled", "att_1", 10_000, 9_682], ["refunded", "re_1", -500, -500], ["payout", null, 0, -9_182],
    ]);
    assert.equal(globalPayReportParser.kind, "channel_report");
  });
});

describe("globalpay settlement report: malformed files are rejected naming the line", () => {
  const good = report([[row(), row({ merchant_reference: "att_2", psp_reference: "gp_auth_2", gross: 2_550, net: 2_446, markup: 53, scheme_fees: 5, interchange: 46 })]]);

  test("the reference report parses", () => {
    assert.equal(linesOf(parseGlobalPayReport(good)).length, 3);
  });

  test("a bad decimal", () => {
    const errors = errorsOf(parseGlobalPayReport(withLine(good, 3, (text) => text.replace(",25.50,", ",25.5x,"))));
    assert.deepEqual(errors.map((error) => error.line), [3]);
    assert.match(errors[0].message, /Gross Credit \(GC\) '25.5x'/);
  });

  test("more fraction digits than the currency has", () => {
    const errors = errorsOf(parseGlobalPayReport(withLine(good, 2, (text) => text.replace(",0.00,1.18,", ",0.00,1.180,"))));
    assert.equal(errors[0].line, 2);
    assert.match(errors[0].message, /Markup/);
    const jpy = report([[row({ gross_currency: "JPY", net_currency: "JPY", gross: 1_000, net: 1_000, markup: 0, scheme_fees: 0, interchange: 0 })]]);
    assert.equal(errorsOf(parseGlobalPayReport(withLine(jpy, 2, (text) => text.replace(",1000,", ",1000.0,"))))[0].line, 2);
  });

  test("an unknown type", () => {
    const errors = errorsOf(parseGlobalPayReport(withLine(good, 3, (text) => text.replace(",Settled,", ",Captured,"))));
    assert.deepEqual(errors, [{ line: 3, message: "unknown Type 'Captured'" }]);
  });

  test("an unknown currency", () => {
    const errors = errorsOf(parseGlobalPayReport(withLine(good, 2, (text) => text.replace(",EUR,,100.00,", ",XYZ,,100.00,"))));
    assert.equal(errors[0].line, 2);
    assert.match(errors[0].message, /Gross Currency 'XYZ'/);
  });

  test("net that is not gross less fees", () => {
    const errors = errorsOf(parseGlobalPayReport(withLine(good, 2, (text) => text.replace(",96.82,", ",96.83,"))));
    assert.equal(errors[0].line, 2);
    assert.match(errors[0].message, /net 9683 is not gross 10000 less fees 318/);
  });

  test("a payout that is not its batch's sum", () => {
    const errors = errorsOf(parseGlobalPayReport(withLine(good, 4, (text) => text.replace(",121.28,", ",121.29,"))));
    assert.deepEqual(errors.map((error) => error.line), [4]);
    assert.match(errors[0].message, /MerchantPayout of batch 1042 is 12129, its rows' nets sum to 12128/);
  });

  test("a batch without a payout, a missing batch number, a second payout", () => {
    const lines = good.trimEnd().split("\n");
    assert.deepEqual(errorsOf(parseGlobalPayReport(`${lines.slice(0, 3).join("\n")}\n`)), [{ line: 0, message: "batch 1042 has no MerchantPayout row" }]);
    assert.deepEqual(errorsOf(parseGlobalPayReport(withLine(good, 3, (text) => text.replace(/,1042$/, ",")))), [{ line: 3, message: "Batch Number is missing" }]);
    assert.equal(errorsOf(parseGlobalPayReport(`${[...lines, lines[3]].join("\n")}\n`))[0].line, 5);
  });

  test("a row with too few fields, an unclosed quote, a header without a required column", () => {
    assert.equal(errorsOf(parseGlobalPayReport(withLine(good, 3, (text) => text.replace(/,1042$/, ""))))[0].line, 3);
    const unclosed = errorsOf(parseGlobalPayReport(withLine(good, 3, (text) => text.replace("att_2", '"att_2'))));
    assert.equal(unclosed[0].line, 3);
    assert.match(unclosed[0].message, /malformed CSV/);
    const errors = errorsOf(parseGlobalPayReport(withLine(good, 1, (text) => text.replace("Batch Number", "Batch"))));
    assert.deepEqual(errors, [{ line: 1, message: "the header lacks 'Batch Number'" }]);
  });

  test("a quoted reference with a line break: later errors still name their physical line", () => {
    const content = report([[row({ merchant_reference: 'att "1",\r\nsecond line' }), row({ merchant_reference: "att_2" })]]);
    assert.equal(linesOf(parseGlobalPayReport(content))[0].merchant_reference, 'att "1",\r\nsecond line');
    const errors = errorsOf(parseGlobalPayReport(withLine(content, 4, (text) => text.replace(",Settled,", ",Nope,"))));
    assert.deepEqual(errors.map((error) => error.line), [4]);
  });

  test("an empty file, a header only, a different time zone, an exchange rate between equal currencies", () => {
    assert.deepEqual(errorsOf(parseGlobalPayReport("")), [{ line: 0, message: "the file has no header row" }]);
    assert.deepEqual(linesOf(parseGlobalPayReport(`${GLOBALPAY_REPORT_COLUMNS.join(",")}\n`)), []);
    assert.equal(errorsOf(parseGlobalPayReport(withLine(good, 2, (text) => text.replace(",UTC,", ",CET,"))))[0].line, 2);
    assert.equal(errorsOf(parseGlobalPayReport(withLine(good, 2, (text) => text.replace(",1,EUR,", ",1.1,EUR,"))))[0].line, 2);
  });

  test("never throws on arbitrary input (fast-check)", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), fc.integer({ min: 0, max: 2_000 }), (noise, at) => {
      const parsed = parseGlobalPayReport(good.slice(0, at) + noise + good.slice(at));
      if (!parsed.ok) for (const error of parsed.errors) assert.ok(Number.isInteger(error.line) && error.line >= 0);
    }), { numRuns: 300 });
  });
});

describe("globalpay settlement source", () => {
  test("lists and fetches published reports through the transport; failures are unreachable, never thrown", async () => {
    const requests: string[] = [];
    const transport = createInProcessTransport(async (request) => {
      requests.push(`${request.method} ${request.path}?${new URLSearchParams(request.query).toString()}`);
      if (request.path === "/settlement/reports") return { status: 200, body: JSON.stringify([{ id: "gpstl_1", filename: "settlement_detail_report_batch_1.csv", created_at: "2026-12-07T00:00:00Z" }]) };
      if (request.path === "/settlement/reports/gpstl_1") return { status: 200, body: "the,csv\n" };
      return { status: 404, body: "{}" };
    });
    const source = createGlobalPaySettlementSource({ transport, timeout_ms: 1_000 });
    assert.equal(source.kind, "channel_report");
    assert.deepEqual(await source.listFiles(5_000), [{ id: "gpstl_1", filename: "settlement_detail_report_batch_1.csv" }]);
    assert.deepEqual(await source.fetchFile("gpstl_1"), { filename: "settlement_detail_report_batch_1.csv", content: "the,csv\n" });
    assert.ok("unreachable" in (await source.fetchFile("gpstl_2")));
    assert.equal(requests[0], "GET /settlement/reports?limit=1000");
    const down = createGlobalPaySettlementSource({ transport: { request: async () => ({ kind: "not_sent", reason: "ECONNREFUSED" }) }, timeout_ms: 1_000 });
    assert.deepEqual(await down.listFiles(10), { unreachable: true, reason: "ECONNREFUSED" });
    const garbled = createGlobalPaySettlementSource({ transport: { request: async () => ({ kind: "answered", status: 200, body: "{" }) }, timeout_ms: 1_000 });
    assert.ok("unreachable" in (await garbled.listFiles(10)));
  });
});
