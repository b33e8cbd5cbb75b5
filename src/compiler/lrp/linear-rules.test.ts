import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createRng } from "../../util/random.ts";
import { vjpAt } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";
import { lrpRuleSet, parseRule, uniformComposite, type RuleChoice } from "./composites.ts";

// A dense layer z = W x + b (W: [out, in]) and the rules of docs/lrp-rules.md written out in
// float64, one loop per sum, as the reference for the compiled graphs.
const IN = 5;
const OUT = 4;
const BATCH = 3;

function draw(n: number, seed: number, scale = 1): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => rng.normal() * scale);
}

const W = draw(IN * OUT, 1, 0.7);
const B = draw(OUT, 2, 0.3);
const X = draw(BATCH * IN, 3);
const R = draw(BATCH * OUT, 4);
const LOW = [-1.5, -1.2, -2, -1.1, -1.3];
const HIGH = [1.4, 2.2, 1.6, 1.9, 1.2];

const pos = (v: number): number => Math.max(v, 0);
const neg = (v: number): number => Math.min(v, 0);
const sdiv = (r: number, z: number): number => (z === 0 ? 0 : r / z);
const stab = (z: number, eps: number): number => z + eps * (z >= 0 ? 1 : -1);

/** sum_t f_t(x_i) g_t(w_ij) s_j with s = divide(R, sum_t sum_i f_t(x_i) g_t(w_ij) + bias). */
function zRule(
  terms: [(x: number, i: number) => number, (w: number) => number][],
  divide: (r: number, z: number) => number,
  bias: (j: number) => number = () => 0,
): Float64Array {
  const out = new Float64Array(BATCH * IN);
  for (let n = 0; n < BATCH; n++) {
    const x = X.subarray(n * IN, (n + 1) * IN);
    const s = Array.from({ length: OUT }, (_, j) => {
      let z = bias(j);
      for (const [f, g] of terms) for (let i = 0; i < IN; i++) z += f(x[i]!, i) * g(W[j * IN + i]!);
      return divide(R[n * OUT + j]!, z);
    });
    for (let i = 0; i < IN; i++) {
      let r = 0;
      for (const [f, g] of terms)
        for (let j = 0; j < OUT; j++) r += f(x[i]!, i) * g(W[j * IN + i]!) * s[j]!;
      out[n * IN + i] = r;
    }
  }
  return out;
}

const id = (v: number): number => v;
const one = (): number => 1;

const references: Record<string, () => Float64Array> = {
  epsilon: () =>
    zRule(
      [[id, id]],
      (r, z) => r / stab(z, 1e-6),
      (j) => B[j]!,
    ),
  "epsilon:0.5": () =>
    zRule(
      [[id, id]],
      (r, z) => r / stab(z, 0.5),
      (j) => B[j]!,
    ),
  zplus: () =>
    zRule(
      [
        [pos, pos],
        [neg, neg],
      ],
      sdiv,
    ),
  "alphabeta:2,1": () => {
    const p = zRule(
      [
        [pos, pos],
        [neg, neg],
      ],
      sdiv,
    );
    const n = zRule(
      [
        [pos, neg],
        [neg, pos],
      ],
      sdiv,
    );
    return p.map((v, k) => 2 * v - n[k]!);
  },
  "gamma:0.25": () =>
    zRule(
      [[id, (w) => w + 0.25 * pos(w)]],
      (r, z) => r / stab(z, 1e-6),
      (j) => B[j]! + 0.25 * pos(B[j]!),
    ),
  zbox: () =>
    zRule(
      [
        [id, id],
        [(_, i) => LOW[i]!, (w) => -pos(w)],
        [(_, i) => HIGH[i]!, (w) => -neg(w)],
      ],
      (r, z) => r / stab(z, 1e-6),
    ),
  flat: () => zRule([[one, one]], sdiv),
  wsquare: () => zRule([[one, (w) => w * w]], sdiv),
};

function relative(actual: Float32Array, expected: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < expected.length; k++) {
    num = Math.max(num, Math.abs(actual[k]! - expected[k]!));
    den = Math.max(den, Math.abs(expected[k]!));
  }
  return num / den;
}

function dense(op: "Gemm" | "MatMul") {
  if (op === "Gemm") {
    return singleOp("Gemm", [IN], { transB: 1 }, [
      { name: "w", dims: [OUT, IN], data: Float32Array.from(W) },
      { name: "b", dims: [OUT], data: Float32Array.from(B) },
    ]);
  }
  // MatMul takes W^T ([in, out]); no bias.
  const wt = new Float32Array(IN * OUT);
  for (let j = 0; j < OUT; j++) for (let i = 0; i < IN; i++) wt[i * OUT + j] = W[j * IN + i]!;
  return singleOp("MatMul", [IN], {}, [{ name: "w", dims: [IN, OUT], data: wt }]);
}

function choice(text: string): RuleChoice {
  const c = parseRule(text);
  return c.rule === "zbox" ? { rule: "zbox", low: LOW, high: HIGH } : c;
}

describe("linear LRP rules on a dense layer match the written-out definitions", () => {
  for (const rule of Object.keys(references)) {
    test(rule, async () => {
      const model = dense("Gemm");
      const set = lrpRuleSet(model, uniformComposite(choice(rule)));
      const got = await vjpAt(model, Float32Array.from(X), Float32Array.from(R), set);
      const error = relative(got, references[rule]!());
      assert.ok(error < 1e-5, `relative error ${error}`);
    });
  }

  test("MatMul by a constant uses the same rules (zplus)", async () => {
    const model = dense("MatMul");
    const set = lrpRuleSet(model, uniformComposite({ rule: "zplus" }));
    const got = await vjpAt(model, Float32Array.from(X), Float32Array.from(R), set);
    assert.ok(relative(got, references.zplus!()) < 1e-5);
  });
});

describe("z+ with the convolution bias (Relevance-CAM's official code)", () => {
  // A convolution whose kernel covers its [IN, 1, 1] input computes the dense layer's z.
  const conv = singleOp("Conv", [IN, 1, 1], {}, [
    { name: "w", dims: [OUT, IN, 1, 1], data: Float32Array.from(W) },
    { name: "b", dims: [OUT], data: Float32Array.from(B) },
  ]);
  const zplusWith = (bias: (j: number) => number) =>
    zRule(
      [
        [pos, pos],
        [neg, neg],
      ],
      sdiv,
      bias,
    );

  test("a Conv's denominator takes the bias twice, W+x+ + b and W-x- + b", async () => {
    const set = lrpRuleSet(conv, uniformComposite({ rule: "zplus", convBias: true }));
    const got = await vjpAt(conv, Float32Array.from(X), Float32Array.from(R), set);
    const expected = zplusWith((j) => 2 * B[j]!);
    assert.ok(relative(got, expected) < 1e-5, `relative error ${relative(got, expected)}`);
    // The bias-free rule differs: the option does something on this layer.
    assert.ok(
      relative(
        got,
        zplusWith(() => 0),
      ) > 1e-3,
    );
  });

  test("a Gemm's denominator stays bias-free", async () => {
    const model = dense("Gemm");
    const set = lrpRuleSet(model, uniformComposite({ rule: "zplus", convBias: true }));
    const got = await vjpAt(model, Float32Array.from(X), Float32Array.from(R), set);
    assert.ok(
      relative(
        got,
        zplusWith(() => 0),
      ) < 1e-5,
    );
  });
});

describe("conservation on a padded, strided convolution", () => {
  const x = draw(2 * 3 * 7 * 7, 5);
  const w = draw(4 * 3 * 3 * 3, 6, 0.5);
  const model = singleOp("Conv", [3, 7, 7], { strides: [2, 2], pads: [1, 1, 1, 1] }, [
    { name: "w", dims: [4, 3, 3, 3], data: Float32Array.from(w) },
  ]);
  const r = draw(2 * 4 * 4 * 4, 7);
  const sums = (v: ArrayLike<number>, n: number): number[] =>
    Array.from({ length: n }, (_, k) => {
      let s = 0;
      const per = v.length / n;
      for (let i = k * per; i < (k + 1) * per; i++) s += v[i]!;
      return s;
    });
  for (const rule of ["zplus", "alphabeta:2,1", "flat", "wsquare"]) {
    test(`${rule} sends each sample's relevance on in full`, async () => {
      const set = lrpRuleSet(model, uniformComposite(parseRule(rule)));
      const got = await vjpAt(model, Float32Array.from(x), Float32Array.from(r), set);
      const [inA, inB] = sums(got, 2);
      const [outA, outB] = sums(r, 2);
      assert.ok(Math.abs(inA! - outA!) < 1e-4 * Math.abs(outA!) + 1e-5, `${inA} vs ${outA}`);
      assert.ok(Math.abs(inB! - outB!) < 1e-4 * Math.abs(outB!) + 1e-5, `${inB} vs ${outB}`);
    });
  }
});
