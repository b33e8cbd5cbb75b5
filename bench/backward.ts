// The backward compiler's cost: forward alone, forward + backward to the default CAM layer, and
// forward + backward to the input, each one session run. Targets: backward to the last conv layer
// adds < 25% to the forward time (issue 3); forward + backward to the input costs <= 2.5x the
// forward (issue 15), as wall time and as the process's CPU time (steadier on a shared machine).
// Besides the bundled models, full-size torchvision exports run when present in bench/.models/
// (made by `/usr/bin/python3 scripts/reference/export_bench_models.py`; not committed: 640 MB),
// unless --model names the models.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Backward, oneHotSeed } from "../src/runtime/backward.ts";
import { exactGradient } from "../src/compiler/rules/index.ts";
import { Tensor } from "../src/engine/engine.ts";
import { createRng } from "../src/util/random.ts";
import { time, type BenchSection } from "./harness.ts";
import { sizeOf } from "../src/tensor/tensor.ts";

const BATCH_SIZES = [1, 16];
const FULL_SIZE = ["resnet50", "mobilenet_v2", "vgg16"];
const EXPORTS = join(dirname(fileURLToPath(import.meta.url)), ".models");

export const backward: BenchSection = {
  name: "backward",
  title: "Backward compiler: forward + compiled backward, one session run",
  async run(context) {
    const models = context.options.modelsGiven
      ? context.options.models
      : [
          ...context.options.models,
          ...FULL_SIZE.map((m) => join(EXPORTS, `${m}.onnx`)).filter((p) => existsSync(p)),
        ];
    const rows: string[][] = [];
    for (const name of models) {
      const ctx = await context.model(name);
      const shapes = await ctx.shapes();
      const layer = await ctx.defaultLayer();
      const differentiate = new Backward(ctx.engine, ctx.model, shapes, ctx.input.name);
      const classes = sizeOf(shapes.get(ctx.output)!.slice(1));
      const session = await ctx.session();
      for (const batch of BATCH_SIZES) {
        const dims = [batch, ...ctx.input.dims.slice(1)];
        const rng = createRng(batch);
        const data = Float32Array.from({ length: sizeOf(dims) }, () => rng.normal());
        const seed = oneHotSeed(
          Array.from({ length: batch }, (_, i) => i % classes),
          classes,
        );
        const input = { data, dims };
        const fwd = await time(
          () => session.run({ [ctx.input.name]: new Tensor("float32", data, dims) }, [ctx.output]),
          context.options,
        );
        const toLayer = await time(
          () =>
            differentiate.run(
              { wrt: [layer.name], output: ctx.output, ruleSet: exactGradient },
              input,
              seed,
            ),
          context.options,
        );
        const toInput = await time(
          () =>
            differentiate.run(
              { wrt: [ctx.input.name], output: ctx.output, ruleSet: exactGradient },
              input,
              seed,
            ),
          context.options,
        );
        rows.push([
          ctx.card.name,
          String(batch),
          fwd.medianMs.toFixed(1),
          toLayer.medianMs.toFixed(1),
          `${(100 * (toLayer.medianMs / fwd.medianMs - 1)).toFixed(0)}%`,
          toInput.medianMs.toFixed(1),
          `${(toInput.medianMs / fwd.medianMs).toFixed(2)}x`,
          `${(toInput.cpuMs / fwd.cpuMs).toFixed(2)}x`,
        ]);
      }
    }
    return {
      columns: [
        "model",
        "batch",
        "forward ms",
        "+bwd to CAM layer ms",
        "added",
        "+bwd to input ms",
        "x forward",
        "x forward (CPU time)",
      ],
      rows,
      numeric: [1, 2, 3, 4, 5, 6, 7],
    };
  },
};
