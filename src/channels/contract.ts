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
  /** Minor units of `currency`; a closed amount. */
  amount: number;
  currency: string;
  expires_at_ms: number;
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
}

export type CollectionRecord =
  | { found: false }
  | { found: true; channel_reference: string; amount: number; currency: string; expires_at_ms: number; transfers: ReceivedTransfer[] };

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
