// Channel metrics against hand-computed figures, on a fresh SQLite or PostgreSQL database.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freshDatabase, type Database } from "../../test/helpers.ts";
import { openDb, type Db } from "../store/db.ts";
import { channelMetrics, divideHalfEven, idTimeBound, nearestRank, rateString, type ChannelMetricsRow } from "./aggregate.ts";
import { metricsRegistry, observeAuthorization, observePayment } from "./prometheus.ts";
import { amountBandOf, outcomeOf, recordAttemptSample, recordAttemptTransition, type AttemptSample, type Outcome } from "./samples.ts";

let database: Database;
let db: Db;

const T0 = Date.UTC(2030, 0, 1, 10, 0, 0); // an hour boundary
const minute = 60_000;
const hour = 3_600_000;
let serial = 0;

/** Ids shaped like the real ones: their time part is their creation time (conversion uses it). */
function idAt(prefix: string, ms: number): string {
  return `${idTimeBound(prefix, ms)}${String(++serial).padStart(16, "0")}`;
}

async function merchant(id: string): Promise<void> {
  await db.transaction((tx) =>
    tx.run("INSERT INTO merchants (id, name, country, default_currency, created_ms) VALUES (?, ?, 'US', 'USD', ?)", [id, id, T0]),
  );
}

async function payment(merchant_id: string, created_ms: number, status: string, currency = "USD", amount = 2000): Promise<string> {
  const id = idAt("pay", created_ms);
  await db.transaction((tx) =>
    tx.run(
      `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded,
         metadata, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, 'automatic', 0, 0, 0, '{}', ?, ?)`,
      [id, merchant_id, status, amount, currency, created_ms, created_ms],
    ),
  );
  return id;
}

async function sample(input: Partial<AttemptSample> & { payment_id: string; merchant_id: string; outcome: Outcome; created_ms: number }): Promise<void> {
  const full: AttemptSample = {
    attempt_id: idAt("att", input.created_ms),
    channel: "globalpay",
    method_family: "card",
    brand: "visa",
    bin_country: "US",
    issuer: null,
    card_type: null,
    currency: "USD",
    amount: 2000,
    decline_code: null,
    latency_ms: null,
    cost_minor: null,
    ...input,
  };
  await db.transaction((tx) => recordAttemptSample(tx, full));
}

before(async () => {
  database = await freshDatabase();
  db = await openDb(database.url);
  await merchant("mer_one");
  await merchant("mer_two");
  const m = "mer_one";
  const at = (minutes: number) => T0 + minutes * minute;

  // Hour 1, merchant one. P1 cascades: a technical error on globalpay, then approved on localacq.
  const p1 = await payment(m, at(1), "succeeded");
  await sample({ payment_id: p1, merchant_id: m, outcome: "technical_error", decline_code: "processing_error", latency_ms: 700, cost_minor: 15, created_ms: at(10) });
  await sample({ payment_id: p1, merchant_id: m, channel: "localacq", outcome: "approved", latency_ms: 150, cost_minor: 4, created_ms: at(10) + 1000 });
  const p2 = await payment(m, at(2), "succeeded");
  await sample({ payment_id: p2, merchant_id: m, outcome: "approved", latency_ms: 100, cost_minor: 30, created_ms: at(11) });
  const p3 = await payment(m, at(3), "failed");
  await sample({ payment_id: p3, merchant_id: m, outcome: "hard_decline", decline_code: "do_not_honor", latency_ms: 400, cost_minor: 10, created_ms: at(12) });
  const p4 = await payment(m, at(4), "failed");
  await sample({ payment_id: p4, merchant_id: m, outcome: "soft_decline", decline_code: "insufficient_funds", latency_ms: 500, cost_minor: 10, created_ms: at(13) });
  const p5 = await payment(m, at(5), "requires_capture");
  await sample({ payment_id: p5, merchant_id: m, outcome: "approved", latency_ms: 200, cost_minor: 30, created_ms: at(14) });
  const p6 = await payment(m, at(6), "succeeded");
  await sample({ payment_id: p6, merchant_id: m, outcome: "approved", latency_ms: 300, cost_minor: 30, created_ms: at(15) });
  const p7 = await payment(m, at(7), "failed");
  await sample({ payment_id: p7, merchant_id: m, outcome: "soft_decline", decline_code: "insufficient_funds", latency_ms: 600, cost_minor: 10, created_ms: at(16) });
  const p8 = await payment(m, at(8), "succeeded", "EUR");
  await sample({ payment_id: p8, merchant_id: m, brand: "mastercard", currency: "EUR", outcome: "approved", latency_ms: 50, cost_minor: 25, created_ms: at(17) });
  const p9 = await payment(m, at(9), "succeeded");
  await sample({ payment_id: p9, merchant_id: m, channel: "localacq", outcome: "approved", latency_ms: 250, cost_minor: 5, created_ms: at(18) });
  await payment(m, at(20), "requires_payment_method"); // P10: never reached a channel

  // Hour 2, merchant one: two approvals at the bucket's edges; one sample at the range's end (excluded).
  const p11 = await payment(m, at(60), "succeeded");
  await sample({ payment_id: p11, merchant_id: m, outcome: "approved", latency_ms: 80, created_ms: at(60) });
  const p12 = await payment(m, at(119), "succeeded");
  await sample({ payment_id: p12, merchant_id: m, outcome: "approved", latency_ms: 90, created_ms: at(120) - 1 });
  const p13 = await payment(m, at(120), "succeeded");
  await sample({ payment_id: p13, merchant_id: m, outcome: "approved", latency_ms: 90, created_ms: at(120) });

  // Merchant two, hour 1: 20 latencies 1..20 on "perfchan", in shuffled order; one in two approved.
  const p = await payment("mer_two", at(0), "succeeded");
  const order = [7, 3, 19, 1, 12, 20, 5, 16, 9, 14, 2, 18, 11, 6, 15, 4, 17, 8, 13, 10];
  for (const latency of order) {
    await sample({ payment_id: p, merchant_id: "mer_two", channel: "perfchan", outcome: latency % 2 === 0 ? "approved" : "soft_decline", latency_ms: latency, created_ms: at(30) + latency });
  }
});

after(async () => {
  await db.close();
  await database.drop();
});

function only<T>(rows: T[], predicate: (row: T) => boolean): T {
  const found = rows.filter(predicate);
  assert.equal(found.length, 1, `exactly one row matches, got ${found.length}`);
  return found[0];
}

async function metrics(query: Partial<Parameters<typeof channelMetrics>[1]>): Promise<ChannelMetricsRow[]> {
  const result = await channelMetrics(db, { merchant_id: "mer_one", group_by: ["channel"], window: "1h", from_ms: T0, to_ms: T0 + 2 * hour, ...query });
  assert.ok(result.ok, JSON.stringify(result));
  return result.value.rows;
}

describe("integer helpers", () => {
  it("rounds half to even, formats rates with 4 digits, ranks by nearest rank", () => {
    assert.equal(divideHalfEven(9n, 2n), 4n);
    assert.equal(divideHalfEven(11n, 2n), 6n);
    assert.equal(divideHalfEven(10n, 3n), 3n);
    assert.equal(divideHalfEven(11n, 3n), 4n);
    assert.equal(rateString(3, 7), "0.4286");
    assert.equal(rateString(1, 8), "0.1250");
    assert.equal(rateString(1, 1), "1.0000");
    assert.equal(rateString(0, 5), "0.0000");
    assert.equal(rateString(1, 0), null);
    assert.equal(rateString(1, 20_000), "0.0000"); // 0.00005 to even
    assert.equal(rateString(3, 20_000), "0.0002"); // 0.00015 to even
    assert.deepEqual([nearestRank(50, 8), nearestRank(95, 8), nearestRank(99, 8)], [4, 8, 8]);
    assert.deepEqual([nearestRank(50, 20), nearestRank(95, 20), nearestRank(99, 20)], [10, 19, 20]);
  });

  it("bands amounts in major units with the currency's exponent", () => {
    assert.equal(amountBandOf(999, "USD"), "<10");
    assert.equal(amountBandOf(1000, "usd"), "10-50");
    assert.equal(amountBandOf(4999, "USD"), "10-50");
    assert.equal(amountBandOf(20_000, "EUR"), "200-1000");
    assert.equal(amountBandOf(100_000, "USD"), ">=1000");
    assert.equal(amountBandOf(999, "JPY"), "200-1000");
    assert.equal(amountBandOf(1000, "JPY"), ">=1000");
    assert.equal(amountBandOf(10_000, "KWD"), "10-50");
  });

  it("maps attempt statuses and decline categories to outcomes", () => {
    assert.equal(outcomeOf("captured"), "approved");
    assert.equal(outcomeOf("authorized"), "approved");
    assert.equal(outcomeOf("reversed"), "approved");
    assert.equal(outcomeOf("declined", "hard"), "hard_decline");
    assert.equal(outcomeOf("declined", "soft"), "soft_decline");
    assert.equal(outcomeOf("failed", "technical"), "technical_error");
    assert.equal(outcomeOf("declined", "technical"), "technical_error");
    assert.equal(outcomeOf("failed"), "technical_error");
    assert.equal(outcomeOf("unknown"), "unknown");
    assert.equal(outcomeOf("requires_action"), "unknown");
  });
});

describe("channel metrics", () => {
  it("per channel and hour: approval rate, declines, nearest-rank latency, cost per approved per currency, conversion with a cascade", async () => {
    const rows = await metrics({});
    const globalpay = only(rows, (row) => row.bucket_start_ms === T0 && row.group.channel === "globalpay");
    assert.equal(globalpay.attempts, 8);
    assert.equal(globalpay.approved, 4);
    assert.equal(globalpay.approval_rate, "0.5000");
    assert.deepEqual(globalpay.decline_codes, { do_not_honor: 1, insufficient_funds: 2, processing_error: 1 });
    // sorted: 50 100 200 300 400 500 600 700 → ranks 4, 8, 8
    assert.deepEqual(globalpay.latency_ms, { p50: 300, p95: 700, p99: 700 });
    // USD: (15 + 30 + 10 + 10 + 30 + 30 + 10) / 3 approved = 45; EUR: 25 / 1
    assert.deepEqual(globalpay.cost_per_approved, { usd: 45, eur: 25 });
    // First attempts on globalpay: P1 (cascaded, succeeded on localacq), P2..P8 → succeeded: P1 P2 P6 P8
    assert.deepEqual(globalpay.conversion, { payments: 8, succeeded: 4, rate: "0.5000" });

    const localacq = only(rows, (row) => row.bucket_start_ms === T0 && row.group.channel === "localacq");
    assert.equal(localacq.attempts, 2);
    assert.equal(localacq.approval_rate, "1.0000");
    assert.deepEqual(localacq.decline_codes, {});
    assert.deepEqual(localacq.latency_ms, { p50: 150, p95: 250, p99: 250 });
    assert.deepEqual(localacq.cost_per_approved, { usd: 4 }, "(4 + 5) / 2 = 4.5 → 4, half to even");
    assert.deepEqual(localacq.conversion, { payments: 1, succeeded: 1, rate: "1.0000" }, "P1 counts for the channel it was first sent to only");

    const unrouted = only(rows, (row) => row.bucket_start_ms === T0 && row.group.channel === null);
    assert.equal(unrouted.attempts, 0);
    assert.equal(unrouted.approval_rate, null);
    assert.deepEqual(unrouted.conversion, { payments: 1, succeeded: 0, rate: "0.0000" });

    const next = only(rows, (row) => row.bucket_start_ms === T0 + hour && row.group.channel === "globalpay");
    assert.equal(next.attempts, 2, "the sample at exactly `to` is excluded");
    assert.deepEqual(next.latency_ms, { p50: 80, p95: 90, p99: 90 });
    assert.deepEqual(next.cost_per_approved, {}, "no cost estimates, no cost figure");
    assert.deepEqual(next.conversion, { payments: 2, succeeded: 2, rate: "1.0000" });
    assert.equal(rows.length, 4);
    assert.ok(rows.every((row) => row.group.channel !== "perfchan"), "only the merchant's own samples");
  });

  it("without dimensions: a cascaded payment counts once", async () => {
    const rows = await metrics({ group_by: [], to_ms: T0 + hour });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].attempts, 10);
    assert.equal(rows[0].approved, 6);
    assert.equal(rows[0].approval_rate, "0.6000");
    // P1..P10: succeeded P1 P2 P6 P8 P9
    assert.deepEqual(rows[0].conversion, { payments: 10, succeeded: 5, rate: "0.5000" });
  });

  it("groups by two dimensions", async () => {
    const rows = await metrics({ group_by: ["channel", "brand"], to_ms: T0 + hour });
    const visa = only(rows, (row) => row.group.channel === "globalpay" && row.group.brand === "visa");
    assert.equal(visa.attempts, 7);
    assert.equal(visa.approved, 3);
    assert.equal(visa.approval_rate, "0.4286");
    assert.deepEqual(visa.cost_per_approved, { usd: 45 });
    const mastercard = only(rows, (row) => row.group.channel === "globalpay" && row.group.brand === "mastercard");
    assert.deepEqual([mastercard.attempts, mastercard.approval_rate], [1, "1.0000"]);
    assert.deepEqual(mastercard.cost_per_approved, { eur: 25 });
    assert.deepEqual(mastercard.latency_ms, { p50: 50, p95: 50, p99: 50 });
    const byOutcome = await metrics({ group_by: ["outcome", "currency"], to_ms: T0 + hour });
    const soft = only(byOutcome, (row) => row.group.outcome === "soft_decline" && row.group.currency === "usd");
    assert.equal(soft.attempts, 2);
    assert.deepEqual(soft.decline_codes, { insufficient_funds: 2 });
  });

  it("buckets by minute and by day", async () => {
    const minutes = await metrics({ window: "1m", from_ms: T0, to_ms: T0 + 20 * minute });
    const tenth = only(minutes, (row) => row.bucket_start_ms === T0 + 10 * minute && row.group.channel === "globalpay");
    assert.equal(tenth.attempts, 1);
    assert.equal(tenth.approval_rate, "0.0000");
    assert.ok(minutes.every((row) => row.bucket_start_ms % minute === 0 && row.bucket_start_ms >= T0 && row.bucket_start_ms < T0 + 20 * minute));
    const days = await metrics({ window: "1d", from_ms: T0, to_ms: T0 + 2 * hour });
    const day = only(days, (row) => row.group.channel === "globalpay");
    assert.equal(day.bucket_start_ms, Date.UTC(2030, 0, 1));
    assert.equal(day.attempts, 10);
  });

  it("exact nearest-rank percentiles over 20 latencies; the admin sees every merchant", async () => {
    const rows = await metrics({ merchant_id: undefined, to_ms: T0 + hour });
    const perf = only(rows, (row) => row.group.channel === "perfchan");
    assert.deepEqual(perf.latency_ms, { p50: 10, p95: 19, p99: 20 });
    assert.equal(perf.approval_rate, "0.5000");
    const scoped = await channelMetrics(db, { merchant_id: "mer_two", group_by: ["channel"], window: "1h", from_ms: T0, to_ms: T0 + hour });
    assert.ok(scoped.ok);
    assert.deepEqual(scoped.value.rows.map((row) => row.group.channel), ["perfchan"]);
  });

  it("validates its inputs, naming the parameter", async () => {
    const base = { group_by: ["channel"], window: "1h", from_ms: T0, to_ms: T0 + hour };
    const failure = async (query: Partial<typeof base>) => {
      const result = await channelMetrics(db, { ...base, ...query });
      assert.ok(!result.ok);
      return { param: result.failure.param, code: result.failure.code, status: result.failure.status };
    };
    assert.deepEqual(await failure({ group_by: ["channel", "colour"] }), { param: "group_by", code: "invalid_dimension", status: 400 });
    assert.deepEqual(await failure({ group_by: ["brand", "brand"] }), { param: "group_by", code: "duplicate_dimension", status: 400 });
    assert.deepEqual(await failure({ group_by: ["channel", "brand", "issuer", "currency", "outcome"] }), { param: "group_by", code: "too_many_dimensions", status: 400 });
    assert.deepEqual(await failure({ window: "5m" }), { param: "window", code: "invalid_window", status: 400 });
    assert.deepEqual(await failure({ to_ms: T0 }), { param: "to", code: "invalid_range", status: 400 });
    assert.deepEqual(await failure({ window: "1m", to_ms: T0 + 2 * 86_400_000 }), { param: "from", code: "too_many_buckets", status: 400 });
    assert.deepEqual(await failure({ window: "1d", from_ms: T0 - 400 * 86_400_000 }), { param: "from", code: "range_too_long", status: 400 });
    assert.deepEqual(await failure({ from_ms: -1 }), { param: "from", code: "invalid_time", status: 400 });
  });
});

describe("recording samples", () => {
  it("records an attempt's transition with the payment's card and issuer facts in one statement, updated when the outcome is learnt", async () => {
    const m = "mer_one";
    const created = Date.now();
    const card_id = idAt("card", created);
    await db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO vault_cards (id, merchant_id, key_id, iv, ciphertext, auth_tag, fingerprint, bin, last4, brand, exp_month, exp_year, bin_country,
           issuer, funding, created_ms)
         VALUES (?, ?, 'k1', 'iv', 'ct', 'tag', 'fp', '424242', '4242', 'visa', 12, 2035, 'GB', 'Long Bank', 'credit', ?)`,
        [card_id, m, created],
      );
    });
    const payment_id = await payment(m, created, "processing", "USD", 2500);
    await db.transaction((tx) => tx.run("UPDATE payments SET card_id = ? WHERE id = ?", [card_id, payment_id]));
    const attempt = { id: idAt("att", created), payment_id, channel: "globalpay", amount: 2500, currency: "USD", latency_ms: null };

    const first = await db.transaction((tx) => recordAttemptTransition(tx, { ...attempt, status: "pending" }, { status: "unknown", latency_ms: 321 }));
    assert.equal(first, "unknown");
    const read = () => db.get<Record<string, unknown>>("SELECT * FROM attempt_samples WHERE attempt_id = ?", [attempt.id]);
    const before = (await read())!;
    assert.equal(before.merchant_id, m);
    assert.equal(before.method_family, "card");
    assert.equal(before.brand, "visa");
    assert.equal(before.bin_country, "GB");
    assert.equal(before.issuer, "Long Bank");
    assert.equal(before.card_type, "credit");
    assert.equal(before.amount_band, "10-50");
    assert.equal(before.outcome, "unknown");
    assert.equal(Number(before.latency_ms), 321);

    const resolved = await db.transaction((tx) =>
      recordAttemptTransition(tx, { ...attempt, status: "unknown", latency_ms: 321 }, { status: "declined", decline: { code: "do_not_honor", category: "hard" } }),
    );
    assert.equal(resolved, "hard_decline");
    const after = (await read())!;
    assert.equal(after.outcome, "hard_decline");
    assert.equal(after.decline_code, "do_not_honor");
    assert.equal(Number(after.latency_ms), 321, "kept");
    assert.equal(Number(after.created_ms), Number(before.created_ms), "stays in its first bucket");

    const ignored = await db.transaction((tx) => recordAttemptTransition(tx, { ...attempt, status: "authorized", latency_ms: 321 }, { status: "captured" }));
    assert.equal(ignored, undefined, "a capture of an approved attempt is not an outcome");
    const count = await db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM attempt_samples WHERE attempt_id = ?", [attempt.id]);
    assert.equal(Number(count!.n), 1);
  });

  it("counts attempts, latency and payments in the Prometheus registry", async () => {
    observeAuthorization("globalpay", "visa", { kind: "approved", channel_reference: "x", captured: true, raw: {} }, 120);
    observeAuthorization("globalpay", "visa", { kind: "unknown", reason: "timeout" }, 400);
    observePayment("succeeded");
    const text = await metricsRegistry.metrics();
    assert.match(text, /corridor_attempts_total\{channel="globalpay",outcome="approved",brand="visa"\} 1/);
    assert.match(text, /corridor_attempts_total\{channel="globalpay",outcome="unknown",brand="visa"\} 1/);
    assert.match(text, /corridor_attempt_latency_seconds_count\{channel="globalpay"\} 2/);
    assert.match(text, /corridor_attempt_latency_seconds_bucket\{le="0.2",channel="globalpay"\} 1/);
    assert.match(text, /corridor_payments_total\{status="succeeded"\} 1/);
  });
});
