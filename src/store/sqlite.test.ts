import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openSqlite } from "./sqlite.ts";
import type { Db } from "./db.ts";

let dir: string;
let db: Db;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "corridor-sqlite-"));
  db = await openSqlite(join(dir, "test.sqlite"));
});

after(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (id: string) =>
  db.transaction((tx) => tx.run("INSERT INTO bin_ranges (prefix, country, created_ms) VALUES (?, 'US', 0)", [id]));

describe("SQLite group commit", () => {
  it("commits concurrent transactions together; one failing rolls back only itself", async () => {
    const results = await Promise.allSettled([
      insert("1000"),
      insert("1001"),
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO bin_ranges (prefix, country, created_ms) VALUES ('1002', 'US', 0)");
        throw new Error("this one fails");
      }),
      insert("1003"),
      insert("1000"), // duplicate key: fails alone
    ]);
    assert.deepEqual(results.map((result) => result.status), ["fulfilled", "fulfilled", "rejected", "fulfilled", "rejected"]);
    const rows = await db.all<{ prefix: string }>("SELECT prefix FROM bin_ranges WHERE prefix LIKE '100%' ORDER BY prefix");
    assert.deepEqual(rows.map((row) => row.prefix), ["1000", "1001", "1003"]);
  });

  it("a transaction's result is readable by others once its promise settles", async () => {
    await insert("2000");
    assert.ok(await db.get("SELECT prefix FROM bin_ranges WHERE prefix = '2000'"));
  });

  it("refuses to run a transaction's statement after its callback returned", async () => {
    let leaked: { run(sql: string): Promise<unknown> } | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await assert.rejects(leaked!.run("SELECT 1"), /outside its callback/);
  });
});
