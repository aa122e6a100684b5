// How connectors reach a channel. Every result is a value: either the channel answered (any HTTP
// status), or the request was provably never sent (nothing can have moved), or we cannot know.
import { Pool } from "undici";

export interface TransportRequest {
  method: string;
  /** Path and query, e.g. "/v2/authorizations?merchant_reference=att_1". */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Total deadline for the exchange, answer body included. */
  timeout_ms: number;
}

export type TransportResult =
  | { kind: "answered"; status: number; body: string }
  /** The connection failed before the request was written: nothing can have moved. */
  | { kind: "not_sent"; reason: string }
  /** Timed out or reset after (possibly) sending: money may have moved. */
  | { kind: "unknown"; reason: string };

export interface Transport {
  request(request: TransportRequest): Promise<TransportResult>;
  close?(): Promise<void>;
}

export const DEFAULT_POOL_CONNECTIONS = 128;
export const POOL_KEEP_ALIVE_TIMEOUT_MS = 10_000;
export const CONNECT_TIMEOUT_MS = 2_000;

/** Errors raised while connecting, before any byte of the request left. */
const notSentCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

class TransportTimeout extends Error {}

export function createHttpTransport(base_url: string, options: { connections?: number } = {}): Transport & { close(): Promise<void> } {
  const base = new URL(base_url);
  const prefix = base.pathname.replace(/\/$/, "");
  const pool = new Pool(base.origin, {
    connections: options.connections ?? DEFAULT_POOL_CONNECTIONS,
    pipelining: 1,
    keepAliveTimeout: POOL_KEEP_ALIVE_TIMEOUT_MS,
    connect: { timeout: CONNECT_TIMEOUT_MS },
  });
  return {
    request: (request) => sendOverPool(pool, prefix, request),
    close: () => pool.close(),
  };
}

async function sendOverPool(pool: Pool, prefix: string, request: TransportRequest): Promise<TransportResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TransportTimeout(`no answer within ${request.timeout_ms} ms`)), request.timeout_ms);
  try {
    const response = await pool.request({
      method: request.method as "GET",
      path: `${prefix}${request.path}`,
      headers: request.body === undefined ? request.headers : { "content-type": "application/json", ...request.headers },
      body: request.body,
      signal: controller.signal,
    });
    const body = await response.body.text();
    return { kind: "answered", status: response.statusCode, body };
  } catch (error) {
    return classifyFailure(error, controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

function classifyFailure(error: unknown, signal: AbortSignal): TransportResult {
  if (signal.aborted) return { kind: "unknown", reason: describe(signal.reason) };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && notSentCodes.has(code)) return { kind: "not_sent", reason: `${code}: ${describe(error)}` };
  return { kind: "unknown", reason: describe(error) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The handler shape of an in-process channel (structurally the sandbox's handler). */
export type InProcessHandler = (request: {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}) => Promise<{ status: number; body: string; destroy_socket?: boolean }>;

export function createInProcessTransport(handler: InProcessHandler): Transport {
  return { request: (request) => callInProcess(handler, request) };
}

async function callInProcess(handler: InProcessHandler, request: TransportRequest): Promise<TransportResult> {
  const url = new URL(request.path, "http://in-process.invalid");
  const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<TransportResult>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "unknown", reason: `no answer within ${request.timeout_ms} ms` }), request.timeout_ms);
  });
  const call = Promise.resolve()
    .then(() => handler({ method: request.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: request.body ?? "" }))
    .then(
      (response): TransportResult =>
        response.destroy_socket
          ? { kind: "unknown", reason: "connection reset by the channel before an answer" }
          : { kind: "answered", status: response.status, body: response.body },
      (error: unknown): TransportResult => ({ kind: "unknown", reason: describe(error) }),
    );
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
