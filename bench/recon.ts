// `npm run bench:recon`: reconciliation at scale. A database with N captured card payments on
// globalpay (seeded through the ledger's own postings; not timed), then a generated globalpay
// settlement report of N lines for them (the channel's own CSV), imported as the scheduler would:
// parsed, matched, booked durably (one transaction, synchronous commit), followed by a
// reconciliation run. Prints one JSON line:
//   {lines, seconds, lines_per_s, rss_mb, exceptions, ...}
// with the baseline measured in the same run: the same file through the CSV parser alone, and the
// same number of rows written to a bare table in one durable transaction.
//   npm run bench:recon [-- --lines 1000000 --db sqlite|postgres --pg-url …]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { createMerchant } from "../src/merchants/merchants.ts";
import { defaultFeeModel } from "../src/routing/fees.ts";
import { settlementChannels } from "../src/settlement/channels.ts";
import type { SettlementContext } from "../src/settlement/context.ts";
import { importSettlementFile } from "../src/settlement/files.ts";
import { runReconciliation } from "../src/settlement/runs.ts";
import { openDb, type Db } from "../src/store/db.ts";
import { generateReport, seedCaptures } from "./recon/seed.ts";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "1000000" },
    db: { type: "string", default: "sqlite" },
    "pg-url": { type: "string", default: process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
  },
});
const lines = Number(values.lines);
if (!Number.isSafeInteger(lines) || lines < 1 || lines > 5_000_000) throw new Error("--lines must be 1..5000000");

async function database(): Promise<{ db: Db; drop(): Promise<void> }> {
  if (values.db === "postgres") {
    const name = `corridor_bench_recon_${Date.now()}`;
    const admin = new pg.Client({ connectionString: values["pg-url"] });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(values["pg-url"]!);
    url.pathname = `/${name}`;
    const db = await openDb(url.toString());
    return {
      db,
      async drop() {
        await db.close();
        const client = new pg.Client({ connectionString: values["pg-url"] });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "corridor-bench-recon-"));
  const db = await openDb(`sqlite:${join(dir, "corridor.sqlite")}`);
  return { db, async drop() { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));

async function main(): Promise<void> {
  const { db, drop } = await database();
  try {
    const merchants = [];
    for (let i = 0; i < 10; i++) merchants.push((await createMerchant(db, { name: `Bench merchant ${i}`, country: "US", default_currency: "USD" })).merchant.id);
    const seedStarted = performance.now();
    const captures = await seedCaptures(db, merchants, lines);
    const seed_seconds = (performance.now() - seedStarted) / 1000;
    const channels = new Map(settlementChannels({ timeout_ms: 1000, globalpay: { send: async () => { throw new Error("not used"); } } as never }).map((channel) => [channel.channel, channel]));
    const globalpay = channels.get("globalpay");
    if (!globalpay || globalpay.parser.kind !== "channel_report") throw new Error("programmer error: globalpay's report parser is not registered");
    const content = generateReport(captures);
    // Baselines, same run: the parser alone over the same bytes; the same rows into a bare table.
    const parseStarted = performance.now();
    const parsed = globalpay.parser.parse(content);
    const parse_only_seconds = (performance.now() - parseStarted) / 1000;
    if (!parsed.ok) throw new Error(`the generated report does not parse: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
    const bulk_insert_seconds = await bareInsert(db, parsed.lines.length);
    const s: SettlementContext = { db, channels, fees: () => defaultFeeModel };
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const result = await importSettlementFile(s, { channel: "globalpay", filename: "bench.csv", content, source: "upload" });
    if (!result.ok || result.file.status !== "imported") throw new Error(`import failed: ${JSON.stringify(result)}`);
    const run = await runReconciliation(s, { as_of_ms: Date.now(), trigger: "import" });
    const seconds = (performance.now() - started) / 1000;
    const exceptions = Number((await db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM reconciliation_exceptions"))!.n);
    const matched = Number((await db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM settlement_lines WHERE status = 'matched'"))!.n);
    const rss_mb = mb(process.resourceUsage().maxRSS * 1024);
    console.log(JSON.stringify({
      bench: "recon", db: values.db, lines: parsed.lines.length, seconds: Math.round(seconds * 100) / 100,
      lines_per_s: Math.round(parsed.lines.length / seconds), rss_mb, exceptions, matched_lines: matched,
      file_mb: mb(content.length), rss_before_import_mb: mb(rssBefore), funded_batches: run.funded_batches,
      baseline: { parse_only_seconds: Math.round(parse_only_seconds * 100) / 100, bare_insert_seconds: Math.round(bulk_insert_seconds * 100) / 100 },
      seed_seconds: Math.round(seed_seconds), targets: { seconds_max: 30, rss_mb_max: 1536, goal_seconds: 10 },
    }));
  } finally {
    await drop();
  }
}

/** `rows` rows of a table shaped like settlement lines, in one durable transaction: the floor of writing them. */
async function bareInsert(db: Db, rows: number): Promise<number> {
  await db.transaction((tx) => tx.run("CREATE TABLE bench_bare (file_id TEXT NOT NULL, line INTEGER NOT NULL, ref TEXT, gross BIGINT NOT NULL, net BIGINT NOT NULL, PRIMARY KEY (file_id, line))"));
  const started = performance.now();
  await db.transaction(async (tx) => {
    const chunk = 200;
    for (let start = 0; start < rows; start += chunk) {
      const n = Math.min(chunk, rows - start);
      const params: unknown[] = [];
      for (let i = 0; i < n; i++) params.push("f", start + i, `att_${start + i}`, 1000, 960);
      await tx.run(`INSERT INTO bench_bare (file_id, line, ref, gross, net) VALUES ${Array(n).fill("(?, ?, ?, ?, ?)").join(", ")}`, params);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  await db.transaction((tx) => tx.run("DROP TABLE bench_bare"));
  return seconds;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
