// Attempts: one call to one channel for one payment. Persist, then call, then record the outcome
// with its ledger entries, payment state and event in one transaction. Cascade to the next channel
// only when the decline table says so, within the attempt limit.
import { crashPoint } from "../chaos/crash.ts";
import type { AuthorizeOutcome, CardForChannel } from "../channels/contract.ts";
import type { UnifiedDecline } from "../channels/declines.ts";
import { recordEvent, type EventType } from "../events/outbox.ts";
import { newId } from "../ids.ts";
import { assert, limits } from "../limits.ts";
import type { Tx } from "../store/db.ts";
import { safetyNetInquiryMs, type PaymentsContext } from "./context.ts";
import {
  loadAttempt, lockPayment, readPaymentView, savePayment,
  type AttemptRecord, type AttemptStatus, type LastError, type PaymentRecord, type PaymentView,
} from "./model.ts";
import { postAuthorization, postSale } from "./postings.ts";
import { observeAuthorization, observePayment } from "../metrics/prometheus.ts";
import { recordAttemptTransition } from "../metrics/samples.ts";
import { mayCascade } from "../routing/cascade.ts";
import { observe } from "../routing/engine.ts";
import { outcomeKindOf } from "../routing/stats.ts";

/** After an attempt: go on to the next channel, or stop (with the payment as it now stands). */
type Step = { next: "cascade"; attempt_id?: string } | { next: "final"; view?: PaymentView };

export interface PlannedAttempt {
  channel: string;
  reason: string;
  strategy: string;
  scores: object;
}

/** The channels to try, and the statistics segment their outcomes teach. */
export interface PlannedRoute {
  attempts: PlannedAttempt[];
  segment: string;
}

/** Persists an attempt before its call; should this process die, the janitor finds it and asks. */
export async function insertAttempt(ctx: PaymentsContext, tx: Tx, payment: PaymentRecord, plan: PlannedAttempt): Promise<string> {
  const id = newId("att");
  const now = Date.now();
  await tx.run(
    `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, amount, currency, capture, routing_reason, routing_strategy,
       routing_scores, next_inquiry_ms, created_ms, updated_ms)
     VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [id, payment.id, payment.merchant_id, plan.channel, payment.amount, payment.currency, payment.capture_method === "automatic" ? 1 : 0,
      plan.reason, plan.strategy, JSON.stringify(plan.scores), safetyNetInquiryMs(ctx.settings), now, now],
  );
  return id;
}

interface AttemptUpdate {
  status: AttemptStatus;
  channel_reference?: string | null;
  decline?: UnifiedDecline;
  network_response_code?: string | null;
  latency_ms?: number;
  next_inquiry_ms: number | null;
}

export async function updateAttempt(tx: Tx, attempt: AttemptRecord, update: AttemptUpdate): Promise<void> {
  await tx.run(
    `UPDATE attempts SET status = ?, channel_reference = COALESCE(?, channel_reference), decline_code = ?, decline_category = ?,
       raw_code = ?, network_response_code = COALESCE(?, network_response_code), latency_ms = COALESCE(?, latency_ms),
       next_inquiry_ms = ?, updated_ms = ? WHERE id = ?`,
    [
      update.status, update.channel_reference ?? null, update.decline?.code ?? null, update.decline?.category ?? null,
      update.decline?.raw_code ?? null, update.decline?.network_response_code ?? update.network_response_code ?? null,
      update.latency_ms ?? null, update.next_inquiry_ms, Date.now(), attempt.id,
    ],
  );
  await recordAttemptTransition(tx, attempt, update);
}

/** Records the event for a payment's new state; returns the payment as the event shows it. */
export async function emit(tx: Tx, payment: PaymentRecord, type: EventType): Promise<PaymentView> {
  const view = await readPaymentView(tx, payment);
  await recordEvent(tx, { merchant_id: payment.merchant_id, type, object_id: payment.id, object: view });
  return view;
}

/** The channel approved: book the authorization (and capture), and move the payment on. */
export async function recordApproval(
  tx: Tx,
  payment: PaymentRecord,
  attempt: AttemptRecord,
  approval: { channel_reference: string; captured: boolean; network_response_code?: string; latency_ms?: number; validity_ms: number },
): Promise<PaymentView> {
  await updateAttempt(tx, attempt, {
    status: approval.captured ? "captured" : "authorized",
    channel_reference: approval.channel_reference,
    network_response_code: approval.network_response_code,
    latency_ms: approval.latency_ms,
    next_inquiry_ms: null,
  });
  const movement = { merchant_id: payment.merchant_id, channel: attempt.channel, currency: payment.currency, amount: payment.amount };
  payment.channel = attempt.channel;
  payment.last_error = null;
  payment.next_action = null;
  if (approval.captured) {
    await postSale(tx, attempt.id, movement);
    payment.status = "succeeded";
    payment.amount_received = payment.amount;
    payment.amount_capturable = 0;
  } else {
    await postAuthorization(tx, attempt.id, movement);
    payment.status = "requires_capture";
    payment.amount_capturable = payment.amount;
    await tx.run("UPDATE attempts SET authorization_expires_ms = ? WHERE id = ?", [Date.now() + approval.validity_ms, attempt.id]);
  }
  await savePayment(tx, payment);
  return emit(tx, payment, approval.captured ? "payment.succeeded" : "payment.requires_capture");
}

function lastErrorOf(decline: UnifiedDecline, attempt_id: string): LastError {
  const specific = ["expired_card", "incorrect_cvc", "processing_error", "authentication_required"];
  return {
    type: decline.category === "technical" ? "api_error" : "card_error",
    code: specific.includes(decline.code) ? decline.code : decline.category === "technical" ? "processing_error" : "card_declined",
    decline_code: decline.code,
    message: decline.message,
    attempt: attempt_id,
  };
}

/** The channel declined or failed. Returns whether the payment may go on to the next channel. */
export async function recordRefusal(
  tx: Tx,
  payment: PaymentRecord,
  attempt: AttemptRecord,
  refusal: { status: "declined" | "failed"; decline: UnifiedDecline; latency_ms?: number; may_cascade: boolean },
): Promise<Step> {
  await updateAttempt(tx, attempt, { status: refusal.status, decline: refusal.decline, latency_ms: refusal.latency_ms, next_inquiry_ms: null });
  payment.last_error = lastErrorOf(refusal.decline, attempt.id);
  const cascade = refusal.may_cascade && refusal.decline.cascade && !payment.cancel_requested;
  if (cascade) {
    await savePayment(tx, payment);
    return { next: "cascade" };
  }
  payment.status = "failed";
  payment.next_action = null;
  await savePayment(tx, payment);
  return { next: "final", view: await emit(tx, payment, "payment.failed") };
}

export async function recordChallenge(
  ctx: PaymentsContext, tx: Tx, payment: PaymentRecord, attempt: AttemptRecord,
  challenge: { channel_reference: string; redirect_url: string; latency_ms: number },
): Promise<PaymentView> {
  await updateAttempt(tx, attempt, {
    status: "requires_action",
    channel_reference: challenge.channel_reference,
    latency_ms: challenge.latency_ms,
    next_inquiry_ms: Date.now() + ctx.settings.challenge_expiry_ms,
  });
  payment.status = "requires_action";
  payment.channel = attempt.channel;
  payment.next_action = { type: "redirect_to_url", redirect_to_url: { url: challenge.redirect_url, return_url: payment.return_url } };
  await savePayment(tx, payment);
  return emit(tx, payment, "payment.requires_action");
}

/** We do not know what the channel did: park the attempt for the janitor, never guess. */
export async function recordUnknown(ctx: PaymentsContext, tx: Tx, payment: PaymentRecord, attempt: AttemptRecord, latency_ms: number): Promise<PaymentView> {
  await updateAttempt(tx, attempt, { status: "unknown", latency_ms, next_inquiry_ms: Date.now() + ctx.settings.unknown_inquiry_delay_ms });
  payment.status = "processing";
  payment.channel = attempt.channel;
  await savePayment(tx, payment);
  return emit(tx, payment, "payment.processing");
}

async function recordOutcome(
  ctx: PaymentsContext, tx: Tx, payment_id: string, attempt_id: string,
  outcome: AuthorizeOutcome, latency_ms: number, may_cascade: boolean,
): Promise<Step> {
  const payment = await lockPayment(tx, payment_id);
  const attempt = await loadAttempt(tx, attempt_id);
  assert(attempt, `attempt ${attempt_id} exists`);
  if (attempt.status !== "pending") return { next: "final" }; // the janitor settled it first (this call outlived its deadline)
  switch (outcome.kind) {
    case "approved":
      // The merchant canceled while the call was in flight: the janitor reverses the approval.
      if (payment.cancel_requested) return { next: "final", view: await recordUnknown(ctx, tx, payment, attempt, latency_ms) };
      return { next: "final", view: await recordApproval(tx, payment, attempt, { ...outcome, latency_ms, validity_ms: ctx.settings.authorization_validity_ms }) };
    case "challenge":
      return { next: "final", view: await recordChallenge(ctx, tx, payment, attempt, { ...outcome, latency_ms }) };
    case "declined":
      return recordRefusal(tx, payment, attempt, { status: "declined", decline: outcome.decline, latency_ms, may_cascade: may_cascade && mayCascade(outcome.decline) });
    case "error":
      return recordRefusal(tx, payment, attempt, { status: "failed", decline: outcome.decline, latency_ms, may_cascade: may_cascade && mayCascade(outcome.decline) });
    case "unknown":
      return { next: "final", view: await recordUnknown(ctx, tx, payment, attempt, latency_ms) };
  }
}

/**
 * Runs the attempts of a confirmation along the route. The first attempt may already be
 * persisted (with the payment, in one commit); later ones are persisted before their call.
 */
export async function runAttempts(
  ctx: PaymentsContext,
  payment: PaymentRecord,
  plan: PlannedRoute,
  card: CardForChannel,
  first_attempt_id: string,
): Promise<PaymentView | undefined> {
  const route = plan.attempts;
  const attempts_max = Math.min(route.length, limits.attempts_per_payment_max);
  let attempt_id = first_attempt_id;
  for (let index = 0; index < attempts_max; index++) {
    const connector = ctx.channels.require(route[index].channel);
    crashPoint("after_attempt_persisted");
    const started = performance.now();
    const outcome = await connector.authorize({
      reference: attempt_id,
      amount: payment.amount,
      currency: payment.currency,
      card,
      capture: payment.capture_method === "automatic",
      return_url: `${ctx.settings.public_url}/v1/payments/${payment.id}/return`,
    });
    const latency_ms = Math.round(performance.now() - started);
    crashPoint("after_channel_answered");
    const nextPlan = index + 1 < attempts_max ? route[index + 1] : undefined;
    const step = await ctx.db.transaction(async (tx): Promise<Step> => {
      const recorded = await recordOutcome(ctx, tx, payment.id, attempt_id, outcome, latency_ms, nextPlan !== undefined);
      // The next attempt is persisted in the same commit as this refusal: a process dying between
      // them cannot leave a payment processing with no attempt for the janitor to ask about.
      if (recorded.next === "cascade" && nextPlan) return { next: "cascade", attempt_id: await insertAttempt(ctx, tx, payment, nextPlan) };
      return recorded;
    });
    observeAuthorization(route[index].channel, card.brand, outcome, latency_ms);
    const kind = outcomeKindOf(outcome);
    if (kind) observe(ctx.routing.stats, { channel: route[index].channel, segment: plan.segment, kind });
    if (step.next === "final" && step.view) observePayment(step.view.status);
    if (step.next === "final") return step.view;
    if (!step.attempt_id) return undefined;
    attempt_id = step.attempt_id;
  }
  return undefined;
}
