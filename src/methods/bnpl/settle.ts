// Asking the provider and acting on its answer: the one path every trigger takes (a verified
// notification, the customer's return, the janitor). A notification only prompts the inquiry, so a
// duplicated, late or out-of-order notice cannot change anything by itself.
import type { BnplConnector, BnplNotification } from "../../channels/contract.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { resolveRefundByInquiry } from "../../payments/resolve.ts";
import { openCheckout } from "./flow.ts";
import { applyCheckoutRecord, cancelAtProvider } from "./records.ts";

export interface OpenBnplAttempt {
  id: string;
  payment_id: string;
  currency: string;
}

/** Inquires the checkout of `attempt` and applies the record; then cancels or re-opens at the provider when needed. */
export async function settleCheckout(
  ctx: PaymentsContext, connector: BnplConnector, attempt: OpenBnplAttempt, options: { expire_now: boolean },
): Promise<"done" | "still_pending" | "retry_later"> {
  const record = await connector.inquireCheckout(attempt.id, attempt.currency);
  if ("unreachable" in record) return "retry_later"; // never assume: ask again later
  const applied = await applyCheckoutRecord(ctx, attempt.id, record, options);
  switch (applied) {
    case "cancel_at_provider":
      return cancelAtProvider(ctx, connector, attempt.id);
    case "reopen":
      await openCheckout(ctx, connector, attempt.payment_id, attempt.id);
      return "done";
    case "still_pending":
    case "done":
      return applied;
  }
}

/** A verified notification from a BNPL provider: ask for the checkout's record (and the refund's), apply them. */
export async function handleBnplNotification(
  ctx: PaymentsContext, connector: BnplConnector, notice: Extract<BnplNotification, { verified: true }>,
): Promise<"done" | "retry_later" | "unknown_reference"> {
  const attempt = await ctx.db.get<OpenBnplAttempt>("SELECT id, payment_id, currency FROM attempts WHERE id = ? AND channel = ?", [notice.reference, connector.name]);
  if (!attempt) return "unknown_reference";
  const settled = await settleCheckout(ctx, connector, attempt, { expire_now: false });
  if (settled === "retry_later") return "retry_later";
  if (notice.event === "refund.updated" && notice.refund_reference) {
    const refund = await ctx.db.get<{ id: string }>("SELECT id FROM refunds WHERE id = ? AND attempt_id = ? AND status = 'pending'", [notice.refund_reference, attempt.id]);
    if (refund && (await resolveRefundByInquiry(ctx, refund.id)) === "retry_later") return "retry_later";
  }
  return "done";
}

/** The customer is back from the provider's checkout: ask the provider before showing anything. */
export async function settleOnReturn(ctx: PaymentsContext, payment_id: string): Promise<void> {
  const attempt = await ctx.db.get<OpenBnplAttempt & { channel: string }>(
    "SELECT id, payment_id, currency, channel FROM attempts WHERE payment_id = ? AND status IN ('pending', 'requires_action', 'reversing') ORDER BY id DESC LIMIT 1",
    [payment_id],
  );
  const connector = attempt && [...(ctx.bnpl?.values() ?? [])].find((candidate) => candidate.name === attempt.channel);
  if (attempt && connector) await settleCheckout(ctx, connector, attempt, { expire_now: false });
}

/** After one of its refunds is decided: re-read the provider's checkout, so the plan shown is the reduced one. */
export async function refreshPlanAfterRefund(ctx: PaymentsContext, payment_id: string): Promise<void> {
  const attempt = await ctx.db.get<OpenBnplAttempt & { channel: string }>(
    "SELECT id, payment_id, currency, channel FROM attempts WHERE payment_id = ? AND status = 'captured' ORDER BY id DESC LIMIT 1",
    [payment_id],
  );
  const connector = attempt && [...(ctx.bnpl?.values() ?? [])].find((candidate) => candidate.name === attempt.channel);
  if (attempt && connector) await settleCheckout(ctx, connector, attempt, { expire_now: false });
}

/** What the notification route answers a BNPL provider. */
export type BnplNoticeAnswer = { status: 200 } | { status: 400; reason: string } | { status: 502 };

/** A provider's notification as received; undefined when `channel` is not a BNPL provider. */
export async function receiveBnplNotification(
  ctx: PaymentsContext, channel: string, headers: Record<string, string | string[] | undefined>, raw_body: string,
): Promise<BnplNoticeAnswer | undefined> {
  const connector = [...(ctx.bnpl?.values() ?? [])].find((candidate) => candidate.name === channel);
  if (!connector) return undefined;
  const notice = connector.parseBnplNotification(headers, raw_body);
  if (!notice.verified) return { status: 400, reason: notice.reason };
  // Unreachable provider: not acknowledged, so it notifies again (and the janitor polls meanwhile).
  return (await handleBnplNotification(ctx, connector, notice)) === "retry_later" ? { status: 502 } : { status: 200 };
}
