// Channel performance metrics over HTTP: a merchant's own (GET /v1/metrics/channels), the whole
// platform's (GET /v1/admin/metrics/channels), and the process's Prometheus metrics (GET /metrics).
import type { FastifyInstance, FastifyReply } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import { invalid, ok, type Result } from "../../errors.ts";
import { channelMetrics, defaultRangeMs, dimensions, metricsWindows, type ChannelMetrics, type MetricsWindow } from "../../metrics/aggregate.ts";
import { prometheusText } from "../../metrics/prometheus.ts";
import type { ApiDeps } from "../deps.ts";
import { sendResult } from "../reply.ts";
import { Id } from "../schemas.ts";

const unixSeconds = (description: string) => Type.String({ pattern: "^[0-9]{1,11}$", description });

const metricsQueryFields = {
  group_by: Type.Optional(
    Type.String({ maxLength: 200, pattern: "^[a-z_]+(,[a-z_]+)*$", description: `Comma-separated, up to 4 of: ${dimensions.join(", ")}. Default: channel.` }),
  ),
  window: Type.Optional(Type.String({ maxLength: 8, description: `Bucket width: ${Object.keys(metricsWindows).join(", ")}. Default: 1h.` })),
  from: Type.Optional(unixSeconds("Start (inclusive), Unix seconds. Default: 24 buckets of 1h, 60 of 1m or 30 of 1d before `to`.")),
  to: Type.Optional(unixSeconds("End (exclusive), Unix seconds. Default: now.")),
};

export const ChannelMetricsQuery = Type.Object(metricsQueryFields, { additionalProperties: false });
export const AdminChannelMetricsQuery = Type.Object(
  { ...metricsQueryFields, merchant: Type.Optional(Id) },
  { additionalProperties: false },
);

type Query = Static<typeof AdminChannelMetricsQuery>;

function secondsToMs(param: "from" | "to", raw: string): Result<number> {
  const seconds = Number(raw);
  if (!Number.isSafeInteger(seconds * 1000)) return invalid(param, "invalid_time", `'${param}' must be a Unix time in seconds.`);
  return ok(seconds * 1000);
}

async function answer(deps: ApiDeps, query: Query, merchant_id: string | undefined): Promise<Result<unknown>> {
  const window = query.window ?? "1h";
  const to = query.to === undefined ? ok(Date.now()) : secondsToMs("to", query.to);
  if (!to.ok) return to;
  const defaultSpan = window in metricsWindows ? defaultRangeMs[window as MetricsWindow] : defaultRangeMs["1h"];
  const from = query.from === undefined ? ok(Math.max(0, to.value - defaultSpan)) : secondsToMs("from", query.from);
  if (!from.ok) return from;
  const result = await channelMetrics(deps.ctx.db, {
    merchant_id,
    group_by: (query.group_by ?? "channel").split(","),
    window,
    from_ms: from.value,
    to_ms: to.value,
  });
  return result.ok ? ok(view(result.value)) : result;
}

function view(metrics: ChannelMetrics) {
  const width = metricsWindows[metrics.window];
  return {
    object: "channel_metrics",
    window: metrics.window,
    group_by: metrics.group_by,
    from: Math.floor(metrics.from_ms / 1000),
    to: Math.floor(metrics.to_ms / 1000),
    data: metrics.rows.map(({ bucket_start_ms, ...row }) => ({
      bucket_start: Math.floor(bucket_start_ms / 1000),
      bucket_end: Math.floor((bucket_start_ms + width) / 1000),
      ...row,
    })),
  };
}

const summary = "Channel performance per time bucket and group: approval rate, declines, latency percentiles, cost per approval, conversion";

/** Merchant scope: only the caller's own attempts and payments. */
export function metricsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: Static<typeof ChannelMetricsQuery> }>(
    "/v1/metrics/channels",
    { schema: { tags: ["metrics"], summary, querystring: ChannelMetricsQuery } },
    async (request, reply): Promise<FastifyReply> => sendResult(reply, await answer(deps, request.query, request.principal!.merchant.id)),
  );
}

/** Admin scope: every merchant (or one, with `merchant`). */
export function adminMetricsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: Query }>(
    "/v1/admin/metrics/channels",
    { schema: { tags: ["admin"], summary: `${summary} (all merchants)`, querystring: AdminChannelMetricsQuery } },
    async (request, reply): Promise<FastifyReply> => sendResult(reply, await answer(deps, request.query, request.query.merchant)),
  );
}

/** This process's Prometheus metrics, text exposition format. */
export function prometheusRoute(app: FastifyInstance): void {
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    const { contentType, body } = await prometheusText();
    return reply.type(contentType).send(body);
  });
}
