import type { FastifyInstance } from "fastify";
import { accountsOf, creditBalance } from "../../ledger/ledger.ts";
import { toSafeNumber } from "../../store/db.ts";
import type { ApiDeps } from "../deps.ts";

/** The merchant's balance, read from the ledger: `pending` = captured funds not yet settled (net of
 *  refunds in flight), `available` = settled funds that may be paid out. */
export function balanceRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.get("/v1/balance", { schema: { tags: ["balance"], summary: "The merchant's balance per currency, from the ledger" } }, async (request) => {
    const merchant_id = request.principal!.merchant.id;
    const available: { amount: number; currency: string }[] = [];
    const pending: { amount: number; currency: string }[] = [];
    for (const account of await accountsOf(ctx.db, merchant_id)) {
      const balance = await creditBalance(ctx.db, { owner: merchant_id, currency: account.currency, purpose: account.purpose });
      const amount = toSafeNumber(balance.posted - balance.pending_debits);
      const entry = { amount, currency: account.currency.toLowerCase() };
      if (account.purpose === "merchant_available") available.push(entry);
      if (account.purpose === "merchant_pending") pending.push(entry);
    }
    return { object: "balance", livemode: false, available, pending };
  });
}
