// globalpay's settlement desk: its records as money movements, written as its settlement-details
// CSV (./settlement-report.ts). What settles, from globalpay's own records:
//   Settled             a SUCCEEDED capture, or an auto-captured sale (at approval)
//   Refunded            a SUCCEEDED refund
//   Chargeback          a dispute's amount debited while a stage is open or lost, with a Fee row
//                       (the chargeback fee) the first time
//   ChargebackReversed  the amount credited back when a stage is won (debited again if the issuer
//                       escalates and the merchant then loses: each close settles the difference
//                       between the dispute's position and what earlier closes settled)
// Routes (the connector's):
//   GET /settlement/reports?limit=N   [{id, filename, created_at}] the published reports, newest last
//                                     (default 100, at most 1000)
//   GET /settlement/reports/{id}      the CSV (text/csv)
import { chargebackFeeMinor, globalPayCaptureFees, noFees } from "../settlement/fees.ts";
import { listLimit, SettlementDesk, type DeskAdapter, type DeskBatch, type DeskLine, type DeskOptions, type Movement } from "../settlement/desk.ts";
import { jsonResponse, type SandboxRequest, type SandboxResponse } from "../types.ts";
import type { GlobalPayChargebacks, GpDispute } from "./chargebacks.ts";
import type { GlobalPayChannel } from "./channel.ts";
import type { GpOperation, GpRecord } from "./records.ts";
import {
  globalPayPayoutRow, reportTimestamp, writeGlobalPayReport, type GlobalPayReportRow, type GlobalPayRowType,
} from "./settlement-report.ts";

export interface GpLineDetail {
  psp_reference: string;
  modification_reference: string;
  payment_method: string;
}

const rowTypes: Record<DeskLine<GpLineDetail>["type"], GlobalPayRowType> = {
  settled: "Settled", refunded: "Refunded", chargeback: "Chargeback", chargeback_reversal: "ChargebackReversed", fee: "Fee",
};

/** The payout reference of a batch (the bank's idempotency key and the MerchantPayout row's). */
export function globalPayPayoutReference(batch_number: number): string {
  return `GLOBALPAY-STL-${batch_number}`;
}

export function createGlobalPayDesk(channel: GlobalPayChannel, chargebacks: GlobalPayChargebacks, options: DeskOptions): SettlementDesk<GpLineDetail> {
  // What earlier closes settled, remembered on the records themselves (forgotten with them).
  const settledSales = new WeakSet<GpRecord>();
  const settledOperations = new WeakSet<GpOperation>();
  const disputePositions = new WeakMap<GpDispute, bigint>();
  const feesCharged = new WeakSet<GpDispute>();

  const line = (
    type: DeskLine<GpLineDetail>["type"], merchant_reference: string, channel_reference: string, currency: string, gross: bigint,
    at: number, detail: GpLineDetail, fees = noFees,
  ): DeskLine<GpLineDetail> => ({
    type, merchant_reference, channel_reference, currency, gross, fees, at, detail,
    net: gross - fees.interchange - fees.scheme_fees - fees.markup - fees.commission,
  });

  const settledLine = (record: GpRecord, modification: string, value: number, at: number) => {
    const gross = BigInt(value);
    const network = record.network ?? "unknown";
    return line("settled", record.merchant_reference, record.id, record.amount.currency, gross, at,
      { psp_reference: record.id, modification_reference: modification, payment_method: network },
      globalPayCaptureFees(gross, record.amount.currency, network));
  };

  const recordMovements = (record: GpRecord, out: Movement<GpLineDetail>[]) => {
    if (record.auto_capture && record.captured_at && !settledSales.has(record)) {
      const at = Date.parse(record.captured_at);
      out.push({ at, lines: [settledLine(record, record.id, record.captured_value, at)], commit: () => settledSales.add(record) });
    }
    for (const operation of record.operations) {
      if (operation.status !== "SUCCEEDED" || operation.type === "cancellation" || settledOperations.has(operation)) continue;
      const at = Date.parse(operation.created_at);
      const commit = () => settledOperations.add(operation);
      if (operation.type === "capture") {
        out.push({ at, lines: [settledLine(record, operation.id, operation.amount.value, at)], commit });
      } else {
        const detail = { psp_reference: record.id, modification_reference: operation.id, payment_method: record.network ?? "unknown" };
        out.push({ at, lines: [line("refunded", operation.merchant_reference, operation.id, operation.amount.currency, -BigInt(operation.amount.value), at, detail)], commit });
      }
    }
  };

  const disputeMovement = (dispute: GpDispute): Movement<GpLineDetail> | undefined => {
    const settled = disputePositions.get(dispute) ?? 0n;
    const target = dispute.status === "WON" ? 0n : -BigInt(dispute.amount.value);
    if (target === settled) return undefined;
    const first = !feesCharged.has(dispute);
    const at = Date.parse(first ? dispute.created_at : dispute.updated_at);
    const currency = dispute.amount.currency;
    const detail = { psp_reference: dispute.authorization_id, modification_reference: dispute.id, payment_method: dispute.network };
    const lines = [line(target < settled ? "chargeback" : "chargeback_reversal", dispute.merchant_reference, dispute.id, currency, target - settled, at, detail)];
    if (first) {
      const fee = chargebackFeeMinor(currency);
      lines.push(line("fee", dispute.merchant_reference, dispute.id, currency, 0n, at, detail, { ...noFees, commission: fee }));
    }
    return {
      at, lines,
      commit: () => {
        disputePositions.set(dispute, target);
        feesCharged.add(dispute);
      },
    };
  };

  const adapter: DeskAdapter<GpLineDetail> = {
    channel: "globalpay",
    // A close may settle a captured currency in another (settle_in): Gross Currency stays the
    // captured one, Net Currency, the fees and the payout are the settlement currency's.
    converts: true,
    movements() {
      const out: Movement<GpLineDetail>[] = [];
      for (const record of channel.allRecords()) recordMovements(record, out);
      for (const dispute of chargebacks.all()) {
        const movement = disputeMovement(dispute);
        if (movement) out.push(movement);
      }
      return out;
    },
    toIso: (_currency, amount) => amount,
    fromIso: (_currency, amount) => amount,
    fee_field: "markup",
    naming: (first) => ({ id: `gpstl_${first}`, filename: `settlement_detail_report_batch_${first}.csv` }),
    render: ({ created_at, batches }) => writeGlobalPayReport(batches.flatMap((batch) => batchRows(batch, created_at))),
  };
  return new SettlementDesk(adapter, options);
}

function batchRows(batch: DeskBatch<GpLineDetail>, created_at: Date): GlobalPayReportRow[] {
  const rows = batch.lines.map((line): GlobalPayReportRow => ({
    psp_reference: line.detail.psp_reference, merchant_reference: line.merchant_reference, payment_method: line.detail.payment_method,
    creation_date: reportTimestamp(line.at), type: rowTypes[line.type], modification_reference: line.detail.modification_reference,
    gross_currency: line.currency, gross: line.gross, net_currency: line.settlement?.currency ?? line.currency, net: line.net,
    ...(line.settlement ? { exchange_rate: line.settlement.exchange_rate } : {}),
    commission: line.fees.commission, markup: line.fees.markup, scheme_fees: line.fees.scheme_fees, interchange: line.fees.interchange,
    batch_number: batch.batch_number,
  }));
  rows.push(globalPayPayoutRow({
    rows, batch_number: batch.batch_number, currency: batch.currency, creation_date: reportTimestamp(created_at),
    reference: globalPayPayoutReference(batch.batch_number),
  }));
  return rows;
}

const reportPath = /^\/settlement\/reports\/([^/]+)$/;

/** The connector-facing settlement routes; undefined for any other path. */
export function globalPaySettlementRoute(desk: SettlementDesk<GpLineDetail>, request: SandboxRequest): SandboxResponse | undefined {
  if (request.path === "/settlement/reports") {
    if (request.method !== "GET") return gpError(405, "METHOD_NOT_ALLOWED", "GET the list of reports");
    const limit = listLimit(request.query.limit);
    if (limit === undefined) return gpError(400, "INVALID_REQUEST", "limit is an integer from 1 to 1000");
    return jsonResponse(200, desk.listPublished(limit).map(({ id, filename, created_at }) => ({ id, filename, created_at })));
  }
  const match = reportPath.exec(request.path);
  if (!match) return undefined;
  if (request.method !== "GET") return gpError(405, "METHOD_NOT_ALLOWED", "GET a report");
  const report = desk.findPublished(decodeURIComponent(match[1]));
  if (!report) return gpError(404, "NOT_FOUND", "no such report");
  return { status: 200, headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${report.filename}"` }, body: report.body };
}

function gpError(status: number, code: string, message: string): SandboxResponse {
  return jsonResponse(status, { error: { code, message } });
}
