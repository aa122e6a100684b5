// The settlement schedule: fetch every source's newly published files (each import is followed by
// a reconciliation run), and feed the fees channels actually charged to the cost-aware router.
import { withObservedFees, type FeeModel } from "../routing/fees.ts";
import type { SettlementContext } from "./context.ts";
import { importSettlementFile, type SettlementFile } from "./files.ts";
import { observedChannelFees } from "./queries.ts";
import { runReconciliation } from "./runs.ts";
import { dayMs, settlementLimits } from "./terms.ts";

async function alreadyFetched(s: SettlementContext, channel: string, source_file_id: string): Promise<boolean> {
  const row = await s.db.get("SELECT id FROM settlement_files WHERE channel = ? AND source_file_id = ? AND status <> 'rejected' LIMIT 1", [channel, source_file_id]);
  return row !== undefined;
}

/** Fetches and imports what each source published since; bounded per source and call. */
export async function fetchSettlementFiles(s: SettlementContext): Promise<{ files: SettlementFile[]; unreachable: { channel: string; reason: string }[] }> {
  const files: SettlementFile[] = [];
  const unreachable: { channel: string; reason: string }[] = [];
  // Bank statements last: the credits they carry fund the batches the reports just brought.
  const channels = [...s.channels.values()].sort((a, b) => Number(a.parser.kind === "bank_statement") - Number(b.parser.kind === "bank_statement"));
  for (const channel of channels) {
    if (!channel.source) continue;
    const listed = await channel.source.listFiles(settlementLimits.files_per_fetch_max);
    if ("unreachable" in listed) {
      unreachable.push({ channel: channel.channel, reason: listed.reason });
      continue;
    }
    for (const published of listed.slice(-settlementLimits.files_per_fetch_max)) {
      if (await alreadyFetched(s, channel.channel, published.id)) continue;
      const fetched = await channel.source.fetchFile(published.id);
      if ("unreachable" in fetched) {
        unreachable.push({ channel: channel.channel, reason: fetched.reason });
        break;
      }
      const result = await importSettlementFile(s, { channel: channel.channel, filename: fetched.filename, content: fetched.content, source: "fetch", source_file_id: published.id });
      if (result.ok) files.push(result.file);
    }
  }
  if (files.some((file) => file.status === "imported")) await runReconciliation(s, { as_of_ms: Date.now(), trigger: "import" });
  return { files, unreachable };
}

/** The router's fee model with each channel's observed cost over the recent settled lines. */
export async function observedFeeModel(s: SettlementContext, base: FeeModel): Promise<FeeModel> {
  const since = new Date(Date.now() - settlementLimits.observed_fee_window_days * dayMs).toISOString().slice(0, 10);
  return withObservedFees(base, await observedChannelFees(s.db, since, settlementLimits.observed_fee_lines_min));
}

/** One tick of the settlement loop. */
export async function settlementTick(s: SettlementContext, base: FeeModel, setFees: (model: FeeModel) => void): Promise<void> {
  await fetchSettlementFiles(s);
  await runReconciliation(s, { as_of_ms: Date.now(), trigger: "schedule" });
  setFees(await observedFeeModel(s, base));
}
