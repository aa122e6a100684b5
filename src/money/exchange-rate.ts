// Exact conversion of minor units at an exchange rate given as decimal text (a settlement report's
// "Exchange Rate": units of the target currency per unit of the source currency, e.g. "1.0870" US
// dollars per euro). The rate is read digit by digit into a scaled integer (mantissa / 10^scale)
// and every product is a bigint, rounded once, half to even: no float touches money here.
import { divideHalfEven } from "../routing/fees.ts";

/** A positive decimal rate as mantissa / 10^scale. */
export interface DecimalRate {
  mantissa: bigint;
  scale: number;
}

/** At most 12 integer and 12 fraction digits, no sign, no exponent, not zero. */
const decimalRate = /^(\d{1,12})(?:\.(\d{1,12}))?$/;

/** "1.0870" → { mantissa: 10870n, scale: 4 }; undefined for anything but a positive decimal. */
export function parseDecimalRate(text: string): DecimalRate | undefined {
  const match = decimalRate.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? "";
  const mantissa = BigInt(match[1] + fraction);
  if (mantissa === 0n) return undefined;
  return { mantissa, scale: fraction.length };
}

/** `amount` minor units (exponent `from_exponent`) × rate, in minor units of exponent `to_exponent`, half-even. */
export function convertAtRate(amount: bigint, rate: DecimalRate, from_exponent: number, to_exponent: number): bigint {
  const numerator = amount * rate.mantissa * 10n ** BigInt(to_exponent);
  return divideHalfEven(numerator, 10n ** BigInt(rate.scale + from_exponent));
}

/** The inverse: `amount` minor units of the target (exponent `to_exponent`) back in the source's, half-even. */
export function convertBackAtRate(amount: bigint, rate: DecimalRate, from_exponent: number, to_exponent: number): bigint {
  const numerator = amount * 10n ** BigInt(rate.scale + from_exponent);
  return divideHalfEven(numerator, rate.mantissa * 10n ** BigInt(to_exponent));
}
