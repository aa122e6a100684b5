// Live routing statistics, shared by every merchant of a process:
// - discounted Beta posteriors of the approval rate per channel × segment (the bandit's memory):
//   each new outcome in a segment discounts that segment's older outcomes by (1 − 1/window), so
//   a channel that is no longer tried slowly loses its certainty and gets explored again;
// - a channel-wide drift per channel: the running average surprise (approved − expected) of its
//   outcomes across all segments, added to every segment's estimate, so that a channel degrading
//   everywhere is marked down at once even in segments that have not seen it fail yet;
// - circuit breakers (health.ts) per channel and per channel × segment, one set per distinct
//   elimination setting in use.
import type { AuthorizeOutcome } from "../channels/contract.ts";
import type { EliminationConfig } from "./config.ts";
import { eliminationDefaults } from "./config.ts";
import { ChannelHealthTracker, healthSignal, type HealthSignal } from "./health.ts";

/** How an attempt ended, as routing learns from it. */
export type OutcomeKind = "approved" | "soft" | "hard" | "technical" | "unknown";

export interface RoutingOutcome {
  channel: string;
  /** The `segment` of the decision that routed the attempt. */
  segment: string;
  kind: OutcomeKind;
}

export interface StatsOptions {
  /** Effective memory of a segment, in outcomes of that segment. */
  discount_window: number;
  /** Segments kept; beyond this, new segments are routed without statistics. */
  segments_max: number;
  /** Breaker keys (channel × segment) per elimination setting. */
  breaker_keys_max: number;
  /** Distinct elimination settings with their own breakers. */
  breaker_sets_max: number;
  /** Channel-wide drift: the average surprise (approved − expected) of a channel's recent
   *  outcomes across all its segments, over about this many outcomes; it shifts every segment's
   *  estimate of the channel until the segments have caught up. 0 turns it off. */
  drift_window: number;
  /** Outcomes an arm needs before its surprises count toward the drift. */
  drift_evidence_min: number;
  now: () => number;
  /** A channel-level tracker fed elsewhere (e.g. by `withChannelHealth`): used for channel-level
   *  admission, and `observe` then leaves channel-level recording to its feeder. */
  channel_health?: ChannelHealthTracker;
}

export const defaultStatsOptions: StatsOptions = {
  discount_window: 400,
  segments_max: 50_000,
  breaker_keys_max: 200_000,
  breaker_sets_max: 16,
  drift_window: 200,
  drift_evidence_min: 20,
  now: () => Date.now(),
};

interface Arm {
  successes: number;
  failures: number;
  /** Segment outcome count when last updated (the discount clock). */
  at: number;
}

interface Segment {
  outcomes: number;
  arms: Map<string, Arm>;
}

export interface BreakerSet {
  channel: ChannelHealthTracker;
  segment: ChannelHealthTracker;
  /** Whether `channel` is fed by someone else. */
  channel_external: boolean;
}

export interface Posterior {
  /** Beta(alpha, beta) with a uniform prior: 1 + discounted successes, 1 + discounted failures. */
  alpha: number;
  beta: number;
  /** Channel-wide drift to add to the mean (and samples), −1…1. */
  drift: number;
}

const breakerKeySeparator = "\u0001";

/** The health tracker's signal for a routing outcome. */
export function signalOf(kind: OutcomeKind): HealthSignal {
  if (kind === "technical") return { kind: "failure", failure: "technical_error" };
  if (kind === "unknown") return { kind: "failure", failure: "unknown" };
  return { kind: "success" };
}

/** What an authorize call's outcome teaches routing; undefined when it teaches nothing yet (a
 *  3-D Secure challenge: observe its final answer later) or nothing about the channel (a
 *  currency the channel refused before sending). */
export function outcomeKindOf(outcome: AuthorizeOutcome): OutcomeKind | undefined {
  if (outcome.kind === "challenge") return undefined;
  if (healthSignal(outcome).kind === "neutral") return undefined;
  switch (outcome.kind) {
    case "approved":
      return "approved";
    case "unknown":
      return "unknown";
    case "declined":
    case "error":
      return outcome.decline.category;
  }
}

export class RoutingStats {
  readonly options: StatsOptions;
  private readonly decay: number;
  private readonly segments = new Map<string, Segment>();
  private readonly breakerSets = new Map<string, BreakerSet>();
  private readonly drifts = new Map<string, { value: number }>();

  constructor(options: Partial<StatsOptions> = {}) {
    this.options = { ...defaultStatsOptions, ...options };
    if (!(this.options.discount_window >= 1)) throw new Error("programmer error: discount_window must be ≥ 1");
    this.decay = 1 - 1 / this.options.discount_window;
  }

  /** The approval posterior of a channel in a segment (uniform when nothing is known). */
  posterior(segment: string, channel: string): Posterior {
    const drift = this.drifts.get(channel)?.value ?? 0;
    const state = this.segments.get(segment);
    const arm = state?.arms.get(channel);
    if (!state || !arm) return { alpha: 1, beta: 1, drift };
    const factor = Math.pow(this.decay, state.outcomes - arm.at);
    return { alpha: 1 + arm.successes * factor, beta: 1 + arm.failures * factor, drift };
  }

  /** Feeds one attempt's outcome: approvals and declines to the posteriors (technical failures
   *  and unknowns are the channel's health, not the issuer's answer), everything to the breakers. */
  observe(outcome: RoutingOutcome): void {
    if (outcome.kind !== "technical" && outcome.kind !== "unknown") this.learn(outcome.segment, outcome.channel, outcome.kind === "approved");
    const signal = signalOf(outcome.kind);
    const segmentKey = outcome.channel + breakerKeySeparator + outcome.segment;
    for (const set of this.breakerSets.values()) {
      if (!set.channel_external) set.channel.record(outcome.channel, signal);
      set.segment.record(segmentKey, signal);
    }
  }

  /** The breakers for an elimination setting (created on first use). */
  breakers(elimination: EliminationConfig): BreakerSet {
    const window_ms = elimination.window_ms ?? eliminationDefaults.window_ms;
    const min_attempts = elimination.min_attempts ?? Math.max(1, Math.ceil(elimination.window / 2));
    const key = `${elimination.failure_threshold}/${elimination.window}/${min_attempts}/${window_ms}/${elimination.cooldown_ms}`;
    const existing = this.breakerSets.get(key);
    if (existing) return existing;
    if (this.breakerSets.size >= this.options.breaker_sets_max) return this.breakerSets.values().next().value!;
    const health = {
      window_size: elimination.window, window_ms, min_attempts,
      failure_ratio: elimination.failure_threshold, cool_down_ms: elimination.cooldown_ms, now: this.options.now,
    };
    const external = this.options.channel_health;
    const created: BreakerSet = {
      channel: external ?? new ChannelHealthTracker({ ...health, channels_max: 1_000 }),
      segment: new ChannelHealthTracker({ ...health, channels_max: this.options.breaker_keys_max }),
      channel_external: external !== undefined,
    };
    this.breakerSets.set(key, created);
    return created;
  }

  segmentBreakerKey(channel: string, segment: string): string {
    return channel + breakerKeySeparator + segment;
  }

  private learn(segmentKey: string, channel: string, approved: boolean): void {
    let segment = this.segments.get(segmentKey);
    if (!segment) {
      if (this.segments.size >= this.options.segments_max) return;
      segment = { outcomes: 0, arms: new Map() };
      this.segments.set(segmentKey, segment);
    }
    segment.outcomes++;
    let arm = segment.arms.get(channel);
    if (!arm) {
      arm = { successes: 0, failures: 0, at: segment.outcomes };
      segment.arms.set(channel, arm);
    }
    const factor = Math.pow(this.decay, segment.outcomes - arm.at);
    this.learnDrift(channel, arm, factor, approved);
    arm.successes = arm.successes * factor + (approved ? 1 : 0);
    arm.failures = arm.failures * factor + (approved ? 0 : 1);
    arm.at = segment.outcomes;
  }

  private learnDrift(channel: string, arm: Arm, factor: number, approved: boolean): void {
    const window = this.options.drift_window;
    if (window <= 0) return;
    const successes = arm.successes * factor;
    const failures = arm.failures * factor;
    if (successes + failures < this.options.drift_evidence_min) return;
    let drift = this.drifts.get(channel);
    if (!drift) this.drifts.set(channel, (drift = { value: 0 }));
    const expected = (1 + successes) / (2 + successes + failures);
    drift.value += ((approved ? 1 : 0) - expected - drift.value) / window;
  }
}
