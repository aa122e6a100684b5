// Seedable randomness for routing: the project's PRNG (src/random.ts) and the
// samplers the success-rate strategy needs (normal, Gamma by Marsaglia–Tsang, Beta from two
// Gammas). Everything takes a `Random` so a decision is reproducible given its source.

import { seededRandom, type Random } from "../random.ts";

export { seededRandom, type Random };

/** Rejection rounds of one Gamma draw; the Marsaglia–Tsang acceptance rate is above 95 %. */
const gammaRoundsMax = 64;

/** Standard normal by Box–Muller (one of the pair is dropped: no hidden state between calls). */
export function sampleNormal(random: Random): number {
  let u = random();
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, 1) by Marsaglia–Tsang; shapes below 1 are boosted with U^(1/shape). */
export function sampleGamma(random: Random, shape: number): number {
  if (!(shape > 0)) throw new Error(`programmer error: Gamma shape must be positive, got ${shape}`);
  if (shape < 1) {
    let u = random();
    while (u === 0) u = random();
    return sampleGamma(random, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (let round = 0; round < gammaRoundsMax; round++) {
    const x = sampleNormal(random);
    let v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const u = random();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
  return d; // practically unreachable; the mode is a safe answer
}

/** Beta(alpha, beta) as X / (X + Y) with X ~ Gamma(alpha), Y ~ Gamma(beta). */
export function sampleBeta(random: Random, alpha: number, beta: number): number {
  const x = sampleGamma(random, alpha);
  const y = sampleGamma(random, beta);
  return x / (x + y);
}
