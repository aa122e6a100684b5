// The objects the API answers with, as TypeBox schemas, and the one table saying which operation
// answers with which. They document (GET /openapi.json: components.schemas and every operation's
// responses) and are never used to serialize: a route's reply is whatever its view builds, so
// these schemas cannot drop or coerce a field. Each mirrors a view function (paymentView,
// attemptView, refundView, mandateView, virtualAccountView, disputeView, eventView, ...); the
// tests validate real answers against them with every object closed (no undocumented field).
import { Type, type TSchema } from "@sinclair/typebox";
import type { BnplInstallmentRecord } from "../channels/contract.ts";
import type { DeclineCategory } from "../channels/declines.ts";
import type { FailureType } from "../errors.ts";
import { eventTypes } from "../events/outbox.ts";
import type { WebhookEndpoint as WebhookEndpointRecord } from "../events/webhooks.ts";
import type { AmountType, StatusReason, VirtualAccountStatus, VirtualAccountUsage } from "../methods/bank-transfer/virtual-accounts-model.ts";
import type { BnplPlanView } from "../methods/bnpl/details.ts";
import type { MandateStatus, MandateType } from "../methods/direct-debit/mandates.ts";
import type { DebitScheme } from "../methods/direct-debit/returns.ts";
import type { WalletFlow } from "../methods/wallet/providers.ts";
import { dimensions, metricsWindows } from "../metrics/aggregate.ts";
import type { ChannelState } from "../metrics/degradation.ts";
import { evidenceFields, type DisputeStage, type DisputeStatus } from "../payments/disputes.ts";
import { paymentStatuses, type AmountMismatchPolicy, type AttemptStatus, type BankTransferInstructions as InstructionsRecord, type LastError } from "../payments/model.ts";
import { refundReasons, type RefundKind, type RefundStatus } from "../payments/refunds.ts";
import type { RouteStrategy } from "../routing/context.ts";
import type { BreakerState } from "../routing/health.ts";
import { StringEnum } from "./schemas.ts";

// ---- building blocks ----

/** The values of a string union, checked by the compiler to be all of them: a value added to the
 *  type breaks the build until it is documented here. */
const valuesOf = <T extends string>() =>
  <const L extends readonly T[]>(list: L & ([Exclude<T, L[number]>] extends [never] ? unknown : { undocumented: Exclude<T, L[number]> })): L => list;

const componentPath = "#/components/schemas/";

/** A reference to another documented object (OpenAPI 3.1 allows a description beside $ref). */
function ref(name: ObjectName, description: string): TSchema {
  return Type.Unsafe({ $ref: `${componentPath}${name}`, description });
}

function nullable(schema: TSchema, description: string): TSchema {
  return Type.Union([schema, Type.Null()], { description });
}

/** An object with these fields; `optional` ones are sent only in some cases (the description says when). */
function object(description: string, fields: Record<string, TSchema>, optional: Record<string, TSchema> = {}): TSchema {
  const properties: Record<string, TSchema> = { ...fields };
  for (const [name, schema] of Object.entries(optional)) properties[name] = Type.Optional(schema);
  return Type.Object(properties, { description });
}

/** A JSON object whose keys are data (a map), every value of one schema. */
function mapOf(value: TSchema, description: string): TSchema {
  return Type.Unsafe({ type: "object", additionalProperties: value, description });
}

const id = (prefix: string, description: string) => Type.String({ pattern: `^${prefix}_[0-9a-z]+$`, description });
const literal = (value: string, description: string) => Type.Literal(value, { description });
const text = (description: string) => Type.String({ description });
const minorUnits = (description: string) => Type.Integer({ minimum: 0, description: `${description} Integer, in the currency's minor unit.` });
const unixSeconds = (description: string) => Type.Integer({ minimum: 0, description: `${description} Unix seconds.` });
const currency = (description = "Three-letter ISO 4217 code, lower case.") => Type.String({ pattern: "^[a-z]{3}$", description });
const country = (description: string) => Type.String({ pattern: "^[A-Z]{2}$", description });
const metadata = () => mapOf(Type.String(), "The merchant's own key-value pairs, as given at creation.");
const livemode = () => Type.Boolean({ description: "Whether the object exists in live mode; false in this sandbox deployment." });
const created = () => unixSeconds("When the object was created.");
const last4 = (description: string) => Type.String({ pattern: "^.{1,4}$", description });

// ---- payments ----

const attemptStatuses = valuesOf<AttemptStatus>()([
  "pending", "requires_action", "authorized", "captured", "declined", "failed", "unknown", "voided", "expired", "reversing", "reversed",
]);

const RoutingScores = object(
  "The numbers the router decided on for this attempt (which ones depends on the strategy).",
  {},
  {
    rule_priority: Type.Integer({ minimum: 1, description: "Place in the list the routing rules produced (1 = first)." }),
    weight: Type.Number({ description: "volume_split: the channel's configured weight." }),
    approval_mean: Type.Number({ description: "success_rate, cost_aware: posterior mean of the approval rate in the segment, plus the channel-wide drift (about 0-1)." }),
    approval_sample: Type.Number({ description: "success_rate, cost_aware: the Thompson sample drawn for this decision (0-1)." }),
    evidence: Type.Number({ description: "success_rate, cost_aware: discounted number of outcomes behind the estimate." }),
    cost_minor: Type.Number({ description: "cost_aware (and BNPL: the provider's fee): expected cost of the attempt, minor units of the payment's currency." }),
    breaker: StringEnum(valuesOf<BreakerState>()(["closed", "open", "half_open"]), { description: "elimination: the worse of the channel's and the channel x segment circuit breaker states." }),
  },
);

const PaymentAttempt = object("One try of a payment on one channel (a card acquirer, a bank, a wallet, a BNPL provider).", {
  id: id("att", "Unique identifier (att_...); the reference the channel knows the attempt by."),
  object: literal("payment_attempt", "Always payment_attempt."),
  channel: text("The channel the attempt was sent to."),
  status: StringEnum(attemptStatuses, {
    description: "pending (being sent), requires_action, authorized, captured, declined, failed, unknown (the channel's answer was lost; being asked), " +
      "voided, expired, reversing (approved after the merchant gave up on it; being voided or refunded), reversed.",
  }),
  decline_code: nullable(Type.String(), "The unified decline code (e.g. do_not_honor, insufficient_funds) or a direct debit's return reason code; null unless declined or returned."),
  decline_category: nullable(StringEnum(valuesOf<DeclineCategory>()(["hard", "soft", "technical"])), "hard (do not retry), soft (may succeed later), technical (the channel failed); null unless declined."),
  network_response_code: nullable(Type.String(), "The card network's response code, when the channel gave one."),
  channel_response_code: nullable(Type.String(), "The channel's own response code, as it sent it."),
  latency_ms: nullable(Type.Integer({ minimum: 0 }), "How long the channel took to answer, milliseconds; null until it answered."),
  routing_reason: text("Why the router chose this channel, in words."),
  routing_strategy: nullable(
    StringEnum(valuesOf<RouteStrategy>()(["rules", "volume_split", "success_rate", "cost_aware", "elimination"])),
    "The routing strategy that placed the channel; null for methods that are not routed (bank transfers, wallets, BNPL, direct debits).",
  ),
  routing_scores: nullable(RoutingScores, "The numbers behind the routing decision; null when there were none."),
  created: created(),
});

const PaymentError = object("Why the payment's last attempt did not succeed.", {
  type: StringEnum(valuesOf<LastError["type"]>()(["card_error", "api_error", "bank_error", "wallet_error", "bnpl_error"]), {
    description: "card_error (the issuer declined), api_error (the channel failed), bank_error (a bank refused or returned a direct debit), " +
      "wallet_error (the e-wallet or its customer refused), bnpl_error (the BNPL provider declined or the checkout ended).",
  }),
  code: text("A stable code for the failure (e.g. card_declined, debit_failed, debit_returned)."),
  message: text("A message for people."),
  attempt: id("att", "The attempt that failed."),
}, {
  decline_code: text("The unified decline code, or the bank's return reason code (sent when there is one)."),
});

const BankTransferInstructions = object("What the customer needs to pay a bank transfer.", {
  type: StringEnum(valuesOf<InstructionsRecord["type"]>()(["id_virtual_account", "mx_clabe", "br_pix"]), { description: "id_virtual_account (Indonesia, IDR), mx_clabe (Mexico, MXN) or br_pix (Brazil, BRL)." }),
  country: country("The country of the transfer (ID, MX, BR)."),
  bank: text("The receiving bank."),
  amount: minorUnits("The amount to transfer."),
  currency: currency(),
  expires_at: unixSeconds("Until when the transfer is taken."),
}, {
  account_number: Type.String({ pattern: "^[0-9]+$", description: "ID: the virtual account number to transfer to." }),
  clabe: Type.String({ pattern: "^[0-9]{18}$", description: "MX: the 18-digit CLABE to transfer to." }),
  pix_copy_paste: text("BR: the Pix copy-and-paste code (BR Code)."),
  txid: text("BR: the Pix transaction id."),
});

const NextAction = Type.Union([
  object("Send the customer to a page (3-D Secure challenge, the wallet's or the BNPL provider's checkout).", {
    type: literal("redirect_to_url", "Always redirect_to_url."),
    redirect_to_url: object("Where to send the customer.", {
      url: text("The page to send the customer to."),
      return_url: nullable(Type.String(), "Where the customer comes back to afterwards (the payment's return_url), or null."),
    }),
  }),
  object("Show the customer how to pay a bank transfer.", {
    type: literal("display_bank_transfer_instructions", "Always display_bank_transfer_instructions."),
    display_bank_transfer_instructions: BankTransferInstructions,
  }),
  object("Show the customer a QR code to scan in the wallet's app.", {
    type: literal("display_qr_code", "Always display_qr_code."),
    display_qr_code: object("The QR code.", {
      data: text("The payload to render as a QR code."),
      expires_at: unixSeconds("Until when it can be paid."),
    }),
  }),
], { description: "What the customer must do for the payment to go on; `type` says which variant." });

const installmentStatuses = valuesOf<BnplInstallmentRecord["status"] | "proposed">()(["proposed", "paid", "scheduled", "canceled", "refunded"]);

const BnplPlan = object("The installment plan: Corridor's proposal until the provider approves, then the provider's own plan (re-read whenever a refund changes it).", {
  type: StringEnum(valuesOf<BnplPlanView["type"]>()(["pay_in_4", "parcelado", "meses_sin_intereses"]), { description: "pay_in_4 (4 installments every 2 weeks), parcelado (BRL, 1 to 12 monthly), meses_sin_intereses (MXN, 3/6/9/12 monthly)." }),
  interval: StringEnum(valuesOf<BnplPlanView["interval"]>()(["every_2_weeks", "monthly"]), { description: "How far apart the installments fall due." }),
  source: StringEnum(valuesOf<BnplPlanView["source"]>()(["proposed", "provider"]), { description: "proposed: Corridor's schedule before the provider decided; provider: the provider's plan." }),
  installments: Type.Array(object("One installment.", {
    sequence: Type.Integer({ minimum: 1, description: "1-based position in the plan." }),
    amount: minorUnits("What the customer owes (or paid) for it now, after refunds."),
    amount_refunded: minorUnits("Taken off this installment by refunds."),
    due_date: Type.String({ pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description: "When it falls due, YYYY-MM-DD (UTC)." }),
    status: StringEnum(installmentStatuses, { description: "proposed (before the provider decided), paid, scheduled, canceled or refunded." }),
  }), { description: "The installments, in order." }),
  amount: minorUnits("What the customer still owes or paid, after refunds: the sum of the installments."),
  amount_refunded: minorUnits("Refunded so far."),
  fee: minorUnits("The provider's fee, kept from the merchant's payout (not given back on refunds)."),
  net_amount: Type.Integer({ description: "What the merchant is paid: the payment's amount less the fee. Integer, in the currency's minor unit." }),
});

const DirectDebitReturn = object("The bank's return of the collection (an R-transaction).", {
  reason_code: text("The scheme's reason code (SEPA AM04, MD01, ...; ACH R01, R09, ...)."),
  reason: text("The reason code in words."),
  after_settlement: Type.Boolean({ description: "Whether it came back after the collection settled (the merchant's funds are reversed) or before (the payment failed)." }),
  returned_at: unixSeconds("When the bank returned it."),
});

const paymentMethodFamilies = {
  card: object("A card payment.", {
    type: literal("card", "Always card."),
    card: object("The card (the number itself is never returned).", {
      brand: text("The card brand (visa, mastercard, amex, ...)."),
      last4: Type.String({ pattern: "^[0-9]{4}$", description: "The last four digits of the card number." }),
      exp_month: Type.Integer({ minimum: 1, maximum: 12, description: "Expiry month." }),
      exp_year: Type.Integer({ minimum: 2000, maximum: 2100, description: "Expiry year, four digits." }),
      bin_country: nullable(country("Country code."), "The issuer's country from the BIN table, or null when unknown."),
      fingerprint: text("Identifies the card number within the merchant, without revealing it: the same card has the same fingerprint."),
    }),
  }),
  bank_transfer: object("A bank transfer (the instructions are in next_action while it is awaited).", {
    type: literal("bank_transfer", "Always bank_transfer."),
    bank_transfer: object("Where the transfer is made.", {
      country: country("ID, MX or BR."),
      bank: text("The receiving bank."),
    }, {
      virtual_account: id("va", "The reusable virtual account the transfer was made into (sent only for those payments)."),
    }),
  }),
  wallet: object("An e-wallet payment.", {
    type: literal("wallet", "Always wallet."),
    wallet: object("The wallet.", {
      provider: text("The wallet provider (gcash, dana, alipay_plus, ovo, shopeepay, paypay, ...)."),
      flow: StringEnum(valuesOf<WalletFlow>()(["redirect", "app_push", "qr"]), { description: "redirect (the customer approves on the wallet's page), app_push (in the wallet's app), qr (by scanning a code)." }),
    }, {
      phone: text("App push only: the wallet's phone number, masked but for its last four digits."),
    }),
  }),
  bnpl: object("A buy-now-pay-later payment.", {
    type: literal("bnpl", "Always bnpl."),
    bnpl: object("The BNPL checkout.", {
      provider: text("The BNPL provider."),
      checkout: nullable(Type.String(), "The provider's checkout id, once it answered."),
      customer_email: nullable(Type.String(), "The customer's e-mail given to the provider, or null."),
      plan: BnplPlan,
    }),
  }),
  direct_debit: object("A direct debit under a mandate.", {
    type: literal("direct_debit", "Always direct_debit."),
    direct_debit: object("The debited account and the collection's progress.", {
      scheme: StringEnum(valuesOf<DebitScheme>()(["sepa_core", "sepa_b2b", "ach"]), { description: "sepa_core, sepa_b2b or ach." }),
      mandate: id("md", "The mandate the payment is collected under."),
      mandate_reference: text("The unique mandate reference given to the bank."),
      last4: last4("The last four characters of the account number (IBAN or US account number)."),
      sequence_type: nullable(StringEnum(["FRST", "RCUR"] as const), "SEPA: FRST (first collection under the mandate) or RCUR; null for ACH."),
      presentments: Type.Integer({ minimum: 1, description: "How many times the debit was presented (1, more after re-presentments)." }),
      settled_at: nullable(unixSeconds("When the collection settled."), "When the collection settled; null until it did."),
      return: nullable(DirectDebitReturn, "The bank's return of the collection; null unless it came back."),
    }, {
      country: country("SEPA only: the IBAN's country."),
      bic: nullable(Type.String(), "SEPA only: the debtor bank's BIC, or null when not given."),
      creditor_id: text("SEPA only: the creditor identifier the collection is made under."),
      routing_number: Type.String({ pattern: "^[0-9]{9}$", description: "ACH only: the ABA routing number." }),
      account_type: StringEnum(["checking", "savings"] as const, { description: "ACH only: checking or savings." }),
    }),
  }),
} as const;

const PaymentMethodDetails = Type.Union(Object.values(paymentMethodFamilies), {
  description: "What the payment shows of how it is paid, per method family: `type` names the family and the property of that name holds its details.",
});

const Payment = object("A payment: one amount to collect from one customer, by any method, with its attempts.", {
  id: id("pay", "Unique identifier (pay_...)."),
  object: literal("payment", "Always payment."),
  status: StringEnum(paymentStatuses, {
    description: "requires_payment_method, requires_confirmation, requires_action (next_action says what the customer must do), processing, " +
      "requires_capture (authorized, capture_method manual), succeeded, canceled, failed.",
  }),
  amount: Type.Integer({ minimum: 1, description: "The amount to collect. Integer, in the currency's minor unit." }),
  amount_capturable: minorUnits("Authorized and not yet captured."),
  amount_received: minorUnits("Collected."),
  amount_refunded: minorUnits("Refunded or being refunded (pending refunds included)."),
  amount_disputed: minorUnits("Currently debited for open or lost disputes."),
  currency: currency(),
  capture_method: StringEnum(["automatic", "manual"] as const, { description: "automatic (captured on approval) or manual (authorized, then captured by POST /v1/payments/{id}/capture)." }),
  payment_method_details: nullable(ref("PaymentMethodDetails", "How the payment is paid."), "How the payment is paid; null until a payment method is given."),
  channel: nullable(Type.String(), "The channel that holds the payment (the last attempt's), or null before any attempt."),
  attempts: Type.Array(ref("PaymentAttempt", "An attempt."), { description: "Every attempt, oldest first." }),
  last_error: nullable(ref("PaymentError", "The last failure."), "Why the last attempt failed, or null."),
  next_action: nullable(ref("NextAction", "What the customer must do."), "What the customer must do for the payment to go on (status requires_action), or null."),
  cancellation_reason: nullable(Type.String(), "Why it was canceled (duplicate, fraudulent, requested_by_customer, abandoned, expired, or the method's reason), or null."),
  customer: nullable(Type.String(), "The merchant's id of the customer, or null."),
  description: nullable(Type.String(), "The merchant's description, or null."),
  metadata: metadata(),
  livemode: livemode(),
  created: created(),
}, {
  amount_mismatch_policy: StringEnum(valuesOf<AmountMismatchPolicy>()(["reject", "accept_partial", "accept_and_refund_excess"]), {
    description: "Bank transfers only: what happens to a transfer of another amount (reject, accept_partial, accept_and_refund_excess).",
  }),
  amount_refund_due: minorUnits("Bank transfers only: received but owed back to the customer (a wrong amount, too late); not the merchant's."),
  expires_at: unixSeconds("Asynchronous methods only (bank transfer, wallet, BNPL): until when the payment can be paid."),
  mandate: id("md", "Direct debits only: the mandate the payment is collected under."),
});

const PaymentReturn = object("Where the customer lands after a redirect when the payment has no return_url: the payment's status (with a return_url the answer is a 303 redirect to it).", {
  id: id("pay", "The payment."),
  object: literal("payment", "Always payment."),
  status: StringEnum(paymentStatuses, { description: "The payment's status after the channel was asked." }),
});

// ---- refunds, disputes ----

const Refund = object("Money given back on a payment: a refund by the merchant, or the return of funds that were never the merchant's.", {
  id: id("re", "Unique identifier (re_...)."),
  object: literal("refund", "Always refund."),
  payment: id("pay", "The payment refunded."),
  kind: StringEnum(valuesOf<RefundKind>()(["refund", "return_of_funds"]), {
    description: "refund: the merchant gives money back; return_of_funds: money that was never the merchant's (a wrong amount, a transfer after expiry) goes back to the account it came from.",
  }),
  amount: Type.Integer({ minimum: 1, description: "The amount given back. Integer, in the currency's minor unit." }),
  currency: currency(),
  status: StringEnum(valuesOf<RefundStatus>()(["pending", "succeeded", "failed"]), { description: "pending (the channel is paying it out), succeeded or failed." }),
  reason: nullable(StringEnum(refundReasons), "The merchant's reason, or null."),
  failure_reason: nullable(Type.String(), "Why it failed (declined, channel_never_received, or the channel's reason), or null."),
  metadata: metadata(),
  created: created(),
}, {
  destination: object("Where the money is paid out (masked), for methods that cannot pay back by themselves (bank transfers, direct debits).", {
    type: literal("bank_account", "Always bank_account."),
    country: country("The account's country."),
    bank: nullable(Type.String(), "The bank (a bank code, a routing number or a BIC), or null."),
    account_holder_name: text("The account holder's name."),
    account_last4: last4("The last four characters of the account (number, CLABE, IBAN or Pix key)."),
  }),
});

const Dispute = object("A card dispute (chargeback) raised by the cardholder's bank, and the merchant's answer to it.", {
  id: id("dp", "Unique identifier (dp_...)."),
  object: literal("dispute", "Always dispute."),
  payment: id("pay", "The disputed payment."),
  amount: minorUnits("The disputed amount."),
  currency: currency(),
  reason_code: text("The card network's reason code (e.g. 10.4, 4837)."),
  reason: text("The reason code in words (Other when unknown)."),
  network: text("The card network (visa, mastercard, ...)."),
  stage: StringEnum(valuesOf<DisputeStage>()(["chargeback", "representment", "pre_arbitration", "arbitration"]), { description: "Where the dispute is: chargeback, representment, pre_arbitration, arbitration." }),
  status: StringEnum(valuesOf<DisputeStatus>()(["needs_response", "under_review", "won", "lost"]), { description: "needs_response (evidence is due), under_review, won or lost." }),
  evidence_due_by: unixSeconds("The deadline for the merchant's evidence."),
  evidence: nullable(
    object("The merchant's evidence, field by field.", {}, Object.fromEntries(evidenceFields.map((field) => [field, text(`Evidence: ${field.replace(/_/g, " ")}.`)]))),
    "The evidence saved or submitted so far, or null.",
  ),
  fee: minorUnits("The dispute fee charged to the merchant (not given back when the merchant wins)."),
  livemode: livemode(),
  created: created(),
});

// ---- direct debit, virtual accounts ----

const Mandate = object("A direct-debit mandate: the customer's authorization to pull money from one bank account (SEPA or ACH).", {
  id: id("md", "Unique identifier (md_...)."),
  object: literal("mandate", "Always mandate."),
  type: StringEnum(valuesOf<MandateType>()(["sepa_debit", "ach_debit"]), { description: "sepa_debit or ach_debit; the property of that name holds the account." }),
  scheme: StringEnum(valuesOf<DebitScheme>()(["sepa_core", "sepa_b2b", "ach"]), { description: "sepa_core, sepa_b2b or ach." }),
  status: StringEnum(valuesOf<MandateStatus>()(["active", "inactive", "revoked", "lapsed"]), {
    description: "active; inactive after a return that ends it; revoked by the merchant; lapsed after 36 months without a collection.",
  }),
  status_reason: nullable(Type.String(), "Why it is no longer active: the return code that ended it, revoked_by_merchant or no_collection_for_36_months; null while active."),
  currency: currency(),
  reference: text("The unique mandate reference given to the bank with every collection."),
  customer: nullable(Type.String(), "The merchant's id of the customer, or null."),
  accepted_at: unixSeconds("When the customer signed the mandate."),
  last_collection_at: nullable(unixSeconds("The last collection."), "When the last collection was made, or null."),
  lapses_at: nullable(unixSeconds("The lapse."), "When the mandate lapses without a further collection; null unless active."),
  metadata: metadata(),
  livemode: livemode(),
  created: created(),
}, {
  creditor_id: text("SEPA only: the creditor identifier collections are made under."),
  sepa_debit: object("SEPA only: the debtor's account (masked).", {
    last4: last4("The IBAN's last four characters."),
    country: country("The IBAN's country."),
    bic: nullable(Type.String(), "The debtor bank's BIC, or null when not given."),
    account_holder_name: text("The account holder's name."),
  }),
  ach_debit: object("ACH only: the debtor's account (masked).", {
    last4: last4("The account number's last four digits."),
    routing_number: Type.String({ pattern: "^[0-9]{9}$", description: "The ABA routing number." }),
    account_type: StringEnum(["checking", "savings"] as const, { description: "checking or savings." }),
    account_holder_name: text("The account holder's name."),
  }),
});

const VirtualAccount = object("A reusable virtual account (an Indonesian VA number or a Mexican CLABE) for one customer; every transfer into it is a payment.", {
  id: id("va", "Unique identifier (va_...)."),
  object: literal("virtual_account", "Always virtual_account."),
  country: country("ID or MX."),
  bank: text("The issuing bank."),
  currency: currency(),
  customer: text("The merchant's id of the customer the account belongs to."),
  amount_type: StringEnum(valuesOf<AmountType>()(["open", "closed"]), { description: "open: any amount is taken; closed: only `amount`." }),
  amount: nullable(Type.Integer({ minimum: 1 }), "Closed accounts: the one amount taken (minor units); null for open ones."),
  usage: StringEnum(valuesOf<VirtualAccountUsage>()(["multi_use", "single_use"]), { description: "multi_use or single_use (inactive after its first accepted payment)." }),
  status: StringEnum(valuesOf<VirtualAccountStatus>()(["active", "inactive", "expired"]), { description: "active, inactive (deactivated, used, or refused by the bank) or expired." }),
  status_reason: nullable(StringEnum(valuesOf<StatusReason>()(["deactivated", "used", "expired", "bank_refused"])), "Why it no longer takes money; null while active."),
  expires_at: nullable(unixSeconds("The expiry."), "When it expires, or null for no expiry."),
  payments_count: Type.Integer({ minimum: 0, description: "Succeeded payments made into it (refused transfers are not counted)." }),
  metadata: metadata(),
  livemode: livemode(),
  created: created(),
}, {
  account_number: Type.String({ pattern: "^[0-9]+$", description: "ID only: the virtual account number (16 digits: the bank's prefix, the merchant, the account)." }),
  clabe: Type.String({ pattern: "^[0-9]{18}$", description: "MX only: the CLABE (18 digits with a valid check digit)." }),
});

// ---- events, webhooks, balance ----

const ChannelHealth = object("A channel's approval rate fell (degraded) or came back (healthy), sent to the merchants using it.", {
  id: id("chh", "Unique identifier (chh_...)."),
  object: literal("channel_health", "Always channel_health."),
  channel: text("The channel."),
  status: StringEnum(valuesOf<ChannelState>()(["degraded", "healthy"]), { description: "degraded or healthy." }),
  approval_rate: nullable(Type.String(), "The recent approval rate, a decimal string (e.g. 0.4286), or null without attempts."),
  baseline_approval_rate: nullable(Type.String(), "The baseline approval rate it was compared with, a decimal string, or null."),
  window: object("The recent window compared.", { start: unixSeconds("Start."), end: unixSeconds("End.") }),
  created: created(),
});

const Event = object("Something that happened, as stored in the outbox and delivered to webhook endpoints.", {
  id: id("evt", "Unique identifier (evt_...)."),
  object: literal("event", "Always event."),
  type: StringEnum(eventTypes, { description: "What happened: the object's kind and the change (payment.succeeded, refund.created, dispute.updated, ...)." }),
  created: created(),
  data: object("The object the event is about.", {
    object: Type.Union(
      (["Payment", "Refund", "Dispute", "Mandate", "VirtualAccount", "ChannelHealth"] as const).map((name) => ref(name, `A ${name} object.`)),
      { description: "The object as it was when the event happened (a payment, refund, dispute, mandate, virtual account or channel health notice)." },
    ),
  }),
});

const webhookEndpointFields = {
  id: id("we", "Unique identifier (we_...)."),
  object: literal("webhook_endpoint", "Always webhook_endpoint."),
  url: text("Where events are delivered."),
  enabled_events: Type.Array(Type.String(), { description: "The event types delivered (* for all)." }),
  status: StringEnum(valuesOf<WebhookEndpointRecord["status"]>()(["enabled", "disabled"]), { description: "enabled or disabled." }),
  created: created(),
};

const WebhookEndpoint = object("A URL subscribed to events.", webhookEndpointFields);
const WebhookEndpointWithSecret = object("A new webhook endpoint, with its signing secret (shown this once).", {
  ...webhookEndpointFields,
  secret: Type.String({ pattern: "^whsec_", description: "The secret deliveries are signed with (Standard Webhooks); shown only at creation." }),
});
const DeletedWebhookEndpoint = object("A disabled webhook endpoint.", {
  id: id("we", "The endpoint."),
  object: literal("webhook_endpoint", "Always webhook_endpoint."),
  deleted: Type.Literal(true, { description: "Always true." }),
});

const BalanceAmount = object("An amount in one currency.", {
  amount: Type.Integer({ description: "Integer, in the currency's minor unit; may be negative (disputes, returns)." }),
  currency: currency(),
});

const Balance = object("The merchant's balance per currency, read from the ledger.", {
  object: literal("balance", "Always balance."),
  livemode: livemode(),
  available: Type.Array(BalanceAmount, { description: "Settled funds that may be paid out, per currency." }),
  pending: Type.Array(BalanceAmount, { description: "Captured funds not yet settled (net of refunds in flight), per currency." }),
});

// ---- routing, metrics ----

const RoutingRule = object("A routing rule: payments matching all its conditions go to its channels first.", {
  name: text("The rule's name."),
  conditions: object("What a payment must match (every condition given).", {}, {
    methods: Type.Array(Type.String(), { description: "Payment methods (card)." }),
    brands: Type.Array(Type.String(), { description: "Card brands." }),
    currencies: Type.Array(Type.String(), { description: "ISO 4217 codes, upper case." }),
    countries: Type.Array(Type.String(), { description: "Issuer countries." }),
    amount_min: Type.Integer({ description: "Smallest amount, minor units." }),
    amount_max: Type.Integer({ description: "Largest amount, minor units." }),
    issuers: Type.Array(Type.String(), { description: "Issuer names." }),
    card_types: Type.Array(Type.String(), { description: "Funding types (credit, debit, prepaid)." }),
    metadata: mapOf(Type.String(), "Metadata values the payment must carry."),
  }),
  channels: Type.Array(Type.String(), { description: "The channels to try, in order." }),
});

const RoutingConfig = object("The merchant's routing configuration.", {
  object: literal("routing_config", "Always routing_config."),
  version: Type.Integer({ minimum: 0, description: "How many configurations the merchant saved (0: none, the static default)." }),
  schema_version: Type.Integer({ description: "The configuration document's schema version (2)." }),
  rules: Type.Array(RoutingRule, { description: "The rules, first match wins." }),
  default_channels: Type.Array(Type.String(), { description: "Channels for payments no rule matches." }),
  strategy: object("How channels are ordered.", {
    type: StringEnum(["rules", "volume_split", "success_rate", "cost_aware"] as const, { description: "rules, volume_split, success_rate or cost_aware." }),
  }, {
    weights: mapOf(Type.Integer({ minimum: 0 }), "volume_split: weight per channel."),
    exploration_share: Type.Number({ description: "Share of payments that explore." }),
    margin_bps: Type.Integer({ description: "cost_aware: approval-rate margin, basis points." }),
    segment_by: Type.Array(Type.String(), { description: "The payment facts statistics are kept per." }),
    amount_bands_usd_minor: Type.Array(Type.Integer(), { description: "Amount band limits, USD minor units." }),
  }),
  elimination: object("Circuit breakers that take failing channels out.", {
    enabled: Type.Boolean({ description: "Whether breakers are on." }),
    failure_threshold: Type.Number({ description: "Share of technical failures in the window that opens a breaker." }),
    window: Type.Integer({ description: "Attempts in the window." }),
    cooldown_ms: Type.Integer({ description: "How long a breaker stays open, milliseconds." }),
  }, {
    min_attempts: Type.Integer({ description: "Attempts needed before a breaker may open." }),
    window_ms: Type.Integer({ description: "The window's duration, milliseconds." }),
    open_channels: StringEnum(["last", "drop"] as const, { description: "An open channel goes last, or is dropped while another remains." }),
  }),
});

const RoutingDecision = object("Where a payment would go now (a dry run; nothing is written).", {
  object: literal("routing_decision", "Always routing_decision."),
  config_version: Type.Integer({ minimum: 0, description: "The routing configuration version used." }),
  strategy: text("The strategy used."),
  payment: object("The payment facts routed on.", {
    method: text("The payment method (card)."),
    brand: text("The card brand."),
    currency: text("ISO 4217 code, upper case."),
    amount: Type.Integer({ description: "Minor units." }),
    country: nullable(Type.String(), "The issuer's country, or null."),
    issuer: nullable(Type.String(), "The issuer, or null."),
    card_type: nullable(Type.String(), "The funding type, or null."),
    metadata: metadata(),
  }),
  segment: text("The statistics segment the payment falls in."),
  route: Type.Array(object("A channel to try.", {
    channel: text("The channel."),
    strategy: text("The strategy that placed it."),
    reason: text("Why, in words."),
    scores: RoutingScores,
  }), { description: "The channels, in the order they would be tried." }),
  skipped: Type.Array(Type.String(), { description: "Channels left out, with why." }),
  decision_us: Type.Number({ description: "How long the decision took, microseconds." }),
});

const ChannelMetrics = object("Channel performance per time bucket and group.", {
  object: literal("channel_metrics", "Always channel_metrics."),
  window: StringEnum(Object.keys(metricsWindows), { description: "The bucket width." }),
  group_by: Type.Array(StringEnum(dimensions), { description: "The dimensions grouped by." }),
  from: unixSeconds("Start (inclusive)."),
  to: unixSeconds("End (exclusive)."),
  data: Type.Array(object("One bucket of one group.", {
    bucket_start: unixSeconds("The bucket's start."),
    bucket_end: unixSeconds("The bucket's end."),
    group: mapOf(Type.Union([Type.String(), Type.Null()]), "The group's value per dimension."),
    attempts: Type.Integer({ minimum: 0, description: "Attempts." }),
    approved: Type.Integer({ minimum: 0, description: "Approved attempts." }),
    approval_rate: nullable(Type.String(), "approved / attempts, a decimal string, or null."),
    decline_codes: mapOf(Type.Integer({ minimum: 0 }), "Attempts per unified decline code."),
    latency_ms: nullable(object("Latency percentiles, milliseconds.", {
      p50: Type.Number({ description: "Median." }), p95: Type.Number({ description: "95th percentile." }), p99: Type.Number({ description: "99th percentile." }),
    }), "Latency percentiles, or null without answers."),
    cost_per_approved: mapOf(Type.Union([Type.Number(), Type.Null()]), "Estimated cost per approved attempt, per currency (minor units), or null."),
    conversion: object("Payments that reached success.", {
      payments: Type.Integer({ minimum: 0, description: "Payments." }),
      succeeded: Type.Integer({ minimum: 0, description: "Succeeded payments." }),
      rate: nullable(Type.String(), "succeeded / payments, a decimal string, or null."),
    }),
  }), { description: "The rows." }),
});

// ---- admin, channels ----

const Merchant = object("A new merchant with its API keys (the secret key is shown this once).", {
  id: id("mer", "Unique identifier (mer_...)."),
  object: literal("merchant", "Always merchant."),
  name: text("The merchant's name."),
  country: text("The merchant's country."),
  default_currency: currency(),
  created: created(),
  api_keys: object("The merchant's API keys.", {
    secret: text("The secret key (server side); shown only now."),
    publishable: text("The publishable key (client side)."),
  }),
});

const LedgerVerification = object("The trial balance of the whole ledger.", {
  balanced: Type.Boolean({ description: "Whether every currency balances and no invariant is broken." }),
  currencies: Type.Array(object("One currency's totals (decimal strings: they may exceed 2^53).", {
    currency: text("ISO 4217 code."),
    debits: Type.String({ pattern: "^-?[0-9]+$", description: "Posted debits, minor units." }),
    credits: Type.String({ pattern: "^-?[0-9]+$", description: "Posted credits, minor units." }),
    pending_debits: Type.String({ pattern: "^-?[0-9]+$", description: "Pending debits, minor units." }),
    pending_credits: Type.String({ pattern: "^-?[0-9]+$", description: "Pending credits, minor units." }),
  }), { description: "Totals per currency." }),
  violations: Type.Array(Type.String(), { description: "Broken invariants, in words (empty when balanced)." }),
  balances: object("Stored balances recomputed from the transfers.", {
    accounts_checked: Type.Integer({ minimum: 0, description: "Accounts whose stored balance was recomputed." }),
    drifted: Type.Integer({ minimum: 0, description: "Accounts whose stored balance differs from its transfers (0 when sound)." }),
  }),
});

const BinImport = object("The result of a BIN range import.", {
  object: literal("bin_import", "Always bin_import."),
  imported: Type.Integer({ minimum: 0, description: "Ranges imported." }),
});

const VaultRotation = object("The result of one vault key rotation call.", {
  object: literal("vault_rotation", "Always vault_rotation."),
  rotated: Type.Integer({ minimum: 0, description: "Cards re-encrypted under the active key by this call." }),
  remaining: Type.Integer({ minimum: 0, description: "Cards still under another key (call again while above 0)." }),
  active_key_id: text("The active key's id."),
  unknown_key_cards: Type.Integer({ minimum: 0, description: "Cards under a key this process does not have (cannot be rotated here)." }),
});

const NotificationReceipt = object("The notification was verified and applied (or had nothing to apply).", {
  received: Type.Literal(true, { description: "Always true." }),
});

// ---- settlement back office ----

const signedMinor = (description: string) => Type.Integer({ description: `${description} Signed integer, in the currency's minor unit.` });
const nullableText = (description: string) => nullable(Type.String(), description);
const nullableSigned = (description: string) => nullable(Type.Integer(), description);
const anyMap = (description: string) => Type.Unsafe({ type: "object", description });

const SettlementFile = object("A settlement file as received: a channel's report or the platform bank's statement.", {
  id: id("sfile", "Unique identifier."),
  object: literal("settlement_file", "Always settlement_file."),
  channel: text("The channel (or bank) whose file it is."),
  kind: StringEnum(["channel_report", "bank_statement"], { description: "channel_report or bank_statement." }),
  filename: text("The file's name."),
  sha256: Type.String({ pattern: "^[0-9a-f]{64}$", description: "SHA-256 of the file's bytes (the same bytes again are a duplicate)." }),
  status: StringEnum(["imported", "duplicate", "rejected"], { description: "imported (matched and booked), duplicate (the same bytes as an imported file: nothing booked) or rejected (a check failed: nothing booked)." }),
  lines: Type.Integer({ minimum: 0, description: "Physical lines of the file." }),
  errors: Type.Array(object("What failed, where.", { line: Type.Integer({ minimum: 0, description: "1-based line (statements: entry), 0: the file as a whole." }), message: text("What is wrong.") }), { description: "Why the file was rejected (empty otherwise)." }),
  duplicate_of: nullableText("The imported file with the same bytes (duplicates)."),
  source: StringEnum(["upload", "fetch"], { description: "Uploaded by an operator or fetched by the scheduler." }),
  created: created(),
});

const fees = object("The channel's fees by kind.", {
  interchange: minorUnits("Interchange."), scheme_fees: minorUnits("Scheme fees."), markup: minorUnits("Acquirer markup."),
  commission: minorUnits("Commission (blended pricing)."), total: minorUnits("All fees."),
});

const SettlementBatch = object("One batch of a channel's settlement report, in one currency.", {
  id: id("sbatch", "Unique identifier."),
  object: literal("settlement_batch", "Always settlement_batch."),
  channel: text("The channel."),
  batch_number: text("The channel's batch number."),
  currency: currency(),
  booking_date: text("YYYY-MM-DD: the batch's booking date."),
  gross: signedMinor("Sum of the lines' gross (captures positive, refunds and chargebacks negative)."),
  fees,
  net: signedMinor("What the channel pays out for the batch."),
  lines: Type.Integer({ minimum: 0, description: "Lines of the batch (its payout line not counted)." }),
  matched_lines: Type.Integer({ minimum: 0, description: "Lines matched to Corridor's records (or resolved by an operator)." }),
  status: StringEnum(["reconciled", "funded", "awaiting_funds", "unfunded"], { description: "reconciled (funded, every line matched), funded, awaiting_funds (within the payout delay) or unfunded (an unfunded_batch exception is open)." }),
  funded_by: nullableText("The bank-statement entry (bent_…) whose credit funded it, or the exception that wrote it off."),
  settlement_file: id("sfile", "The file it came in."),
  created: created(),
});

const ReconciliationException = object("Something reconciliation could not match.", {
  id: id("rex", "Unique identifier."),
  object: literal("reconciliation_exception", "Always reconciliation_exception."),
  type: text("missing_in_report, missing_in_corridor, amount_mismatch, currency_mismatch, duplicate_line, unfunded_batch, fee_mismatch or unmatched_bank_credit."),
  status: StringEnum(["open", "resolved"], { description: "open or resolved." }),
  channel: text("The channel (or bank)."),
  subject: text("What it is about (unique: a rerun never adds it twice)."),
  settlement_file: nullableText("The file of the line."),
  line: nullable(Type.Integer(), "The line in that file."),
  settlement_batch: nullableText("The batch."),
  bank_entry: nullableText("The bank-statement entry."),
  payment: nullableText("The payment."),
  attempt: nullableText("The attempt."),
  merchant: nullableText("The merchant."),
  reference: nullableText("The reference on the line."),
  currency: nullable(currency(), "The currency."),
  expected_amount: nullableSigned("What Corridor expected (minor units)."),
  reported_amount: nullableSigned("What the channel or bank reported (minor units)."),
  details: anyMap("Type-specific facts."),
  resolution: nullable(anyMap("action, note, by (and payment)."), "How it was resolved: by an operator, or matched_late / funded_late by reconciliation."),
  resolved: nullable(Type.Integer({ minimum: 0 }), "When it was resolved, Unix seconds."),
  created: created(),
});

const ReconciliationRun = object("The outcome of a reconciliation run.", {
  id: id("rrun", "Unique identifier."),
  object: literal("reconciliation_run", "Always reconciliation_run."),
  as_of: text("The moment the time checks were made for (ISO 8601)."),
  channels: Type.Array(Type.String(), { description: "The channels checked." }),
  funded_batches: Type.Integer({ minimum: 0, description: "Batches a bank credit funded in this run." }),
  new_exceptions: mapOf(Type.Integer({ minimum: 0 }), "New exceptions by type."),
  closed_exceptions: Type.Integer({ minimum: 0, description: "Open exceptions later facts answered." }),
});

const SettlementFetch = object("What the scheduler fetched now.", {
  object: literal("settlement_fetch", "Always settlement_fetch."),
  files: Type.Array(ref("SettlementFile", "A file fetched and imported (or found duplicate or rejected)."), { description: "Files fetched." }),
  unreachable: Type.Array(object("A source that did not answer.", { channel: text("The channel."), reason: text("Why.") }), { description: "Sources that did not answer." }),
});

const MerchantPricing = object("A merchant's pricing (one version).", {
  object: literal("merchant_pricing", "Always merchant_pricing."),
  merchant: id("mer", "The merchant."),
  version: Type.Integer({ minimum: 1, description: "Increases with each change; lines keep the version they were priced with." }),
  model: StringEnum(["blended", "interchange_plus"], { description: "blended or interchange_plus." }),
  fixed_amount: minorUnits("Fixed fee per settled payment."),
  currency: currency("The fixed fee's currency."),
  created: created(),
}, {
  percent_bps: Type.Integer({ minimum: 0, description: "blended: the percentage, basis points." }),
  markup_bps: Type.Integer({ minimum: 0, description: "interchange_plus: the markup, basis points." }),
});

const ChannelMargin = object("One channel and currency: what merchants paid and what the channel charged.", {
  object: literal("channel_margin", "Always channel_margin."),
  channel: text("The channel."),
  currency: currency(),
  lines: Type.Integer({ minimum: 0, description: "Booked lines." }),
  settled_gross: minorUnits("Gross of settled payments."),
  returned_gross: minorUnits("Gross of refunds and chargebacks."),
  channel_fees: fees,
  merchant_fees: minorUnits("Merchant fees (platform revenue)."),
  margin: signedMinor("Merchant fees − channel fees."),
  margin_bps: Type.Integer({ description: "Margin per 10 000 of settled gross." }),
});

const ChannelMarginList = object("Margins per channel and currency.", {
  object: literal("list", "Always list."),
  url: literal("/v1/admin/settlement/margins", "The list's path."),
  data: Type.Array(ref("ChannelMargin", "A channel and currency."), { description: "Every channel and currency with booked lines." }),
  has_more: Type.Boolean({ description: "Always false." }),
});

// ---- errors, lists ----

const ErrorObject = object("An error answer.", {
  error: object("What went wrong.", {
    type: StringEnum(valuesOf<FailureType>()(["invalid_request_error", "card_error", "authentication_error", "idempotency_error", "rate_limit_error", "api_error"]), {
      description: "invalid_request_error, card_error (402: declined), authentication_error (401), idempotency_error (409, 422), rate_limit_error (429), api_error (5xx, 502: a channel).",
    }),
    code: text("A stable code (parameter_missing, resource_missing, card_declined, ...)."),
    message: text("A message for people."),
  }, {
    param: text("The offending parameter, dotted (e.g. payment_method_data.card.number), when there is one."),
    decline_code: text("402 only: the unified decline code."),
    payment: ref("Payment", "402 only: the payment as it now stands (failed)."),
  }),
});

/** A page of objects, newest first. */
function listOf(item: ObjectName, url: string): TSchema {
  return object(`A page of ${item} objects, newest first.`, {
    object: literal("list", "Always list."),
    url: literal(url, "The list's path."),
    data: Type.Array(ref(item, `A ${item}.`), { description: "The objects of this page." }),
    has_more: Type.Boolean({ description: "Whether there are more after the last one (ask again with starting_after: its id)." }),
  });
}

/** Every documented object, by the name it has under components.schemas. */
const objects = {
  Payment, PaymentAttempt, PaymentError, NextAction, BankTransferInstructions, PaymentMethodDetails, PaymentReturn,
  Refund, Dispute, Mandate, VirtualAccount, Event, ChannelHealth,
  WebhookEndpoint, WebhookEndpointWithSecret, DeletedWebhookEndpoint, Balance,
  RoutingConfig, RoutingDecision, ChannelMetrics, Merchant, LedgerVerification, BinImport, VaultRotation, NotificationReceipt, Error: ErrorObject,
  SettlementFile, SettlementBatch, ReconciliationException, ReconciliationRun, SettlementFetch, MerchantPricing, ChannelMargin, ChannelMarginList,
} as const;

export type ObjectName = keyof typeof objects | `${ListedObject}List`;
type ListedObject = "Payment" | "Refund" | "Dispute" | "Mandate" | "VirtualAccount" | "Event" | "WebhookEndpoint"
  | "SettlementFile" | "SettlementBatch" | "ReconciliationException";

const lists: Record<`${ListedObject}List`, TSchema> = {
  PaymentList: listOf("Payment", "/v1/payments"),
  RefundList: listOf("Refund", "/v1/refunds"),
  DisputeList: listOf("Dispute", "/v1/disputes"),
  MandateList: listOf("Mandate", "/v1/mandates"),
  VirtualAccountList: listOf("VirtualAccount", "/v1/virtual_accounts"),
  EventList: listOf("Event", "/v1/events"),
  WebhookEndpointList: listOf("WebhookEndpoint", "/v1/webhook_endpoints"),
  SettlementFileList: listOf("SettlementFile", "/v1/admin/settlement_files"),
  SettlementBatchList: listOf("SettlementBatch", "/v1/admin/settlement_batches"),
  ReconciliationExceptionList: listOf("ReconciliationException", "/v1/admin/reconciliation/exceptions"),
};

/** components.schemas of the document (plain JSON: TypeBox's symbols do not survive serialization). */
export const objectSchemas: Record<ObjectName, TSchema> = JSON.parse(JSON.stringify({ ...objects, ...lists }));

// ---- which operation answers with which object ----

type ErrorStatus = 400 | 401 | 402 | 404 | 409 | 413 | 415 | 422 | 429 | 502;

interface OperationAnswer {
  /** The object of the success answer (JSON), or `media`: a document of that type (its schema is then a string). */
  object?: ObjectName;
  media?: string;
  /** The success status (200 unless said). */
  status?: 200 | 201;
  /** Public operations: no API key (so no 401). */
  public?: boolean;
  /** Errors this operation answers besides the ones every operation of its kind may (see errorStatusesOf). */
  errors?: ErrorStatus[];
}

/** "METHOD /path" (the document's {param} form) → its success answer. Every operation in the document must be here. */
export const operationAnswers: Record<string, OperationAnswer> = {
  "POST /v1/payments": { object: "Payment", errors: [402, 404] },
  "GET /v1/payments": { object: "PaymentList" },
  "GET /v1/payments/{id}": { object: "Payment" },
  "POST /v1/payments/{id}/confirm": { object: "Payment", errors: [402] },
  "POST /v1/payments/{id}/capture": { object: "Payment", errors: [402] },
  "POST /v1/payments/{id}/cancel": { object: "Payment", errors: [402, 502] },
  "POST /v1/payments/{id}/represent": { object: "Payment" },
  "GET /v1/payments/{id}/return": { object: "PaymentReturn", public: true },
  "POST /v1/refunds": { object: "Refund", errors: [404] },
  "GET /v1/refunds": { object: "RefundList" },
  "GET /v1/refunds/{id}": { object: "Refund" },
  "GET /v1/disputes": { object: "DisputeList" },
  "GET /v1/disputes/{id}": { object: "Dispute" },
  "POST /v1/disputes/{id}/evidence": { object: "Dispute", errors: [502] },
  "GET /v1/balance": { object: "Balance" },
  "POST /v1/webhook_endpoints": { object: "WebhookEndpointWithSecret", status: 201 },
  "GET /v1/webhook_endpoints": { object: "WebhookEndpointList" },
  "GET /v1/webhook_endpoints/{id}": { object: "WebhookEndpoint" },
  "DELETE /v1/webhook_endpoints/{id}": { object: "DeletedWebhookEndpoint" },
  "GET /v1/events": { object: "EventList" },
  "GET /v1/events/{id}": { object: "Event" },
  "PUT /v1/routing/config": { object: "RoutingConfig" },
  "GET /v1/routing/config": { object: "RoutingConfig" },
  "POST /v1/routing/simulate": { object: "RoutingDecision" },
  "GET /v1/metrics/channels": { object: "ChannelMetrics" },
  "GET /v1/admin/metrics/channels": { object: "ChannelMetrics" },
  "POST /v1/mandates": { object: "Mandate" },
  "GET /v1/mandates": { object: "MandateList" },
  "GET /v1/mandates/{id}": { object: "Mandate" },
  "POST /v1/mandates/{id}/revoke": { object: "Mandate" },
  "GET /v1/direct_debit_batches/{date}/pain008": { media: "application/xml" },
  "POST /v1/virtual_accounts": { object: "VirtualAccount" },
  "GET /v1/virtual_accounts": { object: "VirtualAccountList" },
  "GET /v1/virtual_accounts/{id}": { object: "VirtualAccount" },
  "POST /v1/virtual_accounts/{id}/deactivate": { object: "VirtualAccount" },
  "POST /v1/admin/merchants": { object: "Merchant", status: 201 },
  "GET /v1/admin/ledger/verify": { object: "LedgerVerification" },
  "POST /v1/admin/bin_ranges": { object: "BinImport" },
  "POST /v1/admin/vault/rotate": { object: "VaultRotation" },
  "POST /v1/admin/settlement_files": { object: "SettlementFile", status: 201, errors: [413] },
  "GET /v1/admin/settlement_files": { object: "SettlementFileList" },
  "GET /v1/admin/settlement_files/{id}": { object: "SettlementFile" },
  "POST /v1/admin/settlement_files/fetch": { object: "SettlementFetch" },
  "GET /v1/admin/settlement_batches": { object: "SettlementBatchList" },
  "POST /v1/admin/reconciliation/runs": { object: "ReconciliationRun", status: 201 },
  "GET /v1/admin/reconciliation/exceptions": { object: "ReconciliationExceptionList" },
  "GET /v1/admin/reconciliation/exceptions/{id}": { object: "ReconciliationException" },
  "POST /v1/admin/reconciliation/exceptions/{id}/resolve": { object: "ReconciliationException" },
  "PUT /v1/admin/merchants/{id}/pricing": { object: "MerchantPricing", errors: [404] },
  "GET /v1/admin/merchants/{id}/pricing": { object: "MerchantPricing" },
  "GET /v1/admin/settlement/margins": { object: "ChannelMarginList" },
  "POST /v1/channels/{channel}/notifications": { object: "NotificationReceipt", public: true, errors: [502] },
};

/** The error statuses an operation may answer: 400 and 429 always (a bad URL, JSON or parameter; the
 *  rate limits); 401 with an API key; 404 with a path parameter; 409/422 (Idempotency-Key) on
 *  authenticated writes; 413/415 (body size, media type) where a JSON body is read; plus the
 *  operation's own (`errors`). */
export function errorStatusesOf(method: string, path: string, answer: OperationAnswer): ErrorStatus[] {
  const statuses = new Set<ErrorStatus>([400, 429, ...(answer.errors ?? [])]);
  if (!answer.public) statuses.add(401);
  if (path.includes("{")) statuses.add(404);
  if (method !== "GET" && method !== "HEAD" && !answer.public) (statuses.add(409), statuses.add(422));
  if (method === "POST" || method === "PUT" || method === "PATCH") (statuses.add(413), statuses.add(415));
  return [...statuses].sort((a, b) => a - b);
}

const errorDescriptions: Record<ErrorStatus, string> = {
  400: "The request is not valid (a parameter, the JSON, the URL) or the object is not in a state that allows it.",
  401: "No valid API key.",
  402: "The card declined, or the channel refused the capture or cancellation; a declined payment is inside the error.",
  404: "No such object (or not the caller's).",
  409: "Another request with this Idempotency-Key is in flight.",
  413: "The request body is too large.",
  415: "The request body is not application/json.",
  422: "This Idempotency-Key was used with another request.",
  429: "Too many requests; retry later.",
  502: "A channel could not be reached or its answer was lost; retry.",
};

interface DocumentOperation {
  responses?: Record<string, unknown>;
  security?: unknown[];
  [key: string]: unknown;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, DocumentOperation> | undefined>;
  components?: Record<string, unknown>;
  [key: string]: unknown;
}

const httpMethods = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

/**
 * Adds the response objects to a generated document: components.schemas, and each operation's
 * responses (its success object, and Error for the statuses it may answer). Throws when an
 * operation has no entry in `operationAnswers` (a programmer error: a new route undocumented).
 */
export function documentResponses<T extends object>(generated: T): T {
  const document = generated as OpenApiDocument;
  const missing: string[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {})) {
      if (!httpMethods.has(method)) continue;
      const key = `${method.toUpperCase()} ${path}`;
      const answer = operationAnswers[key];
      if (!answer) {
        missing.push(key);
        continue;
      }
      if (!answer.object === !answer.media) throw new Error(`programmer error: ${key} needs exactly one of object and media in operationAnswers`);
      const success = answer.object
        ? { description: `Success: a ${answer.object}.`, content: { "application/json": { schema: { $ref: `${componentPath}${answer.object}` } } } }
        : { description: "Success.", content: { [answer.media!]: { schema: { type: "string", description: `The ${answer.media} document.` } } } };
      const responses: Record<string, unknown> = { [String(answer.status ?? 200)]: success };
      if (answer.public && key === "GET /v1/payments/{id}/return") responses["303"] = { description: "Redirect to the payment's return_url (with ?payment=<id>)." };
      for (const status of errorStatusesOf(method.toUpperCase(), path, answer)) {
        responses[String(status)] = { description: errorDescriptions[status], content: { "application/json": { schema: { $ref: `${componentPath}Error` } } } };
      }
      operation.responses = responses;
      if (answer.public) operation.security = [];
    }
  }
  if (missing.length > 0) throw new Error(`programmer error: no documented response for ${missing.join(", ")} (add it to operationAnswers in src/api/objects.ts)`);
  const components = (document.components ?? {}) as Record<string, unknown>;
  components.schemas = { ...(components.schemas as Record<string, unknown> | undefined), ...objectSchemas };
  document.components = components;
  return generated;
}
