// Test cards shared by every sandbox channel. Each channel maps a scenario to its own wire codes.

export const testCards = {
  visa_approve: "4242424242424242",
  mastercard_approve: "5555555555554444",
  do_not_honor: "4000000000000002",
  insufficient_funds: "4000000000009995",
  expired_card: "4000000000000069",
  processing_error: "4000000000000119",
  slow_response: "4000000000000259",
  three_ds_challenge: "4000000000003220",
} as const;

export type CardScenario =
  | "approve"
  | "invalid_number"
  | "do_not_honor"
  | "insufficient_funds"
  | "expired_card"
  | "processing_error"
  | "slow_response"
  | "three_ds_challenge";

const scenarioByPan = new Map<string, CardScenario>([
  [testCards.do_not_honor, "do_not_honor"],
  [testCards.insufficient_funds, "insufficient_funds"],
  [testCards.expired_card, "expired_card"],
  [testCards.processing_error, "processing_error"],
  [testCards.slow_response, "slow_response"],
  [testCards.three_ds_challenge, "three_ds_challenge"],
]);

const MIN_PAN_LENGTH = 12;
const MAX_PAN_LENGTH = 19;
export const DEFAULT_SLOW_RESPONSE_MS = 15_000;

export function isLuhnValid(pan: string): boolean {
  if (!/^\d+$/.test(pan) || pan.length < MIN_PAN_LENGTH || pan.length > MAX_PAN_LENGTH) return false;
  let sum = 0;
  for (let index = 0; index < pan.length; index += 1) {
    let digit = pan.charCodeAt(pan.length - 1 - index) - 48;
    if (index % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

export function cardScenario(pan: string): CardScenario {
  if (!isLuhnValid(pan)) return "invalid_number";
  return scenarioByPan.get(pan) ?? "approve";
}

/** A card is valid through the last day of its expiry month. `year` is four digits. */
export function isExpiryPast(month: number, year: number, now: Date = new Date()): boolean {
  const currentYear = now.getUTCFullYear();
  const currentMonth = now.getUTCMonth() + 1;
  return year < currentYear || (year === currentYear && month < currentMonth);
}

export function defaultSlowResponseMs(): number {
  const fromEnv = Number(process.env.SANDBOX_SLOW_RESPONSE_MS);
  return Number.isSafeInteger(fromEnv) && fromEnv >= 0 ? fromEnv : DEFAULT_SLOW_RESPONSE_MS;
}
