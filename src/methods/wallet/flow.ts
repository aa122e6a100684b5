// E-wallet payments: validated against the provider table, persisted (payment and attempt) before
// the wallet is called, then the wallet's order is opened and its answer recorded: redirect →
// `requires_action` with the wallet's page, QR → `requires_action` with the payload to show, app
// push → `processing` while the customer approves in the app. The result comes later from the
// wallet's record (apply.ts), prompted by its notification, the return page or the janitor.
import type { WalletConnector, WalletOrderOutcome } from "../../channels/contract.ts";
import { corridorDecline } from "../../channels/declines.ts";
import { invalid, ok, type Result } from "../../errors.ts";
import { recordEvent } from "../../events/outbox.ts";
import { newId } from "../../ids.ts";
import { assert } from "../../limits.ts";
import { findCurrency } from "../../money/currency.ts";
import { emit, updateAttempt } from "../../payments/attempts.ts";
import type { PaymentsContext } from "../../payments/context.ts";
import { attemptFromRow, loadPayment, lockPayment, readPaymentView, savePayment, type PaymentRecord, type PaymentView } from "../../payments/model.ts";
import type { Tx } from "../../store/db.ts";
import { isOpenWalletPayment } from "./apply.ts";
import { findWalletProvider, walletProviderNames, type WalletFlow } from "./providers.ts";

export interface WalletInput {
  type: "wallet";
  wallet: { provider: string; phone?: string; expires_in?: number };
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

/** What a wallet payment shows of its method (`payment_method_details.wallet`). */
export interface WalletMethodDetails {
  provider: string;
  flow: WalletFlow;
  /** App push: the wallet account, masked. */
  phone?: string;
}

const param = "payment_method_data.wallet";

export function maskPhone(phone: string): string {
  return phone.length <= 4 ? "****" : `${"*".repeat(phone.length - 4)}${phone.slice(-4)}`;
}

/** Creates and confirms a wallet payment. Every validation happens before anything is written. */
export async function createWalletPayment(
  ctx: PaymentsContext, merchant_id: string, input: CreateWalletInput, idempotency_key?: string,
): Promise<Result<PaymentView>> {
  const details = input.payment_method_data.wallet;
  const provider = findWalletProvider(details.provider);
  if (!provider) return invalid(`${param}.provider`, "provider_unsupported", `Wallet providers: ${walletProviderNames.join(", ")}; not '${details.provider}'.`);
  const currency = findCurrency(input.currency);
  if (!currency || !provider.currencies.includes(currency.code)) {
    return invalid("currency", "currency_not_supported", `${details.provider} takes ${provider.currencies.join(", ").toLowerCase()}, not '${input.currency}'.`);
  }
  if (provider.phone_required && !details.phone) return invalid(`${param}.phone`, "parameter_missing", `${details.provider} pushes the payment to the customer's app: the wallet's phone number is required.`);
  if (details.expires_in !== undefined && details.expires_in > provider.expiry_max_s) {
    return invalid(`${param}.expires_in`, "expiry_too_long", `${details.provider} keeps an order open at most ${provider.expiry_max_s} s.`);
  }
  if (input.confirm !== true) return invalid("confirm", "confirmation_required", "Wallet payments are created confirmed (confirm: true): the wallet's order is opened at once.");
  if (input.capture_method === "manual") return invalid("capture_method", "capture_method_unsupported", "Wallets take the money when the customer approves: capture_method must be automatic.");
  const connector = ctx.wallets?.forProvider(provider.name);
  if (!connector) return invalid(`${param}.provider`, "no_eligible_channel", `No configured channel serves ${provider.name}.`);

  const now = Date.now();
  const expires_ms = now + (details.expires_in ?? provider.default_expiry_s) * 1000;
  const method_details: WalletMethodDetails = { provider: provider.name, flow: provider.flow, ...(details.phone ? { phone: maskPhone(details.phone) } : {}) };
  const payment_id = newId("pay");
  const attempt_id = newId("att");
  // Persist, then call: should this process die now, the janitor opens the order again (the
  // wallet's create is idempotent by our attempt reference).
  await ctx.db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded,
         card_id, customer, description, metadata, return_url, idempotency_key, created_ms, updated_ms, method_type, method_details, expires_ms, wallet_phone)
       VALUES (?, ?, 'processing', ?, ?, 'automatic', 0, 0, 0, NULL, ?, ?, ?, ?, ?, ?, ?, 'wallet', ?, ?, ?)`,
      [
        payment_id, merchant_id, input.amount, currency.code, input.customer ?? null, input.description ?? null,
        JSON.stringify(input.metadata ?? {}), input.return_url ?? null, idempotency_key ?? null, now, now, JSON.stringify(method_details), expires_ms, details.phone ?? null,
      ],
    );
    const payment = await lockPayment(tx, payment_id);
    await recordEvent(tx, { merchant_id, type: "payment.created", object_id: payment_id, object: await readPaymentView(tx, payment) });
    await tx.run(
      `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, amount, currency, capture, routing_reason, routing_strategy,
         routing_scores, next_inquiry_ms, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, 1, ?, NULL, NULL, NULL, ?, ?)`,
      [attempt_id, payment_id, merchant_id, connector.name, input.amount, currency.code, `wallet ${provider.name}: ${connector.name} serves it`, now, now],
    );
  });
  await openOrderAndRecord(ctx, connector, payment_id, attempt_id);
  return ok(await readPaymentView(ctx.db, (await loadPayment(ctx.db, merchant_id, payment_id))!));
}

/** Where the wallet sends the customer back after a redirect: Corridor's return page for the payment. */
function walletReturnUrl(ctx: PaymentsContext, payment_id: string): string {
  return `${ctx.settings.public_url}/v1/payments/${payment_id}/return`;
}

/** Opens (or re-opens: idempotent by the attempt reference) the wallet order of a persisted attempt and records the answer. */
export async function openOrderAndRecord(ctx: PaymentsContext, connector: WalletConnector, payment_id: string, attempt_id: string): Promise<void> {
  const row = await ctx.db.get<Record<string, unknown>>("SELECT * FROM payments WHERE id = ?", [payment_id]);
  assert(row, `payment ${payment_id} exists`);
  const details = JSON.parse(row.method_details as string) as WalletMethodDetails;
  const started = performance.now();
  const outcome = await connector.createOrder({
    reference: attempt_id, provider: details.provider, flow: details.flow, amount: Number(row.amount), currency: row.currency as string,
    phone: (row.wallet_phone as string | null) ?? undefined, return_url: walletReturnUrl(ctx, payment_id), expires_at_ms: Number(row.expires_ms),
  });
  await ctx.db.transaction((tx) => recordOrderOutcome(tx, payment_id, attempt_id, outcome, Math.round(performance.now() - started)));
}

async function recordOrderOutcome(tx: Tx, payment_id: string, attempt_id: string, outcome: WalletOrderOutcome, latency_ms: number): Promise<void> {
  const payment = await lockPayment(tx, payment_id);
  const attempt = attemptFromRow((await tx.get<Record<string, unknown>>(`SELECT * FROM attempts WHERE id = ? ${tx.forUpdate}`, [attempt_id]))!);
  if (attempt.status !== "pending") return; // recorded already (the janitor's re-open, a notification)
  switch (outcome.kind) {
    case "created":
      await tx.run("UPDATE attempts SET status = 'requires_action', channel_reference = ?, latency_ms = ?, updated_ms = ? WHERE id = ?", [
        outcome.channel_reference, latency_ms, Date.now(), attempt_id,
      ]);
      if (isOpenWalletPayment(payment)) await showNextAction(tx, payment, attempt.channel, outcome);
      return;
    case "declined":
      await updateAttempt(tx, attempt, { status: "declined", decline: outcome.decline, latency_ms, next_inquiry_ms: null });
      await fail(tx, payment, { type: "wallet_error", code: outcome.decline.code, decline_code: outcome.decline.raw_code, message: outcome.decline.message, attempt: attempt_id });
      return;
    case "error": {
      const decline = corridorDecline("processing_error", outcome.reason.slice(0, 200));
      await updateAttempt(tx, attempt, { status: "failed", decline, latency_ms, next_inquiry_ms: null });
      await fail(tx, payment, { type: "api_error", code: "processing_error", message: "The wallet could not open the payment.", attempt: attempt_id });
      return;
    }
    case "unknown":
      // Still `pending`: the janitor opens it again (idempotent at the wallet).
      await tx.run("UPDATE attempts SET latency_ms = ?, updated_ms = ? WHERE id = ?", [latency_ms, Date.now(), attempt_id]);
      return;
  }
}

async function showNextAction(tx: Tx, payment: PaymentRecord, channel: string, order: Extract<WalletOrderOutcome, { kind: "created" }>): Promise<void> {
  const flow = (payment.method_details as unknown as WalletMethodDetails).flow;
  payment.channel = channel;
  switch (flow) {
    case "redirect":
      assert(order.redirect_url, "a redirect order has the wallet's page");
      payment.status = "requires_action";
      payment.next_action = { type: "redirect_to_url", redirect_to_url: { url: order.redirect_url, return_url: payment.return_url } };
      break;
    case "qr":
      assert(order.qr_data, "a QR order has its payload");
      payment.status = "requires_action";
      payment.next_action = { type: "display_qr_code", display_qr_code: { data: order.qr_data, expires_at: Math.floor(payment.expires_ms! / 1000) } };
      break;
    case "app_push":
      // Nothing for the customer to be shown: the wallet app asks them.
      payment.status = "processing";
      payment.next_action = null;
      break;
  }
  await savePayment(tx, payment);
  await emit(tx, payment, payment.status === "requires_action" ? "payment.requires_action" : "payment.processing");
}

async function fail(tx: Tx, payment: PaymentRecord, last_error: NonNullable<PaymentRecord["last_error"]>): Promise<void> {
  if (!isOpenWalletPayment(payment)) return;
  payment.status = "failed";
  payment.last_error = last_error;
  payment.next_action = null;
  await savePayment(tx, payment);
  await emit(tx, payment, "payment.failed");
}
