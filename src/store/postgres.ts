// PostgreSQL backend: a connection pool shared by the API process; several processes may share
// the database. Durability: synchronous_commit=on (the server default, asserted at start).
import pg from "pg";
import { limits } from "../limits.ts";
import type { Db, Queryable, Tx } from "./db.ts";
import { migrate } from "./schema.ts";

interface PreparedText {
  text: string;
  /** Named statements are parsed and planned once per connection. */
  name: string | undefined;
}

const preparedCache = new Map<string, PreparedText>();
const namedStatementsMax = 500;

/** Rewrites `?` placeholders to `$1..$n` (our SQL never contains a literal `?`). */
function toPostgresSql(sql: string): PreparedText {
  let prepared = preparedCache.get(sql);
  if (prepared === undefined) {
    let index = 0;
    const text = sql.replace(/\?/g, () => `$${++index}`);
    // Statements built with a variable number of placeholders (IN lists) stay unnamed.
    const named = !sql.includes("IN (?") && preparedCache.size < namedStatementsMax;
    prepared = { text, name: named ? `corridor_${preparedCache.size}` : undefined };
    preparedCache.set(sql, prepared);
  }
  return prepared;
}

function toPostgresParams(params: readonly unknown[]): unknown[] {
  return params.map((value) => (typeof value === "bigint" ? value.toString() : value));
}

function queryable(client: pg.Pool | pg.PoolClient): Queryable {
  const query = (sql: string, params: readonly unknown[]) => {
    const prepared = toPostgresSql(sql);
    return client.query({ text: prepared.text, name: params.length > 0 ? prepared.name : undefined, values: toPostgresParams(params) });
  };
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

  const database = {};
  async function attempt<R>(fn: (tx: Tx) => Promise<R>): Promise<R> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const value = await fn({ forUpdate: "FOR UPDATE", database, ...queryable(client) });
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
