// The routing lab: a seeded synthetic day of card payments replayed against simulated channels
// whose true approval rates differ by segment and change during the day, routed three ways:
//   static  a fixed priority list (the real engine, strategy "rules", no elimination);
//   smart   the real engine: success rate (Thompson sampling) + cost awareness + elimination;
//   oracle  knows the true rates at each moment and orders the channels by them.
// Every policy cascades only as the real cascade policy allows. Prints one JSON line per policy,
// then the summary as the last line.
//   npm run bench:routing [-- --payments 100000 --seed 7]
import { ineligibility } from "../src/routing/rules.ts";
import type { RoutingConfigV2 } from "../src/routing/config.ts";
import { decide, observe, RoutingStats, seededRandom } from "../src/routing/engine.ts";
import { estimateCost } from "../src/routing/fees.ts";
import { runPolicy, type Policy } from "./routing-lab/simulate.ts";
import { channels, feeModel, generateDay, incidents, trueApproval, trueTechnical, type LabPayment } from "./routing-lab/world.ts";

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const paymentsCount = argument("payments", 100_000);
const seed = argument("seed", 20_240_601);
/** Effective memory of a segment's posteriors, in outcomes (RoutingStats.discount_window). */
const discountWindow = argument("discount-window", 400);
const priority = ["globalpay", "localacq", "regionalpsp"];

const staticConfig: RoutingConfigV2 = {
  version: 2, rules: [], default_channels: priority,
  strategy: { type: "rules" },
  elimination: { enabled: false, failure_threshold: 0.5, window: 20, cooldown_ms: 10_000 },
};

const smartConfig: RoutingConfigV2 = {
  version: 2, rules: [], default_channels: priority,
  strategy: { type: "cost_aware", exploration_share: 0.1, margin_bps: 100, segment_by: ["brand", "bin_country", "amount_band"] },
  elimination: { enabled: true, failure_threshold: 0.5, window: 20, cooldown_ms: 10_000 },
};

function enginePolicy(name: string, config: RoutingConfigV2, clock: { now_ms: number }, policySeed: number): Policy {
  const stats = new RoutingStats({ now: () => clock.now_ms, discount_window: discountWindow });
  const random = seededRandom(policySeed);
  return {
    name,
    route(payment) {
      const decision = decide(config, { payment: payment.facts, channels, fees: feeModel }, stats, random);
      const names: string[] = [];
      for (const entry of decision.route) names.push(entry.channel);
      return { channels: names, segment: decision.segment, decision_us: decision.decision_us };
    },
    observe(channel, segment, kind) {
      observe(stats, { channel, segment, kind });
    },
  };
}

/** Orders the eligible channels by their true chance of approving now, then by cost. */
function oraclePolicy(): Policy {
  return {
    name: "oracle",
    route(payment: LabPayment) {
      const f = payment.facts;
      const query = { method: f.method, brand: f.brand, card_country: f.country, amount: f.amount, currency: f.currency };
      const ranked = channels
        .filter((channel) => ineligibility(channel.capabilities, f) === undefined)
        .map((channel) => ({
          name: channel.name,
          value: (1 - trueTechnical(channel.name, payment.at_ms)) * trueApproval(channel.name, payment),
          cost: estimateCost(feeModel, channel.name, query) ?? Infinity,
        }))
        .sort((a, b) => b.value - a.value || a.cost - b.cost);
      return { channels: ranked.map((entry) => entry.name), segment: "" };
    },
    observe() {},
  };
}

const payments = generateDay(seed, paymentsCount);
const clock = { now_ms: 0 };
const results = [
  runPolicy(enginePolicy("static", staticConfig, clock, seed + 1), payments, seed + 2, clock),
  runPolicy(enginePolicy("smart", smartConfig, clock, seed + 1), payments, seed + 2, clock),
  runPolicy(enginePolicy("success_rate_only", { ...smartConfig, strategy: { ...smartConfig.strategy, type: "success_rate" } }, clock, seed + 1), payments, seed + 2, clock),
  runPolicy(oraclePolicy(), payments, seed + 2, clock),
];
for (const result of results) console.log(JSON.stringify(result));

const [staticResult, smart, srOnly, oracle] = results;
const pick = (r: (typeof results)[number]) => ({ approval_rate: r.approval_rate, avg_cost: r.avg_cost, attempts_per_payment: r.attempts_per_payment });
console.log(JSON.stringify({
  payments: paymentsCount,
  seed,
  avg_cost_unit: "USD minor units (cents) per approved payment, fee of the approving attempt at mid rate",
  incidents: {
    degradation: `${incidents.degradation.channel} -${incidents.degradation.points * 100} points ${incidents.degradation.from_ms / 3_600_000}:00-${incidents.degradation.to_ms / 3_600_000}:00`,
    outage: `${incidents.outage.channel} technical errors ${incidents.outage.from_ms / 3_600_000}h-${incidents.outage.to_ms / 3_600_000}h`,
  },
  static: pick(staticResult),
  smart: pick(smart),
  success_rate_only: pick(srOnly),
  oracle: pick(oracle),
  smart_vs_oracle_points: Number(((smart.approval_rate - oracle.approval_rate) * 100).toFixed(2)),
  smart_vs_static_points: Number(((smart.approval_rate - staticResult.approval_rate) * 100).toFixed(2)),
  decision_us: smart.decision_us,
}));
