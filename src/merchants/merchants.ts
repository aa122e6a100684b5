// Tenants and their API keys. Keys are shown once at creation and stored only as SHA-256 hashes
// (keys are 192-bit random, so a fast hash is enough; no password stretching needed).
import { createHash, randomBytes } from "node:crypto";
import { TtlCache } from "../cache.ts";
import { newId } from "../ids.ts";
import type { Db, Queryable } from "../store/db.ts";

export interface Merchant {
  id: string;
  name: string;
  country: string;
  default_currency: string;
  created_ms: number;
}

export type KeyKind = "secret" | "publishable";

export interface Principal {
  merchant: Merchant;
  key_kind: KeyKind;
  key_id: string;
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

function generateKey(kind: KeyKind): string {
  return `${kind === "secret" ? "sk" : "pk"}_test_${randomBytes(24).toString("base64url")}`;
}

export async function createMerchant(
  db: Db,
  input: { name: string; country: string; default_currency: string },
): Promise<{ merchant: Merchant; secret: string; publishable: string }> {
  const merchant: Merchant = { id: newId("mer"), ...input, created_ms: Date.now() };
  const secret = generateKey("secret");
  const publishable = generateKey("publishable");
  await db.transaction(async (tx) => {
    await tx.run("INSERT INTO merchants (id, name, country, default_currency, created_ms) VALUES (?, ?, ?, ?, ?)", [
      merchant.id, merchant.name, merchant.country, merchant.default_currency, merchant.created_ms,
    ]);
    for (const [kind, key] of [["secret", secret], ["publishable", publishable]] as const) {
      await tx.run("INSERT INTO api_keys (id, merchant_id, kind, key_hash, key_hint, created_ms) VALUES (?, ?, ?, ?, ?, ?)", [
        newId("key"), merchant.id, kind, hashKey(key), `${key.slice(0, 8)}…${key.slice(-4)}`, merchant.created_ms,
      ]);
    }
  });
  return { merchant, secret, publishable };
}

export async function findMerchant(db: Queryable, id: string): Promise<Merchant | undefined> {
  const row = await db.get<Merchant>("SELECT id, name, country, default_currency, created_ms FROM merchants WHERE id = ?", [id]);
  return row ? { ...row, created_ms: Number(row.created_ms) } : undefined;
}

const principalCacheTtlMs = 5_000;
const principalCacheSizeMax = 10_000;
const principalCache = new TtlCache<string, Principal>(principalCacheTtlMs, principalCacheSizeMax);

/** Resolves an API key to its merchant. Cached for a few seconds: revocation takes effect within the TTL. */
export async function authenticate(db: Queryable, key: string): Promise<Principal | undefined> {
  const key_hash = hashKey(key);
  const cached = principalCache.get(key_hash);
  if (cached.found) return cached.value;
  const row = await db.get<{ key_id: string; kind: KeyKind; merchant_id: string }>(
    "SELECT id AS key_id, kind, merchant_id FROM api_keys WHERE key_hash = ? AND revoked_ms IS NULL",
    [key_hash],
  );
  if (!row) return undefined;
  const merchant = await findMerchant(db, row.merchant_id);
  if (!merchant) return undefined;
  const principal: Principal = { merchant, key_kind: row.kind, key_id: row.key_id };
  principalCache.set(key_hash, principal);
  return principal;
}
