// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by source area,
// and inclusive time for the project's own functions.
//   node --import tsx bench/profile.ts file.cpuprofile [--top 25]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  total_ms: number;
  idle_pct: number;
  gc_pct: number;
  top_self: { fn: string; self_pct: number }[];
  by_area: { area: string; self_pct: number }[];
  top_inclusive_src: { fn: string; total_pct: number }[];
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("/node_modules/");
  if (modules >= 0) return path.slice(modules + "/node_modules/".length);
  const src = path.search(/\/(src|bench)\//);
  if (src >= 0) return path.slice(src + 1);
  return path;
}

function area(frame: CallFrame): string {
  const url = frame.url;
  if (frame.functionName === "(idle)") return "(idle)";
  if (frame.functionName === "(garbage collector)") return "(gc)";
  if (frame.functionName === "(program)") return "(program: native, incl. synchronous SQLite/fsync)";
  if (!url) return `(native ${frame.functionName || "anonymous"})`;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const path = shortUrl(url);
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const parts = path.split("/");
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  return path;
}

function label(frame: CallFrame): string {
  const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "native";
  return `${frame.functionName || "(anonymous)"} ${where}`;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = Math.max(0, profile.timeDeltas[index] ?? 0);
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
    total += delta;
  });
  const bySelf = new Map<string, number>();
  const byArea = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") idle += us;
    if (frame.functionName === "(garbage collector)") gc += us;
    bySelf.set(label(frame), (bySelf.get(label(frame)) ?? 0) + us);
    byArea.set(area(frame), (byArea.get(area(frame)) ?? 0) + us);
    // inclusive time of our own functions: walk up the stack, count each function once
    const seen = new Set<string>();
    for (let cursor: number | undefined = id, depth = 0; cursor !== undefined && depth < 1_000; cursor = parent.get(cursor), depth++) {
      const node = byId.get(cursor)!;
      if (!/\/(src)\//.test(node.callFrame.url) || node.callFrame.url.includes("node_modules")) continue;
      const name = label(node.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const pct = (us: number) => Math.round((1000 * us) / Math.max(total, 1)) / 10;
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    total_ms: Math.round(total / 1000),
    idle_pct: pct(idle),
    gc_pct: pct(gc),
    top_self: sorted(bySelf).map(([fn, us]) => ({ fn, self_pct: pct(us) })),
    by_area: sorted(byArea).map(([name, us]) => ({ area: name, self_pct: pct(us) })),
    top_inclusive_src: sorted(inclusive).map(([fn, us]) => ({ fn, total_pct: pct(us) })),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: node --import tsx bench/profile.ts file.cpuprofile [--top N]\n");
    process.exit(2);
  }
  const topIndex = process.argv.indexOf("--top");
  const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 25;
  process.stdout.write(`${JSON.stringify(summarizeProfile(file, top), null, 2)}\n`);
}
