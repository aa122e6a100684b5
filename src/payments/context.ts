import type { RefundingChannel } from "../channels/contract.ts";
import type { ChannelRegistry, CollectionRegistry } from "../channels/registry.ts";
import type { FeeModel } from "../routing/fees.ts";
import type { Random } from "../routing/random.ts";
import type { RoutingStats } from "../routing/stats.ts";
import type { Vault } from "../methods/card/vault.ts";
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
  /** Channels that refund payments of other families (wallets, BNPL, bank payouts), by name. */
  refund_channels?: Map<string, RefundingChannel>;
  routing: RoutingState;
  settings: PaymentSettings;
}
