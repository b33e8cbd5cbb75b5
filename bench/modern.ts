// Vision transformers and ConvNeXt at full size: forward, Grad-CAM (at the default layer: the
// last block's pre-attention norm for ViT, the last stage for ConvNeXt) and Integrated Gradients
// (64 steps, 8 per session run), per image at batch 1, when the torchvision exports are present in bench/.models/
// (`/usr/bin/python3 scripts/reference/export_bench_models.py --models vit_b_16 convnext_tiny`;
// not committed: 330 MB and 110 MB). Without them the section prints no rows and says why.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Explainer } from "../src/explain/explainer.ts";
import { benchImages, forwardMsPerImage, timeWithin, type BenchSection } from "./harness.ts";

const EXPORTS = join(dirname(fileURLToPath(import.meta.url)), ".models");
const MODELS = ["vit_b_16", "convnext_tiny"];

export const modern: BenchSection = {
  name: "modern",
  title: "Full-size ViT-B/16 and ConvNeXt-T (ms per image, batch 1; exports in bench/.models)",
  async run(context) {
    const rows: string[][] = [];
    const present = MODELS.map((m) => join(EXPORTS, `${m}.onnx`)).filter((p) => existsSync(p));
    for (const path of present) {
      const ctx = await context.model(path);
      const input = benchImages(ctx, 1);
      const forward = await forwardMsPerImage(ctx, input, context.options);
      const layer = await ctx.defaultLayer();
      const explainer = new Explainer(ctx);
      const gradcam = await timeWithin(
        () => explainer.explain(input, { methods: ["gradcam"] }),
        context.options,
      );
      const ig = await timeWithin(
        // Eight path points per run: at the default 32, ConvNeXt-T's backward graph needs more
        // than this machine's 24 GB.
        () =>
          explainer.explain(input, {
            methods: [{ name: "ig", options: { steps: 64 } }],
            batchSize: 8,
          }),
        context.options,
      );
      const row = (method: string, ms: number) => [
        ctx.card.name,
        method,
        ms.toFixed(1),
        (ms / forward.ms).toFixed(1),
      ];
      rows.push(row("(forward pass)", forward.ms));
      rows.push(row(`gradcam at ${layer.name} (${layer.layout})`, gradcam.medianMs));
      rows.push(row("ig, 64 steps", ig.medianMs));
    }
    if (present.length === 0) {
      rows.push([
        "(none: run scripts/reference/export_bench_models.py --models vit_b_16 convnext_tiny)",
        "",
        "",
        "",
      ]);
    }
    return { columns: ["model", "method", "ms/image", "x forward"], rows, numeric: [2, 3] };
  },
};
