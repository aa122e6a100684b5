// Direct debit: placeholder until the family lands.
import { invalid, type Result } from "../../errors.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import type { PaymentView } from "../../payments/model.ts";

export interface CreateDirectDebitInput {
  amount: number;
  currency: string;
  mandate: string;
  confirm?: boolean;
  capture_method?: "automatic" | "manual";
  customer?: string;
  description?: string;
  metadata?: Record<string, string>;
}

export async function createDirectDebitPayment(
  _ctx: PaymentsContext, _merchant_id: string, _input: CreateDirectDebitInput, _idempotency_key?: string,
): Promise<Result<PaymentView>> {
  return invalid("mandate", "payment_method_unsupported", "Direct debit is not available yet.");
}
