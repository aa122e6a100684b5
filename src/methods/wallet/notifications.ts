// A wallet's asynchronous notifications: verified by its connector, then only a prompt to ask the
// wallet for its record (inquiry.ts), so a forged, repeated or out-of-order notice changes nothing
// by itself. Payment results and refund results (ours, and late-payment reversals) both arrive here.
import type { WalletConnector } from "../../channels/contract.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { loadAttempt } from "../../payments/model.ts";
import { resolveRefundByInquiry } from "../../payments/resolve.ts";
import { attemptOfReversal, resumeReversal } from "./apply.ts";
import { inquireAndApply } from "./inquiry.ts";

/** received: acknowledged (applied, or nothing of ours); rejected: not verified; retry_later: the wallet's record could not be read. */
export type NotificationHandling = { kind: "received" } | { kind: "rejected"; reason: string } | { kind: "retry_later" };

export async function handleWalletNotification(
  ctx: PaymentsContext, connector: WalletConnector, headers: Record<string, string | string[] | undefined>, raw_body: string,
): Promise<NotificationHandling> {
  const notice = connector.parseNotification(headers, raw_body);
  if (!notice.verified) return { kind: "rejected", reason: notice.reason };
  const outcome = notice.kind === "payment" ? await onPaymentResult(ctx, connector, notice.reference) : await onRefundResult(ctx, connector, notice.reference);
  return outcome === "retry_later" ? { kind: "retry_later" } : { kind: "received" };
}

async function onPaymentResult(ctx: PaymentsContext, connector: WalletConnector, reference: string): Promise<"done" | "retry_later"> {
  const attempt = await ctx.db.get<{ id: string }>("SELECT id FROM attempts WHERE id = ? AND channel = ?", [reference, connector.name]);
  if (!attempt) return "done"; // not one of ours: acknowledged, nothing to apply
  return (await inquireAndApply(ctx, connector, attempt.id, { expire_now: false })) === "unreachable" ? "retry_later" : "done";
}

async function onRefundResult(ctx: PaymentsContext, connector: WalletConnector, reference: string): Promise<"done" | "retry_later"> {
  const reversed = attemptOfReversal(reference);
  if (reversed) {
    const attempt = await loadAttempt(ctx.db, reversed);
    if (!attempt || attempt.channel !== connector.name || attempt.status !== "reversing") return "done";
    return resumeReversal(ctx, connector, attempt);
  }
  const refund = await ctx.db.get<{ id: string }>(
    "SELECT r.id AS id FROM refunds r JOIN attempts a ON a.id = r.attempt_id WHERE r.id = ? AND a.channel = ?", [reference, connector.name],
  );
  if (!refund) return "done";
  return resolveRefundByInquiry(ctx, refund.id);
}
