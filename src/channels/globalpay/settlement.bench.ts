// Parse speed of globalpay's settlement-details CSV:
//   node --import tsx src/channels/globalpay/settlement.bench.ts [--lines 1000000]
// Writes a report of N rows with the sandbox's generator (batches of 10 000 captures and refunds in
// EUR, USD and JPY, references with commas and quotes now and then), then parses it and prints JSON:
// lines, megabytes, milliseconds, lines per second, and the heap used after parsing.
import { parseArgs } from "node:util";
import { globalPayCaptureFees } from "../../sandbox/settlement/fees.ts";
import { globalPayPayoutRow, writeGlobalPayReport, type GlobalPayReportRow } from "../../sandbox/globalpay/settlement-report.ts";
import { parseGlobalPayReport } from "./settlement.ts";

const { values } = parseArgs({ options: { lines: { type: "string", default: "1000000" } } });
const total = Number(values.lines);
const BATCH_ROWS = 10_000;
const currencies = ["EUR", "USD", "JPY"];

function* rows(): Generator<GlobalPayReportRow> {
  let written = 0;
  for (let batch = 0; written < total; batch++) {
    const currency = currencies[batch % currencies.length];
    const batchRows: GlobalPayReportRow[] = [];
    for (let i = 0; i < BATCH_ROWS - 1 && written < total - 1; i++, written++) {
      const refund = i % 10 === 9;
      const gross = BigInt(1_000 + ((i * 7919) % 500_000));
      const fees = refund ? { interchange: 0n, scheme_fees: 0n, markup: 0n, commission: 0n } : globalPayCaptureFees(gross, currency, "visa");
      const net = refund ? -gross : gross - fees.interchange - fees.scheme_fees - fees.markup;
      const reference = i % 100 === 0 ? `att_"bench", ${batch}_${i}` : `att_01hbench${batch}x${i}`;
      batchRows.push({
        psp_reference: `gp_auth_${batch}_${i}`, merchant_reference: reference, payment_method: "visa", creation_date: "2026-12-07 10:11:12",
        type: refund ? "Refunded" : "Settled", modification_reference: `gp_cap_${batch}_${i}`, gross_currency: currency, gross: refund ? -gross : gross,
        net_currency: currency, net, ...fees, batch_number: 100_000 + batch,
      });
    }
    yield* batchRows;
    yield globalPayPayoutRow({ rows: batchRows, batch_number: 100_000 + batch, currency, creation_date: "2026-12-07 23:59:59", reference: `GLOBALPAY-STL-${batch}` });
    written++;
  }
}

const content = writeGlobalPayReport(rows());
const started = process.hrtime.bigint();
const parsed = parseGlobalPayReport(content);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
if (!parsed.ok) throw new Error(`the generated report did not parse: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
process.stdout.write(`${JSON.stringify({
  lines: parsed.lines.length,
  mb: Math.round(content.length / 1e5) / 10,
  ms: Math.round(ms),
  lines_per_second: Math.round(parsed.lines.length / (ms / 1000)),
  heap_used_mb: Math.round(process.memoryUsage().heapUsed / 1e6),
})}\n`);
