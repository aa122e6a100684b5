// Issuer facts by BIN, from a table an operator imports. Longest prefix wins.
import type { Db, Queryable } from "../../store/db.ts";

export interface BinFacts {
  prefix: string;
  country: string | null;
  funding: string | null;
  issuer: string | null;
}

const prefixLengthMin = 4;
const prefixLengthMax = 11;

// Issuer facts change only on import; each process keeps a short-lived cache by prefix.
const cacheTtlMs = 5_000;
const cacheSizeMax = 10_000;
type BinCache = Map<string, { facts: BinFacts | undefined; expires_ms: number }>;
const caches = new WeakMap<Queryable, BinCache>();

function cacheOf(db: Queryable): BinCache {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  return cache;
}

export async function lookupBin(db: Queryable, pan: string): Promise<BinFacts | undefined> {
  const cache = cacheOf(db);
  const key = pan.slice(0, prefixLengthMax);
  const cached = cache.get(key);
  if (cached && cached.expires_ms > Date.now()) return cached.facts;
  const facts = await lookupBinUncached(db, pan);
  if (cache.size >= cacheSizeMax) cache.clear();
  cache.set(key, { facts, expires_ms: Date.now() + cacheTtlMs });
  return facts;
}

async function lookupBinUncached(db: Queryable, pan: string): Promise<BinFacts | undefined> {
  const prefixes: string[] = [];
  for (let length = Math.min(prefixLengthMax, pan.length - 4); length >= prefixLengthMin; length--) prefixes.push(pan.slice(0, length));
  if (prefixes.length === 0) return undefined;
  const rows = await db.all<BinFacts>(
    `SELECT prefix, country, funding, issuer FROM bin_ranges WHERE prefix IN (${prefixes.map(() => "?").join(", ")})`,
    prefixes,
  );
  return rows.sort((a, b) => b.prefix.length - a.prefix.length)[0];
}

export async function importBins(db: Db, ranges: BinFacts[]): Promise<number> {
  await db.transaction(async (tx) => {
    for (const range of ranges) {
      await tx.run(
        `INSERT INTO bin_ranges (prefix, country, funding, issuer, created_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (prefix) DO UPDATE SET country = excluded.country, funding = excluded.funding, issuer = excluded.issuer`,
        [range.prefix, range.country, range.funding, range.issuer, Date.now()],
      );
    }
  });
  cacheOf(db).clear();
  return ranges.length;
}

export const binPrefixLength = { min: prefixLengthMin, max: prefixLengthMax };
