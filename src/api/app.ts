// The HTTP edge: parsing, authentication, rate limits, idempotency, schemas, errors, OpenAPI.
// Routes are thin: validate, call one operation, shape the answer.
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from "fastify";
import swagger from "@fastify/swagger";
import rateLimit from "@fastify/rate-limit";
import { createHash } from "node:crypto";
import { clearDeliveryPolicy, setDeliveryPolicy } from "../events/webhooks.ts";
import { limits } from "../limits.ts";
import { adminAuth, authFailureGuard, merchantAuth } from "./auth.ts";
import type { ApiDeps } from "./deps.ts";
import { idempotencyOnSend, idempotencyPreHandler } from "./idempotency.ts";
import { documentResponses } from "./objects.ts";
import { errorHandler, frameworkErrorHandler, notFoundHandler } from "./reply.ts";
import { adminRoutes } from "./routes/admin.ts";
import { adminMetricsRoutes, metricsRoutes, prometheusRoute } from "./routes/metrics.ts";
import { balanceRoutes } from "./routes/balance.ts";
import { channelNotificationRoutes } from "./routes/channels.ts";
import { paymentReturnRoute, paymentRoutes } from "./routes/payments.ts";
import { refundRoutes } from "./routes/refunds.ts";
import { disputeRoutes } from "./routes/disputes.ts";
import { mandateRoutes } from "./routes/mandates.ts";
import { routingRoutes } from "./routes/routing.ts";
import { settlementRoutes } from "./routes/settlement.ts";
import { virtualAccountRoutes } from "./routes/virtual-accounts.ts";
import { webhookRoutes } from "./routes/webhooks.ts";

function parseJsonBody(request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void): void {
  request.rawBody = body;
  if (body.length === 0) return done(null, {});
  try {
    done(null, JSON.parse(body));
  } catch {
    const error = Object.assign(new Error("The request body is not valid JSON."), { statusCode: 400, code: "invalid_json" });
    done(error);
  }
}

function rateLimitKey(request: FastifyRequest): string {
  const header = request.headers.authorization ?? request.ip;
  return createHash("sha256").update(String(header)).digest("base64url");
}

/** Failed authentications (401) per second per client IP before that IP gets 429 for the rest of
 *  the second, checked before authentication. Authenticated traffic is never counted, so one IP
 *  hosting many merchants' servers is not throttled by it. 0 disables.
 *  `RATE_LIMIT_PER_IP_PER_SECOND`, 200 by default. */
export function perIpRateLimit(config: ApiDeps["config"]): number {
  return config.rate_limit_per_ip_per_second;
}

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  // Webhook deliveries from this process follow its mode (SSRF guard outside sandbox mode).
  setDeliveryPolicy(deps.ctx.db, { sandbox_mode: deps.config.sandbox_mode });
  const per_ip_limit = perIpRateLimit(deps.config);
  const app = Fastify({
    logger: { level: deps.config.log_level, ...(deps.config.log_file ? { file: deps.config.log_file } : {}) },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.request_body_bytes_max,
    routerOptions: { maxParamLength: 128 },
    // Router-level failures (an undecodable URL, an over-long path parameter) answer in the API's error shape.
    frameworkErrors: frameworkErrorHandler,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: false } },
  });
  app.addHook("onClose", async () => clearDeliveryPolicy(deps.ctx.db));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string", bodyLimit: limits.request_body_bytes_max }, parseJsonBody);
  app.addHook("preValidation", async (request) => {
    if (request.method === "POST" && request.body === undefined) request.body = {};
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "Corridor API", version: "1.0.0", description: "One API in front of every way people pay, with a double-entry ledger." },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
    // Response objects are documented only (src/api/objects.ts), never used to serialize answers.
    transformObject: (generated) => ("openapiObject" in generated ? documentResponses(generated.openapiObject) : generated.swaggerObject),
  });
  if (deps.config.rate_limit_per_second > 0) {
    await app.register(rateLimit, { global: false });
  }
  if (per_ip_limit > 0) {
    // Before authentication: a client IP past its budget of failed authentications gets 429, so
    // made-up keys (each its own per-key bucket) cannot get around the per-key limit.
    const guard = authFailureGuard(per_ip_limit);
    app.addHook("onRequest", guard.onRequest);
    app.addHook("onResponse", guard.onResponse);
  }

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  app.get("/health", { schema: { hide: true } }, async () => ({ status: "ok" }));

  await app.register(async (scope) => {
    if (deps.config.rate_limit_per_second > 0) {
      scope.addHook("onRequest", scope.rateLimit({ max: deps.config.rate_limit_per_second, timeWindow: 1000, keyGenerator: rateLimitKey }));
    }
    scope.addHook("onRequest", merchantAuth(deps.ctx.db));
    scope.addHook("preHandler", idempotencyPreHandler(deps.ctx.db, deps.config.idempotency_lease_ms));
    scope.addHook("onSend", idempotencyOnSend(deps.ctx.db));
    for (const routes of [paymentRoutes, refundRoutes, disputeRoutes, balanceRoutes, webhookRoutes, routingRoutes, metricsRoutes]) routes(scope, deps);
    mandateRoutes(scope, deps);
    virtualAccountRoutes(scope, deps);
  });
  await app.register(async (scope) => {
    scope.addHook("onRequest", adminAuth(deps.config.admin_key));
    adminRoutes(scope, deps);
    adminMetricsRoutes(scope, deps);
    settlementRoutes(scope, deps);
    prometheusRoute(scope); // /metrics behind the admin key: scrapers send it as a bearer token
  });
  await app.register(async (scope) => {
    paymentReturnRoute(scope, deps);
    channelNotificationRoutes(scope, deps);
  });
  return app;
}
