// Routing configuration v2: rules choose the candidate channels, a strategy orders them, and
// elimination (circuit breakers) pushes unhealthy channels back. Validation returns every
// problem, each naming its field.
import { limits } from "../limits.ts";
import type { RuleConditionsV2 } from "./conditions.ts";

export type StrategyType = "rules" | "volume_split" | "success_rate" | "cost_aware";
export const strategyTypes: readonly StrategyType[] = ["rules", "volume_split", "success_rate", "cost_aware"];

/** Facts a segment (the unit the success-rate statistics are kept by) is made of. */
export type SegmentField = "brand" | "bin_country" | "amount_band" | "card_type" | "issuer" | "currency";
export const segmentFields: readonly SegmentField[] = ["brand", "bin_country", "amount_band", "card_type", "issuer", "currency"];

export interface RoutingRuleV2 {
  name: string;
  conditions: RuleConditionsV2;
  channels: string[];
}

export interface StrategyConfig {
  type: StrategyType;
  /** volume_split: integer weight per channel (0 = never first). */
  weights?: Record<string, number>;
  /** success_rate, cost_aware: largest share of decisions that may deviate from the best
   *  estimate to explore (0–0.5). */
  exploration_share?: number;
  /** cost_aware: channels whose expected approval is within this many basis points of the best
   *  compete on cost. */
  margin_bps?: number;
  /** success_rate, cost_aware: what a segment is made of. */
  segment_by?: SegmentField[];
  /** Upper bounds of the amount bands, in USD minor units (amounts are converted at mid rate). */
  amount_bands_usd_minor?: number[];
}

/** Elimination runs on the circuit breaker of `health.ts` (closed → open → half-open → closed), one
 *  breaker per channel and one per channel × segment. */
export interface EliminationConfig {
  enabled: boolean;
  /** Share of the attempts in the window that failed technically (technical error or unknown
   *  outcome) at which a breaker opens, 0–1 (0.5 = half of them). */
  failure_threshold: number;
  /** Attempts a breaker remembers (its sliding window). */
  window: number;
  /** How long a breaker stays open before it lets one probe through (half-open). */
  cooldown_ms: number;
  /** Attempts the window must hold before the breaker may open; default half the window. */
  min_attempts?: number;
  /** Outcomes older than this leave the window; default 60 s. */
  window_ms?: number;
  /** A channel whose breaker is open goes last (default), or is dropped while another remains. */
  open_channels?: "last" | "drop";
}

export interface RoutingConfigV2 {
  /** Schema version of this document; always 2. */
  version: 2;
  rules: RoutingRuleV2[];
  default_channels: string[];
  strategy: StrategyConfig;
  elimination: EliminationConfig;
}

export const strategyDefaults = {
  exploration_share: 0.1,
  margin_bps: 100,
  segment_by: ["brand", "bin_country", "amount_band"] as readonly SegmentField[],
  amount_bands_usd_minor: [2_000, 20_000] as readonly number[],
} as const;

export const eliminationDefaults = {
  window_ms: 60_000,
  open_channels: "last",
} as const;

/** Named maxima of the configuration. */
export const configLimits = {
  breaker_window_max: 64,
  cooldown_ms_max: 3_600_000,
  weight_max: 1_000_000,
  amount_bands_max: 8,
  exploration_share_max: 0.5,
  margin_bps_max: 10_000,
  rule_name_length_max: 100,
} as const;

export function defaultRoutingConfigV2(channels: readonly string[]): RoutingConfigV2 {
  return {
    version: 2,
    rules: [],
    default_channels: [...channels],
    strategy: { type: "cost_aware", exploration_share: strategyDefaults.exploration_share, margin_bps: strategyDefaults.margin_bps },
    elimination: { enabled: true, failure_threshold: 0.5, window: 20, cooldown_ms: 10_000 },
  };
}

// ---- validation ----

export interface ConfigError {
  field: string;
  message: string;
}

export type ConfigValidation = { ok: true; config: RoutingConfigV2 } | { ok: false; errors: ConfigError[] };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const isInteger = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
const isFraction = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= min && value <= max;

function checkStringList(errors: ConfigError[], field: string, value: unknown, itemsMax: number): void {
  if (!Array.isArray(value)) return void errors.push({ field, message: "must be an array of strings" });
  if (value.length > itemsMax) errors.push({ field, message: `must have at most ${itemsMax} entries` });
  value.forEach((item, i) => {
    if (typeof item !== "string" || item.length === 0) errors.push({ field: `${field}[${i}]`, message: "must be a non-empty string" });
  });
}

function checkChannels(errors: ConfigError[], field: string, value: unknown, known: readonly string[] | undefined, allowEmpty: boolean): void {
  checkStringList(errors, field, value, limits.routing_channels_per_rule_max);
  if (!Array.isArray(value)) return;
  if (!allowEmpty && value.length === 0) errors.push({ field, message: "must name at least one channel" });
  if (new Set(value).size !== value.length) errors.push({ field, message: "must not name a channel twice" });
  if (!known) return;
  value.forEach((item, i) => {
    if (typeof item === "string" && !known.includes(item)) errors.push({ field: `${field}[${i}]`, message: `unknown channel '${item}'` });
  });
}

const conditionLists = ["methods", "brands", "currencies", "countries", "issuers", "card_types"] as const;
const conditionKeys = new Set<string>([...conditionLists, "amount_min", "amount_max", "metadata"]);

function checkConditions(errors: ConfigError[], field: string, value: unknown): void {
  if (!isObject(value)) return void errors.push({ field, message: "must be an object" });
  for (const key of Object.keys(value)) {
    if (!conditionKeys.has(key)) errors.push({ field: `${field}.${key}`, message: "is not a known condition" });
  }
  for (const key of conditionLists) if (value[key] !== undefined) checkStringList(errors, `${field}.${key}`, value[key], 1_000);
  for (const key of ["amount_min", "amount_max"] as const) {
    if (value[key] !== undefined && !isInteger(value[key], 0, limits.amount_minor_max)) {
      errors.push({ field: `${field}.${key}`, message: `must be an integer amount in minor units (0–${limits.amount_minor_max})` });
    }
  }
  if (isInteger(value.amount_min, 0, Infinity) && isInteger(value.amount_max, 0, Infinity) && value.amount_min > value.amount_max) {
    errors.push({ field: `${field}.amount_max`, message: "must not be below amount_min" });
  }
  if (value.metadata !== undefined) {
    if (!isObject(value.metadata)) errors.push({ field: `${field}.metadata`, message: "must be an object of string values" });
    else {
      for (const [key, wanted] of Object.entries(value.metadata)) {
        if (typeof wanted !== "string") errors.push({ field: `${field}.metadata.${key}`, message: "must be a string" });
      }
    }
  }
}

function checkRules(errors: ConfigError[], value: unknown, known: readonly string[] | undefined): void {
  if (!Array.isArray(value)) return void errors.push({ field: "rules", message: "must be an array" });
  if (value.length > limits.routing_rules_max) errors.push({ field: "rules", message: `must have at most ${limits.routing_rules_max} rules` });
  value.forEach((rule, i) => {
    const field = `rules[${i}]`;
    if (!isObject(rule)) return void errors.push({ field, message: "must be an object" });
    if (typeof rule.name !== "string" || rule.name.length === 0 || rule.name.length > configLimits.rule_name_length_max) {
      errors.push({ field: `${field}.name`, message: `must be a string of 1–${configLimits.rule_name_length_max} characters` });
    }
    checkConditions(errors, `${field}.conditions`, rule.conditions);
    checkChannels(errors, `${field}.channels`, rule.channels, known, false);
  });
}

function checkStrategy(errors: ConfigError[], value: unknown, known: readonly string[] | undefined): void {
  if (!isObject(value)) return void errors.push({ field: "strategy", message: "must be an object" });
  if (!strategyTypes.includes(value.type as StrategyType)) {
    errors.push({ field: "strategy.type", message: `must be one of ${strategyTypes.join(", ")}` });
  }
  if (value.type === "volume_split" && value.weights === undefined) errors.push({ field: "strategy.weights", message: "is required for volume_split" });
  if (value.weights !== undefined) {
    if (!isObject(value.weights)) errors.push({ field: "strategy.weights", message: "must be an object of integer weights" });
    else {
      let total = 0;
      for (const [channel, weight] of Object.entries(value.weights)) {
        if (!isInteger(weight, 0, configLimits.weight_max)) {
          errors.push({ field: `strategy.weights.${channel}`, message: `must be an integer 0–${configLimits.weight_max}` });
        } else total += weight;
        if (known && !known.includes(channel)) errors.push({ field: `strategy.weights.${channel}`, message: `unknown channel '${channel}'` });
      }
      if (total === 0) errors.push({ field: "strategy.weights", message: "must give at least one channel a positive weight" });
    }
  }
  if (value.exploration_share !== undefined && !isFraction(value.exploration_share, 0, configLimits.exploration_share_max)) {
    errors.push({ field: "strategy.exploration_share", message: `must be a number 0–${configLimits.exploration_share_max}` });
  }
  if (value.margin_bps !== undefined && !isInteger(value.margin_bps, 0, configLimits.margin_bps_max)) {
    errors.push({ field: "strategy.margin_bps", message: `must be an integer 0–${configLimits.margin_bps_max} (basis points)` });
  }
  if (value.segment_by !== undefined) {
    if (!Array.isArray(value.segment_by)) errors.push({ field: "strategy.segment_by", message: "must be an array" });
    else {
      value.segment_by.forEach((item, i) => {
        if (!segmentFields.includes(item)) errors.push({ field: `strategy.segment_by[${i}]`, message: `must be one of ${segmentFields.join(", ")}` });
      });
      if (new Set(value.segment_by).size !== value.segment_by.length) errors.push({ field: "strategy.segment_by", message: "must not repeat a field" });
    }
  }
  const bands = value.amount_bands_usd_minor;
  if (bands !== undefined) {
    if (!Array.isArray(bands) || bands.length > configLimits.amount_bands_max) {
      errors.push({ field: "strategy.amount_bands_usd_minor", message: `must be an array of at most ${configLimits.amount_bands_max} integers` });
    } else {
      bands.forEach((bound, i) => {
        if (!isInteger(bound, 1, limits.amount_minor_max)) errors.push({ field: `strategy.amount_bands_usd_minor[${i}]`, message: "must be a positive integer" });
        else if (i > 0 && !(bound > bands[i - 1])) errors.push({ field: `strategy.amount_bands_usd_minor[${i}]`, message: "must be above the previous bound" });
      });
    }
  }
}

function checkElimination(errors: ConfigError[], value: unknown): void {
  if (!isObject(value)) return void errors.push({ field: "elimination", message: "must be an object" });
  if (typeof value.enabled !== "boolean") errors.push({ field: "elimination.enabled", message: "must be a boolean" });
  if (!isFraction(value.failure_threshold, Number.MIN_VALUE, 1)) {
    errors.push({ field: "elimination.failure_threshold", message: "must be a share of failed attempts, above 0 and at most 1" });
  }
  const windowOk = isInteger(value.window, 1, configLimits.breaker_window_max);
  if (!windowOk) errors.push({ field: "elimination.window", message: `must be an integer 1–${configLimits.breaker_window_max} (attempts)` });
  if (!isInteger(value.cooldown_ms, 0, configLimits.cooldown_ms_max)) {
    errors.push({ field: "elimination.cooldown_ms", message: `must be an integer 0–${configLimits.cooldown_ms_max}` });
  }
  if (value.min_attempts !== undefined && !isInteger(value.min_attempts, 1, windowOk ? (value.window as number) : configLimits.breaker_window_max)) {
    errors.push({ field: "elimination.min_attempts", message: "must be an integer from 1 to the window" });
  }
  if (value.window_ms !== undefined && !isInteger(value.window_ms, 1, configLimits.cooldown_ms_max)) {
    errors.push({ field: "elimination.window_ms", message: `must be an integer 1–${configLimits.cooldown_ms_max}` });
  }
  if (value.open_channels !== undefined && value.open_channels !== "last" && value.open_channels !== "drop") {
    errors.push({ field: "elimination.open_channels", message: "must be 'last' or 'drop'" });
  }
}

/** Checks a routing configuration v2; `known_channels` (when given) must contain every channel named. */
export function validateRoutingConfigV2(input: unknown, known_channels?: readonly string[]): ConfigValidation {
  if (!isObject(input)) return { ok: false, errors: [{ field: "", message: "must be an object" }] };
  const errors: ConfigError[] = [];
  if (input.version !== 2) errors.push({ field: "version", message: "must be 2" });
  checkRules(errors, input.rules, known_channels);
  checkChannels(errors, "default_channels", input.default_channels, known_channels, false);
  checkStrategy(errors, input.strategy, known_channels);
  checkElimination(errors, input.elimination);
  return errors.length ? { ok: false, errors } : { ok: true, config: input as unknown as RoutingConfigV2 };
}
