// Configuration from the environment, read once at start.
import { randomBytes } from "node:crypto";

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return Number(raw);
}

export interface ChannelEndpoint {
  name: "globalpay" | "localacq";
  url: string;
  notification_secret: string;
}

export interface Config {
  port: number;
  host: string;
  database_url: string;
  admin_key: string;
  admin_key_generated: boolean;
  /** `kid:base64key[,…]`; empty: the embedded default keeps a generated key file beside the database. */
  vault_keys: string;
  public_url: string;
  channel_timeout_ms: number;
  unknown_inquiry_delay_ms: number;
  challenge_expiry_ms: number;
  /** How long an uncaptured authorization holds: the strictest scheme rule (Visa customer-initiated and
   *  Mastercard final authorizations, 7 days) by default. */
  authorization_validity_ms: number;
  janitor_interval_ms: number;
  webhook_interval_ms: number;
  /** How often channel approval rates are tested against their baselines. */
  channel_health_interval_ms: number;
  /** How often channels' settlement files are fetched and reconciled (0: never on a schedule). */
  settlement_interval_ms: number;
  /** Requests per second per API key; 0 disables the limit. */
  rate_limit_per_second: number;
  /** Failed authentications per second per client IP before that IP gets 429; 0 disables. */
  rate_limit_per_ip_per_second: number;
  /** How long an in-flight idempotency key is held before a retry may take it over (its first
   *  request is then presumed dead: the process handling it crashed). */
  idempotency_lease_ms: number;
  log_level: string;
  /** Log to this file instead of standard output. */
  log_file: string | undefined;
  sandbox_mode: boolean;
}

export function loadConfig(env = process.env): Config {
  const port = integer(env, "PORT", 4000);
  const host = env.HOST ?? "127.0.0.1";
  const generated = !env.CORRIDOR_ADMIN_KEY;
  return {
    port,
    host,
    database_url: env.DATABASE_URL ?? "sqlite:./data/corridor.sqlite",
    admin_key: env.CORRIDOR_ADMIN_KEY ?? `admin_${randomBytes(24).toString("base64url")}`,
    admin_key_generated: generated,
    vault_keys: env.CORRIDOR_VAULT_KEYS ?? "",
    public_url: env.PUBLIC_URL ?? `http://${host}:${port}`,
    channel_timeout_ms: integer(env, "CHANNEL_TIMEOUT_MS", 8_000),
    unknown_inquiry_delay_ms: integer(env, "UNKNOWN_INQUIRY_DELAY_MS", 60_000),
    challenge_expiry_ms: integer(env, "CHALLENGE_EXPIRY_MS", 15 * 60_000),
    authorization_validity_ms: integer(env, "AUTHORIZATION_VALIDITY_MS", 7 * 24 * 3600_000),
    janitor_interval_ms: integer(env, "JANITOR_INTERVAL_MS", 1_000),
    webhook_interval_ms: integer(env, "WEBHOOK_INTERVAL_MS", 500),
    channel_health_interval_ms: integer(env, "CHANNEL_HEALTH_INTERVAL_MS", 30_000),
    settlement_interval_ms: integer(env, "SETTLEMENT_INTERVAL_MS", 60_000),
    rate_limit_per_second: integer(env, "RATE_LIMIT_PER_SECOND", 1_000),
    rate_limit_per_ip_per_second: integer(env, "RATE_LIMIT_PER_IP_PER_SECOND", 200),
    idempotency_lease_ms: integer(env, "IDEMPOTENCY_LEASE_MS", 60_000),
    log_level: env.LOG_LEVEL ?? "info",
    log_file: env.LOG_FILE || undefined,
    sandbox_mode: (env.CORRIDOR_MODE ?? "sandbox") === "sandbox",
  };
}
