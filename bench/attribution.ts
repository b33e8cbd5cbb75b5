// Pixel-attribution methods end to end: the explain service with one pixel method on 1 and 16
// synthetic images, per image, as a multiple of one plain forward pass of the same batch, with
// the forward and backward passes each method spends per image. Every method runs at its
// defaults except RISE, measured with RISE_MASKS masks (its cost is linear in the masks: the
// default 1000 costs four times as much). Measurements are sized by a time budget as in the CAM
// section (cam.ts).
import { Explainer } from "../src/explain/explainer.ts";
import { chooseMethod, METHODS } from "../src/methods/registry.ts";
import { benchImages, forwardMsPerImage, timeWithin, type BenchSection } from "./harness.ts";

const BATCH_SIZES = [1, 16];
const RISE_MASKS = 250;

export const attribution: BenchSection = {
  name: "attribution",
  title: `Pixel attribution (explain one method, ONNX Runtime CPU, ms per image; RISE with ${RISE_MASKS} masks)`,
  async run(context) {
    const rows: string[][] = [];
    for (const name of context.options.models) {
      const ctx = await context.model(name);
      const explainer = new Explainer(ctx);
      const methods = METHODS.filter((m) => m.level === "input").map((m) =>
        chooseMethod(m, m.name === "rise" ? { masks: RISE_MASKS } : {}),
      );
      for (const batch of BATCH_SIZES) {
        const input = benchImages(ctx, batch);
        const forward = await forwardMsPerImage(ctx, input, context.options);
        const forwardMs = forward.ms;
        rows.push([
          ctx.card.name,
          "(forward pass)",
          String(batch),
          forwardMs.toFixed(2),
          "1.0",
          "",
          "",
          String(forward.reps),
        ]);
        for (const choice of methods) {
          let passes = [0, 0];
          const t = await timeWithin(async () => {
            const e = await explainer.explain(input, { methods: [choice] });
            passes = [e.results[0]!.passes.forward, e.results[0]!.passes.backward];
          }, context.options);
          const ms = t.medianMs / batch;
          rows.push([
            ctx.card.name,
            choice.method.name,
            String(batch),
            ms.toFixed(2),
            (ms / forwardMs).toFixed(1),
            String(passes[0]),
            String(passes[1]),
            String(t.reps),
          ]);
        }
      }
    }
    return {
      columns: [
        "model",
        "method",
        "batch",
        "ms/image",
        "x forward",
        "forward passes/image",
        "backward passes/image",
        "runs",
      ],
      rows,
      numeric: [2, 3, 4, 5, 6, 7],
    };
  },
};
