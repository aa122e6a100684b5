import type { Config } from "../config.ts";
import type { PaymentsContext } from "../payments/context.ts";

export interface ApiDeps {
  config: Config;
  ctx: PaymentsContext;
}
