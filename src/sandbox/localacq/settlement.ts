// localacq's settlement desk: its transaction log as money movements, written as its fixed-width
// clearing file (./clearing-file.ts). What settles, from localacq's own log:
//   05  an approved sale (0200), or an approved completion (0220) of a pre-authorization
//   06  an approved refund (0200 with DE3 200000)
// Pre-authorizations and reversals move no money. Amounts stay in localacq's own exponent.
// Routes (the connector's):
//   GET /clearing/files?limit=N   {files: [{file_id, file_name, created}]} published, newest last
//                                 (default 100, at most 1000)
//   GET /clearing/files/{file_id} the clearing file (text/plain)
import { currencyByNumeric, findCurrency } from "../../money/currency.ts";
import { localAcqCaptureFees, noFees } from "../settlement/fees.ts";
import { listLimit, SettlementDesk, type DeskAdapter, type DeskLine, type DeskOptions, type Movement } from "../settlement/desk.ts";
import { jsonResponse, type SandboxRequest, type SandboxResponse } from "../types.ts";
import { APPROVED, type LaTransaction, type LocalAcqChannel } from "./channel.ts";
import { clearingDate, writeLocalAcqClearingFile, type ClearingTransactionType } from "./clearing-file.ts";

/** Where localacq's exponent differs from ISO 4217: it counts these without decimals. */
export const LOCALACQ_EXPONENT_OVERRIDES: Readonly<Record<string, number>> = { IDR: 0, HUF: 0 };

export interface LaLineDetail {
  transaction_type: ClearingTransactionType;
  rrn: string;
  auth_rrn: string;
  currency_numeric: string;
  scheme: string;
}

interface LaCurrency {
  code: string;
  numeric: string;
  /** ISO 4217 exponent. */
  iso: number;
  /** localacq's own. */
  channel: number;
}

function laCurrency(iso: { code: string; numeric: string; exponent: number } | undefined): LaCurrency | undefined {
  return iso && { code: iso.code, numeric: iso.numeric, iso: iso.exponent, channel: LOCALACQ_EXPONENT_OVERRIDES[iso.code] ?? iso.exponent };
}

const currencyOf = (numeric: string) => laCurrency(currencyByNumeric(numeric));

function currencyOfCode(code: string): LaCurrency {
  const currency = laCurrency(findCurrency(code));
  if (!currency) throw new Error(`programmer error: unknown currency ${code}`);
  return currency;
}

export function createLocalAcqDesk(channel: LocalAcqChannel, options: DeskOptions): SettlementDesk<LaLineDetail> {
  const settled = new WeakSet<LaTransaction>();

  const movementOf = (transaction: LaTransaction): Movement<LaLineDetail> | undefined => {
    if (transaction.response_code !== APPROVED || settled.has(transaction)) return undefined;
    if (transaction.kind !== "sale" && transaction.kind !== "completion" && transaction.kind !== "refund") return undefined;
    const currency = currencyOf(transaction.currency_numeric);
    if (!currency) return undefined;
    const original = transaction.kind === "sale" ? transaction : channel.findByRrn(transaction.original_rrn ?? "");
    const brand = original?.brand ?? "unknown";
    const at = Date.parse(transaction.created_at);
    const detail: LaLineDetail = {
      transaction_type: transaction.kind === "refund" ? "06" : "05",
      rrn: transaction.rrn, auth_rrn: original?.rrn ?? transaction.original_rrn ?? transaction.rrn, currency_numeric: currency.numeric,
      scheme: brand.toUpperCase().slice(0, 10),
    };
    const amount = BigInt(transaction.amount);
    const line: DeskLine<LaLineDetail> = transaction.kind === "refund"
      ? { type: "refunded", merchant_reference: transaction.reference, channel_reference: transaction.rrn, currency: currency.code,
        gross: -amount, fees: noFees, net: -amount, at, detail }
      : (() => {
        const fees = localAcqCaptureFees(amount, currency.code, currency.channel, brand);
        return { type: "settled" as const, merchant_reference: original?.reference ?? transaction.reference, channel_reference: detail.auth_rrn,
          currency: currency.code, gross: amount, fees, net: amount - fees.commission, at, detail };
      })();
    return { at, lines: [line], commit: () => settled.add(transaction) };
  };

  const adapter: DeskAdapter<LaLineDetail> = {
    channel: "localacq",
    converts: false,
    movements() {
      const out: Movement<LaLineDetail>[] = [];
      for (const transaction of channel.all()) {
        const movement = movementOf(transaction);
        if (movement) out.push(movement);
      }
      return out;
    },
    toIso(code, amount) {
      const { iso, channel: own } = currencyOfCode(code);
      return amount * 10n ** BigInt(iso - own);
    },
    fromIso(code, amount) {
      const { iso, channel: own } = currencyOfCode(code);
      const divisor = 10n ** BigInt(iso - own);
      return amount % divisor === 0n ? amount / divisor : undefined;
    },
    fee_field: "commission",
    naming: (first, created_at) => ({ id: `clr${first}`, filename: `LACQ_CLR_${clearingDate(created_at)}_${first}.txt` }),
    render: ({ created_at, batches }) => writeLocalAcqClearingFile({
      file_id: batches[0].batch_number,
      created_at,
      batches: batches.map((batch) => ({
        batch_number: batch.batch_number,
        currency_numeric: currencyOfCode(batch.currency).numeric,
        details: batch.lines.map((line) => ({
          transaction_type: line.detail.transaction_type, reference: line.merchant_reference, rrn: line.detail.rrn, auth_rrn: line.detail.auth_rrn,
          amount: line.gross, fee: line.fees.commission, transaction_date: clearingDate(line.at), scheme: line.detail.scheme,
        })),
      })),
    }),
  };
  return new SettlementDesk(adapter, options);
}

const filePath = /^\/clearing\/files\/([^/]+)$/;

/** The connector-facing clearing-file routes; undefined for any other path. */
export function localAcqSettlementRoute(desk: SettlementDesk<LaLineDetail>, request: SandboxRequest): SandboxResponse | undefined {
  if (request.path === "/clearing/files") {
    if (request.method !== "GET") return jsonResponse(405, { error: "method_not_allowed", message: "GET the list of clearing files" });
    const limit = listLimit(request.query.limit);
    if (limit === undefined) return jsonResponse(400, { error: "format_error", message: "limit is an integer from 1 to 1000" });
    return jsonResponse(200, { files: desk.listPublished(limit).map(({ id, filename, created_at }) => ({ file_id: id, file_name: filename, created: created_at })) });
  }
  const match = filePath.exec(request.path);
  if (!match) return undefined;
  if (request.method !== "GET") return jsonResponse(405, { error: "method_not_allowed", message: "GET a clearing file" });
  const report = desk.findPublished(decodeURIComponent(match[1]));
  if (!report) return jsonResponse(404, { error: "not_found", file_id: match[1] });
  return { status: 200, headers: { "content-type": "text/plain; charset=us-ascii" }, body: report.body };
}
