// Bad input: a clear 400 naming the field, never a 5xx, and nothing written. Authentication and
// rate limits: 401 / 429 before anything happens.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertLedgerBalanced, call, cardPayment, cards, createMerchant, pay, startStack, type ApiResponse, type Merchant, type Stack } from "./helpers.ts";

const nextYear = new Date().getUTCFullYear() + 3;

function card(overrides: Record<string, unknown>) {
  return { type: "card", card: { number: cards.visa, exp_month: 12, exp_year: nextYear, cvc: "123", ...overrides } };
}

function assertInvalid(response: ApiResponse, param: string | undefined, code?: string) {
  assert.equal(response.status, 400, response.text);
  assert.equal(response.body.error.type, "invalid_request_error", response.text);
  assert.equal(typeof response.body.error.code, "string", response.text);
  assert.ok(response.body.error.code.length > 0, response.text);
  assert.equal(typeof response.body.error.message, "string", response.text);
  if (param !== undefined) assert.equal(response.body.error.param, param, response.text);
  if (code !== undefined) assert.equal(response.body.error.code, code, response.text);
}

/** Everything a merchant can observe of what was written, plus the whole ledger's totals. */
async function snapshot(stack: Stack, merchant: Merchant) {
  const payments = await call(stack.url, "GET", "/v1/payments?limit=100", { key: merchant.secret });
  const events = await call(stack.url, "GET", "/v1/events?limit=100", { key: merchant.secret });
  const refunds = await call(stack.url, "GET", "/v1/refunds?limit=100", { key: merchant.secret });
  const ledger = await call(stack.url, "GET", "/v1/admin/ledger/verify", { key: stack.admin_key });
  for (const response of [payments, events, refunds, ledger]) assert.equal(response.status, 200, response.text);
  return {
    payments: payments.body.data.length as number,
    events: events.body.data.length as number,
    refunds: refunds.body.data.length as number,
    ledger: JSON.stringify(ledger.body.currencies),
  };
}

describe("validation", () => {
  let stack: Stack;
  let merchant: Merchant;
  let captured: any;

  before(async () => {
    stack = await startStack();
    merchant = await createMerchant(stack);
    const paid = await pay(stack, merchant, cards.visa, { amount: 1500 });
    assert.equal(paid.status, 200, paid.text);
    assert.equal(paid.body.status, "succeeded");
    captured = paid.body;
  });

  after(async () => {
    if (!stack) return;
    await assertLedgerBalanced(stack);
    await stack.close();
  });

  it("rejects bad payment input with a 400 naming the field, and writes nothing", async () => {
    const before = await snapshot(stack, merchant);
    const post = (body: unknown) => call(stack.url, "POST", "/v1/payments", { key: merchant.secret, body });
    const base = cardPayment(cards.visa);
    const { amount: _amount, ...withoutAmount } = base;

    const cases: [string, unknown, string, string?][] = [
      ["missing amount", withoutAmount, "amount", "parameter_missing"],
      ["amount 0", { ...base, amount: 0 }, "amount"],
      ["negative amount", { ...base, amount: -100 }, "amount"],
      ["fractional amount", { ...base, amount: 1.5 }, "amount"],
      ["string amount", { ...base, amount: "100" }, "amount"],
      ["huge amount", { ...base, amount: 1e20 }, "amount"],
      ["unknown currency", { ...base, currency: "xyz" }, "currency", "invalid_currency"],
      ["Luhn failure", { ...base, payment_method_data: card({ number: "4242424242424241" }) }, "payment_method_data.card.number", "invalid_number"],
      ["exp_month 13", { ...base, payment_method_data: card({ exp_month: 13 }) }, "payment_method_data.card.exp_month"],
      ["expired card", { ...base, payment_method_data: card({ exp_month: 1, exp_year: new Date().getUTCFullYear() - 1 }) }, "payment_method_data.card.exp_year"],
      ["cvc of 2 digits", { ...base, payment_method_data: card({ cvc: "12" }) }, "payment_method_data.card.cvc"],
      ["unknown top-level field", { ...base, surprise: true }, "surprise", "parameter_unknown"],
      ["unknown card field", { ...base, payment_method_data: card({ pin: "1234" }) }, "payment_method_data.card.pin", "parameter_unknown"],
      ["metadata with 51 keys", { ...base, metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
      ["metadata value not a string", { ...base, metadata: { order: 42 } }, "metadata.order"],
      ["capture_method sometimes", { ...base, capture_method: "sometimes" }, "capture_method"],
      ["confirm without a payment method", { amount: 1000, currency: "usd", confirm: true }, "payment_method_data", "payment_method_required"],
    ];
    for (const [name, body, param, code] of cases) {
      const response = await post(body);
      assert.ok(response.status < 500, `${name}: ${response.status} ${response.text}`);
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assertInvalid(response, param, code);
    }

    // Malformed bodies.
    const raw = (text: string, headers: Record<string, string> = {}) =>
      call(stack.url, "POST", "/v1/payments", { key: merchant.secret, raw: text, headers });
    const invalidJson = await raw('{"amount": 100, "currency": "usd",');
    assertInvalid(invalidJson, undefined);

    const wrongType = await raw("amount=100&currency=usd", { "content-type": "application/x-www-form-urlencoded" });
    assert.equal(wrongType.status, 415, wrongType.text);
    assert.equal(wrongType.body.error.type, "invalid_request_error");
    assert.equal(wrongType.body.error.code, "unsupported_media_type");

    const textPlain = await raw(JSON.stringify(base), { "content-type": "text/plain" });
    assert.equal(textPlain.status, 415, textPlain.text);

    // Deep nesting under the size limit: valid JSON, refused by the schema, no crash.
    const depth = 5_000;
    const deep = `{"amount":100,"currency":"usd","metadata":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
    assert.ok(deep.length < 64 * 1024);
    assertInvalid(await raw(deep), "metadata.a");
    const deepUnknown = `{"amount":100,"currency":"usd","nest":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
    assertInvalid(await raw(deepUnknown), "nest", "parameter_unknown");

    // Over 64 KiB.
    const huge = JSON.stringify({ ...base, description: "x".repeat(70 * 1024) });
    const tooLarge = await raw(huge);
    assert.equal(tooLarge.status, 413, tooLarge.text);
    assert.equal(tooLarge.body.error.type, "invalid_request_error");
    assert.equal(tooLarge.body.error.code, "request_too_large");

    assert.deepEqual(await snapshot(stack, merchant), before);
  });

  it("rejects bad refunds: unknown payment 404, too large 400 param amount; writes nothing", async () => {
    const before = await snapshot(stack, merchant);
    const missing = await call(stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: "pay_doesnotexist0" } });
    assert.equal(missing.status, 404, missing.text);
    assert.equal(missing.body.error.type, "invalid_request_error");
    assert.equal(missing.body.error.code, "resource_missing");

    const tooMuch = await call(stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: captured.id, amount: captured.amount_received + 1 } });
    assertInvalid(tooMuch, "amount");

    const zero = await call(stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: captured.id, amount: 0 } });
    assertInvalid(zero, "amount");

    const noPayment = await call(stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { amount: 100 } });
    assertInvalid(noPayment, "payment", "parameter_missing");

    const payment = await call(stack.url, "GET", `/v1/payments/${captured.id}`, { key: merchant.secret });
    assert.equal(payment.body.amount_refunded, 0);
    assert.deepEqual(await snapshot(stack, merchant), before);
  });

  it("bad query parameters get a 400 naming the parameter", async () => {
    const response = await call(stack.url, "GET", "/v1/payments?limit=abc", { key: merchant.secret });
    assertInvalid(response, "limit");
    const unknown = await call(stack.url, "GET", "/v1/payments?colour=red", { key: merchant.secret });
    assertInvalid(unknown, "colour", "parameter_unknown");
  });

  it("malformed URLs and over-long ids answer in the API's error shape", async () => {
    const long = await call(stack.url, "GET", `/v1/payments/pay_${"a".repeat(200)}`, { key: merchant.secret });
    assert.equal(long.status, 404, long.text);
    assert.equal(long.body.error.type, "invalid_request_error", long.text);
    assert.equal(long.body.error.code, "resource_missing", long.text);
    const badPattern = await call(stack.url, "GET", "/v1/payments/NOT-AN-ID", { key: merchant.secret });
    assertInvalid(badPattern, "id");
    const undecodable = await call(stack.url, "GET", "/v1/payments/pay_%ZZ", { key: merchant.secret });
    assertInvalid(undecodable, undefined);
    const unknownRoute = await call(stack.url, "PUT", "/v1/payments", { key: merchant.secret, body: {} });
    assert.equal(unknownRoute.status, 404, unknownRoute.text);
    assert.equal(unknownRoute.body.error.code, "resource_missing");
  });

  it("authentication: no key, a wrong key, a publishable key, and the wrong kind of key get 401", async () => {
    const before = await snapshot(stack, merchant);
    const body = cardPayment(cards.visa);
    const expect401 = (response: ApiResponse, what: string) => {
      assert.equal(response.status, 401, `${what}: ${response.text}`);
      assert.equal(response.body.error.type, "authentication_error", what);
    };
    expect401(await call(stack.url, "POST", "/v1/payments", { body }), "no key");
    expect401(await call(stack.url, "GET", "/v1/payments"), "no key (GET)");
    expect401(await call(stack.url, "POST", "/v1/payments", { key: "sk_test_notarealkey000000000000000", body }), "wrong key");
    expect401(await call(stack.url, "GET", "/v1/payments", { key: merchant.secret + "x" }), "wrong key (GET)");
    expect401(await call(stack.url, "GET", "/v1/payments", { headers: { authorization: `Basic ${merchant.secret}` } }), "not a bearer");

    expect401(await call(stack.url, "POST", "/v1/payments", { key: merchant.publishable, body }), "publishable key creates");
    expect401(await call(stack.url, "GET", "/v1/payments", { key: merchant.publishable }), "publishable key lists");
    expect401(await call(stack.url, "GET", `/v1/payments/${captured.id}`, { key: merchant.publishable }), "publishable key reads");
    expect401(await call(stack.url, "POST", "/v1/refunds", { key: merchant.publishable, body: { payment: captured.id } }), "publishable key refunds");

    expect401(await call(stack.url, "GET", "/v1/admin/ledger/verify", { key: merchant.secret }), "merchant key on admin");
    expect401(
      await call(stack.url, "POST", "/v1/admin/merchants", { key: merchant.secret, body: { name: "Evil", country: "US", default_currency: "usd" } }),
      "merchant key creates a merchant",
    );
    expect401(await call(stack.url, "GET", "/v1/admin/ledger/verify"), "no key on admin");
    expect401(await call(stack.url, "GET", "/v1/payments", { key: stack.admin_key }), "admin key on merchant endpoint");
    expect401(await call(stack.url, "POST", "/v1/payments", { key: stack.admin_key, body }), "admin key creates a payment");

    assert.deepEqual(await snapshot(stack, merchant), before);
  });

  describe("rate limits", () => {
    let limited: Stack;
    let shop: Merchant;

    before(async () => {
      limited = await startStack({ env: { RATE_LIMIT_PER_SECOND: "5" } });
      shop = await createMerchant(limited);
    });

    after(async () => {
      if (!limited) return;
      await assertLedgerBalanced(limited);
      await limited.close();
    });

    it("answers 429 rate_limit_error past the limit, and a rate-limited POST writes nothing", async () => {
      const gets = await Promise.all(Array.from({ length: 20 }, () => call(limited.url, "GET", "/v1/payments", { key: shop.secret })));
      const statuses = gets.map((response) => response.status);
      assert.ok(statuses.includes(429), `statuses: ${statuses}`);
      assert.ok(statuses.includes(200), `statuses: ${statuses}`);
      assert.ok(statuses.every((status) => status === 200 || status === 429), `statuses: ${statuses}`);
      const rejected = gets.find((response) => response.status === 429)!;
      assert.equal(rejected.body.error.type, "rate_limit_error", rejected.text);

      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const body = { amount: 1000, currency: "usd" };
      const posts = await Promise.all(Array.from({ length: 12 }, () => call(limited.url, "POST", "/v1/payments", { key: shop.secret, body })));
      const created = posts.filter((response) => response.status === 200);
      const throttled = posts.filter((response) => response.status === 429);
      assert.equal(created.length + throttled.length, posts.length, posts.map((response) => response.status).join(","));
      assert.ok(throttled.length > 0, "some POSTs are rate limited");
      for (const response of throttled) assert.equal(response.body.error.type, "rate_limit_error");

      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const payments = await call(limited.url, "GET", "/v1/payments?limit=100", { key: shop.secret });
      assert.equal(payments.status, 200, payments.text);
      assert.deepEqual(payments.body.data.map((p: any) => p.id).sort(), created.map((response) => response.body.id).sort());
      const events = await call(limited.url, "GET", "/v1/events?limit=100", { key: shop.secret });
      assert.equal(events.body.data.length, created.length, "one payment.created per created payment, none for throttled ones");
    });
  });
});
