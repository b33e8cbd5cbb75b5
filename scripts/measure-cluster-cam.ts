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
import { Command, InvalidArgumentError } from "commander";
import { formatTable } from "../bench/harness.ts";
import { CamExplainer } from "../src/cam/explainer.ts";
import { peaksInMasks } from "../src/cam/localization.ts";
import type { CamMethod } from "../src/cam/method.ts";
import { clusterCam, type ClusterMerge } from "../src/cam/methods/cluster-cam.ts";
import { scoreCam } from "../src/cam/methods/score-cam.ts";
import { generateSplit } from "../src/data/synthetic/generator.ts";
import { Engine } from "../src/engine/engine.ts";
import { preprocess } from "../src/image/preprocess.ts";
import { deletionInsertion, modelProbability } from "../src/metrics/deletion-insertion.ts";
import { openModel } from "../src/models/context.ts";
import { BUNDLED_MODELS } from "../src/models/registry.ts";

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
  .parse()
  .opts<{ count: number; model: string[]; clusters: string; threads?: number }>();

const variants: { label: string; method: CamMethod }[] = [{ label: "Score-CAM", method: scoreCam }];
for (const clusters of options.clusters.split(",").map(positive)) {
  for (const merge of ["subtract", "cut"] as ClusterMerge[]) {
    variants.push({
      label: `Cluster-CAM N=${clusters} ${merge}`,
      method: clusterCam({ clusters, merge }),
    });
  }
}

interface Totals {
  passes: number;
  ms: number;
  deletion: number;
  insertion: number;
  hits: number;
  empty: number;
}

const samples = [...generateSplit({ ...EVALUATION, count: options.count, twoObjectShare: 0 })];
const engine = new Engine(options.threads !== undefined ? { threads: options.threads } : {});
const tables = new Map<string, Totals[]>();
try {
  for (const name of options.model) {
    const ctx = await openModel(name, engine);
    const explainer = new CamExplainer(ctx);
    const layer = await ctx.defaultLayer();
    console.error(`${name}: layer ${layer.name} ${layer.dims.join("x")}`);
    const totals = variants.map((): Totals => ({
      passes: 0,
      ms: 0,
      deletion: 0,
      insertion: 0,
      hits: 0,
      empty: 0,
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
      const explanation = await explainer.explain(images, {
        methods: variants.map((v) => v.method),
        target: { classes },
      });
      const score = modelProbability(ctx, classes);
      for (const [j, result] of explanation.results.entries()) {
        const t = totals[j]!;
        t.passes += result.extraForwardPasses * chunk.length;
        t.ms += result.milliseconds;
        t.hits += peaksInMasks(result.map, masks, transforms).filter(Boolean).length;
        const area = result.map.data.length / chunk.length;
        for (let i = 0; i < chunk.length; i++) {
          if (result.map.data.subarray(i * area, (i + 1) * area).every((v) => v === 0)) t.empty++;
        }
        const curves = await deletionInsertion(images, result.map.data, score);
        t.deletion += curves.deletion.reduce((a, b) => a + b, 0);
        t.insertion += curves.insertion.reduce((a, b) => a + b, 0);
      }
      console.error(`  ${start + chunk.length}/${samples.length} images`);
    }
    tables.set(name, totals);
  }
} finally {
  await engine.dispose();
}

const n = samples.length;
const columns = [
  "method",
  "passes/img",
  "ms/img",
  "deletion AUC",
  "insertion AUC",
  "peak in mask %",
  "empty maps %",
];
const row = (label: string, t: Totals): string[] => [
  label,
  (t.passes / n).toFixed(1),
  (t.ms / n).toFixed(1),
  (t.deletion / n).toFixed(4),
  (t.insertion / n).toFixed(4),
  ((100 * t.hits) / n).toFixed(1),
  ((100 * t.empty) / n).toFixed(1),
];
const numeric = [1, 2, 3, 4, 5, 6];
console.log(
  `${n} images of split "${EVALUATION.split}" seed ${EVALUATION.seed} (one object each), the object's ` +
    "class explained at the default layer; deletion lower is better, insertion higher.\n",
);
for (const [name, totals] of tables) {
  console.log(`${name}:\n`);
  console.log(
    formatTable({ columns, rows: variants.map((v, j) => row(v.label, totals[j]!)), numeric }),
  );
  console.log();
}
if (tables.size > 1) {
  console.log("Mean over models:\n");
  const mean = variants.map((_, j) => {
    const all = [...tables.values()].map((t) => t[j]!);
    const avg = (key: keyof Totals) => all.reduce((a, t) => a + t[key], 0) / all.length;
    return {
      passes: avg("passes"),
      ms: avg("ms"),
      deletion: avg("deletion"),
      insertion: avg("insertion"),
      hits: avg("hits"),
      empty: avg("empty"),
    };
  });
  console.log(
    formatTable({ columns, rows: variants.map((v, j) => row(v.label, mean[j]!)), numeric }),
  );
}
