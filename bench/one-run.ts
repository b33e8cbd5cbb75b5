// One session run per explanation (issue 15): Grad-CAM, saliency, LRP and Eigen-CAM at batch 1,
// explained from images (the compiled graph picks the top-1 target in its own run; Eigen-CAM's
// activation run picks it from its logits) against the two-run path
// (a target-picking forward pass, then the compiled graph), in ms per image. The two alternate
// within each round, so that a machine shared with other work slows both alike; the medians over
// the rounds are reported, with their ratio. Besides the bundled models, a ResNet-18 export runs
// when present in bench/.models/ (see backward.ts).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Explainer } from "../src/explain/explainer.ts";
import { benchImages, type BenchSection } from "./harness.ts";

const METHODS = ["gradcam", "saliency", "lrp", "eigencam"];
const FULL_SIZE = ["resnet18"];
const EXPORTS = join(dirname(fileURLToPath(import.meta.url)), ".models");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function elapsed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export const oneRun: BenchSection = {
  name: "one-run",
  title: "One run per explanation (explain one method, batch 1, ms per image, alternating rounds)",
  async run(context) {
    const { repetitions, warmup } = context.options;
    const models = [
      ...context.options.models,
      ...FULL_SIZE.map((m) => join(EXPORTS, `${m}.onnx`)).filter((p) => existsSync(p)),
    ];
    const rows: string[][] = [];
    for (const name of models) {
      const ctx = await context.model(name);
      const explainer = new Explainer(ctx);
      const input = benchImages(ctx, 1);
      for (const method of METHODS) {
        const request = { methods: [method] };
        const twoRuns = async () => explainer.explain(await ctx.targets(input), request);
        const oneRun = () => explainer.explain(input, request);
        for (let i = 0; i < Math.max(1, warmup); i++) {
          await twoRuns();
          await oneRun();
        }
        const before: number[] = [];
        const after: number[] = [];
        for (let round = 0; round < repetitions; round++) {
          // Which goes first alternates too.
          if (round % 2 === 0) {
            before.push(await elapsed(twoRuns));
            after.push(await elapsed(oneRun));
          } else {
            after.push(await elapsed(oneRun));
            before.push(await elapsed(twoRuns));
          }
        }
        const [b, a] = [median(before), median(after)];
        rows.push([
          ctx.card.name,
          method,
          b.toFixed(2),
          a.toFixed(2),
          `${(b / a).toFixed(2)}x`,
          String(repetitions),
        ]);
      }
    }
    return {
      columns: ["model", "method", "two runs ms", "one run ms", "speed-up", "rounds"],
      rows,
      numeric: [2, 3, 4, 5],
    };
  },
};
