// Channel degradation alerts: a worker tick (run in a loop like the janitor) that compares, per
// channel, the approval rate of the recent window with the channel's own baseline, records each
// state change in `channel_health_events` and announces it to every merchant that was sending
// attempts to that channel (`channel.degraded`, `channel.recovered` events in the outbox).
//
// The test (one-sided two-proportion z-test, pooled):
//   p1 = x1/n1 (recent window), p0 = x0/n0 (baseline), p = (x1 + x0) / (n1 + n0),
//   z = (p1 - p0) / sqrt(p (1 - p) (1/n1 + 1/n0)).
// A healthy channel becomes DEGRADED when n1 >= 30, n0 >= 30, z < -3.09 (one-sided p < 0.001: a drop
// that large happens by chance less than once in a thousand checks) AND the drop p0 - p1 is at least
// 5 points (significant but tiny drops on huge volumes are not worth an alert).
// Caveat: with small recent windows and approval rates near 1 the binomial is skewed and the normal
// approximation is anti-conservative: at n1 = 40, p = 0.9 a stable channel trips it on about 0.3%
// of checks (simulated), not 0.1%. Raise min_recent_attempts to tighten it.
// The baseline is then frozen (stored with the transition): otherwise after an hour the baseline
// would be the degraded period itself and the channel would "recover" without improving.
// A degraded channel RECOVERS when its recent window (n1 >= 30) is no longer lower than the frozen
// baseline with any confidence: z >= -1.645 (one-sided p >= 0.05) or a drop under 2.5 points. The
// looser thresholds are hysteresis against flapping. A channel with no traffic stays as it is.
// Attempts whose outcome is still unknown (timeouts, pending 3-D Secure) are left out of both
// windows until resolved: the recent window always has more of them than the baseline.
//
// Idempotent per transition: transition number `seq` is unique per channel, so of several processes
// ticking at once only one records a given transition and emits its events (same transaction).
// Bounded work per tick: one aggregate query over the two windows, at most `channels_max` channels,
// at most `merchants_per_event_max` merchants notified per transition.
import { recordEvent, type EventType } from "../events/outbox.ts";
import { newId } from "../ids.ts";
import type { Db, Queryable, Tx } from "../store/db.ts";
import { toSafeNumber } from "../store/db.ts";
import { rateString } from "./aggregate.ts";

export interface DegradationSettings {
  recent_ms: number;
  baseline_ms: number;
  min_recent_attempts: number;
  min_baseline_attempts: number;
  /** Degraded below this z (one-sided p < 0.001). */
  degraded_z: number;
  /** ... and with a drop of at least this many rate points (0.05 = 5 points). */
  degraded_drop_min: number;
  /** Recovered at or above this z (one-sided p >= 0.05) ... */
  recovered_z: number;
  /** ... or with a drop under this. */
  recovered_drop_max: number;
  channels_max: number;
  merchants_per_event_max: number;
}

export const defaultDegradationSettings: DegradationSettings = {
  recent_ms: 5 * 60_000,
  baseline_ms: 60 * 60_000,
  min_recent_attempts: 30,
  min_baseline_attempts: 30,
  degraded_z: -3.09,
  degraded_drop_min: 0.05,
  recovered_z: -1.645,
  recovered_drop_max: 0.025,
  channels_max: 200,
  merchants_per_event_max: 1000,
};

// Until outbox.ts lists them in `eventTypes` (so merchants may subscribe to them by name).
const degradedEvent: EventType = "channel.degraded";
const recoveredEvent: EventType = "channel.recovered";

/** Pooled two-proportion z statistic of x1/n1 against x0/n0; 0 when it is undefined (no variance). */
export function twoProportionZ(x1: number, n1: number, x0: number, n0: number): number {
  if (n1 === 0 || n0 === 0) return 0;
  const pooled = (x1 + x0) / (n1 + n0);
  const variance = pooled * (1 - pooled) * (1 / n1 + 1 / n0);
  if (variance <= 0) return 0;
  return (x1 / n1 - x0 / n0) / Math.sqrt(variance);
}

export type ChannelState = "healthy" | "degraded";

export interface HealthTransition {
  id: string;
  channel: string;
  seq: number;
  state: "degraded" | "recovered";
  recent: { attempts: number; approved: number };
  baseline: { attempts: number; approved: number };
  z: number;
  merchants_notified: number;
}

export interface DegradationReport {
  channels_checked: number;
  transitions: HealthTransition[];
}

interface LatestTransition {
  seq: number;
  state: "degraded" | "recovered";
  baseline_attempts: number;
  baseline_approved: number;
  merchant_ids: string[];
}

interface Raw {
  [column: string]: unknown;
}

async function latestTransition(db: Queryable, channel: string): Promise<LatestTransition | undefined> {
  const row = await db.get<Raw>(
    "SELECT seq, state, baseline_attempts, baseline_approved, merchant_ids FROM channel_health_events WHERE channel = ? ORDER BY seq DESC LIMIT 1",
    [channel],
  );
  if (!row) return undefined;
  return {
    seq: toSafeNumber(row.seq),
    state: row.state as "degraded" | "recovered",
    baseline_attempts: toSafeNumber(row.baseline_attempts),
    baseline_approved: toSafeNumber(row.baseline_approved),
    merchant_ids: JSON.parse(row.merchant_ids as string) as string[],
  };
}

/** Current state of every channel that ever changed state (others are healthy). */
export async function channelStates(db: Queryable): Promise<Record<string, ChannelState>> {
  const rows = await db.all<Raw>(
    `SELECT e.channel, e.state FROM channel_health_events e
     WHERE e.seq = (SELECT MAX(seq) FROM channel_health_events l WHERE l.channel = e.channel) ORDER BY e.channel`,
  );
  const states: Record<string, ChannelState> = {};
  for (const row of rows) states[row.channel as string] = row.state === "degraded" ? "degraded" : "healthy";
  return states;
}

interface Decision {
  state: "degraded" | "recovered";
  recent: { attempts: number; approved: number };
  baseline: { attempts: number; approved: number };
  z: number;
}

/** What the detector concludes for one channel, from its counts and its last recorded transition. */
export function decide(
  settings: DegradationSettings,
  latest: Pick<LatestTransition, "state" | "baseline_attempts" | "baseline_approved"> | undefined,
  recent: { attempts: number; approved: number },
  baseline: { attempts: number; approved: number },
): Decision | undefined {
  if (recent.attempts < settings.min_recent_attempts) return undefined;
  const rate = (counts: { attempts: number; approved: number }) => counts.approved / counts.attempts;
  if (latest?.state === "degraded") {
    const frozen = { attempts: latest.baseline_attempts, approved: latest.baseline_approved };
    const z = twoProportionZ(recent.approved, recent.attempts, frozen.approved, frozen.attempts);
    const drop = rate(frozen) - rate(recent);
    if (z >= settings.recovered_z || drop < settings.recovered_drop_max) return { state: "recovered", recent, baseline: frozen, z };
    return undefined;
  }
  if (baseline.attempts < settings.min_baseline_attempts) return undefined;
  const z = twoProportionZ(recent.approved, recent.attempts, baseline.approved, baseline.attempts);
  const drop = rate(baseline) - rate(recent);
  if (z < settings.degraded_z && drop >= settings.degraded_drop_min) return { state: "degraded", recent, baseline, z };
  return undefined;
}

async function merchantsOnChannel(tx: Tx, channel: string, from_ms: number, to_ms: number, max: number): Promise<string[]> {
  const rows = await tx.all<{ merchant_id: string }>(
    "SELECT DISTINCT merchant_id FROM attempt_samples WHERE channel = ? AND created_ms >= ? AND created_ms < ? ORDER BY merchant_id LIMIT ?",
    [channel, from_ms, to_ms, max],
  );
  return rows.map((row) => row.merchant_id);
}

/** Records one transition and its events, unless another process (or an earlier tick) already did. */
async function recordTransition(
  db: Db, settings: DegradationSettings, channel: string, expected_seq: number, decision: Decision, window: { from_ms: number; to_ms: number },
): Promise<HealthTransition | undefined> {
  return db.transaction(async (tx) => {
    const latest = await latestTransition(tx, channel);
    if ((latest?.seq ?? 0) !== expected_seq) return undefined; // moved on meanwhile: next tick decides again
    const seq = expected_seq + 1;
    const recentMerchants = await merchantsOnChannel(tx, channel, window.from_ms, window.to_ms, settings.merchants_per_event_max);
    // A recovery goes to everyone told about the degradation, and to whoever sends traffic now.
    const merchants = decision.state === "recovered"
      ? [...new Set([...(latest?.merchant_ids ?? []), ...recentMerchants])].slice(0, settings.merchants_per_event_max)
      : recentMerchants;
    const id = newId("chh");
    const now = window.to_ms;
    const inserted = await tx.run(
      `INSERT INTO channel_health_events (id, channel, seq, state, recent_attempts, recent_approved, baseline_attempts, baseline_approved,
         z_score, merchant_ids, window_start_ms, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, seq) DO NOTHING`,
      [
        id, channel, seq, decision.state, decision.recent.attempts, decision.recent.approved, decision.baseline.attempts, decision.baseline.approved,
        decision.z.toFixed(4), JSON.stringify(merchants), window.from_ms, now,
      ],
    );
    if (inserted.changes !== 1) return undefined;
    // What merchants see: rates only (attempt counts across the platform are not theirs to know).
    const object = {
      id,
      object: "channel_health",
      channel,
      status: decision.state === "degraded" ? "degraded" : "healthy",
      approval_rate: rateString(decision.recent.approved, decision.recent.attempts),
      baseline_approval_rate: rateString(decision.baseline.approved, decision.baseline.attempts),
      window: { start: Math.floor(window.from_ms / 1000), end: Math.floor(window.to_ms / 1000) },
      created: Math.floor(now / 1000),
    };
    const type = decision.state === "degraded" ? degradedEvent : recoveredEvent;
    for (const merchant_id of merchants) await recordEvent(tx, { merchant_id, type, object_id: id, object });
    return {
      id, channel, seq, state: decision.state, recent: decision.recent, baseline: decision.baseline, z: decision.z,
      merchants_notified: merchants.length,
    };
  });
}

/** One pass of the detector. `now_ms` is for tests; the loop uses the clock. */
export async function degradationTick(
  db: Db,
  options: { now_ms?: number; settings?: Partial<DegradationSettings> } = {},
): Promise<DegradationReport> {
  const settings = { ...defaultDegradationSettings, ...options.settings };
  const now = options.now_ms ?? Date.now();
  const recentStart = now - settings.recent_ms;
  const baselineStart = recentStart - settings.baseline_ms;
  const rows = await db.all<Raw>(
    `SELECT channel,
       SUM(CASE WHEN created_ms >= ? THEN 1 ELSE 0 END) AS recent_attempts,
       SUM(CASE WHEN created_ms >= ? AND outcome = 'approved' THEN 1 ELSE 0 END) AS recent_approved,
       SUM(CASE WHEN created_ms < ? THEN 1 ELSE 0 END) AS baseline_attempts,
       SUM(CASE WHEN created_ms < ? AND outcome = 'approved' THEN 1 ELSE 0 END) AS baseline_approved
     FROM attempt_samples WHERE created_ms >= ? AND created_ms < ? AND outcome <> 'unknown'
     GROUP BY channel ORDER BY channel LIMIT ?`,
    [recentStart, recentStart, recentStart, recentStart, baselineStart, now, settings.channels_max],
  );
  const report: DegradationReport = { channels_checked: rows.length, transitions: [] };
  for (const row of rows) {
    const channel = row.channel as string;
    const recent = { attempts: toSafeNumber(row.recent_attempts), approved: toSafeNumber(row.recent_approved) };
    const baseline = { attempts: toSafeNumber(row.baseline_attempts), approved: toSafeNumber(row.baseline_approved) };
    const latest = await latestTransition(db, channel);
    const decision = decide(settings, latest, recent, baseline);
    if (!decision) continue;
    const transition = await recordTransition(db, settings, channel, latest?.seq ?? 0, decision, { from_ms: recentStart, to_ms: now });
    if (transition) report.transitions.push(transition);
  }
  return report;
}
