// Ledger postings of settlement (per currency; owner in brackets):
//   a matched line, summed per channel and currency of one booking:
//     net:       bank_in_transit [channel] ← channel_receivable [channel]
//     each fee:  channel_fees_{interchange,scheme,markup,commission} [channel] ← channel_receivable
//     residual:  Corridor's amount − reported gross, to the channel's rounding account (within the
//                tolerance), the write-off account or the merchant (operator resolutions)
//     so the receivable is cleared at exactly what Corridor booked for the line.
//   a converted line (the channel paid in another currency than the gross's, at the line's exchange
//   rate), through the channel's FX conversion account of each currency:
//     gross currency: fx_conversion [channel] ← channel_receivable for the gross; residual as above
//     net currency:   bank_in_transit [channel] ← fx_conversion [channel] for the net
//                     each fee: channel_fees_* [channel] ← fx_conversion [channel]
//     every transfer is within one currency, so each currency balances on its own; the two
//     fx_conversion accounts hold the conversion (gross in, net and fees out) at the line's rate.
//   for the merchant, summed per merchant and currency:
//     fee:       merchant_pending → platform_revenue [platform]
//     the rest:  merchant_pending → merchant_available (negative sums move back, as far as available goes)
//   a bank credit funding batches: platform_bank [platform] ← bank_in_transit [channel]
import { assert } from "../limits.ts";
import { creditBalance, postTransfer, type AccountPurpose, type AccountRef, type LedgerResult, type TransferCode } from "../ledger/ledger.ts";
import type { Tx } from "../store/db.ts";

export type ResidualTarget = "rounding" | "write_off" | "merchant";

export interface LineBooking {
  channel: string;
  /** The currency of the gross, the receivable and the merchant's amounts (the payment's). */
  currency: string;
  /** The currency of the net and the fees when the channel converted (absent or equal: none). */
  net_currency?: string;
  merchant_id: string | null;
  /** Signed, as reported: the gross in `currency`, the net and the fees in the net currency. */
  gross: bigint;
  net: bigint;
  interchange: bigint;
  scheme_fees: bigint;
  markup: bigint;
  commission: bigint;
  /** Signed amount Corridor booked on the channel receivable for this line (0: nothing). */
  expected: bigint;
  /** Signed amount the merchant is settled for (pending → available). */
  merchant_amount: bigint;
  merchant_fee: bigint;
  residual_to: ResidualTarget;
}

const platformOwner = "platform";

function account(owner: string, currency: string, purpose: AccountPurpose): AccountRef {
  return { owner, currency, purpose };
}

function expectOk(result: LedgerResult, what: string): void {
  if (!result.ok) throw new Error(`ledger invariant broken while posting ${what}: ${result.error}`);
}

/** Moves a signed amount: positive debits `debit` and credits `credit`, negative the other way. */
async function moveSigned(tx: Tx, debit: AccountRef, credit: AccountRef, amount: bigint, code: TransferCode, ref: string): Promise<void> {
  if (amount === 0n) return;
  const [from, to] = amount > 0n ? [debit, credit] : [credit, debit];
  expectOk(await postTransfer(tx, { debit: from, credit: to, amount: amount > 0n ? amount : -amount, code, ref }), code);
}

interface ChannelSums {
  channel: string;
  /** The receivable's currency (gross and residuals). */
  currency: string;
  /** The net's and fees' currency (= currency unless converted). */
  net_currency: string;
  gross: bigint;
  net: bigint;
  fees: Record<"channel_fees_interchange" | "channel_fees_scheme" | "channel_fees_markup" | "channel_fees_commission", bigint>;
  residual: Record<ResidualTarget, Map<string, bigint>>;
}

function sumByChannel(items: readonly LineBooking[]): Map<string, ChannelSums> {
  const sums = new Map<string, ChannelSums>();
  for (const item of items) {
    const net_currency = item.net_currency ?? item.currency;
    // A converted line's net is its gross at the exchange rate less its fees (checked by matching,
    // within the terms' tolerance); an unconverted one's exactly its gross less its fees.
    if (net_currency === item.currency) {
      assert(item.net === item.gross - item.interchange - item.scheme_fees - item.markup - item.commission, "a booked line's net is its gross less its fees");
    }
    const key = `${item.channel}|${item.currency}|${net_currency}`;
    let sum = sums.get(key);
    if (!sum) {
      sum = {
        channel: item.channel, currency: item.currency, net_currency, gross: 0n, net: 0n,
        fees: { channel_fees_interchange: 0n, channel_fees_scheme: 0n, channel_fees_markup: 0n, channel_fees_commission: 0n },
        residual: { rounding: new Map(), write_off: new Map(), merchant: new Map() },
      };
      sums.set(key, sum);
    }
    sum.gross += item.gross;
    sum.net += item.net;
    sum.fees.channel_fees_interchange += item.interchange;
    sum.fees.channel_fees_scheme += item.scheme_fees;
    sum.fees.channel_fees_markup += item.markup;
    sum.fees.channel_fees_commission += item.commission;
    const residual = item.expected - item.gross;
    if (residual !== 0n) {
      const owner = item.residual_to === "merchant" ? item.merchant_id : item.channel;
      assert(owner !== null, "a residual borne by the merchant names the merchant");
      const bucket = sum.residual[item.residual_to];
      bucket.set(owner, (bucket.get(owner) ?? 0n) + residual);
    }
  }
  return sums;
}

const residualAccount: Record<ResidualTarget, { purpose: AccountPurpose; code: TransferCode }> = {
  rounding: { purpose: "settlement_rounding", code: "settlement_rounding" },
  write_off: { purpose: "settlement_write_offs", code: "settlement_write_off" },
  merchant: { purpose: "merchant_pending", code: "settlement_adjustment" },
};

async function bookChannelSide(tx: Tx, sum: ChannelSums, ref: string): Promise<void> {
  const receivable = account(sum.channel, sum.currency, "channel_receivable");
  // Unconverted: the net and fees come straight out of the receivable. Converted: the gross goes
  // from the receivable into the FX account (gross currency), and the net and fees come out of
  // the FX account of the net currency.
  const converted = sum.net_currency !== sum.currency;
  if (converted) await moveSigned(tx, account(sum.channel, sum.currency, "fx_conversion"), receivable, sum.gross, "settlement_conversion", ref);
  const source = converted ? account(sum.channel, sum.net_currency, "fx_conversion") : receivable;
  await moveSigned(tx, account(sum.channel, sum.net_currency, "bank_in_transit"), source, sum.net, "settlement", ref);
  for (const [purpose, amount] of Object.entries(sum.fees) as [keyof ChannelSums["fees"], bigint][]) {
    await moveSigned(tx, account(sum.channel, sum.net_currency, purpose), source, amount, "settlement_fee", ref);
  }
  for (const target of ["rounding", "write_off", "merchant"] as const) {
    const { purpose, code } = residualAccount[target];
    for (const [owner, amount] of sum.residual[target]) await moveSigned(tx, account(owner, sum.currency, purpose), receivable, amount, code, ref);
  }
}

async function bookMerchantSide(tx: Tx, items: readonly LineBooking[], ref: string): Promise<void> {
  const sums = new Map<string, { merchant_id: string; currency: string; amount: bigint; fee: bigint }>();
  for (const item of items) {
    if (item.merchant_id === null) continue;
    const key = `${item.merchant_id}|${item.currency}`;
    const sum = sums.get(key) ?? { merchant_id: item.merchant_id, currency: item.currency, amount: 0n, fee: 0n };
    sum.amount += item.merchant_amount;
    sum.fee += item.merchant_fee;
    sums.set(key, sum);
  }
  for (const sum of sums.values()) {
    const pending = account(sum.merchant_id, sum.currency, "merchant_pending");
    const available = account(sum.merchant_id, sum.currency, "merchant_available");
    await moveSigned(tx, pending, account(platformOwner, sum.currency, "platform_revenue"), sum.fee, "merchant_fee", ref);
    let move = sum.amount - sum.fee;
    if (move < 0n) {
      // Money going back (refunds, chargebacks) comes out of available funds as far as they go;
      // the rest stays owed in pending, netted against the merchant's next captures.
      const balance = await creditBalance(tx, available);
      const spendable = balance.posted - balance.pending_debits;
      move = spendable <= 0n ? 0n : -move > spendable ? -spendable : move;
    }
    await moveSigned(tx, pending, available, move, "merchant_settlement", ref);
  }
}

/** Books matched lines (summed per channel/currency and per merchant/currency) under `ref`. */
export async function bookLines(tx: Tx, items: readonly LineBooking[], ref: string): Promise<void> {
  for (const sum of sumByChannel(items).values()) await bookChannelSide(tx, sum, ref);
  await bookMerchantSide(tx, items, ref);
}

/** A bank credit that funds batches whose nets sum to `announced`: the difference is rounding. */
export async function bookFunding(tx: Tx, input: { channel: string; currency: string; amount: bigint; announced: bigint; ref: string }): Promise<void> {
  assert(input.amount > 0n, "a funding credit is positive");
  const bank = account(platformOwner, input.currency, "platform_bank");
  const inTransit = account(input.channel, input.currency, "bank_in_transit");
  const rounding = account(input.channel, input.currency, "settlement_rounding");
  const cleared = input.announced < input.amount ? input.announced : input.amount;
  await moveSigned(tx, bank, inTransit, cleared, "settlement_funding", input.ref);
  // More arrived than announced: the extra is a rounding gain; less: a rounding loss.
  if (input.amount > input.announced) await moveSigned(tx, bank, rounding, input.amount - input.announced, "settlement_rounding", input.ref);
  if (input.amount < input.announced) await moveSigned(tx, rounding, inTransit, input.announced - input.amount, "settlement_rounding", input.ref);
}

/** Operator write-offs and adjustments outside a line booking: a signed move between two accounts. */
export async function bookAdjustment(
  tx: Tx, input: { debit: AccountRef; credit: AccountRef; amount: bigint; code: TransferCode; ref: string },
): Promise<void> {
  await moveSigned(tx, input.debit, input.credit, input.amount, input.code, input.ref);
}

export { account as ledgerAccount, platformOwner };
