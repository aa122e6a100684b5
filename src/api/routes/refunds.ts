import type { FastifyInstance } from "fastify";
import type { Static } from "@sinclair/typebox";
import { notFound, ok } from "../../errors.ts";
import { createRefund, listRefunds, loadRefund, refundView } from "../../payments/refunds.ts";
import type { ApiDeps } from "../deps.ts";
import { pageLimit, sendResult } from "../reply.ts";
import { CreateRefundBody, IdParams, RefundListQuery } from "../schemas.ts";

const tags = ["refunds"];

export function refundRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.post<{ Body: Static<typeof CreateRefundBody> }>(
    "/v1/refunds",
    { schema: { tags, summary: "Refund a captured payment, fully or partly", body: CreateRefundBody } },
    async (request, reply) => sendResult(reply, await createRefund(ctx, request.principal!.merchant.id, request.body, request.idempotencyClaim?.key)),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/refunds/:id",
    { schema: { tags, summary: "Retrieve a refund", params: IdParams } },
    async (request, reply) => {
      const refund = await loadRefund(ctx.db, request.principal!.merchant.id, request.params.id);
      return sendResult(reply, refund ? ok(refundView(refund)) : notFound("refund", request.params.id));
    },
  );

  app.get<{ Querystring: Static<typeof RefundListQuery> }>(
    "/v1/refunds",
    { schema: { tags, summary: "List refunds, newest first", querystring: RefundListQuery } },
    async (request) => {
      const page = await listRefunds(ctx.db, request.principal!.merchant.id, { ...request.query, limit: pageLimit(request.query.limit) });
      return { object: "list", url: "/v1/refunds", ...page };
    },
  );
}
