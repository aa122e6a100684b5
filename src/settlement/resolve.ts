// An operator resolves an exception: the adjusting ledger transfers are posted in the same
// transaction that closes it, with who and why. What each action means, per type:
//   amount_mismatch (line)   accept_reported: the channel's figure stands, the merchant bears the difference
//                            write_off: the merchant keeps Corridor's amount, the platform writes the difference off
//   amount_mismatch (credit) accept_reported | write_off: the batches count as funded, the difference written off
//   currency_mismatch        write_off: the line booked as reported and Corridor's receivable written off; the merchant keeps its amount
//   missing_in_corridor      match {payment}: the line is the payment's capture after all (amounts must agree)
//                            write_off: what the channel paid for it is booked and written off
//   duplicate_line           write_off: the second payment is booked and written off (owed back to the channel)
//   missing_in_report        write_off: the platform absorbs it and the merchant is settled
//   (a capture)              accept_reported: the channel never settled it; the merchant's funds are reversed
//   missing_in_report        write_off: the merchant bears the refund as if its line had come; the receivable
//   (a refund)                 the channel never took back is written off (a credit to write-offs)
//                            accept_reported: the channel never took it back; the refund's amount goes back
//                              to the merchant's pending funds
//                            (both book the negative expected amount like the capture's; match has no line to
//                            match; refused while a line carries the refund: the next run closes it instead)
//   unfunded_batch           write_off: the batch's net is written off from bank in transit
//   fee_mismatch             accept_reported | write_off: fees were booked as reported; closes it
//   unmatched_bank_credit    write_off: booked to the bank account against write-offs (a gain to investigate)
import { capturesByChannelReference, type CaptureFact } from "../payments/settlement-facts.ts";
import { toBigInt, toSafeNumber, type Tx } from "../store/db.ts";
import { bookAdjustment, bookFunding, bookLines, ledgerAccount, platformOwner, type LineBooking } from "./bookings.ts";
import type { SettlementContext } from "./context.ts";
import { closeBySubject, findException, missingRefundOf, type ExceptionRecord } from "./exceptions.ts";
import { bookingOf, passThroughFees } from "./matching.ts";
import { merchantFee, pricingOf } from "./pricing.ts";
import type { ReportLine } from "./report.ts";

export type ResolveAction = "accept_reported" | "write_off" | "match";

export interface ResolveInput {
  action: ResolveAction;
  payment?: string;
  note: string;
  operator: string;
}

export type ResolveFailure = { status: 400 | 404; code: string; message: string; param?: string };

const allowed: Record<string, readonly ResolveAction[]> = {
  amount_mismatch: ["accept_reported", "write_off"],
  currency_mismatch: ["write_off"],
  missing_in_corridor: ["match", "write_off"],
  duplicate_line: ["write_off"],
  missing_in_report: ["write_off", "accept_reported"],
  unfunded_batch: ["write_off"],
  fee_mismatch: ["accept_reported", "write_off"],
  unmatched_bank_credit: ["write_off"],
};

type Row = Record<string, unknown>;

function reportLineOf(row: Row): ReportLine {
  const n = (key: string) => toSafeNumber(row[key]);
  return {
    line: n("line"), batch_number: "", type: row.type as ReportLine["type"], merchant_reference: (row.merchant_reference as string) ?? null,
    channel_reference: (row.channel_reference as string) ?? null, booking_date: row.booking_date as string, currency: row.currency as string,
    gross: n("gross"), net_currency: row.net_currency as string, net: n("net"), exchange_rate: row.exchange_rate as string,
    interchange: n("interchange"), scheme_fees: n("scheme_fees"), markup: n("markup"), commission: n("commission"),
  };
}

/** A line as booked in its net currency: a converted line's gross there is its net plus its fees. */
function inNetCurrency(line: ReportLine): ReportLine {
  if (line.net_currency === line.currency) return line;
  return { ...line, currency: line.net_currency, gross: line.net + line.interchange + line.scheme_fees + line.markup + line.commission };
}

async function lineRow(tx: Tx, exception: ExceptionRecord): Promise<Row | undefined> {
  if (!exception.file_id || exception.line === null) return undefined;
  return tx.get<Row>(`SELECT * FROM settlement_lines WHERE file_id = ? AND line = ? ${tx.forUpdate}`, [exception.file_id, exception.line]);
}

async function markLine(tx: Tx, row: Row, update: { merchant_fee?: bigint; pricing_version?: number | null; match?: CaptureFact }): Promise<void> {
  await tx.run(
    `UPDATE settlement_lines SET status = 'resolved', booked = 1, merchant_fee = ?, pricing_version = ?,
       match_kind = COALESCE(?, match_kind), match_id = COALESCE(?, match_id), payment_id = COALESCE(?, payment_id),
       merchant_id = COALESCE(?, merchant_id), expected_amount = COALESCE(?, expected_amount)
     WHERE file_id = ? AND line = ?`,
    [update.merchant_fee ?? 0n, update.pricing_version ?? null, update.match ? "capture" : null, update.match?.attempt_id ?? null,
      update.match?.payment_id ?? null, update.match?.merchant_id ?? null, update.match ? update.match.amount : null, row.file_id, row.line],
  );
  await tx.run("UPDATE settlement_batches SET matched_lines = matched_lines + 1 WHERE id = ?", [row.batch_id]);
}

async function pricedFee(tx: Tx, s: SettlementContext, merchant_id: string, line: ReportLine, expected: bigint) {
  const pricing = (await pricingOf(tx, [merchant_id])).get(merchant_id);
  const fee = line.type === "settled" ? merchantFee(pricing, { gross: expected, currency: line.currency, ...passThroughFees(line) }, s.fees().fx) : 0n;
  return { fee, version: pricing?.version ?? null };
}

async function resolveLine(tx: Tx, s: SettlementContext, exception: ExceptionRecord, input: ResolveInput): Promise<ResolveFailure | undefined> {
  const row = await lineRow(tx, exception);
  if (!row || row.status !== "exception") return { status: 400, code: "exception_not_resolvable", message: "The line of this exception is no longer open." };
  const line = reportLineOf(row);
  const channel = exception.channel;
  const expected = row.expected_amount === null ? null : toBigInt(row.expected_amount);
  const merchant_id = (row.merchant_id as string) ?? null;
  const bookings: LineBooking[] = [];
  let match: CaptureFact | undefined;
  let merchant_fee = 0n;
  let pricing_version: number | null = null;
  switch (exception.type) {
    case "amount_mismatch": {
      if (expected === null || merchant_id === null) throw new Error("programmer error: an amount mismatch without Corridor's amount");
      const merchantAmount = input.action === "accept_reported" ? BigInt(line.gross) : expected;
      ({ fee: merchant_fee, version: pricing_version } = await pricedFee(tx, s, merchant_id, line, merchantAmount));
      bookings.push(bookingOf(line, channel, merchant_id, expected, merchantAmount, merchant_fee, input.action === "accept_reported" ? "merchant" : "write_off"));
      break;
    }
    case "currency_mismatch": {
      bookings.push(bookingOf(inNetCurrency(line), channel, null, 0n, 0n, 0n, "write_off"));
      if (expected !== null && merchant_id !== null && exception.details.expected_currency) {
        const currency = exception.details.expected_currency as string;
        bookings.push({ channel, currency, merchant_id, gross: 0n, net: 0n, interchange: 0n, scheme_fees: 0n, markup: 0n, commission: 0n,
          expected, merchant_amount: expected, merchant_fee: 0n, residual_to: "write_off" });
      }
      break;
    }
    case "duplicate_line":
      bookings.push(bookingOf(inNetCurrency(line), channel, null, 0n, 0n, 0n, "write_off"));
      break;
    case "missing_in_corridor": {
      if (input.action === "write_off") {
        bookings.push(bookingOf(inNetCurrency(line), channel, null, 0n, 0n, 0n, "write_off"));
        break;
      }
      const failure = await matchToPayment(tx, s, exception, line, input);
      if ("status" in failure) return failure;
      match = failure.capture;
      ({ fee: merchant_fee, version: pricing_version } = await pricedFee(tx, s, match.merchant_id, line, BigInt(match.amount)));
      bookings.push(bookingOf(line, channel, match.merchant_id, BigInt(match.amount), BigInt(match.amount), merchant_fee, "rounding"));
      break;
    }
    default:
      throw new Error(`programmer error: ${exception.type} is not a line exception`);
  }
  await bookLines(tx, bookings, exception.id);
  await markLine(tx, row, { merchant_fee, pricing_version, match });
  // The capture reported missing is settled by this line now: that exception must not book it again.
  if (match) await closeBySubject(tx, `missing_in_report:${match.attempt_id}`, { action: "matched_late", settlement_file: row.file_id, by: input.operator }, Date.now());
  return undefined;
}

async function matchToPayment(tx: Tx, s: SettlementContext, exception: ExceptionRecord, line: ReportLine, input: ResolveInput): Promise<ResolveFailure | { capture: CaptureFact }> {
  if (!input.payment) return { status: 400, code: "parameter_missing", message: "Matching a line needs the payment it belongs to.", param: "payment" };
  if (line.type !== "settled") return { status: 400, code: "exception_not_resolvable", message: "Only settled lines can be matched to a payment." };
  const attempts = await tx.all<{ id: string; channel_reference: string | null }>(
    "SELECT id, channel_reference FROM attempts WHERE payment_id = ? AND channel = ?", [input.payment, exception.channel]);
  const facts = await capturesByChannelReference(tx, exception.channel, attempts.map((attempt) => attempt.channel_reference).filter((ref): ref is string => ref !== null));
  const capture = [...facts.values()][0];
  if (!capture) return { status: 400, code: "payment_not_matchable", message: `Payment '${input.payment}' has no capture on ${exception.channel}.`, param: "payment" };
  const taken = await tx.get("SELECT line FROM settlement_lines WHERE match_kind = 'capture' AND match_id = ?", [capture.attempt_id])
    ?? (await tx.get("SELECT id FROM reconciliation_exceptions WHERE subject = ? AND status = 'resolved'", [`missing_in_report:${capture.attempt_id}`]));
  if (taken) return { status: 400, code: "payment_not_matchable", message: `The capture of payment '${input.payment}' is already settled by another line.`, param: "payment" };
  const difference = BigInt(line.gross) - BigInt(capture.amount);
  const tolerance = BigInt(s.channels.get(exception.channel)?.terms.amount_tolerance_minor ?? 0);
  if (line.currency !== capture.currency || line.net_currency !== line.currency || (difference < 0n ? -difference : difference) > tolerance) {
    return { status: 400, code: "payment_not_matchable", message: `The line (${line.gross} ${line.currency}) does not agree with payment '${input.payment}' (${capture.amount} ${capture.currency}).`, param: "payment" };
  }
  return { capture };
}

async function resolveOther(tx: Tx, exception: ExceptionRecord, input: ResolveInput): Promise<ResolveFailure | undefined> {
  const channel = exception.channel;
  const amount = toBigInt(exception.expected_amount ?? exception.reported_amount ?? 0);
  const currency = exception.currency!;
  switch (exception.type) {
    case "missing_in_report": {
      const merchant_id = exception.merchant_id;
      if (merchant_id === null) throw new Error("programmer error: a missing capture or refund without its merchant");
      const refund_id = missingRefundOf(exception);
      if (refund_id !== null) {
        const line = await tx.get<{ file_id: string }>("SELECT file_id FROM settlement_lines WHERE match_kind = 'refund' AND match_id = ? LIMIT 1", [refund_id]);
        if (line) return { status: 400, code: "exception_not_resolvable", message: `Refund '${refund_id}' is in settlement file ${line.file_id} now: the next reconciliation run closes this exception.` };
      }
      // A refund's expected amount is negative: the same booking gives its money back from the receivable.
      const settle = input.action === "write_off";
      await bookLines(tx, [{ channel, currency, merchant_id, gross: 0n, net: 0n, interchange: 0n, scheme_fees: 0n, markup: 0n, commission: 0n,
        expected: amount, merchant_amount: settle ? amount : 0n, merchant_fee: 0n, residual_to: settle ? "write_off" : "merchant" }], exception.id);
      // A line that carries the refund later is booked by its import: the next run posts these transfers back then.
      if (refund_id !== null) {
        await tx.run("INSERT INTO refunds_resolved_without_line (refund_id, exception_id, channel, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (refund_id) DO NOTHING",
          [refund_id, exception.id, channel, Date.now()]);
      }
      return undefined;
    }
    case "unfunded_batch": {
      const funded = await tx.run("UPDATE settlement_batches SET funded_by = ?, funded_ms = ? WHERE id = ? AND funded_by IS NULL", [exception.id, Date.now(), exception.batch_id]);
      if (funded.changes !== 1) return { status: 400, code: "exception_not_resolvable", message: "The batch has been funded meanwhile." };
      await bookAdjustment(tx, { debit: ledgerAccount(channel, currency, "settlement_write_offs"), credit: ledgerAccount(channel, currency, "bank_in_transit"), amount, code: "settlement_write_off", ref: exception.id });
      return undefined;
    }
    case "fee_mismatch":
      return undefined;
    case "unmatched_bank_credit": {
      const entry = await tx.run("UPDATE bank_statement_entries SET status = 'resolved' WHERE id = ? AND status = 'unmatched'", [exception.entry_id]);
      if (entry.changes !== 1) return { status: 400, code: "exception_not_resolvable", message: "The bank entry has been matched meanwhile." };
      await bookAdjustment(tx, { debit: ledgerAccount(platformOwner, currency, "platform_bank"), credit: ledgerAccount(channel, currency, "settlement_write_offs"), amount, code: "settlement_write_off", ref: exception.id });
      return undefined;
    }
    case "amount_mismatch": {
      // A bank credit that disagrees with the batches it names: they count as funded, the difference written off.
      const entry = await tx.get<{ amount: unknown; status: string; batch_numbers: string; channel: string }>(
        `SELECT amount, status, batch_numbers, channel FROM bank_statement_entries WHERE id = ? ${tx.forUpdate}`, [exception.entry_id]);
      if (!entry || entry.status !== "unmatched") return { status: 400, code: "exception_not_resolvable", message: "The bank entry has been matched meanwhile." };
      const numbers: string[] = JSON.parse(entry.batch_numbers);
      const batches = await tx.all<{ id: string; net: unknown }>(
        `SELECT id, net FROM settlement_batches WHERE channel = ? AND currency = ? AND funded_by IS NULL AND batch_number IN (${numbers.map(() => "?").join(", ")})`,
        [entry.channel, currency, ...numbers]);
      if (batches.length !== numbers.length) return { status: 400, code: "exception_not_resolvable", message: "Some of the batches have been funded meanwhile." };
      const announced = batches.reduce((sum, batch) => sum + toBigInt(batch.net), 0n);
      await tx.run(`UPDATE settlement_batches SET funded_by = ?, funded_ms = ? WHERE id IN (${batches.map(() => "?").join(", ")})`, [exception.entry_id, Date.now(), ...batches.map((batch) => batch.id)]);
      await tx.run("UPDATE bank_statement_entries SET status = 'resolved' WHERE id = ?", [exception.entry_id]);
      const received = toBigInt(entry.amount);
      await bookFunding(tx, { channel, currency, amount: received, announced: received, ref: exception.id });
      await bookAdjustment(tx, { debit: ledgerAccount(channel, currency, "settlement_write_offs"), credit: ledgerAccount(channel, currency, "bank_in_transit"), amount: announced - received, code: "settlement_write_off", ref: exception.id });
      for (const batch of batches) {
        await closeBySubject(tx, `unfunded_batch:${batch.id}`, { action: "funded_late", bank_entry: exception.entry_id, by: input.operator }, Date.now());
      }
      return undefined;
    }
    default:
      throw new Error(`programmer error: no resolution for ${exception.type}`);
  }
}

export async function resolveException(s: SettlementContext, id: string, input: ResolveInput): Promise<{ ok: true; exception: ExceptionRecord } | { ok: false; failure: ResolveFailure }> {
  return s.db.transaction(async (tx) => {
    const exception = await findException(tx, id, tx.forUpdate);
    if (!exception) return { ok: false as const, failure: { status: 404 as const, code: "resource_missing", message: `No such reconciliation exception: '${id}'`, param: "id" } };
    if (exception.status !== "open") return { ok: false as const, failure: { status: 400 as const, code: "exception_already_resolved", message: "This exception is already resolved." } };
    if (!(allowed[exception.type] ?? []).includes(input.action)) {
      return { ok: false as const, failure: { status: 400 as const, code: "invalid_action", param: "action", message: `${exception.type} can be resolved with ${allowed[exception.type].join(" or ")}, not ${input.action}.` } };
    }
    const isLine = exception.entry_id === null && ["amount_mismatch", "currency_mismatch", "duplicate_line", "missing_in_corridor"].includes(exception.type);
    const failure = isLine ? await resolveLine(tx, s, exception, input) : await resolveOther(tx, exception, input);
    if (failure) return { ok: false as const, failure };
    const resolution = { action: input.action, note: input.note, by: input.operator, ...(input.payment ? { payment: input.payment } : {}) };
    const now_ms = Date.now();
    await tx.run("UPDATE reconciliation_exceptions SET status = 'resolved', resolution = ?, resolved_ms = ? WHERE id = ?", [JSON.stringify(resolution), now_ms, id]);
    return { ok: true as const, exception: { ...exception, status: "resolved" as const, resolution, resolved_ms: now_ms } };
  });
}
