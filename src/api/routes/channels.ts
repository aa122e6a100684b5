import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import { notFound } from "../../errors.ts";
import { attemptFromRow } from "../../payments/model.ts";
import { resolveAttemptByInquiry } from "../../payments/resolve.ts";
import { handleCollectionNotification } from "../../methods/bank-transfer/flow.ts";
import { applyDisputeNotice } from "../../payments/disputes.ts";
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
        // A dispute carries its whole state at the channel, signed and sequenced: applied idempotently.
        await applyDisputeNotice(ctx, connector.name, notice.reference, notice.dispute);
        return { received: true };
      }
      const row = await ctx.db.get<Record<string, unknown>>("SELECT * FROM attempts WHERE id = ? AND channel = ?", [notice.reference, connector.name]);
      if (row) await resolveAttemptByInquiry(ctx, attemptFromRow(row));
      return { received: true };
    },
  );
}
