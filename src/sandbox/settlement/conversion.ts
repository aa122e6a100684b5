// Settling in another currency: a sandbox card channel that converts what it captured in one
// currency into the merchant account's settlement currency before paying it out, as acquirers do.
// Asked for per close (`POST /_sandbox/settlement/close {settle_in: {"EUR": "USD"}}`): every line
// in a currency named there is settled in the other one at the sandbox's fixed rate for the pair.
// A converted line keeps its gross in the captured currency; its fees (computed on that gross, as
// always) and its net are in the settlement currency: each fee converted at the rate, half-even,
// and net = the gross converted at the rate, half-even, less those fees. Exact integers only.
import { findCurrency } from "../../money/currency.ts";
import { convertAtRate, parseDecimalRate, type DecimalRate } from "../../money/exchange-rate.ts";
import { isObject } from "../types.ts";
import type { LineFees } from "./fees.ts";

/** The sandbox's fixed rates: units of the second currency per unit of the first, decimal text. */
export const SANDBOX_SETTLEMENT_RATES: Readonly<Record<string, string>> = {
  "EUR:USD": "1.0870", "USD:EUR": "0.9200",
  "GBP:USD": "1.2658", "USD:GBP": "0.7900",
  "EUR:GBP": "0.8587", "GBP:EUR": "1.1646",
  "JPY:USD": "0.006667", "USD:JPY": "150.00",
};

export interface SettlementConversion {
  /** The currency paid out (the line's net currency). */
  currency: string;
  /** As written in the report: units of `currency` per unit of the captured currency. */
  exchange_rate: string;
  rate: DecimalRate;
  from_exponent: number;
  to_exponent: number;
}

/** Captured currency → how its lines are settled. */
export type SettleIn = ReadonlyMap<string, SettlementConversion>;

export const settleAsCaptured: SettleIn = new Map();

const MAX_PAIRS = 64;

function exponentOf(code: string): number | undefined {
  const iso = findCurrency(code);
  return iso && iso.code === code ? iso.exponent : undefined;
}

/** `{"EUR": "USD", …}` (upper-case ISO 4217 codes, each pair one the sandbox has a rate for). */
export function parseSettleIn(value: unknown): { ok: true; settle_in: SettleIn } | { ok: false; message: string } {
  if (value === undefined || value === null) return { ok: true, settle_in: settleAsCaptured };
  if (!isObject(value) || Object.keys(value).length > MAX_PAIRS) return { ok: false, message: "settle_in must be an object {captured_currency: settlement_currency}" };
  const out = new Map<string, SettlementConversion>();
  for (const [from, to] of Object.entries(value)) {
    const from_exponent = exponentOf(from);
    const to_exponent = typeof to === "string" ? exponentOf(to) : undefined;
    if (from_exponent === undefined || to_exponent === undefined) return { ok: false, message: `settle_in.${from} must map an upper-case ISO 4217 code to another` };
    if (from === to) continue;
    const exchange_rate = SANDBOX_SETTLEMENT_RATES[`${from}:${to as string}`];
    if (exchange_rate === undefined) {
      return { ok: false, message: `the sandbox has no rate from ${from} to ${to as string}; it has ${Object.keys(SANDBOX_SETTLEMENT_RATES).join(", ")}` };
    }
    const rate = parseDecimalRate(exchange_rate);
    if (!rate) throw new Error(`programmer error: the sandbox rate ${exchange_rate} is not a decimal`);
    out.set(from, { currency: to as string, exchange_rate, rate, from_exponent, to_exponent });
  }
  return { ok: true, settle_in: out };
}

/** Minor units of the captured currency at the conversion's rate, in the settlement currency's, half-even. */
export function convertAmount(amount: bigint, conversion: SettlementConversion): bigint {
  return convertAtRate(amount, conversion.rate, conversion.from_exponent, conversion.to_exponent);
}

/** A line's fees and net in the settlement currency: each fee converted, the net the converted gross less them. */
export function convertLineMoney(gross: bigint, fees: LineFees, conversion: SettlementConversion): { fees: LineFees; net: bigint } {
  const converted: LineFees = {
    interchange: convertAmount(fees.interchange, conversion), scheme_fees: convertAmount(fees.scheme_fees, conversion),
    markup: convertAmount(fees.markup, conversion), commission: convertAmount(fees.commission, conversion),
  };
  const net = convertAmount(gross, conversion) - converted.interchange - converted.scheme_fees - converted.markup - converted.commission;
  return { fees: converted, net };
}
