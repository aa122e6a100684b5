// The connector contract: the only shape the rest of Corridor sees of a payment channel.
// Each channel lives in its own folder (`connector.ts` for the HTTP mechanics per flow,
// `transformers.ts` for its wire types and the conversions to and from these types).
// Nothing outside a channel's folder knows its wire format.

import type { UnifiedDecline } from "./declines.ts";

export type PaymentMethodFamily = "card";

export interface ChannelCapabilities {
  methods: readonly PaymentMethodFamily[];
  /** Card brands as named by `methods/card` (visa, mastercard, amex, elo, rupay, ...). */
  brands: readonly string[];
  /** ISO 4217 alphabetic codes, upper case; "*" means any. */
  currencies: readonly string[] | "*";
  /** Card issuing countries (ISO 3166 alpha-2) the channel accepts; "*" means any. */
  countries: readonly string[] | "*";
  partial_capture: boolean;
  refund: boolean;
  partial_refund: boolean;
  three_ds: boolean;
}

export interface CardForChannel {
  number: string;
  exp_month: number;
  exp_year: number;
  /** Present only while the authorization is in flight; never stored. */
  cvc?: string;
  brand: string;
}

export interface AuthorizeRequest {
  /** Our attempt id; the channel's idempotency reference and our key to inquire by. */
  reference: string;
  /** Integer minor units in ISO 4217 exponent; the connector converts to the channel's own. */
  amount: number;
  /** ISO 4217 alphabetic, upper case. */
  currency: string;
  card: CardForChannel;
  /** true: authorize and capture in one call (automatic capture). */
  capture: boolean;
  /** Where the channel sends the customer after a 3-D Secure challenge. */
  return_url: string;
}

/** The outcome of a call that may move money. Every variant is a value, never a throw. */
export type MoneyCallOutcome =
  /** The channel did it. */
  | { kind: "succeeded"; channel_reference: string; network_response_code?: string; raw: unknown }
  /** The channel refused it for a business reason (issuer decline, over-refund, ...). */
  | { kind: "declined"; decline: UnifiedDecline; raw: unknown }
  /** The channel answered that it failed technically: nothing moved. */
  | { kind: "error"; decline: UnifiedDecline; raw: unknown }
  /** We do not know whether money moved (timeout after sending, reset, malformed answer). */
  | { kind: "unknown"; reason: string };

export type AuthorizeOutcome =
  | { kind: "approved"; channel_reference: string; captured: boolean; network_response_code?: string; raw: unknown }
  | { kind: "challenge"; channel_reference: string; redirect_url: string; raw: unknown }
  | Exclude<MoneyCallOutcome, { kind: "succeeded" }>;

/** What the channel's own record says about one of our references (inquiry). */
export type ChannelRecord =
  | { found: false }
  | {
      found: true;
      channel_reference: string;
      status: "challenge_pending" | "authorized" | "captured" | "voided" | "declined" | "failed";
      /** Amounts back in our ISO minor units. */
      authorized_amount: number;
      captured_amount: number;
      refunded_amount: number;
      /** Refunds keyed by our refund reference. */
      refunds: { reference: string; amount: number; status: "succeeded" | "declined" }[];
      decline?: UnifiedDecline;
      /** While a challenge is pending: where the customer completes it. */
      redirect_url?: string;
    };

/** An asynchronous notification from the channel, verified and translated. */
export type ChannelNotification =
  | { verified: false; reason: string }
  | {
      verified: true;
      /** Our attempt reference the notification is about. */
      reference: string;
      type: "authorization.approved" | "authorization.declined" | "authorization.failed";
      captured: boolean;
      decline?: UnifiedDecline;
    }
  | {
      verified: true;
      /** Our attempt reference the disputed payment was captured under. */
      reference: string;
      type: "dispute";
      dispute: ChannelDispute;
    };

/** A card dispute as the channel reports it (the whole current state, not a delta). */
export interface ChannelDispute {
  /** The channel's id of the dispute. */
  id: string;
  /** The scheme's reason code (Visa "10.4", Mastercard "4837", ...). */
  reason_code: string;
  /** visa, mastercard, amex, discover, ... (as named by `methods/card`). */
  network: string;
  /** Minor units of `currency`. */
  amount: number;
  currency: string;
  stage: "chargeback" | "pre_arbitration" | "arbitration";
  /** open: awaiting the merchant's response; won/lost: the stage was decided. */
  status: "open" | "won" | "lost";
  /** Increases with every change at the channel: older or repeated notices are recognisable. */
  sequence: number;
  /** The channel holds the merchant's evidence for the current stage (it is with the issuer). */
  evidence_submitted?: boolean;
}

export type DisputeLookup =
  | { found: true; /** Our attempt reference of the disputed payment. */ reference: string; dispute: ChannelDispute }
  | { found: false }
  | { unreachable: true; reason: string };

export type EvidenceSubmission =
  | { kind: "accepted"; dispute: ChannelDispute }
  /** The channel refused it (the stage is decided, the deadline passed): nothing was sent on. */
  | { kind: "rejected"; reason: string }
  /** We do not know whether it arrived; submitting again is safe (idempotent per stage). */
  | { kind: "unknown"; reason: string };

/** A channel's dispute desk: its record of a dispute, and where the merchant's evidence goes. */
export interface DisputeDesk {
  inquire(channel_dispute_id: string): Promise<DisputeLookup>;
  submitEvidence(input: { channel_dispute_id: string; evidence: Record<string, string> }): Promise<EvidenceSubmission>;
}

export interface Connector {
  readonly name: string;
  readonly capabilities: ChannelCapabilities;
  authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome>;
  capture(input: { channel_reference: string; reference: string; amount: number; currency: string }): Promise<MoneyCallOutcome>;
  void(input: { channel_reference: string; reference: string; currency: string }): Promise<MoneyCallOutcome>;
  refund(input: { channel_reference: string; reference: string; amount: number; currency: string }): Promise<MoneyCallOutcome>;
  /** Ask the channel what it recorded for our attempt reference. Throws only on programmer error. */
  inquire(reference: string, currency: string): Promise<ChannelRecord | { unreachable: true; reason: string }>;
  parseNotification(headers: Record<string, string | string[] | undefined>, raw_body: string): ChannelNotification;
  /** Channels that report chargebacks: look one up, send evidence. */
  readonly disputes?: DisputeDesk;
}

// Collection channels (bank transfers): the customer pushes money to instructions we show; the
// channel tells us when a transfer arrives. A separate interface, so card connectors need nothing
// new and collection channels implement no card methods.

export interface CollectionCapabilities {
  /** Country (ISO 3166 alpha-2) → the currency collected there. */
  countries: Readonly<Record<string, string>>;
}

export interface OpenCollectionRequest {
  /** Our attempt id; the channel's idempotency reference and our key to inquire by. */
  reference: string;
  kind: "id_virtual_account" | "mx_clabe" | "br_pix";
  /** Where the customer pays: the VA number, the CLABE, or the Pix txid. */
  account: string;
  bank: string;
  /** Minor units of `currency`: a closed amount (only this amount is expected); null: an open amount. */
  amount: number | null;
  currency: string;
  /** null: the collection never expires (a multi-use virtual account). */
  expires_at_ms: number | null;
  /** single_use (default: one payment's instructions) or multi_use (a customer's reusable virtual account). */
  usage?: "single_use" | "multi_use";
}

export type OpenCollectionOutcome =
  | { kind: "opened"; channel_reference: string }
  /** The channel refused or failed: nothing is open. */
  | { kind: "error"; reason: string }
  /** We do not know whether it is open; opening again with the same reference is safe. */
  | { kind: "unknown"; reason: string };

export interface ReceivedTransfer {
  /** The channel's id of the transfer (unique at the channel). */
  id: string;
  amount: number;
  received_at_ms: number;
  /** The ordering account, where the bank reports it: money owed back is paid there. */
  sender?: { name: string; account: string; bank?: string };
}

export type CollectionRecord =
  | { found: false }
  | { found: true; channel_reference: string; amount: number | null; currency: string; expires_at_ms: number | null; transfers: ReceivedTransfer[] };

export type CollectionNotification =
  | { verified: false; reason: string }
  | { verified: true; reference: string; transfer_id: string };

export interface CollectionConnector {
  readonly name: string;
  readonly collection_capabilities: CollectionCapabilities;
  openCollection(request: OpenCollectionRequest): Promise<OpenCollectionOutcome>;
  /** What the channel recorded for our attempt reference, every transfer included. */
  inquireCollection(reference: string): Promise<CollectionRecord | { unreachable: true; reason: string }>;
  parseNotification(headers: Record<string, string | string[] | undefined>, raw_body: string): CollectionNotification;
}

// Refunds on channels that are not card acquirers (wallets, BNPL providers, banks paying a refund
// out to the customer's account): the one shape refunds see. Card connectors are adapted to it in
// src/payments/refunds.ts.

/** Where a refund is paid when the method cannot be paid back by itself (bank transfers, debits). */
export interface RefundDestination {
  type: "bank_account";
  /** As shown (masked) and as the bank needs it; validated by the method family. */
  account_holder_name: string;
  country: string;
  /** IBAN, CLABE, local account number, or a Pix key, per country. */
  account: string;
  bank?: string;
}

export type RefundCallOutcome =
  | MoneyCallOutcome
  /** Accepted and being paid out (asynchronous): the refund stays pending until the channel's record says. */
  | { kind: "pending"; channel_reference: string };

export type RefundRecordAtChannel =
  | { found: false }
  | { found: true; status: "pending" | "succeeded" | "failed"; failure_reason?: string };

export interface RefundingChannel {
  readonly name: string;
  refund(input: {
    /** The channel's reference of the payment (the attempt's channel_reference). */
    channel_reference: string;
    /** Our refund id: the channel's idempotency reference and our key to inquire by. */
    reference: string;
    /** Our attempt id the payment was made under. */
    attempt_reference: string;
    amount: number;
    currency: string;
    destination?: RefundDestination;
  }): Promise<RefundCallOutcome>;
  /** What the channel recorded for our refund reference. */
  inquireRefund(input: { reference: string; attempt_reference: string; currency: string }): Promise<RefundRecordAtChannel | { unreachable: true; reason: string }>;
}

// Direct-debit channels (SEPA Core/B2B, ACH): we pull money from the customer's account under a
// mandate. A collection is pending at the bank for days, then settles or comes back (a return with
// the scheme's reason code), possibly after it settled. A separate interface, like collections.

export interface DebitAccount {
  account_holder_name: string;
  /** SEPA: the IBAN in electronic format, and the BIC when known. */
  iban?: string;
  bic?: string;
  /** ACH: ABA routing number, account number, checking or savings. */
  routing_number?: string;
  account_number?: string;
  account_type?: "checking" | "savings";
}

export interface SubmitDebitRequest {
  /** Our attempt id: one per presentment; the channel's idempotency reference and our key to inquire by. */
  reference: string;
  scheme: "sepa_core" | "sepa_b2b" | "ach";
  /** SEPA only: FRST for the first collection under a mandate, then RCUR (OOFF: one-off, FNAL: last). */
  sequence_type?: "FRST" | "RCUR" | "OOFF" | "FNAL";
  /** 1 for the first presentment, 2 and 3 for ACH re-presentments. */
  presentment: number;
  /** Minor units of `currency` (EUR for SEPA, USD for ACH). */
  amount: number;
  currency: string;
  mandate: { reference: string; signed_at_ms: number; creditor_id?: string };
  account: DebitAccount;
}

export type SubmitDebitOutcome =
  | { kind: "accepted"; channel_reference: string }
  /** The channel refused the submission: nothing will be collected. */
  | { kind: "error"; reason: string }
  /** We do not know whether it was accepted; submitting again with the same reference is safe. */
  | { kind: "unknown"; reason: string };

/** What the channel recorded for one of our debit references. */
export type DebitRecord =
  | { found: false }
  | {
      found: true;
      channel_reference: string;
      amount: number;
      currency: string;
      /** pending: submitted, not settled; settled: the money is ours; returned: it came back (before or after settling). */
      status: "pending" | "settled" | "returned";
      /** Set once it settled (also when it was returned afterwards). */
      settled_at_ms?: number;
      return?: { id: string; reason_code: string; returned_at_ms: number };
    };

export type DebitNotification =
  /** Not about a debit: another flow of the same channel reads it. */
  | { kind: "not_a_debit" }
  | { kind: "rejected"; reason: string }
  | { kind: "debit"; reference: string };

export interface DebitConnector {
  readonly name: string;
  submitDebit(request: SubmitDebitRequest): Promise<SubmitDebitOutcome>;
  inquireDebit(reference: string): Promise<DebitRecord | { unreachable: true; reason: string }>;
  parseDebitNotification(headers: Record<string, string | string[] | undefined>, raw_body: string): DebitNotification;
}

// E-wallet channels (src/methods/wallet): an order the customer approves in the wallet (redirect
// page, app push, or QR scan); the wallet notifies its result asynchronously. Wallets refund to the
// wallet, so a wallet connector is also a RefundingChannel.

export type WalletFlowShape = "redirect" | "app_push" | "qr";

export interface WalletOrderRequest {
  /** Our attempt id; the wallet's idempotency reference and our key to inquire by. */
  reference: string;
  provider: string;
  flow: WalletFlowShape;
  /** Minor units of `currency` (ISO 4217 exponent); the connector converts to the wallet's own. */
  amount: number;
  currency: string;
  /** App push: the wallet account to push to. */
  phone?: string;
  /** Redirect: where the wallet sends the customer back. */
  return_url: string;
  expires_at_ms: number;
}

export type WalletOrderOutcome =
  /** The order is open at the wallet; redirect flows carry the page, QR flows the payload. */
  | { kind: "created"; channel_reference: string; redirect_url?: string; qr_data?: string }
  /** The wallet refused the order (unknown account, risk): nothing is open. */
  | { kind: "declined"; decline: UnifiedDecline }
  /** The wallet answered that it failed: nothing is open. */
  | { kind: "error"; reason: string }
  /** We do not know whether the order is open; creating it again with the same reference is safe. */
  | { kind: "unknown"; reason: string };

/** What the wallet recorded for one of our references. Statuses list every case the wallet has. */
export type WalletOrderRecord =
  | { found: false }
  | {
      found: true;
      channel_reference: string;
      /** waiting: the customer has not paid; paid: money moved; failed: the payment was refused; closed: closed unpaid. */
      status: "waiting" | "paid" | "failed" | "closed";
      /** Back in our minor units. */
      amount: number;
      currency: string;
      decline?: UnifiedDecline;
    };

export type WalletCloseOutcome =
  | { kind: "closed" }
  /** Too late: the customer paid; the order's record says so. */
  | { kind: "already_paid" }
  | { kind: "not_found" }
  | { kind: "unknown"; reason: string };

export type WalletNotification =
  | { verified: false; reason: string }
  /** A payment result: our attempt reference (ask the wallet for its record). */
  | { verified: true; kind: "payment"; reference: string }
  /** A refund result: our refund reference. */
  | { verified: true; kind: "refund"; reference: string };

export interface WalletConnector extends RefundingChannel {
  readonly name: string;
  readonly providers: readonly string[];
  createOrder(request: WalletOrderRequest): Promise<WalletOrderOutcome>;
  inquireOrder(reference: string): Promise<WalletOrderRecord | { unreachable: true; reason: string }>;
  closeOrder(reference: string): Promise<WalletCloseOutcome>;
  parseNotification(headers: Record<string, string | string[] | undefined>, raw_body: string): WalletNotification;
}

// BNPL providers: the customer is redirected to the provider's checkout, which approves or denies
// them (a credit decision) and shows the installment plan. On approval the provider pays the
// merchant the full amount less its fee and collects the installments itself. Refunds reduce the
// customer's remaining installments (RefundingChannel). A separate interface, like collections.

export interface BnplCheckoutRequest {
  /** Our attempt id: the provider's idempotency reference and our key to inquire by. */
  reference: string;
  /** Minor units of `currency` (ISO 4217 exponent). */
  amount: number;
  currency: string;
  plan: { type: "pay_in_4" | "parcelado" | "meses_sin_intereses"; installments: number };
  customer_email?: string;
  /** Where the provider sends the customer once they decided. */
  return_url: string;
  expires_at_ms: number;
}

export type BnplCheckoutOutcome =
  | { kind: "created"; channel_reference: string; redirect_url: string }
  /** The provider refused the checkout (invalid, unsupported): nothing is open. */
  | { kind: "error"; reason: string }
  /** We do not know whether it is open; creating again with the same reference is safe. */
  | { kind: "unknown"; reason: string };

export interface BnplInstallmentRecord {
  /** 1-based. */
  sequence: number;
  /** What the customer owes (or paid) now, after refunds; minor units. */
  amount: number;
  /** Taken off this installment by refunds; minor units. */
  amount_refunded: number;
  /** YYYY-MM-DD. */
  due_date: string;
  status: "paid" | "scheduled" | "canceled" | "refunded";
}

export type BnplCheckoutRecord =
  | { found: false }
  | {
      found: true;
      channel_reference: string;
      /** pending: the customer has not decided; voided: approved, then canceled by us (nothing is paid). */
      status: "pending" | "approved" | "denied" | "expired" | "canceled" | "voided";
      amount: number;
      currency: string;
      redirect_url: string;
      /** The plan as the provider keeps it (empty until approved). */
      installments: BnplInstallmentRecord[];
      amount_refunded: number;
      denial_reason?: string;
    };

export type BnplCancelOutcome =
  /** Nothing will be paid: the checkout was canceled (or, approved, voided). */
  | { kind: "canceled"; was_approved: boolean }
  /** The provider cannot cancel it (e.g. it has refunds): a value, never a throw. */
  | { kind: "refused"; reason: string }
  | { kind: "unknown"; reason: string };

export type BnplNotification =
  | { verified: false; reason: string }
  /** About the checkout of our attempt `reference` (approved, denied, expired, refunded): ask for its record. */
  | { verified: true; reference: string; event: "checkout.updated" | "refund.updated"; refund_reference?: string };

export interface BnplConnector extends RefundingChannel {
  readonly name: string;
  /** What merchants name in payment_method_data.bnpl.provider. */
  readonly provider: string;
  createCheckout(request: BnplCheckoutRequest): Promise<BnplCheckoutOutcome>;
  /** What the provider recorded for our attempt reference; amounts back in minor units of `currency`. */
  inquireCheckout(reference: string, currency: string): Promise<BnplCheckoutRecord | { unreachable: true; reason: string }>;
  cancelCheckout(reference: string): Promise<BnplCancelOutcome>;
  parseBnplNotification(headers: Record<string, string | string[] | undefined>, raw_body: string): BnplNotification;
}
