import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CamscopeError } from "../../errors.ts";
import { createRng } from "../../util/random.ts";
import { vjpAt } from "../testing/assertions.ts";
import { buildModel, singleOp } from "../testing/graph.ts";
import { lrpRuleSet, uniformComposite, type Composite } from "./composites.ts";

const composite = (maxPool: "wta" | "proportional" = "wta"): Composite => ({
  ...uniformComposite({ rule: "epsilon" }),
  maxPool,
});

function draw(n: number, seed: number, offset = 0): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => offset + rng.normal());
}

async function lrp(
  model: ReturnType<typeof singleOp>,
  x: Float32Array,
  r: Float32Array,
  c = composite(),
) {
  return vjpAt(model, x, r, lrpRuleSet(model, c));
}

function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `element ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

describe("pooling", () => {
  // One image [2, 4, 4], 2x2 windows with stride 2: window (c, p, q) holds rows 2p..2p+1, cols 2q..2q+1.
  const x = draw(32, 1, 0.5).map(Math.abs);
  const r = draw(8, 2);
  const windowOf = (i: number): number => {
    const c = Math.floor(i / 16);
    const row = Math.floor((i % 16) / 4);
    const col = i % 4;
    return c * 4 + Math.floor(row / 2) * 2 + Math.floor(col / 2);
  };
  const windowSums = new Float64Array(8);
  const windowMax = new Float64Array(8).fill(-Infinity);
  x.forEach((v, i) => {
    windowSums[windowOf(i)]! += v;
    windowMax[windowOf(i)] = Math.max(windowMax[windowOf(i)]!, v);
  });

  test("max pooling, winner-take-all: each window's relevance goes to its maximum", async () => {
    const model = singleOp("MaxPool", [2, 4, 4], { kernel_shape: [2, 2], strides: [2, 2] });
    const got = await lrp(model, x, r);
    assertNear(
      got,
      Array.from(x, (v, i) => (v === windowMax[windowOf(i)] ? r[windowOf(i)]! : 0)),
    );
  });

  test("max pooling, proportional: each input gets its share x / sum(window)", async () => {
    const model = singleOp("MaxPool", [2, 4, 4], { kernel_shape: [2, 2], strides: [2, 2] });
    const got = await lrp(model, x, r, composite("proportional"));
    assertNear(
      got,
      Array.from(x, (v, i) => (v * r[windowOf(i)]!) / windowSums[windowOf(i)]!),
    );
  });

  test("average pooling is proportional to the inputs", async () => {
    const model = singleOp("AveragePool", [2, 4, 4], { kernel_shape: [2, 2], strides: [2, 2] });
    const got = await lrp(model, x, r);
    assertNear(
      got,
      Array.from(x, (v, i) => (v * r[windowOf(i)]!) / windowSums[windowOf(i)]!),
    );
  });

  test("global average pooling is proportional to the inputs", async () => {
    const model = singleOp("GlobalAveragePool", [2, 4, 4]);
    const rc = draw(2, 3);
    const sums = [0, 1].map((c) => x.subarray(c * 16, (c + 1) * 16).reduce((a, b) => a + b, 0));
    const got = await lrp(model, x, rc);
    assertNear(
      got,
      Array.from(x, (v, i) => (v * rc[Math.floor(i / 16)]!) / sums[Math.floor(i / 16)]!),
    );
  });
});

describe("joins and pass-through", () => {
  test("adding a constant: the activation keeps x / (x + c) of the relevance", async () => {
    const c = draw(6, 4);
    const model = singleOp("Add", [6], {}, [{ name: "c", dims: [6], data: c }]);
    const x = draw(12, 5);
    const r = draw(12, 6);
    const got = await lrp(model, x, r);
    assertNear(
      got,
      Array.from(x, (v, i) => (v * r[i]!) / (v + c[i % 6]!)),
    );
  });

  test("a residual join splits a + b in proportion and sums where the paths meet", async () => {
    // y = Relu(x) * 3 + x: shares 3 relu(x) / y and x / y, summed back at x.
    const model = buildModel({
      inputs: [{ name: "x", dims: [5] }],
      constants: [{ name: "three", dims: [], data: [3] }],
      nodes: [
        { op: "Relu", inputs: ["x"], outputs: ["a"] },
        { op: "Mul", inputs: ["three", "a"], outputs: ["s"] },
        { op: "Add", inputs: ["s", "x"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const x = draw(10, 7);
    const r = draw(10, 8);
    const got = await lrp(model, x, r);
    assertNear(got, r, 1e-5);
  });

  for (const op of ["Relu", "Sigmoid", "Tanh", "LeakyRelu"]) {
    test(`${op} passes relevance unchanged`, async () => {
      const x = draw(8, 9);
      const r = draw(8, 10);
      assertNear(await lrp(singleOp(op, [8]), x, r), r, 0);
    });
  }
});

describe("means, differences and token selection", () => {
  test("ReduceMean over the spatial axes is global average pooling: proportional", async () => {
    const x = draw(18, 11, 0.5);
    const r = draw(2, 12);
    const model = singleOp("ReduceMean", [2, 3, 3], { axes: [2, 3], keepdims: 0 });
    const sums = [0, 1].map((c) => x.subarray(c * 9, (c + 1) * 9).reduce((a, b) => a + b, 0));
    assertNear(
      await lrp(model, x, r),
      Array.from(x, (v, i) => (v * r[Math.floor(i / 9)]!) / sums[Math.floor(i / 9)]!),
    );
  });

  test("a - b splits R as a / (a - b) and -b / (a - b), a constant subtrahend absorbing its share", async () => {
    const c = draw(4, 13);
    const model = buildModel({
      inputs: [{ name: "x", dims: [4] }],
      constants: [{ name: "c", dims: [4], data: c }],
      nodes: [
        { op: "Relu", inputs: ["x"], outputs: ["a"] },
        { op: "Sub", inputs: ["x", "a"], outputs: ["d"] },
        { op: "Sub", inputs: ["d", "c"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const x = draw(8, 14);
    const r = draw(8, 15);
    // d = x - relu(x) = min(x, 0); R_d = d R / (d - c); x gets x R_d / d - relu(x) R_d / d = R_d.
    assertNear(
      await lrp(model, x, r),
      Array.from(x, (v, i) => (Math.min(v, 0) * r[i]!) / (Math.min(v, 0) - c[i % 4]!)),
    );
  });

  test("Gather of the class token moves its relevance to that token, none to the others", async () => {
    const model = singleOp("Gather", [3, 2], { axis: 1 }, [
      { name: "idx", dims: [], data: [0], int64: true },
    ]);
    const r = draw(4, 16);
    const got = await lrp(model, draw(12, 17), r);
    assertNear(got, [r[0]!, r[1]!, 0, 0, 0, 0, r[2]!, r[3]!, 0, 0, 0, 0], 0);
  });
});

describe("clear errors", () => {
  const expectError = async (model: ReturnType<typeof singleOp>, pattern: RegExp) => {
    await assert.rejects(lrp(model, draw(4, 1), draw(4, 2)), (e: unknown) => {
      assert.ok(e instanceof CamscopeError);
      assert.match(e.message, pattern);
      return true;
    });
  };

  test("an op without an LRP rule is named with its node", async () => {
    await expectError(
      singleOp("Exp", [4]),
      /^The LRP \([^)]*\) cannot pass op "Exp" \(node "Exp_0"\) of model "test-graph": camscope has no rule for Exp;/,
    );
  });
});
