// The shape every sandbox channel is written against: a pure request handler, so the same
// channel can be served over real HTTP (`http-server.ts`) or called in-process.
import type { FaultConfig } from "./faults.ts";

export interface SandboxRequest {
  method: string;
  /** Path without the query string, e.g. "/v2/authorizations". */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SandboxResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Fault mode: drop the connection without answering (the server calls `socket.destroy()`). */
  destroy_socket?: boolean;
}

export type SandboxHandler = (request: SandboxRequest) => Promise<SandboxResponse>;

export type SandboxChannelName = "globalpay" | "localacq";

export interface SandboxOptions {
  /** Where globalpay POSTs signed notifications (3-D Secure outcomes). */
  notify_url?: string;
  /** Shared HMAC secret for globalpay notifications. */
  notification_secret?: string;
  /** How long the slow test card holds its answer. */
  slow_response_ms?: number;
  /** The sandbox's own public base URL (3-D Secure challenge pages live there). */
  public_url?: string;
  /** Records kept before the oldest is evicted. */
  record_capacity?: number;
  /** Fault mode from the start (see `faults.ts`); also settable at run time on `/_sandbox/faults`. */
  faults?: FaultConfig;
  /** The sandbox bank's base URL: each settlement close pays its batches' nets to Corridor's account
   *  there (`POST {bank_url}/_sandbox/settlement_credits`); absent, closes are unfunded. */
  bank_url?: string;
}

export function jsonResponse(status: number, payload: unknown, headers: Record<string, string> = {}): SandboxResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(payload) };
}

export function parseJsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Resolves after `ms` without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
