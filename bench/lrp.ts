// LRP: relevance from the logits back to the model input (RelevancePropagator.relevance: one run
// of the compiled relevance graph, which also picks the top-1 targets) per composite, per
// image at batch 1 and 16, as a multiple of one plain forward pass of the same batch (compiling a
// relevance graph and opening its session fall in timeWithin's untimed run).
import { COMPOSITES } from "../src/compiler/lrp/composites.ts";
import { RelevancePropagator } from "../src/lrp/relevance.ts";
import { benchImages, forwardMsPerImage, timeWithin, type BenchSection } from "./harness.ts";

const BATCH_SIZES = [1, 16];

export const lrp: BenchSection = {
  name: "lrp",
  title: "LRP to the input per composite (ONNX Runtime CPU, ms per image)",
  async run(context) {
    const rows: string[][] = [];
    for (const name of context.options.models) {
      const ctx = await context.model(name);
      const propagator = new RelevancePropagator(ctx);
      for (const batch of BATCH_SIZES) {
        const input = benchImages(ctx, batch);
        const forward = await forwardMsPerImage(ctx, input, context.options);
        const forwardMs = forward.ms;
        rows.push([ctx.card.name, "(forward pass)", String(batch), forwardMs.toFixed(2), "1.0"]);
        for (const composite of Object.keys(COMPOSITES)) {
          const t = await timeWithin(
            () => propagator.relevance(input, { composite }),
            context.options,
          );
          const ms = t.medianMs / batch;
          rows.push([
            ctx.card.name,
            composite,
            String(batch),
            ms.toFixed(2),
            (ms / forwardMs).toFixed(1),
          ]);
        }
      }
    }
    return {
      columns: ["model", "composite", "batch", "ms/image", "x forward"],
      rows,
      numeric: [2, 3, 4],
    };
  },
};
