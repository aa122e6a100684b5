// Idempotency keys (Stripe semantics): the first request with a key is claimed before anything
// else happens; its response (status and exact bytes) is stored before it is sent; a retry with
// the same key and body gets those bytes back; another body gets 422; a retry while the first is
// still running gets 409. Scoped per merchant. A request rejected as bad input leaves no trace.
import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { crashPoint } from "../chaos/crash.ts";
import { limits } from "../limits.ts";
import type { Db } from "../store/db.ts";
import { sendFailure } from "./reply.ts";

declare module "fastify" {
  interface FastifyRequest {
    rawBody?: string;
    idempotencyClaim?: { merchant_id: string; key: string };
  }
}

const header = "idempotency-key";

function fingerprint(request: FastifyRequest): string {
  const path = request.url.split("?")[0];
  return createHash("sha256").update(`${request.method} ${path}\n${request.rawBody ?? ""}`).digest("hex");
}

type ClaimOutcome =
  | { kind: "claimed" }
  /** A retry took over a key whose first request died with its process. */
  | { kind: "recovered" }
  | { kind: "replay"; status: number; body: string }
  | { kind: "in_flight" }
  | { kind: "mismatch" };

async function claim(db: Db, merchant_id: string, key: string, print: string, lease_ms: number): Promise<ClaimOutcome> {
  return db.transaction(async (tx) => {
    const now = Date.now();
    const inserted = await tx.run(
      `INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, state, locked_until_ms, created_ms) VALUES (?, ?, ?, 'in_flight', ?, ?)
       ON CONFLICT (merchant_id, idem_key) DO NOTHING`,
      [merchant_id, key, print, now + lease_ms, now],
    );
    if (inserted.changes === 1) return { kind: "claimed" };
    const row = await tx.get<{ fingerprint: string; state: string; response_status: number; response_body: string; locked_until_ms: unknown }>(
      `SELECT fingerprint, state, response_status, response_body, locked_until_ms FROM idempotency_keys WHERE merchant_id = ? AND idem_key = ? ${tx.forUpdate}`,
      [merchant_id, key],
    );
    if (!row) throw new Error("programmer error: idempotency key neither inserted nor found");
    if (row.fingerprint !== print) return { kind: "mismatch" };
    if (row.state === "in_flight" && Number(row.locked_until_ms) < now) {
      const taken = await tx.run(
        "UPDATE idempotency_keys SET locked_until_ms = ? WHERE merchant_id = ? AND idem_key = ? AND state = 'in_flight' AND locked_until_ms = ?",
        [now + lease_ms, merchant_id, key, row.locked_until_ms],
      );
      if (taken.changes === 1) return { kind: "recovered" };
    }
    if (row.state === "in_flight") return { kind: "in_flight" };
    return { kind: "replay", status: Number(row.response_status), body: row.response_body };
  });
}

export function idempotencyPreHandler(db: Db, lease_ms: number) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.headers[header];
    // Reads are safe to repeat: keys apply to writes only.
    if (raw === undefined || !request.principal || request.method === "GET" || request.method === "HEAD") return;
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (key.length === 0 || key.length > limits.idempotency_key_length_max) {
      return sendFailure(reply, {
        status: 400, type: "invalid_request_error", code: "idempotency_key_invalid", param: "Idempotency-Key",
        message: `Idempotency-Key must be 1 to ${limits.idempotency_key_length_max} characters.`,
      });
    }
    const merchant_id = request.principal.merchant.id;
    const outcome = await claim(db, merchant_id, key, fingerprint(request), lease_ms);
    switch (outcome.kind) {
      case "recovered":
      case "claimed":
        request.idempotencyClaim = { merchant_id, key };
        crashPoint("after_idempotency_claim");
        return;
      case "replay":
        return reply.code(outcome.status).header("Idempotent-Replayed", "true").type("application/json; charset=utf-8").send(outcome.body);
      case "in_flight":
        return sendFailure(reply, {
          status: 409, type: "idempotency_error", code: "idempotency_key_in_use",
          message: "A request with this Idempotency-Key is still being processed; retry later.",
        });
      case "mismatch":
        return sendFailure(reply, {
          status: 422, type: "idempotency_error", code: "idempotency_key_reused",
          message: "This Idempotency-Key was used with different request parameters.",
        });
    }
  };
}

/** Statuses after which nothing was written: the key is released, as if never seen. */
function leavesNoTrace(status: number): boolean {
  return status === 400 || status === 401 || status === 404 || status === 413 || status === 429 || status >= 500;
}

export function idempotencyOnSend(db: Db) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const claimed = request.idempotencyClaim;
    if (!claimed) return payload;
    request.idempotencyClaim = undefined;
    crashPoint("after_commit_before_response");
    const body = typeof payload === "string" ? payload : JSON.stringify(payload ?? null);
    await db.transaction((tx) =>
      leavesNoTrace(reply.statusCode)
        ? tx.run("DELETE FROM idempotency_keys WHERE merchant_id = ? AND idem_key = ?", [claimed.merchant_id, claimed.key])
        : tx.run("UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ? WHERE merchant_id = ? AND idem_key = ?", [
            reply.statusCode, body, claimed.merchant_id, claimed.key,
          ]),
    );
    return payload;
  };
}

/** Drops keys past their retention (at least 24 h; 48 h by default). */
export async function expireIdempotencyKeys(db: Db): Promise<number> {
  const result = await db.transaction((tx) =>
    tx.run("DELETE FROM idempotency_keys WHERE created_ms < ? AND state = 'done'", [Date.now() - limits.idempotency_key_retention_ms]),
  );
  return result.changes;
}
