// BNPL through a provider, creation: everything is validated before anything is written (provider,
// currency and plan, installments, confirm, capture); then the payment (with its proposed plan and
// expiry) and its attempt are persisted in one transaction, then the provider's checkout is opened
// and the payment waits in `requires_action` with a redirect to it. What happens next is in
// records.ts (the provider's record, applied once), settle.ts (notifications, the return page) and janitor.ts.
import type { BnplCheckoutOutcome, BnplConnector } from "../../channels/contract.ts";
import { invalid, ok, type Result } from "../../errors.ts";
import { recordEvent } from "../../events/outbox.ts";
import { newId } from "../../ids.ts";
import { assert } from "../../limits.ts";
import { findCurrency } from "../../money/currency.ts";
import { emit, updateAttempt } from "../../payments/attempts.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { attemptFromRow, loadPayment, lockPayment, paymentFromRow, readPaymentView, savePayment, type PaymentRecord, type PaymentView } from "../../payments/model.ts";
import type { Tx } from "../../store/db.ts";
import { proposedPlan, writeDetails, type BnplDetails } from "./details.ts";
import { planFor } from "./plans.ts";

export interface BnplInput {
  type: "bnpl";
  bnpl: { provider: string; installments?: number; customer_email?: string; expires_in?: number };
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

const param = "payment_method_data.bnpl";
/** How long the customer has to finish the provider's checkout unless the merchant says. */
export const checkout_expiry_default_s = 30 * 60;

/** Creates and confirms a BNPL payment. Every validation happens before anything is written. */
export async function createBnplPayment(
  ctx: PaymentsContext, merchant_id: string, input: CreateBnplInput, idempotency_key?: string,
): Promise<Result<PaymentView>> {
  const details = input.payment_method_data.bnpl;
  const connector = ctx.bnpl?.get(details.provider);
  if (!connector) {
    const offered = [...(ctx.bnpl?.keys() ?? [])].join(", ") || "none configured";
    return invalid(`${param}.provider`, "provider_unsupported", `BNPL providers: ${offered}; not '${details.provider}'.`);
  }
  const currency = findCurrency(input.currency);
  if (!currency) return invalid("currency", "invalid_currency", `'${input.currency}' is not a supported ISO 4217 currency.`);
  const now = Date.now();
  const planned = planFor(input.amount, currency.code, details.installments, now);
  if (!planned.ok) {
    const field = planned.problem === "currency_unsupported" ? "currency"
      : planned.problem === "amount_too_small" || details.installments === undefined ? "amount" : `${param}.installments`;
    return invalid(field, planned.problem, planned.message);
  }
  if (input.confirm !== true) return invalid("confirm", "confirmation_required", "BNPL payments are created confirmed (confirm: true): the customer is sent to the provider at once.");
  if (input.capture_method === "manual") return invalid("capture_method", "capture_method_unsupported", "BNPL payments are captured when the provider approves: capture_method must be automatic.");

  const expires_ms = now + (details.expires_in ?? checkout_expiry_default_s) * 1000;
  const payment: PaymentRecord = {
    id: newId("pay"), merchant_id, status: "processing", amount: input.amount, currency: currency.code, capture_method: "automatic",
    amount_capturable: 0, amount_received: 0, amount_refunded: 0, card_id: null, channel: null,
    customer: input.customer ?? null, description: input.description ?? null, metadata: input.metadata ?? {},
    last_error: null, next_action: null, return_url: input.return_url ?? null, cancel_requested: false, cancellation_reason: null,
    created_ms: now, method_type: "bnpl", expires_ms,
  };
  const method: BnplDetails = {
    provider: details.provider, checkout: null, customer_email: details.customer_email ?? null, plan: proposedPlan(planned.plan, input.amount),
  };
  payment.method_details = method as unknown as Record<string, unknown>;
  const attempt_id = newId("att");
  // Persist, then call: should this process die now, the janitor opens the checkout again (the
  // provider's create is idempotent by our attempt reference).
  await ctx.db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded,
         card_id, customer, description, metadata, return_url, idempotency_key, created_ms, updated_ms, method_type, method_details, expires_ms)
       VALUES (?, ?, ?, ?, ?, 'automatic', 0, 0, 0, NULL, ?, ?, ?, ?, ?, ?, ?, 'bnpl', ?, ?)`,
      [
        payment.id, merchant_id, payment.status, payment.amount, payment.currency, payment.customer, payment.description,
        JSON.stringify(payment.metadata), payment.return_url, idempotency_key ?? null, now, now, JSON.stringify(method), expires_ms,
      ],
    );
    await recordEvent(tx, { merchant_id, type: "payment.created", object_id: payment.id, object: await readPaymentView(tx, payment) });
    await tx.run(
      `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, amount, currency, capture, routing_reason, routing_strategy,
         routing_scores, next_inquiry_ms, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, 1, ?, NULL, ?, NULL, ?, ?)`,
      [attempt_id, payment.id, merchant_id, connector.name, payment.amount, payment.currency,
        `bnpl through ${details.provider}: ${connector.name} (${planned.plan.type}, ${planned.plan.installments.length} installments)`,
        JSON.stringify({ cost_minor: planned.plan.fee }), now, now],
    );
  });
  await openCheckout(ctx, connector, payment.id, attempt_id);
  return ok(await readPaymentView(ctx.db, (await loadPayment(ctx.db, merchant_id, payment.id))!));
}

/** Opens (or re-opens: idempotent at the provider) the checkout of a persisted attempt and records the answer. */
export async function openCheckout(ctx: PaymentsContext, connector: BnplConnector, payment_id: string, attempt_id: string): Promise<void> {
  const row = await ctx.db.get<Record<string, unknown>>("SELECT * FROM payments WHERE id = ?", [payment_id]);
  assert(row, `payment ${payment_id} exists`);
  const payment = paymentFromRow(row);
  const method = payment.method_details as unknown as BnplDetails;
  assert(method?.plan && payment.expires_ms, `payment ${payment_id} is a BNPL payment`);
  const started = performance.now();
  const outcome = await connector.createCheckout({
    reference: attempt_id, amount: payment.amount, currency: payment.currency,
    plan: { type: method.plan.type, installments: method.plan.installments.length },
    customer_email: method.customer_email ?? undefined,
    return_url: `${ctx.settings.public_url}/v1/payments/${payment_id}/return`,
    expires_at_ms: payment.expires_ms,
  });
  await ctx.db.transaction((tx) => recordCheckoutOutcome(tx, payment_id, attempt_id, outcome, Math.round(performance.now() - started)));
}

async function recordCheckoutOutcome(tx: Tx, payment_id: string, attempt_id: string, outcome: BnplCheckoutOutcome, latency_ms: number): Promise<void> {
  const payment = await lockPayment(tx, payment_id);
  const attemptRow = await tx.get<Record<string, unknown>>(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt_id]);
  assert(attemptRow, `attempt ${attempt_id} exists`);
  const attempt = attemptFromRow(attemptRow);
  if (attempt.status !== "pending") return; // recorded already (a janitor's re-open, a notification)
  switch (outcome.kind) {
    case "created": {
      await tx.run("UPDATE attempts SET status = 'requires_action', channel_reference = ?, latency_ms = ?, updated_ms = ? WHERE id = ?", [
        outcome.channel_reference, latency_ms, Date.now(), attempt_id,
      ]);
      const method = payment.method_details as unknown as BnplDetails;
      await writeDetails(tx, payment.id, { ...method, checkout: outcome.channel_reference });
      payment.method_details = { ...method, checkout: outcome.channel_reference } as unknown as Record<string, unknown>;
      if (payment.status !== "processing") return; // decided meanwhile: the janitor cancels the checkout
      payment.channel = attempt.channel;
      if (payment.cancel_requested) {
        // The merchant canceled while the checkout was being opened: the janitor cancels it at the provider.
        payment.status = "canceled";
        await savePayment(tx, payment);
        await emit(tx, payment, "payment.canceled");
        return;
      }
      payment.status = "requires_action";
      payment.next_action = { type: "redirect_to_url", redirect_to_url: { url: outcome.redirect_url, return_url: payment.return_url } };
      await savePayment(tx, payment);
      await emit(tx, payment, "payment.requires_action");
      return;
    }
    case "error": {
      await updateAttempt(tx, attempt, {
        status: "failed", latency_ms, next_inquiry_ms: null,
        decline: { code: "processing_error", category: "technical", cascade: false, message: "The BNPL provider refused to open the checkout.", raw_code: outcome.reason.slice(0, 200) },
      });
      if (payment.status !== "processing") return;
      payment.status = payment.cancel_requested ? "canceled" : "failed";
      payment.last_error = { type: "api_error", code: "processing_error", message: "The BNPL provider could not open the checkout.", attempt: attempt_id };
      await savePayment(tx, payment);
      await emit(tx, payment, payment.status === "canceled" ? "payment.canceled" : "payment.failed");
      return;
    }
    case "unknown":
      // Still `pending`: the janitor opens it again (idempotent at the provider).
      await tx.run("UPDATE attempts SET latency_ms = ?, updated_ms = ? WHERE id = ?", [latency_ms, Date.now(), attempt_id]);
      return;
  }
}
