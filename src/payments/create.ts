// Creating and confirming card payments.
import type { CardForChannel } from "../channels/contract.ts";
import { invalid, notFound, ok, unexpectedState, type Result } from "../errors.ts";
import { recordEvent } from "../events/outbox.ts";
import { newId } from "../ids.ts";
import { cardExpired, checkCardNumber } from "../methods/card/card.ts";
import { lookupBin } from "../methods/card/bins.ts";
import { findCurrency } from "../money/currency.ts";
import { createBankTransferPayment, type BankTransferInput } from "../methods/bank-transfer/flow.ts";
import { createBnplPayment, type BnplInput } from "../methods/bnpl/flow.ts";
import { createDirectDebitPayment } from "../methods/direct-debit/flow.ts";
import { createWalletPayment, type WalletInput } from "../methods/wallet/flow.ts";
import type { PaymentFactsV2 } from "../routing/conditions.ts";
import { decide } from "../routing/engine.ts";
import { estimateCost } from "../routing/fees.ts";
import { currentRoutingConfig, staticRoutingConfig } from "../routing/rules.ts";
import type { Tx } from "../store/db.ts";
import { insertAttempt, runAttempts, type PlannedRoute } from "./attempts.ts";
import type { PaymentsContext } from "./context.ts";
import {
  loadPayment, lockPayment, paymentFromRow, paymentView, readPaymentView, rememberCardDetails, savePayment,
  type AmountMismatchPolicy, type CardDetails, type PaymentRecord, type PaymentView,
} from "./model.ts";

export interface CardInput {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
}

export interface PaymentMethodInput {
  type: "card";
  card: CardInput;
}

const methodFamilies = ["card", "bank_transfer", "wallet", "bnpl"] as const;

/** What create accepts: a card, a bank transfer, a wallet or BNPL (each family in src/methods/). */
export interface CreatePaymentMethodInput {
  type: (typeof methodFamilies)[number];
  card?: CardInput;
  bank_transfer?: BankTransferInput["bank_transfer"];
  wallet?: WalletInput["wallet"];
  bnpl?: BnplInput["bnpl"];
}

export interface CreatePaymentInput {
  amount: number;
  currency: string;
  payment_method_data?: CreatePaymentMethodInput;
  /** Direct debit: collect under this mandate (src/methods/direct-debit). */
  mandate?: string;
  amount_mismatch_policy?: AmountMismatchPolicy;
  capture_method?: "automatic" | "manual";
  confirm?: boolean;
  customer?: string;
  description?: string;
  metadata?: Record<string, string>;
  return_url?: string;
}

/** A card that passed validation: facts for routing, data for the channel. Lives only in memory. */
interface CheckedCard {
  channel_card: CardForChannel;
  bin_country: string | null;
  issuer: string | null;
  funding: string | null;
}

const cardParam = "payment_method_data.card";

async function checkCard(ctx: PaymentsContext, input: CardInput): Promise<Result<CheckedCard>> {
  const number = input.number.replace(/[ -]/g, "");
  const check = checkCardNumber(number);
  if (!check.ok) return invalid(`${cardParam}.number`, check.code, check.message);
  if (cardExpired(input.exp_month, input.exp_year)) return invalid(`${cardParam}.exp_year`, "invalid_expiry_year", "The card has expired.");
  if (input.cvc !== undefined && input.cvc.length !== check.cvc_length) {
    return invalid(`${cardParam}.cvc`, "invalid_cvc", `The security code of a ${check.brand} card has ${check.cvc_length} digits.`);
  }
  const bin = await lookupBin(ctx.db, number);
  return ok({
    channel_card: { number, exp_month: input.exp_month, exp_year: input.exp_year, cvc: input.cvc, brand: check.brand },
    bin_country: bin?.country ?? null,
    issuer: bin?.issuer ?? null,
    funding: bin?.funding ?? null,
  });
}

async function planRoute(ctx: PaymentsContext, merchant_id: string, facts: PaymentFactsV2): Promise<Result<PlannedRoute>> {
  const config = (await currentRoutingConfig(ctx.db, merchant_id))?.config ?? staticRoutingConfig(ctx.channels.names());
  const decision = decide(config, { payment: facts, channels: ctx.channels.list(), fees: ctx.routing.fees }, ctx.routing.stats, ctx.routing.random);
  if (decision.route.length === 0) {
    const why = decision.skipped.length ? ` (${decision.skipped.join("; ")})` : "";
    return invalid("payment_method_data", "no_eligible_channel", `No configured channel can take this payment${why}.`);
  }
  // Every attempt carries its expected cost, whichever strategy chose it (metrics price it).
  for (const entry of decision.route) {
    entry.scores.cost_minor ??= estimateCost(ctx.routing.fees, entry.channel, {
      method: facts.method, brand: facts.brand, card_country: facts.country, amount: facts.amount, currency: facts.currency,
    });
  }
  return ok({ attempts: decision.route, segment: decision.segment });
}

/** A dry run of the routing decision for a payment, explained; writes nothing. */
export async function simulateRoute(
  ctx: PaymentsContext,
  merchant_id: string,
  input: { amount: number; currency: string; card: { number: string }; metadata?: Record<string, string> },
): Promise<Result<object>> {
  const currency = findCurrency(input.currency);
  if (!currency) return invalid("currency", "invalid_currency", `'${input.currency}' is not a supported ISO 4217 currency.`);
  const number = input.card.number.replace(/[ -]/g, "");
  const check = checkCardNumber(number);
  if (!check.ok) return invalid("card.number", check.code, check.message);
  const bin = await lookupBin(ctx.db, number);
  const card: CheckedCard = {
    channel_card: { number, exp_month: 12, exp_year: 2100, brand: check.brand },
    bin_country: bin?.country ?? null, issuer: bin?.issuer ?? null, funding: bin?.funding ?? null,
  };
  const facts = factsOf({ amount: input.amount, currency: currency.code, metadata: input.metadata ?? {} }, card);
  const current = await currentRoutingConfig(ctx.db, merchant_id);
  const config = current?.config ?? staticRoutingConfig(ctx.channels.names());
  const decision = decide(config, { payment: facts, channels: ctx.channels.list(), fees: ctx.routing.fees }, ctx.routing.stats, ctx.routing.random);
  const { number: _pan, ...shown } = facts as PaymentFactsV2 & { number?: string };
  return ok({
    object: "routing_decision", config_version: current?.version ?? 0, strategy: config.strategy.type, payment: shown,
    segment: decision.segment, route: decision.route, skipped: decision.skipped, decision_us: Math.round(decision.decision_us * 10) / 10,
  });
}

function factsOf(payment: { amount: number; currency: string; metadata: Record<string, string> }, card: CheckedCard): PaymentFactsV2 {
  return {
    method: "card", brand: card.channel_card.brand, currency: payment.currency, amount: payment.amount, country: card.bin_country,
    issuer: card.issuer, card_type: card.funding, metadata: payment.metadata,
  };
}

async function insertPayment(tx: Tx, payment: PaymentRecord, idempotency_key: string | undefined): Promise<void> {
  await tx.run(
    `INSERT INTO payments (id, merchant_id, status, amount, currency, capture_method, amount_capturable, amount_received, amount_refunded,
       card_id, customer, description, metadata, return_url, idempotency_key, created_ms, updated_ms)
     VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      payment.id, payment.merchant_id, payment.status, payment.amount, payment.currency, payment.capture_method, payment.card_id,
      payment.customer, payment.description, JSON.stringify(payment.metadata), payment.return_url, idempotency_key ?? null,
      payment.created_ms, payment.created_ms,
    ],
  );
}

export async function createPayment(
  ctx: PaymentsContext,
  merchant_id: string,
  input: CreatePaymentInput,
  idempotency_key?: string,
): Promise<Result<PaymentView>> {
  if (idempotency_key) {
    // A retry that took over the key of a request that died mid-way: that request's payment, as it
    // now stands (the janitor settles whatever it left unknown), never a second payment.
    const existing = await ctx.db.get<Record<string, unknown>>("SELECT * FROM payments WHERE merchant_id = ? AND idempotency_key = ?", [merchant_id, idempotency_key]);
    if (existing) return ok(await readPaymentView(ctx.db, paymentFromRow(existing)));
  }
  const method = input.payment_method_data;
  if (input.mandate !== undefined) {
    if (method) return invalid("payment_method_data", "parameter_unknown", "A direct debit is collected under its mandate: send mandate or payment_method_data, not both.");
    if (input.amount_mismatch_policy) return invalid("amount_mismatch_policy", "parameter_unknown", "amount_mismatch_policy applies to bank transfers only.");
    return createDirectDebitPayment(ctx, merchant_id, { ...input, mandate: input.mandate }, idempotency_key);
  }
  if (method) {
    // Exactly the object named by `type`, and no other family's.
    for (const family of methodFamilies) {
      if (family !== method.type && method[family] !== undefined) {
        return invalid(`payment_method_data.${family}`, "parameter_unknown", `Received unknown parameter: payment_method_data.${family} (the type is ${method.type}).`);
      }
    }
    if (method[method.type] === undefined) {
      return invalid(`payment_method_data.${method.type}`, "parameter_missing", `Missing required parameter: payment_method_data.${method.type}.`);
    }
    if (input.amount_mismatch_policy && method.type !== "bank_transfer") {
      return invalid("amount_mismatch_policy", "parameter_unknown", "amount_mismatch_policy applies to bank transfers only.");
    }
  }
  switch (method?.type) {
    case "bank_transfer":
      return createBankTransferPayment(ctx, merchant_id, { ...input, payment_method_data: { type: "bank_transfer", bank_transfer: method.bank_transfer! } }, idempotency_key);
    case "wallet":
      return createWalletPayment(ctx, merchant_id, { ...input, payment_method_data: { type: "wallet", wallet: method.wallet! } }, idempotency_key);
    case "bnpl":
      return createBnplPayment(ctx, merchant_id, { ...input, payment_method_data: { type: "bnpl", bnpl: method.bnpl! } }, idempotency_key);
    case "card":
    case undefined:
      break;
  }
  if (input.amount_mismatch_policy) return invalid("amount_mismatch_policy", "parameter_unknown", "amount_mismatch_policy applies to bank transfers only.");
  const cardInput = method?.card;
  const currency = findCurrency(input.currency);
  if (!currency) return invalid("currency", "invalid_currency", `'${input.currency}' is not a supported ISO 4217 currency.`);
  if (input.confirm && !input.payment_method_data) {
    return invalid("payment_method_data", "payment_method_required", "A payment method is required to confirm a payment.");
  }
  const card = cardInput ? await checkCard(ctx, cardInput) : undefined;
  if (card && !card.ok) return card;
  const facts = card?.ok ? factsOf({ amount: input.amount, currency: currency.code, metadata: input.metadata ?? {} }, card.value) : undefined;
  const route = input.confirm && facts ? await planRoute(ctx, merchant_id, facts) : undefined;
  if (route && !route.ok) return route;

  const now = Date.now();
  const payment: PaymentRecord = {
    id: newId("pay"), merchant_id, status: input.confirm ? "processing" : card ? "requires_confirmation" : "requires_payment_method",
    amount: input.amount, currency: currency.code, capture_method: input.capture_method ?? "automatic",
    amount_capturable: 0, amount_received: 0, amount_refunded: 0, card_id: null, channel: null,
    customer: input.customer ?? null, description: input.description ?? null, metadata: input.metadata ?? {},
    last_error: null, next_action: null, return_url: input.return_url ?? null, cancel_requested: false, cancellation_reason: null,
    created_ms: now,
  };
  const { first_attempt_id, created } = await ctx.db.transaction(async (tx) => {
    const details = card?.ok ? await vaultCard(ctx, tx, merchant_id, card.value) : undefined;
    payment.card_id = details?.id ?? null;
    await insertPayment(tx, payment, idempotency_key);
    const created = paymentView(payment, details?.details, []);
    await recordEvent(tx, { merchant_id, type: "payment.created", object_id: payment.id, object: created });
    return { first_attempt_id: route?.ok ? await insertAttempt(ctx, tx, payment, route.value.attempts[0]) : undefined, created };
  });
  if (!route?.ok || !card?.ok || !first_attempt_id) return ok(created);
  const view = await runAttempts(ctx, payment, route.value, card.value.channel_card, first_attempt_id);
  return ok(view ?? (await currentView(ctx, merchant_id, payment.id)));
}

/** Stores the PAN in the vault (encrypted) and returns the card's display details. */
async function vaultCard(ctx: PaymentsContext, tx: Tx, merchant_id: string, card: CheckedCard): Promise<{ id: string; details: CardDetails }> {
  const { number, brand, exp_month, exp_year } = card.channel_card;
  const stored = await ctx.vault.store(tx, {
    merchant_id, pan: number, brand, exp_month, exp_year, bin_country: card.bin_country, issuer: card.issuer, funding: card.funding,
  });
  const details: CardDetails = { brand, last4: number.slice(-4), exp_month, exp_year, bin_country: card.bin_country, fingerprint: stored.fingerprint };
  rememberCardDetails(stored.id, details);
  return { id: stored.id, details };
}

async function currentView(ctx: PaymentsContext, merchant_id: string, payment_id: string): Promise<PaymentView> {
  const payment = await loadPayment(ctx.db, merchant_id, payment_id);
  if (!payment) throw new Error(`programmer error: payment ${payment_id} vanished`);
  return readPaymentView(ctx.db, payment);
}

export async function confirmPayment(
  ctx: PaymentsContext,
  merchant_id: string,
  payment_id: string,
  input: { payment_method_data?: PaymentMethodInput; return_url?: string },
): Promise<Result<PaymentView>> {
  const payment = await loadPayment(ctx.db, merchant_id, payment_id);
  if (!payment) return notFound("payment", payment_id);
  if (payment.status !== "requires_confirmation" && payment.status !== "requires_payment_method") {
    return unexpectedState("payment", payment.status, "confirm");
  }
  if (!input.payment_method_data && !payment.card_id) {
    return invalid("payment_method_data", "payment_method_required", "A payment method is required to confirm a payment.");
  }
  const card = input.payment_method_data ? await checkCard(ctx, input.payment_method_data.card) : await vaultedCard(ctx, payment);
  if (!card.ok) return card;
  const route = await planRoute(ctx, merchant_id, factsOf(payment, card.value));
  if (!route.ok) return route;

  const started = await ctx.db.transaction(async (tx) => {
    const locked = await lockPayment(tx, payment.id);
    if (locked.status !== "requires_confirmation" && locked.status !== "requires_payment_method") return unexpectedState("payment", locked.status, "confirm");
    if (input.payment_method_data) {
      locked.card_id = (await vaultCard(ctx, tx, merchant_id, card.value)).id;
      await tx.run("UPDATE payments SET card_id = ? WHERE id = ?", [locked.card_id, locked.id]);
    }
    if (input.return_url) {
      locked.return_url = input.return_url;
      await tx.run("UPDATE payments SET return_url = ? WHERE id = ?", [input.return_url, locked.id]);
    }
    locked.status = "processing";
    await savePayment(tx, locked);
    return ok({ payment: locked, attempt_id: await insertAttempt(ctx, tx, locked, route.value.attempts[0]) });
  });
  if (!started.ok) return started;
  const view = await runAttempts(ctx, started.value.payment, route.value, card.value.channel_card, started.value.attempt_id);
  return ok(view ?? (await currentView(ctx, merchant_id, payment.id)));
}

async function vaultedCard(ctx: PaymentsContext, payment: PaymentRecord): Promise<Result<CheckedCard>> {
  const row = await ctx.db.get<{ brand: string; exp_month: number; exp_year: number }>(
    "SELECT brand, exp_month, exp_year FROM vault_cards WHERE id = ?",
    [payment.card_id],
  );
  if (!row) throw new Error(`programmer error: vault card of ${payment.id} missing`);
  const number = await ctx.vault.reveal(ctx.db, payment.card_id!);
  const bin = await lookupBin(ctx.db, number);
  return ok({
    channel_card: { number, exp_month: Number(row.exp_month), exp_year: Number(row.exp_year), brand: row.brand },
    bin_country: bin?.country ?? null,
    issuer: bin?.issuer ?? null,
    funding: bin?.funding ?? null,
  });
}
