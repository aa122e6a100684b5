import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CLEARING_RECORD_LENGTH, writeLocalAcqClearingFile, type ClearingBatch, type ClearingTransactionType } from "../../sandbox/localacq/clearing-file.ts";
import type { ParsedReport, ReportLine } from "../../settlement/report.ts";
import { createInProcessTransport } from "../transport.ts";
import { createLocalAcqSettlementSource, detailLayout, localAcqReportParser, parseLocalAcqClearingFile, sliceRecord } from "./settlement.ts";

const created_at = new Date("2026-12-07T23:59:58Z");

function detail(overrides: Partial<ClearingBatch["details"][number]> = {}): ClearingBatch["details"][number] {
  return { transaction_type: "05", reference: "att_1", rrn: "000000000101", auth_rrn: "000000000100", amount: 10_000, fee: 180, transaction_date: "20261207", scheme: "VISA", ...overrides };
}

const good = writeLocalAcqClearingFile({
  file_id: 1042, created_at,
  batches: [
    { batch_number: 1042, currency_numeric: "986", details: [detail(), detail({ transaction_type: "06", reference: "re_1", rrn: "000000000102", amount: -2_500, fee: 0 })] },
    { batch_number: 1043, currency_numeric: "360", details: [detail({ reference: "att_2", amount: 150_000, fee: 2_600, scheme: "ELO" })] },
  ],
});

function errorsOf(parsed: ParsedReport) {
  assert.equal(parsed.ok, false, "the file must be rejected");
  return parsed.ok ? [] : parsed.errors;
}

function linesOf(parsed: ParsedReport): ReportLine[] {
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.ok ? parsed.lines : [];
}

function withRecord(content: string, line: number, change: (record: string) => string): string {
  const records = content.split("\n");
  records[line - 1] = change(records[line - 1]);
  return records.join("\n");
}

/** Replaces `length` characters at the 1-based column `start`. */
function put(record: string, start: number, text: string): string {
  return record.slice(0, start - 1) + text + record.slice(start - 1 + text.length);
}

describe("localacq clearing file: layout", () => {
  test("every record is 150 characters and the layout slices the fields", () => {
    const records = good.slice(0, -1).split("\n");
    assert.deepEqual(records.map((record) => record.length), records.map(() => CLEARING_RECORD_LENGTH));
    assert.deepEqual(records.map((record) => record[0]).join(""), "HDDBDBT");
    const sliced = sliceRecord(records[2], detailLayout);
    assert.ok(sliced.ok);
    assert.deepEqual(sliced.ok && sliced.values, {
      record_type: "D", record_seq: "00000003", transaction_type: "06", reference: "re_1", rrn: "000000000102", auth_rrn: "000000000100",
      currency: "986", amount: "000000000002500", sign: "D", fee: "000000000000", batch_number: "0000001042", transaction_date: "20261207", scheme: "VISA",
    });
  });

  test("parsed lines in ISO minor units (IDR × 100), with a payout per batch from its details", () => {
    const lines = linesOf(parseLocalAcqClearingFile(good));
    assert.deepEqual(lines.map((line) => [line.line, line.batch_number, line.type, line.merchant_reference, line.channel_reference, line.currency, line.gross, line.net, line.commission]), [
      [2, "1042", "settled", "att_1", "000000000100", "BRL", 10_000, 9_820, 180],
      [3, "1042", "refunded", "re_1", "000000000102", "BRL", -2_500, -2_500, 0],
      [4, "1042", "payout", null, null, "BRL", 0, -7_320, 0],
      [5, "1043", "settled", "att_2", "000000000100", "IDR", 15_000_000, 14_740_000, 260_000],
      [6, "1043", "payout", null, null, "IDR", 0, -14_740_000, 0],
    ]);
    assert.ok(lines.every((line) => line.booking_date === "2026-12-07" && line.exchange_rate === "1" && line.interchange === 0));
    assert.equal(localAcqReportParser.kind, "channel_report");
  });

  test("a file without batch trailers: payouts named by the file trailer; CRLF line ends accepted", () => {
    const content = writeLocalAcqClearingFile({ file_id: 7, created_at, batch_trailers: false, batches: [
      { batch_number: 7, currency_numeric: "840", details: [detail(), detail({ reference: "att_9", amount: 300, fee: 0 })] },
    ] });
    const lines = linesOf(parseLocalAcqClearingFile(content.replaceAll("\n", "\r\n")));
    assert.deepEqual(lines.map((line) => [line.line, line.type, line.net]), [[2, "settled", 9_820], [3, "settled", 300], [4, "payout", -10_120]]);
  });
});

describe("localacq clearing file: round trip", () => {
  const currency = fc.constantFrom<[string, string, number]>(["986", "BRL", 1], ["360", "IDR", 100], ["348", "HUF", 100], ["840", "USD", 1], ["978", "EUR", 1]);
  const reference = fc.stringMatching(/^[ -~]{0,40}$/).map((text) => text.trimEnd());
  const entry = fc.record({
    transaction_type: fc.constantFrom<ClearingTransactionType>("05", "06", "15", "16", "19"),
    reference,
    rrn: fc.stringMatching(/^\d{12}$/),
    auth_rrn: fc.stringMatching(/^\d{12}$/),
    amount: fc.integer({ min: -999_999_999_999, max: 999_999_999_999 }),
    fee: fc.integer({ min: 0, max: 999_999_999 }),
    day: fc.integer({ min: 1, max: 28 }),
  });
  const batch = fc.record({ currency, details: fc.array(entry, { maxLength: 10 }) });

  test("any file the generator writes parses back to its lines (fast-check)", () => {
    fc.assert(fc.property(fc.array(batch, { minLength: 1, maxLength: 4 }), fc.boolean(), (batches, trailers) => {
      const written: ClearingBatch[] = batches.map(({ currency: [numeric], details }, index) => ({
        batch_number: 9_000 + index, currency_numeric: numeric,
        details: details.map((item) => ({ ...item, transaction_date: `202612${String(item.day).padStart(2, "0")}`, scheme: "MIR" })),
      }));
      const lines = linesOf(parseLocalAcqClearingFile(writeLocalAcqClearingFile({ file_id: 9_000, created_at, batches: written, batch_trailers: trailers })));
      const types: Record<ClearingTransactionType, ReportLine["type"]> = { "05": "settled", "06": "refunded", "15": "chargeback", "16": "chargeback_reversal", "19": "fee" };
      const expected: unknown[] = [];
      const payouts: unknown[] = [];
      batches.forEach(({ currency: [, code, scale], details }, index) => {
        let net = 0;
        for (const item of details) {
          const lineNet = (item.amount - item.fee) * scale;
          net += lineNet;
          expected.push([String(9_000 + index), types[item.transaction_type], item.reference === "" ? null : item.reference,
            item.transaction_type === "05" ? item.auth_rrn : item.rrn, code, item.amount * scale + 0, lineNet + 0, item.fee * scale, `2026-12-${String(item.day).padStart(2, "0")}`]);
        }
        const payout = [String(9_000 + index), "payout", null, null, code, 0, 0 - net, 0, "2026-12-07"];
        if (trailers) expected.push(payout);
        else if (details.length > 0) payouts.push(payout); // without trailers an empty batch is not in the file
      });
      expected.push(...payouts);
      assert.deepEqual(lines.map((line) => [line.batch_number, line.type, line.merchant_reference, line.channel_reference, line.currency, line.gross, line.net, line.commission, line.booking_date]), expected);
    }), { numRuns: 150 });
  });
});

describe("localacq clearing file: malformed files are rejected naming the line", () => {
  test("a short record", () => {
    assert.deepEqual(errorsOf(parseLocalAcqClearingFile(withRecord(good, 3, (record) => record.slice(0, 149)))).slice(0, 1), [
      { line: 3, message: "the record is 149 characters, the layout 150" },
    ]);
  });

  test("a wrong detail count in the file trailer", () => {
    const errors = errorsOf(parseLocalAcqClearingFile(withRecord(good, 7, (record) => put(record, 10, "00000004"))));
    assert.deepEqual(errors, [{ line: 7, message: "the file trailer counts 4 detail records, the file has 3" }]);
  });

  test("a wrong hash total", () => {
    const errors = errorsOf(parseLocalAcqClearingFile(withRecord(good, 7, (record) => put(record, 24, "000000000000162501"))));
    assert.deepEqual(errors, [{ line: 7, message: "the file trailer's hash total is 162501, the detail amounts sum to 162500" }]);
  });

  test("an amount changed without its trailers: both the batch trailer and the hash total disagree", () => {
    const errors = errorsOf(parseLocalAcqClearingFile(withRecord(good, 2, (record) => put(record, 79, "000000000010001"))));
    assert.deepEqual(errors.map((error) => error.line), [4, 7]);
    assert.match(errors[0].message, /the trailer of batch 1042 says gross 7500, the details sum to 7501; net 7320/);
  });

  test("a non-numeric amount, a bad sign, a bad date, an unknown transaction type, an unknown currency", () => {
    const cases: [number, string, RegExp][] = [
      [79, "00000000001000x", /amount \(columns 79-93\) is not numeric/],
      [94, "X", /sign \(column 94\) is not C or D/],
      [117, "20261341", /transaction_date .* is not a date/],
      [10, "42", /unknown transaction type '42'/],
      [76, "999", /currency '999' is not one localacq settles/],
    ];
    for (const [column, text, message] of cases) {
      const errors = errorsOf(parseLocalAcqClearingFile(withRecord(good, 2, (record) => put(record, column, text))));
      assert.equal(errors[0].line, 2, text);
      assert.match(errors[0].message, message);
    }
  });

  test("record order: sequence numbers, a missing header or trailer, records after the trailer, an unknown record type", () => {
    assert.match(errorsOf(parseLocalAcqClearingFile(withRecord(good, 3, (record) => put(record, 2, "00000009"))))[0].message, /record sequence 9 on line 3/);
    const records = good.slice(0, -1).split("\n");
    assert.equal(errorsOf(parseLocalAcqClearingFile(`${records.slice(1).join("\n")}\n`))[0].line, 1);
    assert.deepEqual(errorsOf(parseLocalAcqClearingFile(`${records.slice(0, 6).join("\n")}\n`)), [{ line: 0, message: "the file has no trailer record" }]);
    assert.deepEqual(errorsOf(parseLocalAcqClearingFile(`${good}${records[6]}\n`)), [{ line: 8, message: "a record after the file trailer" }]);
    assert.deepEqual(errorsOf(parseLocalAcqClearingFile(withRecord(good, 3, (record) => put(record, 1, "X"))))[0], { line: 3, message: "unknown record type 'X'" });
    assert.deepEqual(errorsOf(parseLocalAcqClearingFile("")), [{ line: 0, message: "the file has no header record" }]);
  });

  test("a detail of one batch after another batch's trailer, a batch in two currencies", () => {
    const mixed = writeLocalAcqClearingFile({ file_id: 1, created_at, batch_trailers: false, batches: [
      { batch_number: 5, currency_numeric: "986", details: [detail()] },
      { batch_number: 5, currency_numeric: "840", details: [detail({ reference: "att_3" })] },
    ] });
    const errors = errorsOf(parseLocalAcqClearingFile(mixed));
    assert.equal(errors[0].line, 3);
    assert.match(errors[0].message, /batch 5 is in BRL, this record in USD/);
  });

  test("never throws on arbitrary input (fast-check)", () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 0, max: good.length }), (noise, at) => {
      const parsed = parseLocalAcqClearingFile(good.slice(0, at) + noise + good.slice(at));
      if (!parsed.ok) for (const error of parsed.errors) assert.ok(Number.isInteger(error.line) && error.line >= 0);
    }), { numRuns: 300 });
  });
});

describe("localacq settlement source", () => {
  test("lists its clearing files and fetches one through the transport", async () => {
    const transport = createInProcessTransport(async (request) => {
      if (request.path === "/clearing/files") return { status: 200, body: JSON.stringify({ files: [{ file_id: "clr1042", file_name: "LACQ_CLR_20261207_1042.txt", created: "2026-12-07T23:59:58Z" }] }) };
      if (request.path === "/clearing/files/clr1042") return { status: 200, body: good };
      return { status: 404, body: "{}" };
    });
    const source = createLocalAcqSettlementSource({ transport, timeout_ms: 1_000 });
    assert.deepEqual(await source.listFiles(10), [{ id: "clr1042", filename: "LACQ_CLR_20261207_1042.txt" }]);
    assert.deepEqual(await source.fetchFile("clr1042"), { filename: "LACQ_CLR_20261207_1042.txt", content: good });
    assert.ok("unreachable" in (await source.fetchFile("clr9")));
    const down = createLocalAcqSettlementSource({ transport: { request: async () => ({ kind: "unknown", reason: "timeout" }) }, timeout_ms: 1_000 });
    assert.deepEqual(await down.fetchFile("clr1042"), { unreachable: true, reason: "timeout" });
  });
});
