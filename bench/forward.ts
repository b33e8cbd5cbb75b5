// Forward-pass throughput: one session run per repetition on a fixed random batch, at batch 1
// (latency of explaining one image) and batch 32 (bulk prediction and perturbation methods).
import { Tensor } from "../src/engine/engine.ts";
import { createRng } from "../src/util/random.ts";
import { time, type BenchSection } from "./harness.ts";
import { sizeOf } from "../src/tensor/tensor.ts";

const BATCH_SIZES = [1, 32];

export const forward: BenchSection = {
  name: "forward",
  title: "Forward pass (ONNX Runtime CPU, logits only)",
  async run(context) {
    const rows: string[][] = [];
    for (const name of context.options.models) {
      const ctx = await context.model(name);
      const session = await ctx.session();
      for (const batch of BATCH_SIZES) {
        const dims = [batch, ...ctx.input.dims.slice(1)];
        const rng = createRng(batch);
        const data = Float32Array.from({ length: sizeOf(dims) }, () => rng.normal());
        const feeds = { [ctx.input.name]: new Tensor("float32", data, dims) };
        const t = await time(() => session.run(feeds, [ctx.output]), context.options);
        rows.push([
          ctx.card.name,
          String(batch),
          t.medianMs.toFixed(2),
          t.minMs.toFixed(2),
          ((1000 * batch) / t.medianMs).toFixed(0),
        ]);
      }
    }
    return {
      columns: ["model", "batch", "ms/batch (median)", "ms/batch (min)", "images/s"],
      rows,
      numeric: [1, 2, 3, 4],
    };
  },
};
