import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Engine } from "../../engine/engine.ts";
import { CamscopeError } from "../../errors.ts";
import { type ModelRuntime } from "../../runtime/runtime.ts";
import { extractTail, type ChannelMaskStrategy } from "../../runtime/channel-masks.ts";
import type { CamRun } from "../method.ts";
import { explainerRun, fakeRun, patternImages, camExplain } from "../testing/runs.ts";
import { ablationCam } from "./ablation-cam.ts";
import { linearHeadWeights } from "./cam.ts";
import { assertClose } from "../testing/assertions.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";
import { openModel } from "../../io/models.ts";

const FIXTURE = new URL("../../compiler/fixtures/resnet_basic.onnx", import.meta.url).pathname;
// The ReLU inside the last residual block: the block's shortcut reads the block input, so the
// graph after it is not self-contained.
const INNER = "/model/layer4/layer4.1/relu/Relu_output_0";

describe("Ablation-CAM", () => {
  let engine: Engine;
  let ctx: ModelRuntime;
  let images: FloatTensor;
  before(async () => {
    engine = new Engine({ threads: 2 });
    ctx = await openModel(FIXTURE, engine, { preprocessing: "unit", card: false });
    images = patternImages(ctx.input.dims, 3);
  });
  after(() => engine.dispose());

  /** The run with scoreChannelMasks forced to one strategy. */
  function forced(run: CamRun, strategy: ChannelMaskStrategy): CamRun {
    return {
      ...run,
      scoreChannelMasks: (masks, perRow) => ctx.scoreChannelMasks(run, masks, perRow, strategy),
    };
  }

  it("equals w_k = W[c, k] mean(A_k) / y on a pooling + linear head", async () => {
    const run = await explainerRun(ctx, images);
    assert.equal(await ctx.channelMaskStrategy(run.layer), "tail");
    const weights = await ablationCam.weights(run);
    const head = linearHeadWeights(ctx.model, run.layer.name);
    const [rows, channels, h, w] = run.activations.dims as [number, number, number, number];
    const expected: number[] = [];
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < channels; k++) {
        let mean = 0;
        for (let p = 0; p < h * w; p++)
          mean += run.activations.data[(i * channels + k) * h * w + p]! / (h * w);
        expected.push(
          (head.weights[run.targets.classes[i]! * channels + k]! * mean) / run.scores[i]!,
        );
      }
    }
    assertClose(weights, expected, 1e-4);
  });

  it("gives the same weights by the tail and by mask injection, K passes each", async () => {
    const run = await explainerRun(ctx, images, { layers: ["act"], batchSize: 5 });
    const tail = await ablationCam.weights(forced(run, "tail"));
    const injected = await ablationCam.weights(forced(run, "injection"));
    assertClose(tail, injected, 1e-4);
    const options = { methods: [ablationCam], layers: ["act"] };
    const result = await camExplain(ctx, images, options);
    assert.equal(result.results[0]!.extraForwardPasses, run.activations.dims[1]);
    const again = await camExplain(ctx, images, options);
    assert.deepEqual(again.results[0]!.raw[0]!.data, result.results[0]!.raw[0]!.data);
  });

  it("falls back to mask injection inside a residual block", async () => {
    const layer = await ctx.layer(INNER);
    assert.equal(extractTail(ctx.model, layer.name, layer.dims, ctx.output), undefined);
    const run = await explainerRun(ctx, images, { layers: [INNER] });
    assert.equal(await ctx.channelMaskStrategy(run.layer), "injection");
    await assert.rejects(ctx.channelMaskStrategy(run.layer, "tail"), /reads values from before it/);
    // All-ones masks leave the scores as they were.
    const [rows, channels] = run.activations.dims as [number, number];
    const ones = await run.scoreChannelMasks!(new Float32Array(rows * 2 * channels).fill(1), 2);
    assertClose(
      ones,
      Array.from({ length: rows * 2 }, (_, j) => run.scores[Math.floor(j / 2)]!),
      1e-4,
    );
    const result = await camExplain(ctx, images, { methods: [ablationCam], layers: [INNER] });
    assert.equal(result.results[0]!.extraForwardPasses, channels);
    assert.deepEqual(result.results[0]!.raw[0]!.dims, [rows, ...layer.dims.slice(2)]);
  });

  it("the tail model fed the activations reproduces the logits", async () => {
    const run = await explainerRun(ctx, images, { layers: ["act"] });
    const [rows, channels] = run.activations.dims as [number, number];
    const masks = new Float32Array(rows * channels).fill(1);
    assertClose(await ctx.scoreChannelMasks(run, masks, 1, "tail"), run.scores, 1e-4);
  });

  it("needs a run that can score channel masks", async () => {
    const input = { data: new Float32Array(4), dims: [1, 1, 2, 2] };
    const run = fakeRun(input, { data: new Float32Array(4), dims: [1, 1, 2, 2] }, () => 0);
    await assert.rejects(Promise.resolve(ablationCam.weights(run)), CamscopeError);
  });
});
