// CAM methods end to end: the explain service with one CAM method on a batch of synthetic images
// (the target-picking forward pass and the activation pass, or one gradient pass that picks the
// targets too; the method, upsampling), per
// image, at batch 1 and 16, as a multiple of one plain forward pass of the same batch, with the
// forward passes on perturbed inputs that perturbation methods add per image.
//
// Perturbation methods take up to seconds per image, so every measurement is sized by a time
// budget: after an untimed run, a first timed run shows what one run costs, and a run slower
// than half the budget is reported alone. The whole section takes several minutes on 2 cores, most of it
// SS-CAM and IS-CAM at batch 16; on a slower machine a batch-16 run that batch 1 predicts to
// exceed SKIP_MS is skipped, since perturbation methods batch their perturbed inputs within one
// image already, so a batch of images costs about as much per image.
import { Explainer } from "../src/explain/explainer.ts";
import { chooseMethod, METHODS } from "../src/methods/registry.ts";
import { benchImages, forwardMsPerImage, timeWithin, type BenchSection } from "./harness.ts";

const BATCH_SIZES = [1, 16];
const SKIP_MS = 60_000;

export const cam: BenchSection = {
  name: "cam",
  title: "CAM methods (explain one method, ONNX Runtime CPU, ms per image)",
  async run(context) {
    const rows: string[][] = [];
    for (const name of context.options.models) {
      const ctx = await context.model(name);
      const explainer = new Explainer(ctx);
      const methods = METHODS.filter((m) => m.family === "cam").map((m) => chooseMethod(m));
      // Milliseconds per image at the previous batch size, by method.
      const previous = new Map<string, number>();
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
          String(forward.reps),
        ]);
        for (const choice of methods) {
          const method = choice.method;
          const predicted = (previous.get(method.name) ?? 0) * batch;
          if (predicted > SKIP_MS) {
            const note = `skipped (~${(predicted / 1000).toFixed(0)} s a run)`;
            rows.push([ctx.card.name, method.name, String(batch), "-", "-", note, "0"]);
            continue;
          }
          let passes = 0;
          const t = await timeWithin(async () => {
            const e = await explainer.explain(input, { methods: [choice] });
            passes = e.results[0]!.passes.forward;
          }, context.options);
          const ms = t.medianMs / batch;
          previous.set(method.name, ms);
          rows.push([
            ctx.card.name,
            method.name,
            String(batch),
            ms.toFixed(2),
            (ms / forwardMs).toFixed(1),
            String(passes),
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
        "perturbed passes/image",
        "runs",
      ],
      rows,
      numeric: [2, 3, 4, 5, 6],
    };
  },
};
