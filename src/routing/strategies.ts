// Routing strategies. Each is a function of the payment's context, the live statistics and a
// random source, taking the route so far and returning it reordered, every entry saying which
// strategy put it where, why, and the scores it saw. They compose: rules choose the candidates,
// then volume split, success rate or cost awareness order them, then elimination moves channels
// with an open breaker back.
import { limits } from "../limits.ts";
import type { RoutingConfigV2, SegmentField } from "./config.ts";
import { strategyDefaults } from "./config.ts";
import { describeConditions, matchesConditions, type PaymentFactsV2 } from "./conditions.ts";
import type { RouteEntry, RoutingChannel, RoutingContext } from "./context.ts";
import { convertMinor, estimateCost, type FxTable } from "./fees.ts";
import type { BreakerState } from "./health.ts";
import { sampleBeta, type Random } from "./random.ts";
import { ineligibility } from "./rules.ts";
import type { BreakerSet, RoutingStats } from "./stats.ts";

// ---- compiled configuration (computed once per configuration object) ----

export interface CompiledConfig {
  config: RoutingConfigV2;
  /** Per rule, how reasons name it. */
  rule_sources: string[];
  segment_by: readonly SegmentField[];
  amount_bands_usd_minor: bigint[];
  exploration_share: number;
  margin_bps: number;
}

const compiled = new WeakMap<RoutingConfigV2, CompiledConfig>();

/** A configuration is treated as immutable once routed with: change it by saving a new one. */
export function compileConfig(config: RoutingConfigV2): CompiledConfig {
  let result = compiled.get(config);
  if (result) return result;
  result = {
    config,
    rule_sources: config.rules.map((rule, index) => `rule #${index + 1} "${rule.name}" (${describeConditions(rule.conditions)})`),
    segment_by: config.strategy.segment_by ?? strategyDefaults.segment_by,
    amount_bands_usd_minor: (config.strategy.amount_bands_usd_minor ?? strategyDefaults.amount_bands_usd_minor).map((bound) => BigInt(bound)),
    exploration_share: config.strategy.exploration_share ?? strategyDefaults.exploration_share,
    margin_bps: config.strategy.margin_bps ?? strategyDefaults.margin_bps,
  };
  compiled.set(config, result);
  return result;
}

// ---- segments ----

/** Index of the first band bound the amount (converted to USD minor units) is below; "?" when
 *  the currency cannot be converted. */
export function amountBand(fx: FxTable, amount: number, currency: string, bounds: readonly bigint[]): string {
  const usd = convertMinor(fx, BigInt(amount), currency, "USD");
  if (usd === undefined) return "?";
  let band = 0;
  while (band < bounds.length && usd >= bounds[band]) band++;
  return String(band);
}

function segmentPart(field: SegmentField, payment: PaymentFactsV2, context: RoutingContext, bands: readonly bigint[]): string {
  switch (field) {
    case "brand":
      return "brand=" + payment.brand;
    case "bin_country":
      return "bin_country=" + (payment.country ?? "?");
    case "amount_band":
      return "amount_band=" + amountBand(context.fees.fx, payment.amount, payment.currency, bands);
    case "card_type":
      return "card_type=" + (payment.card_type ?? "?");
    case "issuer":
      return "issuer=" + (payment.issuer ?? "?");
    case "currency":
      return "currency=" + payment.currency;
  }
}

/** The key the statistics are kept by, e.g. "brand=visa|bin_country=BR|amount_band=1". */
export function segmentOf(compiledConfig: CompiledConfig, context: RoutingContext): string {
  const fields = compiledConfig.segment_by;
  let key = "";
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) key += "|";
    key += segmentPart(fields[i], context.payment, context, compiledConfig.amount_bands_usd_minor);
  }
  return key.length ? key : "all";
}

// ---- a. rules ----

function findChannel(channels: readonly RoutingChannel[], name: string): RoutingChannel | undefined {
  for (let i = 0; i < channels.length; i++) if (channels[i].name === name) return channels[i];
  return undefined;
}

/** The first matching rule's channels (else the default list), minus those that cannot take the
 *  payment; every entry says which rule and priority, and what was skipped. */
export function routeByRules(compiledConfig: CompiledConfig, context: RoutingContext): { route: RouteEntry[]; skipped: string[] } {
  const { config } = compiledConfig;
  let index = -1;
  for (let i = 0; i < config.rules.length && i < limits.routing_rules_max; i++) {
    if (matchesConditions(config.rules[i].conditions, context.payment)) {
      index = i;
      break;
    }
  }
  const source = index >= 0 ? compiledConfig.rule_sources[index] : "default channel list";
  const candidates = index >= 0 ? config.rules[index].channels : config.default_channels;
  const route: RouteEntry[] = [];
  const skipped: string[] = [];
  const count = Math.min(candidates.length, limits.routing_channels_per_rule_max);
  for (let i = 0; i < count; i++) {
    const name = candidates[i];
    const channel = findChannel(context.channels, name);
    const why = channel ? ineligibility(channel.capabilities, context.payment) : "is not configured";
    if (why) {
      skipped.push(`${name} ${why}`);
      continue;
    }
    route.push({ channel: name, strategy: "rules", reason: `${source}: priority ${route.length + 1}`, scores: { rule_priority: route.length + 1 } });
  }
  if (skipped.length) {
    const note = `; skipped: ${skipped.join("; ")}`;
    for (const entry of route) entry.reason += note;
  }
  return { route, skipped };
}

// ---- b. volume split ----

/** Draws the order by integer weights, without replacement (one random number per weighted
 *  channel); channels without weight follow in rule order. */
export function splitByVolume(route: readonly RouteEntry[], weights: Readonly<Record<string, number>>, random: Random): RouteEntry[] {
  const pool: RouteEntry[] = [];
  const rest: RouteEntry[] = [];
  let total = 0;
  for (const entry of route) {
    const weight = weights[entry.channel] ?? 0;
    entry.scores.weight = weight;
    if (weight > 0) {
      pool.push(entry);
      total += weight;
    } else rest.push(entry);
  }
  const ordered: RouteEntry[] = [];
  while (pool.length > 0) {
    let ticket = Math.floor(random() * total);
    let pick = 0;
    while (pick < pool.length - 1 && ticket >= pool[pick].scores.weight!) ticket -= pool[pick++].scores.weight!;
    const entry = pool[pick];
    const drawnTotal = total;
    total -= entry.scores.weight!;
    pool.splice(pick, 1);
    ordered.push({ ...entry, strategy: "volume_split", reason: `volume_split: drawn ${ordered.length + 1}${ordinal(ordered.length + 1)} with weight ${entry.scores.weight} of ${drawnTotal}` });
  }
  for (const entry of rest) ordered.push({ ...entry, strategy: "volume_split", reason: `volume_split: no weight, after the weighted channels (${entry.reason})` });
  return ordered;
}

function ordinal(n: number): string {
  return n === 1 ? "st" : n === 2 ? "nd" : n === 3 ? "rd" : "th";
}

// ---- c. success rate (Thompson sampling over discounted Beta posteriors) ----

const percent = (share: number): string => (share * 100).toFixed(1) + "%";

/** Fills approval_mean / approval_sample / evidence and returns the index of the channel to try
 *  first, and whether that choice explores. */
function scoreApprovals(route: readonly RouteEntry[], stats: RoutingStats, segment: string, exploration_share: number, random: Random): { first: number; greedy: number; explored: boolean } {
  let greedy = 0;
  let pick = 0;
  for (let i = 0; i < route.length; i++) {
    const { alpha, beta, drift } = stats.posterior(segment, route[i].channel);
    const scores = route[i].scores;
    scores.approval_mean = alpha / (alpha + beta) + drift;
    scores.evidence = Math.round(alpha + beta - 2);
    scores.approval_sample = route.length > 1 ? sampleBeta(random, alpha, beta) + drift : scores.approval_mean;
    if (scores.approval_mean > route[greedy].scores.approval_mean!) greedy = i;
    if (scores.approval_sample > route[pick].scores.approval_sample!) pick = i;
  }
  const explored = pick !== greedy && random() < exploration_share;
  return { first: explored ? pick : greedy, greedy, explored };
}

/** `first` first, the others by expected approval (stable: rule order on ties). */
function orderWithFirst(route: readonly RouteEntry[], first: number): RouteEntry[] {
  const rest: RouteEntry[] = [];
  for (let i = 0; i < route.length; i++) {
    if (i === first) continue;
    const entry = route[i];
    let at = rest.length;
    while (at > 0 && rest[at - 1].scores.approval_mean! < entry.scores.approval_mean!) at--;
    rest.splice(at, 0, entry);
  }
  rest.unshift(route[first]);
  return rest;
}

function fallbackReason(strategy: string, entry: RouteEntry, position: number): string {
  return `${strategy}: fallback #${position}, expected approval ${percent(entry.scores.approval_mean!)} (~${entry.scores.evidence} outcomes)`;
}

/** Thompson sampling: the channel with the highest expected approval in the segment goes first,
 *  unless the sample of another beat it and the (bounded) exploration share lets it explore. */
export function orderBySuccessRate(
  route: readonly RouteEntry[], stats: RoutingStats, segment: string, exploration_share: number, random: Random,
): { route: RouteEntry[]; explored: boolean } {
  if (route.length === 0) return { route: [], explored: false };
  const { first, greedy, explored } = scoreApprovals(route, stats, segment, exploration_share, random);
  const ordered = orderWithFirst(route, first);
  const head = ordered[0];
  head.strategy = "success_rate";
  head.reason = explored
    ? `success_rate: exploring in ${segment}: Thompson sample ${percent(head.scores.approval_sample!)} beat the best estimate ${percent(route[greedy].scores.approval_mean!)} (${route[greedy].channel})`
    : `success_rate: highest expected approval in ${segment}: ${percent(head.scores.approval_mean!)} (~${head.scores.evidence} outcomes)`;
  for (let i = 1; i < ordered.length; i++) {
    ordered[i].strategy = "success_rate";
    ordered[i].reason = fallbackReason("success_rate", ordered[i], i);
  }
  return { route: ordered, explored };
}

// ---- d. cost aware ----

/** Success rate first; then, unless this decision explores, the cheapest channel among those whose
 *  expected approval is within `margin_bps` of the best goes first. */
export function orderByCostAndSuccess(
  route: readonly RouteEntry[], context: RoutingContext, stats: RoutingStats, segment: string,
  exploration_share: number, margin_bps: number, random: Random,
): RouteEntry[] {
  const bySuccess = orderBySuccessRate(route, stats, segment, exploration_share, random);
  const ordered = bySuccess.route;
  const payment = context.payment;
  const query = { method: payment.method, brand: payment.brand, card_country: payment.country, amount: payment.amount, currency: payment.currency };
  for (const entry of ordered) entry.scores.cost_minor = estimateCost(context.fees, entry.channel, query);
  if (bySuccess.explored || ordered.length < 2) return ordered;
  const best = ordered[0].scores.approval_mean!;
  const floor = best - margin_bps / 10_000;
  let cheapest = 0;
  for (let i = 1; i < ordered.length; i++) {
    const entry = ordered[i];
    if (entry.scores.approval_mean! < floor) continue;
    if ((entry.scores.cost_minor ?? Infinity) < (ordered[cheapest].scores.cost_minor ?? Infinity)) cheapest = i;
  }
  const result = cheapest === 0 ? ordered : orderWithFirst(ordered, cheapest);
  const head = result[0];
  head.strategy = "cost_aware";
  head.reason = `cost_aware: cheapest (${head.scores.cost_minor ?? "unknown"} minor units) of the channels within ${margin_bps} bps of the best expected approval in ${segment} (${percent(best)}); its own ${percent(head.scores.approval_mean!)} (~${head.scores.evidence} outcomes)`;
  for (let i = 1; i < result.length; i++) {
    result[i].strategy = "cost_aware";
    result[i].reason = `${fallbackReason("cost_aware", result[i], i)}, cost ${result[i].scores.cost_minor ?? "unknown"} minor units`;
  }
  return result;
}

// ---- e. elimination ----

const severity: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** Channels whose breaker (channel or channel × segment) is open go last (or are dropped while
 *  another channel remains, with `open_channels: "drop"`); a half-open breaker lets one probe keep
 *  its place. A route of one channel is left in place. */
export function eliminate(route: readonly RouteEntry[], breakers: BreakerSet, stats: RoutingStats, segment: string, open_channels: "last" | "drop"): RouteEntry[] {
  const kept: RouteEntry[] = [];
  const demoted: RouteEntry[] = [];
  for (const entry of route) {
    const segmentKey = stats.segmentBreakerKey(entry.channel, segment);
    const channelState = breakers.channel.state(entry.channel);
    const segmentState = breakers.segment.state(segmentKey);
    const state = severity[channelState] >= severity[segmentState] ? channelState : segmentState;
    entry.scores.breaker = state;
    if (state === "closed" || route.length === 1) {
      kept.push(entry);
      continue;
    }
    const scope = severity[channelState] >= severity[segmentState] ? entry.channel : `${entry.channel} in ${segment}`;
    if (state === "half_open") {
      const admission = channelState === "half_open" ? breakers.channel.admit(entry.channel) : breakers.segment.admit(segmentKey);
      if (admission.demote === false) {
        kept.push({ ...entry, reason: `${entry.reason}; circuit breaker half-open for ${scope}: this payment is its probe` });
        continue;
      }
    }
    demoted.push({ ...entry, strategy: "elimination", reason: `elimination: circuit breaker ${state.replace("_", "-")} for ${scope}: moved to the end (${entry.reason})` });
  }
  if (demoted.length === 0) return kept;
  // Say on the channels that moved up why they did (only attempts are kept, not the whole route).
  const why = demoted.map((entry) => entry.reason.slice("elimination: ".length, entry.reason.indexOf(": moved to the end"))).join("; ");
  for (let i = 0; i < kept.length; i++) kept[i] = { ...kept[i], reason: `${kept[i].reason}; ahead of the route because ${why}` };
  if (open_channels === "drop" && kept.length > 0) return kept;
  for (const entry of demoted) kept.push(entry);
  return kept;
}
