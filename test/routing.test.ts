// Smart routing through the API: versioned configurations with strategies, the dry-run simulator,
// and attempts that keep the strategy and scores that chose them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { call, cards, createMerchant, pay, useStack } from "./helpers.ts";

const setup = useStack();
const put = (body: unknown) => call(setup.stack.url, "PUT", "/v1/routing/config", { key: setup.merchant.secret, body });
const simulate = (body: unknown) => call(setup.stack.url, "POST", "/v1/routing/simulate", { key: setup.merchant.secret, body });

describe("routing configuration v2", () => {
  it("starts from the static list, and versions every change", async () => {
    const initial = await call(setup.stack.url, "GET", "/v1/routing/config", { key: setup.merchant.secret });
    assert.equal(initial.body.version, 0);
    assert.equal(initial.body.strategy.type, "rules");
    assert.deepEqual(initial.body.default_channels, ["globalpay", "localacq"]);
    const first = await put({ rules: [], default_channels: ["globalpay", "localacq"], strategy: { type: "cost_aware", margin_bps: 100 } });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.version, 1);
    assert.equal(first.body.schema_version, 2);
    const second = await put({ rules: [], default_channels: ["localacq", "globalpay"], strategy: { type: "volume_split", weights: { localacq: 1, globalpay: 0 } } });
    assert.equal(second.body.version, 2);
  });

  it("refuses an unknown channel in the weights, naming the field, and writes nothing", async () => {
    const before = await call(setup.stack.url, "GET", "/v1/routing/config", { key: setup.merchant.secret });
    const response = await put({ rules: [], default_channels: ["globalpay"], strategy: { type: "volume_split", weights: { nowhere: 1 } } });
    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.error.param, "strategy.weights.nowhere");
    const after = await call(setup.stack.url, "GET", "/v1/routing/config", { key: setup.merchant.secret });
    assert.equal(after.body.version, before.body.version);
  });

  it("routes by the configured strategy and records it on the attempt", async () => {
    await put({ rules: [], default_channels: ["globalpay", "localacq"], strategy: { type: "volume_split", weights: { localacq: 1, globalpay: 0 } } });
    const payment = await pay(setup.stack, setup.merchant, cards.visa);
    assert.equal(payment.status, 200, payment.text);
    assert.equal(payment.body.channel, "localacq");
    assert.equal(payment.body.attempts[0].routing_strategy, "volume_split");
    assert.equal(payment.body.attempts[0].routing_scores.weight, 1);
    assert.match(payment.body.attempts[0].routing_reason, /volume_split/);
  });

  it("simulates a decision with its reasons and scores, without writing anything", async () => {
    await put({ rules: [], default_channels: ["globalpay", "localacq"], strategy: { type: "cost_aware", margin_bps: 100 } });
    const payments = await call(setup.stack.url, "GET", "/v1/payments?limit=100", { key: setup.merchant.secret });
    const decision = await simulate({ amount: 5000, currency: "usd", card: { number: cards.mastercard } });
    assert.equal(decision.status, 200, decision.text);
    assert.equal(decision.body.object, "routing_decision");
    assert.equal(decision.body.strategy, "cost_aware");
    assert.equal(decision.body.route.length, 2);
    for (const entry of decision.body.route) {
      assert.equal(typeof entry.reason, "string");
      assert.equal(typeof entry.scores.cost_minor, "number", JSON.stringify(entry));
    }
    assert.ok(!decision.text.includes(cards.mastercard), "the PAN is never echoed");
    assert.ok(decision.body.decision_us >= 0);
    const after = await call(setup.stack.url, "GET", "/v1/payments?limit=100", { key: setup.merchant.secret });
    assert.equal(after.body.data.length, payments.body.data.length);
    const bad = await simulate({ amount: 5000, currency: "usd", card: { number: "4242424242424241" } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, "card.number");
  });
});

describe("channel metrics from real payments", () => {
  it("samples every attempt with its outcome and expected cost", async () => {
    const shop = await createMerchant(setup.stack, "Metrics shop");
    await pay(setup.stack, shop, cards.visa, { amount: 10_000 });
    await pay(setup.stack, shop, cards.visa, { amount: 10_000 });
    await pay(setup.stack, shop, cards.doNotHonor, { amount: 10_000 });
    await pay(setup.stack, shop, cards.processingErrorFirst, { amount: 10_000 });
    const now = Math.floor(Date.now() / 1000);
    const metrics = await call(setup.stack.url, "GET", `/v1/metrics/channels?group_by=channel,outcome&window=1h&from=${now - 3600}&to=${now + 60}`, { key: shop.secret });
    assert.equal(metrics.status, 200, metrics.text);
    const rows: any[] = metrics.body.data;
    const count = (channel: string, outcome: string) => rows.filter((row) => row.group.channel === channel && row.group.outcome === outcome).reduce((sum, row) => sum + row.attempts, 0);
    assert.equal(count("globalpay", "approved"), 2);
    assert.equal(count("globalpay", "hard_decline"), 1);
    assert.equal(count("globalpay", "technical_error"), 1);
    assert.equal(count("localacq", "approved"), 1, "the cascade's second attempt");
    const approved = rows.find((row) => row.group.channel === "globalpay" && row.group.outcome === "approved");
    // globalpay: 2.9 % + 30 cents, +1 % cross-border (the card's country is unknown): 390 + 30 on 100.00 USD
    assert.equal(approved.cost_per_approved.usd, 420, JSON.stringify(approved));
  });
});
