// Canceling an open wallet payment: the order is closed at the wallet first, so the customer can no
// longer pay it; only then is the payment canceled. A wallet that says the customer already paid
// wins: the payment succeeds and the cancel is refused.
import { unexpectedState, ok, type Result } from "../../errors.ts";
import { assert } from "../../limits.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { attemptFromRow, loadPayment, lockPayment, readPaymentView, type PaymentRecord, type PaymentView } from "../../payments/model.ts";
import { closeUnpaid, isOpenWalletPayment } from "./apply.ts";
import { inquireAndApply } from "./inquiry.ts";

export async function cancelWalletPayment(ctx: PaymentsContext, payment: PaymentRecord, input: { cancellation_reason?: string }): Promise<Result<PaymentView>> {
  assert(payment.method_type === "wallet", `payment ${payment.id} is a wallet payment`);
  if (!isOpenWalletPayment(payment)) return unexpectedState("payment", payment.status, "cancel");
  const attempt = await ctx.db.get<{ id: string; channel: string }>(
    "SELECT id, channel FROM attempts WHERE payment_id = ? AND status IN ('pending', 'requires_action') ORDER BY id DESC LIMIT 1", [payment.id],
  );
  const connector = attempt ? ctx.wallets?.get(attempt.channel) : undefined;
  assert(attempt && connector, `open wallet payment ${payment.id} has an open attempt on a configured wallet`);
  const closed = await connector.closeOrder(attempt.id);
  switch (closed.kind) {
    case "unknown":
      return { ok: false, failure: { status: 502, type: "api_error", code: "channel_unreachable", message: "The wallet could not confirm the order is closed; nothing changed, try again." } };
    case "already_paid":
      await inquireAndApply(ctx, connector, attempt.id, { expire_now: false });
      break;
    case "closed":
    case "not_found":
      await ctx.db.transaction(async (tx) => {
        const locked = await lockPayment(tx, payment.id);
        const current = attemptFromRow((await tx.get<Record<string, unknown>>(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt.id]))!);
        if (current.status !== "pending" && current.status !== "requires_action") return; // settled meanwhile
        await closeUnpaid(tx, locked, current, input.cancellation_reason ?? "requested_by_customer");
      });
      break;
  }
  const now = (await loadPayment(ctx.db, payment.merchant_id, payment.id))!;
  return now.status === "canceled" ? ok(await readPaymentView(ctx.db, now)) : unexpectedState("payment", now.status, "cancel");
}
