import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Engine } from "../../engine/engine.ts";
import { CamscopeError } from "../../errors.ts";
import { resizeBilinear } from "../../image/resize.ts";
import { type ModelRuntime } from "../../runtime/runtime.ts";
import { explainerRun, fakeRun, patternImages, camExplain } from "../testing/runs.ts";
import { clusterCam } from "./cluster-cam.ts";
import { assertClose } from "../testing/assertions.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";
import { openModel } from "../../io/models.ts";

const FIXTURE = new URL("../../compiler/fixtures/resnet_basic.onnx", import.meta.url).pathname;

function minmax(values: ArrayLike<number>): number[] {
  const v = Array.from(values);
  const min = Math.min(...v);
  const max = Math.max(...v);
  return v.map((x) => (max > min ? (x - min) / (max - min) : 0));
}

/** An affine score, so that the zero-input baseline (0.5) matters. */
function affineScore(x: Float32Array, row: number): number {
  let s = 0.5;
  for (let p = 0; p < x.length; p++) s += x[p]! * Math.cos(p * 0.4 + row);
  return s;
}

/** score(X * up(m)) for a layer-resolution mask m, up to the input's [H, W]. */
function maskedScore(
  x: Float32Array,
  m: readonly number[],
  [h, w]: number[],
  [height, width]: number[],
  row: number,
): number {
  const up = resizeBilinear(Float32Array.from(m), 1, h!, w!, height!, width!);
  return Math.fround(
    affineScore(
      x.map((v, j) => v * up[j % up.length]!),
      row,
    ),
  );
}

/** The raw map from cluster masks m_j and their scores d_j (definition in cluster-cam.ts). */
function merged(masks: number[][], d: number[], merge: "subtract" | "cut"): number[] {
  const area = masks[0]!.length;
  const base = new Array<number>(area).fill(0);
  const scissors = new Array<number>(area).fill(0);
  masks.forEach((m, j) => {
    for (let p = 0; p < area; p++) {
      if (d[j]! > 0) base[p]! += d[j]! * m[p]!;
      else scissors[p]! -= d[j]! * m[p]!;
    }
  });
  if (merge === "subtract") return base.map((b, p) => b - scissors[p]!);
  const cut = minmax(scissors);
  return base.map((b, p) => b * (1 - cut[p]!));
}

describe("Cluster-CAM on an analytic score", () => {
  // Two rows, 2 x 3 x 3 inputs, 4 channels at 2 x 2. Row 0: channels 0 and 1 coincide after
  // min-max normalisation (1 is 2 x 0 + 1), channels 2 and 3 nearly coincide. Row 1: distinct.
  const input: FloatTensor = {
    data: Float32Array.from({ length: 36 }, (_, j) => Math.sin(j * 0.9) + 0.3),
    dims: [2, 2, 3, 3],
  };
  const rows = [
    [
      [0, 1, 2, 3],
      [1, 3, 5, 7],
      [4, 0, 0, 1],
      [4.1, 0, 0, 1],
    ],
    [
      [0, 1, 2, 3],
      [3, 0, 1, 0],
      [2, 2, 0, 5],
      [1, 0, 0, 0],
    ],
  ];
  const activations: FloatTensor = { data: Float32Array.from(rows.flat(2)), dims: [2, 4, 2, 2] };
  const x = (i: number) => input.data.subarray(i * 18, (i + 1) * 18);
  const d = (i: number, m: number[]) =>
    maskedScore(x(i), m, [2, 2], [3, 3], i) - Math.fround(affineScore(new Float32Array(18), i));

  it("with clusters >= K scores every distinct channel map on its own; empty clusters dropped", async () => {
    for (const merge of ["subtract", "cut"] as const) {
      const run = fakeRun(input, activations, affineScore);
      const map = await clusterCam({ clusters: 4, merge }).map(run);
      // Row 0 has three distinct maps (one cluster stays empty), row 1 four: 1 + 4 passes per row.
      assert.equal(run.passes, 5);
      for (let i = 0; i < 2; i++) {
        const distinct = [...new Map(rows[i]!.map((a) => [minmax(a).join(), minmax(a)])).values()];
        const expected = merged(
          distinct,
          distinct.map((m) => d(i, m)),
          merge,
        );
        assertClose(map.subarray(i * 4, (i + 1) * 4), expected, 1e-5);
      }
    }
  });

  it("averages the members' normalised maps into each cluster's mask", async () => {
    const run = fakeRun(input, activations, affineScore);
    const map = await clusterCam({ clusters: 2, merge: "subtract" }).map(run);
    assert.equal(run.passes, 3);
    const a = rows[0]!.map(minmax);
    // The largest activation sum is channel 1's, so clustering starts there; the farthest map
    // from it is channel 3's. Channels 0, 1 and 2, 3 form the clusters.
    const masks = [0, 2].map((k) => minmax(a[k]!.map((v, p) => (v + a[k + 1]![p]!) / 2)));
    assertClose(
      map.subarray(0, 4),
      merged(
        masks,
        masks.map((m) => d(0, m)),
        "subtract",
      ),
      1e-5,
    );
  });

  it('with baseline "none" scores the masked inputs alone, C passes', async () => {
    const run = fakeRun(input, activations, affineScore);
    const map = await clusterCam({ clusters: 4, merge: "subtract", baseline: "none" }).map(run);
    assert.equal(run.passes, 4);
    const distinct = [...new Map(rows[1]!.map((a) => [minmax(a).join(), minmax(a)])).values()];
    const scores = distinct.map((m) => maskedScore(x(1), m, [2, 2], [3, 3], 1));
    assertClose(map.subarray(4, 8), merged(distinct, scores, "subtract"), 1e-5);
  });

  it("rejects bad options", () => {
    assert.throws(() => clusterCam({ clusters: 0 }), CamscopeError);
    assert.throws(() => clusterCam({ merge: "add" as "cut" }), CamscopeError);
    assert.throws(() => clusterCam({ baseline: "blur" as "none" }), CamscopeError);
  });
});

describe("Cluster-CAM on a model", () => {
  let engine: Engine;
  let ctx: ModelRuntime;
  let images: FloatTensor;
  before(async () => {
    engine = new Engine({ threads: 2 });
    ctx = await openModel(FIXTURE, engine, { preprocessing: "unit", card: false });
    images = patternImages(ctx.input.dims, 2, 1);
  });
  after(() => engine.dispose());

  it("gives layer-resolution maps with C + 1 passes, deterministically", async () => {
    const methods = [clusterCam({ clusters: 3, merge: "subtract" }), clusterCam({ clusters: 5 })];
    const first = await camExplain(ctx, images, { methods, layers: ["act"] });
    const again = await camExplain(ctx, images, { methods, layers: ["act"] });
    const [, , h, w] = first.layers[0]!.dims as number[];
    assert.deepEqual(
      first.results.map((r) => r.extraForwardPasses),
      [4, 6],
    );
    for (const [j, r] of first.results.entries()) {
      assert.deepEqual(r.raw[0]!.dims, [2, h, w]);
      assert.deepEqual(r.raw[0]!.data, again.results[j]!.raw[0]!.data);
    }
  });

  it("with one cluster per channel weights each distinct map by its score gain", async () => {
    const run = await explainerRun(ctx, images, { layers: ["act"] });
    const [rows, channels, h, w] = run.activations.dims as [number, number, number, number];
    const map = await clusterCam({ clusters: channels, merge: "subtract" }).map(run);
    const [, , height, width] = run.input.dims as [number, number, number, number];
    const inputSize = run.input.data.length / rows;
    for (let i = 0; i < rows; i++) {
      const maps = Array.from({ length: channels }, (_, k) =>
        minmax(
          run.activations.data.subarray((i * channels + k) * h * w, (i * channels + k + 1) * h * w),
        ),
      );
      const distinct = [...new Map(maps.map((m) => [m.join(), m])).values()];
      const x = run.input.data.subarray(i * inputSize, (i + 1) * inputSize);
      const inputs = new Float32Array((distinct.length + 1) * inputSize);
      distinct.forEach((m, j) => {
        const up = resizeBilinear(Float32Array.from(m), 1, h, w, height, width);
        inputs.set(
          x.map((v, p) => v * up[p % up.length]!),
          (j + 1) * inputSize,
        );
      });
      const logits = (
        await ctx.forward({
          data: inputs,
          dims: [distinct.length + 1, ...run.input.dims.slice(1)],
        })
      ).logits.data;
      const units = logits.length / (distinct.length + 1);
      const c = run.targets.classes[i]!;
      const d = distinct.map((_, j) => logits[(j + 1) * units + c]! - logits[c]!);
      const scale = Math.max(...d.map(Math.abs));
      assertClose(
        map.subarray(i * h * w, (i + 1) * h * w),
        merged(distinct, d, "subtract"),
        1e-5 * scale,
      );
    }
  });
});
