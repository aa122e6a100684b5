import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sampleBeta, sampleGamma, seededRandom } from "./random.ts";

describe("random", () => {
  it("is reproducible from its seed and uniform enough", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    for (let i = 0; i < 100; i++) assert.equal(a(), b());
    const r = seededRandom(7);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r();
      assert.ok(x >= 0 && x < 1);
      sum += x;
    }
    assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.005);
  });

  it("Gamma and Beta samples have the right moments", () => {
    const r = seededRandom(1);
    for (const [shape, n] of [[0.5, 40_000], [3, 40_000], [200, 20_000]] as const) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += sampleGamma(r, shape);
      assert.ok(Math.abs(sum / n - shape) < 0.03 * shape + 0.02, `Gamma(${shape}) mean ${sum / n}`);
    }
    const [alpha, beta, n] = [90, 10, 40_000];
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const x = sampleBeta(r, alpha, beta);
      sum += x;
      squares += x * x;
    }
    const mean = sum / n;
    const variance = squares / n - mean * mean;
    assert.ok(Math.abs(mean - 0.9) < 0.002, `mean ${mean}`);
    const expected = (alpha * beta) / ((alpha + beta) ** 2 * (alpha + beta + 1));
    assert.ok(Math.abs(variance - expected) / expected < 0.05, `variance ${variance} vs ${expected}`);
  });
});
