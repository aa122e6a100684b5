import type { FastifyInstance } from "fastify";
import type { Static } from "@sinclair/typebox";
import { invalid, notFound, ok } from "../../errors.ts";
import { findEvent, listEvents } from "../../events/outbox.ts";
import { countEndpoints, createEndpoint, disableEndpoint, findEndpoint, listEndpoints, subscribableEvents } from "../../events/webhooks.ts";
import { checkWebhookUrl } from "../../events/ssrf.ts";
import { limits } from "../../limits.ts";
import type { ApiDeps } from "../deps.ts";
import { pageLimit, sendResult } from "../reply.ts";
import { CreateWebhookEndpointBody, EventListQuery, IdParams } from "../schemas.ts";

export function webhookRoutes(app: FastifyInstance, { ctx, config }: ApiDeps): void {
  const tags = ["webhooks"];
  app.post<{ Body: Static<typeof CreateWebhookEndpointBody> }>(
    "/v1/webhook_endpoints",
    { schema: { tags, summary: "Subscribe a URL to events; the answer holds its signing secret (shown once)", body: CreateWebhookEndpointBody } },
    async (request, reply) => {
      const merchant_id = request.principal!.merchant.id;
      const unknown = request.body.enabled_events.find((type) => !subscribableEvents.includes(type));
      if (unknown) return sendResult(reply, invalid("enabled_events", "invalid_event_type", `'${unknown}' is not an event type.`));
      if (!config.sandbox_mode) {
        // SSRF guard (live mode): no webhook into the platform's own network; checked again at delivery.
        const check = await checkWebhookUrl(request.body.url);
        if (!check.ok) return sendResult(reply, invalid("url", "url_not_allowed", `This URL is not allowed for webhooks: ${check.reason}.`));
      }
      if ((await countEndpoints(ctx.db, merchant_id)) >= limits.webhook_endpoints_per_merchant_max) {
        return sendResult(reply, invalid(undefined, "too_many_endpoints", `At most ${limits.webhook_endpoints_per_merchant_max} webhook endpoints.`));
      }
      return reply.code(201).send(await createEndpoint(ctx.db, merchant_id, request.body));
    },
  );
  app.get("/v1/webhook_endpoints", { schema: { tags, summary: "List webhook endpoints" } }, async (request) => ({
    object: "list", url: "/v1/webhook_endpoints", data: await listEndpoints(ctx.db, request.principal!.merchant.id), has_more: false,
  }));
  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/webhook_endpoints/:id",
    { schema: { tags, summary: "Retrieve a webhook endpoint", params: IdParams } },
    async (request, reply) => {
      const endpoint = await findEndpoint(ctx.db, request.principal!.merchant.id, request.params.id);
      return sendResult(reply, endpoint ? ok(endpoint) : notFound("webhook_endpoint", request.params.id));
    },
  );
  app.delete<{ Params: Static<typeof IdParams> }>(
    "/v1/webhook_endpoints/:id",
    { schema: { tags, summary: "Disable a webhook endpoint", params: IdParams } },
    async (request, reply) => {
      const done = await disableEndpoint(ctx.db, request.principal!.merchant.id, request.params.id);
      return sendResult(reply, done ? ok({ id: request.params.id, object: "webhook_endpoint", deleted: true }) : notFound("webhook_endpoint", request.params.id));
    },
  );

  app.get<{ Querystring: Static<typeof EventListQuery> }>(
    "/v1/events",
    { schema: { tags: ["events"], summary: "List events, newest first", querystring: EventListQuery } },
    async (request) => ({
      object: "list", url: "/v1/events",
      ...(await listEvents(ctx.db, request.principal!.merchant.id, { ...request.query, limit: pageLimit(request.query.limit) })),
    }),
  );
  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/events/:id",
    { schema: { tags: ["events"], summary: "Retrieve an event", params: IdParams } },
    async (request, reply) => {
      const event = await findEvent(ctx.db, request.principal!.merchant.id, request.params.id);
      return sendResult(reply, event ? ok(event) : notFound("event", request.params.id));
    },
  );
}
