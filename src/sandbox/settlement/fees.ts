// The sandbox card channels' own fee schedules: what they deduct from each settled line.
// They are kept equal to Corridor's default fee model for the channels (src/routing/fees.ts,
// globalPayFees / localAcqFees at domestic pricing) so that a sandbox report prices exactly as
// Corridor expects; the fixed parts are hard-coded per currency (the channel's own tariff), each
// the model's US-cent fee converted with the model's default FX table, half-even (a test checks
// the two stay equal). A currency the table does not list is charged as if one unit of it were
// worth one US dollar (0.30 major units for globalpay's 30 ¢), rounded half-even to its exponent.
//
// globalpay (IC++ pricing): 290 bps + 30 US cents, amex 350 bps + 30 US cents, cards from every
// country at domestic pricing (the sandbox never charges cross-border or FX), split into
//   interchange  180 bps, scheme fees 20 bps, markup the rest of the percentage plus the fixed fee,
//   commission   0.
// The split rounds cumulatively: interchange = r(180 bps), interchange + scheme = r(200 bps),
// interchange + scheme + percentage markup = r(290 bps) (r: half-even of the exact product), so
// the parts are never negative and always add up to exactly r(290 bps) + fixed, the model's cost.
//
// localacq (blended pricing): one commission, no interchange, scheme fees or markup:
//   local schemes (elo, hipercard, rupay, troy, verve, mir, by PAN prefix) 110 bps + 5 US cents,
//   any other card 170 bps + 10 US cents (the model's domestic lines; localacq charges its
//   domestic line to every card). Computed in localacq's own minor units for the currency (IDR and
//   HUF without decimals), so a fee is always representable in its clearing file.
//
// Refunds and chargeback reversals carry no fee (commission 0). A chargeback is the disputed amount
// debited (no fee on that line) plus a separate fee line of 15.00 major units of the currency
// (Corridor's dispute fee), not returned when the chargeback is reversed.
import { findCurrency } from "../../money/currency.ts";
import { basisPoints, divideHalfEven } from "./money.ts";

export interface LineFees {
  interchange: bigint;
  scheme_fees: bigint;
  markup: bigint;
  commission: bigint;
}

export const noFees: LineFees = { interchange: 0n, scheme_fees: 0n, markup: 0n, commission: 0n };

export function totalFees(fees: LineFees): bigint {
  return fees.interchange + fees.scheme_fees + fees.markup + fees.commission;
}

/** 30 US cents in each currency's ISO minor units (defaultFx, half-even). */
export const GLOBALPAY_FIXED_FEE_MINOR: Readonly<Record<string, number>> = {
  USD: 30, EUR: 28, GBP: 24, BRL: 150, INR: 2490, IDR: 480000, MXN: 510, TRY: 960, NGN: 45000, HUF: 10800, JPY: 45,
};
/** 10 US cents (localacq, other cards), ISO minor units. */
export const LOCALACQ_FIXED_FEE_MINOR: Readonly<Record<string, number>> = {
  USD: 10, EUR: 9, BRL: 50, INR: 830, IDR: 160000, MXN: 170, TRY: 320, NGN: 15000, HUF: 3600,
};
/** 5 US cents (localacq, local schemes), ISO minor units. */
export const LOCALACQ_LOCAL_SCHEME_FIXED_FEE_MINOR: Readonly<Record<string, number>> = {
  USD: 5, EUR: 5, BRL: 25, INR: 415, IDR: 80000, MXN: 85, TRY: 160, NGN: 7500, HUF: 1800,
};

export const GLOBALPAY_PERCENT_BPS = 290;
export const GLOBALPAY_AMEX_PERCENT_BPS = 350;
export const GLOBALPAY_INTERCHANGE_BPS = 180;
export const GLOBALPAY_SCHEME_FEE_BPS = 20;
export const LOCALACQ_PERCENT_BPS = 170;
export const LOCALACQ_LOCAL_SCHEME_PERCENT_BPS = 110;
export const LOCAL_SCHEMES: ReadonlySet<string> = new Set(["elo", "hipercard", "rupay", "troy", "verve", "mir"]);
/** The chargeback fee, major units of the disputed currency. */
export const CHARGEBACK_FEE_MAJOR_UNITS = 15;

function exponentOf(currency: string): number {
  const iso = findCurrency(currency);
  if (!iso) throw new Error(`programmer error: unknown currency ${currency}`);
  return iso.exponent;
}

/** A table's fixed fee in ISO minor units; unlisted: `us_cents` hundredths of a major unit. */
function fixedFeeMinor(table: Readonly<Record<string, number>>, us_cents: number, currency: string): bigint {
  const listed = table[currency];
  if (listed !== undefined) return BigInt(listed);
  return divideHalfEven(BigInt(us_cents) * 10n ** BigInt(exponentOf(currency)), 100n);
}

/** globalpay's fees on a settled capture of `gross` ISO minor units (gross > 0). */
export function globalPayCaptureFees(gross: bigint, currency: string, network: string): LineFees {
  const percent_bps = network === "amex" ? GLOBALPAY_AMEX_PERCENT_BPS : GLOBALPAY_PERCENT_BPS;
  const interchange = basisPoints(gross, GLOBALPAY_INTERCHANGE_BPS);
  const throughScheme = basisPoints(gross, GLOBALPAY_INTERCHANGE_BPS + GLOBALPAY_SCHEME_FEE_BPS);
  const percent = basisPoints(gross, percent_bps);
  const fixed = fixedFeeMinor(GLOBALPAY_FIXED_FEE_MINOR, 30, currency);
  return { interchange, scheme_fees: throughScheme - interchange, markup: percent - throughScheme + fixed, commission: 0n };
}

/** localacq's blended commission on a settled sale of `gross` in localacq's own minor units. */
export function localAcqCaptureFees(gross: bigint, currency: string, channel_exponent: number, brand: string): LineFees {
  const local = LOCAL_SCHEMES.has(brand);
  const percent = basisPoints(gross, local ? LOCALACQ_LOCAL_SCHEME_PERCENT_BPS : LOCALACQ_PERCENT_BPS);
  const fixedIso = local
    ? fixedFeeMinor(LOCALACQ_LOCAL_SCHEME_FIXED_FEE_MINOR, 5, currency)
    : fixedFeeMinor(LOCALACQ_FIXED_FEE_MINOR, 10, currency);
  const shift = exponentOf(currency) - channel_exponent;
  const fixed = shift >= 0 ? divideHalfEven(fixedIso, 10n ** BigInt(shift)) : fixedIso * 10n ** BigInt(-shift);
  return { ...noFees, commission: percent + fixed };
}

/** The chargeback fee in ISO minor units of `currency`. */
export function chargebackFeeMinor(currency: string): bigint {
  return BigInt(CHARGEBACK_FEE_MAJOR_UNITS) * 10n ** BigInt(exponentOf(currency));
}
