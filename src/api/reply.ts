// Turning results into HTTP answers: the only place expected failures become statuses.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Failure, Result } from "../errors.ts";
import { limits } from "../limits.ts";

export function sendFailure(reply: FastifyReply, failure: Failure): FastifyReply {
  const { status, ...error } = failure;
  return reply.code(status).send({ error });
}

export function sendResult<T>(reply: FastifyReply, result: Result<T>, status = 200): FastifyReply {
  return result.ok ? reply.code(status).send(result.value) : sendFailure(reply, result.failure);
}

/** Names the offending field from an Ajv error, in the dotted form of the request body. */
function paramOf(error: FastifyError): { param: string | undefined; code: string; message: string } {
  const first = error.validation?.[0];
  const path = (first?.instancePath ?? "").split("/").filter(Boolean).join(".");
  const params = (first?.params ?? {}) as Record<string, string>;
  const join = (name: string) => (path ? `${path}.${name}` : name);
  if (first?.keyword === "required") {
    const param = join(params.missingProperty);
    return { param, code: "parameter_missing", message: `Missing required parameter: ${param}.` };
  }
  if (first?.keyword === "additionalProperties") {
    const param = join(params.additionalProperty);
    return { param, code: "parameter_unknown", message: `Received unknown parameter: ${param}.` };
  }
  const param = path || undefined;
  const where = error.validationContext === "querystring" ? "query parameter" : "parameter";
  return { param, code: "parameter_invalid", message: `Invalid ${where} ${param ?? "(request body)"}: ${first?.message ?? "invalid value"}.` };
}

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    const { param, code, message } = paramOf(error);
    return sendFailure(reply, { status: 400, type: "invalid_request_error", code, message, ...(param ? { param } : {}) });
  }
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return sendFailure(reply, {
      status: 413, type: "invalid_request_error", code: "request_too_large",
      message: `The request body exceeds ${limits.request_body_bytes_max} bytes.`,
    });
  }
  if (error.statusCode === 429) {
    return sendFailure(reply, { status: 429, type: "rate_limit_error", code: "rate_limit", message: "Too many requests; retry later." });
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    const code = error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ? "unsupported_media_type" : error.code === "invalid_json" ? "invalid_json" : "invalid_request";
    return reply.code(error.statusCode === 415 ? 415 : 400).send({
      error: { type: "invalid_request_error", code, message: error.message },
    });
  }
  request.log.error({ err: error, url: request.routeOptions.url }, "unexpected error");
  return reply.code(500).send({ error: { type: "api_error", code: "internal_error", message: "An internal error occurred." } });
}

/** Errors the router raises before any route runs: a URL that does not decode, a path parameter over the length limit. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH") return notFoundHandler(request, reply);
  if (error.code === "FST_ERR_BAD_URL") {
    return sendFailure(reply, { status: 400, type: "invalid_request_error", code: "invalid_url", message: "The request URL is not valid." });
  }
  return errorHandler(error, request, reply);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendFailure(reply, {
    status: 404, type: "invalid_request_error", code: "resource_missing",
    message: `Unrecognized request URL (${request.method} ${request.url.split("?")[0]}).`,
  });
}

export function pageLimit(raw: string | undefined): number {
  const limit = raw === undefined ? limits.list_page_size_default : Number(raw);
  return Math.min(Math.max(limit, 1), limits.list_page_size_max);
}
