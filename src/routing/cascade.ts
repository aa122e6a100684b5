// Cascade policy: may a payment whose attempt was refused go on to the next channel now?
// Never after a hard decline, a Visa category-1 response code or a Mastercard Merchant Advice
// Code 03 / 21, never beyond the attempts limit; otherwise as the unified decline table says
// (technical failures cascade, soft declines do not).
import type { UnifiedDecline } from "../channels/declines.ts";
import { limits } from "../limits.ts";

/** Visa category 1 (issuer will never approve): never reattempt, on any channel. Applied to every
 *  brand: these response codes mean the same everywhere, and never cascading is the stricter side. */
export const visaCategory1Codes: ReadonlySet<string> = new Set(["04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"]);

/** Mastercard Merchant Advice Codes that forbid another try: 03 do not try again, 21 stop recurring. */
export const neverRetryAdviceCodes: ReadonlySet<string> = new Set(["03", "21"]);

export interface CascadeDecline extends Pick<UnifiedDecline, "code" | "category" | "cascade" | "network_response_code"> {
  /** Mastercard Merchant Advice Code, when the channel passes it on. */
  merchant_advice_code?: string;
}

export type CascadeVerdict = { cascade: true } | { cascade: false; why: string };

/** `attempts_made` counts the attempts of this payment so far, the refused one included. */
export function cascadeVerdict(decline: CascadeDecline, attempts_made = 1): CascadeVerdict {
  if (attempts_made >= limits.attempts_per_payment_max) return { cascade: false, why: `attempt limit reached (${limits.attempts_per_payment_max})` };
  if (decline.category === "hard") return { cascade: false, why: `hard decline (${decline.code})` };
  const network = decline.network_response_code;
  if (network !== undefined && visaCategory1Codes.has(network)) return { cascade: false, why: `Visa category 1 response code ${network}` };
  const advice = decline.merchant_advice_code;
  if (advice !== undefined && neverRetryAdviceCodes.has(advice)) return { cascade: false, why: `Mastercard Merchant Advice Code ${advice}` };
  if (!decline.cascade) return { cascade: false, why: `${decline.category} decline (${decline.code}) is not retried on another channel` };
  return { cascade: true };
}

export function mayCascade(decline: CascadeDecline, attempts_made = 1): boolean {
  return cascadeVerdict(decline, attempts_made).cascade;
}
