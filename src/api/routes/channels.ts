import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import { notFound } from "../../errors.ts";
import { attemptFromRow } from "../../payments/model.ts";
import { resolveAttemptByInquiry } from "../../payments/resolve.ts";
import { handleCollectionNotification } from "../../methods/bank-transfer/flow.ts";
import { handleWalletNotification } from "../../methods/wallet/notifications.ts";
import { receiveBnplNotification } from "../../methods/bnpl/settle.ts";
import { handleDebitNotification } from "../../methods/direct-debit/flow.ts";
import { handleDisputeNotice } from "../../payments/disputes.ts";
import type { ApiDeps } from "../deps.ts";
import { sendFailure, sendResult } from "../reply.ts";

const ChannelParams = Type.Object({ channel: Type.String({ pattern: "^[a-z0-9_]{1,32}$" }) }, { additionalProperties: false });

/** Asynchronous notifications from channels. Verified by the channel's connector; the notice only
 *  prompts us to ask the channel for its record, so a forged, duplicated or out-of-order notice
 *  cannot change anything on its own. */
export function channelNotificationRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.post<{ Params: Static<typeof ChannelParams> }>(
    "/v1/channels/:channel/notifications",
    { schema: { tags: ["channels"], summary: "Channel notifications (signed by the channel)", params: ChannelParams } },
    async (request, reply) => {
      // A bank reports a direct debit's settlement or return: verified, then its record is asked for and applied.
      const debitNotice = ctx.debits?.name === request.params.channel ? ctx.debits.parseDebitNotification(request.headers, request.rawBody ?? "") : undefined;
      if (ctx.debits && debitNotice && debitNotice.kind !== "not_a_debit") {
        if (debitNotice.kind === "rejected") {
          return sendFailure(reply, { status: 400, type: "invalid_request_error", code: "signature_invalid", message: `Notification rejected: ${debitNotice.reason}` });
        }
        const handled = await handleDebitNotification(ctx, ctx.debits, debitNotice.reference);
        if (handled === "retry_later") return sendFailure(reply, { status: 502, type: "api_error", code: "channel_unreachable", message: "The channel's record could not be read; notify again." });
        return { received: true };
      }
      // A BNPL provider reports a checkout's or a refund's change: verified, then its record is asked for and applied.
      const bnpl = await receiveBnplNotification(ctx, request.params.channel, request.headers, request.rawBody ?? "");
      if (bnpl?.status === 400) return sendFailure(reply, { status: 400, type: "invalid_request_error", code: "signature_invalid", message: `Notification rejected: ${bnpl.reason}` });
      if (bnpl?.status === 502) return sendFailure(reply, { status: 502, type: "api_error", code: "channel_unreachable", message: "The provider's record could not be read; notify again." });
      if (bnpl) return { received: true };
      const wallet = ctx.wallets?.get(request.params.channel);
      if (wallet) {
        // An e-wallet reports a payment or refund result: verified (its own signature), then its record is asked for and applied.
        const handled = await handleWalletNotification(ctx, wallet, request.headers, request.rawBody ?? "");
        if (handled.kind === "rejected") return sendFailure(reply, { status: 400, type: "invalid_request_error", code: "signature_invalid", message: `Notification rejected: ${handled.reason}` });
        if (handled.kind === "retry_later") return sendFailure(reply, { status: 502, type: "api_error", code: "channel_unreachable", message: "The wallet's record could not be read; notify again." });
        return { received: true };
      }
      const collection = ctx.collections?.get(request.params.channel);
      if (collection) {
        // A bank reports a received transfer: verified, then its record is asked for and applied.
        const notice = collection.parseNotification(request.headers, request.rawBody ?? "");
        if (!notice.verified) {
          return sendFailure(reply, { status: 400, type: "invalid_request_error", code: "signature_invalid", message: `Notification rejected: ${notice.reason}` });
        }
        const handled = await handleCollectionNotification(ctx, collection, notice.reference);
        // Unreachable channel: not acknowledged, so the bank notifies again (and the janitor asks at expiry).
        if (handled === "retry_later") return sendFailure(reply, { status: 502, type: "api_error", code: "channel_unreachable", message: "The channel's record could not be read; notify again." });
        return { received: true };
      }
      const connector = ctx.channels.get(request.params.channel);
      if (!connector) return sendResult(reply, notFound("channel", request.params.channel, "channel"));
      const notice = connector.parseNotification(request.headers, request.rawBody ?? "");
      if (!notice.verified) {
        return sendFailure(reply, { status: 400, type: "invalid_request_error", code: "signature_invalid", message: `Notification rejected: ${notice.reason}` });
      }
      if (notice.type === "dispute") {
        // The channel's record of the dispute (looked up; sequenced) is applied idempotently.
        const handled = await handleDisputeNotice(ctx, connector, notice.reference, notice.dispute);
        if (handled === "retry_later") return sendFailure(reply, { status: 502, type: "api_error", code: "channel_unreachable", message: "The channel's record could not be read; notify again." });
        return { received: true };
      }
      const row = await ctx.db.get<Record<string, unknown>>("SELECT * FROM attempts WHERE id = ? AND channel = ?", [notice.reference, connector.name]);
      if (row) await resolveAttemptByInquiry(ctx, attemptFromRow(row));
      return { received: true };
    },
  );
}
