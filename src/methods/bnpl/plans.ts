// BNPL installment plans and the provider's fee, as pure functions (no I/O, no clock):
//   pay-in-4 (USD, EUR, GBP, AUD, CAD, NZD): 4 installments every 14 days, the first at checkout;
//   Brazil "parcelado" (BRL): 1 to 12 monthly installments of at least 5.00 BRL each;
//   Mexico "meses sin intereses" (MXN): 3, 6, 9 or 12 monthly installments of at least 100.00 MXN each.
// Monthly plans fall due one month after checkout, then monthly (day clamped to the month's end).
// Amounts are integer minor units; the rounding remainder goes on the first installment. The
// merchant is paid the full amount less the provider's fee (basis points + fixed, half-even).
import { assert } from "../../limits.ts";
import { divideHalfEven } from "../../routing/fees.ts";

export type PlanType = "pay_in_4" | "parcelado" | "meses_sin_intereses";

export interface PlanRule {
  type: PlanType;
  /** ISO 4217, upper case. */
  currency: string;
  /** The installment counts offered, ascending. */
  counts: readonly number[];
  /** Used when the merchant does not say. */
  default_count: number;
  /** Smallest installment, minor units. */
  installment_minor_min: number;
  interval: "every_2_weeks" | "monthly";
}

export interface ProviderFee {
  percent_bps: number;
  fixed_minor: number;
}

export interface PlannedInstallment {
  /** 1-based. */
  sequence: number;
  amount: number;
  /** YYYY-MM-DD (UTC). */
  due_date: string;
}

export interface Plan {
  type: PlanType;
  interval: PlanRule["interval"];
  installments: PlannedInstallment[];
  /** The provider's fee, kept from the merchant's payout. */
  fee: number;
}

const payIn4Currencies = ["USD", "EUR", "GBP", "AUD", "CAD", "NZD"] as const;
export const installments_per_plan_max = 12;

export const planRules: Readonly<Record<string, PlanRule>> = {
  ...Object.fromEntries(payIn4Currencies.map((currency) => [currency, {
    type: "pay_in_4", currency, counts: [4], default_count: 4, installment_minor_min: 1, interval: "every_2_weeks",
  } satisfies PlanRule])),
  BRL: { type: "parcelado", currency: "BRL", counts: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], default_count: 1, installment_minor_min: 500, interval: "monthly" },
  MXN: { type: "meses_sin_intereses", currency: "MXN", counts: [3, 6, 9, 12], default_count: 3, installment_minor_min: 10_000, interval: "monthly" },
};

/**
 * The sandbox provider's fees by plan (the merchant's contract with the provider): longer interest-free
 * plans cost the merchant more, as the lender finances them.
 */
export function providerFeeFor(type: PlanType, count: number): ProviderFee {
  switch (type) {
    case "pay_in_4":
      return { percent_bps: 600, fixed_minor: 30 };
    case "parcelado":
      return { percent_bps: 299 + 50 * (count - 1), fixed_minor: 0 };
    case "meses_sin_intereses":
      return { percent_bps: 300 + 100 * (count / 3), fixed_minor: 0 };
  }
}

/** The fee on `amount`: amount × bps / 10 000 (half-even) + fixed. */
export function feeMinor(amount: number, fee: ProviderFee): number {
  assert(Number.isSafeInteger(amount) && amount > 0, "fees are computed on positive integer amounts");
  return Number(divideHalfEven(BigInt(amount) * BigInt(fee.percent_bps), 10_000n)) + fee.fixed_minor;
}

/** Splits `amount` into `count` installments; the remainder of the division goes on the first. */
export function splitAmount(amount: number, count: number): number[] {
  assert(Number.isSafeInteger(amount) && amount > 0, "split a positive integer amount");
  assert(Number.isInteger(count) && count >= 1 && count <= installments_per_plan_max, "installment count within limits");
  const base = Math.floor(amount / count);
  const remainder = amount - base * count;
  return Array.from({ length: count }, (_, index) => (index === 0 ? base + remainder : base));
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `start` plus `months` calendar months, the day clamped to the target month's last day (UTC). */
export function addMonths(start_ms: number, months: number): string {
  const start = new Date(start_ms);
  const year = start.getUTCFullYear();
  const month = start.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return isoDate(Date.UTC(year, month, Math.min(start.getUTCDate(), lastDay)));
}

const dayMs = 86_400_000;

/** Due dates: every 2 weeks from checkout (the first at checkout), or monthly from a month after. */
export function dueDates(interval: PlanRule["interval"], count: number, checkout_ms: number): string[] {
  return Array.from({ length: count }, (_, index) =>
    interval === "every_2_weeks" ? isoDate(checkout_ms + index * 14 * dayMs) : addMonths(checkout_ms, index + 1));
}

export type PlanProblem =
  | { problem: "currency_unsupported"; message: string }
  | { problem: "installments_unsupported"; message: string }
  | { problem: "amount_too_small"; message: string };

/** The plan for `amount` in `currency` with `count` installments (the rule's default when absent), or why not. */
export function planFor(amount: number, currency: string, count: number | undefined, checkout_ms: number): { ok: true; plan: Plan } | { ok: false } & PlanProblem {
  const rule = planRules[currency];
  if (!rule) {
    return { ok: false, problem: "currency_unsupported", message: `BNPL is offered in ${Object.keys(planRules).join(", ").toLowerCase()}, not ${currency.toLowerCase()}.` };
  }
  const installments = count ?? rule.default_count;
  if (!rule.counts.includes(installments)) {
    return { ok: false, problem: "installments_unsupported", message: `A ${rule.type} plan in ${currency.toLowerCase()} has ${rule.counts.join(", ")} installments, not ${installments}.` };
  }
  const fee = feeMinor(amount, providerFeeFor(rule.type, installments));
  if (Math.floor(amount / installments) < rule.installment_minor_min) {
    const most = rule.counts.filter((candidate) => Math.floor(amount / candidate) >= rule.installment_minor_min).at(-1);
    return {
      ok: false, problem: "installments_unsupported",
      message: `Each installment must be at least ${rule.installment_minor_min} minor units of ${currency.toLowerCase()}; ` +
        (most ? `at most ${most} installments for this amount.` : "this amount is too small for any plan."),
    };
  }
  if (fee >= amount) return { ok: false, problem: "amount_too_small", message: `The provider's fee (${fee}) would take the whole amount.` };
  const amounts = splitAmount(amount, installments);
  const dates = dueDates(rule.interval, installments, checkout_ms);
  const plan: Plan = {
    type: rule.type, interval: rule.interval, fee,
    installments: amounts.map((value, index) => ({ sequence: index + 1, amount: value, due_date: dates[index]! })),
  };
  assert(plan.installments.reduce((sum, item) => sum + item.amount, 0) === amount, "installments add up to the amount");
  return { ok: true, plan };
}
