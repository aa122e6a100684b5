// `npm run bench`: card payments per second, end to end over HTTP.
//
//   npm run bench -- [--db sqlite|postgres] [--duration 10] [--connections 64] [--channel http|inprocess|both]
//                    [--warmup 2] [--profile] [--instrument] [--pg-url postgres://postgres@127.0.0.1:5432/postgres]
// --profile: the server child runs with --cpu-prof; a summary (top functions) goes in its JSON line.
// --instrument: counts and times the server's database calls (bench/instrument.ts); slows it a little.
//
// Each request is POST /v1/payments (create + confirm + automatic capture) with its own
// Idempotency-Key: a durable commit, ledger postings, an idempotency record and outbox events.
// Processes: the Corridor server (bench/server.ts), each sandbox channel (HTTP run) and the load
// generator (autocannon, this process) each run in their own process. The ceiling is a bare
// Fastify server with one JSON route under the same load. One JSON line per run; the last line
// sums up the HTTP-channel run (or the in-process one with --channel inprocess).
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import pg from "pg";
import { generateVaultKeySpec } from "../src/methods/card/vault.ts";
import { spawnSandboxChannel, type SandboxProcess } from "../src/sandbox/spawn.ts";
import { paymentAmount, replayKeys, round, runLoad, type LoadOutcome, type LoadTarget } from "./load.ts";
import { freePort, killAllNow, startNode, stopAll, track, type Child } from "./processes.ts";
import { summarizeProfile, type ProfileSummary } from "./profile.ts";

const serverScript = fileURLToPath(new URL("./server.ts", import.meta.url));

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "sqlite" },
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "64" },
    channel: { type: "string", default: "both" },
    warmup: { type: "string", default: "2" },
    profile: { type: "boolean", default: false },
    instrument: { type: "boolean", default: false },
    "pg-url": { type: "string", default: process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
  },
});

function positiveInt(text: string | undefined, name: string, max: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
  return value;
}

const dbKind = values.db;
if (dbKind !== "sqlite" && dbKind !== "postgres") throw new Error("--db must be sqlite or postgres");
const channelOption = values.channel;
if (channelOption !== "http" && channelOption !== "inprocess" && channelOption !== "both") throw new Error("--channel must be http, inprocess or both");
const duration_s = positiveInt(values.duration, "duration", 3600);
const connections = positiveInt(values.connections, "connections", 4096);
const warmup_s = Number(values.warmup) >= 0 && Number(values.warmup) <= 60 ? Math.floor(Number(values.warmup)) : 2;
const profile = values.profile ?? false;
const instrument = values.instrument ?? false;
const instrumentModule = new URL("./instrument.ts", import.meta.url).href;
const pgAdminUrl = values["pg-url"]!;

/** Cleanup actions, run last-in first-out on success, error or signal. */
const cleanups: (() => Promise<void>)[] = [];
async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const action = cleanups.pop()!;
    try {
      await action();
    } catch (error) {
      process.stderr.write(`bench cleanup: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  await stopAll();
}

function emit(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function note(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// Databases

interface BenchDatabase {
  url: string;
  durability(): Promise<{ durable: boolean; durability: string }>;
  /** Outbox events written, and how many the webhook worker has not fanned out yet. */
  outbox(): Promise<{ events: number; not_fanned_out: number }>;
  drop(): Promise<void>;
}

async function freshDatabase(): Promise<BenchDatabase> {
  if (dbKind === "postgres") {
    const name = `corridor_bench_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: pgAdminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = new URL(pgAdminUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async durability() {
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        try {
          const sync = (await client.query("SHOW synchronous_commit")).rows[0].synchronous_commit as string;
          const fsync = (await client.query("SHOW fsync")).rows[0].fsync as string;
          const wal_sync = (await client.query("SHOW wal_sync_method")).rows[0].wal_sync_method as string;
          return {
            durable: sync === "on" && fsync === "on",
            durability: `PostgreSQL synchronous_commit=${sync}, fsync=${fsync}, wal_sync_method=${wal_sync} (one WAL flush per COMMIT; concurrent commits share flushes)`,
          };
        } finally {
          await client.end();
        }
      },
      async outbox() {
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        try {
          const row = (await client.query("SELECT COUNT(*) AS events, COUNT(*) FILTER (WHERE fanned_out = 0) AS pending FROM events")).rows[0];
          return { events: Number(row.events), not_fanned_out: Number(row.pending) };
        } finally {
          await client.end();
        }
      },
      async drop() {
        const client = new pg.Client({ connectionString: pgAdminUrl });
        await client.connect();
        try {
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await client.end();
        }
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "corridor-bench-"));
  const file = join(dir, "corridor.sqlite");
  return {
    url: `sqlite:${file}`,
    async durability() {
      // journal_mode is stored in the file; synchronous is per connection, so it is read from the
      // server's configuration (src/store/sqlite.ts openConnection sets synchronous = FULL).
      const probe = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const journal = String(probe.pragma("journal_mode", { simple: true }));
        return {
          durable: journal === "wal",
          durability: `SQLite journal_mode=${journal} (read from the file), synchronous=FULL (2) set by src/store/sqlite.ts on every connection; group commit: one fsync per batch, each request answered after its batch's COMMIT`,
        };
      } finally {
        probe.close();
      }
    },
    async outbox() {
      const probe = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const row = probe.prepare("SELECT COUNT(*) AS events, COALESCE(SUM(fanned_out = 0), 0) AS pending FROM events").get() as { events: number; pending: number };
        return { events: Number(row.events), not_fanned_out: Number(row.pending) };
      } finally {
        probe.close();
      }
    },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc), to see which process is the bottleneck

function processCpuTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return undefined;
  }
}

function systemCpuTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const numbers = line.trim().split(/\s+/).slice(1).map(Number);
    const total = numbers.reduce((sum, value) => sum + value, 0);
    const idle = numbers[3] + (numbers[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

const ticksPerSecond = 100;

function cpuMeter(processes: Record<string, number | undefined>) {
  const started = performance.now();
  const before = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, processCpuTicks(pid)]));
  const selfBefore = process.cpuUsage();
  const systemBefore = systemCpuTicks();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(processes)) {
      const now = processCpuTicks(pid);
      const then = before[name];
      if (now !== undefined && then !== undefined) out[name] = round((100 * (now - then)) / ticksPerSecond / seconds, 0);
    }
    const self = process.cpuUsage(selfBefore);
    out.load_generator = round((100 * (self.user + self.system)) / 1e6 / seconds, 0);
    const systemAfter = systemCpuTicks();
    if (systemBefore && systemAfter) {
      out.machine_busy_pct_of_all_cores = round((100 * (systemAfter.busy - systemBefore.busy)) / Math.max(1, systemAfter.total - systemBefore.total), 0);
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Runs

interface ServerChild extends Child<{ ready: true; url: string; pid: number }> {
  profileDir?: string;
  instrumentFile?: string;
}

async function startServer(args: string[], env: Record<string, string>, label: string): Promise<ServerChild> {
  let profileDir: string | undefined;
  const nodeArgs: string[] = [];
  if (profile) {
    profileDir = mkdtempSync(join(tmpdir(), "corridor-bench-prof-"));
    const dir = profileDir;
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    nodeArgs.push("--cpu-prof", "--cpu-prof-dir", profileDir);
  }
  let instrumentFile: string | undefined;
  const imports: string[] = [];
  if (instrument) {
    const dir = mkdtempSync(join(tmpdir(), "corridor-bench-instr-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    instrumentFile = join(dir, "calls.json");
    imports.push(instrumentModule);
    env = { ...env, BENCH_INSTRUMENT_OUT: instrumentFile };
  }
  const child = await startNode<{ ready: true; url: string; pid: number }>(serverScript, args, { env, nodeArgs, imports, label });
  return { ...child, profileDir, instrumentFile };
}

/** Database calls per payment (from bench/instrument.ts), over the server's whole life. */
function readInstrument(server: ServerChild, payments: number): Record<string, unknown> | undefined {
  if (!server.instrumentFile) return undefined;
  let data: { calls: Record<string, { calls: number; ms: number }> } & Record<string, unknown>;
  try {
    data = JSON.parse(readFileSync(server.instrumentFile, "utf8"));
  } catch (error) {
    note(`no instrument output: ${String(error)}`);
    return undefined;
  }
  const perPayment = Object.fromEntries(Object.entries(data.calls).map(([kind, counter]) => [
    kind, { per_payment: round(counter.calls / Math.max(payments, 1), 2), us_per_payment: round((1000 * counter.ms) / Math.max(payments, 1), 1) },
  ]));
  const total = Object.values(data.calls).reduce((sum, counter) => sum + counter.calls, 0);
  const totalMs = Object.values(data.calls).reduce((sum, counter) => sum + counter.ms, 0);
  const { calls: _calls, ...rest } = data;
  return {
    db_calls_per_payment: round(total / Math.max(payments, 1), 1),
    db_blocking_us_per_payment: round((1000 * totalMs) / Math.max(payments, 1), 1),
    ...rest,
    by_kind: perPayment,
  };
}

function readProfile(server: ServerChild): ProfileSummary | undefined {
  if (!server.profileDir) return undefined;
  const files = readdirSync(server.profileDir).filter((name) => name.endsWith(".cpuprofile"));
  if (files.length === 0) {
    note(`no .cpuprofile written in ${server.profileDir}`);
    return undefined;
  }
  return summarizeProfile(join(server.profileDir, files[0]), 20);
}

async function warmupAndMeasure(target: LoadTarget, pids: Record<string, number | undefined>) {
  const warmup = warmup_s > 0 ? await runLoad(target, { connections, duration_s: warmup_s }) : undefined;
  const meter = cpuMeter(pids);
  const measured = await runLoad(target, { connections, duration_s });
  const cpu_pct = meter();
  return { warmup, measured, cpu_pct };
}

function errorCount(outcome: LoadOutcome | undefined): number {
  if (!outcome) return 0;
  return outcome.non2xx + outcome.errors + outcome.timeouts + outcome.not_succeeded;
}

async function runCeiling(): Promise<Record<string, unknown>> {
  const port = await freePort();
  const server = await startServer(["--mode", "echo", "--port", String(port)], {}, "echo");
  try {
    const target: LoadTarget = { url: server.ready.url, path: "/echo", secret: "sk_test_ceiling", expectStatus: "succeeded" };
    const { measured, warmup, cpu_pct } = await warmupAndMeasure(target, { server: server.ready.pid });
    const errors = errorCount(measured) + errorCount(warmup);
    return {
      run: "ceiling",
      what: "bare Fastify, one POST /echo JSON route, same body size and headers",
      requests_per_s: measured.ok_per_s,
      p50_ms: measured.p50_ms,
      p99_ms: measured.p99_ms,
      errors,
      ...(errors > 0 ? { sample_failure: measured.sample_failure } : {}),
      cpu_pct,
      connections,
      duration_s: measured.duration_s,
    };
  } finally {
    await server.stop();
  }
}

async function createMerchant(url: string, admin_key: string): Promise<string> {
  const response = await fetch(`${url}/v1/admin/merchants`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin_key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Bench shop", country: "US", default_currency: "usd" }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`creating the merchant failed: ${response.status} ${text}`);
  return (JSON.parse(text) as { api_keys: { secret: string } }).api_keys.secret;
}

async function verifyLedger(url: string, admin_key: string) {
  const response = await fetch(`${url}/v1/admin/ledger/verify`, {
    headers: { authorization: `Bearer ${admin_key}` },
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`ledger verify failed: ${response.status} ${text}`);
  return JSON.parse(text) as { balanced: boolean; currencies: { currency: string; debits: string; credits: string }[]; violations: string[] };
}

async function runCorridor(channel: "http" | "inprocess"): Promise<Record<string, unknown>> {
  const database = await freshDatabase();
  cleanups.push(() => database.drop());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const admin_key = `admin_bench_${randomBytes(12).toString("hex")}`;
  const sandboxes: SandboxProcess[] = [];
  const stopSandboxes = async () => {
    await Promise.all(sandboxes.splice(0).map(async (sandbox) => {
      const timer = setTimeout(() => sandbox.child.kill("SIGKILL"), 5_000);
      await sandbox.stop();
      clearTimeout(timer);
    }));
  };
  cleanups.push(stopSandboxes);
  const args = ["--mode", "corridor", "--channel", channel];
  if (channel === "http") {
    for (const name of ["globalpay", "localacq"] as const) {
      const sandbox = await spawnSandboxChannel(name, { port: 0, notify_url: `${url}/v1/channels/${name}/notifications` });
      track(sandbox.child);
      sandboxes.push(sandbox);
      args.push(`--${name}-url`, sandbox.url);
    }
  }
  const server = await startServer(args, {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: database.url,
    CORRIDOR_ADMIN_KEY: admin_key,
    CORRIDOR_VAULT_KEYS: generateVaultKeySpec(),
    RATE_LIMIT_PER_SECOND: "0",
    LOG_LEVEL: "warn",
  }, `corridor-${channel}`);
  let stopped = false;
  const stopServer = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
  };
  cleanups.push(stopServer);

  const secret = await createMerchant(url, admin_key);
  const target: LoadTarget = { url, path: "/v1/payments", secret, expectStatus: "succeeded" };
  const pids: Record<string, number | undefined> = { server: server.ready.pid };
  for (const sandbox of sandboxes) pids[`sandbox_${sandbox.name}`] = sandbox.child.pid;
  const { warmup, measured, cpu_pct } = await warmupAndMeasure(target, pids);

  // Requests whose answer never came back (in flight at the end): ask again with the same key.
  const unanswered = [...(warmup?.unanswered_keys ?? []), ...measured.unanswered_keys];
  const replay = await replayKeys(target, unanswered);
  const acknowledged = (warmup?.ok ?? 0) + measured.ok + replay.succeeded;

  const ledger = await verifyLedger(url, admin_key);
  const usd = ledger.currencies.find((row) => row.currency.toLowerCase() === "usd");
  const payments_in_ledger = usd ? Number(BigInt(usd.debits) / BigInt(paymentAmount)) : 0;
  const durable = await database.durability();
  const outbox = await database.outbox();

  await stopServer();
  await stopSandboxes();
  const serverProfile = readProfile(server);
  const instrumented = readInstrument(server, payments_in_ledger);

  const errors = errorCount(measured);
  const warmup_errors = errorCount(warmup);
  return {
    run: channel,
    db: dbKind,
    channel,
    payments_per_s: measured.ok_per_s,
    p50_ms: measured.p50_ms,
    p90_ms: measured.p90_ms,
    p99_ms: measured.p99_ms,
    max_ms: measured.max_ms,
    errors,
    ...(errors + warmup_errors > 0
      ? {
          error_detail: {
            non2xx: measured.non2xx, transport_errors: measured.errors, timeouts: measured.timeouts, not_succeeded: measured.not_succeeded,
            status_counts: measured.status_counts, warmup_errors, sample_failure: measured.sample_failure ?? warmup?.sample_failure,
          },
        }
      : {}),
    requests: measured.requests,
    succeeded: measured.ok,
    ...durable,
    ledger_balanced: ledger.balanced,
    ...(ledger.violations.length ? { ledger_violations: ledger.violations } : {}),
    payments_in_ledger,
    payments_acknowledged: acknowledged,
    payments_match: payments_in_ledger === acknowledged,
    outbox,
    replayed_unanswered: { keys: unanswered.length, succeeded: replay.succeeded, failed: replay.failed },
    warmup: warmup ? { duration_s: warmup.duration_s, payments: warmup.ok, payments_per_s: warmup.ok_per_s } : undefined,
    cpu_pct,
    connections,
    duration_s: measured.duration_s,
    ...(serverProfile ? { server_profile: serverProfile } : {}),
    ...(instrumented ? { server_db_calls: instrumented } : {}),
  };
}

async function main(): Promise<void> {
  const ceiling = await runCeiling();
  emit(ceiling);
  const ceilingRps = Number(ceiling.requests_per_s);
  const ratio = (paymentsPerS: unknown) => (ceilingRps > 0 ? round(Number(paymentsPerS) / ceilingRps, 3) : null);
  const channels: ("inprocess" | "http")[] = channelOption === "both" ? ["inprocess", "http"] : [channelOption as "inprocess" | "http"];
  const results: Record<string, Record<string, unknown>> = {};
  for (const channel of channels) {
    const result = await runCorridor(channel);
    result.ceiling_requests_per_s = ceilingRps;
    result.ratio = ratio(result.payments_per_s);
    results[channel] = result;
    emit(result);
    await runCleanups(); // drop this run's database and stop its processes before the next run
  }
  const headline = results.http ?? results.inprocess;
  const inprocess = results.inprocess;
  const problems: string[] = [];
  for (const result of Object.values(results)) {
    if (Number(result.errors) > 0 || result.error_detail) problems.push(`${result.channel}: ${result.errors} errors in the measured run`);
    if (result.ledger_balanced !== true) problems.push(`${result.channel}: ledger not balanced`);
    if (result.payments_match !== true) problems.push(`${result.channel}: ${result.payments_in_ledger} payments in the ledger, ${result.payments_acknowledged} acknowledged`);
  }
  if (Number(ceiling.errors) > 0) problems.push(`ceiling: ${ceiling.errors} errors`);
  const summary = {
    db: dbKind,
    channel: headline.channel,
    payments_per_s: headline.payments_per_s,
    p50_ms: headline.p50_ms,
    p99_ms: headline.p99_ms,
    ceiling_requests_per_s: ceilingRps,
    ratio: headline.ratio,
    durable: headline.durable,
    durability: headline.durability,
    ...(inprocess && inprocess !== headline
      ? { inprocess: { payments_per_s: inprocess.payments_per_s, p50_ms: inprocess.p50_ms, p99_ms: inprocess.p99_ms, ratio: inprocess.ratio, errors: inprocess.errors } }
      : {}),
    errors: headline.errors,
    ledger_balanced: headline.ledger_balanced,
    payments_in_ledger: headline.payments_in_ledger,
    payments_acknowledged: headline.payments_acknowledged,
    ok: problems.length === 0,
    ...(problems.length ? { problems } : {}),
    connections,
    duration_s: duration_s,
    cpu_pct: headline.cpu_pct,
  };
  emit(summary);
  if (problems.length) {
    note(`RUN HAD ERRORS: ${problems.join("; ")}`);
    process.exitCode = 1;
  }
}

process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    note(`${signal}: cleaning up`);
    void runCleanups().finally(() => process.exit(130));
  });
}

main()
  .catch((error: unknown) => {
    note(`failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await runCleanups();
  });
