// ISO 4217 facts (alphabetic code, numeric code, minor-unit exponent) from the `currency-codes`
// data set, minus the codes that are not money one can pay with (funds, metals, testing).
import currencyCodes from "currency-codes";

export interface Currency {
  /** Upper-case alphabetic code, e.g. "USD". */
  code: string;
  /** Three-digit numeric code, e.g. "840" (ISO 8583 DE49). */
  numeric: string;
  /** Minor-unit exponent: 2 for USD, 0 for JPY, 3 for KWD, 4 for CLF. */
  exponent: number;
}

const notPayable = new Set(["XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "BOV", "CHE", "CHW", "COU", "MXV", "USN", "UYI", "UYW"]);

const byCode = new Map<string, Currency>();
const byNumeric = new Map<string, Currency>();
for (const record of currencyCodes.data) {
  if (notPayable.has(record.code)) continue;
  const currency: Currency = { code: record.code, numeric: record.number, exponent: record.digits };
  byCode.set(record.code, currency);
  byNumeric.set(record.number, currency);
}

/** Accepts any case; returns undefined for anything that is not a payable ISO 4217 currency. */
export function findCurrency(code: string): Currency | undefined {
  if (typeof code !== "string" || code.length !== 3) return undefined;
  return byCode.get(code.toUpperCase());
}

export function currencyByNumeric(numeric: string): Currency | undefined {
  return byNumeric.get(numeric);
}

export function requireCurrency(code: string): Currency {
  const currency = findCurrency(code);
  if (!currency) throw new Error(`programmer error: unknown currency ${code}`);
  return currency;
}

/**
 * Converts an amount between two exponents of the same currency, exactly.
 * Returns undefined when the amount is not representable in the target exponent
 * (e.g. 1050 cents of IDR to a channel that counts IDR without decimals): the caller must refuse
 * it rather than round money away.
 */
export function rescaleAmount(amount: number, from_exponent: number, to_exponent: number): number | undefined {
  if (!Number.isSafeInteger(amount)) throw new Error("programmer error: amount must be a safe integer");
  if (to_exponent === from_exponent) return amount;
  if (to_exponent > from_exponent) {
    const scaled = amount * 10 ** (to_exponent - from_exponent);
    return Number.isSafeInteger(scaled) ? scaled : undefined;
  }
  const divisor = 10 ** (from_exponent - to_exponent);
  return amount % divisor === 0 ? amount / divisor : undefined;
}
