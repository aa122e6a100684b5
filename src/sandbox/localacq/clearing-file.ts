// localacq's settlement report: a fixed-width clearing file. Every record is exactly 150 characters
// of printable ASCII followed by "\n" (the last record too). Numeric fields (N) are right-justified
// and zero-filled, text fields (A) left-justified and space-filled, dates YYYYMMDD (UTC), fillers
// spaces; positions below are 1-based. Records, in this order:
//   one header, then per batch its detail records and its batch trailer, then one file trailer.
//
// Header (H)
//   1    1  A  record type "H"
//   2    8  N  record sequence number (= the record's line number in the file, from 1)
//   10  12  N  file id
//   22   8  N  creation date YYYYMMDD
//   30   6  N  creation time HHMMSS
//   36  11  N  acquirer id (localacq's institution id, 00000078901)
//   47   2  N  layout version "01"
//   49 102     filler
// Detail (D): one money movement
//   1    1  A  record type "D"
//   2    8  N  record sequence number
//   10   2  N  transaction type: 05 sale/completion settled, 06 refund, 15 chargeback,
//              16 chargeback reversal, 19 fee (localacq's sandbox writes 05 and 06)
//   12  40  A  our reference (DE48): Corridor's attempt id for 05 (the pre-authorization's
//              reference for a completion), Corridor's refund id for 06
//   52  12  N  RRN (DE37) of the message that moved the money (sale, completion, refund)
//   64  12  N  RRN of the authorization it belongs to (the sale or pre-authorization; for a
//              refund, the authorization it refunds)
//   76   3  N  currency, ISO 4217 numeric
//   79  15  N  amount, unsigned, in localacq's own minor unit of the currency (its exponent is
//              ISO 4217's except IDR and HUF, which localacq counts without decimals)
//   94   1  A  sign of the amount: "C" credit to the merchant (sales), "D" debit (refunds)
//   95  12  N  fee: localacq's blended commission, same unit, always deducted (0 on refunds)
//   107 10  N  batch number
//   117  8  N  transaction date YYYYMMDD
//   125 10  A  card scheme (VISA, MASTERCARD, ELO, RUPAY…)
//   135 16     filler
// Batch trailer (B): closes the batch of the detail records since the previous trailer
//   1    1  A  "B"
//   2    8  N  record sequence number
//   10  10  N  batch number
//   20   3  N  currency, ISO 4217 numeric (one currency per batch)
//   23   8  N  number of the batch's detail records
//   31  15  N  gross total (sum of the signed amounts), unsigned, with its sign at 46 ("C"/"D")
//   47  15  N  fee total
//   62  15  N  net total (gross − fees): the batch's payout to the platform bank, sign at 77
//   78  73     filler
// File trailer (T)
//   1    1  A  "T"
//   2    8  N  record sequence number
//   10   8  N  number of detail records in the file
//   18   6  N  number of batches (batch trailers)
//   24  18  N  hash total: the sum of every detail record's (unsigned) amount field, mod 10^18
//   42 109     filler
// A zero amount is signed "C". Net per detail is amount − fee with the amount's sign applied.

export const CLEARING_RECORD_LENGTH = 150;
export const LOCALACQ_ACQUIRER_ID = "00000078901";
export const CLEARING_LAYOUT_VERSION = "01";
export const HASH_TOTAL_MODULUS = 10n ** 18n;

export type ClearingTransactionType = "05" | "06" | "15" | "16" | "19";

export interface ClearingDetail {
  transaction_type: ClearingTransactionType;
  reference: string;
  rrn: string;
  auth_rrn: string;
  /** Signed, localacq's minor units: > 0 credit ("C"), < 0 debit ("D"). */
  amount: bigint | number;
  /** Non-negative, localacq's minor units. */
  fee: bigint | number;
  /** YYYYMMDD. */
  transaction_date: string;
  scheme: string;
}

export interface ClearingBatch {
  batch_number: number | string;
  /** ISO 4217 numeric. */
  currency_numeric: string;
  details: ClearingDetail[];
}

export interface ClearingFileInput {
  file_id: number | string;
  created_at: Date;
  acquirer_id?: string;
  batches: ClearingBatch[];
  /** Write a trailer after each batch (default true; the layout allows files without them). */
  batch_trailers?: boolean;
}

const printable = /^[\x20-\x7e]*$/;

function numeric(value: bigint | number | string, length: number, name: string): string {
  const text = typeof value === "string" ? value : value.toString();
  if (!/^\d+$/.test(text) || text.length > length) throw new Error(`programmer error: ${name} ${text} does not fit ${length} digits`);
  return text.padStart(length, "0");
}

function text(value: string, length: number, name: string): string {
  if (!printable.test(value) || value.length > length) throw new Error(`programmer error: ${name} must be at most ${length} printable ASCII characters`);
  return value.padEnd(length, " ");
}

function signed(amount: bigint, length: number, name: string): string {
  return `${numeric(amount < 0n ? -amount : amount, length, name)}${amount < 0n ? "D" : "C"}`;
}

function record(parts: string[]): string {
  const line = parts.join("");
  if (line.length > CLEARING_RECORD_LENGTH) throw new Error("programmer error: record longer than the layout");
  return line.padEnd(CLEARING_RECORD_LENGTH, " ");
}

/** YYYYMMDD and HHMMSS of an instant, UTC. */
export function clearingDate(at: Date | number): string {
  return new Date(at).toISOString().slice(0, 10).replaceAll("-", "");
}

function clearingTime(at: Date): string {
  return at.toISOString().slice(11, 19).replaceAll(":", "");
}

export function writeLocalAcqClearingFile(input: ClearingFileInput): string {
  const records: string[] = [];
  const seq = () => numeric(records.length + 1, 8, "record sequence");
  records.push(record(["H", seq(), numeric(input.file_id, 12, "file id"), clearingDate(input.created_at), clearingTime(input.created_at),
    numeric(input.acquirer_id ?? LOCALACQ_ACQUIRER_ID, 11, "acquirer id"), CLEARING_LAYOUT_VERSION]));
  let details = 0;
  let hash = 0n;
  let trailers = 0;
  for (const batch of input.batches) {
    let gross = 0n;
    let fees = 0n;
    for (const detail of batch.details) {
      const amount = BigInt(detail.amount);
      const fee = BigInt(detail.fee);
      records.push(record([
        "D", seq(), detail.transaction_type, text(detail.reference, 40, "reference"), numeric(detail.rrn, 12, "rrn"), numeric(detail.auth_rrn, 12, "auth rrn"),
        numeric(batch.currency_numeric, 3, "currency"), signed(amount, 15, "amount"), numeric(fee, 12, "fee"), numeric(batch.batch_number, 10, "batch number"),
        numeric(detail.transaction_date, 8, "transaction date"), text(detail.scheme, 10, "scheme"),
      ]));
      details += 1;
      hash = (hash + (amount < 0n ? -amount : amount)) % HASH_TOTAL_MODULUS;
      gross += amount;
      fees += fee;
    }
    if (input.batch_trailers === false) continue;
    trailers += 1;
    records.push(record(["B", seq(), numeric(batch.batch_number, 10, "batch number"), numeric(batch.currency_numeric, 3, "currency"),
      numeric(batch.details.length, 8, "detail count"), signed(gross, 15, "gross total"), numeric(fees, 15, "fee total"), signed(gross - fees, 15, "net total")]));
  }
  records.push(record(["T", seq(), numeric(details, 8, "detail count"), numeric(trailers, 6, "batch count"), numeric(hash, 18, "hash total")]));
  return `${records.join("\n")}\n`;
}

