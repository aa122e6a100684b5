// `npm run bench:recon`: reconciliation at scale. A database with N captured card payments on
// globalpay (seeded through the ledger's own postings; not timed), and a generated globalpay
// settlement report of N lines for them (the channel's own CSV), written to a file. A fresh child
// process (bench/recon/import.ts) then does what the scheduler does with a fetched file — reads
// it, parses, matches and books it durably (one transaction, synchronous commit), runs a
// reconciliation — so its peak RSS is that of an importer holding the file, not of the seeding.
// Prints one JSON line:
//   {lines, seconds, lines_per_s, rss_mb, exceptions, ...}
// with the baselines measured in the same run by the same child: the same file through the CSV
// parser alone, and the same number of rows written to a bare table in one durable transaction.
//   npm run bench:recon [-- --lines 1000000 --db sqlite|postgres --pg-url … --seed-cache DIR]
// Seeding 1,000,000 captures through the ledger takes minutes; with --seed-cache (SQLite) the
// seeded database is kept in DIR and copied for later runs of the same size.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { createMerchant } from "../src/merchants/merchants.ts";
import { openDb, type Db } from "../src/store/db.ts";
import { generateReport, seedCaptures, type SeededCapture } from "./recon/seed.ts";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "1000000" },
    db: { type: "string", default: "sqlite" },
    "pg-url": { type: "string", default: process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
    "seed-cache": { type: "string" },
  },
});
const lines = Number(values.lines);
if (!Number.isSafeInteger(lines) || lines < 1 || lines > 5_000_000) throw new Error("--lines must be 1..5000000");
const importerPath = fileURLToPath(new URL("./recon/import.ts", import.meta.url));
/** The measured child's limit: far above any expected run, so a hang cannot stall for ever. */
const importTimeoutMs = 30 * 60_000;

interface Target {
  url: string;
  /** The database already holds the seeded captures (a cached copy). */
  seeded: boolean;
  /** Keeps a copy of the freshly seeded database (closed first) for later runs. */
  keep?(): void;
  drop(): Promise<void>;
}

async function database(dir: string): Promise<Target> {
  if (values.db === "postgres") {
    const name = `corridor_bench_recon_${Date.now()}`;
    const admin = new pg.Client({ connectionString: values["pg-url"] });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(values["pg-url"]!);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      seeded: false,
      async drop() {
        const client = new pg.Client({ connectionString: values["pg-url"] });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const path = join(dir, "corridor.sqlite");
  const cache = values["seed-cache"] ? join(values["seed-cache"], `recon-seed-${lines}.sqlite`) : undefined;
  const seeded = cache !== undefined && existsSync(cache);
  if (seeded) copyFileSync(cache, path);
  return {
    url: `sqlite:${path}`,
    seeded,
    // Closing the database checkpointed the WAL into the file, which is then a complete copy.
    keep: cache === undefined ? undefined : () => {
      mkdirSync(values["seed-cache"]!, { recursive: true });
      copyFileSync(path, cache);
    },
    async drop() {},
  };
}

/** The captures a cached database holds, in the order the seeding made them (ids are time-ordered). */
async function seededCaptures(db: Db): Promise<SeededCapture[]> {
  const rows = await db.all<{ attempt_id: string; channel_reference: string; amount: unknown }>(
    "SELECT id AS attempt_id, channel_reference, amount FROM attempts WHERE channel = 'globalpay' ORDER BY id");
  return rows.map((row) => ({ attempt_id: row.attempt_id, channel_reference: row.channel_reference, amount: Number(row.amount) }));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "corridor-bench-recon-"));
  const target = await database(dir);
  try {
    const seedStarted = performance.now();
    const db = await openDb(target.url);
    let captures: SeededCapture[];
    if (target.seeded) captures = await seededCaptures(db);
    else {
      const merchants = [];
      for (let i = 0; i < 10; i++) merchants.push((await createMerchant(db, { name: `Bench merchant ${i}`, country: "US", default_currency: "USD" })).merchant.id);
      captures = await seedCaptures(db, merchants, lines);
      // A database in service has planner statistics (autovacuum); one seeded a moment ago has none
      // yet, and PostgreSQL would scan whole tables for the import's indexed look-ups.
      if (db.dialect === "postgres") await db.run("ANALYZE");
    }
    await db.close();
    if (!target.seeded) target.keep?.();
    const reportPath = join(dir, "report.csv");
    writeFileSync(reportPath, generateReport(captures));
    const seed_seconds = (performance.now() - seedStarted) / 1000;
    const child = spawnSync(process.execPath, ["--import", "tsx", importerPath, "--db-url", target.url, "--report", reportPath],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: importTimeoutMs, maxBuffer: 1024 * 1024 });
    if (child.status !== 0) throw new Error(`the import process failed (${child.status ?? child.signal}): ${child.stdout}`);
    const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!);
    console.log(JSON.stringify({ bench: "recon", db: values.db, ...result, seed_seconds: Math.round(seed_seconds), targets: { seconds_max: 30, rss_mb_max: 1536, goal_seconds: 10 } }));
  } finally {
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
