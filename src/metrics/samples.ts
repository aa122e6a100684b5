// Attempt samples: one row per attempt outcome in `attempt_samples`, the raw material of channel
// performance metrics (src/metrics/aggregate.ts) and degradation alerts (src/metrics/degradation.ts).
//
// A sample is written inside the transaction that records the attempt's outcome, with ONE
// statement (an upsert keyed by (payment_id, attempt_id)): an attempt first recorded as `unknown`
// (timeout, pending 3-D Secure challenge) is updated in place when the janitor or the return page
// learns its real outcome, keeping its original time bucket.
//
// The per-process Prometheus counters are observed after commit (src/metrics/prometheus.ts).
import type { AttemptStatus } from "../payments/model.ts";
import { findCurrency } from "../money/currency.ts";
import type { Tx } from "../store/db.ts";

export const outcomes = ["approved", "soft_decline", "hard_decline", "technical_error", "unknown"] as const;
export type Outcome = (typeof outcomes)[number];

export interface AttemptSample {
  attempt_id: string;
  payment_id: string;
  merchant_id: string;
  channel: string;
  /** "card" today; wallets, direct debit, ... later. */
  method_family: string;
  brand: string | null;
  bin_country: string | null;
  issuer: string | null;
  /** Funding: credit, debit, prepaid (from the BIN table). */
  card_type: string | null;
  /** ISO 4217 alphabetic, upper case. */
  currency: string;
  /** Integer minor units. */
  amount: number;
  outcome: Outcome;
  decline_code: string | null;
  latency_ms: number | null;
  /** Estimated cost of the attempt in the attempt's currency, minor units; null when unknown. */
  cost_minor: number | null;
  created_ms: number;
}

/**
 * What an attempt's status (and decline category) means for channel performance. An attempt the
 * issuer approved counts as approved even if it was later captured, voided, expired or reversed.
 */
export function outcomeOf(status: AttemptStatus | string, decline_category?: string | null): Outcome {
  switch (status) {
    case "authorized":
    case "captured":
    case "voided":
    case "expired":
    case "reversed":
      return "approved";
    case "declined":
    case "failed":
      if (decline_category === "hard") return "hard_decline";
      if (decline_category === "soft") return "soft_decline";
      if (decline_category === "technical") return "technical_error";
      return status === "failed" ? "technical_error" : "soft_decline";
    default:
      return "unknown"; // pending, requires_action, unknown: the outcome is not known yet
  }
}

export const amountBands = ["<10", "10-50", "50-200", "200-1000", ">=1000"] as const;
export type AmountBand = (typeof amountBands)[number];
const bandLimitsMajor = [10, 50, 200, 1000];

/** The amount's band in major units of its own currency, computed on integers (no floats). */
export function amountBandOf(amount_minor: number, currency: string): AmountBand {
  const exponent = findCurrency(currency)?.exponent ?? 2;
  const unit = 10 ** exponent; // exponent <= 4: exact
  for (let index = 0; index < bandLimitsMajor.length; index++) {
    if (amount_minor < bandLimitsMajor[index] * unit) return amountBands[index];
  }
  return amountBands[amountBands.length - 1];
}

// On conflict (the attempt's outcome was learnt later), the outcome and what came with it are
// updated; the time bucket (created_ms) and the facts about the payment stay as first recorded.
const onConflict = `ON CONFLICT (payment_id, attempt_id) DO UPDATE SET outcome = excluded.outcome, decline_code = excluded.decline_code,
    latency_ms = COALESCE(excluded.latency_ms, attempt_samples.latency_ms), cost_minor = COALESCE(excluded.cost_minor, attempt_samples.cost_minor)`;

const insertSampleSql = `INSERT INTO attempt_samples (attempt_id, payment_id, merchant_id, channel, method_family, brand, bin_country, issuer, card_type,
    currency, amount, amount_band, outcome, decline_code, latency_ms, cost_minor, created_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ${onConflict}`;

/** Records (or updates) one attempt's sample: one statement, inside the caller's transaction. */
export async function recordAttemptSample(tx: Tx, sample: AttemptSample): Promise<void> {
  await tx.run(insertSampleSql, [
    sample.attempt_id, sample.payment_id, sample.merchant_id, sample.channel, sample.method_family, sample.brand, sample.bin_country,
    sample.issuer, sample.card_type, sample.currency.toUpperCase(), sample.amount, amountBandOf(sample.amount, sample.currency), sample.outcome,
    sample.decline_code, sample.latency_ms, sample.cost_minor, sample.created_ms,
  ]);
}

/** Optional per-process cost model: estimated cost of one attempt in its currency's minor units. */
export type CostEstimator = (attempt: { channel: string; currency: string; amount: number; outcome: Outcome }) => number | null;
let costEstimator: CostEstimator = () => null;

export function setAttemptCostEstimator(estimator: CostEstimator | undefined): void {
  costEstimator = estimator ?? (() => null);
}

const openStatuses = new Set(["pending", "unknown", "requires_action"]);

// The same upsert, with the payment's merchant and card facts read in the same statement (payment
// row and its vault card by primary key; the card keeps the issuer facts it was vaulted with):
// one round trip on PostgreSQL.
// Parameters are cast: in INSERT ... SELECT, PostgreSQL does not infer their types from the columns.
const insertFromPaymentSql = `INSERT INTO attempt_samples (attempt_id, payment_id, merchant_id, channel, method_family, brand, bin_country, issuer, card_type,
    currency, amount, amount_band, outcome, decline_code, latency_ms, cost_minor, created_ms)
  SELECT CAST(? AS TEXT), p.id, p.merchant_id, CAST(? AS TEXT), COALESCE(p.method_type, CASE WHEN p.card_id IS NULL THEN 'unknown' ELSE 'card' END), v.brand, v.bin_country,
    v.issuer, v.funding,
    CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS BIGINT)
  FROM payments p LEFT JOIN vault_cards v ON v.id = p.card_id
  WHERE p.id = ?
  ${onConflict}`;

/** What `updateAttempt` (src/payments/attempts.ts) writes, as far as samples care. */
export interface AttemptTransition {
  status: AttemptStatus;
  decline?: { code: string; category: string } | null;
  latency_ms?: number;
}

/**
 * The wiring point: called by `updateAttempt` with the attempt as it was before the update. Only a
 * transition out of an open status (pending, unknown, requires_action) is an authorization outcome;
 * anything else (capture, void, expiry of an approved attempt) changes nothing here and costs nothing.
 * Returns the outcome recorded, or undefined.
 */
export async function recordAttemptTransition(
  tx: Tx,
  attempt: {
    id: string; payment_id: string; channel: string; status: string; amount: number; currency: string; latency_ms: number | null;
    /** The scores routing saw; `cost_minor` is the attempt's expected cost. */
    routing_scores?: Record<string, unknown> | null;
  },
  update: AttemptTransition,
): Promise<Outcome | undefined> {
  if (!openStatuses.has(attempt.status) || update.status === "pending") return undefined;
  const outcome = outcomeOf(update.status, update.decline?.category);
  const latency_ms = update.latency_ms ?? attempt.latency_ms ?? null;
  const routed_cost = attempt.routing_scores?.cost_minor;
  const cost_minor = typeof routed_cost === "number" ? routed_cost : costEstimator({ channel: attempt.channel, currency: attempt.currency, amount: attempt.amount, outcome });
  await tx.run(insertFromPaymentSql, [
    attempt.id, attempt.channel, attempt.currency.toUpperCase(), attempt.amount, amountBandOf(attempt.amount, attempt.currency), outcome,
    update.decline?.code ?? null, latency_ms, cost_minor, Date.now(), attempt.payment_id,
  ]);
  return outcome;
}
