// Direct-debit routes: mandates (create, retrieve, list, revoke) and the re-presentment of a
// returned ACH debit. Merchant-scoped: another merchant's mandate or payment is a 404. The request
// schemas here validate and document (OpenAPI) every field.
import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import { notFound, ok } from "../../errors.ts";
import { representDebitPayment } from "../../methods/direct-debit/flow.ts";
import { sepaBatchFile } from "../../methods/direct-debit/pain008.ts";
import { createMandate, listMandates, loadMandate, mandateView, revokeMandate } from "../../methods/direct-debit/mandates.ts";
import type { ApiDeps } from "../deps.ts";
import { pageLimit, sendResult } from "../reply.ts";
import { CurrencyCode, Id, IdParams, Metadata, StringEnum, Text } from "../schemas.ts";

const HolderName = Text({ minLength: 1, maxLength: 70, description: "The account holder's name as the bank knows it (at most 70 characters)." });

export const SepaDebitData = Type.Object(
  {
    iban: Type.String({ minLength: 5, maxLength: 42, pattern: "^[A-Za-z0-9 ]+$", description: "The debtor's IBAN, spaces allowed; checked (country format and check digits); must be in a SEPA country." }),
    bic: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9]{8}([A-Za-z0-9]{3})?$", description: "The debtor bank's BIC (8 or 11 characters), when known." })),
    account_holder_name: HolderName,
    scheme: Type.Optional(StringEnum(["core", "b2b"] as const, { description: "core (default; the debtor may claim a refund for 8 weeks, 13 months if unauthorized) or b2b (businesses; no refund right)." })),
  },
  { additionalProperties: false },
);

export const AchDebitData = Type.Object(
  {
    routing_number: Type.String({ minLength: 1, maxLength: 16, description: "ABA routing number: nine digits with a valid 3-7-1 checksum." }),
    account_number: Type.String({ minLength: 1, maxLength: 32, description: "The account number: 4 to 17 digits." }),
    account_type: Type.Optional(StringEnum(["checking", "savings"] as const, { description: "checking (default) or savings." })),
    account_holder_name: HolderName,
  },
  { additionalProperties: false },
);

export const CreateMandateBody = Type.Object(
  {
    type: StringEnum(["sepa_debit", "ach_debit"] as const, { description: "sepa_debit (EUR, an IBAN) or ach_debit (USD, a US bank account); the object of that name is required." }),
    currency: Type.Optional(CurrencyCode),
    sepa_debit: Type.Optional(SepaDebitData),
    ach_debit: Type.Optional(AchDebitData),
    customer: Type.Optional(Text({ minLength: 1, maxLength: 255, description: "Your id of the customer; payments under the mandate default to it." })),
    accepted_at: Type.Optional(Type.Integer({ minimum: 0, maximum: 4_102_444_800, description: "Unix seconds when the customer signed the mandate (default: now); not in the future, not more than 36 months ago." })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const MandateListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$" })),
    starting_after: Type.Optional(Id),
    customer: Type.Optional(Text({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);

export const BatchParams = Type.Object(
  { date: Type.String({ pattern: "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", description: "The collection date, YYYY-MM-DD (UTC)." }) },
  { additionalProperties: false },
);

const tags = ["mandates"];
const mandateObject =
  "A mandate: id (md_...), type, scheme (sepa_core, sepa_b2b, ach), status (active; inactive after a return that ends it; revoked; lapsed after 36 months " +
  "without a collection), status_reason, currency, reference (the unique mandate reference), creditor_id (SEPA), sepa_debit {last4, country, bic, " +
  "account_holder_name} or ach_debit {last4, routing_number, account_type, account_holder_name}, customer, accepted_at, last_collection_at, lapses_at, metadata, created.";

export function mandateRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.post<{ Body: Static<typeof CreateMandateBody> }>(
    "/v1/mandates",
    { schema: { tags, summary: "Create a direct-debit mandate (SEPA or ACH)", description: mandateObject, body: CreateMandateBody } },
    async (request, reply) => sendResult(reply, await createMandate(ctx, request.principal!.merchant.id, request.body)),
  );

  app.get<{ Querystring: Static<typeof MandateListQuery> }>(
    "/v1/mandates",
    { schema: { tags, summary: "List mandates, newest first", querystring: MandateListQuery } },
    async (request) => {
      const page = await listMandates(ctx.db, request.principal!.merchant.id, {
        limit: pageLimit(request.query.limit), starting_after: request.query.starting_after, customer: request.query.customer,
      });
      return { object: "list", url: "/v1/mandates", ...page };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/mandates/:id",
    { schema: { tags, summary: "Retrieve a mandate", description: mandateObject, params: IdParams } },
    async (request, reply) => {
      const mandate = await loadMandate(ctx.db, request.principal!.merchant.id, request.params.id);
      return sendResult(reply, mandate ? ok(mandateView(mandate)) : notFound("mandate", request.params.id));
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    "/v1/mandates/:id/revoke",
    { schema: { tags, summary: "Revoke an active mandate: no further collection (debits already submitted go on)", params: IdParams } },
    async (request, reply) => sendResult(reply, await revokeMandate(ctx, request.principal!.merchant.id, request.params.id)),
  );

  app.get<{ Params: Static<typeof BatchParams> }>(
    "/v1/direct_debit_batches/:date/pain008",
    {
      schema: {
        tags, params: BatchParams,
        summary: "The merchant's SEPA collections of one day as an ISO 20022 pain.008.001.02 file (application/xml)",
      },
    },
    async (request, reply) => {
      const xml = await sepaBatchFile(ctx.db, request.principal!.merchant.id, request.params.date);
      if (!xml) return sendResult(reply, notFound("direct debit batch", request.params.date, "date"));
      return reply.type("application/xml; charset=utf-8").send(xml);
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    "/v1/payments/:id/represent",
    {
      schema: {
        tags: ["payments"], params: IdParams,
        summary: "Present a returned ACH debit again (R01 insufficient funds or R09 uncollected funds only; at most twice)",
        description: "The payment goes back to processing with a new attempt. A direct-debit payment (POST /v1/payments with mandate) shows " +
          "payment_method_details.direct_debit: scheme, mandate, mandate_reference, last4, country/bic/creditor_id (SEPA) or routing_number/account_type (ACH), " +
          "sequence_type (FRST, RCUR; null for ACH), presentments, settled_at, and return {reason_code, reason, after_settlement, returned_at} once returned. " +
          "A return before settlement fails the payment (payment.failed); after settlement the merchant's funds are reversed (payment.returned).",
      },
    },
    async (request, reply) => sendResult(reply, await representDebitPayment(ctx, request.principal!.merchant.id, request.params.id)),
  );
}
