// Test harness: a real Corridor (HTTP API, workers) on a fresh database — a SQLite file, or a
// fresh PostgreSQL database when DATABASE_URL points at PostgreSQL — with the sandbox channels as
// real HTTP services. Every helper talks to Corridor over HTTP only.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { after, before } from "node:test";
import { freePort } from "../bench/processes.ts";
import { loadConfig, type Config } from "../src/config.ts";
import { createHttpTransport } from "../src/channels/transport.ts";
import { startCorridor, type Corridor } from "../src/corridor.ts";
import { generateVaultKeySpec } from "../src/methods/card/vault.ts";
import { openDb, type Db } from "../src/store/db.ts";
import { startSandboxChannel, type RunningSandboxChannel } from "../src/sandbox/index.ts";
import { startSandboxBank, type RunningSandboxBank } from "../src/sandbox/bank/index.ts";
import { startSandboxBnpl, type RunningSandboxBnpl } from "../src/sandbox/bnpl/index.ts";
import { startSandboxWallet, type RunningSandboxWallet } from "../src/sandbox/wallet/index.ts";

export const cards = {
  visa: "4242424242424242",
  mastercard: "5555555555554444",
  doNotHonor: "4000000000000002",
  insufficientFunds: "4000000000009995",
  expired: "4000000000000069",
  processingErrorFirst: "4000000000000119",
  slow: "4000000000000259",
  threeDs: "4000000000003220",
} as const;

export const postgresUrl = process.env.DATABASE_URL?.startsWith("postgres") ? process.env.DATABASE_URL : undefined;
export const backend = postgresUrl ? "postgres" : "sqlite";

export { freePort };

export interface Database {
  url: string;
  /** SQLite: the folder with the database file (and WAL). */
  dir?: string;
  drop(): Promise<void>;
}

export async function freshDatabase(): Promise<Database> {
  if (postgresUrl) {
    const name = `corridor_test_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(postgresUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async drop() {
        const client = new pg.Client({ connectionString: postgresUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "corridor-test-"));
  return { url: `sqlite:${join(dir, "corridor.sqlite")}`, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export interface StackOptions {
  env?: Record<string, string>;
  slow_response_ms?: number;
  webhook_retry_schedule_ms?: number[];
  /** Reuse a database (restart tests). */
  database?: Database;
  vault_keys?: string;
  port?: number;
  /** Share another stack's sandbox channels (a second API process on the same database). */
  sandboxes?: Stack["sandboxes"];
}

export interface Stack {
  url: string;
  admin_key: string;
  corridor: Corridor;
  config: Config;
  database: Database;
  /** The card channels, and the sandbox bank (bank transfers) as the third sandbox. */
  sandboxes: Record<"globalpay" | "localacq", RunningSandboxChannel> & { sandboxbank: RunningSandboxBank; bnpl: RunningSandboxBnpl; wallet: RunningSandboxWallet };
  vault_keys: string;
  /** Stops Corridor (and the sandboxes) but keeps the database. */
  stop(): Promise<void>;
  /** Stops everything and drops the database. */
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const database = options.database ?? (await freshDatabase());
  const port = options.port ?? (await freePort());
  const public_url = `http://127.0.0.1:${port}`;
  const vault_keys = options.vault_keys ?? generateVaultKeySpec();
  const admin_key = `admin_test_${randomBytes(8).toString("hex")}`;
  const config = loadConfig({
    PORT: String(port),
    DATABASE_URL: database.url,
    CORRIDOR_ADMIN_KEY: admin_key,
    CORRIDOR_VAULT_KEYS: vault_keys,
    CHANNEL_TIMEOUT_MS: "400",
    UNKNOWN_INQUIRY_DELAY_MS: "300",
    JANITOR_INTERVAL_MS: "100",
    WEBHOOK_INTERVAL_MS: "50",
    RATE_LIMIT_PER_SECOND: "0",
    LOG_LEVEL: "warn",
    SETTLEMENT_INTERVAL_MS: "0",
    ...options.env,
  });
  const slow_response_ms = options.slow_response_ms ?? 1200;
  const shared = options.sandboxes;
  // The bank first: the card channels pay their settlement batches into the platform's account there.
  const sandboxbank = shared?.sandboxbank ?? (await startSandboxBank({ port: 0, notify_url: `${public_url}/v1/channels/sandboxbank/notifications` }));
  const globalpay = shared?.globalpay ?? (await startSandboxChannel("globalpay", { port: 0, notify_url: `${public_url}/v1/channels/globalpay/notifications`, slow_response_ms, bank_url: sandboxbank.url }));
  const localacq = shared?.localacq ?? (await startSandboxChannel("localacq", { port: 0, slow_response_ms, bank_url: sandboxbank.url }));
  const bnpl = shared?.bnpl ?? (await startSandboxBnpl({ port: 0, notify_url: `${public_url}/v1/channels/sandboxbnpl/notifications` }));
  const wallet = shared?.wallet ?? (await startSandboxWallet({ port: 0, notify_url: `${public_url}/v1/channels/sandboxwallet/notifications` }));
  const corridor = await startCorridor(config, {
    channels: [
      { name: "globalpay", transport: createHttpTransport(globalpay.url) },
      { name: "localacq", transport: createHttpTransport(localacq.url) },
    ],
    collections: [{ name: "sandboxbank", transport: createHttpTransport(sandboxbank.url) }],
    bnpl: [{ name: "sandboxbnpl", transport: createHttpTransport(bnpl.url) }],
    wallets: [{ name: "sandboxwallet", transport: createHttpTransport(wallet.url) }],
    webhook_retry_schedule_ms: options.webhook_retry_schedule_ms,
  });
  const stop = async () => {
    await corridor.close();
    if (shared) return;
    await globalpay.close();
    await localacq.close();
    await sandboxbank.close();
    await bnpl.close();
    await wallet.close();
  };
  return {
    url: public_url, admin_key, corridor, config, database, sandboxes: { globalpay, localacq, sandboxbank, bnpl, wallet }, vault_keys, stop,
    async close() {
      await stop();
      if (!options.database) await database.drop();
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
  const response = await fetch(`${base}${path}`, { method, headers, body, redirect: "manual" });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (an HTML page)
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

export interface Merchant {
  id: string;
  secret: string;
  publishable: string;
}

export async function createMerchant(stack: Stack, name = "Test shop"): Promise<Merchant> {
  const response = await call(stack.url, "POST", "/v1/admin/merchants", {
    key: stack.admin_key,
    body: { name, country: "US", default_currency: "usd" },
  });
  assert.equal(response.status, 201, response.text);
  return { id: response.body.id, secret: response.body.api_keys.secret, publishable: response.body.api_keys.publishable };
}

export function cardPayment(number: string, extra: Record<string, unknown> = {}) {
  return {
    amount: 2000,
    currency: "usd",
    confirm: true,
    payment_method_data: { type: "card", card: { number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 3, cvc: "123" } },
    ...extra,
  };
}

export async function pay(stack: Stack, merchant: Merchant, number: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return call(stack.url, "POST", "/v1/payments", { key: merchant.secret, body: cardPayment(number, extra), headers });
}

export async function assertLedgerBalanced(stack: Stack): Promise<void> {
  const response = await call(stack.url, "GET", "/v1/admin/ledger/verify", { key: stack.admin_key });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.balanced, true, JSON.stringify(response.body));
}

/** Polls until `check` returns a value (bounded). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeout_ms = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (let round = 0; Date.now() < deadline; round++) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, Math.min(25 * (round + 1), 200)));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The sandbox channel's own records (its reconciliation view), over its HTTP API. */
export async function channelRecords(stack: Stack, channel: "globalpay" | "localacq"): Promise<any[]> {
  const path = channel === "globalpay" ? "/v2/records" : "/transactions";
  const response = await fetch(`${stack.sandboxes[channel].url}${path}`);
  const body: any = await response.json();
  return Array.isArray(body) ? body : (body.data ?? body.records ?? body.transactions ?? []);
}

/**
 * One stack and one merchant for a test file: started before its tests, and after them the ledger
 * must verify balanced before everything is closed.
 */
export function useStack(options: StackOptions = {}): { readonly stack: Stack; readonly merchant: Merchant } {
  let stack: Stack | undefined;
  let merchant: Merchant | undefined;
  before(async () => {
    stack = await startStack(options);
    merchant = await createMerchant(stack);
  });
  after(async () => {
    if (!stack) return;
    await assertLedgerBalanced(stack);
    await stack.close();
  });
  return {
    get stack() {
      assert.ok(stack, "the stack is started in before()");
      return stack;
    },
    get merchant() {
      assert.ok(merchant, "the merchant is created in before()");
      return merchant;
    },
  };
}

/** A fresh database (SQLite file, or PostgreSQL database when DATABASE_URL says so) opened for a
 *  test file, closed and dropped after it. */
export function useDb(): { readonly db: Db } {
  let database: Database | undefined;
  let db: Db | undefined;
  before(async () => {
    database = await freshDatabase();
    db = await openDb(database.url);
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });
  return {
    get db() {
      assert.ok(db, "the database is opened in before()");
      return db;
    },
  };
}

/** Polls a payment over the API until `check` holds. */
export async function waitForPayment(stack: Stack, merchant: Merchant, id: string, check: (payment: any) => boolean, what: string, timeout_ms = 10_000) {
  return eventually(async () => {
    const payment = (await call(stack.url, "GET", `/v1/payments/${id}`, { key: merchant.secret })).body;
    return check(payment) ? payment : undefined;
  }, timeout_ms, what);
}

/** The merchant's pending balance in one currency (lower case), from `GET /v1/balance`. */
export async function pendingBalanceOf(stack: Stack, merchant: Merchant, currency: string): Promise<number> {
  const balance = (await call(stack.url, "GET", "/v1/balance", { key: merchant.secret })).body;
  return balance.pending.find((entry: any) => entry.currency === currency)?.amount ?? 0;
}
