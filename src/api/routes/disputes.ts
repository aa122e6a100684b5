import type { FastifyInstance } from "fastify";
import type { Static } from "@sinclair/typebox";
import { notFound, ok } from "../../errors.ts";
import { disputeView, listDisputes, loadDispute, submitEvidence } from "../../payments/disputes.ts";
import type { ApiDeps } from "../deps.ts";
import { pageLimit, sendResult } from "../reply.ts";
import { DisputeEvidenceBody, DisputeListQuery, IdParams } from "../schemas.ts";

const tags = ["disputes"];

export function disputeRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/disputes/:id",
    { schema: { tags, summary: "Retrieve a dispute", params: IdParams } },
    async (request, reply) => {
      const dispute = await loadDispute(ctx.db, request.principal!.merchant.id, request.params.id);
      return sendResult(reply, dispute ? ok(disputeView(dispute)) : notFound("dispute", request.params.id));
    },
  );

  app.get<{ Querystring: Static<typeof DisputeListQuery> }>(
    "/v1/disputes",
    { schema: { tags, summary: "List disputes, newest first", querystring: DisputeListQuery } },
    async (request) => {
      const page = await listDisputes(ctx.db, request.principal!.merchant.id, { ...request.query, limit: pageLimit(request.query.limit) });
      return { object: "list", url: "/v1/disputes", ...page };
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof DisputeEvidenceBody> }>(
    "/v1/disputes/:id/evidence",
    { schema: { tags, summary: "Save or submit the merchant's evidence (submit: true → representment)", params: IdParams, body: DisputeEvidenceBody } },
    async (request, reply) => {
      const { submit, ...evidence } = request.body;
      return sendResult(reply, await submitEvidence(ctx, request.principal!.merchant.id, request.params.id, { evidence, submit }));
    },
  );
}
