// Fee models: what one attempt on a channel is expected to cost, in the payment's minor units.
// Percentages are integer basis points, fixed fees integer minor units of a stated currency,
// and the arithmetic is bigint with explicit half-even rounding: no floats touch money here.

import { findCurrency } from "../money/currency.ts";

export interface FixedFee {
  amount_minor: number;
  /** ISO 4217 code of `amount_minor`; converted to the payment's currency with the FX table. */
  currency: string;
}

/** One priced slice of a channel's traffic. Absent criteria match anything; the first line that
 *  matches prices the attempt. */
export interface FeeLine {
  methods?: readonly string[];
  brands?: readonly string[];
  /** Card issuing countries (the "region" of the card, from the BIN table). */
  card_countries?: readonly string[];
  /** true: only cards issued in one of the channel's acquiring countries; false: only others. */
  domestic?: boolean;
  percent_bps: number;
  fixed: FixedFee;
}

export interface ChannelFees {
  /** Where the channel acquires: a card from elsewhere is cross-border. */
  acquiring_countries: readonly string[];
  /** Currencies the channel settles in without converting. */
  settlement_currencies: readonly string[];
  lines: readonly FeeLine[];
  /** Added when the card's country is not an acquiring country (or unknown). */
  cross_border_bps: number;
  /** Added when the payment's currency is not a settlement currency. */
  fx_markup_bps: number;
  /** What the channel actually charged lately (its settlement reports: all fees over settled gross),
   *  in basis points; when present it prices every attempt instead of the contracted lines. */
  observed_bps?: number;
}

/** Mid rates for estimates: units of each currency per 1 USD, times 1e6 (integers). */
export interface FxTable {
  per_usd_micro: Readonly<Record<string, bigint>>;
}

export interface FeeModel {
  channels: Readonly<Record<string, ChannelFees>>;
  fx: FxTable;
}

export interface FeeQuery {
  method: string;
  brand: string;
  card_country: string | null;
  /** Minor units of `currency` (ISO 4217 exponent). */
  amount: number;
  currency: string;
}

export interface FeeEstimate {
  /** Total expected cost, minor units of the payment's currency. */
  cost_minor: number;
  /** Percentage part: line + cross-border + FX markup, in basis points. */
  percent_bps: number;
  percent_minor: number;
  fixed_minor: number;
  cross_border: boolean;
  fx_conversion: boolean;
  line: number;
}

const bpsPerUnit = 10_000n;
const pow10Cache = new Map<string, bigint>();

function pow10Of(currency: string): bigint | undefined {
  let value = pow10Cache.get(currency);
  if (value === undefined) {
    const iso = findCurrency(currency);
    if (!iso) return undefined;
    value = 10n ** BigInt(iso.exponent);
    pow10Cache.set(currency, value);
  }
  return value;
}

/** n / d rounded half to even; d must be positive. */
export function divideHalfEven(n: bigint, d: bigint): bigint {
  if (d <= 0n) throw new Error("programmer error: divisor must be positive");
  const q = n / d; // truncates toward zero
  const r = n % d;
  const twice = 2n * (r < 0n ? -r : r);
  const away = n < 0n ? q - 1n : q + 1n;
  if (twice < d) return q;
  if (twice > d) return away;
  return q % 2n === 0n ? q : away;
}

/** Converts minor units between currencies at the table's mid rate, half-even; undefined when
 *  either currency is unknown to the table or to ISO 4217. */
export function convertMinor(fx: FxTable, amount_minor: bigint, from: string, to: string): bigint | undefined {
  if (from === to) return amount_minor;
  const fromRate = fx.per_usd_micro[from];
  const toRate = fx.per_usd_micro[to];
  const fromPow = pow10Of(from);
  const toPow = pow10Of(to);
  if (fromRate === undefined || toRate === undefined || fromPow === undefined || toPow === undefined) return undefined;
  return divideHalfEven(amount_minor * toPow * toRate, fromPow * fromRate);
}

function listHas(list: readonly string[] | undefined, value: string | null): boolean {
  if (list === undefined) return true;
  if (value === null) return false;
  for (let i = 0; i < list.length; i++) if (list[i] === value) return true;
  return false;
}

function lineMatches(line: FeeLine, query: FeeQuery, domestic: boolean): boolean {
  if (line.domestic !== undefined && line.domestic !== domestic) return false;
  return listHas(line.methods, query.method) && listHas(line.brands, query.brand) && listHas(line.card_countries, query.card_country);
}

/** The expected cost of one attempt, or undefined when the channel has no fee table, no line
 *  prices this payment, or a currency cannot be converted. */
export function estimateFee(model: FeeModel, channel: string, query: FeeQuery): FeeEstimate | undefined {
  const fees = model.channels[channel];
  if (!fees) return undefined;
  const domestic = query.card_country !== null && fees.acquiring_countries.includes(query.card_country);
  let index = -1;
  for (let i = 0; i < fees.lines.length; i++) {
    if (lineMatches(fees.lines[i], query, domestic)) {
      index = i;
      break;
    }
  }
  if (index < 0) return undefined;
  const line = fees.lines[index];
  if (fees.observed_bps !== undefined) {
    const observed = Number(divideHalfEven(BigInt(query.amount) * BigInt(fees.observed_bps), bpsPerUnit));
    return { cost_minor: observed, percent_bps: fees.observed_bps, percent_minor: observed, fixed_minor: 0, cross_border: !domestic, fx_conversion: !fees.settlement_currencies.includes(query.currency), line: index };
  }
  const fx_conversion = !fees.settlement_currencies.includes(query.currency);
  const percent_bps = line.percent_bps + (domestic ? 0 : fees.cross_border_bps) + (fx_conversion ? fees.fx_markup_bps : 0);
  const fixed = convertMinor(model.fx, BigInt(line.fixed.amount_minor), line.fixed.currency, query.currency);
  if (fixed === undefined) return undefined;
  const percent = divideHalfEven(BigInt(query.amount) * BigInt(percent_bps), bpsPerUnit);
  const percent_minor = Number(percent);
  const fixed_minor = Number(fixed);
  return { cost_minor: percent_minor + fixed_minor, percent_bps, percent_minor, fixed_minor, cross_border: !domestic, fx_conversion, line: index };
}

/** Just the cost, for the routing hot path. */
export function estimateCost(model: FeeModel, channel: string, query: FeeQuery): number | undefined {
  return estimateFee(model, channel, query)?.cost_minor;
}

/** The model with each channel's observed cost (bps) from settlement, where one is known. */
export function withObservedFees(model: FeeModel, observed: ReadonlyMap<string, number>): FeeModel {
  const channels: Record<string, ChannelFees> = {};
  for (const [name, fees] of Object.entries(model.channels)) {
    const bps = observed.get(name);
    channels[name] = bps === undefined ? fees : { ...fees, observed_bps: bps };
  }
  return { channels, fx: model.fx };
}

// ---- defaults ----

/** Indicative mid rates; an operator replaces them with a daily feed. */
export const defaultFx: FxTable = {
  per_usd_micro: {
    USD: 1_000_000n, EUR: 920_000n, GBP: 790_000n, BRL: 5_000_000n, INR: 83_000_000n, IDR: 16_000_000_000n,
    MXN: 17_000_000n, TRY: 32_000_000n, NGN: 1_500_000_000n, HUF: 360_000_000n, JPY: 150_000_000n,
  },
};

const usd = (amount_minor: number): FixedFee => ({ amount_minor, currency: "USD" });

/** globalpay: a global acquirer (acquires in the US): 2.9 % + 30 ¢, amex 3.5 % + 30 ¢, +1 % for
 *  foreign cards, +1.5 % when it has to convert the currency. */
export const globalPayFees: ChannelFees = {
  acquiring_countries: ["US"],
  settlement_currencies: ["USD", "EUR", "GBP"],
  lines: [
    { brands: ["amex"], percent_bps: 350, fixed: usd(30) },
    { percent_bps: 290, fixed: usd(30) },
  ],
  cross_border_bps: 100,
  fx_markup_bps: 150,
};

/** localacq: domestic acquiring in BR/ID/IN/MX/TR/NG: cheap for local cards (local schemes
 *  cheapest), expensive for foreign ones. */
export const localAcqFees: ChannelFees = {
  acquiring_countries: ["BR", "ID", "IN", "MX", "TR", "NG"],
  settlement_currencies: ["BRL", "IDR", "INR", "MXN", "TRY", "NGN", "USD", "EUR", "HUF"],
  lines: [
    { domestic: true, brands: ["elo", "hipercard", "rupay", "troy", "verve", "mir"], percent_bps: 110, fixed: usd(5) },
    { domestic: true, percent_bps: 170, fixed: usd(10) },
    { domestic: false, percent_bps: 320, fixed: usd(30) },
  ],
  cross_border_bps: 250,
  fx_markup_bps: 300,
};

export const defaultFeeModel: FeeModel = {
  channels: { globalpay: globalPayFees, localacq: localAcqFees },
  fx: defaultFx,
};
