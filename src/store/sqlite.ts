// SQLite backend: one writer connection with group commit, one reader connection (WAL lets it
// read the last committed state while the writer works).
//
// Group commit: transactions submitted while the writer is busy wait in a queue; each batch runs
// every queued transaction inside its own SAVEPOINT (one failing rolls back only itself) and ends
// with a single durable COMMIT (synchronous=FULL, one fsync for the batch). Each caller's promise
// settles only after that COMMIT, so nothing is acknowledged before it is durable.
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { limits } from "../limits.ts";
import type { Db, Queryable, Tx } from "./db.ts";
import { migrate } from "./schema.ts";

interface Job {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Statement = Database.Statement<unknown[], unknown>;

function statementCache(db: Database.Database) {
  const cache = new Map<string, Statement>();
  return (sql: string): Statement => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}

function queryable(prepare: (sql: string) => Statement, guard: () => void): Queryable {
  return {
    async all<T>(sql: string, params: readonly unknown[] = []) {
      guard();
      const statement = prepare(sql);
      return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
    },
    async get<T>(sql: string, params: readonly unknown[] = []) {
      guard();
      return prepare(sql).get(...params) as T | undefined;
    },
    async run(sql: string, params: readonly unknown[] = []) {
      guard();
      const result = prepare(sql).run(...params);
      return { changes: result.changes };
    },
  };
}

function openConnection(path: string, readonly: boolean): Database.Database {
  const db = new Database(path, { readonly, fileMustExist: readonly });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  db.pragma("cache_size = -65536"); // 64 MiB page cache
  db.pragma("mmap_size = 268435456");
  db.pragma("temp_store = MEMORY");
  // Fewer, larger checkpoints: each one syncs the database file on the writer's thread.
  db.pragma("wal_autocheckpoint = 8000");
  return db;
}

export async function openSqlite(path: string): Promise<Db> {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const writer = openConnection(path, false);
  await migrate({ dialect: "sqlite", exec: async (sql) => void writer.exec(sql), ...queryable(statementCache(writer), () => {}) });
  const reader = path === ":memory:" ? writer : openConnection(path, true);

  const queue: Job[] = [];
  let flushing = false;
  let activeJob: Job | undefined;
  const prepareWriter = statementCache(writer);

  const database = {};
  const makeTx = (job: Job): Tx => ({
    forUpdate: "",
    database,
    ...queryable(prepareWriter, () => {
      if (activeJob !== job) throw new Error("programmer error: transaction used outside its callback or across an await on I/O");
    }),
  });

  const control = {
    begin: writer.prepare("BEGIN IMMEDIATE"),
    commit: writer.prepare("COMMIT"),
    savepoint: writer.prepare("SAVEPOINT job"),
    release: writer.prepare("RELEASE job"),
    rollbackTo: writer.prepare("ROLLBACK TO job"),
  };

  async function runJob(job: Job): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
    control.savepoint.run();
    activeJob = job;
    try {
      const value = await job.fn(makeTx(job));
      control.release.run();
      return { ok: true, value };
    } catch (error) {
      control.rollbackTo.run();
      control.release.run();
      return { ok: false, error };
    } finally {
      activeJob = undefined;
    }
  }

  async function flush(): Promise<void> {
    flushing = true;
    const batch = queue.splice(0, limits.group_commit_batch_max);
    const outcomes: Awaited<ReturnType<typeof runJob>>[] = [];
    try {
      control.begin.run();
      for (const job of batch) outcomes.push(await runJob(job));
      control.commit.run();
    } catch (error) {
      if (writer.inTransaction) writer.exec("ROLLBACK");
      for (const job of batch) job.reject(error);
      return finishFlush();
    }
    batch.forEach((job, index) => {
      const outcome = outcomes[index];
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
    finishFlush();
  }

  function finishFlush(): void {
    flushing = false;
    if (queue.length > 0) setImmediate(flush);
  }

  const readerQueries = queryable(statementCache(reader), () => {});
  return {
    dialect: "sqlite",
    ...readerQueries,
    transaction<R>(fn: (tx: Tx) => Promise<R>): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        if (!flushing && queue.length === 1) setImmediate(flush);
      });
    },
    async close() {
      while (queue.length > 0 || flushing) await new Promise((r) => setTimeout(r, 5));
      if (reader !== writer) reader.close();
      writer.close();
    },
  };
}
