// Who is calling: the platform admin (admin key) or a merchant (secret key). Publishable keys
// identify a merchant but can neither read nor move money.
import { timingSafeEqual, createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { authenticate, type Principal } from "../merchants/merchants.ts";
import type { Db } from "../store/db.ts";
import { sendFailure } from "./reply.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== "string" || header.length > 512) return undefined;
  const match = /^Bearer (\S+)$/.exec(header);
  return match?.[1];
}

function unauthorized(reply: FastifyReply, message: string) {
  return sendFailure(reply, { status: 401, type: "authentication_error", code: "invalid_api_key", message });
}

export function merchantAuth(db: Db) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const key = bearer(request);
    if (!key) return unauthorized(reply, "Provide your secret API key as 'Authorization: Bearer sk_test_…'.");
    const principal = await authenticate(db, key);
    if (!principal) return unauthorized(reply, "Invalid API key.");
    if (principal.key_kind !== "secret") {
      return sendFailure(reply, {
        status: 401, type: "authentication_error", code: "secret_key_required",
        message: "This request needs a secret key; publishable keys cannot read or move money.",
      });
    }
    request.principal = principal;
  };
}

const digest = (value: string) => createHash("sha256").update(value).digest();

export function adminAuth(admin_key: string) {
  const expected = digest(admin_key);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const key = bearer(request);
    if (!key || !timingSafeEqual(digest(key), expected)) return unauthorized(reply, "This endpoint needs the platform admin key.");
  };
}

const guardWindowMs = 1_000;
const guardEntriesMax = 100_000;

/**
 * Per client IP: at most `max_per_window` failed authentications per second; past that, the IP's
 * requests get 429 before any key lookup until the window ends. Bounded memory.
 */
export function authFailureGuard(max_per_window: number) {
  const windows = new Map<string, { start: number; failures: number }>();
  return {
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      const entry = windows.get(request.ip);
      if (!entry || entry.failures < max_per_window) return;
      const left = entry.start + guardWindowMs - Date.now();
      if (left <= 0) return;
      reply.header("retry-after", String(Math.ceil(left / 1000)));
      return sendFailure(reply, {
        status: 429, type: "rate_limit_error", code: "rate_limit",
        message: "Too many requests with invalid credentials from this address; retry later.",
      });
    },
    onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
      if (reply.statusCode !== 401) return;
      const now = Date.now();
      let entry = windows.get(request.ip);
      if (!entry || now - entry.start >= guardWindowMs) {
        if (windows.size >= guardEntriesMax) {
          for (const [ip, old] of windows) if (now - old.start >= guardWindowMs) windows.delete(ip);
          if (windows.size >= guardEntriesMax) windows.clear();
        }
        entry = { start: now, failures: 0 };
        windows.set(request.ip, entry);
      }
      entry.failures++;
    },
  };
}
