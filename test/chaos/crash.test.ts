// Crash consistency: a real server process is killed with SIGKILL at each named crash point (and
// at random moments; and, on PostgreSQL, one of two servers sharing the database), restarted, and
// the janitor left to finish. Then: the ledger balances, nothing stays open, the channels' own
// records agree with ours, every acknowledged write is still there, and every retry with its
// idempotency key answers as before (never a second payment).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { crashPoints } from "../../src/chaos/crash.ts";
import { backend, call } from "../helpers.ts";
import { seededRandom } from "../../src/random.ts";
import { checkInvariants, driveLoad, Harness, idempotencyLeaseMs, type Server } from "./harness.ts";

const runsPerPoint = Number(process.env.CHAOS_CRASH_RUNS ?? 1);
const clients = Number(process.env.CHAOS_CLIENTS ?? 6);
const opsPerClient = Number(process.env.CHAOS_OPS ?? 12);
const baseSeed = Number(process.env.CHAOS_SEED ?? 20261125);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const receiver = createServer((request, response) => {
  request.resume();
  request.on("end", () => response.writeHead(200).end());
});
let receiverUrl = "";

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hooks`;
});
after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

const totals = { runs: 0, crashed: 0, requests: 0, acknowledged: 0, unacknowledged: 0, payments: 0, channel_records_compared: 0, replayed_identically: 0, mismatches: 0 };
after(() => process.stdout.write(`${JSON.stringify({ chaos: "crash", backend, ...totals })}\n`));

async function prepare(harness: Harness, servers: number): Promise<string> {
  await harness.start(servers);
  const setup = await harness.spawnServer(0);
  const secret = await harness.createMerchant(setup.url);
  const endpoint = await call(setup.url, "POST", "/v1/webhook_endpoints", { key: secret, body: { url: receiverUrl, enabled_events: ["*"] } });
  assert.equal(endpoint.status, 201, endpoint.text);
  setup.child.kill("SIGTERM");
  await setup.exited;
  return secret;
}

async function crashRun(options: { point?: string; seed: number; servers: number }): Promise<void> {
  const harness = new Harness();
  const secret = await prepare(harness, options.servers);
  const random = seededRandom(options.seed);
  const started: Server[] = [];
  const spawn = async (index: number, crash?: { point: string; after: number }) => {
    const server = await harness.spawnServer(index, crash);
    started.push(server);
    return server;
  };
  try {
    const crash = options.point ? { point: options.point, after: 2 + Math.floor(random() * 12) } : undefined;
    const victim = await spawn(0, crash);
    const survivors: Server[] = [];
    for (let i = 1; i < options.servers; i++) survivors.push(await spawn(i));
    let victimDead = false;
    void victim.exited.then(() => (victimDead = true));
    if (!options.point) setTimeout(() => victim.child.kill("SIGKILL"), 300 + Math.floor(random() * 1200)).unref();
    const urls = () => (victimDead ? survivors.map((s) => s.url) : [victim.url, ...survivors.map((s) => s.url)]);
    const log = await driveLoad(urls, secret, {
      clients, ops: opsPerClient, seed: options.seed, until: () => victimDead && survivors.length === 0,
    });
    if (!victimDead) {
      await sleep(1_500); // give janitor and webhook crash points their chance, then kill anyway
      victim.child.kill("SIGKILL");
    }
    const code = await victim.exited;
    totals.runs++;
    if (code === null) totals.crashed++;
    const restarted = await spawn(0);
    await sleep(idempotencyLeaseMs + 200);
    const findings = await checkInvariants(harness, restarted.url, secret, log);
    totals.requests += findings.requests;
    totals.acknowledged += findings.acknowledged;
    totals.unacknowledged += findings.unacknowledged;
    totals.payments += findings.payments;
    totals.channel_records_compared += findings.channel_records_compared;
    totals.replayed_identically += findings.replayed_identically;
    totals.mismatches += findings.mismatches.length;
    assert.deepEqual(findings.mismatches, [], `crash ${options.point ?? "at a random moment"} (seed ${options.seed})`);
  } finally {
    // Every server this run started stops, whatever failed: a live child would keep the test
    // process (and CI) waiting for ever.
    for (const server of started) {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
      await server.exited;
    }
    await harness.stop();
  }
}

describe(`crash consistency (${backend})`, () => {
  for (const point of crashPoints) {
    for (let run = 0; run < runsPerPoint; run++) {
      it(`survives SIGKILL at ${point} (run ${run + 1})`, () => crashRun({ point, seed: baseSeed + run * 101 + point.length, servers: 1 }));
    }
  }
  for (let run = 0; run < runsPerPoint; run++) {
    it(`survives SIGKILL at a random moment (run ${run + 1})`, () => crashRun({ seed: baseSeed + 7 + run, servers: 1 }));
  }
  it("survives one of two API servers sharing PostgreSQL being killed", { skip: backend !== "postgres" && "PostgreSQL only" }, () =>
    crashRun({ point: "after_channel_answered", seed: baseSeed + 99, servers: 2 }),
  );
});
