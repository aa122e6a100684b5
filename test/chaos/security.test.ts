// Hostile input and hostile tenants, part two: vault key rotation without downtime, SSRF protection
// for webhook URLs (OWASP API7), and the per-IP guard against made-up API keys (OWASP API4).
// No test sends traffic to a non-loopback address: the delivery-time check is exercised with names
// that resolve to loopback and with injected resolvers.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { checkWebhookUrl, disallowedAddressReason, guardedLookup, type Resolver } from "../../src/events/ssrf.ts";
import { assertLedgerBalanced, backend, call, cardPayment, cards, createMerchant, eventually, pay, startStack, type Merchant, type Stack } from "../helpers.ts";

const key = (kid: string) => `${kid}:${randomBytes(32).toString("base64")}`;

/** Vault key ids and their counts, read straight from the database (read-only). */
async function vaultKeyCounts(stack: Stack): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  if (backend === "postgres") {
    const client = new pg.Client({ connectionString: stack.database.url });
    await client.connect();
    try {
      await client.query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
      const result = await client.query("SELECT key_id, COUNT(*) AS n FROM vault_cards GROUP BY key_id");
      for (const row of result.rows) counts[row.key_id] = Number(row.n);
    } finally {
      await client.end();
    }
    return counts;
  }
  const db = new Database(join(stack.database.dir!, "corridor.sqlite"), { readonly: true, fileMustExist: true });
  try {
    for (const row of db.prepare("SELECT key_id, COUNT(*) AS n FROM vault_cards GROUP BY key_id").all() as { key_id: string; n: number }[]) counts[row.key_id] = row.n;
  } finally {
    db.close();
  }
  return counts;
}

describe("vault key rotation without downtime", () => {
  const keyA = key("A");
  const keyB = key("B");
  const stacks: Stack[] = [];

  after(async () => {
    for (const stack of stacks) await stack.stop().catch(() => {});
    await stacks[0]?.database.drop();
  });

  it("restarts with a new active key, rotates while payments flow, and old payments confirm with the new key alone", async () => {
    // 1. Key A only: payments, some left unconfirmed (their cards are vaulted under A).
    const first = await startStack({ vault_keys: keyA });
    stacks.push(first);
    const merchant = await createMerchant(first);
    for (let i = 0; i < 12; i++) {
      const paid = await pay(first, merchant, i % 2 ? cards.visa : cards.mastercard, { amount: 1000 + i });
      assert.equal(paid.body.status, "succeeded", paid.text);
    }
    const unconfirmed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await pay(first, merchant, cards.visa, { confirm: false, amount: 700 + i });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.body.status, "requires_confirmation", created.text);
      unconfirmed.push(created.body.id);
    }
    assert.deepEqual(Object.keys(await vaultKeyCounts(first)), ["A"]);
    await first.stop();

    // 2. Restart on the same database with B active and A still loaded: a card vaulted under A confirms.
    const second = await startStack({ database: first.database, vault_keys: `${keyB},${keyA}` });
    stacks.push(second);
    const confirmed = await call(second.url, "POST", `/v1/payments/${unconfirmed[0]}/confirm`, { key: merchant.secret });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.body.status, "succeeded", confirmed.text);
    const mixed = await vaultKeyCounts(second);
    assert.ok(mixed.A > 0, JSON.stringify(mixed));

    // Only the admin key may rotate.
    const forbidden = await call(second.url, "POST", "/v1/admin/vault/rotate", { key: merchant.secret, body: {} });
    assert.equal(forbidden.status, 401, forbidden.text);
    const badLimit = await call(second.url, "POST", "/v1/admin/vault/rotate", { key: second.admin_key, body: { limit: 0 } });
    assert.equal(badLimit.status, 400, badLimit.text);
    assert.equal(badLimit.body.error.param, "limit");

    // 3. Rotate in small batches while payments are being created concurrently: no errors anywhere.
    let rotating = true;
    const load = (async () => {
      const results = [];
      while (rotating || results.length < 10) results.push(await pay(second, merchant, cards.visa, { amount: 1234 }));
      return results;
    })();
    const calls: any[] = [];
    for (let round = 0; round < 100; round++) {
      const rotated = await call(second.url, "POST", "/v1/admin/vault/rotate", { key: second.admin_key, body: { limit: 2 } });
      assert.equal(rotated.status, 200, rotated.text);
      assert.equal(rotated.body.active_key_id, "B");
      calls.push(rotated.body);
      if (rotated.body.remaining === 0) break;
    }
    rotating = false;
    const payments = await load;
    for (const payment of payments) assert.equal(payment.status, 200, payment.text);
    for (const payment of payments) assert.equal(payment.body.status, "succeeded", payment.text);
    assert.ok(calls.length > 1, "rotation ran in several bounded calls");
    assert.ok(calls.every((body) => body.rotated <= 2), JSON.stringify(calls));
    assert.equal(calls.reduce((sum, body) => sum + body.rotated, 0), mixed.A, JSON.stringify(calls));
    assert.equal(calls.at(-1).remaining, 0);

    // Idempotent: nothing left to do.
    const again = await call(second.url, "POST", "/v1/admin/vault/rotate", { key: second.admin_key });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual({ rotated: again.body.rotated, remaining: again.body.remaining, active_key_id: again.body.active_key_id }, { rotated: 0, remaining: 0, active_key_id: "B" });

    // 4. Straight from the database: no card is under A any more.
    const counts = await vaultKeyCounts(second);
    assert.equal(counts.A, undefined, JSON.stringify(counts));
    assert.ok(counts.B > 0, JSON.stringify(counts));
    await assertLedgerBalanced(second);
    await second.stop();

    // 5. Key B alone: a payment created (and vaulted) under A confirms.
    const third = await startStack({ database: first.database, vault_keys: keyB });
    stacks.push(third);
    const late = await call(third.url, "POST", `/v1/payments/${unconfirmed[1]}/confirm`, { key: merchant.secret });
    assert.equal(late.status, 200, late.text);
    assert.equal(late.body.status, "succeeded", late.text);
    const fresh = await pay(third, merchant, cards.mastercard);
    assert.equal(fresh.body.status, "succeeded", fresh.text);
    await assertLedgerBalanced(third);
  });
});

describe("SSRF: the address classifier and the resolver-based check", () => {
  it("refuses loopback, private, CGNAT, link-local, metadata, unspecified, multicast, ULA and IPv4-mapped forms", () => {
    const refused = [
      "127.0.0.1", "127.255.255.254", "10.0.0.5", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "100.127.255.255",
      "169.254.169.254", "169.254.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
      "::", "::1", "0:0:0:0:0:0:0:1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "febf::1", "ff02::1",
      "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:192.168.0.1", "64:ff9b::7f00:1", "::127.0.0.1",
      "not-an-ip", "",
    ];
    for (const address of refused) assert.ok(disallowedAddressReason(address), `${address} is refused`);
    const allowed = ["8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "169.253.255.255", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"];
    for (const address of allowed) assert.equal(disallowedAddressReason(address), undefined, `${address} is allowed`);
  });

  it("checks every address a name resolves to, IP literals in every notation, and never dials what it refused", async () => {
    const calls: string[] = [];
    const resolver = (answers: Record<string, string[]>): Resolver => async (host) => {
      calls.push(host);
      if (!(host in answers)) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
      return answers[host].map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    };
    const dns = resolver({
      "public.test": ["93.184.216.34", "2606:2800:220:1::1"],
      "rebind.test": ["93.184.216.34", "127.0.0.1"],
      "metadata.test": ["169.254.169.254"],
      "mapped.test": ["::ffff:10.1.2.3"],
      "empty.test": [],
    });
    assert.equal((await checkWebhookUrl("https://public.test/hooks", dns)).ok, true);
    for (const url of ["https://rebind.test/", "http://metadata.test/latest/meta-data", "http://mapped.test/", "http://empty.test/", "http://nxdomain.test/"]) {
      const check = await checkWebhookUrl(url, dns);
      assert.equal(check.ok, false, url);
    }
    calls.length = 0;
    for (const url of [
      "http://127.0.0.1:1/x", "http://localhost/", "http://LOCALHOST./", "http://api.localhost/", "http://[::1]/", "http://169.254.169.254/latest/meta-data",
      "http://10.0.0.5/", "http://0x7f000001/", "http://2130706433/", "http://127.1/", "http://0177.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://[fd00::1]/",
      "http://0/", "ftp://example.test/", "http://user:pass@public.test/", "not a url",
    ]) {
      const check = await checkWebhookUrl(url, dns);
      assert.equal(check.ok, false, url);
    }
    assert.deepEqual(calls, [], "IP literals, loopback names and malformed URLs are refused without a lookup");

    // At connect time (the address actually dialed): a name that now resolves to loopback fails.
    const lookup = guardedLookup(resolver({ "rebind.test": ["127.0.0.1"], "public.test": ["93.184.216.34"] }));
    const dial = (host: string) => new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      lookup(host, { all: false }, (error, address) => resolve({ error, address })));
    const refused = await dial("rebind.test");
    assert.equal(refused.error?.code, "ERR_URL_NOT_ALLOWED");
    const fine = await dial("public.test");
    assert.equal(fine.error, null);
    assert.equal(fine.address, "93.184.216.34");
  });
});

describe("SSRF: webhook endpoints in live mode", () => {
  let live: Stack;
  let merchant: Merchant;
  let receiver: Server;
  let receiverPort: number;
  let received = 0;

  before(async () => {
    receiver = createServer((request, response) => {
      received++;
      request.resume();
      response.end("ok");
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverPort = (receiver.address() as AddressInfo).port;
    live = await startStack({ env: { CORRIDOR_MODE: "live" }, webhook_retry_schedule_ms: [60_000] });
    merchant = await createMerchant(live);
  });

  after(async () => {
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    if (!live) return;
    await assertLedgerBalanced(live);
    await live.close();
  });

  it("refuses internal URLs at creation with 400 url_not_allowed (param url), and writes nothing", async () => {
    const urls = [
      "http://127.0.0.1:1/x", "http://localhost/", "http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/",
      "http://0x7f000001/", "http://2130706433/", "http://127.1/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://192.168.0.1/",
      "http://172.16.5.4/", "http://100.64.1.1/", "http://0.0.0.0/", `http://localhost:${receiverPort}/hooks`,
    ];
    for (const url of urls) {
      const response = await call(live.url, "POST", "/v1/webhook_endpoints", { key: merchant.secret, body: { url, enabled_events: ["*"] } });
      assert.equal(response.status, 400, `${url}: ${response.text}`);
      assert.equal(response.body.error.type, "invalid_request_error");
      assert.equal(response.body.error.code, "url_not_allowed", response.text);
      assert.equal(response.body.error.param, "url", response.text);
    }
    const endpoints = await call(live.url, "GET", "/v1/webhook_endpoints", { key: merchant.secret });
    assert.equal(endpoints.status, 200, endpoints.text);
    assert.deepEqual(endpoints.body.data, []);
    const events = await call(live.url, "GET", "/v1/events", { key: merchant.secret });
    assert.deepEqual(events.body.data, []);
  });

  it("refuses again at delivery time: an endpoint row whose name resolves to loopback gets no request, and the failure is recorded", async () => {
    // The row is inserted directly, as if created before the guard existed (or before DNS changed).
    const endpoint_id = `we_ssrf${randomBytes(6).toString("hex")}`;
    await live.corridor.ctx.db.transaction((tx) =>
      tx.run("INSERT INTO webhook_endpoints (id, merchant_id, url, enabled_events, secret, status, created_ms) VALUES (?, ?, ?, ?, ?, 'enabled', ?)", [
        endpoint_id, merchant.id, `http://localhost:${receiverPort}/hooks`, JSON.stringify(["*"]), `whsec_${randomBytes(24).toString("base64")}`, Date.now(),
      ]),
    );
    const paid = await pay(live, merchant, cards.visa);
    assert.equal(paid.body.status, "succeeded", paid.text);
    const failures = await eventually(async () => {
      const rows = await live.corridor.ctx.db.all<{ attempts: unknown; last_error: string | null; last_response_status: unknown }>(
        "SELECT attempts, last_error, last_response_status FROM webhook_deliveries WHERE endpoint_id = ?",
        [endpoint_id],
      );
      return rows.length > 0 && rows.every((row) => Number(row.attempts) >= 1) ? rows : undefined;
    }, 10_000, "delivery attempts");
    for (const row of failures) {
      assert.match(row.last_error ?? "", /^url_not_allowed: /, JSON.stringify(row));
      assert.equal(row.last_response_status, null);
    }
    assert.equal(received, 0, "nothing reached the loopback receiver");
  });

  it("a sandbox-mode stack accepts a loopback URL (the other tests rely on it)", async () => {
    const sandbox = await startStack();
    try {
      const shop = await createMerchant(sandbox);
      const response = await call(sandbox.url, "POST", "/v1/webhook_endpoints", { key: shop.secret, body: { url: `http://127.0.0.1:${receiverPort}/hooks`, enabled_events: ["*"] } });
      assert.equal(response.status, 201, response.text);
    } finally {
      await sandbox.close();
    }
  });
});

describe("per-IP guard against made-up API keys", () => {
  let stack: Stack;
  let merchant: Merchant;

  before(async () => {
    stack = await startStack({ env: { RATE_LIMIT_PER_SECOND: "1000", RATE_LIMIT_PER_IP_PER_SECOND: "20" } });
    merchant = await createMerchant(stack);
  });

  after(async () => {
    if (!stack) return;
    await assertLedgerBalanced(stack);
    await stack.close();
  });

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("authenticated traffic is not counted: many requests from one IP with a valid key all pass", async () => {
    const responses = await Promise.all(Array.from({ length: 80 }, () => call(stack.url, "GET", "/v1/payments", { key: merchant.secret })));
    assert.deepEqual([...new Set(responses.map((response) => response.status))], [200]);
  });

  it("rotating random bearer keys (each its own per-key bucket) is throttled per IP with 429, and writes nothing", async () => {
    await pause(1_100);
    const body = cardPayment(cards.visa);
    const responses = [];
    for (let i = 0; i < 60; i++) {
      responses.push(await call(stack.url, "POST", "/v1/payments", { key: `sk_test_${randomBytes(16).toString("hex")}`, body }));
    }
    const statuses = responses.map((response) => response.status);
    assert.ok(statuses.every((status) => status === 401 || status === 429), statuses.join(","));
    assert.ok(statuses.filter((status) => status === 401).length <= 20, statuses.join(","));
    assert.ok(statuses.includes(429), statuses.join(","));
    const limited = responses.find((response) => response.status === 429)!;
    assert.equal(limited.body.error.type, "rate_limit_error", limited.text);
    assert.ok(limited.headers.get("retry-after"), "Retry-After is set");
    // Requests with no key at all count the same.
    const anonymous = await call(stack.url, "GET", "/v1/payments");
    assert.equal(anonymous.status, 429, anonymous.text);

    await pause(1_100);
    const list = await call(stack.url, "GET", "/v1/payments?limit=100", { key: merchant.secret });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.data, [], "no payment was created by the rejected requests");
  });

  it("oversized bodies on other write endpoints get 413 and write nothing", async () => {
    await pause(1_100);
    const padding = "x".repeat(70 * 1024);
    const refund = await call(stack.url, "POST", "/v1/refunds", { key: merchant.secret, body: { payment: "pay_0000000000", padding } });
    assert.equal(refund.status, 413, refund.text);
    const endpoint = await call(stack.url, "POST", "/v1/webhook_endpoints", { key: merchant.secret, body: { url: "http://127.0.0.1:9/x", enabled_events: ["*"], padding } });
    assert.equal(endpoint.status, 413, endpoint.text);
    const merchantCreate = await call(stack.url, "POST", "/v1/admin/merchants", { key: stack.admin_key, body: { name: padding, country: "US", default_currency: "usd" } });
    assert.equal(merchantCreate.status, 413, merchantCreate.text);
    const endpoints = await call(stack.url, "GET", "/v1/webhook_endpoints", { key: merchant.secret });
    assert.deepEqual(endpoints.body.data, []);
    const refunds = await call(stack.url, "GET", "/v1/refunds", { key: merchant.secret });
    assert.deepEqual(refunds.body.data, []);
  });
});
