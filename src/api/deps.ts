import type { Config } from "../config.ts";
import type { PaymentsContext } from "../payments/context.ts";
import type { SettlementContext } from "../settlement/context.ts";

export interface ApiDeps {
  config: Config;
  ctx: PaymentsContext;
  /** The settlement back office; absent: its routes are not served. */
  settlement?: SettlementContext;
}
