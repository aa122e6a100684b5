// BNPL through a provider: placeholder until the family lands.
import { invalid, type Result } from "../../errors.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import type { PaymentView } from "../../payments/model.ts";

export interface BnplInput {
  type: "bnpl";
  bnpl: { provider: string; installments?: number; customer_email?: string };
}

export interface CreateBnplInput {
  amount: number;
  currency: string;
  payment_method_data: BnplInput;
  confirm?: boolean;
  capture_method?: "automatic" | "manual";
  customer?: string;
  description?: string;
  metadata?: Record<string, string>;
  return_url?: string;
}

export async function createBnplPayment(
  _ctx: PaymentsContext, _merchant_id: string, _input: CreateBnplInput, _idempotency_key?: string,
): Promise<Result<PaymentView>> {
  return invalid("payment_method_data.type", "payment_method_unsupported", "BNPL payments are not available yet.");
}
