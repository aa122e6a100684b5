// The composition root: database, vault, channels, HTTP edge and background workers.
import { join, dirname } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./api/app.ts";
import { expireIdempotencyKeys } from "./api/idempotency.ts";
import type { Config } from "./config.ts";
import type { Connector } from "./channels/contract.ts";
import { createGlobalPayConnector } from "./channels/globalpay/connector.ts";
import { createLocalAcqConnector } from "./channels/localacq/connector.ts";
import { ChannelRegistry, CollectionRegistry } from "./channels/registry.ts";
import { createSandboxBankConnector } from "./channels/sandboxbank/connector.ts";
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

export interface CorridorOptions {
  channels: ChannelSetup[];
  collections?: CollectionSetup[];
  /** Run the janitor and webhook delivery loops in this process (default true). */
  workers?: boolean;
  webhook_retry_schedule_ms?: readonly number[];
}

export interface Corridor {
  app: FastifyInstance;
  ctx: PaymentsContext;
  url: string;
  workers: { janitor?: Loop; webhooks?: Loop; channel_health?: Loop };
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
    // Wallets, BNPL providers and bank payouts register here as they are constructed.
    refund_channels: new Map(),
    routing: { stats: new RoutingStats({ channel_health: channelHealth }), random: Math.random, fees: defaultFeeModel },
    settings: {
      public_url: config.public_url,
      unknown_inquiry_delay_ms: config.unknown_inquiry_delay_ms,
      channel_timeout_ms: config.channel_timeout_ms,
      challenge_expiry_ms: config.challenge_expiry_ms,
      authorization_validity_ms: config.authorization_validity_ms,
    },
  };
  const app = await buildApp({ config, ctx });
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
  }
  return {
    app, ctx, url, workers,
    async close() {
      await workers.janitor?.stop();
      await workers.webhooks?.stop();
      await workers.channel_health?.stop();
      await app.close();
      for (const setup of options.channels) await setup.transport.close?.();
      for (const setup of options.collections ?? []) await setup.transport.close?.();
      await db.close();
    },
  };
}
