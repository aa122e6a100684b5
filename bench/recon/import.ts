// The measured part of `npm run bench:recon` (see bench/recon.ts), in a process of its own: reads
// the report file, measures the baselines (the parser alone over the same bytes; as many rows into
// a bare table in one durable transaction), then imports the file as the scheduler would and runs
// a reconciliation. Prints one JSON line; rss_mb is this process's peak resident set.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { defaultFeeModel } from "../../src/routing/fees.ts";
import { settlementChannels } from "../../src/settlement/channels.ts";
import type { SettlementContext } from "../../src/settlement/context.ts";
import { importSettlementFile } from "../../src/settlement/files.ts";
import type { ReportParser } from "../../src/settlement/report.ts";
import { runReconciliation } from "../../src/settlement/runs.ts";
import { openDb, type Db } from "../../src/store/db.ts";

const { values } = parseArgs({ options: { "db-url": { type: "string" }, report: { type: "string" } } });
if (!values["db-url"] || !values.report) throw new Error("usage: import.ts --db-url URL --report FILE");

const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
const round = (seconds: number) => Math.round(seconds * 100) / 100;

/** The parser alone: every line read, none kept. */
function parseAlone(parser: ReportParser, content: string): { seconds: number; lines: number } {
  const started = performance.now();
  const scan = parser.scan(content);
  let lines = 0;
  for (const line of scan.lines) if (line) lines++;
  const seconds = (performance.now() - started) / 1000;
  const errors = scan.errors();
  if (errors.length > 0) throw new Error(`the generated report does not parse: ${JSON.stringify(errors.slice(0, 3))}`);
  return { seconds, lines };
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

const db = await openDb(values["db-url"]);
try {
  const channels = new Map(settlementChannels({ timeout_ms: 1000, globalpay: { send: async () => { throw new Error("not used"); } } as never }).map((channel) => [channel.channel, channel]));
  const globalpay = channels.get("globalpay");
  if (!globalpay || globalpay.parser.kind !== "channel_report") throw new Error("programmer error: globalpay's report parser is not registered");
  const content = readFileSync(values.report, "utf8");
  const parsed = parseAlone(globalpay.parser, content);
  const bare_insert_seconds = await bareInsert(db, parsed.lines);
  const s: SettlementContext = { db, channels, fees: () => defaultFeeModel };
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const result = await importSettlementFile(s, { channel: "globalpay", filename: "bench.csv", content, source: "upload" });
  if (!result.ok || result.file.status !== "imported") throw new Error(`import failed: ${JSON.stringify(result)}`);
  const run = await runReconciliation(s, { as_of_ms: Date.now(), trigger: "import" });
  const seconds = (performance.now() - started) / 1000;
  const exceptions = Number((await db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM reconciliation_exceptions"))!.n);
  const matched = Number((await db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM settlement_lines WHERE status = 'matched'"))!.n);
  console.log(JSON.stringify({
    lines: parsed.lines, seconds: round(seconds), lines_per_s: Math.round(parsed.lines / seconds), rss_mb: mb(process.resourceUsage().maxRSS * 1024),
    exceptions, matched_lines: matched, file_mb: mb(content.length), rss_before_import_mb: mb(rssBefore), funded_batches: run.funded_batches,
    baseline: { parse_only_seconds: round(parsed.seconds), bare_insert_seconds: round(bare_insert_seconds) },
  }));
} finally {
  await db.close();
}
