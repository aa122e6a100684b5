// The routing engine (v2): one decision per payment, one observation per attempt.
//
//   const decision = decide(config, context, stats, random);   // ordered channels with reasons
//   ... attempt decision.route[i].channel ...
//   observe(stats, { channel, segment: decision.segment, kind }); // after every attempt's answer
//
// The decision is a function of its inputs plus the breakers' half-open probe claims; it does no
// I/O, no JSON, and allocates only the route it returns.
import { performance } from "node:perf_hooks";
import type { RoutingConfigV2 } from "./config.ts";
import { eliminationDefaults } from "./config.ts";
import type { RouteEntry, RoutingContext } from "./context.ts";
import type { Random } from "./random.ts";
import type { RoutingOutcome, RoutingStats } from "./stats.ts";
import {
  compileConfig, eliminate, orderByCostAndSuccess, orderBySuccessRate, routeByRules, segmentOf, splitByVolume,
} from "./strategies.ts";

export type { RoutingConfigV2 } from "./config.ts";
export { validateRoutingConfigV2, defaultRoutingConfigV2 } from "./config.ts";
export type { RouteEntry, RouteScores, RoutingContext, RoutingChannel } from "./context.ts";
export { RoutingStats, outcomeKindOf, type OutcomeKind, type RoutingOutcome } from "./stats.ts";
export { mayCascade, cascadeVerdict } from "./cascade.ts";
export { seededRandom, type Random } from "./random.ts";

export interface RoutingDecision {
  /** Channels to try in order; empty when none can take the payment (see `skipped`). */
  route: RouteEntry[];
  /** The statistics key of this payment: pass it back to `observe`. */
  segment: string;
  /** Channels the rules named that cannot take the payment, with why. */
  skipped: string[];
  /** Wall time of the decision in microseconds. */
  decision_us: number;
}

export function decide(config: RoutingConfigV2, context: RoutingContext, stats: RoutingStats, random: Random): RoutingDecision {
  const started = performance.now();
  const compiled = compileConfig(config);
  const segment = segmentOf(compiled, context);
  const rules = routeByRules(compiled, context);
  let route = rules.route;
  switch (config.strategy.type) {
    case "rules":
      break;
    case "volume_split":
      route = splitByVolume(route, config.strategy.weights ?? {}, random);
      break;
    case "success_rate":
      route = orderBySuccessRate(route, stats, segment, compiled.exploration_share, random).route;
      break;
    case "cost_aware":
      route = orderByCostAndSuccess(route, context, stats, segment, compiled.exploration_share, compiled.margin_bps, random);
      break;
  }
  const elimination = config.elimination;
  if (elimination.enabled && route.length > 0) {
    route = eliminate(route, stats.breakers(elimination), stats, segment, elimination.open_channels ?? eliminationDefaults.open_channels);
  }
  return { route, segment, skipped: rules.skipped, decision_us: (performance.now() - started) * 1000 };
}

/** Feeds one attempt's outcome (approved, soft, hard, technical, unknown) for its channel and the
 *  decision's segment. */
export function observe(stats: RoutingStats, outcome: RoutingOutcome): void {
  stats.observe(outcome);
}
