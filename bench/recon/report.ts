// The benchmark's settlement report: one globalpay Settled row per seeded capture, in the channel's
// own CSV (its writer), batches of 100 000 rows each closed by their MerchantPayout row.
import { globalPayPayoutRow, writeGlobalPayReport, type GlobalPayReportRow } from "../../src/sandbox/globalpay/settlement-report.ts";
import { gpFees, type SeededCapture } from "./seed.ts";

const rowsPerBatch = 100_000;

export function generateReport(captures: readonly SeededCapture[]): string {
  const creation_date = new Date().toISOString().slice(0, 19).replace("T", " ");
  function* rows(): Generator<GlobalPayReportRow> {
    for (let start = 0; start < captures.length; start += rowsPerBatch) {
      const batch_number = 500_000 + start / rowsPerBatch;
      const batch: GlobalPayReportRow[] = [];
      for (const capture of captures.slice(start, start + rowsPerBatch)) {
        const fees = gpFees(capture.amount);
        const row: GlobalPayReportRow = {
          psp_reference: capture.channel_reference, merchant_reference: capture.attempt_id, payment_method: "visa", creation_date,
          type: "Settled", modification_reference: capture.channel_reference, gross_currency: "USD", gross: capture.amount,
          net_currency: "USD", net: capture.amount - fees.interchange - fees.scheme_fees - fees.markup,
          commission: 0, markup: fees.markup, scheme_fees: fees.scheme_fees, interchange: fees.interchange, batch_number,
        };
        batch.push(row);
        yield row;
      }
      yield globalPayPayoutRow({ rows: batch, batch_number, currency: "USD", creation_date, reference: `BENCH-STL-${batch_number}` });
    }
  }
  return writeGlobalPayReport(rows());
}
