// The differentiator of a model's target score: the logit, or the probability through an
// appended Softmax (Sigmoid for a one-unit model), kept per model context so that the CAM pipeline
// and every attribution method reuse the compiled sessions.
import { Backward } from "../compiler/backward-session.ts";
import type { ScoreKind } from "./targets.ts";
import type { ModelContext } from "../models/context.ts";
import { DataType } from "../onnx/proto.ts";
import { ValueShapes } from "../onnx/value-shapes.ts";

export interface ScoreBackward {
  backward: Backward;
  /** The output the backward pass starts from. */
  output: string;
}

const PROBABILITIES = "camscope/probabilities";
const cache = new WeakMap<ModelContext, Map<string, Promise<ScoreBackward>>>();

export function scoreBackward(
  ctx: ModelContext,
  score: ScoreKind,
  binary: boolean,
): Promise<ScoreBackward> {
  let perModel = cache.get(ctx);
  if (!perModel) {
    perModel = new Map();
    cache.set(ctx, perModel);
  }
  const key = score === "logit" ? "logit" : `probability:${binary}`;
  let entry = perModel.get(key);
  if (!entry) {
    entry = build(ctx, score, binary);
    perModel.set(key, entry);
  }
  return entry;
}

async function build(ctx: ModelContext, score: ScoreKind, binary: boolean): Promise<ScoreBackward> {
  const shapes = await ctx.shapes();
  if (score === "logit") {
    return {
      backward: new Backward(ctx.engine, ctx.model, shapes, ctx.input.name),
      output: ctx.output,
    };
  }
  const model = ctx.model.clone();
  model.graph.node.push({
    op_type: binary ? "Sigmoid" : "Softmax",
    name: `${PROBABILITIES}/node`,
    input: [ctx.output],
    output: [PROBABILITIES],
    attribute: binary ? [] : [{ name: "axis", type: 2, i: -1 }],
  });
  model.graph.output.push({
    name: PROBABILITIES,
    type: { tensor_type: { elem_type: DataType.FLOAT } },
  });
  // The copy keeps the batch axes the compiler reads (a plain Map would lose them).
  const withProbabilities = shapes instanceof ValueShapes ? shapes.copy() : new ValueShapes(shapes);
  withProbabilities.set(PROBABILITIES, shapes.get(ctx.output)!);
  const axes = withProbabilities.batchAxes.get(ctx.output);
  if (axes) withProbabilities.batchAxes.set(PROBABILITIES, axes);
  return {
    backward: new Backward(ctx.engine, model, withProbabilities, ctx.input.name),
    output: PROBABILITIES,
  };
}
