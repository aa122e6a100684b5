// E-wallets: placeholder until the family lands.
import { invalid, type Result } from "../../errors.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import type { PaymentView } from "../../payments/model.ts";

export interface WalletInput {
  type: "wallet";
  wallet: { provider: string; phone?: string };
}

export interface CreateWalletInput {
  amount: number;
  currency: string;
  payment_method_data: WalletInput;
  confirm?: boolean;
  capture_method?: "automatic" | "manual";
  customer?: string;
  description?: string;
  metadata?: Record<string, string>;
  return_url?: string;
}

export async function createWalletPayment(
  _ctx: PaymentsContext, _merchant_id: string, _input: CreateWalletInput, _idempotency_key?: string,
): Promise<Result<PaymentView>> {
  return invalid("payment_method_data.type", "payment_method_unsupported", "Wallet payments are not available yet.");
}
