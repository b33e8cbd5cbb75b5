// Running the network on from a target layer whose channels are scaled (Ablation-CAM zeroes one
// at a time). Two ways, chosen per layer:
// - tail: where everything after the layer depends on nothing computed before it but the layer
//   value itself (ResNet stage outputs, a VGG's last block), the graph from the layer to the
//   logits becomes a model of its own whose input is the layer value; it is fed A * mask, which
//   costs only the tail of the network per sample;
// - injection: otherwise (inside a residual block, where the shortcut reads an earlier value) a
//   graph input [N, K, 1, 1] is multiplied into the layer value, the value's consumers read the
//   product, and every sample is a full forward pass of its image.
import { Tensor, type Feeds, type ModelSession } from "../engine/engine.ts";
import type { LayerInfo, LayerLayout } from "../onnx/layers.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { AttributeType, DataType, type ValueInfoProto } from "../onnx/proto.ts";
import { targetScores, type Targets } from "./targets.ts";
import { sizeOf, type FloatTensor } from "../tensor/tensor.ts";

/** The graph input carrying the channel masks in an injected model. */
export const CHANNEL_MASK_INPUT = "camscope/channel-mask";

/** How channel-masked samples are run: "tail" (the network from the layer on, fed A * mask), "injection" (a mask input multiplied into the layer in the full model), or "auto" (tail where the layer cuts the graph, else injection). */
export type ChannelMaskStrategy = "auto" | "tail" | "injection";

/** A float tensor value info with a symbolic batch and the given per-sample dims. */
function batchedFloat(name: string, dims: readonly number[]): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: { dim: [{ dim_param: "N" }, ...dims.map((d) => ({ dim_value: d }))] },
      },
    },
  };
}

/**
 * The part of the graph that computes `output` from `layer` ([1, K, h, w] dims at batch 1), as a
 * model whose single input is the layer value; undefined where that part reads any other
 * non-constant value from before the layer (a graph input reached without passing through the
 * layer), or holds control flow whose subgraphs could read outer values unseen.
 */
export function extractTail(
  model: OnnxModel,
  layer: string,
  layerShape: readonly number[],
  output: string,
): OnnxModel | undefined {
  const { producer, initializers } = model.index();
  const needed = new Set<number>();
  const seen = new Set<string>();
  const stack = [output];
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (value === layer || initializers.has(value) || seen.has(value)) continue;
    seen.add(value);
    const p = producer.get(value);
    if (!p) return undefined; // a graph input: the image, reached around the layer
    if (p.node.attribute.some((a) => a.type === AttributeType.GRAPH || a.g !== undefined)) {
      return undefined;
    }
    needed.add(p.index);
    for (const input of p.node.input) if (input) stack.push(input);
  }
  const tail = model.clone(`${model.source} (after ${layer})`);
  const g = tail.graph;
  g.node = g.node.filter((_, index) => needed.has(index));
  const produced = new Set(g.node.flatMap((n) => n.output));
  const read = new Set(g.node.flatMap((n) => n.input));
  g.initializer = g.initializer.filter((t) => read.has(t.name ?? ""));
  // IR < 4 models list initializers among the inputs too; those stay, the image input goes.
  const kept = new Set(g.initializer.map((t) => t.name));
  g.input = [batchedFloat(layer, layerShape.slice(1)), ...g.input.filter((v) => kept.has(v.name))];
  g.output = g.output.filter((o) => o.name === output);
  g.value_info = g.value_info.filter((v) => produced.has(v.name) && v.name !== layer);
  return tail;
}

/** The per-sample dims of a channel mask that broadcasts over a layer's value in its layout. */
function maskDims(layout: LayerLayout, channels: number): number[] {
  if (layout === "NHWC") return [1, 1, channels];
  if (layout === "tokens") return [1, channels];
  return [channels, 1, 1];
}

/**
 * A copy of the model with a graph input CHANNEL_MASK_INPUT ([N, K, 1, 1] for a channels-first
 * layer, [N, 1, 1, K] channels-last, [N, 1, K] tokens) multiplied into `layer`; every consumer of
 * the layer reads the product instead.
 */
export function injectChannelMask(
  model: OnnxModel,
  layer: string,
  channels: number,
  layout: LayerLayout = "NCHW",
): OnnxModel {
  const injected = model.clone(`${model.source} (channel mask at ${layer})`);
  const g = injected.graph;
  const masked = "camscope/masked-layer";
  for (const node of g.node) node.input = node.input.map((v) => (v === layer ? masked : v));
  const at = g.node.findIndex((n) => n.output.includes(layer));
  g.node.splice(at + 1, 0, {
    op_type: "Mul",
    name: "camscope/channel-mask/node",
    input: [layer, CHANNEL_MASK_INPUT],
    output: [masked],
    attribute: [],
  });
  g.input.push(batchedFloat(CHANNEL_MASK_INPUT, maskDims(layout, channels)));
  return injected;
}

/** How a layer's channel masks are run (ModelRuntime.channelMaskStrategy decides). */
export interface ChannelMaskPlan {
  /** The tail model (fed A * mask) or the model with the mask input injected. */
  strategy: "tail" | "injection";
  session: ModelSession;
}

/** What scoring channel masks reads of a CAM run at one layer. */
export interface ChannelMaskRun {
  /** The preprocessed inputs, one row per target. */
  input: FloatTensor;
  /** The layer's activations viewed channels-first, [N, K, h, w]. */
  activations: FloatTensor;
  /** The layer. */
  layer: LayerInfo;
  /** The (image, class) pair of each row. */
  targets: Targets;
  /** Inputs per session run. */
  batchSize: number;
}

/**
 * Target scores of each row with the layer's channels scaled: `masks` holds `perRow` channel masks
 * [K] per target row, in row order; the network continues from A * mask. Runs in chunks of
 * `run.batchSize` samples, building each chunk's feeds only when it runs. Returns [rows * perRow].
 */
export async function scoreChannelMasks(
  { session, strategy: used }: ChannelMaskPlan,
  model: { input: string; output: string },
  run: ChannelMaskRun,
  masks: Float32Array,
  perRow: number,
): Promise<Float32Array> {
  const [rows, channels, h, w] = run.activations.dims as [number, number, number, number];
  const area = h * w;
  const inputSize = sizeOf(run.input.dims.slice(1));
  const total = rows * perRow;
  const scores = new Float32Array(total);
  for (let start = 0; start < total; start += run.batchSize) {
    const count = Math.min(run.batchSize, total - start);
    const chunkMasks = masks.subarray(start * channels, (start + count) * channels);
    const feeds: Feeds = {};
    if (used === "tail") {
      const scaled = new Float32Array(count * channels * area);
      for (let q = 0; q < count; q++) {
        const row = Math.floor((start + q) / perRow);
        for (let k = 0; k < channels; k++) {
          const m = chunkMasks[q * channels + k]!;
          const src = (row * channels + k) * area;
          const dst = (q * channels + k) * area;
          for (let p = 0; p < area; p++) scaled[dst + p] = run.activations.data[src + p]! * m;
        }
      }
      feeds[run.layer.name] = new Tensor("float32", scaled, [count, channels, h, w]);
    } else {
      const images = new Float32Array(count * inputSize);
      for (let q = 0; q < count; q++) {
        const row = Math.floor((start + q) / perRow);
        images.set(run.input.data.subarray(row * inputSize, (row + 1) * inputSize), q * inputSize);
      }
      feeds[model.input] = new Tensor("float32", images, [count, ...run.input.dims.slice(1)]);
      feeds[CHANNEL_MASK_INPUT] = new Tensor("float32", chunkMasks, [
        count,
        ...maskDims(run.layer.layout, channels),
      ]);
    }
    const out = await session.run(feeds, [model.output]);
    const logits = out[model.output]!.data as Float32Array;
    const classes = Array.from(
      { length: count },
      (_, q) => run.targets.classes[Math.floor((start + q) / perRow)]!,
    );
    scores.set(targetScores(logits, logits.length / count, classes, run.targets.score), start);
  }
  return scores;
}
