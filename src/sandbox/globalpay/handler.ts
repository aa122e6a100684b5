// globalpay: a JSON REST "global acquirer". Routes:
//   POST /v2/authorizations                       authorize (idempotent by merchant_reference)
//   GET  /v2/authorizations?merchant_reference=…  one record
//   GET  /v2/authorizations/{id}                  one record
//   POST /v2/authorizations/{id}/captures|cancellations|refunds
//   GET  /v2/records                              every record (reconciliation)
//   GET  /3ds/{id}, POST /3ds/{id}/complete, POST /3ds/{id}/fail   hosted 3-D Secure challenge
//   GET|PUT|DELETE /_sandbox/faults               fault mode (see ../faults.ts)
//   /_sandbox/chargebacks…                        test-only chargebacks (see ./chargebacks.ts)
//   GET  /settlement/reports[/{id}]               published settlement reports (see ./settlement.ts)
//   /_sandbox/settlement/…                        settlement closes (see ../settlement/desk.ts); a
//                                                 close also runs by itself at each UTC day change
import { randomUUID } from "node:crypto";
import { DEFAULT_RECORD_CAPACITY } from "../bounded-store.ts";
import { FaultInjector, withFaults, type ChannelFaultProfile } from "../faults.ts";
import { deliverNotification, signPayload } from "../notifier.ts";
import { defaultSlowResponseMs } from "../test-cards.ts";
import { delay, jsonResponse, type SandboxHandler, type SandboxOptions, type SandboxRequest, type SandboxResponse } from "../types.ts";
import { challengePage } from "./challenge-page.ts";
import { GlobalPayChargebacks, disputeView, type ChargebackResult, type GpDispute } from "./chargebacks.ts";
import { GlobalPayChannel, type OperationResult } from "./channel.ts";
import { recordView, type GpRecord } from "./records.ts";
import { createGlobalPayDesk, globalPaySettlementRoute } from "./settlement.ts";
import { parseAuthorization, parseOperation } from "./validation.ts";

export const GLOBALPAY_SIGNATURE_HEADER = "GP-Signature";
export const DEFAULT_GLOBALPAY_NOTIFICATION_SECRET = "gp_sandbox_notification_secret";

interface GlobalPayConfig {
  notify_url?: string;
  notification_secret: string;
  slow_response_ms: number;
  public_url: string;
}

const operationPath = /^\/v2\/authorizations\/([^/]+)\/(captures|cancellations|refunds)$/;
const authorizationPath = /^\/v2\/authorizations\/([^/]+)$/;
const challengePath = /^\/3ds\/([^/]+)(?:\/(complete|fail))?$/;

export function globalPayConfig(options: SandboxOptions): GlobalPayConfig {
  return {
    notify_url: options.notify_url ?? process.env.SANDBOX_GLOBALPAY_NOTIFY_URL,
    notification_secret: options.notification_secret ?? process.env.SANDBOX_GLOBALPAY_NOTIFICATION_SECRET ?? DEFAULT_GLOBALPAY_NOTIFICATION_SECRET,
    slow_response_ms: options.slow_response_ms ?? defaultSlowResponseMs(),
    public_url: (options.public_url ?? "http://127.0.0.1").replace(/\/$/, ""),
  };
}

/** Faults hit the calls a connector makes (POST /v2/…), never the customer's challenge pages. */
export const globalPayFaultProfile: ChannelFaultProfile = {
  isMoneyCall: (request) => request.method === "POST" && request.path.startsWith("/v2/"),
  isInquiry: (request) => request.method === "GET" && request.path.startsWith("/v2/authorizations"),
  technicalError: () => errorResponse(503, "PROCESSING_ERROR", "The acquirer is temporarily unable to process requests; nothing was recorded"),
};

export function createGlobalPayHandler(options: SandboxOptions = {}, faults?: FaultInjector): SandboxHandler {
  const config = globalPayConfig(options);
  const injector = faults ?? new FaultInjector(config.slow_response_ms, options.faults);
  const channel = new GlobalPayChannel(options.record_capacity ?? DEFAULT_RECORD_CAPACITY, (id) => `${config.public_url}/3ds/${id}`);
  const chargebacks = new GlobalPayChargebacks();
  const desk = createGlobalPayDesk(channel, chargebacks, { bank_url: options.bank_url });
  desk.startAutoClose();
  return withFaults(
    async (request) => {
      if (request.path.startsWith("/_sandbox/chargebacks")) return chargebackRoute(channel, chargebacks, config, request);
      if (request.path.startsWith("/_sandbox/settlement/")) return (await desk.controlRoute(request)) ?? errorResponse(404, "NOT_FOUND", `no route for ${request.method} ${request.path}`);
      if (request.path.startsWith("/settlement/")) return globalPaySettlementRoute(desk, request) ?? errorResponse(404, "NOT_FOUND", `no route for ${request.method} ${request.path}`);
      if (request.path.startsWith("/v2/disputes/")) return disputeRoute(chargebacks, config, request);
      return route(channel, config, injector, request);
    },
    injector,
    globalPayFaultProfile,
  );
}

async function route(channel: GlobalPayChannel, config: GlobalPayConfig, faults: FaultInjector, request: SandboxRequest): Promise<SandboxResponse> {
  const { method, path } = request;
  if (method === "POST" && path === "/v2/authorizations") return authorize(channel, config, faults, request);
  if (method === "GET" && path === "/v2/authorizations") return lookup(channel.findByReference(request.query.merchant_reference ?? ""));
  if (method === "GET" && path === "/v2/records") return jsonResponse(200, { records: channel.allRecords().map(recordView) });
  const operation = method === "POST" ? operationPath.exec(path) : null;
  if (operation) return operate(channel, operation[1], operation[2], request.body);
  const single = method === "GET" ? authorizationPath.exec(path) : null;
  if (single) return lookup(channel.findById(single[1]));
  const challenge = challengePath.exec(path);
  if (challenge) return handleChallenge(channel, config, faults, method, challenge[1], challenge[2]);
  return errorResponse(404, "NOT_FOUND", `no route for ${method} ${path}`);
}

function errorResponse(status: number, code: string, message: string): SandboxResponse {
  return jsonResponse(status, { error: { code, message } });
}

function lookup(record: GpRecord | undefined): SandboxResponse {
  return record ? jsonResponse(200, recordView(record)) : errorResponse(404, "NOT_FOUND", "no such authorization");
}

function authorizationStatus(record: GpRecord, created: boolean): number {
  if (record.status === "ERROR") return 502;
  return created ? 201 : 200;
}

async function authorize(channel: GlobalPayChannel, config: GlobalPayConfig, faults: FaultInjector, request: SandboxRequest): Promise<SandboxResponse> {
  const input = parseAuthorization(request.body);
  if (!input) return errorResponse(400, "INVALID_REQUEST", "malformed authorization request");
  const { record, created, scenario } = channel.authorize(input);
  const response = jsonResponse(authorizationStatus(record, created), recordView(record));
  // Fault mode may notify every final outcome, sent as soon as it is decided (before any held answer).
  if (created && faults.notifyAuthorizations && record.status !== "CHALLENGE_REQUIRED") notify(config, faults, record);
  if (scenario === "slow_response") await delay(config.slow_response_ms);
  return response;
}

function operate(channel: GlobalPayChannel, authorization_id: string, kind: string, body: string): SandboxResponse {
  const input = parseOperation(body, false);
  if (!input) return errorResponse(400, "INVALID_REQUEST", "malformed operation request");
  const result = runOperation(channel, authorization_id, kind, input);
  return operationResponse(result);
}

function runOperation(channel: GlobalPayChannel, id: string, kind: string, input: NonNullable<ReturnType<typeof parseOperation>>): OperationResult {
  if (kind === "captures") return channel.capture(id, input);
  if (kind === "cancellations") return channel.cancel(id, input);
  return channel.refund(id, input);
}

function operationResponse(result: OperationResult): SandboxResponse {
  if (result.kind === "not_found") return errorResponse(404, "NOT_FOUND", "no such authorization");
  if (result.kind === "conflict") return errorResponse(409, "REFERENCE_CONFLICT", result.message);
  return jsonResponse(result.operation.status === "SUCCEEDED" ? 201 : 422, result.operation);
}

function handleChallenge(
  channel: GlobalPayChannel, config: GlobalPayConfig, faults: FaultInjector, method: string, id: string, action: string | undefined,
): SandboxResponse {
  const record = channel.findById(id);
  if (!record) return errorResponse(404, "NOT_FOUND", "no such challenge");
  if (method === "GET" && !action) {
    const amount = `${record.amount.value} minor units of ${record.amount.currency}`;
    return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: challengePage(record.id, amount) };
  }
  if (method !== "POST" || !action) return errorResponse(405, "METHOD_NOT_ALLOWED", "use GET for the page, POST to act");
  if (channel.completeChallenge(record, action === "complete")) notify(config, faults, record);
  return { status: 303, headers: { location: record.return_url }, body: "" };
}

function notify(config: GlobalPayConfig, faults: FaultInjector, record: GpRecord): void {
  if (!config.notify_url) return;
  const body = JSON.stringify({
    id: `gp_evt_${randomUUID().replaceAll("-", "")}`,
    type: "authorization.updated",
    created: Math.floor(Date.now() / 1000),
    data: recordView(record),
  });
  const signature = signPayload(config.notification_secret, body);
  const url = config.notify_url;
  faults.deliver(() => void deliverNotification({ url, body, signature_header: GLOBALPAY_SIGNATURE_HEADER, signature }));
}

// ---- test-only chargebacks ----

const chargebackPath = /^\/_sandbox\/chargebacks\/([^/]+)(?:\/(decide|escalate|renotify))?$/;

function jsonBody(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body || "{}");
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function chargebackResponse(config: GlobalPayConfig, result: ChargebackResult, status: number, drop_notification = false): SandboxResponse {
  if (!result.ok) return errorResponse(result.status, result.code, result.message);
  if (!drop_notification) notifyDispute(config, result.dispute);
  return jsonResponse(status, disputeView(result.dispute));
}

function chargebackRoute(channel: GlobalPayChannel, chargebacks: GlobalPayChargebacks, config: GlobalPayConfig, request: SandboxRequest): SandboxResponse {
  const { method, path } = request;
  const body = method === "POST" ? jsonBody(request.body) : {};
  if (!body) return errorResponse(400, "INVALID_REQUEST", "malformed JSON body");
  if (method === "POST" && path === "/_sandbox/chargebacks") {
    const reference = typeof body.merchant_reference === "string" ? body.merchant_reference : "";
    return chargebackResponse(config, chargebacks.open(channel.findByReference(reference), body), 201);
  }
  const match = chargebackPath.exec(path);
  if (!match) return errorResponse(404, "NOT_FOUND", `no route for ${method} ${path}`);
  const [, id, action] = match;
  if (method === "GET" && !action) {
    const dispute = chargebacks.find(id);
    return dispute ? jsonResponse(200, disputeView(dispute)) : errorResponse(404, "NOT_FOUND", "no such chargeback");
  }
  if (method !== "POST" || !action) return errorResponse(405, "METHOD_NOT_ALLOWED", "use POST to act");
  if (action === "decide") return chargebackResponse(config, chargebacks.decide(id, body.outcome), 200, body.drop_notification === true);
  if (action === "escalate") return chargebackResponse(config, chargebacks.escalate(id), 200);
  const dispute = chargebacks.find(id);
  return chargebackResponse(config, dispute ? { ok: true, dispute } : { ok: false, status: 404, code: "NOT_FOUND", message: "no such chargeback" }, 200);
}

const disputePath = /^\/v2\/disputes\/([^/]+)(\/evidence)?$/;

/** The merchant's side of a dispute: read it, answer it with evidence. */
function disputeRoute(chargebacks: GlobalPayChargebacks, config: GlobalPayConfig, request: SandboxRequest): SandboxResponse {
  const match = disputePath.exec(request.path);
  if (!match) return errorResponse(404, "NOT_FOUND", `no route for ${request.method} ${request.path}`);
  const [, id, evidence] = match;
  if (request.method === "GET" && !evidence) {
    const dispute = chargebacks.find(id);
    return dispute ? jsonResponse(200, disputeView(dispute)) : errorResponse(404, "NOT_FOUND", "no such dispute");
  }
  if (request.method !== "POST" || !evidence) return errorResponse(405, "METHOD_NOT_ALLOWED", "GET a dispute, POST its evidence");
  const body = jsonBody(request.body);
  if (!body) return errorResponse(400, "INVALID_REQUEST", "malformed JSON body");
  const before = chargebacks.find(id)?.sequence;
  const result = chargebacks.submitEvidence(id, body.evidence);
  if (!result.ok) return errorResponse(result.status, result.code, result.message);
  if (result.dispute.sequence !== before) notifyDispute(config, result.dispute);
  return jsonResponse(200, disputeView(result.dispute));
}

/** Every change of a chargeback is notified with its whole current state. */
function notifyDispute(config: GlobalPayConfig, dispute: GpDispute): void {
  if (!config.notify_url) return;
  const body = JSON.stringify({
    id: `gp_evt_${randomUUID().replaceAll("-", "")}`,
    type: dispute.sequence === 1 ? "dispute.opened" : "dispute.updated",
    created: Math.floor(Date.now() / 1000),
    data: disputeView(dispute),
  });
  const signature = signPayload(config.notification_secret, body);
  void deliverNotification({ url: config.notify_url, body, signature_header: GLOBALPAY_SIGNATURE_HEADER, signature });
}
