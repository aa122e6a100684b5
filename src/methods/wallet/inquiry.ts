// Asking the wallet for its record of an order and applying it: what a notification, the
// customer's return from the wallet's page, the janitor and a cancel all come down to.
import type { WalletConnector } from "../../channels/contract.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { applyWalletRecord, reverseLatePayment, type ApplyResult } from "./apply.ts";

/** Asks and applies. `unreachable`: nothing learned, ask again later. */
export async function inquireAndApply(
  ctx: PaymentsContext, connector: WalletConnector, attempt_id: string, options: { expire_now: boolean },
): Promise<ApplyResult | "unreachable"> {
  const record = await connector.inquireOrder(attempt_id);
  if ("unreachable" in record) return "unreachable";
  const result = await applyWalletRecord(ctx, attempt_id, record, options);
  if (result === "reverse") await reverseLatePayment(ctx, connector, attempt_id);
  return result;
}

/** The customer came back from the wallet's page: learn the result now rather than wait for the notice. */
export async function resolveWalletPaymentOnReturn(ctx: PaymentsContext, payment_id: string): Promise<void> {
  const attempt = await ctx.db.get<{ id: string; channel: string }>(
    "SELECT id, channel FROM attempts WHERE payment_id = ? AND status IN ('pending', 'requires_action') ORDER BY id DESC LIMIT 1",
    [payment_id],
  );
  const connector = attempt ? ctx.wallets?.get(attempt.channel) : undefined;
  if (attempt && connector) await inquireAndApply(ctx, connector, attempt.id, { expire_now: false });
}
