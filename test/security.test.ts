// Tenant isolation (OWASP API1: another merchant's objects do not exist for you: 404, never 403)
// and card data at rest (PCI DSS 3.3.1 / 3.5.1: no PAN, no CVC in the database or the logs; API
// keys stored only hashed).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { assertLedgerBalanced, backend, call, cardPayment, cards, createMerchant, eventually, pay, startStack, type Merchant, type Stack } from "./helpers.ts";

describe("tenant isolation", () => {
  let stack: Stack;
  let a: Merchant;
  let b: Merchant;
  const ids: Record<string, string> = {};

  before(async () => {
    stack = await startStack();
    a = await createMerchant(stack, "Shop A");
    b = await createMerchant(stack, "Shop B");
    const paid = await pay(stack, a, cards.visa);
    assert.equal(paid.status, 200, paid.text);
    ids.paid = paid.body.id;
    const manual = await pay(stack, a, cards.visa, { capture_method: "manual" });
    assert.equal(manual.body.status, "requires_capture", manual.text);
    ids.manual = manual.body.id;
    const unconfirmed = await call(stack.url, "POST", "/v1/payments", { key: a.secret, body: { ...cardPayment(cards.visa), confirm: false } });
    assert.equal(unconfirmed.body.status, "requires_confirmation", unconfirmed.text);
    ids.unconfirmed = unconfirmed.body.id;
    const refund = await call(stack.url, "POST", "/v1/refunds", { key: a.secret, body: { payment: ids.paid, amount: 500 } });
    assert.equal(refund.status, 200, refund.text);
    ids.refund = refund.body.id;
    const endpoint = await call(stack.url, "POST", "/v1/webhook_endpoints", { key: a.secret, body: { url: "http://127.0.0.1:9/hook", enabled_events: ["*"] } });
    assert.equal(endpoint.status, 201, endpoint.text);
    ids.endpoint = endpoint.body.id;
    const events = await call(stack.url, "GET", "/v1/events", { key: a.secret });
    ids.event = events.body.data[0].id;
    // B has objects of its own, so its lists are not trivially empty.
    assert.equal((await pay(stack, b, cards.mastercard)).status, 200);
  });

  after(async () => {
    if (!stack) return;
    await assertLedgerBalanced(stack);
    await stack.close();
  });

  const expect404 = (response: { status: number; text: string; body: any }, what: string) => {
    assert.equal(response.status, 404, `${what}: ${response.text}`);
    assert.equal(response.body.error.code, "resource_missing", what);
  };

  it("merchant B gets 404 for every one of A's objects, and nothing of A's changes", async () => {
    const as = (method: string, path: string, body?: unknown) => call(stack.url, method, path, { key: b.secret, body });
    expect404(await as("GET", `/v1/payments/${ids.paid}`), "GET payment");
    expect404(await as("POST", `/v1/payments/${ids.unconfirmed}/confirm`, {}), "confirm");
    expect404(await as("POST", `/v1/payments/${ids.unconfirmed}/confirm`, { payment_method_data: cardPayment(cards.visa).payment_method_data }), "confirm with a card");
    expect404(await as("POST", `/v1/payments/${ids.manual}/capture`, {}), "capture");
    expect404(await as("POST", `/v1/payments/${ids.manual}/cancel`, {}), "cancel");
    expect404(await as("GET", `/v1/refunds/${ids.refund}`), "GET refund");
    expect404(await as("POST", "/v1/refunds", { payment: ids.paid }), "refund A's payment");
    expect404(await as("GET", `/v1/events/${ids.event}`), "GET event");
    expect404(await as("GET", `/v1/webhook_endpoints/${ids.endpoint}`), "GET webhook endpoint");
    expect404(await as("DELETE", `/v1/webhook_endpoints/${ids.endpoint}`), "DELETE webhook endpoint");

    const mine = (path: string) => call(stack.url, "GET", path, { key: a.secret });
    assert.equal((await mine(`/v1/payments/${ids.paid}`)).body.amount_refunded, 500);
    assert.equal((await mine(`/v1/payments/${ids.unconfirmed}`)).body.status, "requires_confirmation");
    assert.equal((await mine(`/v1/payments/${ids.manual}`)).body.status, "requires_capture");
    assert.equal((await mine(`/v1/webhook_endpoints/${ids.endpoint}`)).body.status, "enabled");
  });

  it("an Idempotency-Key is scoped to its merchant: B never gets A's stored answer", async () => {
    const key = `shared-${Date.now()}`;
    const body = { amount: 4321, currency: "usd", description: "same body, same key" };
    const first = await call(stack.url, "POST", "/v1/payments", { key: a.secret, body, headers: { "idempotency-key": key } });
    assert.equal(first.status, 200, first.text);
    const other = await call(stack.url, "POST", "/v1/payments", { key: b.secret, body, headers: { "idempotency-key": key } });
    assert.equal(other.status, 200, other.text);
    assert.notEqual(other.body.id, first.body.id);
    assert.equal(other.headers.get("idempotent-replayed"), null);
    expect404(await call(stack.url, "GET", `/v1/payments/${first.body.id}`, { key: b.secret }), "A's idempotent payment");
    const replay = await call(stack.url, "POST", "/v1/payments", { key: a.secret, body, headers: { "idempotency-key": key } });
    assert.equal(replay.body.id, first.body.id);
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    ids.idempotent = first.body.id;
  });

  it("B's lists never contain A's objects, even paging from A's ids", async () => {
    const aIds = new Set(Object.values(ids));
    const lists = [
      "/v1/payments?limit=100",
      "/v1/refunds?limit=100",
      "/v1/events?limit=100",
      "/v1/webhook_endpoints",
      `/v1/payments?limit=100&starting_after=${ids.unconfirmed}`,
      `/v1/events?limit=100&starting_after=${ids.event}`,
      `/v1/refunds?limit=100&payment=${ids.paid}`,
    ];
    let seen = 0;
    for (const path of lists) {
      const response = await call(stack.url, "GET", path, { key: b.secret });
      assert.equal(response.status, 200, `${path}: ${response.text}`);
      for (const item of response.body.data) {
        seen++;
        assert.ok(!aIds.has(item.id), `${path} leaks ${item.id}`);
        const nested = item.data?.object;
        if (nested) assert.ok(!aIds.has(nested.id) && !aIds.has(nested.payment), `${path} leaks ${nested.id}`);
        if (item.object === "refund") assert.ok(!aIds.has(item.payment), `${path} leaks a refund of ${item.payment}`);
      }
    }
    assert.ok(seen > 0, "B sees its own objects");
  });
});

/** Every place a number could leak into: the form sent and the digits alone. */
function needles(pan: string): string[] {
  return [pan, pan.replace(/(\d{4})(?=\d)/g, "$1 ")];
}

describe("card data and keys at rest", () => {
  let stack: Stack;
  let merchant: Merchant;
  let logDir: string;
  let logFile: string;
  // A CVC no test card uses elsewhere; searched in the JSON forms it would take if a request body,
  // a channel request or a card object were stored or logged (a bare 3-digit string can occur by
  // chance inside random ids and base64 ciphertext, so the bare digits are not searched).
  const cvc = "987";
  const cvcPatterns = [/"cvc"\s*:\s*"987"/i, /"cvv2?"\s*:\s*"987"/i, /"security_code"\s*:\s*"987"/i, /cvc=987/i];
  const pans = [cards.visa, cards.mastercard, cards.threeDs, cards.doNotHonor, cards.insufficientFunds];

  before(async () => {
    logDir = mkdtempSync(join(tmpdir(), "corridor-log-"));
    logFile = join(logDir, "corridor.log");
    stack = await startStack({ env: { LOG_LEVEL: "info", LOG_FILE: logFile } });
    merchant = await createMerchant(stack);
  });

  let stopped = false;

  after(async () => {
    rmSync(logDir, { recursive: true, force: true });
    if (!stack) return;
    if (stopped) return stack.database.drop();
    await assertLedgerBalanced(stack);
    await stack.close();
  });

  it("stores no PAN, no CVC and no API key in clear, in the database nor in the log", async () => {
    const withCvc = (number: string, extra: Record<string, unknown> = {}) =>
      ({ ...cardPayment(number, extra), payment_method_data: { type: "card", card: { ...cardPayment(number).payment_method_data.card, cvc } } });
    const post = (body: unknown) => call(stack.url, "POST", "/v1/payments", { key: merchant.secret, body, headers: { "idempotency-key": `k-${Math.random()}` } });

    const visa = await post(withCvc(cards.visa));
    assert.equal(visa.body.status, "succeeded", visa.text);
    const spaced = await post(withCvc(needles(cards.mastercard)[1], { capture_method: "manual" }));
    assert.equal(spaced.body.status, "requires_capture", spaced.text);
    const captured = await call(stack.url, "POST", `/v1/payments/${spaced.body.id}/capture`, { key: merchant.secret, body: {} });
    assert.equal(captured.body.status, "succeeded", captured.text);
    const threeDs = await post(withCvc(cards.threeDs, { return_url: "https://shop.example/done" }));
    assert.equal(threeDs.body.status, "requires_action", threeDs.text);
    const declined = await post(withCvc(cards.doNotHonor));
    assert.equal(declined.status, 402, declined.text);
    const created = await post({ ...withCvc(cards.insufficientFunds), confirm: false });
    assert.equal(created.body.status, "requires_confirmation", created.text);
    const confirmed = await call(stack.url, "POST", `/v1/payments/${created.body.id}/confirm`, { key: merchant.secret, body: {} });
    assert.equal(confirmed.status, 402, confirmed.text);
    const refund = await call(stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: visa.body.id } });
    assert.equal(refund.status, 200, refund.text);
    // Bad input carrying a card must not be logged either.
    const bad = await post({ ...withCvc(cards.visa), surprise: 1 });
    assert.equal(bad.status, 400);
    // Let the webhook worker and janitor run over these rows (events carry payment objects).
    await eventually(async () => (await call(stack.url, "GET", "/v1/events?limit=100", { key: merchant.secret })).body.data.length >= 8, 5_000, "events");
    await assertLedgerBalanced(stack);

    let databaseText: string;
    if (backend === "sqlite") {
      await stack.stop();
      stopped = true;
      const dir = stack.database.dir!;
      const files = readdirSync(dir);
      assert.ok(files.some((name) => name.endsWith(".sqlite")), `database files: ${files}`);
      databaseText = files.map((name) => readFileSync(join(dir, name)).toString("latin1")).join("\n");
    } else {
      const client = new pg.Client({ connectionString: stack.database.url });
      await client.connect();
      try {
        const tables = await client.query<{ table_name: string }>(
          "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = 'public' AND table_type = 'BASE TABLE'",
        );
        assert.ok(tables.rows.length >= 10, `tables: ${tables.rows.map((row) => row.table_name)}`);
        const dumps: string[] = [];
        for (const { table_name } of tables.rows) {
          const rows = await client.query(`SELECT t::text AS row FROM "${table_name}" t`);
          dumps.push(...rows.rows.map((row) => row.row as string));
        }
        databaseText = dumps.join("\n");
      } finally {
        await client.end();
      }
      await stack.stop();
      stopped = true;
    }
    assert.ok(databaseText.includes(visa.body.id), "the scan sees the payments");
    assert.ok(databaseText.includes(`"${cards.visa.slice(0, 6)}"`) || databaseText.includes(cards.visa.slice(0, 6)), "the scan sees the vault's BIN column");
    const logText = readFileSync(logFile, "utf8");
    assert.ok(logText.length > 0, "the log file was written");

    for (const [where, text] of [["database", databaseText], ["log", logText]] as const) {
      for (const pan of pans) {
        for (const needle of needles(pan)) {
          assert.ok(!text.includes(needle), `${where} holds the card number ${needle}`);
          if (where === "database" && backend === "postgres") {
            assert.ok(!text.includes(Buffer.from(needle).toString("hex")), `${where} holds the card number ${needle} as bytea`);
          }
        }
      }
      for (const pattern of cvcPatterns) assert.ok(!pattern.test(text), `${where} holds the CVC (${pattern})`);
      assert.ok(!text.includes(merchant.secret), `${where} holds the secret API key`);
      assert.ok(!text.includes(merchant.publishable), `${where} holds the publishable API key`);
      assert.ok(!text.includes(stack.admin_key), `${where} holds the admin key`);
    }
  });
});
