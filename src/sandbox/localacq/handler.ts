// localacq: a "local acquirer" speaking ISO 8583 as JSON. Routes:
//   POST /iso8583                  0100 pre-auth, 0200 sale (DE3 000000) or refund (DE3 200000),
//                                  0220 completion, 0400/0420 reversal. DE90 = original RRN (DE37).
//   GET  /transactions?ref=<DE48>  one transaction (its own inquiry shape)
//   GET  /transactions             every transaction (reconciliation)
//   GET|PUT|DELETE /_sandbox/faults fault mode (see ../faults.ts); localacq sends no notifications
//   GET  /clearing/files[/{id}]    published clearing files (see ./settlement.ts)
//   /_sandbox/settlement/…         settlement closes (see ../settlement/desk.ts); a close also runs
//                                  by itself at each UTC day change
import { DEFAULT_RECORD_CAPACITY } from "../bounded-store.ts";
import { FaultInjector, withFaults, type ChannelFaultProfile } from "../faults.ts";
import { defaultSlowResponseMs } from "../test-cards.ts";
import { delay, jsonResponse, type SandboxHandler, type SandboxOptions, type SandboxRequest, type SandboxResponse } from "../types.ts";
import { LocalAcqChannel, type LaTransaction } from "./channel.ts";
import { parseMessage, responseMti, type IsoFields } from "./messages.ts";
import { createLocalAcqDesk, localAcqSettlementRoute, type LaLineDetail } from "./settlement.ts";
import type { SettlementDesk } from "../settlement/desk.ts";

/** DE39 96, system malfunction: localacq's own "failed, nothing recorded". */
const SYSTEM_MALFUNCTION = "96";

export const localAcqFaultProfile: ChannelFaultProfile = {
  isMoneyCall: (request) => request.method === "POST" && request.path === "/iso8583",
  isInquiry: (request) => request.method === "GET" && request.path === "/transactions" && request.query.ref !== undefined,
  technicalError: (request) => {
    const message = parseMessage(request.body);
    if (!message) return jsonResponse(503, { error: "system_malfunction", message: "temporarily unable to process; nothing was recorded" });
    const fields: IsoFields = { ...message.fields, "39": SYSTEM_MALFUNCTION };
    delete fields["2"];
    delete fields["14"];
    return jsonResponse(503, { mti: responseMti(message.mti), fields });
  },
};

export function createLocalAcqHandler(options: SandboxOptions = {}, faults?: FaultInjector): SandboxHandler {
  const channel = new LocalAcqChannel(options.record_capacity ?? DEFAULT_RECORD_CAPACITY);
  const slow_response_ms = options.slow_response_ms ?? defaultSlowResponseMs();
  const injector = faults ?? new FaultInjector(slow_response_ms, options.faults);
  const desk = createLocalAcqDesk(channel, { bank_url: options.bank_url });
  desk.startAutoClose();
  return withFaults((request) => route(channel, desk, slow_response_ms, request), injector, localAcqFaultProfile);
}

async function route(channel: LocalAcqChannel, desk: SettlementDesk<LaLineDetail>, slow_response_ms: number, request: SandboxRequest): Promise<SandboxResponse> {
  const { method, path } = request;
  const notFound = () => jsonResponse(404, { error: "not_found", message: `no route for ${method} ${path}` });
  if (path.startsWith("/_sandbox/settlement/")) return (await desk.controlRoute(request)) ?? notFound();
  if (path.startsWith("/clearing/")) return localAcqSettlementRoute(desk, request) ?? notFound();
  if (method === "POST" && path === "/iso8583") return exchange(channel, slow_response_ms, request.body);
  if (method === "GET" && path === "/transactions") return inquiry(channel, request.query.ref);
  return jsonResponse(404, { error: "not_found", message: `no route for ${method} ${path}` });
}

async function exchange(channel: LocalAcqChannel, slow_response_ms: number, body: string): Promise<SandboxResponse> {
  const message = parseMessage(body);
  if (!message) return jsonResponse(400, { error: "format_error", message: "expected {mti, fields} with string fields" });
  const result = channel.process(message);
  if (result.kind === "format_error") return jsonResponse(400, result.response);
  const response = jsonResponse(200, result.transaction.response);
  if (result.scenario === "slow_response") await delay(slow_response_ms);
  return response;
}

function inquiry(channel: LocalAcqChannel, reference: string | undefined): SandboxResponse {
  if (reference === undefined) return jsonResponse(200, { transactions: channel.all().map((transaction) => transactionView(channel, transaction)) });
  const transaction = channel.find(reference);
  if (!transaction) return jsonResponse(404, { error: "not_found", ref: reference });
  return jsonResponse(200, { transaction: transactionView(channel, transaction) });
}

function transactionView(channel: LocalAcqChannel, transaction: LaTransaction) {
  return {
    ref: transaction.reference,
    rrn: transaction.rrn,
    type: transaction.kind,
    status: transaction.status,
    amount: transaction.amount,
    currency: transaction.currency_numeric,
    response_code: transaction.response_code,
    auth_code: transaction.auth_code ?? null,
    original_rrn: transaction.original_rrn ?? null,
    captured_amount: transaction.captured_amount,
    refunded_amount: transaction.refunded_amount,
    related: transaction.related.flatMap((reference) => {
      const related = channel.find(reference);
      return related ? [{ ref: related.reference, rrn: related.rrn, type: related.kind, amount: related.amount, response_code: related.response_code }] : [];
    }),
    created_at: transaction.created_at,
  };
}
