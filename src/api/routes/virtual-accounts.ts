// Reusable virtual accounts (src/methods/bank-transfer/virtual-accounts.ts): create, list, retrieve,
// deactivate. Merchant-scoped: another merchant's account is a 404. The request schemas here
// validate and document (OpenAPI) every field.
import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import {
  createVirtualAccount, deactivateVirtualAccount, getVirtualAccount, listVirtualAccounts,
} from "../../methods/bank-transfer/virtual-accounts.ts";
import type { ApiDeps } from "../deps.ts";
import { pageLimit, sendResult } from "../reply.ts";
import { limits } from "../../limits.ts";
import { Id, IdParams, Metadata, StringEnum, Text } from "../schemas.ts";

const Customer = Text({ minLength: 1, maxLength: 255, description: "Your id of the customer the account belongs to; every payment made into it carries it." });

export const CreateVirtualAccountBody = Type.Object(
  {
    country: Type.String({ pattern: "^[A-Za-z]{2}$", description: "ID (an Indonesian virtual account number, IDR) or MX (a CLABE with its check digit, MXN)." }),
    bank: Type.Optional(Type.String({
      pattern: "^[a-z0-9_]{1,32}$", description: "The issuing bank. ID: bca (default), bni, bri, mandiri, permata; MX: stp (default), bbva, banamex, santander, banorte.",
    })),
    customer: Customer,
    amount_type: Type.Optional(StringEnum(["open", "closed"] as const, {
      description: "open (default): any amount is taken; closed: only `amount` — a transfer of another amount is refused and paid back to the sender.",
    })),
    amount: Type.Optional(Type.Integer({
      minimum: 1, maximum: limits.amount_minor_max,
      description: "Closed amount only (required then, refused otherwise): the one amount taken, integer in the currency's minor unit.",
    })),
    usage: Type.Optional(StringEnum(["multi_use", "single_use"] as const, {
      description: "multi_use (default): every accepted transfer is a payment; single_use: the account becomes inactive after its first accepted payment.",
    })),
    expires_in: Type.Optional(Type.Integer({
      minimum: 1, maximum: 365 * 86_400,
      description: "Seconds until the account expires (status expired; later transfers are paid back). Default: no expiry for multi_use, 24 h for single_use.",
    })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const VirtualAccountListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$", description: "1 to 100 (default 10)." })),
    starting_after: Type.Optional(Id),
    customer: Type.Optional(Text({ minLength: 1, maxLength: 255, description: "Only this customer's accounts." })),
    status: Type.Optional(StringEnum(["active", "inactive", "expired"] as const, { description: "Only accounts with this status." })),
  },
  { additionalProperties: false },
);

const tags = ["virtual_accounts"];
const virtualAccountObject =
  "A virtual account: id (va_...), object (virtual_account), country, bank, account_number (ID, 16 digits: the bank's prefix, the merchant, the account) " +
  "or clabe (MX, 18 digits with a valid check digit), currency, customer, amount_type (open, closed), amount (closed only, else null), usage (multi_use, " +
  "single_use), status (active; inactive after deactivation, after a single-use account's payment, or if the bank refused to open it; expired), " +
  "status_reason (deactivated, used, bank_refused, expired; null while active), expires_at (Unix seconds or null), payments_count (succeeded payments " +
  "made into it), metadata, livemode, created. Every transfer into the account is a payment (payment_method_details.bank_transfer.virtual_account, " +
  "customer): succeeded for the transfer's amount when taken; canceled with cancellation_reason amount_mismatch, virtual_account_inactive or " +
  "virtual_account_expired when refused, its money (amount_refund_due) paid back to the sender by itself (a refund of kind return_of_funds). " +
  "Events: virtual_account.created, virtual_account.updated, and payment.created with payment.succeeded or payment.canceled per transfer.";

export function virtualAccountRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.post<{ Body: Static<typeof CreateVirtualAccountBody> }>(
    "/v1/virtual_accounts",
    { schema: { tags, summary: "Create a reusable virtual account (ID VA number or MX CLABE) for a customer", description: virtualAccountObject, body: CreateVirtualAccountBody } },
    async (request, reply) => sendResult(reply, await createVirtualAccount(ctx, request.principal!.merchant.id, request.body)),
  );

  app.get<{ Querystring: Static<typeof VirtualAccountListQuery> }>(
    "/v1/virtual_accounts",
    { schema: { tags, summary: "List virtual accounts, newest first", querystring: VirtualAccountListQuery } },
    async (request) => {
      const page = await listVirtualAccounts(ctx.db, request.principal!.merchant.id, {
        limit: pageLimit(request.query.limit), starting_after: request.query.starting_after, customer: request.query.customer, status: request.query.status,
      });
      return { object: "list", url: "/v1/virtual_accounts", ...page };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/virtual_accounts/:id",
    { schema: { tags, summary: "Retrieve a virtual account", description: virtualAccountObject, params: IdParams } },
    async (request, reply) => sendResult(reply, await getVirtualAccount(ctx.db, request.principal!.merchant.id, request.params.id)),
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    "/v1/virtual_accounts/:id/deactivate",
    {
      schema: {
        tags, params: IdParams,
        summary: "Deactivate an active virtual account: transfers already made are taken (the bank is asked first), later ones are paid back",
      },
    },
    async (request, reply) => sendResult(reply, await deactivateVirtualAccount(ctx, request.principal!.merchant.id, request.params.id)),
  );
}
