import type { FastifyInstance } from "fastify";
import type { Static } from "@sinclair/typebox";
import { invalid } from "../../errors.ts";
import { currentRoutingConfig, defaultRoutingConfig, saveRoutingConfig } from "../../routing/rules.ts";
import type { ApiDeps } from "../deps.ts";
import { sendResult } from "../reply.ts";
import { RoutingConfigBody } from "../schemas.ts";

export function routingRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  const tags = ["routing"];
  app.put<{ Body: Static<typeof RoutingConfigBody> }>(
    "/v1/routing/config",
    { schema: { tags, summary: "Replace the merchant's routing rules (a new version; older ones are kept)", body: RoutingConfigBody } },
    async (request, reply) => {
      const known = new Set(ctx.channels.names());
      for (const [index, rule] of request.body.rules.entries()) {
        const unknown = rule.channels.find((name) => !known.has(name));
        if (unknown) return sendResult(reply, invalid(`rules.${index}.channels`, "unknown_channel", `There is no channel named '${unknown}'.`));
        const { amount_min, amount_max } = rule.conditions;
        if (amount_min !== undefined && amount_max !== undefined && amount_min > amount_max) {
          return sendResult(reply, invalid(`rules.${index}.conditions.amount_min`, "parameter_invalid", "amount_min must not exceed amount_max."));
        }
      }
      const unknownDefault = request.body.default_channels.find((name) => !known.has(name));
      if (unknownDefault) return sendResult(reply, invalid("default_channels", "unknown_channel", `There is no channel named '${unknownDefault}'.`));
      const version = await saveRoutingConfig(ctx.db, request.principal!.merchant.id, request.body);
      return { object: "routing_config", version, ...request.body };
    },
  );
  app.get("/v1/routing/config", { schema: { tags, summary: "The merchant's current routing rules" } }, async (request) => {
    const current = await currentRoutingConfig(ctx.db, request.principal!.merchant.id);
    return { object: "routing_config", version: current?.version ?? 0, ...(current?.config ?? defaultRoutingConfig(ctx.channels)) };
  });
}
