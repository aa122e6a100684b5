// globalpay's settlement report: a "settlement details" CSV on the model of Adyen's Settlement
// details report. RFC 4180 CSV, comma-separated, "\n" line ends, UTF-8 without BOM, one header row
// then one row per line, fields quoted with double quotes (inner quotes doubled) when they contain a
// comma, a quote, CR or LF. Columns, in this order (a reader finds them by header name):
//
//   Company Account         globalpay's company account of the platform ("CorridorCOM")
//   Merchant Account        the merchant account the line belongs to ("CorridorECOM")
//   Psp Reference           globalpay's authorization id (gp_auth_…); empty on MerchantPayout rows
//   Merchant Reference      our reference: the authorization's merchant_reference (Corridor's attempt
//                           id) on Settled, Chargeback, ChargebackReversed and Fee rows, the refund
//                           operation's merchant_reference (Corridor's refund id) on Refunded rows;
//                           empty on MerchantPayout rows
//   Payment Method          the card network (visa, mastercard, amex, discover, jcb, unknown)
//   Creation Date           when the money moved, "YYYY-MM-DD HH:MM:SS"
//   TimeZone                "UTC" (the only zone globalpay writes)
//   Type                    Settled | Refunded | Chargeback | ChargebackReversed | Fee | MerchantPayout
//   Modification Reference  the modification's own id: the capture (gp_cap_…, the authorization id for
//                           an auto-captured sale), the refund (gp_ref_…), the dispute (gp_dsp_…) on
//                           Chargeback, ChargebackReversed and the chargeback's Fee row; on
//                           MerchantPayout rows the payout reference (GLOBALPAY-STL-<batch>)
//   Gross Currency          ISO 4217 alphabetic code
//   Gross Debit (GC)        money taken from the merchant (refunds, chargebacks), decimal
//   Gross Credit (GC)       money paid to the merchant (captures, chargeback reversals), decimal
//   Exchange Rate           "1" when the line settles in its gross currency; when globalpay converted it
//                           (a close with settle_in, ../settlement/conversion.ts), units of the Net
//                           Currency per unit of the Gross Currency as a decimal ("1.0870" USD per EUR)
//   Net Currency            ISO 4217 alphabetic code: the Gross Currency, or the settlement currency it
//                           was converted into (the fees and the batch's payout are in it too)
//   Net Debit (NC)          a negative net, as a positive decimal; on MerchantPayout rows the batch's
//                           net total (the sum of its other rows' nets)
//   Net Credit (NC)         a positive net; on MerchantPayout rows a negative batch total
//   Commission (NC)         always 0.00 on transaction rows (IC++ pricing); the fee on Fee rows
//   Markup (NC)             globalpay's markup (the percentage above interchange and scheme fees, plus
//                           the fixed fee); see ../settlement/fees.ts
//   Scheme Fees (NC)        card scheme fees passed through
//   Interchange (NC)        interchange passed through
//   Batch Number            the settlement batch (one per currency and close), an integer
//
// Amounts are unsigned decimal major units with exactly the currency's ISO 4217 exponent digits
// (12.34 EUR, 1234 JPY, 1.234 KWD); at most one of a Debit/Credit pair is filled, an empty pair is
// zero. Every row in its gross currency satisfies net = gross credit − gross debit − (commission +
// markup + scheme fees + interchange); a converted row's net is its gross × Exchange Rate (rounded
// half-even to the net currency's exponent) less those fees, each fee converted the same way. Each batch ends with one MerchantPayout row (gross columns empty, no fees) whose
// Net Debit is the batch's net total, the amount paid to the platform's bank account.
import { findCurrency } from "../../money/currency.ts";
import { formatMinor } from "../settlement/money.ts";

export const GLOBALPAY_REPORT_COLUMNS = [
  "Company Account", "Merchant Account", "Psp Reference", "Merchant Reference", "Payment Method", "Creation Date", "TimeZone", "Type",
  "Modification Reference", "Gross Currency", "Gross Debit (GC)", "Gross Credit (GC)", "Exchange Rate", "Net Currency", "Net Debit (NC)",
  "Net Credit (NC)", "Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)", "Batch Number",
] as const;

export type GlobalPayRowType = "Settled" | "Refunded" | "Chargeback" | "ChargebackReversed" | "Fee" | "MerchantPayout";

export const GLOBALPAY_COMPANY_ACCOUNT = "CorridorCOM";
export const GLOBALPAY_MERCHANT_ACCOUNT = "CorridorECOM";

/** One row, amounts signed integer minor units (ISO 4217 exponent). */
export interface GlobalPayReportRow {
  company_account?: string;
  merchant_account?: string;
  psp_reference: string;
  merchant_reference: string;
  payment_method: string;
  /** "YYYY-MM-DD HH:MM:SS", UTC. */
  creation_date: string;
  timezone?: string;
  type: GlobalPayRowType;
  modification_reference: string;
  gross_currency: string;
  /** Signed: > 0 written as Gross Credit, < 0 as Gross Debit. */
  gross: bigint | number;
  exchange_rate?: string;
  net_currency: string;
  /** Signed: > 0 written as Net Credit, < 0 as Net Debit (MerchantPayout: −batch total). */
  net: bigint | number;
  commission: bigint | number;
  markup: bigint | number;
  scheme_fees: bigint | number;
  interchange: bigint | number;
  batch_number: string | number;
}

const needsQuotes = /[",\r\n]/;

export function csvField(value: string): string {
  return needsQuotes.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const exponents = new Map<string, number>();

function exponentOf(currency: string): number {
  let exponent = exponents.get(currency);
  if (exponent === undefined) {
    const iso = findCurrency(currency);
    if (!iso || iso.code !== currency) throw new Error(`programmer error: ${currency} is not an ISO 4217 code`);
    exponent = iso.exponent;
    exponents.set(currency, exponent);
  }
  return exponent;
}

function signedPair(amount: bigint, exponent: number): [debit: string, credit: string] {
  if (amount === 0n) return ["", ""];
  return amount < 0n ? [formatMinor(-amount, exponent), ""] : ["", formatMinor(amount, exponent)];
}

function fee(amount: bigint | number, exponent: number): string {
  return formatMinor(BigInt(amount), exponent);
}

export function globalPayRowCsv(row: GlobalPayReportRow): string {
  const grossExponent = exponentOf(row.gross_currency);
  const netExponent = exponentOf(row.net_currency);
  const [grossDebit, grossCredit] = signedPair(BigInt(row.gross), grossExponent);
  const [netDebit, netCredit] = signedPair(BigInt(row.net), netExponent);
  const payout = row.type === "MerchantPayout";
  return [
    csvField(row.company_account ?? GLOBALPAY_COMPANY_ACCOUNT), csvField(row.merchant_account ?? GLOBALPAY_MERCHANT_ACCOUNT),
    csvField(row.psp_reference), csvField(row.merchant_reference), csvField(row.payment_method), row.creation_date,
    csvField(row.timezone ?? "UTC"), row.type, csvField(row.modification_reference), row.gross_currency, grossDebit, grossCredit,
    row.exchange_rate ?? "1", row.net_currency, netDebit, netCredit,
    payout ? "" : fee(row.commission, netExponent), payout ? "" : fee(row.markup, netExponent),
    payout ? "" : fee(row.scheme_fees, netExponent), payout ? "" : fee(row.interchange, netExponent), String(row.batch_number),
  ].join(",");
}

/** The report as written: the header, then the rows exactly as given (no payout rows added). */
export function writeGlobalPayReport(rows: Iterable<GlobalPayReportRow>): string {
  const out: string[] = [GLOBALPAY_REPORT_COLUMNS.join(",")];
  for (const row of rows) out.push(globalPayRowCsv(row));
  return `${out.join("\n")}\n`;
}

/** The MerchantPayout row of a batch: net = −(the sum of the given rows' nets). */
export function globalPayPayoutRow(input: {
  rows: readonly GlobalPayReportRow[]; batch_number: string | number; currency: string; creation_date: string; reference: string;
}): GlobalPayReportRow {
  let total = 0n;
  for (const row of input.rows) total += BigInt(row.net);
  return {
    psp_reference: "", merchant_reference: "", payment_method: "", creation_date: input.creation_date, type: "MerchantPayout",
    modification_reference: input.reference, gross_currency: input.currency, gross: 0, net_currency: input.currency, net: -total,
    commission: 0, markup: 0, scheme_fees: 0, interchange: 0, batch_number: input.batch_number,
  };
}

/** "YYYY-MM-DD HH:MM:SS" of an instant, UTC. */
export function reportTimestamp(at: Date | number): string {
  return new Date(at).toISOString().slice(0, 19).replace("T", " ");
}
