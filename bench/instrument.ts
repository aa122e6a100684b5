// Diagnostic preload for the bench's server child (`npm run bench -- --instrument`): counts and
// times database calls without touching src/. better-sqlite3: every statement run/get/all and every
// exec (BEGIN/SAVEPOINT/COMMIT…), with the time the event loop was blocked in them; pg: every query.
// Writes JSON to $BENCH_INSTRUMENT_OUT when the process exits.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const out = process.env.BENCH_INSTRUMENT_OUT;

interface Counter {
  calls: number;
  ms: number;
}

const counters = new Map<string, Counter>();
let commits = 0;
let commitMs = 0;
let commitMaxMs = 0;
let statementsInBatch = 0;
const batchStatements: number[] = [];

function count(kind: string, ms: number): void {
  let counter = counters.get(kind);
  if (!counter) {
    counter = { calls: 0, ms: 0 };
    counters.set(kind, counter);
  }
  counter.calls += 1;
  counter.ms += ms;
}

function classify(sql: string): string {
  const text = sql.trim().replace(/\s+/g, " ");
  const verb = text.split(" ")[0].toUpperCase();
  if (verb === "SELECT") {
    const table = /\bFROM (\w+)/i.exec(text)?.[1] ?? "?";
    return `SELECT ${table}`;
  }
  if (verb === "INSERT") return `INSERT ${/INTO (\w+)/i.exec(text)?.[1] ?? "?"}`;
  if (verb === "UPDATE") return `UPDATE ${text.split(" ")[1]}`;
  if (verb === "DELETE") return `DELETE ${/FROM (\w+)/i.exec(text)?.[1] ?? "?"}`;
  return verb;
}

try {
  const Database = require("better-sqlite3") as typeof import("better-sqlite3");
  const probe = new Database(":memory:");
  const statementProto = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, (...args: unknown[]) => unknown> & { source: string };
  probe.close();
  for (const method of ["run", "get", "all"] as const) {
    const original = statementProto[method];
    statementProto[method] = function (this: { source: string }, ...args: unknown[]) {
      const started = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        statementsInBatch += 1;
        count(`sqlite ${classify(this.source)}`, performance.now() - started);
      }
    };
  }
  const dbProto = Database.prototype as unknown as { exec(sql: string): unknown };
  const originalExec = dbProto.exec;
  dbProto.exec = function (this: unknown, sql: string) {
    const started = performance.now();
    try {
      return originalExec.call(this, sql);
    } finally {
      const ms = performance.now() - started;
      const verb = sql.trim().split(/\s+/).slice(0, 2).join(" ").toUpperCase();
      count(`sqlite exec ${verb}`, ms);
      if (verb.startsWith("COMMIT")) {
        commits += 1;
        commitMs += ms;
        commitMaxMs = Math.max(commitMaxMs, ms);
        if (batchStatements.length < 1_000_000) batchStatements.push(statementsInBatch);
      }
      if (verb.startsWith("BEGIN")) statementsInBatch = 0;
    }
  };
} catch (error) {
  process.stderr.write(`instrument: better-sqlite3 not patched: ${String(error)}\n`);
}

try {
  const pg = require("pg") as typeof import("pg");
  const proto = pg.Client.prototype as unknown as { query(...args: unknown[]): unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const sql = typeof first === "string" ? first : (first?.text ?? "");
    count(`pg ${classify(sql)}`, 0);
    return original.apply(this, args);
  };
} catch (error) {
  process.stderr.write(`instrument: pg not patched: ${String(error)}\n`);
}

process.on("exit", () => {
  if (!out) return;
  const sorted = [...counters.entries()].sort((a, b) => b[1].ms - a[1].ms || b[1].calls - a[1].calls);
  const batches = batchStatements.length;
  writeFileSync(out, JSON.stringify({
    calls: Object.fromEntries(sorted.map(([kind, counter]) => [kind, { calls: counter.calls, ms: Math.round(counter.ms) }])),
    sqlite_commits: commits,
    sqlite_commit_ms_total: Math.round(commitMs),
    sqlite_commit_ms_avg: commits ? Math.round((100 * commitMs) / commits) / 100 : 0,
    sqlite_commit_ms_max: Math.round(commitMaxMs),
    sqlite_statements_per_commit_avg: batches ? Math.round(batchStatements.reduce((a, b) => a + b, 0) / batches) : 0,
  }));
});
