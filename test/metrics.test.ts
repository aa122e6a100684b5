// The metrics routes over HTTP, on a Fastify instance configured like the API's (no type coercion,
// the API's error handler), with a stand-in for merchant authentication, on a fresh database.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { adminMetricsRoutes, metricsRoutes, prometheusRoute } from "../src/api/routes/metrics.ts";
import { errorHandler } from "../src/api/reply.ts";
import type { ApiDeps } from "../src/api/deps.ts";
import type { Principal } from "../src/merchants/merchants.ts";
import { idTimeBound } from "../src/metrics/aggregate.ts";
import { observeAttempt } from "../src/metrics/prometheus.ts";
import { recordAttemptSample, type Outcome } from "../src/metrics/samples.ts";
import { openDb, type Db } from "../src/store/db.ts";
import { freshDatabase, type Database } from "./helpers.ts";

let database: Database;
let db: Db;
let app: FastifyInstance;
const T0 = Date.UTC(2030, 5, 1, 0, 0, 0);
const s = (ms: number) => String(Math.floor(ms / 1000));

before(async () => {
  database = await freshDatabase();
  db = await openDb(database.url);
  let n = 0;
  const add = (merchant_id: string, channel: string, brand: string, outcome: Outcome, created_ms: number, latency_ms: number) =>
    db.transaction((tx) =>
      recordAttemptSample(tx, {
        attempt_id: `att_${++n}`, payment_id: `${idTimeBound("pay", created_ms)}${n}`, merchant_id, channel, method_family: "card", brand,
        bin_country: "US", issuer: null, card_type: null, currency: "USD", amount: 5000, outcome,
        decline_code: outcome === "approved" ? null : "do_not_honor", latency_ms, cost_minor: 20, created_ms,
      }),
    );
  await add("mer_a", "globalpay", "visa", "approved", T0 + 1000, 100);
  await add("mer_a", "globalpay", "visa", "hard_decline", T0 + 2000, 200);
  await add("mer_a", "globalpay", "mastercard", "approved", T0 + 3000, 300);
  await add("mer_a", "localacq", "visa", "approved", T0 + 3_600_000 + 1000, 400);
  await add("mer_b", "globalpay", "visa", "approved", T0 + 4000, 500);

  app = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: false } } });
  app.setErrorHandler(errorHandler);
  const deps = { config: {}, ctx: { db } } as unknown as ApiDeps;
  await app.register(async (scope) => {
    // Stands in for merchantAuth: the merchant is whoever the header names.
    scope.addHook("onRequest", async (request) => {
      request.principal = { merchant: { id: String(request.headers["x-merchant"]) }, key_kind: "secret", key_id: "key_x" } as unknown as Principal;
    });
    metricsRoutes(scope, deps);
  });
  await app.register(async (scope) => {
    adminMetricsRoutes(scope, deps);
    prometheusRoute(scope);
  });
  await app.ready();
});

after(async () => {
  await app.close();
  await db.close();
  await database.drop();
});

async function get(url: string, merchant = "mer_a") {
  const response = await app.inject({ method: "GET", url, headers: { "x-merchant": merchant } });
  return { status: response.statusCode, body: response.headers["content-type"]?.toString().startsWith("application/json") ? response.json() : response.body, headers: response.headers };
}

describe("GET /v1/metrics/channels", () => {
  it("answers the caller's own metrics per bucket and group", async () => {
    const response = await get(`/v1/metrics/channels?group_by=channel,brand&window=1h&from=${s(T0)}&to=${s(T0 + 2 * 3_600_000)}`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.object, "channel_metrics");
    assert.deepEqual(response.body.group_by, ["channel", "brand"]);
    const rows = response.body.data;
    assert.deepEqual(
      rows.map((row: any) => [row.bucket_start, row.group.channel, row.group.brand, row.attempts, row.approval_rate]),
      [
        [T0 / 1000, "globalpay", "mastercard", 1, "1.0000"],
        [T0 / 1000, "globalpay", "visa", 2, "0.5000"],
        [T0 / 1000 + 3600, "localacq", "visa", 1, "1.0000"],
      ],
      "mer_b's attempt is not in mer_a's answer",
    );
    const visa = rows[1];
    assert.equal(visa.bucket_end, T0 / 1000 + 3600);
    assert.deepEqual(visa.decline_codes, { do_not_honor: 1 });
    assert.deepEqual(visa.latency_ms, { p50: 100, p95: 200, p99: 200 });
    assert.deepEqual(visa.cost_per_approved, { usd: 40 });
  });

  it("defaults to group_by=channel, window=1h", async () => {
    const response = await get(`/v1/metrics/channels?from=${s(T0)}&to=${s(T0 + 3_600_000)}`);
    assert.equal(response.status, 200);
    assert.equal(response.body.window, "1h");
    assert.deepEqual(response.body.data.map((row: any) => [row.group.channel, row.attempts]), [["globalpay", 3]]);
  });

  it("answers 400 naming the parameter", async () => {
    const cases: [string, string, string][] = [
      ["group_by=channel,colour", "group_by", "invalid_dimension"],
      ["group_by=Channel", "group_by", "parameter_invalid"],
      ["window=5m", "window", "invalid_window"],
      [`from=abc&to=${s(T0)}`, "from", "parameter_invalid"],
      [`from=${s(T0)}&to=${s(T0)}`, "to", "invalid_range"],
      [`window=1m&from=${s(T0)}&to=${s(T0 + 3 * 86_400_000)}`, "from", "too_many_buckets"],
      ["merchant=mer_b", "merchant", "parameter_unknown"],
    ];
    for (const [query, param, code] of cases) {
      const response = await get(`/v1/metrics/channels?${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(response.body.error.param, param, query);
      assert.equal(response.body.error.code, code, query);
    }
  });
});

describe("GET /v1/admin/metrics/channels", () => {
  it("answers for all merchants, or one", async () => {
    const all = await get(`/v1/admin/metrics/channels?window=1d&from=${s(T0)}&to=${s(T0 + 86_400_000)}`);
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body.data.map((row: any) => [row.group.channel, row.attempts]), [["globalpay", 4], ["localacq", 1]]);
    const one = await get(`/v1/admin/metrics/channels?window=1d&merchant=mer_b&from=${s(T0)}&to=${s(T0 + 86_400_000)}`);
    assert.deepEqual(one.body.data.map((row: any) => [row.group.channel, row.attempts]), [["globalpay", 1]]);
  });
});

describe("GET /metrics", () => {
  it("exposes the Prometheus registry as text", async () => {
    observeAttempt({ channel: "localacq", outcome: "soft_decline", brand: "visa", latency_ms: 250 });
    const response = await app.inject({ method: "GET", url: "/metrics" });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /^text\/plain; version=0.0.4/);
    assert.match(response.body, /# TYPE corridor_attempts_total counter/);
    assert.match(response.body, /corridor_attempts_total\{channel="localacq",outcome="soft_decline",brand="visa"\} 1/);
    assert.match(response.body, /# TYPE corridor_attempt_latency_seconds histogram/);
    assert.match(response.body, /# TYPE corridor_payments_total counter/);
  });
});
