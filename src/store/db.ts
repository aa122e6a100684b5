// One database interface over two real backends: an embedded SQLite file (group commit) and
// PostgreSQL (several API processes). SQL is written once with `?` placeholders in the subset both
// dialects share; the few differences go through `Db.dialect`.

export type Row = Record<string, unknown>;

export interface Queryable {
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
}

export interface Db extends Queryable {
  readonly dialect: "sqlite" | "postgres";
  /** Runs `fn` atomically and durably. `fn` must only touch the database: no network calls. */
  transaction<R>(fn: (tx: Tx) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

export interface Tx extends Queryable {
  /** `FOR UPDATE` on PostgreSQL; empty on SQLite, whose writers are already serialized. */
  readonly forUpdate: string;
  /** Identifies the database, for caches of facts that never change once committed. */
  readonly database: object;
}

/** Converts a database integer (number, bigint or numeric string) to bigint. */
export function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`programmer error: unsafe integer ${value}`);
    return BigInt(value);
  }
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  if (value === null || value === undefined) return 0n;
  throw new Error(`programmer error: not an integer: ${String(value)}`);
}

/** Converts a database integer to a JS number, asserting it is exact. */
export function toSafeNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  const big = toBigInt(value);
  const n = Number(big);
  if (!Number.isSafeInteger(n)) throw new Error(`programmer error: integer out of safe range: ${big}`);
  return n;
}

export async function openDb(database_url: string): Promise<Db> {
  if (database_url.startsWith("postgres://") || database_url.startsWith("postgresql://")) {
    const { openPostgres } = await import("./postgres.ts");
    return openPostgres(database_url);
  }
  const { openSqlite } = await import("./sqlite.ts");
  return openSqlite(database_url.replace(/^sqlite:(\/\/)?/, ""));
}
