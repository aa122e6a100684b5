// What a routing decision sees and what it produces. Every entry of a route says which strategy
// put it there, why, and the numbers it looked at.
import type { ChannelCapabilities } from "../channels/contract.ts";
import type { PaymentFactsV2 } from "./conditions.ts";
import type { FeeModel } from "./fees.ts";
import type { BreakerState } from "./health.ts";

export interface RoutingChannel {
  name: string;
  capabilities: ChannelCapabilities;
}

export interface RoutingContext {
  payment: PaymentFactsV2;
  /** The configured channels (e.g. the registry's connectors); rules pick among these and
   *  capabilities drop those that cannot take the payment. */
  channels: readonly RoutingChannel[];
  fees: FeeModel;
}

export type RouteStrategy = "rules" | "volume_split" | "success_rate" | "cost_aware" | "elimination";

export interface RouteScores {
  /** Place in the list the rules produced (1 = first). */
  rule_priority: number;
  /** volume_split: the channel's configured weight. */
  weight?: number;
  /** success_rate, cost_aware: posterior mean of the approval rate in the segment, plus the
   *  channel-wide drift (about 0–1). */
  approval_mean?: number;
  /** success_rate, cost_aware: the Thompson sample drawn for this decision (0–1). */
  approval_sample?: number;
  /** success_rate, cost_aware: discounted number of outcomes behind the estimate. */
  evidence?: number;
  /** cost_aware: expected cost of the attempt, minor units of the payment's currency. */
  cost_minor?: number;
  /** elimination: the worse of the channel's and the channel × segment breaker states. */
  breaker?: BreakerState;
}

export interface RouteEntry {
  channel: string;
  strategy: RouteStrategy;
  reason: string;
  scores: RouteScores;
}
