// The facts a route is decided on, channel eligibility, and the merchants' versioned routing
// configurations (stored as configuration v2; a v1 document — rules and a default list — reads as
// v2 with the rules strategy and elimination on).
import type { ChannelCapabilities } from "../channels/contract.ts";
import { TtlCache } from "../cache.ts";
import type { Db, Queryable } from "../store/db.ts";
import { defaultRoutingConfigV2, type RoutingConfigV2 } from "./config.ts";

export interface RuleConditions {
  methods?: string[];
  brands?: string[];
  currencies?: string[];
  /** Card issuing countries (from the BIN table). */
  countries?: string[];
  amount_min?: number;
  amount_max?: number;
}

export interface PaymentFacts {
  method: string;
  brand: string;
  currency: string;
  amount: number;
  country: string | null;
}

export function ineligibility(capabilities: ChannelCapabilities, facts: PaymentFacts): string | undefined {
  if (!capabilities.methods.includes(facts.method as "card")) return `does not accept ${facts.method}`;
  if (!capabilities.brands.includes(facts.brand)) return `does not accept ${facts.brand}`;
  if (capabilities.currencies !== "*" && !capabilities.currencies.includes(facts.currency)) return `does not accept ${facts.currency}`;
  if (capabilities.countries !== "*" && facts.country && !capabilities.countries.includes(facts.country)) return `does not accept cards from ${facts.country}`;
  return undefined;
}

// Each process caches a merchant's configuration briefly; a change made through this process is
// seen at once, one made through another API process within the TTL.
const configCacheTtlMs = 2_000;
const configCacheSizeMax = 10_000;
const configCache = new TtlCache<string, { version: number; config: RoutingConfigV2 } | undefined>(configCacheTtlMs, configCacheSizeMax);

/** Until a merchant chooses a strategy: its channels in the registry's order, breakers on. */
export function staticRoutingConfig(channels: readonly string[]): RoutingConfigV2 {
  return { ...defaultRoutingConfigV2(channels), strategy: { type: "rules" } };
}

function upgrade(stored: Partial<RoutingConfigV2> & Pick<RoutingConfigV2, "rules" | "default_channels">): RoutingConfigV2 {
  const fallback = staticRoutingConfig(stored.default_channels);
  return { version: 2, rules: stored.rules, default_channels: stored.default_channels, strategy: stored.strategy ?? fallback.strategy, elimination: stored.elimination ?? fallback.elimination };
}

export function currentRoutingConfig(db: Queryable, merchant_id: string): Promise<{ version: number; config: RoutingConfigV2 } | undefined> {
  return configCache.getOrLoad(merchant_id, () => readRoutingConfig(db, merchant_id));
}

async function readRoutingConfig(db: Queryable, merchant_id: string): Promise<{ version: number; config: RoutingConfigV2 } | undefined> {
  const row = await db.get<{ version: number; config: string }>(
    "SELECT version, config FROM routing_configs WHERE merchant_id = ? ORDER BY version DESC LIMIT 1",
    [merchant_id],
  );
  return row ? { version: Number(row.version), config: upgrade(JSON.parse(row.config)) } : undefined;
}

/** Configurations are versioned: each change appends a new version, the history stays readable. */
export async function saveRoutingConfig(db: Db, merchant_id: string, config: RoutingConfigV2): Promise<number> {
  return db.transaction(async (tx) => {
    // Serializes concurrent saves of one merchant (PostgreSQL), so each gets its own version.
    await tx.get(`SELECT id FROM merchants WHERE id = ? ${tx.forUpdate}`, [merchant_id]);
    const row = await tx.get<{ version: number | null }>(
      `SELECT MAX(version) AS version FROM routing_configs WHERE merchant_id = ?`,
      [merchant_id],
    );
    const version = Number(row?.version ?? 0) + 1;
    await tx.run("INSERT INTO routing_configs (merchant_id, version, config, created_ms) VALUES (?, ?, ?, ?)", [
      merchant_id, version, JSON.stringify(config), Date.now(),
    ]);
    configCache.delete(merchant_id);
    return version;
  });
}
