import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { freshDatabase, useDb } from "../../test/helpers.ts";
import { openDb, toBigInt } from "../store/db.ts";
import { migrate } from "../store/schema.ts";
import {
  accountBalance, accountFlags, accountId, pendTransfer, postPending, postTransfer, recomputeAccountBalance, setBalanceShards, verifyLedger, voidPending,
  type AccountRef, type Balance,
} from "./ledger.ts";

const setup = useDb();

const receivable: AccountRef = { owner: "chan", currency: "USD", purpose: "channel_receivable" };
const merchant: AccountRef = { owner: "mer_1", currency: "USD", purpose: "merchant_pending" };
const available: AccountRef = { owner: "mer_1", currency: "USD", purpose: "merchant_available" };

describe("ledger", () => {
  it("two-phase: pending reserves, a partial post posts part and releases the rest", async () => {
    const pending = await setup.db.transaction((tx) => pendTransfer(tx, { debit: receivable, credit: merchant, amount: 1000n, code: "authorization", ref: "att_a" }));
    assert.ok(pending.ok);
    let balance = await accountBalance(setup.db, accountId(merchant));
    assert.equal(balance.credits_pending, 1000n);
    assert.equal(balance.credits_posted, 0n);
    const posted = await setup.db.transaction((tx) => postPending(tx, pending.transfer_id, 600n, "capture", "op_a"));
    assert.ok(posted.ok);
    balance = await accountBalance(setup.db, accountId(merchant));
    assert.equal(balance.credits_pending, 0n);
    assert.equal(balance.credits_posted, 600n);
    const again = await setup.db.transaction((tx) => voidPending(tx, pending.transfer_id, "void", "op_b"));
    assert.deepEqual(again, { ok: false, error: "pending_already_resolved" });
  });

  it("refuses to post more than the pending amount, and voids release everything", async () => {
    const pending = await setup.db.transaction((tx) => pendTransfer(tx, { debit: receivable, credit: merchant, amount: 500n, code: "authorization", ref: "att_b" }));
    assert.ok(pending.ok);
    const tooMuch = await setup.db.transaction((tx) => postPending(tx, pending.transfer_id, 501n, "capture", "op_c"));
    assert.deepEqual(tooMuch, { ok: false, error: "exceeds_pending_amount" });
    const voided = await setup.db.transaction((tx) => voidPending(tx, pending.transfer_id, "void", "op_d"));
    assert.ok(voided.ok);
    const balance = await accountBalance(setup.db, accountId(receivable));
    assert.equal(balance.debits_pending, 0n);
  });

  it("an account flagged debits-must-not-exceed-credits refuses an overdraft, and the transaction rolls back", async () => {
    await setup.db.transaction((tx) => postTransfer(tx, { debit: merchant, credit: available, amount: 100n, code: "capture", ref: "settle_1" }));
    await assert.rejects(
      setup.db.transaction(async (tx) => {
        const result = await postTransfer(tx, { debit: available, credit: merchant, amount: 101n, code: "refund", ref: "payout_1" });
        if (!result.ok) throw new Error(result.error);
      }),
      /exceeds_credits/,
    );
    const balance = await accountBalance(setup.db, accountId(available));
    assert.equal(balance.debits_posted, 0n, "the refused transfer left nothing behind");
  });

  it("the trial balance is zero per currency and amounts stay exact beyond 2^53", async () => {
    const big = 2n ** 60n + 7n;
    const eurA: AccountRef = { owner: "chan", currency: "EUR", purpose: "channel_receivable" };
    const eurB: AccountRef = { owner: "mer_2", currency: "EUR", purpose: "merchant_pending" };
    await setup.db.transaction((tx) => postTransfer(tx, { debit: eurA, credit: eurB, amount: big, code: "capture", ref: "big" }));
    const trial = await verifyLedger(setup.db);
    assert.equal(trial.balanced, true, JSON.stringify(trial));
    const eur = trial.currencies.find((row) => row.currency === "EUR")!;
    assert.equal(eur.debits, big.toString());
    assert.equal(eur.credits, big.toString());
    assert.equal((await accountBalance(setup.db, accountId(eurB))).credits_posted, big);
  });

  it("linked transfers in one transaction commit together or not at all", async () => {
    const before = await verifyLedger(setup.db);
    await assert.rejects(
      setup.db.transaction(async (tx) => {
        await postTransfer(tx, { debit: receivable, credit: merchant, amount: 5n, code: "capture", ref: "linked_1" });
        throw new Error("second leg failed");
      }),
    );
    assert.deepEqual(await verifyLedger(setup.db), before);
  });
});

// Stored balances: the properties below hold on both backends (DATABASE_URL selects PostgreSQL).

type Op =
  | { t: "post" | "pend"; from: number; step: number; amount: number }
  | { t: "post_pending"; pick: number; fraction: number }
  | { t: "void"; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constantFrom("post" as const, "pend" as const), from: fc.nat(3), step: fc.integer({ min: 1, max: 3 }), amount: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ t: fc.constant("post_pending" as const), pick: fc.nat(), fraction: fc.double({ min: 0, max: 1.2, noNaN: true }) }),
  fc.record({ t: fc.constant("void" as const), pick: fc.nat() }),
);
const groupArb = fc.record({ ops: fc.array(opArb, { minLength: 1, maxLength: 3 }), rollback_on_refusal: fc.boolean() });

const zeroBalance = (): Balance => ({ debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n });
const copyBalances = (map: Map<string, Balance>) => new Map([...map].map(([key, value]) => [key, { ...value }]));

interface HistoryRow {
  debit_shard: unknown; credit_shard: unknown;
  debit_debits_pending_after: unknown; debit_debits_posted_after: unknown; debit_credits_pending_after: unknown; debit_credits_posted_after: unknown;
  credit_debits_pending_after: unknown; credit_debits_posted_after: unknown; credit_credits_pending_after: unknown; credit_credits_posted_after: unknown;
}

const historySql = `SELECT debit_shard, credit_shard,
  CAST(debit_debits_pending_after AS TEXT) AS debit_debits_pending_after, CAST(debit_debits_posted_after AS TEXT) AS debit_debits_posted_after,
  CAST(debit_credits_pending_after AS TEXT) AS debit_credits_pending_after, CAST(debit_credits_posted_after AS TEXT) AS debit_credits_posted_after,
  CAST(credit_debits_pending_after AS TEXT) AS credit_debits_pending_after, CAST(credit_debits_posted_after AS TEXT) AS credit_debits_posted_after,
  CAST(credit_credits_pending_after AS TEXT) AS credit_credits_pending_after, CAST(credit_credits_posted_after AS TEXT) AS credit_credits_posted_after
  FROM ledger_transfers WHERE id = ?`;

function historyOf(row: HistoryRow, side: "debit" | "credit"): Balance {
  const r = row as unknown as Record<string, unknown>;
  return {
    debits_pending: toBigInt(r[`${side}_debits_pending_after`]),
    debits_posted: toBigInt(r[`${side}_debits_posted_after`]),
    credits_pending: toBigInt(r[`${side}_credits_pending_after`]),
    credits_posted: toBigInt(r[`${side}_credits_posted_after`]),
  };
}

function addTo(map: Map<string, Balance>, key: string, change: Partial<Balance>): Balance {
  const balance = map.get(key) ?? zeroBalance();
  for (const [field, value] of Object.entries(change) as [keyof Balance, bigint][]) balance[field] += value;
  map.set(key, balance);
  return balance;
}

let run = 0;

describe("stored balances", () => {
  after(() => setBalanceShards(8));

  it("stored balances equal the recomputed ones after random posts, pends, posts of pending and voids (and the history matches)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1, 3, 8), fc.array(groupArb, { minLength: 1, maxLength: 10 }), async (shards, groups) => {
        setBalanceShards(shards);
        run++;
        const refs: AccountRef[] = [
          { owner: `chan_p${run}`, currency: "USD", purpose: "channel_receivable" },
          { owner: `mer_p${run}`, currency: "USD", purpose: "merchant_pending" },
          { owner: `mer_p${run}`, currency: "USD", purpose: "merchant_available" }, // debits must not exceed credits
          { owner: `mer_p${run}`, currency: "USD", purpose: "customer_refunds_due" },
        ];
        const ids = refs.map(accountId);
        let model = new Map<string, Balance>(); // per account
        let shardModel = new Map<string, Balance>(); // per account/shard
        let pendings: { id: string; from: number; to: number; amount: bigint; resolved: boolean; debit_shard: number; credit_shard: number }[] = [];
        for (const group of groups) {
          const next = copyBalances(model);
          const nextShards = copyBalances(shardModel);
          const nextPendings = pendings.map((pending) => ({ ...pending }));
          const committed = await setup.db
            .transaction(async (tx) => {
              const unflaggedShards = new Set<number>();
              for (const op of group.ops) {
                if (op.t === "post" || op.t === "pend") {
                  const to = (op.from + op.step) % 4;
                  const amount = BigInt(op.amount);
                  const transfer = { debit: refs[op.from], credit: refs[to], amount, code: "capture" as const, ref: `prop_${run}` };
                  const result = op.t === "post" ? await postTransfer(tx, transfer) : await pendTransfer(tx, transfer);
                  const debit = next.get(ids[op.from]) ?? zeroBalance();
                  const refused = op.from === 2 && debit.debits_pending + debit.debits_posted + amount > debit.credits_posted;
                  if (refused) {
                    assert.deepEqual(result, { ok: false, error: "exceeds_credits" });
                    if (group.rollback_on_refusal) throw new Error("rollback");
                    continue;
                  }
                  assert.ok(result.ok, JSON.stringify(result));
                  const row = (await tx.get<HistoryRow>(historySql, [result.transfer_id]))!;
                  const debit_shard = Number(row.debit_shard);
                  const credit_shard = Number(row.credit_shard);
                  for (const [index, shard] of [[op.from, debit_shard], [to, credit_shard]]) {
                    if (index === 2) assert.equal(shard, 0, "a flagged account uses shard 0 only");
                    else {
                      assert.ok(shard >= 0 && shard < shards);
                      unflaggedShards.add(shard);
                    }
                  }
                  assert.ok(unflaggedShards.size <= 1, "one transaction uses one shard for every account without flags");
                  const debitChange = op.t === "post" ? { debits_posted: amount } : { debits_pending: amount };
                  const creditChange = op.t === "post" ? { credits_posted: amount } : { credits_pending: amount };
                  addTo(next, ids[op.from], debitChange);
                  addTo(next, ids[to], creditChange);
                  assert.deepEqual(historyOf(row, "debit"), addTo(nextShards, `${ids[op.from]}/${debit_shard}`, debitChange));
                  assert.deepEqual(historyOf(row, "credit"), addTo(nextShards, `${ids[to]}/${credit_shard}`, creditChange));
                  if (op.t === "pend") nextPendings.push({ id: result.transfer_id, from: op.from, to, amount, resolved: false, debit_shard, credit_shard });
                  continue;
                }
                if (nextPendings.length === 0) continue;
                const resolution = op as Extract<Op, { pick: number }>;
                const pending = nextPendings[resolution.pick % nextPendings.length];
                const posted = resolution.t === "void" ? 0n : BigInt(Math.max(1, Math.round(Number(pending.amount) * resolution.fraction)));
                const result = resolution.t === "void"
                  ? await voidPending(tx, pending.id, "void", `prop_${run}`)
                  : await postPending(tx, pending.id, posted, "capture", `prop_${run}`);
                if (pending.resolved) {
                  assert.deepEqual(result, { ok: false, error: "pending_already_resolved" });
                  continue;
                }
                if (posted > pending.amount) {
                  assert.deepEqual(result, { ok: false, error: "exceeds_pending_amount" });
                  continue;
                }
                assert.ok(result.ok, JSON.stringify(result));
                pending.resolved = true;
                const row = (await tx.get<HistoryRow>(historySql, [result.transfer_id]))!;
                assert.equal(Number(row.debit_shard), pending.debit_shard, "released on the shard it was reserved on");
                assert.equal(Number(row.credit_shard), pending.credit_shard, "released on the shard it was reserved on");
                const debitChange = { debits_pending: -pending.amount, debits_posted: posted };
                const creditChange = { credits_pending: -pending.amount, credits_posted: posted };
                addTo(next, ids[pending.from], debitChange);
                addTo(next, ids[pending.to], creditChange);
                assert.deepEqual(historyOf(row, "debit"), addTo(nextShards, `${ids[pending.from]}/${pending.debit_shard}`, debitChange));
                assert.deepEqual(historyOf(row, "credit"), addTo(nextShards, `${ids[pending.to]}/${pending.credit_shard}`, creditChange));
              }
              return true;
            })
            .catch((error: Error) => {
              if (error.message === "rollback") return false;
              throw error;
            });
          if (committed) {
            model = next;
            shardModel = nextShards;
            pendings = nextPendings;
          }
        }
        for (const id of ids) {
          const stored = await accountBalance(setup.db, id);
          assert.deepEqual(stored, await recomputeAccountBalance(setup.db, id), id);
          assert.deepEqual(stored, model.get(id) ?? zeroBalance(), id);
          assert.ok(stored.debits_pending >= 0n && stored.credits_pending >= 0n);
        }
        const trial = await verifyLedger(setup.db);
        assert.equal(trial.balanced, true, JSON.stringify(trial));
        assert.equal(trial.balances.drifted, 0);
      }),
      { numRuns: 25 },
    );
  });

  it("flags are read from the account row, not from the purpose", async () => {
    // A receivable whose row says debits must not exceed credits, and an available balance whose row says nothing.
    const strict: AccountRef = { owner: "chan_strict", currency: "USD", purpose: "channel_receivable" };
    const lax: AccountRef = { owner: "mer_lax", currency: "USD", purpose: "merchant_available" };
    const other: AccountRef = { owner: "mer_lax", currency: "USD", purpose: "merchant_pending" };
    await setup.db.transaction(async (tx) => {
      const insert = "INSERT INTO ledger_accounts (id, owner, currency, purpose, flags, created_ms) VALUES (?, ?, ?, ?, ?, ?)";
      await tx.run(insert, [accountId(strict), strict.owner, strict.currency, strict.purpose, accountFlags.debits_must_not_exceed_credits, Date.now()]);
      await tx.run(insert, [accountId(lax), lax.owner, lax.currency, lax.purpose, accountFlags.none, Date.now()]);
    });
    await setup.db.transaction((tx) => postTransfer(tx, { debit: other, credit: strict, amount: 50n, code: "capture", ref: "flags_1" }));
    // Refused, and (even without a rollback by the caller) nothing is left behind.
    const refused = await setup.db.transaction((tx) => postTransfer(tx, { debit: strict, credit: other, amount: 51n, code: "refund", ref: "flags_2" }));
    assert.deepEqual(refused, { ok: false, error: "exceeds_credits" });
    const pendRefused = await setup.db.transaction((tx) => pendTransfer(tx, { debit: strict, credit: other, amount: 51n, code: "refund", ref: "flags_3" }));
    assert.deepEqual(pendRefused, { ok: false, error: "exceeds_credits" });
    assert.deepEqual(await accountBalance(setup.db, accountId(strict)), { ...zeroBalance(), credits_posted: 50n });
    const pend = await setup.db.transaction((tx) => pendTransfer(tx, { debit: strict, credit: other, amount: 30n, code: "refund", ref: "flags_4" }));
    assert.ok(pend.ok);
    // 30 pending + 21 posted > 50 credits.
    const afterPending = await setup.db.transaction((tx) => postTransfer(tx, { debit: strict, credit: other, amount: 21n, code: "refund", ref: "flags_5" }));
    assert.deepEqual(afterPending, { ok: false, error: "exceeds_credits" });
    assert.ok((await setup.db.transaction((tx) => postTransfer(tx, { debit: strict, credit: other, amount: 20n, code: "refund", ref: "flags_6" }))).ok);
    // The flagged account lives in shard 0 only.
    const shards = await setup.db.all<{ shard: unknown }>("SELECT shard FROM ledger_balance_shards WHERE account_id = ?", [accountId(strict)]);
    assert.deepEqual(shards.map((row) => Number(row.shard)), [0]);
    // merchant_available is flagged by purpose, but this row is not: an overdraft is allowed.
    const overdraft = await setup.db.transaction((tx) => postTransfer(tx, { debit: lax, credit: other, amount: 10n, code: "refund", ref: "flags_7" }));
    assert.ok(overdraft.ok);
    assert.equal((await accountBalance(setup.db, accountId(lax))).debits_posted, 10n);
    const trial = await verifyLedger(setup.db);
    assert.equal(trial.balanced, true, JSON.stringify(trial));
  });

  it("with one shard, every transfer records each account's balance after it", async () => {
    setBalanceShards(1);
    try {
      const a: AccountRef = { owner: "chan_h", currency: "EUR", purpose: "channel_receivable" };
      const b: AccountRef = { owner: "mer_h", currency: "EUR", purpose: "merchant_pending" };
      const sale = await setup.db.transaction((tx) => postTransfer(tx, { debit: a, credit: b, amount: 100n, code: "capture", ref: "h1" }));
      const auth = await setup.db.transaction((tx) => pendTransfer(tx, { debit: a, credit: b, amount: 30n, code: "authorization", ref: "h2" }));
      assert.ok(sale.ok && auth.ok);
      const capture = await setup.db.transaction((tx) => postPending(tx, auth.transfer_id, 20n, "capture", "h3"));
      const refund = await setup.db.transaction((tx) => pendTransfer(tx, { debit: b, credit: a, amount: 5n, code: "refund", ref: "h4" }));
      assert.ok(capture.ok && refund.ok);
      const failed = await setup.db.transaction((tx) => voidPending(tx, refund.transfer_id, "refund_failed", "h5"));
      assert.ok(failed.ok);
      const expected: [string, Balance, Balance][] = [
        [sale.transfer_id, { ...zeroBalance(), debits_posted: 100n }, { ...zeroBalance(), credits_posted: 100n }],
        [auth.transfer_id, { ...zeroBalance(), debits_posted: 100n, debits_pending: 30n }, { ...zeroBalance(), credits_posted: 100n, credits_pending: 30n }],
        [capture.transfer_id, { ...zeroBalance(), debits_posted: 120n }, { ...zeroBalance(), credits_posted: 120n }],
        // The refund debits b and credits a: the debit side is b's balance now.
        [refund.transfer_id, { ...zeroBalance(), debits_pending: 5n, credits_posted: 120n }, { ...zeroBalance(), debits_posted: 120n, credits_pending: 5n }],
        [failed.transfer_id, { ...zeroBalance(), credits_posted: 120n }, { ...zeroBalance(), debits_posted: 120n }],
      ];
      for (const [id, debit, credit] of expected) {
        const row = (await setup.db.get<HistoryRow>(historySql, [id]))!;
        assert.equal(Number(row.debit_shard), 0);
        assert.equal(Number(row.credit_shard), 0);
        assert.deepEqual(historyOf(row, "debit"), debit, id);
        assert.deepEqual(historyOf(row, "credit"), credit, id);
      }
    } finally {
      setBalanceShards(8);
    }
  });

  it("verify reports a stored balance changed behind the ledger's back", async () => {
    const a: AccountRef = { owner: "chan_t", currency: "GBP", purpose: "channel_receivable" };
    const b: AccountRef = { owner: "mer_t", currency: "GBP", purpose: "merchant_pending" };
    await setup.db.transaction((tx) => postTransfer(tx, { debit: a, credit: b, amount: 10n, code: "capture", ref: "t1" }));
    const before = await verifyLedger(setup.db);
    assert.equal(before.balanced, true, JSON.stringify(before));
    assert.equal(before.balances.drifted, 0);
    assert.ok(before.balances.accounts_checked >= 2);
    const tamper = (delta: number) =>
      setup.db.transaction((tx) => tx.run("UPDATE ledger_balance_shards SET debits_posted = debits_posted + ? WHERE account_id = ? AND debits_posted > 0", [delta, accountId(a)]));
    assert.equal((await tamper(2)).changes, 1);
    const drifted = await verifyLedger(setup.db);
    assert.equal(drifted.balanced, false);
    assert.equal(drifted.balances.drifted, 1);
    assert.ok(drifted.violations.includes(`account ${accountId(a)} stored debits_posted 12 != recomputed 10`), JSON.stringify(drifted.violations));
    assert.deepEqual(drifted.currencies, before.currencies, "the trial balance itself comes from the transfers");
    await tamper(-2);
    assert.deepEqual(await verifyLedger(setup.db), before);
  });
});

describe("the stored-balances migration", () => {
  it("backfills stored balances from the transfers of an existing database", async () => {
    // The migration's version: the one whose SQL creates the shards table.
    const statements: string[] = [];
    await migrate({
      dialect: "sqlite",
      exec: async (sql) => void statements.push(sql),
      all: async <T,>() => [] as T[],
      get: async () => undefined,
      run: async () => ({ changes: 0 }),
    });
    const steps = statements.filter((sql) => sql !== "BEGIN" && sql !== "COMMIT" && !sql.includes("schema_migrations"));
    const version = steps.findIndex((sql) => sql.includes("CREATE TABLE ledger_balance_shards")) + 1;
    assert.ok(version > 0);

    const database = await freshDatabase();
    let db = await openDb(database.url);
    try {
      const a: AccountRef = { owner: "chan_m", currency: "USD", purpose: "channel_receivable" };
      const b: AccountRef = { owner: "mer_m", currency: "USD", purpose: "merchant_pending" };
      const c: AccountRef = { owner: "mer_m", currency: "USD", purpose: "merchant_available" };
      const auth = await db.transaction((tx) => pendTransfer(tx, { debit: a, credit: b, amount: 700n, code: "authorization", ref: "m1" }));
      assert.ok(auth.ok);
      await db.transaction((tx) => postPending(tx, auth.transfer_id, 500n, "capture", "m2"));
      await db.transaction((tx) => postTransfer(tx, { debit: b, credit: c, amount: 300n, code: "merchant_settlement", ref: "m3" }));
      const open = await db.transaction((tx) => pendTransfer(tx, { debit: a, credit: b, amount: 90n, code: "authorization", ref: "m4" }));
      assert.ok(open.ok);
      // Back to the database as it was before the migration: no stored balances, no history.
      await db.transaction(async (tx) => {
        await tx.run("DROP TABLE ledger_balance_shards");
        for (const side of ["debit", "credit"]) {
          for (const column of ["shard", "debits_pending_after", "debits_posted_after", "credits_pending_after", "credits_posted_after"]) {
            await tx.run(`ALTER TABLE ledger_transfers DROP COLUMN ${side}_${column}`);
          }
        }
        await tx.run("DELETE FROM schema_migrations WHERE version = ?", [version]);
      });
      await db.close();
      db = await openDb(database.url); // migrates
      for (const ref of [a, b, c]) {
        const stored = await accountBalance(db, accountId(ref));
        assert.deepEqual(stored, await recomputeAccountBalance(db, accountId(ref)), accountId(ref));
      }
      assert.deepEqual(await accountBalance(db, accountId(b)), { debits_pending: 0n, debits_posted: 300n, credits_pending: 90n, credits_posted: 500n });
      const trial = await verifyLedger(db);
      assert.equal(trial.balanced, true, JSON.stringify(trial));
      assert.deepEqual(trial.balances, { accounts_checked: 3, drifted: 0 });
      // The open authorization from before the upgrade is captured from shard 0, where the backfill put it.
      assert.ok((await db.transaction((tx) => postPending(tx, open.transfer_id, undefined, "capture", "m5"))).ok);
      assert.deepEqual(await accountBalance(db, accountId(b)), { debits_pending: 0n, debits_posted: 300n, credits_pending: 0n, credits_posted: 590n });
      assert.equal((await verifyLedger(db)).balanced, true);
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
