import type { FastifyInstance } from "fastify";
import type { Static } from "@sinclair/typebox";
import { simulateRoute } from "../../payments/create.ts";
import { validateRoutingConfigV2, type RoutingConfigV2 } from "../../routing/config.ts";
import { currentRoutingConfig, saveRoutingConfig, staticRoutingConfig } from "../../routing/rules.ts";
import { invalid } from "../../errors.ts";
import type { ApiDeps } from "../deps.ts";
import { sendResult } from "../reply.ts";
import { RoutingConfigBody, RoutingSimulationBody } from "../schemas.ts";

/** `version` counts the merchant's saved configurations (0: none saved, the static default). */
function configView(version: number, config: RoutingConfigV2) {
  const { version: schema_version, ...rest } = config;
  return { object: "routing_config", version, schema_version, ...rest };
}

/** `rules[0].channels` → `rules.0.channels`, the form every other error's param takes. */
const dotted = (field: string) => field.replace(/\[(\d+)\]/g, ".$1");

export function routingRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  const tags = ["routing"];
  app.put<{ Body: Static<typeof RoutingConfigBody> }>(
    "/v1/routing/config",
    { schema: { tags, summary: "Replace the merchant's routing configuration (a new version; older ones are kept)", body: RoutingConfigBody } },
    async (request, reply) => {
      const fallback = staticRoutingConfig(request.body.default_channels);
      const candidate = { version: 2, ...request.body, strategy: request.body.strategy ?? fallback.strategy, elimination: request.body.elimination ?? fallback.elimination };
      const checked = validateRoutingConfigV2(candidate, ctx.channels.names());
      if (!checked.ok) {
        const [first] = checked.errors;
        return sendResult(reply, invalid(dotted(first.field), first.field.endsWith("channels") || first.field.includes("weights.") ? "unknown_channel" : "parameter_invalid", first.message));
      }
      const version = await saveRoutingConfig(ctx.db, request.principal!.merchant.id, checked.config);
      return configView(version, checked.config);
    },
  );
  app.get("/v1/routing/config", { schema: { tags, summary: "The merchant's current routing configuration" } }, async (request) => {
    const current = await currentRoutingConfig(ctx.db, request.principal!.merchant.id);
    return configView(current?.version ?? 0, current?.config ?? staticRoutingConfig(ctx.channels.names()));
  });
  app.post<{ Body: Static<typeof RoutingSimulationBody> }>(
    "/v1/routing/simulate",
    { schema: { tags, summary: "Dry run: where a payment would go now, with each strategy's reasons and scores (nothing is written)", body: RoutingSimulationBody } },
    async (request, reply) => sendResult(reply, await simulateRoute(ctx, request.principal!.merchant.id, request.body)),
  );
}
