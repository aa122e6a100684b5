// Per-process Prometheus metrics (prom-client), exposed at GET /metrics. Observed after the
// transaction that records an outcome has committed, so nothing is counted that did not happen.
// Label values are bounded sets (channels, outcomes, card brands, payment statuses).
import type { AuthorizeOutcome } from "../channels/contract.ts";
import { Counter, Histogram, Registry } from "prom-client";
import { outcomeOf, type Outcome } from "./samples.ts";

export const metricsRegistry = new Registry();

const attemptsTotal = new Counter({
  name: "corridor_attempts_total",
  help: "Authorization attempts by channel, outcome and card brand (outcome as first answered; unknown when the channel did not say).",
  labelNames: ["channel", "outcome", "brand"] as const,
  registers: [metricsRegistry],
});

const attemptLatency = new Histogram({
  name: "corridor_attempt_latency_seconds",
  help: "Time for a channel to answer an authorization attempt.",
  labelNames: ["channel"] as const,
  buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
  registers: [metricsRegistry],
});

const paymentsTotal = new Counter({
  name: "corridor_payments_total",
  help: "Payments that reached a final or waiting state after their attempts, by status.",
  labelNames: ["status"] as const,
  registers: [metricsRegistry],
});

/** The outcome of a channel's immediate answer (before any later resolution). */
export function outcomeOfAuthorize(outcome: AuthorizeOutcome): Outcome {
  switch (outcome.kind) {
    case "approved":
      return "approved";
    case "declined":
      return outcomeOf("declined", outcome.decline.category);
    case "error":
      return outcomeOf("failed", outcome.decline.category);
    case "challenge":
    case "unknown":
      return "unknown";
  }
}

export function observeAttempt(input: { channel: string; outcome: Outcome; brand: string | null; latency_ms: number | null }): void {
  attemptsTotal.inc({ channel: input.channel, outcome: input.outcome, brand: input.brand ?? "none" });
  if (input.latency_ms !== null) attemptLatency.observe({ channel: input.channel }, input.latency_ms / 1000);
}

/** Convenience for `runAttempts`: the channel's answer as the connector returned it. */
export function observeAuthorization(channel: string, brand: string | null, outcome: AuthorizeOutcome, latency_ms: number): void {
  observeAttempt({ channel, outcome: outcomeOfAuthorize(outcome), brand, latency_ms });
}

export function observePayment(status: string): void {
  paymentsTotal.inc({ status });
}

/** The text exposition format, for GET /metrics. */
export async function prometheusText(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}
