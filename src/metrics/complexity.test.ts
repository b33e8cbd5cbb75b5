import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { complexity, sparseness } from "./complexity.ts";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);

describe("sparseness and complexity", () => {
  const n = 6 * 7;

  it("a uniform map: Gini 0 and the maximal entropy ln(n)", () => {
    const map = new Float32Array(n).fill(0.3);
    close(sparseness(map, 6, 7)[0]!, 0);
    close(complexity(map, 6, 7)[0]!, Math.log(n));
  });

  it("one non-zero pixel: Gini (n - 1) / n and entropy 0", () => {
    const map = new Float32Array(n);
    map[17] = -2;
    close(sparseness(map, 6, 7)[0]!, (n - 1) / n);
    close(complexity(map, 6, 7)[0]!, 0);
  });

  it("half the pixels equal: Gini 1/2 and entropy ln 2 for [0, 0, 1, 1], on |map|, per map", () => {
    const maps = Float32Array.of(0, 1, 0, -1, 5, 5, 5, 5);
    const gini = sparseness(maps, 2, 2);
    const entropy = complexity(maps, 2, 2);
    close(gini[0]!, 0.5);
    close(entropy[0]!, Math.log(2));
    close(gini[1]!, 0);
    close(entropy[1]!, Math.log(4));
  });

  it("an all-zero map has neither: NaN", () => {
    assert.ok(Number.isNaN(sparseness(new Float32Array(4), 2, 2)[0]));
    assert.ok(Number.isNaN(complexity(new Float32Array(4), 2, 2)[0]));
  });
});
