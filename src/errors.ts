// Expected failures are values with fixed codes; the HTTP edge turns them into statuses.
// Programmer errors throw and are caught only at the edge (500, logged).

export type FailureType =
  | "invalid_request_error"
  | "card_error"
  | "authentication_error"
  | "idempotency_error"
  | "rate_limit_error"
  | "api_error";

export interface Failure {
  status: 400 | 401 | 402 | 404 | 409 | 413 | 422 | 429 | 502;
  type: FailureType;
  code: string;
  message: string;
  param?: string;
  decline_code?: string;
  /** A declined confirmation carries the payment as it now stands. */
  payment?: unknown;
}

export type Result<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export function invalid(param: string | undefined, code: string, message: string): { ok: false; failure: Failure } {
  return { ok: false, failure: { status: 400, type: "invalid_request_error", code, message, ...(param ? { param } : {}) } };
}

export function notFound(kind: string, id: string, param = "id"): { ok: false; failure: Failure } {
  return { ok: false, failure: { status: 404, type: "invalid_request_error", code: "resource_missing", message: `No such ${kind}: '${id}'`, param } };
}

export function unexpectedState(kind: string, status: string, action: string): { ok: false; failure: Failure } {
  return {
    ok: false,
    failure: {
      status: 400,
      type: "invalid_request_error",
      code: `${kind}_unexpected_state`,
      message: `You cannot ${action} this ${kind} because it has a status of ${status}.`,
    },
  };
}
