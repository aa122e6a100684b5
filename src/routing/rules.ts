// Routing v1: a merchant's ordered rules turn the facts of a payment into a channel priority
// list; the first rule that matches wins, otherwise the default list. Channels that cannot take
// the payment (brand, currency, country, method) are dropped, and every choice carries its reason.
import type { ChannelCapabilities } from "../channels/contract.ts";
import type { ChannelRegistry } from "../channels/registry.ts";
import { TtlCache } from "../cache.ts";
import { limits } from "../limits.ts";
import type { Db, Queryable } from "../store/db.ts";

export interface RuleConditions {
  methods?: string[];
  brands?: string[];
  currencies?: string[];
  /** Card issuing countries (from the BIN table). */
  countries?: string[];
  amount_min?: number;
  amount_max?: number;
}

export interface RoutingRule {
  name: string;
  conditions: RuleConditions;
  channels: string[];
}

export interface RoutingConfig {
  rules: RoutingRule[];
  default_channels: string[];
}

export interface PaymentFacts {
  method: string;
  brand: string;
  currency: string;
  amount: number;
  country: string | null;
}

export interface RoutedChannel {
  channel: string;
  reason: string;
}

function describe(conditions: RuleConditions): string {
  const parts = Object.entries(conditions).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join("|") : value}`);
  return parts.length ? parts.join(", ") : "always";
}

function matches(conditions: RuleConditions, facts: PaymentFacts): boolean {
  if (conditions.methods && !conditions.methods.includes(facts.method)) return false;
  if (conditions.brands && !conditions.brands.includes(facts.brand)) return false;
  if (conditions.currencies && !conditions.currencies.includes(facts.currency)) return false;
  if (conditions.countries && (facts.country === null || !conditions.countries.includes(facts.country))) return false;
  if (conditions.amount_min !== undefined && facts.amount < conditions.amount_min) return false;
  if (conditions.amount_max !== undefined && facts.amount > conditions.amount_max) return false;
  return true;
}

export function ineligibility(capabilities: ChannelCapabilities, facts: PaymentFacts): string | undefined {
  if (!capabilities.methods.includes(facts.method as "card")) return `does not accept ${facts.method}`;
  if (!capabilities.brands.includes(facts.brand)) return `does not accept ${facts.brand}`;
  if (capabilities.currencies !== "*" && !capabilities.currencies.includes(facts.currency)) return `does not accept ${facts.currency}`;
  if (capabilities.countries !== "*" && facts.country && !capabilities.countries.includes(facts.country)) return `does not accept cards from ${facts.country}`;
  return undefined;
}

/** The ordered list of channels to try, each with why it is there; skipped channels are explained too. */
export function decideRoute(
  config: RoutingConfig,
  registry: ChannelRegistry,
  facts: PaymentFacts,
): { route: RoutedChannel[]; skipped: string[] } {
  const index = config.rules.findIndex((rule) => matches(rule.conditions, facts));
  const rule = index >= 0 ? config.rules[index] : undefined;
  const source = rule ? `rule #${index + 1} "${rule.name}" (${describe(rule.conditions)})` : "default channel list";
  const candidates = rule ? rule.channels : config.default_channels;
  const route: RoutedChannel[] = [];
  const skipped: string[] = [];
  for (const name of candidates.slice(0, limits.routing_channels_per_rule_max)) {
    const connector = registry.get(name);
    const why = connector ? ineligibility(connector.capabilities, facts) : "is not configured";
    if (why) {
      skipped.push(`${name} ${why}`);
      continue;
    }
    route.push({ channel: name, reason: `${source}: priority ${route.length + 1}` });
  }
  const skippedNote = skipped.length ? `; skipped: ${skipped.join("; ")}` : "";
  return { route: route.map((entry) => ({ ...entry, reason: entry.reason + skippedNote })), skipped };
}

export function defaultRoutingConfig(registry: ChannelRegistry): RoutingConfig {
  return { rules: [], default_channels: registry.names() };
}

// Each process caches a merchant's configuration briefly; a change made through this process is
// seen at once, one made through another API process within the TTL.
const configCacheTtlMs = 2_000;
const configCacheSizeMax = 10_000;
const configCache = new TtlCache<string, { version: number; config: RoutingConfig } | undefined>(configCacheTtlMs, configCacheSizeMax);

export function currentRoutingConfig(db: Queryable, merchant_id: string): Promise<{ version: number; config: RoutingConfig } | undefined> {
  return configCache.getOrLoad(merchant_id, () => readRoutingConfig(db, merchant_id));
}

async function readRoutingConfig(db: Queryable, merchant_id: string): Promise<{ version: number; config: RoutingConfig } | undefined> {
  const row = await db.get<{ version: number; config: string }>(
    "SELECT version, config FROM routing_configs WHERE merchant_id = ? ORDER BY version DESC LIMIT 1",
    [merchant_id],
  );
  return row ? { version: Number(row.version), config: JSON.parse(row.config) } : undefined;
}

/** Configurations are versioned: each change appends a new version, the history stays readable. */
export async function saveRoutingConfig(db: Db, merchant_id: string, config: RoutingConfig): Promise<number> {
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
