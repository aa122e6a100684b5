// Fault mode for the sandbox channels: a seeded, replayable source of the failures real channels
// show, configurable at start (`SandboxOptions.faults`, `--faults '<json>'`) and at run time on the
// sandbox itself:
//   PUT    /_sandbox/faults   replace the configuration (restarts the PRNG from `seed`, resets counts)
//   GET    /_sandbox/faults   the configuration and how many faults of each kind were injected
//   DELETE /_sandbox/faults   back to a healthy channel (the counts stay readable)
//
// Faults apply to the calls a connector makes that may move money (globalpay: POST /v2/…;
// localacq: POST /iso8583), and to inquiries only with `include_inquiries`. Per call, one draw picks
// at most one of timeout / server_error / malformed / connection_reset (their probabilities add up to
// at most 1); a second draw decides whether that fault happens after processing; a third adds a
// latency spike (independent of the others). What each means, and what the connector must conclude:
//   timeout           processed (recorded, maybe approved and captured), answer held past the
//                     client's deadline (`timeout.ms`, default the slow card's hold) → unknown
//   server_error      share (1 - ambiguous_share): NOT processed, HTTP 503 with the channel's own
//                     technical-error body (globalpay PROCESSING_ERROR, localacq DE39 96) → error;
//                     share ambiguous_share: processed, then HTTP 500 with a body no connector
//                     recognises → unknown
//   malformed         processed, then the real answer truncated to invalid JSON → unknown
//   connection_reset  share processed_share processed first; then the socket is destroyed without
//                     an answer → unknown (the transport cannot tell whether it was processed)
//   latency_spike     processed, answer delayed by `ms` (kept below the client's deadline it is
//                     only slow; above it, it is a timeout)
// Notifications (globalpay): duplicate_notifications sends every notification twice (same event
// id); out_of_order_notifications holds each one a random time below out_of_order_max_ms, and with
// duplicates holds the first copy longer than its twin, so later notices overtake earlier ones.
// notify_authorizations makes globalpay notify every final authorization outcome (not only 3-D
// Secure ones), as many acquirers do, so the notification path is exercised under the faults.
// Idempotency by reference is untouched: a replayed reference returns the existing record.
import type { SandboxRequest, SandboxResponse } from "./types.ts";
import { delay, isObject, jsonResponse, parseJsonObject } from "./types.ts";

export interface FaultConfig {
  latency_spike?: { probability: number; ms: number };
  timeout?: { probability: number; ms?: number };
  server_error?: { probability: number; ambiguous_share?: number };
  malformed?: { probability: number };
  connection_reset?: { probability: number; processed_share?: number };
  duplicate_notifications?: boolean;
  out_of_order_notifications?: boolean;
  out_of_order_max_ms?: number;
  notify_authorizations?: boolean;
  include_inquiries?: boolean;
  seed?: number;
}

export const faultCounterNames = [
  "latency_spike",
  "timeout",
  "server_error",
  "server_error_ambiguous",
  "malformed",
  "connection_reset",
  "connection_reset_after_processing",
  "duplicate_notification",
  "out_of_order_notification",
] as const;
export type FaultCounter = (typeof faultCounterNames)[number];

export const DEFAULT_FAULT_SEED = 1;
export const DEFAULT_AMBIGUOUS_SHARE = 0.5;
export const DEFAULT_RESET_PROCESSED_SHARE = 0.5;
export const DEFAULT_OUT_OF_ORDER_MAX_MS = 500;
const MAX_FAULT_DELAY_MS = 120_000;

import { seededRandom } from "../random.ts";

type Parsed = { ok: true; config: FaultConfig } | { ok: false; message: string };

function probabilityProblem(value: unknown, name: string): string | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 1 ? undefined : `${name} must be a number from 0 to 1`;
}

function msProblem(value: unknown, name: string, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= MAX_FAULT_DELAY_MS
    ? undefined
    : `${name} must be an integer number of milliseconds from 0 to ${MAX_FAULT_DELAY_MS}`;
}

const knownKeys = new Set([
  "latency_spike", "timeout", "server_error", "malformed", "connection_reset", "duplicate_notifications",
  "out_of_order_notifications", "out_of_order_max_ms", "notify_authorizations", "include_inquiries", "seed",
]);
const knownSubKeys: Record<string, Set<string>> = {
  latency_spike: new Set(["probability", "ms"]),
  timeout: new Set(["probability", "ms"]),
  server_error: new Set(["probability", "ambiguous_share"]),
  malformed: new Set(["probability"]),
  connection_reset: new Set(["probability", "processed_share"]),
};

/** Validates a fault configuration (from JSON): every field checked, unknown fields refused. */
export function parseFaultConfig(value: unknown): Parsed {
  if (!isObject(value)) return { ok: false, message: "expected a JSON object" };
  const problems: string[] = [];
  for (const key of Object.keys(value)) if (!knownKeys.has(key)) problems.push(`unknown field ${key}`);
  for (const [key, allowed] of Object.entries(knownSubKeys)) {
    const sub = value[key];
    if (sub === undefined) continue;
    if (!isObject(sub)) {
      problems.push(`${key} must be an object`);
      continue;
    }
    for (const subKey of Object.keys(sub)) if (!allowed.has(subKey)) problems.push(`unknown field ${key}.${subKey}`);
    const problem = probabilityProblem(sub.probability, `${key}.probability`);
    if (problem) problems.push(problem);
  }
  const sub = (key: string) => (isObject(value[key]) ? (value[key] as Record<string, unknown>) : {});
  const checks = [
    msProblem(sub("latency_spike").ms, "latency_spike.ms", value.latency_spike !== undefined),
    msProblem(sub("timeout").ms, "timeout.ms", false),
    sub("server_error").ambiguous_share === undefined ? undefined : probabilityProblem(sub("server_error").ambiguous_share, "server_error.ambiguous_share"),
    sub("connection_reset").processed_share === undefined ? undefined : probabilityProblem(sub("connection_reset").processed_share, "connection_reset.processed_share"),
    msProblem(value.out_of_order_max_ms, "out_of_order_max_ms", false),
  ];
  for (const problem of checks) if (problem) problems.push(problem);
  for (const key of ["duplicate_notifications", "out_of_order_notifications", "notify_authorizations", "include_inquiries"]) {
    if (value[key] !== undefined && typeof value[key] !== "boolean") problems.push(`${key} must be a boolean`);
  }
  if (value.seed !== undefined && !(typeof value.seed === "number" && Number.isSafeInteger(value.seed))) problems.push("seed must be an integer");
  if (problems.length === 0) {
    const exclusive = ["timeout", "server_error", "malformed", "connection_reset"].reduce((sum, key) => sum + Number(sub(key).probability ?? 0), 0);
    if (exclusive > 1 + 1e-9) problems.push("timeout, server_error, malformed and connection_reset probabilities must add up to at most 1");
  }
  return problems.length ? { ok: false, message: problems.join("; ") } : { ok: true, config: value as FaultConfig };
}

export type PrimaryFault = "timeout" | "server_error" | "malformed" | "connection_reset";

export interface FaultPlan {
  primary?: PrimaryFault;
  /** Whether the channel processes the call before the fault (always true without a primary fault). */
  process: boolean;
  /** Extra delay before answering (after processing). */
  latency_ms: number;
  /** How long a timeout holds the answer. */
  hold_ms: number;
}

const noFault: FaultPlan = { primary: undefined, process: true, latency_ms: 0, hold_ms: 0 };

/** The fault state of one sandbox channel: configuration, PRNG and counters. */
export class FaultInjector {
  private config: FaultConfig | undefined;
  private random: () => number = seededRandom(DEFAULT_FAULT_SEED);
  private counts = emptyCounts();
  private requests = 0;

  /** `default_timeout_ms`: how long a timeout holds its answer unless `timeout.ms` says otherwise. */
  constructor(private readonly default_timeout_ms: number, initial?: FaultConfig) {
    if (initial) {
      const parsed = parseFaultConfig(initial);
      if (!parsed.ok) throw new Error(`invalid sandbox fault configuration: ${parsed.message}`);
      this.configure(parsed.config);
    }
  }

  get active(): boolean {
    return this.config !== undefined;
  }

  configure(config: FaultConfig): void {
    this.config = config;
    this.random = seededRandom(config.seed ?? DEFAULT_FAULT_SEED);
    this.counts = emptyCounts();
    this.requests = 0;
  }

  clear(): void {
    this.config = undefined;
  }

  view() {
    return { active: this.active, config: this.config ?? null, requests_faultable: this.requests, injected: { ...this.counts } };
  }

  get notifyAuthorizations(): boolean {
    return this.config?.notify_authorizations === true;
  }

  get includeInquiries(): boolean {
    return this.config?.include_inquiries === true;
  }

  /** Draws the faults for one call (always three draws, so a sequence replays from its seed). */
  plan(): FaultPlan {
    const config = this.config;
    if (!config) return noFault;
    this.requests += 1;
    const [kindDraw, shareDraw, latencyDraw] = [this.random(), this.random(), this.random()];
    let primary: PrimaryFault | undefined;
    let threshold = 0;
    for (const kind of ["timeout", "server_error", "malformed", "connection_reset"] as const) {
      threshold += config[kind]?.probability ?? 0;
      if (kindDraw < threshold) {
        primary = kind;
        break;
      }
    }
    let process = true;
    if (primary === "server_error") process = shareDraw < (config.server_error?.ambiguous_share ?? DEFAULT_AMBIGUOUS_SHARE);
    if (primary === "connection_reset") process = shareDraw < (config.connection_reset?.processed_share ?? DEFAULT_RESET_PROCESSED_SHARE);
    const spike = config.latency_spike && latencyDraw < config.latency_spike.probability ? config.latency_spike.ms : 0;
    if (primary) this.count(primary);
    if (primary === "server_error" && process) this.count("server_error_ambiguous");
    if (primary === "connection_reset" && process) this.count("connection_reset_after_processing");
    if (spike > 0) this.count("latency_spike");
    return { primary, process, latency_ms: spike, hold_ms: config.timeout?.ms ?? this.default_timeout_ms };
  }

  /** Sends a notification as the configuration says: once, twice, and/or held back. */
  deliver(send: () => void): void {
    const config = this.config;
    if (!config || (!config.duplicate_notifications && !config.out_of_order_notifications)) return send();
    const max = config.out_of_order_max_ms ?? DEFAULT_OUT_OF_ORDER_MAX_MS;
    const copies = config.duplicate_notifications ? 2 : 1;
    if (copies === 2) this.count("duplicate_notification");
    const base = config.out_of_order_notifications ? Math.floor(this.random() * max) : 0;
    if (config.out_of_order_notifications) this.count("out_of_order_notification");
    for (let copy = 0; copy < copies; copy++) {
      // With duplicates, the first copy waits longest: its twin overtakes it.
      const wait = base + (copies === 2 && copy === 0 ? max : 0);
      if (wait === 0) send();
      else void delay(wait).then(send);
    }
  }

  private count(kind: FaultCounter): void {
    this.counts[kind] += 1;
  }
}

function emptyCounts(): Record<FaultCounter, number> {
  return Object.fromEntries(faultCounterNames.map((name) => [name, 0])) as Record<FaultCounter, number>;
}

/** How a channel's calls are recognised and how it says "technical failure, nothing recorded". */
export interface ChannelFaultProfile {
  /** Calls that may move money. */
  isMoneyCall(request: SandboxRequest): boolean;
  /** Inquiries (GET by reference): faulted only with include_inquiries. */
  isInquiry(request: SandboxRequest): boolean;
  /** The channel's own recognised technical-error answer (HTTP 5xx) for a call it did not process. */
  technicalError(request: SandboxRequest): SandboxResponse;
}

export const FAULTS_PATH = "/_sandbox/faults";

/** A body no connector recognises as a technical error: the 5xx is ambiguous. */
function ambiguousServerError(): SandboxResponse {
  return jsonResponse(500, { error: { code: "INTERNAL_SERVER_ERROR", message: "upstream failure after the request was accepted" } });
}

function truncated(response: SandboxResponse): SandboxResponse {
  const cut = Math.max(1, Math.floor(response.body.length / 2));
  return { ...response, body: response.body.length > 1 ? response.body.slice(0, cut) : "{" };
}

const resetConnection: SandboxResponse = { status: 0, headers: {}, body: "", destroy_socket: true };

/** Serves the admin endpoint and applies the configured faults around a channel handler. */
export function withFaults(
  handler: (request: SandboxRequest) => Promise<SandboxResponse>,
  faults: FaultInjector,
  profile: ChannelFaultProfile,
): (request: SandboxRequest) => Promise<SandboxResponse> {
  return async (request) => {
    if (request.path === FAULTS_PATH) return admin(faults, request);
    if (!faults.active) return handler(request);
    const faultable = profile.isMoneyCall(request) || (faults.includeInquiries && profile.isInquiry(request));
    if (!faultable) return handler(request);
    const plan = faults.plan();
    if (!plan.process) return plan.primary === "connection_reset" ? resetConnection : profile.technicalError(request);
    const response = await handler(request);
    if (plan.latency_ms > 0) await delay(plan.latency_ms);
    switch (plan.primary) {
      case undefined:
        return response;
      case "timeout":
        await delay(plan.hold_ms);
        return response;
      case "server_error":
        return ambiguousServerError();
      case "malformed":
        return truncated(response);
      case "connection_reset":
        return resetConnection;
    }
  };
}

function admin(faults: FaultInjector, request: SandboxRequest): SandboxResponse {
  switch (request.method) {
    case "GET":
      return jsonResponse(200, faults.view());
    case "PUT": {
      const json = parseJsonObject(request.body);
      const parsed = parseFaultConfig(json);
      if (!parsed.ok) return jsonResponse(400, { error: { code: "INVALID_FAULTS", message: parsed.message } });
      faults.configure(parsed.config);
      return jsonResponse(200, faults.view());
    }
    case "DELETE":
      faults.clear();
      return jsonResponse(200, faults.view());
    default:
      return jsonResponse(405, { error: { code: "METHOD_NOT_ALLOWED", message: "GET, PUT or DELETE" } });
  }
}
