// Replays the lab's day through a routing policy: each payment is routed, attempted on the
// simulated channels with their true rates, cascaded only as the real cascade policy allows, and
// every attempt's outcome goes back to the policy.
import { corridorDecline, type UnifiedDecline } from "../../src/channels/declines.ts";
import { limits } from "../../src/limits.ts";
import { cascadeVerdict } from "../../src/routing/cascade.ts";
import { convertMinor, estimateCost } from "../../src/routing/fees.ts";
import { seededRandom } from "../../src/routing/random.ts";
import type { OutcomeKind } from "../../src/routing/stats.ts";
import { feeModel, hourMs, trueApproval, trueTechnical, unknownShare, type LabPayment } from "./world.ts";

export interface Policy {
  name: string;
  /** Channels to try, in order. */
  route(payment: LabPayment): { channels: string[]; segment: string; decision_us?: number };
  observe(channel: string, segment: string, kind: OutcomeKind): void;
}

export interface PolicyResult {
  name: string;
  payments: number;
  approved: number;
  approval_rate: number;
  /** USD minor units per approved payment (fees of the approving attempt, at mid rate). */
  avg_cost: number;
  attempts_per_payment: number;
  technical_failures: number;
  cascades: number;
  approval_by_hour: number[];
  approval_by_country: Record<string, number>;
  first_choice_share: Record<string, number>;
  decision_us?: { p50: number; p99: number; max: number };
}

const hardShare = 0.3;

/** The answer of a simulated channel: what a connector would hand back, unified. */
function declineFor(kind: "hard" | "soft" | "technical", draw: number): UnifiedDecline {
  if (kind === "technical") return { ...corridorDecline("processing_error"), network_response_code: "96" };
  if (kind === "soft") return { ...corridorDecline("insufficient_funds"), network_response_code: "51" };
  // Hard: do not honor (05), or an invalid card (14, Visa category 1).
  return draw < hardShare / 2 ? { ...corridorDecline("invalid_card"), network_response_code: "14" } : { ...corridorDecline("do_not_honor"), network_response_code: "05" };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function runPolicy(policy: Policy, payments: readonly LabPayment[], seed: number, clock: { now_ms: number }): PolicyResult {
  const random = seededRandom(seed);
  const timings = new Float64Array(payments.length);
  let timed = 0;
  let approved = 0;
  let attemptsTotal = 0;
  let technical = 0;
  let cascades = 0;
  let costUsdMinor = 0n;
  const hourApproved = new Array<number>(24).fill(0);
  const hourPayments = new Array<number>(24).fill(0);
  const countryApproved: Record<string, number> = {};
  const countryPayments: Record<string, number> = {};
  const firstChoice: Record<string, number> = {};
  for (const payment of payments) {
    clock.now_ms = payment.at_ms;
    const decision = policy.route(payment);
    if (decision.decision_us !== undefined) timings[timed++] = decision.decision_us;
    const country = payment.facts.country!;
    const hour = Math.floor(payment.at_ms / hourMs);
    hourPayments[hour]++;
    countryPayments[country] = (countryPayments[country] ?? 0) + 1;
    if (decision.channels.length > 0) firstChoice[decision.channels[0]] = (firstChoice[decision.channels[0]] ?? 0) + 1;
    let attempts = 0;
    for (const channel of decision.channels) {
      if (attempts >= limits.attempts_per_payment_max) break;
      attempts++;
      let kind: OutcomeKind;
      if (random() < trueTechnical(channel, payment.at_ms)) kind = "technical";
      else if (random() < unknownShare) kind = "unknown";
      else if (payment.issuer_draw < trueApproval(channel, payment)) kind = "approved";
      else kind = payment.decline_draw < hardShare ? "hard" : "soft";
      policy.observe(channel, decision.segment, kind);
      if (kind === "technical") technical++;
      if (kind === "approved") {
        approved++;
        hourApproved[hour]++;
        countryApproved[country] = (countryApproved[country] ?? 0) + 1;
        const f = payment.facts;
        const cost = estimateCost(feeModel, channel, { method: f.method, brand: f.brand, card_country: f.country, amount: f.amount, currency: f.currency });
        if (cost === undefined) throw new Error(`lab: no fee for ${channel}`);
        costUsdMinor += convertMinor(feeModel.fx, BigInt(cost), f.currency, "USD")!;
        break;
      }
      if (kind === "unknown") break; // never guessed: the janitor would settle it later
      if (!cascadeVerdict(declineFor(kind, payment.decline_draw), attempts).cascade) break;
      cascades++;
    }
    attemptsTotal += attempts;
  }
  const round = (value: number, digits = 4) => Number(value.toFixed(digits));
  const result: PolicyResult = {
    name: policy.name,
    payments: payments.length,
    approved,
    approval_rate: round(approved / payments.length),
    avg_cost: round(Number(costUsdMinor) / Math.max(1, approved), 2),
    attempts_per_payment: round(attemptsTotal / payments.length),
    technical_failures: technical,
    cascades,
    approval_by_hour: hourApproved.map((count, hour) => round(count / Math.max(1, hourPayments[hour]), 3)),
    approval_by_country: Object.fromEntries(Object.keys(countryPayments).sort().map((c) => [c, round((countryApproved[c] ?? 0) / countryPayments[c], 3)])),
    first_choice_share: Object.fromEntries(Object.entries(firstChoice).sort().map(([c, n]) => [c, round(n / payments.length, 3)])),
  };
  if (timed > 0) {
    const sorted = timings.subarray(0, timed).sort();
    result.decision_us = { p50: round(quantile(sorted, 0.5), 2), p99: round(quantile(sorted, 0.99), 2), max: round(sorted[timed - 1], 1) };
  }
  return result;
}
