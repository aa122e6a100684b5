// Matching a channel report's lines to what Corridor recorded: by our reference (the attempt id,
// or the refund id) in the merchant-reference field, else by the channel's reference. Each line
// ends matched (and is booked) or an exception; a matched settled line whose fees fall outside the
// fee model's range is booked as reported and raises a fee_mismatch as well.
//
// A converted line (the channel paid out in its settlement currency, not the gross's: gross in the
// payment's currency, net and fees in the net currency, with the line's Exchange Rate as net units
// per gross unit) is matched like any other when its gross currency is the payment's and its net is
// its gross × the rate less its fees, within the terms' amount tolerance plus their FX rounding (in
// minor units of the net currency): exactly, with the rate read as a scaled integer. A net beyond
// that is an amount_mismatch whose details name the rate; a gross currency other than the
// payment's stays a currency_mismatch. The rate itself is not stored on the line (settlement_lines
// has no column for it): the exception's details carry it, and a matched line's net and fees are
// booked as reported (src/settlement/bookings.ts, through the channel's FX conversion accounts).
import {
  capturesByAttempt, capturesByChannelReference, disputesByChannelId, refundsById, factsLookupBatchMax,
  type CaptureFact, type DisputeFact, type RefundFact,
} from "../payments/settlement-facts.ts";
import { findCurrency } from "../money/currency.ts";
import { convertAtRate, convertBackAtRate, parseDecimalRate, type DecimalRate } from "../money/exchange-rate.ts";
import { estimateFee, type FeeModel } from "../routing/fees.ts";
import type { Queryable } from "../store/db.ts";
import type { LineBooking } from "./bookings.ts";
import type { NewException } from "./exceptions.ts";
import { merchantFee, pricingOf } from "./pricing.ts";
import type { ReportLine } from "./report.ts";
import type { SettlementTerms } from "./terms.ts";

export type MatchKind = "capture" | "refund" | "chargeback" | "chargeback_reversal" | "fee";

export interface LineRow {
  line: ReportLine;
  batch_id: string;
  status: "matched" | "exception";
  match_kind: MatchKind | null;
  match_id: string | null;
  payment_id: string | null;
  merchant_id: string | null;
  /** Corridor's signed amount for the line (null: nothing recorded). */
  expected: bigint | null;
  merchant_fee: bigint;
  pricing_version: number | null;
  booked: boolean;
}

export interface MatchOutcome {
  rows: LineRow[];
  exceptions: NewException[];
  /** Summed per currency, merchant and residual target (bookings are linear in their lines). */
  bookings: LineBooking[];
  /** Attempts whose capture this file reports, matched or not (to close earlier missing_in_report exceptions). */
  settled_attempts: string[];
}

interface Facts {
  captures: Map<string, CaptureFact>;
  capturesByChannelRef: Map<string, CaptureFact>;
  refunds: Map<string, RefundFact>;
  disputes: Map<string, DisputeFact>;
  /** `<kind>:<id>` already matched by an earlier file. */
  alreadyMatched: Set<string>;
}

async function existingMatches(db: Queryable, kind: MatchKind, ids: readonly string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  const out: string[] = [];
  for (let start = 0; start < unique.length; start += factsLookupBatchMax) {
    const chunk = unique.slice(start, start + factsLookupBatchMax);
    const rows = await db.all<{ match_id: string }>(
      `SELECT match_id FROM settlement_lines WHERE match_kind = ? AND match_id IN (${chunk.map(() => "?").join(", ")})`, [kind, ...chunk]);
    for (const row of rows) out.push(`${kind}:${row.match_id}`);
  }
  return out;
}

/** Captures an operator settled without a line (a missing_in_report resolved by write_off or
 *  accept_reported): a line that brings one later is a duplicate, not a second settlement. */
async function settledByResolution(db: Queryable, attempt_ids: readonly string[]): Promise<string[]> {
  const subjects = [...new Set(attempt_ids)].map((id) => `missing_in_report:${id}`);
  const out: string[] = [];
  for (let start = 0; start < subjects.length; start += factsLookupBatchMax) {
    const chunk = subjects.slice(start, start + factsLookupBatchMax);
    const rows = await db.all<{ attempt_id: string }>(
      `SELECT attempt_id FROM reconciliation_exceptions WHERE status = 'resolved' AND subject IN (${chunk.map(() => "?").join(", ")})`, chunk);
    for (const row of rows) out.push(`capture:${row.attempt_id}`);
  }
  return out;
}

async function gatherFacts(db: Queryable, channel: string, lines: readonly ReportLine[]): Promise<Facts> {
  const attemptRefs: string[] = [];
  const refundRefs: string[] = [];
  const disputeRefs: string[] = [];
  for (const line of lines) {
    if ((line.type === "settled" || line.type === "fee") && line.merchant_reference) attemptRefs.push(line.merchant_reference);
    if (line.type === "refunded" && line.merchant_reference) refundRefs.push(line.merchant_reference);
    if ((line.type === "chargeback" || line.type === "chargeback_reversal" || line.type === "fee") && line.channel_reference) disputeRefs.push(line.channel_reference);
  }
  const captures = await capturesByAttempt(db, attemptRefs);
  const unknownSettled = lines.filter((line) => line.type === "settled" && line.channel_reference
    && !(line.merchant_reference && captures.has(line.merchant_reference))).map((line) => line.channel_reference!);
  const capturesByChannelRef = await capturesByChannelReference(db, channel, unknownSettled);
  const refunds = await refundsById(db, refundRefs);
  const disputes = await disputesByChannelId(db, channel, disputeRefs);
  const captureIds = [...captures.keys(), ...[...capturesByChannelRef.values()].map((fact) => fact.attempt_id)];
  const alreadyMatched = new Set([
    ...(await existingMatches(db, "capture", captureIds)),
    ...(await settledByResolution(db, captureIds)),
    ...(await existingMatches(db, "refund", [...refunds.keys()])),
    ...(await existingMatches(db, "chargeback", [...disputes.values()].map((fact) => fact.dispute_id))),
    ...(await existingMatches(db, "chargeback_reversal", [...disputes.values()].map((fact) => fact.dispute_id))),
  ]);
  return { captures, capturesByChannelRef, refunds, disputes, alreadyMatched };
}

interface Candidate {
  kind: MatchKind;
  id: string;
  payment_id: string;
  merchant_id: string;
  currency: string;
  expected: bigint;
  capture?: CaptureFact;
}

function candidateFor(line: ReportLine, channel: string, facts: Facts): Candidate | undefined {
  switch (line.type) {
    case "settled": {
      const fact = (line.merchant_reference && facts.captures.get(line.merchant_reference))
        || (line.channel_reference && facts.capturesByChannelRef.get(line.channel_reference)) || undefined;
      if (!fact || fact.channel !== channel) return undefined;
      return { kind: "capture", id: fact.attempt_id, payment_id: fact.payment_id, merchant_id: fact.merchant_id, currency: fact.currency, expected: BigInt(fact.amount), capture: fact };
    }
    case "refunded": {
      const fact = line.merchant_reference ? facts.refunds.get(line.merchant_reference) : undefined;
      if (!fact || fact.channel !== channel || fact.status !== "succeeded") return undefined;
      return { kind: "refund", id: fact.refund_id, payment_id: fact.payment_id, merchant_id: fact.merchant_id, currency: fact.currency, expected: -BigInt(fact.amount) };
    }
    case "chargeback":
    case "chargeback_reversal": {
      const fact = line.channel_reference ? facts.disputes.get(line.channel_reference) : undefined;
      if (!fact) return undefined;
      const amount = BigInt(fact.amount);
      return { kind: line.type, id: fact.dispute_id, payment_id: fact.payment_id, merchant_id: fact.merchant_id, currency: fact.currency, expected: line.type === "chargeback" ? -amount : amount };
    }
    case "fee": {
      const dispute = line.channel_reference ? facts.disputes.get(line.channel_reference) : undefined;
      if (dispute) return { kind: "fee", id: dispute.dispute_id, payment_id: dispute.payment_id, merchant_id: dispute.merchant_id, currency: dispute.currency, expected: 0n };
      const capture = line.merchant_reference ? facts.captures.get(line.merchant_reference) : undefined;
      if (capture && capture.channel === channel) return { kind: "fee", id: capture.attempt_id, payment_id: capture.payment_id, merchant_id: capture.merchant_id, currency: capture.currency, expected: 0n };
      return undefined;
    }
    case "payout":
      return undefined;
  }
}

/** The fee model's range for a capture: unknown card facts widen it to every line they could price. */
export function feeRange(model: FeeModel, channel: string, capture: CaptureFact): { min: bigint; max: bigint } | undefined {
  const countries = capture.card_country !== null ? [capture.card_country] : [...(model.channels[channel]?.acquiring_countries ?? []).slice(0, 1), "ZZ"];
  const costs: number[] = [];
  for (const card_country of countries) {
    const estimate = estimateFee(model, channel, { method: "card", brand: capture.brand ?? "unknown", card_country, amount: capture.amount, currency: capture.currency });
    if (estimate) costs.push(estimate.cost_minor);
  }
  if (costs.length === 0) return undefined;
  return { min: BigInt(Math.min(...costs)), max: BigInt(Math.max(...costs)) };
}

function lineFees(line: ReportLine): bigint {
  return BigInt(line.interchange) + BigInt(line.scheme_fees) + BigInt(line.markup) + BigInt(line.commission);
}

/** How a converted line's amounts relate: its rate and the two currencies' exponents. */
interface Conversion {
  rate: DecimalRate;
  gross_exponent: number;
  net_exponent: number;
}

/** Parsed conversions by `rate|gross currency|net currency` (a report repeats a few rates over many
 *  lines), or null when the rate or a currency cannot be read. Bounded: cleared when full. */
const conversions = new Map<string, Conversion | null>();
const conversionsKeptMax = 4_096;

function conversionOf(line: ReportLine): Conversion | undefined {
  const key = `${line.exchange_rate}|${line.currency}|${line.net_currency}`;
  let conversion = conversions.get(key);
  if (conversion === undefined) {
    const rate = parseDecimalRate(line.exchange_rate);
    const gross = findCurrency(line.currency);
    const net = findCurrency(line.net_currency);
    conversion = rate && gross && net && gross.code === line.currency && net.code === line.net_currency
      ? { rate, gross_exponent: gross.exponent, net_exponent: net.exponent } : null;
    if (conversions.size >= conversionsKeptMax) conversions.clear();
    conversions.set(key, conversion);
  }
  return conversion ?? undefined;
}

/** Net-currency fees back in the gross currency at the line's rate (pricing and the fee model are in the payment's currency). */
function inGrossCurrency(amount: bigint, conversion: Conversion | undefined): bigint {
  return conversion ? convertBackAtRate(amount, conversion.rate, conversion.gross_exponent, conversion.net_exponent) : amount;
}

/** The interchange and scheme fees a line passes through (IC++), in its gross currency: a converted
 *  line's are converted back at its rate. */
export function passThroughFees(line: ReportLine): { interchange: bigint; scheme_fees: bigint } {
  const conversion = line.net_currency !== line.currency ? conversionOf(line) : undefined;
  return { interchange: inGrossCurrency(BigInt(line.interchange), conversion), scheme_fees: inGrossCurrency(BigInt(line.scheme_fees), conversion) };
}

export function bookingOf(line: ReportLine, channel: string, merchant_id: string | null, expected: bigint, merchant_amount: bigint, merchant_fee: bigint, residual_to: LineBooking["residual_to"]): LineBooking {
  return {
    channel, currency: line.currency, net_currency: line.net_currency, merchant_id, gross: BigInt(line.gross), net: BigInt(line.net),
    interchange: BigInt(line.interchange), scheme_fees: BigInt(line.scheme_fees), markup: BigInt(line.markup), commission: BigInt(line.commission),
    expected, merchant_amount, merchant_fee, residual_to,
  };
}

export async function matchLines(
  db: Queryable, input: { channel: string; file_id: string; terms: SettlementTerms; fees: FeeModel; lines: readonly ReportLine[]; batchIdOf: (line: ReportLine) => string },
): Promise<MatchOutcome> {
  const { channel, file_id, terms } = input;
  const facts = await gatherFacts(db, channel, input.lines);
  const merchants = new Set<string>();
  for (const fact of facts.captures.values()) merchants.add(fact.merchant_id);
  for (const fact of facts.capturesByChannelRef.values()) merchants.add(fact.merchant_id);
  const pricing = await pricingOf(db, merchants);
  const seen = new Set(facts.alreadyMatched);
  const outcome: MatchOutcome = { rows: [], exceptions: [], bookings: [], settled_attempts: [] };
  const sums = new Map<string, LineBooking>();
  const fx = input.fees.fx;

  for (const line of input.lines) {
    const batch_id = input.batchIdOf(line);
    const subjectOf = (type: string) => `${type}:${file_id}:${line.line}`;
    const base = { channel, file_id, line: line.line, batch_id, reference: line.merchant_reference ?? line.channel_reference, currency: line.currency };
    const candidate = candidateFor(line, channel, facts);
    const row: LineRow = {
      line, batch_id, status: "exception", match_kind: candidate?.kind ?? null, match_id: candidate?.id ?? null,
      payment_id: candidate?.payment_id ?? null, merchant_id: candidate?.merchant_id ?? null, expected: candidate?.expected ?? null,
      merchant_fee: 0n, pricing_version: null, booked: false,
    };
    outcome.rows.push(row);
    if (!candidate) {
      outcome.exceptions.push({ ...base, type: "missing_in_corridor", subject: subjectOf("missing_in_corridor"), reported_amount: BigInt(line.gross),
        details: { line_type: line.type, merchant_reference: line.merchant_reference, channel_reference: line.channel_reference, batch_number: line.batch_number } });
      continue;
    }
    const ids = { payment_id: candidate.payment_id, merchant_id: candidate.merchant_id, attempt_id: candidate.capture?.attempt_id ?? null };
    const key = `${candidate.kind}:${candidate.id}`;
    if (candidate.kind !== "fee" && seen.has(key)) {
      row.match_kind = null; // the first line keeps the match
      outcome.exceptions.push({ ...base, ...ids, type: "duplicate_line", subject: subjectOf("duplicate_line"), reported_amount: BigInt(line.gross),
        details: { line_type: line.type, duplicates: key, batch_number: line.batch_number } });
      continue;
    }
    seen.add(key);
    // The capture is in a report now (matched, or carried by this line's own exception): an earlier
    // missing_in_report closes, so that it cannot be resolved (and booked) a second time.
    if (candidate.capture) outcome.settled_attempts.push(candidate.capture.attempt_id);
    const converted = line.net_currency !== line.currency;
    const conversion = converted ? conversionOf(line) : undefined;
    if (line.currency !== candidate.currency || (converted && !conversion)) {
      outcome.exceptions.push({ ...base, ...ids, type: "currency_mismatch", subject: subjectOf("currency_mismatch"), expected_amount: candidate.expected, reported_amount: BigInt(line.gross),
        details: { expected_currency: candidate.currency, reported_currency: line.currency, net_currency: line.net_currency, ...(converted ? { exchange_rate: line.exchange_rate } : {}) } });
      continue;
    }
    const difference = BigInt(line.gross) - candidate.expected;
    if ((difference < 0n ? -difference : difference) > BigInt(terms.amount_tolerance_minor)) {
      outcome.exceptions.push({ ...base, ...ids, type: "amount_mismatch", subject: subjectOf("amount_mismatch"), expected_amount: candidate.expected, reported_amount: BigInt(line.gross),
        details: { difference: difference.toString(), tolerance_minor: terms.amount_tolerance_minor, line_type: line.type, ...(converted ? { exchange_rate: line.exchange_rate, net_currency: line.net_currency } : {}) } });
      continue;
    }
    if (conversion) {
      // The gross at the line's rate less its fees, in the net currency, against the reported net.
      const convertedGross = convertAtRate(BigInt(line.gross), conversion.rate, conversion.gross_exponent, conversion.net_exponent);
      const expectedNet = convertedGross - lineFees(line);
      const netDifference = BigInt(line.net) - expectedNet;
      const tolerance = terms.amount_tolerance_minor + terms.fx_rounding_minor;
      if ((netDifference < 0n ? -netDifference : netDifference) > BigInt(tolerance)) {
        outcome.exceptions.push({ ...base, ...ids, type: "amount_mismatch", subject: subjectOf("amount_mismatch"), expected_amount: candidate.expected, reported_amount: BigInt(line.gross),
          details: { line_type: line.type, exchange_rate: line.exchange_rate, net_currency: line.net_currency, converted_gross: convertedGross.toString(),
            expected_net: expectedNet.toString(), reported_net: String(line.net), net_difference: netDifference.toString(), tolerance_minor: tolerance } });
        continue;
      }
    }
    row.status = "matched";
    row.booked = true;
    const merchantPricing = candidate.kind === "capture" ? pricing.get(candidate.merchant_id) : undefined;
    row.merchant_fee = merchantFee(merchantPricing, {
      gross: candidate.expected, currency: line.currency,
      interchange: inGrossCurrency(BigInt(line.interchange), conversion), scheme_fees: inGrossCurrency(BigInt(line.scheme_fees), conversion),
    }, fx);
    row.pricing_version = merchantPricing?.version ?? null;
    const merchantAmount = candidate.kind === "fee" ? 0n : candidate.expected;
    addBooking(sums, bookingOf(line, channel, candidate.kind === "fee" ? null : candidate.merchant_id, candidate.expected, merchantAmount, row.merchant_fee, "rounding"));
    if (candidate.capture) {
      const range = feeRange(input.fees, channel, candidate.capture);
      const actual = inGrossCurrency(lineFees(line), conversion);
      const tolerance = BigInt(terms.fee_tolerance_minor) + (BigInt(line.gross) * BigInt(terms.fee_tolerance_bps)) / 10_000n;
      if (range && (actual < range.min - tolerance || actual > range.max + tolerance)) {
        outcome.exceptions.push({ ...base, ...ids, type: "fee_mismatch", subject: subjectOf("fee_mismatch"),
          expected_amount: range.max, reported_amount: actual,
          details: { fee_model_min: range.min.toString(), fee_model_max: range.max.toString(), tolerance_minor: tolerance.toString(),
            interchange: line.interchange, scheme_fees: line.scheme_fees, markup: line.markup, commission: line.commission,
            // A converted line's fees are in its net currency; the range and the reported total above are in the payment's.
            ...(conversion ? { net_currency: line.net_currency, exchange_rate: line.exchange_rate } : {}) } });
      }
    }
  }
  outcome.bookings = [...sums.values()];
  return outcome;
}

/** Adds bookings into sums kept per channel, currency, merchant and residual target. */
export function mergeBookings(sums: Map<string, LineBooking>, items: readonly LineBooking[]): void {
  for (const item of items) addBooking(sums, item);
}

function addBooking(sums: Map<string, LineBooking>, item: LineBooking): void {
  const key = `${item.channel}|${item.currency}|${item.net_currency ?? item.currency}|${item.merchant_id}|${item.residual_to}`;
  const sum = sums.get(key);
  if (!sum) return void sums.set(key, { ...item });
  sum.gross += item.gross;
  sum.net += item.net;
  sum.interchange += item.interchange;
  sum.scheme_fees += item.scheme_fees;
  sum.markup += item.markup;
  sum.commission += item.commission;
  sum.expected += item.expected;
  sum.merchant_amount += item.merchant_amount;
  sum.merchant_fee += item.merchant_fee;
}
