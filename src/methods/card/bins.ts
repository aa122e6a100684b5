// Issuer facts by BIN, from a table an operator imports. Longest prefix wins.
import { TtlCache } from "../../cache.ts";
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
const caches = new WeakMap<Queryable, TtlCache<string, BinFacts | undefined>>();

function cacheOf(db: Queryable): TtlCache<string, BinFacts | undefined> {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new TtlCache(cacheTtlMs, cacheSizeMax)));
  return cache;
}

export function lookupBin(db: Queryable, pan: string): Promise<BinFacts | undefined> {
  return cacheOf(db).getOrLoad(pan.slice(0, prefixLengthMax), () => lookupBinUncached(db, pan));
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
