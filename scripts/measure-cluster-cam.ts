// Cluster-CAM against Score-CAM on the bundled models, to choose Cluster-CAM's defaults (cluster
// count, merge): per method, forward passes and milliseconds per image, Deletion and Insertion AUC
// (RISE protocol, 32 steps, class probability) and the localization rate (map peak inside the
// object mask). Images: the bundled models' evaluation set (split "test", seed 3), one object
// each, explaining the object's class at the default layer.
//
//   node --import tsx scripts/measure-cluster-cam.ts [--count 100] [--model synth-vgg]...
//     [--clusters 4,8,16] [--threads 2]
//
// Milliseconds are the method's own time (its batched forward passes, clustering, maps); the
// activation pass all methods share is left out. Progress goes to stderr; stdout is the tables.
import { writeFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { formatTable } from "../bench/harness.ts";
import { explainCam } from "../src/cam/pipeline.ts";
import { peaksInMasks } from "../src/evaluate/localization.ts";
import type { CamMethod } from "../src/cam/method.ts";
import { clusterCam, type ClusterMerge } from "../src/cam/methods/cluster-cam.ts";
import { scoreCam } from "../src/cam/methods/score-cam.ts";
import { generateSplit } from "../src/data/synthetic/generator.ts";
import { Engine } from "../src/engine/engine.ts";
import { preprocess } from "../src/image/preprocess.ts";
import { deletionInsertion, modelProbability } from "../src/metrics/deletion-insertion.ts";
import { BUNDLED_MODELS, openModel } from "../src/io/models.ts";

const EVALUATION = { split: "test", seed: 3 };
const CHUNK = 20;

function positive(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError("not a positive integer");
  return value;
}

const options = new Command("measure-cluster-cam")
  .description("Cluster-CAM (cluster counts x merges) against Score-CAM on the bundled models.")
  .option("--count <n>", "number of evaluation images", positive, 100)
  .option("--model <name...>", "bundled models or .onnx paths", [...BUNDLED_MODELS])
  .option("--clusters <list>", "cluster counts, comma-separated", "4,8,16")
  .option("--threads <n>", "ONNX Runtime intra-op threads", positive)
  .option("--json <file>", "also write the per-image measurements as JSON")
  .parse()
  .opts<{ count: number; model: string[]; clusters: string; threads?: number; json?: string }>();

const variants: { label: string; method: CamMethod }[] = [{ label: "Score-CAM", method: scoreCam }];
for (const clusters of options.clusters.split(",").map(positive)) {
  for (const merge of ["subtract", "cut"] as ClusterMerge[]) {
    variants.push({
      label: `Cluster-CAM N=${clusters} ${merge}`,
      method: clusterCam({ clusters, merge }),
    });
  }
}

/** One method's sums over the images, and its per-image measurements. */
interface Totals {
  images: number;
  passes: number;
  ms: number;
  deletion: number[];
  insertion: number[];
  /** Map peak inside the object mask. */
  peaks: boolean[];
  /** All-zero map. */
  empty: boolean[];
}

const samples = [...generateSplit({ ...EVALUATION, count: options.count, twoObjectShare: 0 })];
const engine = new Engine(options.threads !== undefined ? { threads: options.threads } : {});
const tables = new Map<string, Totals[]>();
try {
  for (const name of options.model) {
    const ctx = await openModel(name, engine);
    const layer = await ctx.defaultLayer();
    console.error(`${name}: layer ${layer.name} ${layer.dims.join("x")}`);
    const totals = variants.map((): Totals => ({
      images: 0,
      passes: 0,
      ms: 0,
      deletion: [],
      insertion: [],
      peaks: [],
      empty: [],
    }));
    for (let start = 0; start < samples.length; start += CHUNK) {
      const chunk = samples.slice(start, start + CHUNK);
      const { tensor, dims, transforms } = preprocess(
        chunk.map((s) => ({ width: s.width, height: s.height, data: s.rgb })),
        ctx.card.preprocessing,
      );
      const images = { data: tensor, dims };
      const classes = chunk.map((s) => s.objects[0]!.category);
      const masks = chunk.map((s) => ({
        width: s.width,
        height: s.height,
        data: s.objects[0]!.mask,
      }));
      const explanation = await explainCam(ctx, await ctx.targets(images, { classes }), {
        methods: variants.map((v) => v.method),
      });
      const score = modelProbability(ctx, classes);
      for (const [j, result] of explanation.results.entries()) {
        const t = totals[j]!;
        t.images += chunk.length;
        t.passes += result.extraForwardPasses * chunk.length;
        t.ms += result.milliseconds;
        t.peaks.push(...peaksInMasks(result.map, masks, transforms));
        const area = result.map.data.length / chunk.length;
        for (let i = 0; i < chunk.length; i++) {
          t.empty.push(result.map.data.subarray(i * area, (i + 1) * area).every((v) => v === 0));
        }
        const curves = await deletionInsertion(images, result.map.data, score);
        t.deletion.push(...curves.deletion);
        t.insertion.push(...curves.insertion);
      }
      console.error(`  ${start + chunk.length}/${samples.length} images`);
    }
    tables.set(name, totals);
  }
} finally {
  await engine.dispose();
}

if (options.json) {
  const models = Object.fromEntries(
    [...tables].map(([name, totals]) => [
      name,
      Object.fromEntries(variants.map((v, j) => [v.label, totals[j]!])),
    ]),
  );
  const evaluation = { ...EVALUATION, count: samples.length };
  await writeFile(options.json, JSON.stringify({ evaluation, models }));
}

/** Mean and standard error of the mean. */
function meanAndError(values: readonly number[]): string {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return `${mean >= 0 ? "" : "-"}${Math.abs(mean).toFixed(4)} ± ${Math.sqrt(variance / values.length).toFixed(4)}`;
}

/** Per-image differences a - b. */
const minus = (a: readonly number[], b: readonly number[]) => a.map((v, i) => v - b[i]!);
const share = (flags: readonly boolean[]) =>
  ((100 * flags.filter(Boolean).length) / flags.length).toFixed(1);

const columns = [
  "method",
  "passes/img",
  "ms/img",
  "deletion AUC",
  "Δ deletion",
  "insertion AUC",
  "Δ insertion",
  "peak in mask %",
  "empty maps %",
];
const row = (label: string, t: Totals, reference: Totals): string[] => [
  label,
  (t.passes / t.images).toFixed(1),
  (t.ms / t.images).toFixed(1),
  meanAndError(t.deletion),
  t === reference ? "" : meanAndError(minus(t.deletion, reference.deletion)),
  meanAndError(t.insertion),
  t === reference ? "" : meanAndError(minus(t.insertion, reference.insertion)),
  share(t.peaks),
  share(t.empty),
];
const numeric = [1, 2, 3, 4, 5, 6, 7, 8];
console.log(
  `${samples.length} images of split "${EVALUATION.split}" seed ${EVALUATION.seed} (one object each), ` +
    "the object's class explained at the default layer. AUCs: mean ± standard error; deletion " +
    "lower is better, insertion higher; Δ: paired difference to Score-CAM on the same images.\n",
);
const print = (totals: readonly Totals[]) =>
  console.log(
    formatTable({
      columns,
      rows: variants.map((v, j) => row(v.label, totals[j]!, totals[0]!)),
      numeric,
    }),
  );
for (const [name, totals] of tables) {
  console.log(`${name}:\n`);
  print(totals);
  console.log();
}
if (tables.size > 1) {
  console.log("All models (images pooled):\n");
  print(
    variants.map((_, j) => {
      const all = [...tables.values()].map((t) => t[j]!);
      return {
        images: all.reduce((a, t) => a + t.images, 0),
        passes: all.reduce((a, t) => a + t.passes, 0),
        ms: all.reduce((a, t) => a + t.ms, 0),
        deletion: all.flatMap((t) => t.deletion),
        insertion: all.flatMap((t) => t.insertion),
        peaks: all.flatMap((t) => t.peaks),
        empty: all.flatMap((t) => t.empty),
      };
    }),
  );
}
