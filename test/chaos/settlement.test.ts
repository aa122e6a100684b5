// The settlement run of the chaos suite: seeded faults in the card sandboxes' settlement reports,
// imported by a real server process that is killed with SIGKILL in the middle of an import
// transaction, then restarted. What it proves:
//   - exactly the injected discrepancies become exceptions, nothing else: one missing_in_report per
//     capture left out of a report, one duplicate_line per line written twice, one amount_mismatch
//     per line whose amount was changed, one unfunded_batch per batch of the close that was never
//     paid; a report being late (published after the others) or published twice adds none of its own;
//   - nothing is booked twice: the import the crash cut off left nothing behind (it imports cleanly
//     after the restart, no file is rejected for repeating its batches), the repeated report is a
//     `duplicate` of the first, every batch has exactly the matched lines its clean lines make, a
//     second reconciliation run adds no exception and a second fetch imports nothing;
//   - the ledger balances with no balance drift, and the merchant's available balance is exactly
//     what the matched lines move (captures less the merchant's fee, refunds back).
// Faults are applied to lines by the sandboxes (`POST /_sandbox/settlement/close {faults}`). Which
// reference gets which fault is seeded (CHAOS_SEED replays a run). Drops and amount changes are
// given only to captures of payments with no refund, so each report's merchant total stays positive
// (a negative one is capped at the available funds, which would make the expected balance depend on
// import order). A refund left out of a report raises no exception today (missing_in_report covers
// captures only), so refunds are only duplicated or changed, never dropped.
// The scheduler is off (SETTLEMENT_INTERVAL_MS=0): the test drives every fetch itself, so the crash
// lands in the fetch the test sent (CORRIDOR_CRASH_AFTER picks which of its imports, seeded) and no
// background import races the assertions.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom, type Random } from "../../src/random.ts";
import { convertMinor, defaultFeeModel, divideHalfEven } from "../../src/routing/fees.ts";
import { backend, call, cards } from "../helpers.ts";
import { Harness, type Server } from "./harness.ts";

const seed = Number(process.env.CHAOS_SEED ?? 20261125);
const paymentsPerClose = Number(process.env.CHAOS_SETTLEMENT_PAYMENTS ?? 8);
const crashPoint = "inside_settlement_import";
/** Far enough ahead that every settlement delay, payout delay and grace period (terms.ts) is over. */
const asOfDaysAhead = 10;
const pricing = { model: "blended", percent_bps: 150, fixed_amount: 20, currency: "usd" } as const;
const currencies = ["usd", "eur"] as const;
const pageMax = 100;

type ChannelName = "globalpay" | "localacq";
type CloseKind = "line_faults" | "late" | "unfunded" | "repeat";

/** The closes, in order; each also carries seeded line faults. Published, non-late closes are the
 *  imports the crashed fetch can die in. */
const closePlan: { channel: ChannelName; kind: CloseKind }[] = [
  { channel: "globalpay", kind: "line_faults" },
  { channel: "globalpay", kind: "late" },
  { channel: "localacq", kind: "unfunded" },
  { channel: "localacq", kind: "repeat" },
];

/** A line Corridor should find in a report: a capture (our attempt id) or a refund (our refund id). */
interface Movement {
  kind: "capture" | "refund";
  reference: string;
  currency: string;
  /** Corridor's signed amount: positive for a capture, negative for a refund. */
  amount: number;
  /** The payment also has a refund (its capture is kept clean, see the header). */
  refunded: boolean;
}

type LineFault = { type: "drop" } | { type: "duplicate" } | { type: "change_amount"; delta: number };

interface PlannedClose {
  channel: ChannelName;
  kind: CloseKind;
  movements: Movement[];
  faults: Map<string, LineFault>;
  outcome?: any;
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];

function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A change well past the matching tolerance (1 minor unit) that keeps the line's sign. */
function amountChange(random: Random, movement: Movement): number {
  const size = 50 + Math.floor(random() * 450);
  const towardZero = random() < 0.5 && size < Math.abs(movement.amount);
  return Math.sign(movement.amount) * (towardZero ? -size : size);
}

/** Seeded line faults for one close: each kind at least once, more at random. */
function chooseLineFaults(random: Random, movements: readonly Movement[]): Map<string, LineFault> {
  const faults = new Map<string, LineFault>();
  const cleanCaptures = shuffled(random, movements.filter((movement) => movement.kind === "capture" && !movement.refunded));
  assert.ok(cleanCaptures.length >= 3, "each close needs three captures without refunds, one per line fault");
  const [dropped, duplicated, changed, ...rest] = cleanCaptures;
  faults.set(dropped.reference, { type: "drop" });
  faults.set(duplicated.reference, { type: "duplicate" });
  faults.set(changed.reference, { type: "change_amount", delta: amountChange(random, changed) });
  for (const movement of rest) {
    const roll = random();
    if (roll < 0.15) faults.set(movement.reference, { type: "drop" });
    else if (roll < 0.3) faults.set(movement.reference, { type: "duplicate" });
    else if (roll < 0.45) faults.set(movement.reference, { type: "change_amount", delta: amountChange(random, movement) });
  }
  // Refunds are written twice or changed, captures with a refund only written twice (see the header).
  for (const movement of movements) {
    if (movement.kind === "capture" && !movement.refunded) continue;
    if (random() >= 0.3) continue;
    const change = movement.kind === "refund" && random() < 0.5;
    faults.set(movement.reference, change ? { type: "change_amount", delta: amountChange(random, movement) } : { type: "duplicate" });
  }
  return faults;
}

function faultsBody(close: PlannedClose): Record<string, unknown> {
  const drop: string[] = [];
  const duplicate: string[] = [];
  const change_amount: Record<string, number> = {};
  for (const [reference, fault] of close.faults) {
    if (fault.type === "drop") drop.push(reference);
    else if (fault.type === "duplicate") duplicate.push(reference);
    else change_amount[reference] = fault.delta;
  }
  return { drop, duplicate, change_amount, late: close.kind === "late", unfunded: close.kind === "unfunded", repeat: close.kind === "repeat" };
}

/** The merchant's fee on a settled capture under `pricing` (settlement/pricing.ts). */
function merchantFee(amount: number, currency: string): number {
  if (amount <= 0) return 0;
  const percent = divideHalfEven(BigInt(amount) * BigInt(pricing.percent_bps), 10_000n);
  const fixed = convertMinor(defaultFeeModel.fx, BigInt(pricing.fixed_amount), pricing.currency.toUpperCase(), currency.toUpperCase()) ?? 0n;
  return Number(percent + fixed);
}

/** Every page of an admin list. */
async function listAll(url: string, key: string, path: string): Promise<any[]> {
  const items: any[] = [];
  let starting_after = "";
  for (let page = 0; page < pageMax; page++) {
    const separator = path.includes("?") ? "&" : "?";
    const response = await call(url, "GET", `${path}${separator}limit=100${starting_after ? `&starting_after=${starting_after}` : ""}`, { key });
    assert.equal(response.status, 200, response.text);
    items.push(...response.body.data);
    if (!response.body.has_more) return items;
    starting_after = response.body.data.at(-1).id;
  }
  throw new Error(`${path}: more than ${pageMax} pages`);
}

async function sandboxPost(base: string, path: string, body: unknown = {}): Promise<any> {
  const response = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  assert.ok(response.ok, `POST ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** An exception, or an expected one, as one comparable string. */
function exceptionKey(exception: { type: string; channel: string; reference: string | null; batch_number?: string; expected_amount: number | null; reported_amount: number | null }): string {
  const subject = exception.type === "unfunded_batch" ? `batch ${exception.batch_number}` : exception.reference;
  return `${exception.type} ${exception.channel} ${subject} expected=${exception.expected_amount} reported=${exception.reported_amount}`;
}

/** How many of each exception type (the first word of each key). */
function tally(keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) {
    const type = key.split(" ")[0];
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

describe(`settlement under seeded report faults and a crash during import (${backend})`, () => {
  it(`imports, matches and books each line once, and raises exactly the injected exceptions (seed ${seed})`, async () => {
    const started_ms = Date.now();
    const random = seededRandom(seed);
    const harness = new Harness();
    await harness.start(1, { bank: true, env: { SETTLEMENT_INTERVAL_MS: "0" } });
    const servers: Server[] = [];
    const spawn = async (crash?: { point: string; after: number }) => {
      const server = await harness.spawnServer(0, crash);
      servers.push(server);
      return server;
    };
    const admin = harness.admin_key;
    try {
      // ---- 1. payments on both channels, each group closed at its sandbox with seeded faults ----
      const setup = await spawn();
      const merchant = await call(setup.url, "POST", "/v1/admin/merchants", { key: admin, body: { name: "Settled chaos shop", country: "US", default_currency: "usd" } });
      assert.equal(merchant.status, 201, merchant.text);
      const secret: string = merchant.body.api_keys.secret;
      const priced = await call(setup.url, "PUT", `/v1/admin/merchants/${merchant.body.id}/pricing`, { key: admin, body: pricing });
      assert.equal(priced.status, 200, priced.text);

      const closes: PlannedClose[] = [];
      for (const [index, plan] of closePlan.entries()) {
        const routed = await call(setup.url, "PUT", "/v1/routing/config", { key: secret, body: { rules: [], default_channels: [plan.channel], strategy: { type: "rules" } } });
        assert.equal(routed.status, 200, routed.text);
        const movements: Movement[] = [];
        for (let n = 0; n < paymentsPerClose; n++) {
          const currency = currencies[n % currencies.length];
          const amount = 1_000 + Math.floor(random() * 9_000);
          const manual = random() < 0.3;
          const created = await call(setup.url, "POST", "/v1/payments", {
            key: secret,
            headers: { "idempotency-key": `settlement-${seed}-${index}-${n}` },
            body: {
              amount, currency, confirm: true, capture_method: manual ? "manual" : "automatic",
              payment_method_data: { type: "card", card: { number: pick(random, [cards.visa, cards.mastercard]), exp_month: 12, exp_year: 2040, cvc: "123" } },
            },
          });
          assert.equal(created.status, 200, created.text);
          let payment = created.body;
          if (manual) {
            assert.equal(payment.status, "requires_capture", created.text);
            const partial = random() < 0.5;
            const capture = await call(setup.url, "POST", `/v1/payments/${payment.id}/capture`, { key: secret, body: partial ? { amount_to_capture: amount - 100 - Math.floor(random() * 500) } : {} });
            assert.equal(capture.status, 200, capture.text);
            payment = capture.body;
          }
          assert.equal(payment.status, "succeeded", JSON.stringify(payment));
          const attempt = payment.attempts.at(-1);
          assert.equal(attempt.channel, plan.channel, JSON.stringify(payment));
          // Some payments are partly refunded, never the first three of a close (they carry one line fault each).
          const refund = n >= 3 && random() < 0.4;
          movements.push({ kind: "capture", reference: attempt.id, currency: currency.toUpperCase(), amount: payment.amount_received, refunded: refund });
          if (refund) {
            const refunded = await call(setup.url, "POST", "/v1/refunds", { key: secret, body: { payment: payment.id, amount: 100 + Math.floor(random() * (payment.amount_received / 2)) } });
            assert.equal(refunded.status, 200, refunded.text);
            assert.equal(refunded.body.status, "succeeded", refunded.text);
            movements.push({ kind: "refund", reference: refunded.body.id, currency: currency.toUpperCase(), amount: -refunded.body.amount, refunded: true });
          }
        }
        const close: PlannedClose = { ...plan, movements, faults: chooseLineFaults(random, movements) };
        close.outcome = await sandboxPost(harness.sandboxes[plan.channel].url, "/_sandbox/settlement/close", { faults: faultsBody(close) });
        // The sandbox applied every fault we named, to lines of this close.
        assert.deepEqual(close.outcome.faults.unmatched, [], JSON.stringify(close.outcome.faults));
        assert.equal(close.outcome.batches.length, currencies.length, JSON.stringify(close.outcome.batches));
        assert.equal(close.outcome.funded, close.kind !== "unfunded", JSON.stringify(close.outcome.payouts));
        closes.push(close);
      }
      setup.child.kill("SIGTERM");
      await setup.exited;

      // ---- 2. a fetch killed with SIGKILL inside one of its import transactions ----
      const importsReachingCrash = closes.filter((close) => close.kind !== "late").length;
      const crashAfter = 1 + Math.floor(random() * importsReachingCrash);
      const victim = await spawn({ point: crashPoint, after: crashAfter });
      let answered: string | undefined;
      try {
        answered = (await call(victim.url, "POST", "/v1/admin/settlement_files/fetch", { key: admin })).text;
      } catch {
        // the server died before answering: the crash point fired
      }
      assert.equal(answered, undefined, "the fetch was answered: the crash point never fired");
      const exitCode = await victim.exited;
      assert.equal(exitCode, null, "killed by a signal, not exited");
      assert.equal(victim.child.signalCode, "SIGKILL");

      // ---- 3. restarted: fetch, the late report published and fetched, reconciliation run as of later ----
      const server = await spawn();
      const adminPost = async (path: string, body: unknown = {}, status = 200) => {
        const response = await call(server.url, "POST", path, { key: admin, body });
        assert.equal(response.status, status, response.text);
        return response.body;
      };
      const fetchFiles = async (): Promise<any[]> => {
        const fetched = await adminPost("/v1/admin/settlement_files/fetch");
        assert.deepEqual(fetched.unreachable, [], JSON.stringify(fetched));
        return fetched.files;
      };
      const afterRestart = await fetchFiles();
      const late = closes.find((close) => close.kind === "late")!;
      await sandboxPost(harness.sandboxes[late.channel].url, `/_sandbox/settlement/reports/${encodeURIComponent(late.outcome.report_id)}/publish`);
      const afterLate = await fetchFiles();
      assert.deepEqual(afterLate.map((file) => [file.filename, file.status]), [[late.outcome.filename, "imported"]], "the late report, and only it");
      const asOf = () => new Date(Date.now() + asOfDaysAhead * 86_400_000).toISOString();
      const run = await adminPost("/v1/admin/reconciliation/runs", { as_of: asOf() }, 201);

      // ---- 4. the files: each report imported once, the repeated one a duplicate, none rejected ----
      const files = await listAll(server.url, admin, "/v1/admin/settlement_files");
      assert.deepEqual(files.filter((file) => file.status === "rejected"), [], "no file rejected (a crashed import left no batch behind)");
      for (const close of closes) {
        const named = files.filter((file) => file.channel === close.channel && file.filename === close.outcome.filename);
        const imported = named.filter((file) => file.status === "imported");
        assert.equal(imported.length, 1, `${close.outcome.filename} imported once: ${JSON.stringify(named)}`);
        const duplicates = named.filter((file) => file.status === "duplicate");
        if (close.kind === "repeat") {
          assert.equal(duplicates.length, 1, JSON.stringify(named));
          assert.equal(duplicates[0].duplicate_of, imported[0].id);
          assert.equal(duplicates[0].sha256, imported[0].sha256);
        } else assert.equal(duplicates.length, 0, JSON.stringify(named));
      }
      const reportFiles = files.filter((file) => file.kind === "channel_report" && file.status === "imported");
      assert.equal(reportFiles.length, closes.length);
      // The imports the crashed fetch committed before it died are exactly the ones before the crash.
      const importedAfterCrash = [...afterRestart, ...afterLate].filter((file) => file.kind === "channel_report" && file.status === "imported").length;
      assert.equal(reportFiles.length - importedAfterCrash, crashAfter - 1, "imports committed before the crash");

      // ---- 5. exceptions: exactly the injected discrepancies ----
      const expected: string[] = [];
      const expectedMatched = new Map<string, number>();
      const expectedAvailable = new Map<string, number>();
      const expectedMerchantFees = new Map<string, number>();
      for (const close of closes) {
        for (const movement of close.movements) {
          const fault = close.faults.get(movement.reference);
          const base = { channel: close.channel, reference: movement.reference };
          if (fault?.type === "drop") {
            expected.push(exceptionKey({ ...base, type: "missing_in_report", expected_amount: movement.amount, reported_amount: null }));
            continue;
          }
          if (fault?.type === "change_amount") {
            expected.push(exceptionKey({ ...base, type: "amount_mismatch", expected_amount: movement.amount, reported_amount: movement.amount + fault.delta }));
            continue;
          }
          if (fault?.type === "duplicate") expected.push(exceptionKey({ ...base, type: "duplicate_line", expected_amount: null, reported_amount: movement.amount }));
          const batchKey = `${close.channel} ${movement.currency}`;
          const closeKey = `${close.outcome.report_id} ${movement.currency}`;
          expectedMatched.set(closeKey, (expectedMatched.get(closeKey) ?? 0) + 1);
          const fee = movement.kind === "capture" ? merchantFee(movement.amount, movement.currency) : 0;
          expectedAvailable.set(movement.currency, (expectedAvailable.get(movement.currency) ?? 0) + movement.amount - fee);
          expectedMerchantFees.set(batchKey, (expectedMerchantFees.get(batchKey) ?? 0) + fee);
        }
        if (close.kind === "unfunded") {
          for (const batch of close.outcome.batches) {
            expected.push(exceptionKey({ type: "unfunded_batch", channel: close.channel, reference: null, batch_number: String(batch.batch_number), expected_amount: batch.net, reported_amount: null }));
          }
        }
      }
      const exceptions = await listAll(server.url, admin, "/v1/admin/reconciliation/exceptions");
      assert.deepEqual(exceptions.filter((exception) => exception.status !== "open").map((exception) => exception.subject), [], "nothing was closed");
      const found = exceptions.map((exception) => exceptionKey({ ...exception, batch_number: exception.details.batch_number }));
      assert.deepEqual(found.sort(), [...expected].sort());
      const expectedTally = tally(expected);
      // The run raised what only time reveals; the imports raised the line exceptions.
      assert.deepEqual(run.new_exceptions, Object.fromEntries(Object.entries(expectedTally).filter(([type]) => type === "missing_in_report" || type === "unfunded_batch")));

      // ---- 6. batches: every line of every report once, matched at most once, funded unless unfunded ----
      const batches = await listAll(server.url, admin, "/v1/admin/settlement_batches");
      assert.equal(batches.length, closes.length * currencies.length, JSON.stringify(batches.map((batch) => batch.batch_number)));
      for (const close of closes) {
        const file = reportFiles.find((candidate) => candidate.channel === close.channel && candidate.filename === close.outcome.filename)!;
        for (const reported of close.outcome.batches) {
          const stored = batches.filter((batch) => batch.channel === close.channel && batch.batch_number === String(reported.batch_number));
          assert.equal(stored.length, 1, `batch ${reported.batch_number} stored once`);
          const [batch] = stored;
          assert.equal(batch.settlement_file, file.id);
          assert.deepEqual(
            { currency: batch.currency, lines: batch.lines, gross: batch.gross, net: batch.net, matched_lines: batch.matched_lines, funded: batch.funded_by !== null },
            {
              currency: reported.currency.toLowerCase(), lines: reported.lines, gross: reported.gross, net: reported.net,
              matched_lines: expectedMatched.get(`${close.outcome.report_id} ${reported.currency}`) ?? 0, funded: close.kind !== "unfunded",
            },
            `batch ${reported.batch_number} (${close.channel}, ${close.kind})`,
          );
        }
      }

      // ---- 7. the books: balanced, no drift, the merchant's available funds exactly the matched lines ----
      const verify = await call(server.url, "GET", "/v1/admin/ledger/verify", { key: admin });
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.balanced, true, verify.text);
      assert.equal(verify.body.balances.drifted, 0, verify.text);
      const balanceOf = async () => {
        const response = await call(server.url, "GET", "/v1/balance", { key: secret });
        assert.equal(response.status, 200, response.text);
        return response.body;
      };
      const balance = await balanceOf();
      for (const currency of currencies) {
        const available = balance.available.find((entry: any) => entry.currency === currency)?.amount ?? 0;
        assert.equal(available, expectedAvailable.get(currency.toUpperCase()), `available ${currency}`);
      }
      const margins = (await call(server.url, "GET", "/v1/admin/settlement/margins", { key: admin })).body.data;
      for (const [key, fees] of expectedMerchantFees) {
        const [channel, currency] = key.split(" ");
        assert.equal(margins.find((row: any) => row.channel === channel && row.currency === currency.toLowerCase())?.merchant_fees, fees, `merchant fees ${key}`);
      }

      // ---- 8. reruns: nothing new ----
      const rerun = await adminPost("/v1/admin/reconciliation/runs", { as_of: asOf() }, 201);
      assert.deepEqual({ new: rerun.new_exceptions, funded: rerun.funded_batches, closed: rerun.closed_exceptions }, { new: {}, funded: 0, closed: 0 });
      assert.deepEqual(await fetchFiles(), [], "a second fetch imports nothing");
      assert.equal((await listAll(server.url, admin, "/v1/admin/reconciliation/exceptions")).length, exceptions.length);
      assert.deepEqual(await balanceOf(), balance);
      const verifyAgain = await call(server.url, "GET", "/v1/admin/ledger/verify", { key: admin });
      assert.equal(verifyAgain.body.balanced, true, verifyAgain.text);

      const injected = closes.flatMap((close) => [...close.faults.values()].map((fault) => fault.type));
      process.stdout.write(`${JSON.stringify({
        chaos: "settlement", backend, seed, closes: closes.length,
        payments: closes.length * paymentsPerClose, lines: closes.reduce((sum, close) => sum + close.movements.length, 0),
        injected: {
          drop: injected.filter((type) => type === "drop").length, duplicate: injected.filter((type) => type === "duplicate").length,
          change_amount: injected.filter((type) => type === "change_amount").length,
          ...Object.fromEntries((["late", "unfunded", "repeat"] as const).map((kind) => [kind, closes.filter((close) => close.kind === kind).length])),
        },
        exceptions: tally(found), crashed_after_imports: crashAfter - 1, files: files.length, batches: batches.length, ms: Date.now() - started_ms,
      })}\n`);
    } finally {
      // Every server this run started stops, whatever failed: a live child would keep the test
      // process (and CI) waiting for ever.
      for (const child of servers) {
        if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill("SIGKILL");
        await child.exited;
      }
      await harness.stop();
    }
  });
});
