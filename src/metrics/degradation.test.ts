// The degradation detector on synthetic samples with controlled timestamps (SQLite or PostgreSQL).
import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { describe, it } from "node:test";
import { useDb } from "../../test/helpers.ts";
import { channelStates, decide, defaultDegradationSettings, degradationTick, twoProportionZ } from "./degradation.ts";
import { recordAttemptSample, type Outcome } from "./samples.ts";

const setup = useDb();
let serial = 0;
const minute = 60_000;

/** `attempts` samples on `channel`, `approved` of them approved, spread evenly over [from, to), merchants in turn. */
async function samples(channel: string, from_ms: number, to_ms: number, attempts: number, approved: number, merchants: string[]): Promise<void> {
  await setup.db.transaction(async (tx) => {
    for (let index = 0; index < attempts; index++) {
      // Spread the approvals evenly too, so any sub-window looks like the whole.
      const outcome: Outcome = Math.floor(((index + 1) * approved) / attempts) > Math.floor((index * approved) / attempts) ? "approved" : "soft_decline";
      const n = ++serial;
      await recordAttemptSample(tx, {
        attempt_id: `att_${n}`, payment_id: `pay_${n}`, merchant_id: merchants[index % merchants.length], channel, method_family: "card",
        brand: "visa", bin_country: "US", issuer: null, card_type: null, currency: "USD", amount: 2000, outcome,
        decline_code: outcome === "approved" ? null : "insufficient_funds", latency_ms: 100, cost_minor: null,
        created_ms: from_ms + Math.floor((index * (to_ms - from_ms)) / attempts),
      });
    }
  });
}

async function eventsOf(type: string): Promise<{ merchant_id: string; object_id: string; data: any }[]> {
  const rows = await setup.db.all<{ merchant_id: string; object_id: string; data: string }>(
    "SELECT merchant_id, object_id, data FROM events WHERE type = ? ORDER BY merchant_id", [type],
  );
  return rows.map((row) => ({ ...row, data: JSON.parse(row.data) }));
}

describe("degradation detector", () => {
  it("the z statistic matches a hand computation", () => {
    // p1 = 0.5 (20/40), p0 = 0.9 (180/200), pooled 200/240; SE = sqrt(5/6 * 1/6 * (1/40 + 1/200)) = 0.06455
    assert.ok(Math.abs(twoProportionZ(20, 40, 180, 200) - -6.1968) < 0.001);
    assert.equal(twoProportionZ(40, 40, 200, 200), 0, "no variance: no evidence");
  });

  it("fires on a real drop once, tells the merchants on that channel, stays degraded while low, recovers", async () => {
    const now = Date.UTC(2031, 0, 1, 12, 0, 0);
    const recentStart = now - 5 * minute;
    // Baseline hour: 90% on both channels. mer_c only used "gp" in the baseline.
    await samples("gp", recentStart - 60 * minute, recentStart, 200, 180, ["mer_a", "mer_b", "mer_c"]);
    await samples("la", recentStart - 60 * minute, recentStart, 100, 90, ["mer_c"]);
    // Recent 5 minutes: "gp" falls to 50%, "la" holds.
    await samples("gp", recentStart, now, 40, 20, ["mer_a", "mer_b"]);
    await samples("la", recentStart, now, 40, 36, ["mer_c"]);

    const first = await degradationTick(setup.db, { now_ms: now });
    assert.equal(first.channels_checked, 2);
    assert.equal(first.transitions.length, 1);
    const degraded = first.transitions[0];
    assert.equal(degraded.channel, "gp");
    assert.equal(degraded.state, "degraded");
    assert.deepEqual(degraded.recent, { attempts: 40, approved: 20 });
    assert.deepEqual(degraded.baseline, { attempts: 200, approved: 180 });
    assert.ok(degraded.z < -6);
    const events = await eventsOf("channel.degraded");
    assert.deepEqual(events.map((event) => event.merchant_id), ["mer_a", "mer_b"], "only merchants with recent attempts on the channel");
    assert.ok(events.every((event) => event.object_id === degraded.id));
    assert.equal(events[0].data.channel, "gp");
    assert.equal(events[0].data.status, "degraded");
    assert.equal(events[0].data.approval_rate, "0.5000");
    assert.equal(events[0].data.baseline_approval_rate, "0.9000");
    assert.deepEqual(await channelStates(setup.db), { gp: "degraded" });

    // The same tick again, and two at once a minute later: nothing new.
    assert.equal((await degradationTick(setup.db, { now_ms: now })).transitions.length, 0);
    const concurrent = await Promise.all([degradationTick(setup.db, { now_ms: now + minute }), degradationTick(setup.db, { now_ms: now + minute })]);
    assert.equal(concurrent.flatMap((report) => report.transitions).length, 0);
    assert.equal((await eventsOf("channel.degraded")).length, 2);

    // Ten minutes on, still low (55%): stays degraded, although the baseline hour now holds the drop.
    const later = now + 10 * minute;
    await samples("gp", now, later - 5 * minute, 30, 16, ["mer_a"]);
    await samples("gp", later - 5 * minute, later, 40, 22, ["mer_a", "mer_b"]);
    assert.equal((await degradationTick(setup.db, { now_ms: later })).transitions.length, 0);

    // Twenty minutes on: back at 92.5%, with a new merchant: recovered, once, told to all concerned.
    const recovered_at = now + 20 * minute;
    await samples("gp", recovered_at - 5 * minute, recovered_at, 40, 37, ["mer_b", "mer_d"]);
    const racing = await Promise.all([degradationTick(setup.db, { now_ms: recovered_at }), degradationTick(setup.db, { now_ms: recovered_at })]);
    const transitions = racing.flatMap((report) => report.transitions);
    assert.equal(transitions.length, 1, "of two processes ticking at once, one records the transition");
    assert.equal(transitions[0].state, "recovered");
    assert.deepEqual(transitions[0].baseline, { attempts: 200, approved: 180 }, "against the baseline frozen at the degradation");
    const recovered = await eventsOf("channel.recovered");
    assert.deepEqual(recovered.map((event) => event.merchant_id), ["mer_a", "mer_b", "mer_d"]);
    assert.equal(recovered[0].data.status, "healthy");
    assert.deepEqual(await channelStates(setup.db), { gp: "healthy" });
    const log = await setup.db.all<{ seq: unknown; state: string }>("SELECT seq, state FROM channel_health_events WHERE channel = 'gp' ORDER BY seq");
    assert.deepEqual(log.map((row) => [Number(row.seq), row.state]), [[1, "degraded"], [2, "recovered"]]);
  });

  it("does not fire on noise, on too few attempts, or on a significant drop under 5 points", async () => {
    const now = Date.UTC(2032, 0, 1, 12, 0, 0);
    const recentStart = now - 5 * minute;
    // 82.5% against 90%: a 7.5-point drop, but z ≈ -1.4.
    await samples("noisy", recentStart - 60 * minute, recentStart, 200, 180, ["mer_a"]);
    await samples("noisy", recentStart, now, 40, 33, ["mer_a"]);
    // Nothing approved, but only 20 attempts.
    await samples("quiet", recentStart - 60 * minute, recentStart, 200, 180, ["mer_a"]);
    await samples("quiet", recentStart, now, 20, 0, ["mer_a"]);
    // 86% against 90% on large volumes: z ≈ -4 (significant), but a 4-point drop.
    await samples("large", recentStart - 60 * minute, recentStart, 3000, 2700, ["mer_a"]);
    await samples("large", recentStart, now, 1500, 1290, ["mer_a"]);
    assert.ok(twoProportionZ(1290, 1500, 2700, 3000) < -3.09);
    const report = await degradationTick(setup.db, { now_ms: now });
    assert.equal(report.channels_checked, 3);
    assert.deepEqual(report.transitions, []);
    assert.deepEqual(await eventsOf("channel.degraded").then((events) => events.filter((event) => event.data.channel !== "gp")), []);
  });

  it("on simulated traffic: false alarms are rare, real drops are caught", () => {
    const random = seededRandom(42);
    const draw = (n: number, p: number) => {
      let approved = 0;
      for (let i = 0; i < n; i++) if (random() < p) approved++;
      return { attempts: n, approved };
    };
    let falseAlarms = 0;
    let caught = 0;
    const trials = 2000;
    for (let trial = 0; trial < trials; trial++) {
      if (decide(defaultDegradationSettings, undefined, draw(40, 0.9), draw(480, 0.9))) falseAlarms++;
      if (decide(defaultDegradationSettings, undefined, draw(40, 0.5), draw(480, 0.9))?.state === "degraded") caught++;
    }
    // Nominal rate 0.1%; the normal approximation of a skewed binomial (n = 40, p = 0.9) runs at
    // about 0.3% per check (simulated over 200 000 draws), so this seed's 2 000 draws may show ~6.
    assert.ok(falseAlarms <= trials * 0.01, `false alarms ${falseAlarms} of ${trials}`);
    assert.ok(caught >= trials * 0.99, `caught ${caught} of ${trials}`);
  });
});
