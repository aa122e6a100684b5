import type { FastifyInstance, FastifyReply } from "fastify";
import type { Static } from "@sinclair/typebox";
import { notFound, ok, type Result } from "../../errors.ts";
import { confirmPayment, createPayment } from "../../payments/create.ts";
import { loadPayment, paymentFromRow, readPaymentView, type PaymentView } from "../../payments/model.ts";
import { cancelPayment, capturePayment } from "../../payments/operations.ts";
import { resolveAttemptByInquiry } from "../../payments/resolve.ts";
import { settleOnReturn } from "../../methods/bnpl/settle.ts";
import { resolveWalletPaymentOnReturn } from "../../methods/wallet/inquiry.ts";
import { attemptFromRow } from "../../payments/model.ts";
import { listPage } from "../../store/page.ts";
import type { ApiDeps } from "../deps.ts";
import { pageLimit, sendFailure, sendResult } from "../reply.ts";
import { CancelPaymentBody, CapturePaymentBody, ConfirmPaymentBody, CreatePaymentBody, IdParams, ListQuery } from "../schemas.ts";

/** A confirmation the card declined answers 402 with the payment inside the error. */
function sendPayment(reply: FastifyReply, result: Result<PaymentView>, status = 200): FastifyReply {
  if (result.ok && result.value.status === "failed" && result.value.last_error) {
    const error = result.value.last_error;
    return sendFailure(reply, {
      status: 402, type: "card_error", code: error.code, decline_code: error.decline_code, message: error.message, payment: result.value,
    });
  }
  return sendResult(reply, result, status);
}

const tags = ["payments"];

export function paymentRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.post<{ Body: Static<typeof CreatePaymentBody> }>(
    "/v1/payments",
    { schema: { tags, summary: "Create (and optionally confirm) a payment", body: CreatePaymentBody } },
    async (request, reply) => sendPayment(reply, await createPayment(ctx, request.principal!.merchant.id, request.body, request.idempotencyClaim?.key)),
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    "/v1/payments",
    { schema: { tags, summary: "List payments, newest first", querystring: ListQuery } },
    async (request) => {
      const page = { limit: pageLimit(request.query.limit), starting_after: request.query.starting_after };
      const { rows, has_more } = await listPage(ctx.db, "payments", { merchant_id: request.principal!.merchant.id }, page);
      const data = await Promise.all(rows.map((row) => readPaymentView(ctx.db, paymentFromRow(row))));
      return { object: "list", url: "/v1/payments", data, has_more };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/payments/:id",
    { schema: { tags, summary: "Retrieve a payment", params: IdParams } },
    async (request, reply) => {
      const payment = await loadPayment(ctx.db, request.principal!.merchant.id, request.params.id);
      return sendResult(reply, payment ? ok(await readPaymentView(ctx.db, payment)) : notFound("payment", request.params.id));
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ConfirmPaymentBody> }>(
    "/v1/payments/:id/confirm",
    { schema: { tags, summary: "Confirm a payment: route it and authorize it", params: IdParams, body: ConfirmPaymentBody } },
    async (request, reply) => sendPayment(reply, await confirmPayment(ctx, request.principal!.merchant.id, request.params.id, request.body)),
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof CapturePaymentBody> }>(
    "/v1/payments/:id/capture",
    { schema: { tags, summary: "Capture an authorized payment, fully or partly (the rest is released)", params: IdParams, body: CapturePaymentBody } },
    async (request, reply) => sendResult(reply, await capturePayment(ctx, request.principal!.merchant.id, request.params.id, request.body)),
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof CancelPaymentBody> }>(
    "/v1/payments/:id/cancel",
    { schema: { tags, summary: "Cancel a payment (voids an authorization; reverses an approval whose outcome was unknown)", params: IdParams, body: CancelPaymentBody } },
    async (request, reply) => sendResult(reply, await cancelPayment(ctx, request.principal!.merchant.id, request.params.id, request.body)),
  );
}

/** Where the customer lands after a 3-D Secure challenge: ask the channel, then go back to the merchant. */
export function paymentReturnRoute(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/payments/:id/return",
    { schema: { tags, summary: "3-D Secure return page (public)", params: IdParams } },
    async (request, reply) => {
      const row = await ctx.db.get<Record<string, unknown>>("SELECT * FROM payments WHERE id = ?", [request.params.id]);
      if (!row) return sendResult(reply, notFound("payment", request.params.id));
      const attemptRow = await ctx.db.get<Record<string, unknown>>(
        "SELECT * FROM attempts WHERE payment_id = ? AND status = 'requires_action' ORDER BY id DESC LIMIT 1",
        [request.params.id],
      );
      // BNPL: the customer is back from the provider's checkout; the provider is asked (src/methods/bnpl).
      if (row.method_type === "bnpl") await settleOnReturn(ctx, request.params.id);
      // Wallets: the customer is back from the wallet's page; the wallet is asked (src/methods/wallet).
      else if (row.method_type === "wallet") await resolveWalletPaymentOnReturn(ctx, request.params.id);
      // Cards: the 3-D Secure challenge's outcome is asked of the acquirer. Other families (a bank
      // transfer waits for the customer's transfer) have nothing to ask here.
      else if (attemptRow && ctx.channels.get(attemptRow.channel as string)) await resolveAttemptByInquiry(ctx, attemptFromRow(attemptRow));
      const payment = paymentFromRow((await ctx.db.get<Record<string, unknown>>("SELECT * FROM payments WHERE id = ?", [request.params.id]))!);
      if (payment.return_url) {
        const target = new URL(payment.return_url);
        target.searchParams.set("payment", payment.id);
        return reply.redirect(target.toString(), 303);
      }
      return { id: payment.id, object: "payment", status: payment.status };
    },
  );
}
