// Read side of the back office: files, batches, and per-channel margin.
import { toBigInt, toSafeNumber, type Queryable } from "../store/db.ts";
import { toSettlementFile, type SettlementFile } from "./files.ts";

export async function findSettlementFile(db: Queryable, id: string): Promise<SettlementFile | undefined> {
  const row = await db.get<Record<string, unknown>>("SELECT * FROM settlement_files WHERE id = ?", [id]);
  return row && toSettlementFile(row);
}

export async function listSettlementFiles(db: Queryable, filter: { channel?: string; status?: string }, page: { limit: number; starting_after?: string }) {
  const conditions = ["1 = 1"];
  const params: unknown[] = [];
  if (filter.channel) (conditions.push("channel = ?"), params.push(filter.channel));
  if (filter.status) (conditions.push("status = ?"), params.push(filter.status));
  if (page.starting_after) (conditions.push("id < ?"), params.push(page.starting_after));
  const rows = await db.all<Record<string, unknown>>(`SELECT * FROM settlement_files WHERE ${conditions.join(" AND ")} ORDER BY id DESC LIMIT ?`, [...params, page.limit + 1]);
  return { data: rows.slice(0, page.limit).map(toSettlementFile), has_more: rows.length > page.limit };
}

export interface BatchView {
  id: string;
  object: "settlement_batch";
  channel: string;
  batch_number: string;
  currency: string;
  booking_date: string;
  gross: number;
  fees: { interchange: number; scheme_fees: number; markup: number; commission: number; total: number };
  net: number;
  lines: number;
  matched_lines: number;
  status: "reconciled" | "funded" | "awaiting_funds" | "unfunded";
  funded_by: string | null;
  settlement_file: string;
  created: number;
}

export async function listSettlementBatches(db: Queryable, filter: { channel?: string }, page: { limit: number; starting_after?: string }) {
  const conditions = ["1 = 1"];
  const params: unknown[] = [];
  if (filter.channel) (conditions.push("b.channel = ?"), params.push(filter.channel));
  if (page.starting_after) (conditions.push("b.id < ?"), params.push(page.starting_after));
  const rows = await db.all<Record<string, unknown>>(
    `SELECT b.*, EXISTS (SELECT 1 FROM reconciliation_exceptions e WHERE e.subject = 'unfunded_batch:' || b.id AND e.status = 'open') AS unfunded
     FROM settlement_batches b WHERE ${conditions.join(" AND ")} ORDER BY b.id DESC LIMIT ?`, [...params, page.limit + 1]);
  return { data: rows.slice(0, page.limit).map(batchView), has_more: rows.length > page.limit };
}

function batchView(row: Record<string, unknown>): BatchView {
  const n = (key: string) => toSafeNumber(row[key]);
  const fees = { interchange: n("interchange"), scheme_fees: n("scheme_fees"), markup: n("markup"), commission: n("commission") };
  const funded = row.funded_by !== null;
  const status = funded ? (n("matched_lines") === n("lines") ? "reconciled" : "funded") : Number(row.unfunded) ? "unfunded" : "awaiting_funds";
  return {
    id: row.id as string, object: "settlement_batch", channel: row.channel as string, batch_number: row.batch_number as string,
    currency: (row.currency as string).toLowerCase(), booking_date: row.booking_date as string, gross: n("gross"),
    fees: { ...fees, total: fees.interchange + fees.scheme_fees + fees.markup + fees.commission }, net: n("net"),
    lines: n("lines"), matched_lines: n("matched_lines"), status, funded_by: (row.funded_by as string) ?? null,
    settlement_file: row.file_id as string, created: Math.floor(n("created_ms") / 1000),
  };
}

/** Per channel and currency over booked lines with a booking date in [from, to]: what merchants paid
 *  (merchant fees), what the channel charged, and the margin between them. Exact integers. Lines the
 *  channel converted are left out: their fees are in the settlement currency and their merchant
 *  fees in the payment's, and no rate of Corridor's own relates the two. */
export async function channelMargins(db: Queryable, filter: { channel?: string; from?: string; to?: string }) {
  const conditions = ["booked = 1", "currency = net_currency"];
  const params: unknown[] = [];
  if (filter.channel) (conditions.push("channel = ?"), params.push(filter.channel));
  if (filter.from) (conditions.push("booking_date >= ?"), params.push(filter.from));
  if (filter.to) (conditions.push("booking_date <= ?"), params.push(filter.to));
  const rows = await db.all<Record<string, unknown>>(`
    SELECT channel, net_currency AS currency, COUNT(*) AS lines,
      CAST(SUM(CASE WHEN gross > 0 THEN gross ELSE 0 END) AS TEXT) AS settled_gross,
      CAST(SUM(CASE WHEN gross < 0 THEN -gross ELSE 0 END) AS TEXT) AS returned_gross,
      CAST(SUM(interchange) AS TEXT) AS interchange, CAST(SUM(scheme_fees) AS TEXT) AS scheme_fees,
      CAST(SUM(markup) AS TEXT) AS markup, CAST(SUM(commission) AS TEXT) AS commission,
      CAST(SUM(merchant_fee) AS TEXT) AS merchant_fees
    FROM settlement_lines WHERE ${conditions.join(" AND ")} GROUP BY channel, net_currency ORDER BY channel, net_currency`, params);
  return rows.map((row) => {
    const big = (key: string) => toBigInt(row[key]);
    const channel_fees = big("interchange") + big("scheme_fees") + big("markup") + big("commission");
    const margin = big("merchant_fees") - channel_fees;
    const settled = big("settled_gross");
    return {
      object: "channel_margin", channel: row.channel as string, currency: (row.currency as string).toLowerCase(), lines: toSafeNumber(row.lines),
      settled_gross: Number(settled), returned_gross: Number(big("returned_gross")),
      channel_fees: { interchange: Number(big("interchange")), scheme_fees: Number(big("scheme_fees")), markup: Number(big("markup")), commission: Number(big("commission")), total: Number(channel_fees) },
      merchant_fees: Number(big("merchant_fees")), margin: Number(margin),
      /** Margin per 10 000 of settled gross (integer basis points, truncated). */
      margin_bps: settled > 0n ? Number((margin * 10_000n) / settled) : 0,
    };
  });
}

/** Observed channel cost per channel: fees over settled gross of the recent booked settled lines
 *  (unconverted ones: a converted line's fees are in another currency than its gross). */
export async function observedChannelFees(db: Queryable, since_date: string, lines_min: number): Promise<Map<string, number>> {
  const rows = await db.all<{ channel: string; lines: unknown; gross: unknown; fees: unknown }>(`
    SELECT channel, COUNT(*) AS lines, CAST(SUM(gross) AS TEXT) AS gross,
      CAST(SUM(interchange + scheme_fees + markup + commission) AS TEXT) AS fees
    FROM settlement_lines WHERE type = 'settled' AND booked = 1 AND booking_date >= ? AND gross > 0 AND currency = net_currency
    GROUP BY channel`, [since_date]);
  const out = new Map<string, number>();
  for (const row of rows) {
    const gross = toBigInt(row.gross);
    if (toSafeNumber(row.lines) < lines_min || gross <= 0n) continue;
    out.set(row.channel, Number((toBigInt(row.fees) * 10_000n) / gross));
  }
  return out;
}
