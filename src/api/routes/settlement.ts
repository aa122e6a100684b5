// The settlement back office (admin key): files in, batches, reconciliation runs and exceptions,
// merchant pricing, channel margins.
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Static } from "@sinclair/typebox";
import { invalid, notFound, ok, type Failure } from "../../errors.ts";
import { findMerchant } from "../../merchants/merchants.ts";
import { findCurrency } from "../../money/currency.ts";
import { exceptionView, findException, listExceptions } from "../../settlement/exceptions.ts";
import { importSettlementFile, settlementFileView } from "../../settlement/files.ts";
import { currentPricing, pricingView, setPricing } from "../../settlement/pricing.ts";
import { channelMargins, findSettlementFile, listSettlementBatches, listSettlementFiles } from "../../settlement/queries.ts";
import { resolveException } from "../../settlement/resolve.ts";
import { runReconciliation, runView } from "../../settlement/runs.ts";
import { fetchSettlementFiles } from "../../settlement/scheduler.ts";
import { settlementLimits } from "../../settlement/terms.ts";
import type { ApiDeps } from "../deps.ts";
import { pageLimit, sendFailure, sendResult } from "../reply.ts";
import { IdParams } from "../schemas.ts";
import {
  ExceptionListQuery, MarginQuery, MerchantIdParams, MerchantPricingBody, ReconciliationRunBody, ResolveExceptionBody,
  SettlementBatchListQuery, SettlementFileBody, SettlementFileListQuery,
} from "../settlement-schemas.ts";

const tags = ["settlement"];

function badRequest(reply: FastifyReply, code: string, message: string, param?: string): FastifyReply {
  const failure: Failure = { status: 400, type: "invalid_request_error", code, message, ...(param ? { param } : {}) };
  return sendFailure(reply, failure);
}

/** ISO 8601 date or date-time → ms; undefined when it is not one. */
function parseAsOf(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(text)) return undefined;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : /Z|[+-]\d{2}:\d{2}$/.test(text) ? text : `${text}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

export function settlementRoutes(app: FastifyInstance, { ctx, settlement }: ApiDeps): void {
  if (!settlement) return;
  app.post<{ Body: Static<typeof SettlementFileBody> }>(
    "/v1/admin/settlement_files",
    { bodyLimit: settlementLimits.upload_body_bytes_max, schema: { tags, summary: "Upload a channel's settlement report or the bank statement (imported, duplicate or rejected)", body: SettlementFileBody } },
    async (request, reply) => {
      const result = await importSettlementFile(settlement, { ...request.body, source: "upload" });
      if (!result.ok) return badRequest(reply, result.failure.code, result.failure.message, result.failure.code === "unknown_channel" ? "channel" : "content");
      if (result.file.status === "imported") await runReconciliation(settlement, { channel: result.file.kind === "channel_report" ? result.file.channel : undefined, as_of_ms: Date.now(), trigger: "import" });
      return reply.code(201).send(settlementFileView(result.file));
    },
  );

  app.get<{ Querystring: Static<typeof SettlementFileListQuery> }>(
    "/v1/admin/settlement_files",
    { schema: { tags, summary: "List settlement files, newest first", querystring: SettlementFileListQuery } },
    async (request) => {
      const page = await listSettlementFiles(ctx.db, request.query, { limit: pageLimit(request.query.limit), starting_after: request.query.starting_after });
      return { object: "list", url: "/v1/admin/settlement_files", data: page.data.map(settlementFileView), has_more: page.has_more };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/admin/settlement_files/:id",
    { schema: { tags, summary: "Retrieve a settlement file", params: IdParams } },
    async (request, reply) => {
      const file = await findSettlementFile(ctx.db, request.params.id);
      return sendResult(reply, file ? ok(settlementFileView(file)) : notFound("settlement file", request.params.id));
    },
  );

  app.post(
    "/v1/admin/settlement_files/fetch",
    { schema: { tags, summary: "Fetch every channel's newly published settlement files now (the scheduler does it on its own)" } },
    async () => {
      const fetched = await fetchSettlementFiles(settlement);
      return { object: "settlement_fetch", files: fetched.files.map(settlementFileView), unreachable: fetched.unreachable };
    },
  );

  app.get<{ Querystring: Static<typeof SettlementBatchListQuery> }>(
    "/v1/admin/settlement_batches",
    { schema: { tags, summary: "List settlement batches (gross, fees by kind, net, matched lines, funding), newest first", querystring: SettlementBatchListQuery } },
    async (request) => {
      const page = await listSettlementBatches(ctx.db, request.query, { limit: pageLimit(request.query.limit), starting_after: request.query.starting_after });
      return { object: "list", url: "/v1/admin/settlement_batches", ...page };
    },
  );

  app.post<{ Body: Static<typeof ReconciliationRunBody> }>(
    "/v1/admin/reconciliation/runs",
    { schema: { tags, summary: "Run reconciliation: bank credits to batches, then the time checks as of a moment", body: ReconciliationRunBody } },
    async (request, reply) => {
      const { channel, as_of } = request.body;
      if (channel !== undefined && !settlement.channels.has(channel)) return badRequest(reply, "unknown_channel", `No settlement is known for channel '${channel}'.`, "channel");
      const as_of_ms = as_of === undefined ? Date.now() : parseAsOf(as_of);
      if (as_of_ms === undefined) return badRequest(reply, "parameter_invalid", "as_of must be an ISO 8601 date or date-time.", "as_of");
      return reply.code(201).send(runView(await runReconciliation(settlement, { channel, as_of_ms, trigger: "api" })));
    },
  );

  app.get<{ Querystring: Static<typeof ExceptionListQuery> }>(
    "/v1/admin/reconciliation/exceptions",
    { schema: { tags, summary: "List reconciliation exceptions, newest first", querystring: ExceptionListQuery } },
    async (request) => {
      const { limit, starting_after, ...filter } = request.query;
      const page = await listExceptions(ctx.db, filter, { limit: pageLimit(limit), starting_after });
      return { object: "list", url: "/v1/admin/reconciliation/exceptions", data: page.data.map(exceptionView), has_more: page.has_more };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/admin/reconciliation/exceptions/:id",
    { schema: { tags, summary: "Retrieve a reconciliation exception", params: IdParams } },
    async (request, reply) => {
      const exception = await findException(ctx.db, request.params.id);
      return sendResult(reply, exception ? ok(exceptionView(exception)) : notFound("reconciliation exception", request.params.id));
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ResolveExceptionBody> }>(
    "/v1/admin/reconciliation/exceptions/:id/resolve",
    { schema: { tags, summary: "Resolve an exception: posts the adjusting ledger transfers and records who and why", params: IdParams, body: ResolveExceptionBody } },
    async (request, reply) => {
      const { operator, ...body } = request.body;
      const result = await resolveException(settlement, request.params.id, { ...body, operator: operator ?? "admin" });
      if (!result.ok) {
        const { status, code, message, param } = result.failure;
        return sendFailure(reply, { status, type: "invalid_request_error", code, message, ...(param ? { param } : {}) });
      }
      return exceptionView(result.exception);
    },
  );

  app.put<{ Params: Static<typeof MerchantIdParams>; Body: Static<typeof MerchantPricingBody> }>(
    "/v1/admin/merchants/:id/pricing",
    { schema: { tags, summary: "Set a merchant's pricing (blended or interchange++); a new version applies to lines settled from now on", params: MerchantIdParams, body: MerchantPricingBody } },
    async (request, reply) => {
      const merchant = await findMerchant(ctx.db, request.params.id);
      if (!merchant) return sendFailure(reply, notFound("merchant", request.params.id).failure);
      const { model, percent_bps, markup_bps, fixed_amount } = request.body;
      const currency = findCurrency(request.body.currency);
      if (!currency) return sendFailure(reply, invalid("currency", "invalid_currency", `'${request.body.currency}' is not a supported ISO 4217 currency.`).failure);
      const rate = model === "blended" ? percent_bps : markup_bps;
      const wrong = model === "blended" ? markup_bps : percent_bps;
      if (rate === undefined) return badRequest(reply, "parameter_missing", `${model} pricing needs ${model === "blended" ? "percent_bps" : "markup_bps"}.`, model === "blended" ? "percent_bps" : "markup_bps");
      if (wrong !== undefined) return badRequest(reply, "parameter_unknown", `${model} pricing takes no ${model === "blended" ? "markup_bps" : "percent_bps"}.`, model === "blended" ? "markup_bps" : "percent_bps");
      const pricing = await ctx.db.transaction((tx) => setPricing(tx, merchant.id, { model, percent_bps: rate, fixed_amount, currency: currency.code }));
      return pricingView(pricing);
    },
  );

  app.get<{ Params: Static<typeof MerchantIdParams> }>(
    "/v1/admin/merchants/:id/pricing",
    { schema: { tags, summary: "A merchant's current pricing", params: MerchantIdParams } },
    async (request, reply) => {
      const pricing = await currentPricing(ctx.db, request.params.id);
      return sendResult(reply, pricing ? ok(pricingView(pricing)) : notFound("merchant pricing", request.params.id));
    },
  );

  app.get<{ Querystring: Static<typeof MarginQuery> }>(
    "/v1/admin/settlement/margins",
    { schema: { tags, summary: "Per channel and currency: merchant fees, channel fees by kind and the margin, over booked settlement lines", querystring: MarginQuery } },
    async (request) => ({ object: "list", url: "/v1/admin/settlement/margins", data: await channelMargins(ctx.db, request.query), has_more: false }),
  );
}
