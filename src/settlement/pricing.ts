// Per-merchant pricing: what the platform charges a merchant on each settled payment.
//   blended:           round(gross × percent_bps / 10 000) + fixed
//   interchange_plus:  the channel's reported interchange + scheme fees (passed through)
//                      + round(gross × markup_bps / 10 000) + fixed
// Integers only, half-even rounding; the fixed fee is in the pricing currency, converted to the
// line's currency at the fee model's mid rate when they differ. Versioned: a new price is a new
// version, and each booked line keeps the version it was priced with. No pricing: no fee.
import { divideHalfEven, convertMinor, type FxTable } from "../routing/fees.ts";
import { toBigInt, toSafeNumber, type Queryable, type Tx } from "../store/db.ts";

export interface MerchantPricing {
  merchant_id: string;
  version: number;
  model: "blended" | "interchange_plus";
  /** blended: percent_bps; interchange_plus: markup_bps. */
  percent_bps: number;
  fixed_amount: number;
  currency: string;
  created_ms: number;
}

export interface PricedLine {
  gross: bigint;
  currency: string;
  interchange: bigint;
  scheme_fees: bigint;
}

/** The merchant fee of one settled line (refunds, chargebacks and fee lines carry none). */
export function merchantFee(pricing: MerchantPricing | undefined, line: PricedLine, fx: FxTable): bigint {
  if (!pricing || line.gross <= 0n) return 0n;
  const percent = divideHalfEven(line.gross * BigInt(pricing.percent_bps), 10_000n);
  const fixed = convertMinor(fx, BigInt(pricing.fixed_amount), pricing.currency, line.currency) ?? 0n;
  const passThrough = pricing.model === "interchange_plus" ? line.interchange + line.scheme_fees : 0n;
  return percent + fixed + passThrough;
}

interface PricingRow {
  merchant_id: string;
  version: unknown;
  model: MerchantPricing["model"];
  percent_bps: unknown;
  fixed_amount: unknown;
  currency: string;
  created_ms: unknown;
}

function toPricing(row: PricingRow): MerchantPricing {
  return {
    merchant_id: row.merchant_id, version: toSafeNumber(row.version), model: row.model,
    percent_bps: toSafeNumber(row.percent_bps), fixed_amount: toSafeNumber(row.fixed_amount),
    currency: row.currency, created_ms: toSafeNumber(row.created_ms),
  };
}

export async function currentPricing(db: Queryable, merchant_id: string): Promise<MerchantPricing | undefined> {
  const row = await db.get<PricingRow>("SELECT * FROM merchant_pricing WHERE merchant_id = ? ORDER BY version DESC LIMIT 1", [merchant_id]);
  return row && toPricing(row);
}

/** The current pricing of each merchant named. */
export async function pricingOf(db: Queryable, merchant_ids: Iterable<string>): Promise<Map<string, MerchantPricing>> {
  const out = new Map<string, MerchantPricing>();
  for (const merchant_id of new Set(merchant_ids)) {
    const pricing = await currentPricing(db, merchant_id);
    if (pricing) out.set(merchant_id, pricing);
  }
  return out;
}

export async function setPricing(
  tx: Tx, merchant_id: string, input: { model: MerchantPricing["model"]; percent_bps: number; fixed_amount: number; currency: string },
): Promise<MerchantPricing> {
  const last = await tx.get<{ version: unknown }>(`SELECT MAX(version) AS version FROM merchant_pricing WHERE merchant_id = ?`, [merchant_id]);
  const version = Number(toBigInt(last?.version)) + 1;
  const created_ms = Date.now();
  await tx.run(
    "INSERT INTO merchant_pricing (merchant_id, version, model, percent_bps, fixed_amount, currency, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [merchant_id, version, input.model, input.percent_bps, input.fixed_amount, input.currency, created_ms],
  );
  return { merchant_id, version, ...input, created_ms };
}

export function pricingView(pricing: MerchantPricing) {
  const base = { object: "merchant_pricing", merchant: pricing.merchant_id, version: pricing.version, model: pricing.model };
  const rate = pricing.model === "blended" ? { percent_bps: pricing.percent_bps } : { markup_bps: pricing.percent_bps };
  return { ...base, ...rate, fixed_amount: pricing.fixed_amount, currency: pricing.currency.toLowerCase(), created: Math.floor(pricing.created_ms / 1000) };
}
