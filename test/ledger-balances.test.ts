// Stored ledger balances under a hot merchant: concurrent card payments for ONE merchant (on
// PostgreSQL through two API servers sharing the database) all succeed, the merchant's balance
// from GET /v1/balance is their sum, and the verify endpoint finds no drift. Each round runs with
// one balance shard and with the default shard count, and the throughput of both is printed as
// one JSON line: one shard makes every payment's transaction wait for the row lock on the
// merchant's and the channel's balance; shards spread them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { accountBalance, accountId, balanceShardCount, postTransfer, setBalanceShards, verifyLedger, type AccountRef } from "../src/ledger/ledger.ts";
import { backend, call, cards, createMerchant, pay, pendingBalanceOf, startStack, type Merchant, type Stack } from "./helpers.ts";

const paymentsPerRound = Number(process.env.LEDGER_BALANCES_PAYMENTS ?? 200);
const concurrency = 16;
const shardCounts = [1, balanceShardCount()];
/** Alternating rounds, so neither setting profits alone from a warmer server. */
const rounds = [...shardCounts, ...shardCounts];

let stacks: Stack[];
let merchant: Merchant;

async function runPool<T>(count: number, worker: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await worker(index);
      }
    }),
  );
  return results;
}

describe(`stored ledger balances under one hot merchant (${backend}${backend === "postgres" ? ", two API servers" : ", one server"})`, () => {
  before(async () => {
    const first = await startStack();
    stacks = [first];
    // One SQLite file has one writer process: the second server is PostgreSQL only.
    if (backend === "postgres") stacks.push(await startStack({ database: first.database, vault_keys: first.vault_keys, sandboxes: first.sandboxes }));
    merchant = await createMerchant(first);
  });

  after(async () => {
    setBalanceShards(shardCounts[1]);
    for (const stack of stacks.slice(1)) await stack.close();
    await stacks[0]?.close();
  });

  it(`${paymentsPerRound} concurrent payments per round, ${concurrency} at a time, all succeed and the balance is their sum`, async () => {
    let expected = 0;
    let serial = 0;
    const payOnce = async (index: number) => {
      const amount = 1000 + (serial++ % 977);
      const manual = index % 8 === 7;
      const stack = stacks[index % stacks.length];
      const response = await pay(stack, merchant, index % 2 ? cards.visa : cards.mastercard, { amount, ...(manual ? { capture_method: "manual" } : {}) });
      assert.ok(response.status < 500, `no 5xx: ${response.status} ${response.text}`);
      assert.equal(response.status, 200, response.text);
      assert.equal(response.body.status, manual ? "requires_capture" : "succeeded", response.text);
      expected += amount;
      return { id: response.body.id as string, manual, stack };
    };
    // Captures of the manual ones, concurrently, on the other server (post_pending on the shards
    // the authorizations reserved).
    const captureAll = async (payments: Awaited<ReturnType<typeof payOnce>>[]) => {
      const manual = payments.filter((payment) => payment.manual);
      const captures = await runPool(manual.length, (index) => {
        const other = stacks[(stacks.indexOf(manual[index].stack) + 1) % stacks.length];
        return call(other.url, "POST", `/v1/payments/${manual[index].id}/capture`, { key: merchant.secret, body: {} });
      });
      assert.ok(captures.every((response) => response.status === 200 && response.body.status === "succeeded"), captures.map((r) => `${r.status} ${r.text}`).join("\n"));
    };
    // Warm-up (connections, statement caches, accounts) at the default shard count.
    await captureAll(await runPool(32, payOnce));

    const measured: { shards: number; payments_per_s: number; ms: number }[] = [];
    for (const shards of rounds) {
      setBalanceShards(shards);
      const started = performance.now();
      const payments = await runPool(paymentsPerRound, payOnce);
      const ms = performance.now() - started;
      measured.push({ shards, payments_per_s: Math.round((paymentsPerRound / ms) * 1000 * 10) / 10, ms: Math.round(ms) });
      await captureAll(payments);
    }

    for (const stack of stacks) assert.equal(await pendingBalanceOf(stack, merchant, "usd"), expected, "GET /v1/balance is the sum of the payments");
    for (const stack of stacks) {
      const verify = await call(stack.url, "GET", "/v1/admin/ledger/verify", { key: stack.admin_key });
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.balanced, true, verify.text);
      assert.deepEqual(verify.body.violations, [], "no drift between stored and recomputed balances");
    }
    const trial = await verifyLedger(stacks[0].corridor.ctx.db);
    assert.equal(trial.balances.drifted, 0, JSON.stringify(trial));
    assert.ok(trial.balances.accounts_checked >= 2);
    const shardsUsed = await stacks[0].corridor.ctx.db.all("SELECT shard FROM ledger_balance_shards WHERE account_id = ?", [
      accountId({ owner: merchant.id, currency: "USD", purpose: "merchant_pending" }),
    ]);
    assert.ok(shardsUsed.length > 1, "the hot merchant's balance is spread over shards");

    const throughput = (shards: number) => {
      const values = measured.filter((round) => round.shards === shards).map((round) => round.payments_per_s);
      return Math.max(...values);
    };
    const single = throughput(shardCounts[0]);
    const sharded = throughput(shardCounts[1]);
    console.log(JSON.stringify({
      test: "ledger-balances", backend, servers: stacks.length, payments_per_round: paymentsPerRound, concurrency,
      payments_per_s: { [`shards_${shardCounts[0]}`]: single, [`shards_${shardCounts[1]}`]: sharded }, speedup: Math.round((sharded / single) * 100) / 100,
      rounds: measured,
    }));
  });

  it("the ledger alone: concurrent postings to one hot account through both servers' connection pools, one shard against several", { skip: backend !== "postgres" && "PostgreSQL only: SQLite has one writer, shards change nothing there" }, async () => {
    // The payments above spend most of their time in this one Node process (two servers, the
    // sandboxes and the client); here only the ledger's transactions run, so the row locks show.
    const channel: AccountRef = { owner: "bench_channel", currency: "EUR", purpose: "channel_receivable" };
    const hot: AccountRef = { owner: "bench_merchant", currency: "EUR", purpose: "merchant_pending" };
    const transactions = 1000;
    const measured: { shards: number; transfers_per_s: number; ms: number }[] = [];
    for (const shards of rounds) {
      setBalanceShards(shards);
      const started = performance.now();
      await runPool(transactions, (index) =>
        stacks[index % stacks.length].corridor.ctx.db.transaction(async (tx) => {
          const result = await postTransfer(tx, { debit: channel, credit: hot, amount: 100n, code: "capture", ref: `bench_${index}` });
          assert.ok(result.ok);
        }),
      );
      const ms = performance.now() - started;
      measured.push({ shards, transfers_per_s: Math.round((transactions / ms) * 1000), ms: Math.round(ms) });
    }
    const db = stacks[0].corridor.ctx.db;
    assert.equal((await accountBalance(db, accountId(hot))).credits_posted, BigInt(transactions * rounds.length * 100));
    const trial = await verifyLedger(db);
    assert.equal(trial.balanced, true, JSON.stringify(trial));
    assert.equal(trial.balances.drifted, 0);
    const best = (shards: number) => Math.max(...measured.filter((round) => round.shards === shards).map((round) => round.transfers_per_s));
    console.log(JSON.stringify({
      test: "ledger-balances/ledger-only", backend, pools: stacks.length, transactions_per_round: transactions, concurrency,
      transfers_per_s: { [`shards_${shardCounts[0]}`]: best(shardCounts[0]), [`shards_${shardCounts[1]}`]: best(shardCounts[1]) },
      speedup: Math.round((best(shardCounts[1]) / best(shardCounts[0])) * 100) / 100, rounds: measured,
    }));
  });
});
