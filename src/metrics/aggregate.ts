// Channel performance over time: attempt samples (src/metrics/samples.ts) and payments, grouped by
// time bucket and by up to four dimensions. Everything is counted exactly in SQL on integers:
// rates are decimal strings with 4 digits (rounded half-even), latency percentiles are exact
// nearest-rank values, costs are integer minor units per currency (never mixed).
//
// Definitions (per time bucket x group):
// - attempts: samples created in the bucket (an attempt is bucketed by when its first outcome was
//   recorded); approved: those the issuer approved; approval_rate = approved / attempts (attempts
//   whose outcome is still unknown count as not approved).
// - decline_codes: {unified decline code: count} over the attempts that carry one.
// - latency_ms p50/p95/p99: nearest rank, the value at rank ceil(p/100 * n) of the sorted latencies.
// - cost_per_approved: {currency: total estimated cost of all the attempts in that currency (those
//   with an estimate) / approved attempts in that currency}, rounded half-even; null with none approved.
// - conversion: payments created in the bucket (payments table) that ended `succeeded`, over those
//   created. A payment counts once however many channels it cascaded through: it is attributed to
//   the values of its FIRST attempt (the channel routing sent it to first, ...); a payment that never
//   reached a channel falls in the group whose values are all null.
import { invalid, ok, type Result } from "../errors.ts";
import { paymentStatuses } from "../payments/model.ts";
import { toBigInt, toSafeNumber, type Queryable } from "../store/db.ts";
import { outcomes } from "./samples.ts";

export const dimensions = [
  "channel", "method_family", "brand", "bin_country", "issuer", "card_type", "currency", "amount_band", "outcome", "decline_code",
] as const;
export type Dimension = (typeof dimensions)[number];

export const metricsWindows = { "1m": 60_000, "1h": 3_600_000, "1d": 86_400_000 } as const;
export type MetricsWindow = keyof typeof metricsWindows;

export const metricsLimits = {
  /** Dimensions in one query. */
  group_by_max: 4,
  /** Time buckets in one query (a day of minutes, 60 days of hours). */
  buckets_max: 1440,
  /** Longest from..to range whatever the window. */
  range_max_ms: 366 * 86_400_000,
  /** Rows (bucket x group) in one answer. */
  rows_max: 5000,
  /** Samples one query may read; past this, ask for a shorter range. */
  samples_scanned_max: 2_000_000,
} as const;

/** Default range when `from` is not given: the last 60 buckets of a minute, 24 of an hour, 30 of a day. */
export const defaultRangeMs: Record<MetricsWindow, number> = { "1m": 3_600_000, "1h": 86_400_000, "1d": 30 * 86_400_000 };

export interface ChannelMetricsQuery {
  /** Only this merchant's samples and payments; all merchants when absent (platform admin). */
  merchant_id?: string;
  group_by: readonly string[];
  window: string;
  /** Inclusive start, exclusive end, epoch milliseconds. */
  from_ms: number;
  to_ms: number;
}

export interface ValidMetricsQuery {
  merchant_id?: string;
  group_by: Dimension[];
  window: MetricsWindow;
  from_ms: number;
  to_ms: number;
}

export interface ChannelMetricsRow {
  bucket_start_ms: number;
  group: Partial<Record<Dimension, string | null>>;
  attempts: number;
  approved: number;
  approval_rate: string | null;
  decline_codes: Record<string, number>;
  latency_ms: { p50: number; p95: number; p99: number } | null;
  cost_per_approved: Record<string, number | null>;
  conversion: { payments: number; succeeded: number; rate: string | null };
}

export interface ChannelMetrics {
  window: MetricsWindow;
  group_by: Dimension[];
  from_ms: number;
  to_ms: number;
  rows: ChannelMetricsRow[];
}

/** Validates a query; failures name the parameter as the API spells it (group_by, window, from, to). */
export function validateMetricsQuery(query: ChannelMetricsQuery): Result<ValidMetricsQuery> {
  if (!(query.window in metricsWindows)) {
    return invalid("window", "invalid_window", `'${query.window}' is not a window; use one of ${Object.keys(metricsWindows).join(", ")}.`);
  }
  const window = query.window as MetricsWindow;
  const group_by: Dimension[] = [];
  for (const raw of query.group_by) {
    if (!(dimensions as readonly string[]).includes(raw)) {
      return invalid("group_by", "invalid_dimension", `'${raw}' is not a dimension; use any of ${dimensions.join(", ")}.`);
    }
    if (group_by.includes(raw as Dimension)) return invalid("group_by", "duplicate_dimension", `'${raw}' appears twice in group_by.`);
    group_by.push(raw as Dimension);
  }
  if (group_by.length > metricsLimits.group_by_max) {
    return invalid("group_by", "too_many_dimensions", `Group by at most ${metricsLimits.group_by_max} dimensions.`);
  }
  for (const [param, value] of [["from", query.from_ms], ["to", query.to_ms]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) return invalid(param, "invalid_time", `'${param}' must be a Unix time in seconds.`);
  }
  if (query.to_ms <= query.from_ms) return invalid("to", "invalid_range", "'to' must be after 'from'.");
  if (query.to_ms - query.from_ms > metricsLimits.range_max_ms) {
    return invalid("from", "range_too_long", `The range from 'from' to 'to' may be at most ${metricsLimits.range_max_ms / 86_400_000} days.`);
  }
  const width = metricsWindows[window];
  const buckets = Math.ceil(query.to_ms / width) - Math.floor(query.from_ms / width);
  if (buckets > metricsLimits.buckets_max) {
    return invalid("from", "too_many_buckets", `The range covers ${buckets} buckets of ${window}; at most ${metricsLimits.buckets_max}: shorten it or use a wider window.`);
  }
  return ok({ merchant_id: query.merchant_id, group_by, window, from_ms: query.from_ms, to_ms: query.to_ms });
}

// ---- exact integer arithmetic ----

/** n / d rounded half to even, for non-negative bigints, d > 0. */
export function divideHalfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const twice = (n % d) * 2n;
  if (twice > d || (twice === d && q % 2n === 1n)) return q + 1n;
  return q;
}

/** numerator / denominator as a decimal string with 4 digits ("0.8750"); null when the denominator is 0. */
export function rateString(numerator: number | bigint, denominator: number | bigint): string | null {
  const d = BigInt(denominator);
  if (d === 0n) return null;
  const scaled = divideHalfEven(BigInt(numerator) * 10_000n, d);
  return `${scaled / 10_000n}.${(scaled % 10_000n).toString().padStart(4, "0")}`;
}

/** Nearest-rank percentile rank (1-based) of p percent in n sorted values: ceil(p * n / 100). */
export function nearestRank(p: number, n: number): number {
  return Math.max(1, Math.ceil((p * n) / 100));
}

// ---- ids as a time index ----

// Ids are ULID-like (src/ids.ts): prefix, 10 Crockford base32 characters of milliseconds, random.
// Ordering by id is ordering by creation time, so a time range on payments can use their id
// indexes (primary key; (merchant_id, id)). The bounds are widened by a minute and the exact
// filter is on created_ms.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
const idSlackMs = 60_000;

export function idTimeBound(prefix: string, ms: number): string {
  let out = "";
  let rest = Math.max(0, ms);
  for (let i = 0; i < 10; i++) {
    out = idAlphabet[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return `${prefix}_${out}`;
}

// ---- queries ----

type Raw = Record<string, unknown>;

interface Built {
  q: ValidMetricsQuery;
  width: number;
  dimColumns: string[];
}

// Every aggregate statement carries an IN list (a filter that keeps every row): the PostgreSQL
// backend leaves such statements unnamed (src/store/postgres.ts), so these ad-hoc shapes never take
// the per-connection named-statement slots of the payment path.
function sampleBase(b: Built): { sql: string; params: unknown[] } {
  const where = ["s.created_ms >= ?", "s.created_ms < ?", `s.outcome IN (${outcomes.map(() => "?").join(", ")})`];
  const params: unknown[] = [b.q.from_ms, b.q.to_ms, ...outcomes];
  if (b.q.merchant_id !== undefined) {
    where.push("s.merchant_id = ?");
    params.push(b.q.merchant_id);
  }
  const dims = b.q.group_by.map((dimension, index) => `, s.${dimension} AS ${b.dimColumns[index]}`).join("");
  return {
    sql: `SELECT (s.created_ms / ${b.width}) * ${b.width} AS bucket${dims}, s.outcome, s.decline_code, s.latency_ms, s.currency AS cur, s.cost_minor
      FROM attempt_samples s WHERE ${where.join(" AND ")}`,
    params,
  };
}

function keyOf(b: Built, row: Raw): string {
  return JSON.stringify([toSafeNumber(row.bucket), ...b.dimColumns.map((column) => (row[column] ?? null) as string | null)]);
}

function emptyRow(b: Built, row: Raw): ChannelMetricsRow {
  const group: Partial<Record<Dimension, string | null>> = {};
  b.q.group_by.forEach((dimension, index) => {
    const value = (row[b.dimColumns[index]] ?? null) as string | null;
    group[dimension] = dimension === "currency" && value !== null ? value.toLowerCase() : value;
  });
  return {
    bucket_start_ms: toSafeNumber(row.bucket),
    group,
    attempts: 0,
    approved: 0,
    approval_rate: null,
    decline_codes: {},
    latency_ms: null,
    cost_per_approved: {},
    conversion: { payments: 0, succeeded: 0, rate: null },
  };
}

function tooManyRows(): Result<never> {
  return invalid("group_by", "too_many_rows", `The answer would exceed ${metricsLimits.rows_max} rows: shorten the range, use a wider window or fewer dimensions.`);
}

export async function channelMetrics(db: Queryable, query: ChannelMetricsQuery): Promise<Result<ChannelMetrics>> {
  const valid = validateMetricsQuery(query);
  if (!valid.ok) return valid;
  const q = valid.value;
  const b: Built = { q, width: metricsWindows[q.window], dimColumns: q.group_by.map((_, index) => `d${index}`) };
  const base = sampleBase(b);
  const groupKeys = ["bucket", ...b.dimColumns].join(", ");

  // Bound the work before doing it: count (at most a limit of) the samples in range.
  const scanned = await db.get<Raw>(`SELECT COUNT(*) AS n FROM (${base.sql} LIMIT ?) x`, [...base.params, metricsLimits.samples_scanned_max + 1]);
  if (toSafeNumber(scanned?.n) > metricsLimits.samples_scanned_max) {
    return invalid("from", "range_too_large", `The range holds more than ${metricsLimits.samples_scanned_max} attempts: shorten it.`);
  }

  const rows = new Map<string, ChannelMetricsRow>();
  const rowFor = (row: Raw) => {
    const key = keyOf(b, row);
    let found = rows.get(key);
    if (!found) rows.set(key, (found = emptyRow(b, row)));
    return found;
  };

  const counts = await db.all<Raw>(
    `SELECT ${groupKeys}, COUNT(*) AS attempts, SUM(CASE WHEN outcome = 'approved' THEN 1 ELSE 0 END) AS approved
     FROM (${base.sql}) b GROUP BY ${groupKeys} LIMIT ?`,
    [...base.params, metricsLimits.rows_max + 1],
  );
  if (counts.length > metricsLimits.rows_max) return tooManyRows();
  for (const raw of counts) {
    const row = rowFor(raw);
    row.attempts = toSafeNumber(raw.attempts);
    row.approved = toSafeNumber(raw.approved);
    row.approval_rate = rateString(row.approved, row.attempts);
  }

  const declines = await db.all<Raw>(
    `SELECT ${groupKeys}, decline_code AS code, COUNT(*) AS n FROM (${base.sql}) b WHERE decline_code IS NOT NULL
     GROUP BY ${groupKeys}, decline_code`,
    base.params,
  );
  for (const raw of declines) rowFor(raw).decline_codes[raw.code as string] = toSafeNumber(raw.n);

  // Exact nearest-rank percentiles: rank each group's latencies, keep the rows at the three ranks.
  const partition = groupKeys;
  const ranked = await db.all<Raw>(
    `SELECT ${groupKeys}, latency_ms, rn, n FROM (
       SELECT ${groupKeys}, latency_ms,
         ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY latency_ms) AS rn,
         COUNT(*) OVER (PARTITION BY ${partition}) AS n
       FROM (${base.sql}) b WHERE latency_ms IS NOT NULL
     ) r WHERE rn = (50 * n + 99) / 100 OR rn = (95 * n + 99) / 100 OR rn = (99 * n + 99) / 100`,
    base.params,
  );
  for (const raw of ranked) {
    const row = rowFor(raw);
    const n = toSafeNumber(raw.n);
    const rn = toSafeNumber(raw.rn);
    const value = toSafeNumber(raw.latency_ms);
    row.latency_ms ??= { p50: 0, p95: 0, p99: 0 };
    if (rn === nearestRank(50, n)) row.latency_ms.p50 = value;
    if (rn === nearestRank(95, n)) row.latency_ms.p95 = value;
    if (rn === nearestRank(99, n)) row.latency_ms.p99 = value;
  }

  const costs = await db.all<Raw>(
    `SELECT ${groupKeys}, cur, SUM(cost_minor) AS cost, SUM(CASE WHEN outcome = 'approved' THEN 1 ELSE 0 END) AS approved
     FROM (${base.sql}) b GROUP BY ${groupKeys}, cur HAVING COUNT(cost_minor) > 0`,
    base.params,
  );
  for (const raw of costs) {
    const approved = toBigInt(raw.approved);
    const currency = (raw.cur as string).toLowerCase();
    rowFor(raw).cost_per_approved[currency] = approved === 0n ? null : toSafeNumber(divideHalfEven(toBigInt(raw.cost), approved));
  }

  // Conversion: payments created in range, each attributed to its first attempt's values.
  const conversionWhere = [
    "p.id >= ?", "p.id < ?", "p.created_ms >= ?", "p.created_ms < ?", `p.status IN (${paymentStatuses.map(() => "?").join(", ")})`,
  ];
  const conversionParams: unknown[] = [
    idTimeBound("pay", q.from_ms - idSlackMs), idTimeBound("pay", q.to_ms + idSlackMs), q.from_ms, q.to_ms, ...paymentStatuses,
  ];
  if (q.merchant_id !== undefined) {
    conversionWhere.push("p.merchant_id = ?");
    conversionParams.push(q.merchant_id);
  }
  const conversionDims = q.group_by.map((dimension, index) => `, s.${dimension} AS ${b.dimColumns[index]}`).join("");
  const conversions = await db.all<Raw>(
    `SELECT ${groupKeys}, COUNT(*) AS payments, SUM(succeeded) AS succeeded FROM (
       SELECT (p.created_ms / ${b.width}) * ${b.width} AS bucket${conversionDims},
         CASE WHEN p.status = 'succeeded' THEN 1 ELSE 0 END AS succeeded,
         ROW_NUMBER() OVER (PARTITION BY p.id ORDER BY s.created_ms, s.attempt_id) AS seq
       FROM payments p LEFT JOIN attempt_samples s ON s.payment_id = p.id
       WHERE ${conversionWhere.join(" AND ")}
     ) c WHERE seq = 1 GROUP BY ${groupKeys} LIMIT ?`,
    [...conversionParams, metricsLimits.rows_max + 1],
  );
  if (conversions.length > metricsLimits.rows_max) return tooManyRows();
  for (const raw of conversions) {
    const row = rowFor(raw);
    const payments = toSafeNumber(raw.payments);
    const succeeded = toSafeNumber(raw.succeeded);
    row.conversion = { payments, succeeded, rate: rateString(succeeded, payments) };
  }
  if (rows.size > metricsLimits.rows_max) return tooManyRows();

  const sorted = [...rows.entries()].sort(([a], [b]) => compareKeys(JSON.parse(a), JSON.parse(b))).map(([, row]) => row);
  return ok({ window: q.window, group_by: q.group_by, from_ms: q.from_ms, to_ms: q.to_ms, rows: sorted });
}

/** Bucket ascending, then group values (nulls last). */
function compareKeys(a: (string | number | null)[], b: (string | number | null)[]): number {
  for (let index = 0; index < a.length; index++) {
    const x = a[index];
    const y = b[index];
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}
