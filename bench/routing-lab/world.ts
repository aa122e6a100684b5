// The routing lab's synthetic world: channels with capabilities, fee tables and TRUE approval
// rates that differ by segment and change during the day, and a seeded day of card payments.
// Only the simulator (and the oracle) read the true rates; the routing code never does.
import type { ChannelCapabilities } from "../../src/channels/contract.ts";
import type { PaymentFactsV2 } from "../../src/routing/conditions.ts";
import type { RoutingChannel } from "../../src/routing/context.ts";
import { defaultFx, globalPayFees, localAcqFees, type ChannelFees, type FeeModel } from "../../src/routing/fees.ts";
import { sampleNormal, seededRandom, type Random } from "../../src/routing/random.ts";

export const hourMs = 3_600_000;
export const dayMs = 24 * hourMs;

const capabilities = (brands: string[], currencies: string[] | "*"): ChannelCapabilities => ({
  methods: ["card"], brands, currencies, countries: "*", partial_capture: true, refund: true, partial_refund: true, three_ds: false,
});

/** A regional PSP acquiring in the UK and Mexico. */
export const regionalPspFees: ChannelFees = {
  acquiring_countries: ["GB", "MX"],
  settlement_currencies: ["USD", "GBP", "EUR", "MXN"],
  lines: [
    { brands: ["amex"], percent_bps: 300, fixed: { amount_minor: 20, currency: "USD" } },
    { percent_bps: 220, fixed: { amount_minor: 20, currency: "USD" } },
  ],
  cross_border_bps: 150,
  fx_markup_bps: 200,
};

export const channels: RoutingChannel[] = [
  { name: "globalpay", capabilities: capabilities(["visa", "mastercard", "amex"], "*") },
  { name: "localacq", capabilities: capabilities(["visa", "mastercard", "elo", "rupay"], ["BRL", "IDR", "INR", "MXN", "USD", "EUR"]) },
  { name: "regionalpsp", capabilities: capabilities(["visa", "mastercard", "amex"], ["USD", "GBP", "EUR", "MXN", "BRL"]) },
];

export const feeModel: FeeModel = {
  channels: { globalpay: globalPayFees, localacq: localAcqFees, regionalpsp: regionalPspFees },
  fx: defaultFx,
};

// ---- the truth ----

type Country = "US" | "GB" | "BR" | "IN" | "MX" | "ID";

/** Approval given the channel answered, by channel and card country (domestic acquiring wins). */
const baseApproval: Record<string, Record<Country, number>> = {
  globalpay: { US: 0.92, GB: 0.86, BR: 0.74, IN: 0.7, MX: 0.8, ID: 0.76 },
  localacq: { US: 0.8, GB: 0.78, BR: 0.89, IN: 0.87, MX: 0.86, ID: 0.88 },
  regionalpsp: { US: 0.9, GB: 0.91, BR: 0.79, IN: 0.72, MX: 0.87, ID: 0.75 },
};

/** Baseline share of attempts failing technically. */
const baseTechnical: Record<string, number> = { globalpay: 0.003, localacq: 0.008, regionalpsp: 0.005 };

export const incidents = {
  /** localacq approves 20 points less, 10:00–11:00. */
  degradation: { channel: "localacq", from_ms: 10 * hourMs, to_ms: 11 * hourMs, points: 0.2 },
  /** globalpay fails every attempt technically, 15:00–15:30. */
  outage: { channel: "globalpay", from_ms: 15 * hourMs, to_ms: 15.5 * hourMs },
};

export const unknownShare = 0.001;

export interface LabPayment {
  at_ms: number;
  facts: PaymentFactsV2;
  /** Amount in USD minor units (mid rate), for the band effects. */
  usd_minor: number;
  /** The issuer's draw: approved on a channel whose true rate exceeds it (common random numbers). */
  issuer_draw: number;
  /** Decides hard vs soft, and the network code, when declined. */
  decline_draw: number;
}

/** True approval (given no technical failure) of a payment on a channel at a moment. */
export function trueApproval(channel: string, payment: LabPayment): number {
  const country = payment.facts.country as Country;
  let rate = baseApproval[channel][country];
  const brand = payment.facts.brand;
  if (brand === "amex") rate -= 0.02;
  if (brand === "elo" || brand === "rupay") rate -= 0.01;
  if (payment.usd_minor < 2_000) rate += 0.02;
  if (payment.usd_minor >= 20_000) rate -= channel === "localacq" ? 0.09 : 0.05;
  if (payment.facts.card_type === "debit") rate -= 0.02;
  const { degradation } = incidents;
  if (channel === degradation.channel && payment.at_ms >= degradation.from_ms && payment.at_ms < degradation.to_ms) rate -= degradation.points;
  return rate;
}

export function trueTechnical(channel: string, at_ms: number): number {
  const { outage } = incidents;
  if (channel === outage.channel && at_ms >= outage.from_ms && at_ms < outage.to_ms) return 1;
  return baseTechnical[channel];
}

// ---- traffic ----

interface Market {
  country: Country;
  share: number;
  currency: string;
  /** Median ticket in major units of the currency. */
  median: number;
  exponent: number;
  brands: [string, number][];
}

const markets: Market[] = [
  { country: "US", share: 24, currency: "USD", median: 40, exponent: 2, brands: [["visa", 55], ["mastercard", 30], ["amex", 15]] },
  { country: "BR", share: 20, currency: "BRL", median: 150, exponent: 2, brands: [["visa", 40], ["mastercard", 35], ["elo", 25]] },
  { country: "IN", share: 18, currency: "INR", median: 2_000, exponent: 2, brands: [["visa", 35], ["mastercard", 25], ["rupay", 40]] },
  { country: "GB", share: 12, currency: "GBP", median: 35, exponent: 2, brands: [["visa", 55], ["mastercard", 30], ["amex", 15]] },
  { country: "MX", share: 13, currency: "MXN", median: 700, exponent: 2, brands: [["visa", 55], ["mastercard", 45]] },
  { country: "ID", share: 13, currency: "IDR", median: 400_000, exponent: 2, brands: [["visa", 55], ["mastercard", 45]] },
];

/** Share of non-US cards charged in USD (cross-border commerce). */
const usdShare = 0.15;
const usdPerUnit: Record<string, number> = { USD: 1, BRL: 0.2, INR: 1 / 83, GBP: 1 / 0.79, MXN: 1 / 17, IDR: 1 / 16_000 };
const issuers = ["alpha", "beta", "gamma", "delta"];

/** Traffic per hour of the day (UTC), relative. */
const hourlyWeight = [3, 2, 2, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8, 8, 8, 8, 7, 7, 7, 7, 6, 5, 4, 3];

function pick<T>(random: Random, weighted: [T, number][]): T {
  let total = 0;
  for (const [, weight] of weighted) total += weight;
  let ticket = random() * total;
  for (const [value, weight] of weighted) {
    ticket -= weight;
    if (ticket < 0) return value;
  }
  return weighted[weighted.length - 1][0];
}

function timeOfDay(random: Random): number {
  const hour = pick(random, hourlyWeight.map((weight, index) => [index, weight] as [number, number]));
  return Math.floor((hour + random()) * hourMs);
}

export function generateDay(seed: number, count: number): LabPayment[] {
  const random = seededRandom(seed);
  const marketChoices = markets.map((market) => [market, market.share] as [Market, number]);
  const payments: LabPayment[] = [];
  for (let i = 0; i < count; i++) {
    const market = pick(random, marketChoices);
    const brand = pick(random, market.brands);
    const inUsd = market.country !== "US" && random() < usdShare;
    const currency = inUsd ? "USD" : market.currency;
    const major = (inUsd ? market.median * usdPerUnit[market.currency] : market.median) * Math.exp(0.9 * sampleNormal(random));
    const amount = Math.max(100, Math.round(major * 10 ** market.exponent));
    const usd_minor = Math.round(amount * usdPerUnit[currency]);
    payments.push({
      at_ms: timeOfDay(random),
      facts: {
        method: "card", brand, currency, amount, country: market.country,
        issuer: issuers[Math.floor(random() * issuers.length)], card_type: random() < 0.45 ? "debit" : "credit", metadata: {},
      },
      usd_minor,
      issuer_draw: random(),
      decline_draw: random(),
    });
  }
  return payments.sort((a, b) => a.at_ms - b.at_ms);
}
