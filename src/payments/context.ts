import type { DebitConnector, RefundingChannel } from "../channels/contract.ts";
import type { BnplConnector } from "../channels/contract.ts";
import type { ChannelRegistry, CollectionRegistry } from "../channels/registry.ts";
import type { FeeModel } from "../routing/fees.ts";
import type { Random } from "../routing/random.ts";
import type { RoutingStats } from "../routing/stats.ts";
import type { Vault } from "../methods/card/vault.ts";
import type { WalletRegistry } from "../methods/wallet/registry.ts";
import type { Db } from "../store/db.ts";

export interface PaymentSettings {
  /** Public base URL of this API, for 3-D Secure return pages. */
  public_url: string;
  /** Delay before the janitor first asks a channel about an unknown outcome. */
  unknown_inquiry_delay_ms: number;
  /** How long we wait for a channel's answer. */
  channel_timeout_ms: number;
  /** How long a customer has to finish a 3-D Secure challenge before the janitor asks. */
  challenge_expiry_ms: number;
  /** After this, an uncaptured authorization is released in the ledger and voided at the channel. */
  authorization_validity_ms: number;
}

/**
 * When the janitor should look at a call persisted just before it was made, in case this process
 * dies before recording the answer: after the call's own timeout and the usual inquiry delay.
 */
export function safetyNetInquiryMs(settings: PaymentSettings): number {
  return Date.now() + settings.channel_timeout_ms + settings.unknown_inquiry_delay_ms;
}

/** What smart routing learns and prices with, per process (statistics, not money). */
export interface RoutingState {
  stats: RoutingStats;
  random: Random;
  fees: FeeModel;
}

export interface PaymentsContext {
  db: Db;
  vault: Vault;
  channels: ChannelRegistry;
  /** Collection channels (bank transfers), apart from card routing; absent: no bank transfers. */
  collections?: CollectionRegistry;
  /** After a refund settles, the payment's family may re-read what it shows (a BNPL plan), by method type. */
  refund_settled_hooks?: Map<string, (ctx: PaymentsContext, payment_id: string) => Promise<void>>;
  /** Channels that refund payments of other families (wallets, BNPL, bank payouts), by name. */
  refund_channels?: Map<string, RefundingChannel>;
  /** E-wallet channels (src/methods/wallet); absent: no wallet payments. */
  wallets?: WalletRegistry;
  /** The direct-debit channel (SEPA, ACH collections under mandates); absent: no direct debit. */
  debits?: DebitConnector;
  /** BNPL providers by the name merchants use (payment_method_data.bnpl.provider); absent: no BNPL. */
  bnpl?: Map<string, BnplConnector>;
  routing: RoutingState;
  settings: PaymentSettings;
}
