// The extended rule matcher (routing v2): everything v1 matches (method, brand, currency, BIN
// country, amount range) plus issuer, card type (funding) and metadata equality. rules.ts stays
// as it is; it can import `matchesConditions` from here when v1 moves over.
import type { PaymentFacts, RuleConditions } from "./rules.ts";

export interface RuleConditionsV2 extends RuleConditions {
  /** Issuer names as the BIN table spells them. */
  issuers?: string[];
  /** Card funding from the BIN table: credit, debit, prepaid, ... */
  card_types?: string[];
  /** Every listed key must be present in the payment's metadata with exactly this value. */
  metadata?: Record<string, string>;
}

/** v1 facts (`country` is the card's issuing country from the BIN table) plus issuer facts. */
export interface PaymentFactsV2 extends PaymentFacts {
  issuer: string | null;
  card_type: string | null;
  metadata: Readonly<Record<string, string>>;
}

function has(list: readonly string[] | undefined, value: string | null): boolean {
  if (list === undefined) return true;
  if (value === null) return false;
  return list.includes(value);
}

function metadataMatches(wanted: Record<string, string> | undefined, metadata: Readonly<Record<string, string>>): boolean {
  if (wanted === undefined) return true;
  for (const key in wanted) {
    if (!Object.prototype.hasOwnProperty.call(metadata, key) || metadata[key] !== wanted[key]) return false;
  }
  return true;
}

export function matchesConditions(conditions: RuleConditionsV2, facts: PaymentFactsV2): boolean {
  if (!has(conditions.methods, facts.method)) return false;
  if (!has(conditions.brands, facts.brand)) return false;
  if (!has(conditions.currencies, facts.currency)) return false;
  if (!has(conditions.countries, facts.country)) return false;
  if (!has(conditions.issuers, facts.issuer)) return false;
  if (!has(conditions.card_types, facts.card_type)) return false;
  if (conditions.amount_min !== undefined && facts.amount < conditions.amount_min) return false;
  if (conditions.amount_max !== undefined && facts.amount > conditions.amount_max) return false;
  return metadataMatches(conditions.metadata, facts.metadata);
}

/** "brands=visa|elo, countries=BR, metadata.tier=gold"; "always" for no condition. */
export function describeConditions(conditions: RuleConditionsV2): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(conditions)) {
    if (value === undefined) continue;
    if (key === "metadata") {
      for (const [meta, wanted] of Object.entries(value as Record<string, string>)) parts.push(`metadata.${meta}=${wanted}`);
    } else {
      parts.push(`${key}=${Array.isArray(value) ? value.join("|") : value}`);
    }
  }
  return parts.length ? parts.join(", ") : "always";
}
