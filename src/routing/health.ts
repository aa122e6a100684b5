// Channel health: a per-process circuit breaker per channel, fed with authorization outcomes, that
// routing uses to move traffic away from a failing channel (never to drop it: a payment whose every
// channel is unhealthy still has somewhere to go).
//
//   closed     normal; once at least `min_attempts` of the last `window_size` outcomes (no older
//              than `window_ms`) are known and ≥ `failure_ratio` of them failed technically → open
//   open       the channel goes to the end of every route; after `cool_down_ms` → half_open
//   half_open  one payment (the probe) keeps the channel at its configured place; the others still
//              see it at the end. A success closes the breaker (a fresh window), a failure opens it
//              again for another cool-down; a probe with no outcome within `cool_down_ms` is
//              abandoned and the next payment probes.
//
// Technical failures: a technical error (the channel answered that it failed, or could not be
// reached) and an unknown outcome (timeout, reset, malformed or ambiguous answer). Approvals,
// challenges and issuer declines are successes: the channel worked. A call refused before it was
// sent (a currency the channel cannot settle) says nothing about the channel and is not counted.
//
// Memory is bounded: `window_size` outcomes per channel, at most `channels_max` channels.
import type { AuthorizeOutcome, Connector } from "../channels/contract.ts";

export type BreakerState = "closed" | "open" | "half_open";
export type HealthSignal = { kind: "success" } | { kind: "failure"; failure: FailureKind } | { kind: "neutral" };
export type FailureKind = "technical_error" | "unknown" | "timeout" | "exception";

export interface HealthOptions {
  window_size: number;
  window_ms: number;
  min_attempts: number;
  failure_ratio: number;
  cool_down_ms: number;
  channels_max: number;
  now: () => number;
}

export const defaultHealthOptions: HealthOptions = {
  window_size: 20,
  window_ms: 60_000,
  min_attempts: 10,
  failure_ratio: 0.5,
  cool_down_ms: 10_000,
  channels_max: 256,
  now: () => Date.now(),
};

interface Sample {
  at_ms: number;
  failed: boolean;
}

interface Breaker {
  state: BreakerState;
  /** Ring buffer of the last outcomes. */
  samples: Sample[];
  next: number;
  opened_ms: number;
  probe_claimed_ms: number | null;
  opens: number;
  totals: { successes: number; technical_error: number; unknown: number; timeout: number; exception: number };
  /** Why it last opened, for routing reasons. */
  last_reason: string;
}

export interface ChannelHealthSnapshot {
  state: BreakerState;
  window: { attempts: number; failures: number };
  opens: number;
  totals: Breaker["totals"];
}

export class ChannelHealthTracker {
  private options: HealthOptions;
  private readonly breakers = new Map<string, Breaker>();

  constructor(options: Partial<HealthOptions> = {}) {
    this.options = { ...defaultHealthOptions, ...options };
    this.check();
  }

  /** Changes the thresholds (tests, operators); existing windows are kept. */
  configure(options: Partial<HealthOptions>): void {
    this.options = { ...this.options, ...options };
    this.check();
  }

  record(channel: string, signal: HealthSignal): void {
    if (signal.kind === "neutral") return;
    const breaker = this.breaker(channel);
    if (!breaker) return;
    const now = this.options.now();
    if (signal.kind === "success") breaker.totals.successes++;
    else breaker.totals[signal.failure]++;
    const failed = signal.kind === "failure";
    this.push(breaker, { at_ms: now, failed });
    this.advance(breaker, now);
    if (breaker.state === "half_open") {
      if (failed) this.open(breaker, now, "the half-open probe failed");
      else this.close(breaker);
      return;
    }
    if (breaker.state === "closed") {
      const { attempts, failures } = this.window(breaker, now);
      if (attempts >= this.options.min_attempts && failures / attempts >= this.options.failure_ratio) {
        this.open(breaker, now, `${failures} of the last ${attempts} attempts failed technically`);
      }
    }
  }

  /** Records what an authorize call came back with. */
  observe(channel: string, outcome: AuthorizeOutcome): void {
    this.record(channel, healthSignal(outcome));
  }

  state(channel: string): BreakerState {
    const breaker = this.breakers.get(channel);
    if (!breaker) return "closed";
    this.advance(breaker, this.options.now());
    return breaker.state;
  }

  /**
   * For routing: whether this channel goes to the end of a route now. A half-open channel admits
   * one probe (the caller keeps it in place); everyone else is told to demote it.
   */
  admit(channel: string): { demote: false; probe: boolean } | { demote: true; why: string } {
    const breaker = this.breakers.get(channel);
    if (!breaker) return { demote: false, probe: false };
    const now = this.options.now();
    this.advance(breaker, now);
    if (breaker.state === "closed") return { demote: false, probe: false };
    if (breaker.state === "open") return { demote: true, why: `circuit breaker open for ${channel} (${breaker.last_reason})` };
    const probeLive = breaker.probe_claimed_ms !== null && now - breaker.probe_claimed_ms < this.options.cool_down_ms;
    if (probeLive) return { demote: true, why: `circuit breaker half-open for ${channel}, a probe is in flight (${breaker.last_reason})` };
    breaker.probe_claimed_ms = now;
    return { demote: false, probe: true };
  }

  snapshot(): Record<string, ChannelHealthSnapshot> {
    const now = this.options.now();
    const result: Record<string, ChannelHealthSnapshot> = {};
    for (const [channel, breaker] of this.breakers) {
      this.advance(breaker, now);
      result[channel] = { state: breaker.state, window: this.window(breaker, now), opens: breaker.opens, totals: { ...breaker.totals } };
    }
    return result;
  }

  private check(): void {
    const { window_size, min_attempts, failure_ratio, cool_down_ms, window_ms, channels_max } = this.options;
    const positive = [window_size, min_attempts, channels_max].every((value) => Number.isSafeInteger(value) && value >= 1);
    if (!positive || min_attempts > window_size) throw new Error("programmer error: health window_size ≥ min_attempts ≥ 1 and channels_max ≥ 1");
    if (!(failure_ratio > 0 && failure_ratio <= 1)) throw new Error("programmer error: health failure_ratio must be in (0, 1]");
    if (!(cool_down_ms >= 0 && window_ms > 0)) throw new Error("programmer error: health cool_down_ms ≥ 0 and window_ms > 0");
  }

  private breaker(channel: string): Breaker | undefined {
    const existing = this.breakers.get(channel);
    if (existing) return existing;
    if (this.breakers.size >= this.options.channels_max) return undefined;
    const created: Breaker = {
      state: "closed", samples: [], next: 0, opened_ms: 0, probe_claimed_ms: null, opens: 0,
      totals: { successes: 0, technical_error: 0, unknown: 0, timeout: 0, exception: 0 }, last_reason: "",
    };
    this.breakers.set(channel, created);
    return created;
  }

  private push(breaker: Breaker, sample: Sample): void {
    const size = this.options.window_size;
    if (breaker.samples.length > size) breaker.samples = breaker.samples.slice(-size); // the window shrank
    if (breaker.samples.length < size) {
      breaker.samples.push(sample);
      breaker.next = breaker.samples.length % size;
      return;
    }
    breaker.samples[breaker.next] = sample;
    breaker.next = (breaker.next + 1) % size;
  }

  private window(breaker: Breaker, now: number): { attempts: number; failures: number } {
    let attempts = 0;
    let failures = 0;
    for (const sample of breaker.samples) {
      if (now - sample.at_ms > this.options.window_ms) continue;
      attempts++;
      if (sample.failed) failures++;
    }
    return { attempts, failures };
  }

  /** open → half_open once the cool-down has passed. */
  private advance(breaker: Breaker, now: number): void {
    if (breaker.state === "open" && now - breaker.opened_ms >= this.options.cool_down_ms) {
      breaker.state = "half_open";
      breaker.probe_claimed_ms = null;
    }
  }

  private open(breaker: Breaker, now: number, reason: string): void {
    breaker.state = "open";
    breaker.opened_ms = now;
    breaker.probe_claimed_ms = null;
    breaker.opens++;
    breaker.last_reason = reason;
  }

  private close(breaker: Breaker): void {
    breaker.state = "closed";
    breaker.samples = [];
    breaker.next = 0;
    breaker.probe_claimed_ms = null;
  }
}

const timeoutPattern = /\bwithin \d+ ?ms\b|timed? ?out|timeout/i;

/** How an authorize outcome counts for the channel's health. */
export function healthSignal(outcome: AuthorizeOutcome): HealthSignal {
  switch (outcome.kind) {
    case "approved":
    case "challenge":
      return { kind: "success" };
    case "declined":
    case "error":
      if (outcome.decline.code === "currency_not_supported") return { kind: "neutral" };
      if (outcome.decline.category !== "technical") return { kind: "success" };
      return { kind: "failure", failure: "technical_error" };
    case "unknown":
      return { kind: "failure", failure: timeoutPattern.test(outcome.reason) ? "timeout" : "unknown" };
  }
}

const trackers = new WeakMap<Connector, ChannelHealthTracker>();

/** The tracker a connector reports to, when it was wrapped by `withHealthTracking`. */
export function healthTrackerOf(connector: Connector | undefined): ChannelHealthTracker | undefined {
  return connector ? trackers.get(connector) : undefined;
}

/** The same connector, reporting every authorize outcome to the tracker. */
export function withHealthTracking(connector: Connector, tracker: ChannelHealthTracker): Connector {
  const wrapped: Connector = {
    name: connector.name,
    capabilities: connector.capabilities,
    async authorize(request) {
      let outcome: AuthorizeOutcome;
      try {
        outcome = await connector.authorize(request);
      } catch (error) {
        tracker.record(connector.name, { kind: "failure", failure: "exception" });
        throw error;
      }
      tracker.observe(connector.name, outcome);
      return outcome;
    },
    capture: (input) => connector.capture(input),
    void: (input) => connector.void(input),
    refund: (input) => connector.refund(input),
    inquire: (reference, currency) => connector.inquire(reference, currency),
    parseNotification: (headers, raw_body) => connector.parseNotification(headers, raw_body),
    disputes: connector.disputes,
  };
  trackers.set(wrapped, tracker);
  return wrapped;
}

/** Wraps every connector of one Corridor instance with one (fresh, unless given) tracker. */
export function withChannelHealth(connectors: Connector[], tracker: ChannelHealthTracker = new ChannelHealthTracker()): Connector[] {
  return connectors.map((connector) => withHealthTracking(connector, tracker));
}

/**
 * Reorders a route by channel health: channels whose breaker is open go to the end, in their
 * configured order, and every reason says what happened. A route of one channel is left alone.
 */
export function applyChannelHealth<T extends { channel: string; reason: string }>(
  route: T[],
  registry: { get(name: string): Connector | undefined },
): T[] {
  if (route.length < 2) return route;
  const kept: { entry: T; position: number }[] = [];
  const demoted: T[] = [];
  const notes: string[] = [];
  route.forEach((entry, position) => {
    const tracker = healthTrackerOf(registry.get(entry.channel));
    const admission = tracker?.admit(entry.channel);
    if (admission?.demote) {
      demoted.push({ ...entry, reason: `${entry.reason}; ${admission.why}: moved to the end of the route` });
      notes.push(admission.why);
    } else if (admission?.probe) {
      kept.push({ entry: { ...entry, reason: `${entry.reason}; circuit breaker half-open for ${entry.channel}: this payment is its probe` }, position });
    } else {
      kept.push({ entry, position });
    }
  });
  if (demoted.length === 0) return kept.map(({ entry }) => entry);
  const moved = kept.map(({ entry, position }, index) =>
    index === position ? entry : { ...entry, reason: `${entry.reason}; tried at position ${index + 1} instead, because ${notes.join("; ")}` },
  );
  return [...moved, ...demoted];
}
