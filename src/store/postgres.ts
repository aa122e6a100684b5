// PostgreSQL backend: a connection pool shared by the API process; several processes may share
// the database. Durability: synchronous_commit=on (the server default, asserted at start).
import pg from "pg";
import { limits } from "../limits.ts";
import type { Db, Queryable, Tx } from "./db.ts";
import { migrate } from "./schema.ts";

const placeholderCache = new Map<string, string>();

/** Rewrites `?` placeholders to `$1..$n` (our SQL never contains a literal `?`). */
function toPostgresSql(sql: string): string {
  let converted = placeholderCache.get(sql);
  if (converted === undefined) {
    let index = 0;
    converted = sql.replace(/\?/g, () => `$${++index}`);
    placeholderCache.set(sql, converted);
  }
  return converted;
}

function toPostgresParams(params: readonly unknown[]): unknown[] {
  return params.map((value) => (typeof value === "bigint" ? value.toString() : value));
}

function queryable(client: pg.Pool | pg.PoolClient): Queryable {
  const query = (sql: string, params: readonly unknown[]) =>
    client.query({ text: toPostgresSql(sql), values: toPostgresParams(params) });
  return {
    async all<T>(sql: string, params: readonly unknown[] = []) {
      return (await query(sql, params)).rows as T[];
    },
    async get<T>(sql: string, params: readonly unknown[] = []) {
      return (await query(sql, params)).rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return { changes: (await query(sql, params)).rowCount ?? 0 };
    },
  };
}

/** 40001 serialization failure, 40P01 deadlock: safe to retry the whole transaction. */
function isRetryable(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "40001" || code === "40P01";
}

export async function openPostgres(url: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.PG_POOL_MAX ?? 20) });
  pool.on("error", () => {}); // idle client errors surface on the next query
  const setup = await pool.connect();
  try {
    const sync = await setup.query("SHOW synchronous_commit");
    if (sync.rows[0].synchronous_commit !== "on") throw new Error("PostgreSQL must run with synchronous_commit=on");
    await setup.query("SELECT pg_advisory_lock(7331001)");
    await migrate({ dialect: "postgres", exec: async (sql) => void (await setup.query(sql)), ...queryable(setup) });
  } finally {
    await setup.query("SELECT pg_advisory_unlock(7331001)").catch(() => {});
    setup.release();
  }

  async function attempt<R>(fn: (tx: Tx) => Promise<R>): Promise<R> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const value = await fn({ forUpdate: "FOR UPDATE", ...queryable(client) });
      await client.query("COMMIT");
      return value;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  return {
    dialect: "postgres",
    ...queryable(pool),
    async transaction<R>(fn: (tx: Tx) => Promise<R>): Promise<R> {
      for (let retry = 0; ; retry++) {
        try {
          return await attempt(fn);
        } catch (error) {
          if (!isRetryable(error) || retry >= limits.transaction_retries_max) throw error;
        }
      }
    },
    async close() {
      await pool.end();
    },
  };
}
