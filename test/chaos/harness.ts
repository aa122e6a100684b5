// The crash harness: runs real Corridor server processes against sandbox channels kept in this
// process, drives load with idempotency keys, kills servers (at a named crash point or at a random
// moment), restarts them, and checks what must hold afterwards. On request it also runs the
// sandbox bank (the card channels pay their settlement batches into the platform account there,
// and the servers fetch its statements) and gives the servers extra environment.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createHttpTransport } from "../../src/channels/transport.ts";
import { createGlobalPayConnector } from "../../src/channels/globalpay/connector.ts";
import { createLocalAcqConnector } from "../../src/channels/localacq/connector.ts";
import type { Connector } from "../../src/channels/contract.ts";
import { generateVaultKeySpec } from "../../src/methods/card/vault.ts";
import { seededRandom } from "../../src/random.ts";
import { startSandboxChannel, type RunningSandboxChannel } from "../../src/sandbox/index.ts";
import { startSandboxBank, type RunningSandboxBank } from "../../src/sandbox/bank/index.ts";
import { call, cards, freePort, freshDatabase, type Database } from "../helpers.ts";

const serverPath = fileURLToPath(new URL("./server.ts", import.meta.url));
const serverStartTimeoutMs = 30_000;
const settleTimeoutMs = 30_000;
export const idempotencyLeaseMs = 1_500;

export interface Server {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export interface HarnessOptions {
  /** Start the sandbox bank: the card sandboxes pay their settlement batches into it, and the
   *  servers get its address (SANDBOX_BANK_URL) to fetch its statements. */
  bank?: boolean;
  /** Extra environment for every spawned server (it wins over the harness defaults). */
  env?: Record<string, string>;
}

export class Harness {
  readonly admin_key = "admin_chaos";
  readonly vault_keys = generateVaultKeySpec();
  database!: Database;
  sandboxes!: { globalpay: RunningSandboxChannel; localacq: RunningSandboxChannel };
  connectors!: Record<string, Connector>;
  /** The sandbox bank, when started with `bank: true` (kept apart from the card sandboxes, which
   *  checkInvariants compares record by record). */
  bank: RunningSandboxBank | undefined;
  ports: number[] = [];
  private env: Record<string, string> = {};

  async start(servers = 1, options: HarnessOptions = {}): Promise<void> {
    this.database = await freshDatabase();
    this.env = { ...options.env };
    for (let i = 0; i < servers; i++) this.ports.push(await freePort());
    const notify = (channel: string) => `http://127.0.0.1:${this.ports[0]}/v1/channels/${channel}/notifications`;
    // The bank first: the card sandboxes need its address to pay their batches.
    if (options.bank) this.bank = await startSandboxBank({ port: 0, notify_url: notify("sandboxbank") });
    const bank_url = this.bank?.url;
    this.sandboxes = {
      globalpay: await startSandboxChannel("globalpay", { port: 0, notify_url: notify("globalpay"), slow_response_ms: 900, bank_url }),
      localacq: await startSandboxChannel("localacq", { port: 0, slow_response_ms: 900, bank_url }),
    };
    this.connectors = {
      globalpay: createGlobalPayConnector({ transport: createHttpTransport(this.sandboxes.globalpay.url), timeout_ms: 5_000, notification_secret: "gp_sandbox_notification_secret" }),
      localacq: createLocalAcqConnector({ transport: createHttpTransport(this.sandboxes.localacq.url), timeout_ms: 5_000 }),
    };
  }

  async stop(): Promise<void> {
    await this.sandboxes.globalpay.close();
    await this.sandboxes.localacq.close();
    await this.bank?.close();
    await this.database.drop();
  }

  spawnServer(index: number, crash?: { point: string; after: number }): Promise<Server> {
    // Inherited settings a test must not get by accident: the crash point is given per spawn, the
    // bank only when this harness runs one.
    const { CORRIDOR_CRASH_POINT: _point, CORRIDOR_CRASH_AFTER: _after, SANDBOX_BANK_URL: _bank, ...inherited } = process.env as Record<string, string>;
    const env: Record<string, string> = {
      ...inherited,
      PORT: String(this.ports[index]),
      DATABASE_URL: this.database.url,
      CORRIDOR_ADMIN_KEY: this.admin_key,
      CORRIDOR_VAULT_KEYS: this.vault_keys,
      SANDBOX_GLOBALPAY_URL: this.sandboxes.globalpay.url,
      SANDBOX_LOCALACQ_URL: this.sandboxes.localacq.url,
      CHANNEL_TIMEOUT_MS: "400",
      UNKNOWN_INQUIRY_DELAY_MS: "300",
      JANITOR_INTERVAL_MS: "100",
      WEBHOOK_INTERVAL_MS: "50",
      RATE_LIMIT_PER_SECOND: "0",
      IDEMPOTENCY_LEASE_MS: String(idempotencyLeaseMs),
      LOG_LEVEL: "error",
      ...(this.bank ? { SANDBOX_BANK_URL: this.bank.url } : {}),
      ...this.env,
    };
    if (crash) {
      env.CORRIDOR_CRASH_POINT = crash.point;
      env.CORRIDOR_CRASH_AFTER = String(crash.after);
    }
    const child = spawn(process.execPath, ["--import", "tsx", serverPath], { env, stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("server did not start")), serverStartTimeoutMs);
      exited.then((code) => reject(new Error(`server exited during start (${code})`)));
      createInterface({ input: child.stdout! }).once("line", (line) => {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${this.ports[index]}`, child, exited });
        void line;
      });
    });
  }

  async createMerchant(url: string): Promise<string> {
    const response = await call(url, "POST", "/v1/admin/merchants", { key: this.admin_key, body: { name: "Chaos shop", country: "US", default_currency: "usd" } });
    assert.equal(response.status, 201, response.text);
    return response.body.api_keys.secret;
  }
}

/** One client request, remembered with what the client saw. */
export interface Sent {
  key: string;
  method: string;
  path: string;
  body: unknown;
  /** Undefined when the client saw no answer (the server died). */
  status?: number;
  text?: string;
}

const paymentCards = [cards.visa, cards.visa, cards.mastercard, cards.doNotHonor, cards.insufficientFunds, cards.processingErrorFirst, cards.slow];


async function send(urls: string[], secret: string, log: Sent[], sent: Omit<Sent, "status" | "text">, random: () => number): Promise<Sent> {
  const url = urls[Math.floor(random() * urls.length)];
  const entry: Sent = { ...sent };
  log.push(entry);
  try {
    const response = await call(url, sent.method, sent.path, { key: secret, body: sent.body, headers: { "idempotency-key": sent.key } });
    entry.status = response.status;
    entry.text = response.text;
  } catch {
    // the server died before answering
  }
  return entry;
}

/** Drives payments, captures and refunds from `clients` concurrent clients until `until()` or `ops` requests each. */
export async function driveLoad(
  urls: () => string[],
  secret: string,
  options: { clients: number; ops: number; seed: number; until: () => boolean },
): Promise<Sent[]> {
  const log: Sent[] = [];
  const random = seededRandom(options.seed);
  let counter = 0;
  const client = async (id: number) => {
    for (let op = 0; op < options.ops && !options.until(); op++) {
      const key = `chaos-${options.seed}-${id}-${counter++}`;
      const manual = random() < 0.2;
      const number = paymentCards[Math.floor(random() * paymentCards.length)];
      const payment = await send(urls(), secret, log, {
        key, method: "POST", path: "/v1/payments",
        body: {
          amount: 1000 + Math.floor(random() * 9000), currency: "usd", confirm: true, capture_method: manual ? "manual" : "automatic",
          metadata: { key }, payment_method_data: { type: "card", card: { number, exp_month: 12, exp_year: 2040, cvc: "123" } },
        },
      }, random);
      if (payment.status !== 200) continue;
      const created = JSON.parse(payment.text!);
      if (created.status === "requires_capture") {
        await send(urls(), secret, log, { key: `${key}-capture`, method: "POST", path: `/v1/payments/${created.id}/capture`, body: {} }, random);
      } else if (created.status === "succeeded" && random() < 0.4) {
        await send(urls(), secret, log, { key: `${key}-refund`, method: "POST", path: "/v1/refunds", body: { payment: created.id, amount: Math.floor(created.amount / 2) } }, random);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
  return log;
}

async function allPayments(url: string, secret: string): Promise<any[]> {
  const payments: any[] = [];
  let starting_after = "";
  for (let page = 0; page < 1000; page++) {
    const response = await call(url, "GET", `/v1/payments?limit=100${starting_after ? `&starting_after=${starting_after}` : ""}`, { key: secret });
    assert.equal(response.status, 200, response.text);
    payments.push(...response.body.data);
    if (!response.body.has_more) return payments;
    starting_after = response.body.data.at(-1).id;
  }
  throw new Error("too many pages");
}

/** Waits until the janitor has left nothing open: no payment processing, no attempt pending or unknown. */
export async function settled(url: string, secret: string): Promise<any[]> {
  const deadline = Date.now() + settleTimeoutMs;
  for (;;) {
    const payments = await allPayments(url, secret);
    const open = payments.filter((payment) => payment.status === "processing" || payment.attempts.some((a: any) => a.status === "pending" || a.status === "unknown" || a.status === "reversing"));
    if (open.length === 0) return payments;
    if (Date.now() > deadline) throw new Error(`payments still open after the janitor: ${open.map((p) => `${p.id}:${p.status}`).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface Findings {
  requests: number;
  acknowledged: number;
  unacknowledged: number;
  payments: number;
  /** Attempts whose channel record was found and compared with ours. */
  channel_records_compared: number;
  /** Requests whose retry replayed the acknowledged answer byte for byte. */
  replayed_identically: number;
  mismatches: string[];
}

/** Checks the five promises: ledger, no open state, channels agree, acknowledged writes kept, retries answer the same. */
export async function checkInvariants(harness: Harness, url: string, secret: string, log: Sent[]): Promise<Findings> {
  const mismatches: string[] = [];
  const payments = await settled(url, secret);
  const verify = await call(url, "GET", "/v1/admin/ledger/verify", { key: harness.admin_key });
  if (!verify.body.balanced) mismatches.push(`ledger unbalanced: ${verify.text}`);

  const byId = new Map(payments.map((payment) => [payment.id, payment]));
  const keys = new Map<string, number>();
  for (const payment of payments) keys.set(payment.metadata.key, (keys.get(payment.metadata.key) ?? 0) + 1);
  for (const [key, count] of keys) if (count > 1) mismatches.push(`idempotency key ${key} made ${count} payments`);

  // 3. the channels' own records agree with ours
  let channel_records_compared = 0;
  let replayed_identically = 0;
  const ourAttempts = new Set(payments.flatMap((payment) => payment.attempts.map((attempt: any) => attempt.id)));
  for (const [name, sandbox] of Object.entries(harness.sandboxes)) {
    const path = name === "globalpay" ? "/v2/records" : "/transactions";
    const text = await (await fetch(`${sandbox.url}${path}`)).text();
    for (const reference of new Set(text.match(/att_[0-9a-z]{26}(?![0-9a-z_])/g) ?? [])) {
      if (!ourAttempts.has(reference)) mismatches.push(`${name} holds ${reference}, which Corridor does not know`);
    }
  }
  for (const payment of payments) {
    for (const attempt of payment.attempts) {
      const record = await harness.connectors[attempt.channel].inquire(attempt.id, payment.currency.toUpperCase());
      if ("unreachable" in record) throw new Error("sandbox unreachable");
      if (record.found) channel_records_compared++;
      const captured = record.found ? record.captured_amount : 0;
      const refunded = record.found ? record.refunded_amount : 0;
      if (attempt.status === "captured" && captured !== payment.amount_received) mismatches.push(`${payment.id}: channel captured ${captured}, we show ${payment.amount_received}`);
      if (attempt.status === "captured" && refunded !== payment.amount_refunded) mismatches.push(`${payment.id}: channel refunded ${refunded}, we show ${payment.amount_refunded}`);
      if (attempt.status !== "captured" && attempt.status !== "reversed" && captured > 0) mismatches.push(`${payment.id}: channel captured ${captured} under ${attempt.id}, which we show ${attempt.status}`);
      if (attempt.status === "reversed" && captured > 0 && refunded !== captured) mismatches.push(`${payment.id}: reversal incomplete at the channel`);
    }
    if (payment.status === "failed" && payment.amount_received > 0) mismatches.push(`${payment.id}: failed but received money`);
  }

  // 4. acknowledged writes are still there; 5. retries answer the same
  let acknowledged = 0;
  for (const entry of log) {
    if (entry.status !== undefined && entry.status < 500) {
      acknowledged++;
      const answer = JSON.parse(entry.text!);
      const object = answer.error?.payment ?? answer;
      if (entry.path === "/v1/payments" && object.object === "payment" && !byId.has(object.id)) mismatches.push(`acknowledged payment ${object.id} is gone`);
    }
    const retry = await call(url, entry.method, entry.path, { key: secret, body: entry.body, headers: { "idempotency-key": entry.key } });
    if (retry.status >= 500 || retry.status === 409) mismatches.push(`retry of ${entry.key} answered ${retry.status}: ${retry.text}`);
    // 400/404 answers leave no trace by design (nothing was written), so a retry may differ.
    const stored = entry.status !== undefined && entry.status !== 400 && entry.status !== 404 && entry.status < 500;
    if (stored && (retry.status !== entry.status || retry.text !== entry.text)) {
      mismatches.push(`retry of ${entry.key} answered ${retry.status} instead of the acknowledged ${entry.status}`);
    } else if (stored) replayed_identically++;
  }
  const after = await allPayments(url, secret);
  const keysAfter = new Set<string>();
  for (const payment of after) {
    if (keysAfter.has(payment.metadata.key)) mismatches.push(`retries made a second payment for ${payment.metadata.key}`);
    keysAfter.add(payment.metadata.key);
  }
  const finalVerify = await call(url, "GET", "/v1/admin/ledger/verify", { key: harness.admin_key });
  if (!finalVerify.body.balanced) mismatches.push("ledger unbalanced after retries");
  return { requests: log.length, acknowledged, unacknowledged: log.length - acknowledged, payments: after.length, channel_records_compared, replayed_identically, mismatches };
}
