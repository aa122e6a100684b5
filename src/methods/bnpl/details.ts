// What a BNPL payment shows of its method (`payment_method_details.bnpl`): the provider, the
// provider's checkout, and the installment plan — Corridor's proposal until the provider approves,
// then the provider's own plan, re-read whenever a refund changes it. Written with its own UPDATE
// (savePayment does not write method_details).
import type { BnplCheckoutRecord, BnplInstallmentRecord } from "../../channels/contract.ts";
import type { Tx } from "../../store/db.ts";
import type { Plan, PlanType } from "./plans.ts";

export interface BnplPlanView {
  type: PlanType;
  interval: Plan["interval"];
  /** proposed: Corridor's schedule before the provider decided; provider: the provider's plan. */
  source: "proposed" | "provider";
  installments: { sequence: number; amount: number; amount_refunded: number; due_date: string; status: BnplInstallmentRecord["status"] | "proposed" }[];
  /** What the customer still owes or paid, after refunds: the sum of the installments. */
  amount: number;
  amount_refunded: number;
  /** The provider's fee, kept from the merchant's payout (not given back on refunds). */
  fee: number;
  /** What the merchant is paid: the payment's amount less the fee. */
  net_amount: number;
}

export interface BnplDetails {
  provider: string;
  /** The provider's checkout id, once it answered. */
  checkout: string | null;
  customer_email: string | null;
  plan: BnplPlanView;
}

export function proposedPlan(plan: Plan, amount: number): BnplPlanView {
  return {
    type: plan.type, interval: plan.interval, source: "proposed",
    installments: plan.installments.map((item) => ({ ...item, amount_refunded: 0, status: "proposed" as const })),
    amount, amount_refunded: 0, fee: plan.fee, net_amount: amount - plan.fee,
  };
}

/** The provider's plan as shown; the fee and net amount stay as agreed at creation. */
export function providerPlan(current: BnplPlanView, record: Extract<BnplCheckoutRecord, { found: true }>): BnplPlanView {
  if (record.installments.length === 0) return current;
  const installments = record.installments.map((item) => ({ ...item }));
  return {
    ...current, source: "provider", installments,
    amount: installments.reduce((sum, item) => sum + item.amount, 0),
    amount_refunded: record.amount_refunded,
  };
}

export async function writeDetails(tx: Tx, payment_id: string, details: BnplDetails): Promise<void> {
  await tx.run("UPDATE payments SET method_details = ?, updated_ms = ? WHERE id = ?", [JSON.stringify(details), Date.now(), payment_id]);
}
