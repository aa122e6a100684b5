// The composition root: database, vault, channels, HTTP edge and background workers.
import { join, dirname } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./api/app.ts";
import { expireIdempotencyKeys } from "./api/idempotency.ts";
import type { Config } from "./config.ts";
import type { Connector, DebitConnector } from "./channels/contract.ts";
import { createGlobalPayConnector } from "./channels/globalpay/connector.ts";
import { createLocalAcqConnector } from "./channels/localacq/connector.ts";
import { ChannelRegistry, CollectionRegistry } from "./channels/registry.ts";
import { createSandboxBankConnector } from "./channels/sandboxbank/connector.ts";
import { createSandboxWalletConnector } from "./channels/sandboxwallet/connector.ts";
import { WalletRegistry } from "./methods/wallet/registry.ts";
import { createSandboxBnplConnector } from "./channels/sandboxbnpl/connector.ts";
import { createSandboxBankDebitConnector } from "./channels/sandboxbank/debits.ts";
import { createSandboxBankPayouts } from "./channels/sandboxbank/payouts.ts";
import { refreshPlanAfterRefund } from "./methods/bnpl/settle.ts";
import { defaultFeeModel } from "./routing/fees.ts";
import { ChannelHealthTracker, withChannelHealth } from "./routing/health.ts";
import { RoutingStats } from "./routing/stats.ts";
import type { Transport } from "./channels/transport.ts";
import { defaultRetryScheduleMs, deliverDue, fanOut, fanOutBatchMax } from "./events/webhooks.ts";

const fanOutRoundsPerTickMax = 50;
import { loadOrCreateVaultKeyFile, parseVaultKeys, Vault } from "./methods/card/vault.ts";
import type { PaymentsContext } from "./payments/context.ts";
import { openDb, type Db } from "./store/db.ts";
import { janitorTick } from "./workers/janitor.ts";
import { degradationTick } from "./metrics/degradation.ts";
import { startLoop, type Loop } from "./workers/loop.ts";
import { settlementChannels } from "./settlement/channels.ts";
import type { SettlementContext } from "./settlement/context.ts";
import { settlementTick } from "./settlement/scheduler.ts";

export interface ChannelSetup {
  name: "globalpay" | "localacq";
  transport: Transport & { close?(): Promise<void> };
  notification_secret?: string;
}

/** A collection channel (bank transfers). */
export interface CollectionSetup {
  name: "sandboxbank";
  transport: Transport & { close?(): Promise<void> };
  notification_secret?: string;
}

/** A BNPL provider (merchants name it as payment_method_data.bnpl.provider). */
export interface BnplSetup {
  name: "sandboxbnpl";
  transport: Transport & { close?(): Promise<void> };
  notification_secret?: string;
}

/** An e-wallet channel (src/methods/wallet). */
export interface WalletSetup {
  name: "sandboxwallet";
  transport: Transport & { close?(): Promise<void> };
  /** The wallet's Ed25519 public key (base64 SPKI DER) its notifications are verified with. */
  public_key?: string;
}

export interface CorridorOptions {
  channels: ChannelSetup[];
  wallets?: WalletSetup[];
  collections?: CollectionSetup[];
  bnpl?: BnplSetup[];
  /** Run the janitor and webhook delivery loops in this process (default true). */
  workers?: boolean;
  webhook_retry_schedule_ms?: readonly number[];
}

export interface Corridor {
  app: FastifyInstance;
  ctx: PaymentsContext;
  url: string;
  workers: { janitor?: Loop; webhooks?: Loop; channel_health?: Loop; settlement?: Loop };
  settlement: SettlementContext;
  close(): Promise<void>;
}

function connectorFor(setup: ChannelSetup, config: Config): Connector {
  switch (setup.name) {
    case "globalpay":
      return createGlobalPayConnector({
        transport: setup.transport,
        timeout_ms: config.channel_timeout_ms,
        notification_secret: setup.notification_secret ?? "gp_sandbox_notification_secret",
      });
    case "localacq":
      return createLocalAcqConnector({ transport: setup.transport, timeout_ms: config.channel_timeout_ms });
  }
}

function debitConnectorFor(collections: CollectionSetup[], config: Config): DebitConnector | undefined {
  const bank = collections.find((setup) => setup.name === "sandboxbank");
  return bank && createSandboxBankDebitConnector({
    transport: bank.transport,
    timeout_ms: config.channel_timeout_ms,
    notification_secret: bank.notification_secret ?? process.env.SANDBOXBANK_NOTIFICATION_SECRET ?? "sbank_sandbox_notification_secret",
  });
}

function vaultFor(config: Config): Vault {
  if (config.vault_keys) return new Vault(parseVaultKeys(config.vault_keys));
  if (!config.database_url.startsWith("sqlite:")) throw new Error("CORRIDOR_VAULT_KEYS is required with PostgreSQL (all API processes share it)");
  const path = config.database_url.replace(/^sqlite:(\/\/)?/, "");
  return new Vault(parseVaultKeys(loadOrCreateVaultKeyFile(join(dirname(path), "vault.keys"))));
}

export async function startCorridor(config: Config, options: CorridorOptions): Promise<Corridor> {
  const db: Db = await openDb(config.database_url);
  const channelHealth = new ChannelHealthTracker();
  const ctx: PaymentsContext = {
    db,
    vault: vaultFor(config),
    channels: new ChannelRegistry(withChannelHealth(options.channels.map((setup) => connectorFor(setup, config)), channelHealth)),
    collections: new CollectionRegistry((options.collections ?? []).map((setup) => createSandboxBankConnector({
      transport: setup.transport,
      timeout_ms: config.channel_timeout_ms,
      notification_secret: setup.notification_secret ?? process.env.SANDBOXBANK_NOTIFICATION_SECRET ?? "sbank_sandbox_notification_secret",
    }))),
    refund_settled_hooks: new Map([["bnpl", refreshPlanAfterRefund]]),
    // Wallets, BNPL providers and bank payouts register here as they are constructed.
    refund_channels: new Map((options.collections ?? []).map((setup) => [setup.name, createSandboxBankPayouts({ transport: setup.transport, timeout_ms: config.channel_timeout_ms })])),
    // Direct debits go through the sandbox bank's transport, like its collections.
    debits: debitConnectorFor(options.collections ?? [], config),
    routing: { stats: new RoutingStats({ channel_health: channelHealth }), random: Math.random, fees: defaultFeeModel },
    settings: {
      public_url: config.public_url,
      unknown_inquiry_delay_ms: config.unknown_inquiry_delay_ms,
      channel_timeout_ms: config.channel_timeout_ms,
      challenge_expiry_ms: config.challenge_expiry_ms,
      authorization_validity_ms: config.authorization_validity_ms,
    },
  };
  // BNPL providers: by the name merchants use, and as the channels that refund their payments.
  ctx.bnpl = new Map((options.bnpl ?? []).map((setup) => {
    const connector = createSandboxBnplConnector({
      transport: setup.transport, timeout_ms: config.channel_timeout_ms,
      notification_secret: setup.notification_secret ?? process.env.SANDBOXBNPL_NOTIFICATION_SECRET ?? "sbnpl_sandbox_notification_secret",
    });
    ctx.refund_channels!.set(connector.name, connector);
    return [connector.provider, connector];
  }));
  // E-wallets: by channel name, and as the channels that refund their payments (to the wallet).
  ctx.wallets = new WalletRegistry((options.wallets ?? []).map((setup) => {
    const connector = createSandboxWalletConnector({
      transport: setup.transport, timeout_ms: config.channel_timeout_ms, public_key: setup.public_key ?? process.env.SANDBOXWALLET_PUBLIC_KEY,
    });
    ctx.refund_channels!.set(connector.name, connector);
    return connector;
  }));
  const transportOf = (name: string) => [...options.channels, ...(options.collections ?? [])].find((setup) => setup.name === name)?.transport;
  const settlement: SettlementContext = {
    db,
    channels: new Map(settlementChannels({
      globalpay: transportOf("globalpay"), localacq: transportOf("localacq"), sandboxbank: transportOf("sandboxbank"), timeout_ms: config.channel_timeout_ms,
    }).map((channel) => [channel.channel, channel])),
    // Channel fees are checked against the contracted model; the router may price with observed fees.
    fees: () => defaultFeeModel,
  };
  const app = await buildApp({ config, ctx, settlement });
  const url = await app.listen({ port: config.port, host: config.host });
  const onError = (error: unknown) => app.log.error({ err: error }, "background worker failed");
  const workers: Corridor["workers"] = {};
  if (options.workers ?? true) {
    workers.janitor = startLoop(async () => {
      await janitorTick(ctx);
      await expireIdempotencyKeys(db);
    }, config.janitor_interval_ms, onError);
    const schedule = options.webhook_retry_schedule_ms ?? defaultRetryScheduleMs;
    workers.webhooks = startLoop(async () => {
      // Keep up with the outbox: several batches per tick while they come full (bounded).
      for (let round = 0; round < fanOutRoundsPerTickMax && (await fanOut(db)) === fanOutBatchMax; round++);
      await deliverDue(db, schedule);
    }, config.webhook_interval_ms, onError);
    workers.channel_health = startLoop(() => degradationTick(db), config.channel_health_interval_ms, onError);
    if (config.settlement_interval_ms > 0) {
      workers.settlement = startLoop(() => settlementTick(settlement, defaultFeeModel, (model) => { ctx.routing.fees = model; }), config.settlement_interval_ms, onError);
    }
  }
  return {
    app, ctx, url, workers, settlement,
    async close() {
      await workers.janitor?.stop();
      await workers.webhooks?.stop();
      await workers.channel_health?.stop();
      await workers.settlement?.stop();
      await app.close();
      for (const setup of options.channels) await setup.transport.close?.();
      for (const setup of options.collections ?? []) await setup.transport.close?.();
      for (const setup of options.wallets ?? []) await setup.transport.close?.();
      for (const setup of options.bnpl ?? []) await setup.transport.close?.();
      await db.close();
    },
  };
}
