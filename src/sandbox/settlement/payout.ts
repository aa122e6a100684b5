// A card channel paying a settlement's net to Corridor's account at the sandbox bank:
//   POST {bank_url}/_sandbox/settlement_credits
//   {reference, debtor, amount, currency, remittance: "<CHANNEL> SETTLEMENT BATCHES <n>[,<n>…]"}
// `reference` is the payout's id and the bank's idempotency key, so a retry never pays twice. A
// network failure or a 5xx is retried a bounded number of times; any other answer is final.
import { delay } from "../types.ts";

export const PAYOUT_ATTEMPTS = 3;
export const PAYOUT_RETRY_BASE_MS = 100;
export const PAYOUT_TIMEOUT_MS = 5_000;

export interface PayoutRequest {
  reference: string;
  debtor: string;
  /** Positive ISO 4217 minor units. */
  amount: number;
  currency: string;
  remittance: string;
}

export interface PayoutResult {
  funded: boolean;
  attempts: number;
  /** Why it is not funded (the last failure). */
  error?: string;
}

export function remittanceOf(channel: string, batch_numbers: readonly (number | string)[]): string {
  return `${channel.toUpperCase()} SETTLEMENT BATCHES ${batch_numbers.join(",")}`;
}

export async function sendPayout(bank_url: string, payout: PayoutRequest): Promise<PayoutResult> {
  const url = `${bank_url.replace(/\/$/, "")}/_sandbox/settlement_credits`;
  let error = "not attempted";
  for (let attempt = 1; attempt <= PAYOUT_ATTEMPTS; attempt += 1) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payout),
        signal: AbortSignal.timeout(PAYOUT_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.ok) return { funded: true, attempts: attempt };
      error = `the bank answered HTTP ${response.status}: ${text.slice(0, 200)}`;
      if (response.status < 500) return { funded: false, attempts: attempt, error };
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    if (attempt < PAYOUT_ATTEMPTS) await delay(PAYOUT_RETRY_BASE_MS * 2 ** (attempt - 1));
  }
  return { funded: false, attempts: PAYOUT_ATTEMPTS, error };
}
