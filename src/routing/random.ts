// Seedable randomness for routing: a small fast PRNG (sfc32, seeded through splitmix32) and the
// samplers the success-rate strategy needs (normal, Gamma by Marsaglia–Tsang, Beta from two
// Gammas). Everything takes a `Random` so a decision is reproducible given its source.

/** A source of uniform numbers in [0, 1). `Math.random` qualifies. */
export type Random = () => number;

/** Rejection rounds of one Gamma draw; the Marsaglia–Tsang acceptance rate is above 95 %. */
const gammaRoundsMax = 64;

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** sfc32: 128 bits of state, passes PractRand; deterministic for a given 32-bit seed. */
export function seededRandom(seed: number): Random {
  const mix = splitmix32(seed);
  let a = mix() | 0;
  let b = mix() | 0;
  let c = mix() | 0;
  let d = mix() | 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let round = 0; round < 12; round++) next();
  return next;
}

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
