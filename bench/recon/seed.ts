// Seeding for the reconciliation benchmark: N captured card payments on globalpay, written as the
// payment path writes them (payment and attempt rows, the sale posted through the ledger), in
// large transactions; and the channel's settlement report for them.
import { newId } from "../../src/ids.ts";
import { postSale } from "../../src/payments/postings.ts";
import type { Db } from "../../src/store/db.ts";

export interface SeededCapture {
  attempt_id: string;
  channel_reference: string;
  amount: number;
}

const capturesPerTransaction = 10_000;
const rowsPerInsert = 200;

/** A deterministic spread of amounts (USD cents, 1.00–999.99). */
function amountOf(index: number): number {
  return 100 + ((index * 7919) % 99_900);
}

export async function seedCaptures(db: Db, merchants: readonly string[], count: number): Promise<SeededCapture[]> {
  const captures: SeededCapture[] = [];
  const now = Date.now();
  for (let start = 0; start < count; start += capturesPerTransaction) {
    const n = Math.min(capturesPerTransaction, count - start);
    await db.transaction(async (tx) => {
      const batch: { payment: unknown[]; attempt: unknown[]; sale: { attempt_id: string; merchant_id: string; amount: number } }[] = [];
      for (let i = 0; i < n; i++) {
        const index = start + i;
        const merchant_id = merchants[index % merchants.length];
        const payment_id = newId("pay");
        const attempt_id = newId("att");
        const amount = amountOf(index);
        const channel_reference = `gp_bench_${index}`;
        captures.push({ attempt_id, channel_reference, amount });
        batch.push({
          payment: [payment_id, merchant_id, "succeeded", amount, "USD", "automatic", 0, amount, 0, "{}", now, now],
          attempt: [attempt_id, payment_id, merchant_id, "globalpay", "captured", amount, "USD", 1, channel_reference, "bench", now, now],
          sale: { attempt_id, merchant_id, amount },
        });
      }
      for (let at = 0; at < batch.length; at += rowsPerInsert) {
        const rows = batch.slice(at, at + rowsPerInsert);
        await tx.run(
          `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded, metadata, created_ms, updated_ms)
           VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`, rows.flatMap((row) => row.payment));
        await tx.run(
          `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, amount, currency, capture, channel_reference, routing_reason, created_ms, updated_ms)
           VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`, rows.flatMap((row) => row.attempt));
      }
      for (const row of batch) await postSale(tx, row.sale.attempt_id, { merchant_id: row.sale.merchant_id, channel: "globalpay", currency: "USD", amount: row.sale.amount });
    });
  }
  return captures;
}

/** The channel's fees for a capture: the contracted 2.9 % + 30 ¢ (interchange, scheme fees, markup), half-even. */
export function gpFees(amount: number): { interchange: number; scheme_fees: number; markup: number } {
  const bps = (value: number, rate: number) => {
    const exact = value * rate;
    const q = Math.floor(exact / 10_000);
    const r = exact - q * 10_000;
    return r > 5_000 || (r === 5_000 && q % 2 === 1) ? q + 1 : q;
  };
  const total = bps(amount, 290) + 30;
  const interchange = bps(amount, 180);
  const scheme_fees = bps(amount, 20);
  return { interchange, scheme_fees, markup: total - interchange - scheme_fees };
}

export { amountOf };

// generateReport is defined with the channel's report writer (see below).
export { generateReport } from "./report.ts";
