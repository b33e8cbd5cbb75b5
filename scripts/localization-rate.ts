// The localization rate of every CAM method on every bundled model: the share of held-out
// synthetic images (one object each) whose explanation of the object's class peaks inside the
// object's mask. The images are the bundled models' evaluation set (split "test", seed 3).
//
//   node --import tsx scripts/localization-rate.ts [--count 200] [--model synth-resnet]...
//     [--method gradcam,scorecam | all] [--layer NAME] [--threads 2]
//
// Progress goes to stderr; stdout is the table (methods x models, rates in percent).
import { Command, InvalidArgumentError } from "commander";
import { formatTable } from "../bench/harness.ts";
import { Explainer } from "../src/explain/explainer.ts";
import { evaluateLocalization } from "../src/evaluate/localization.ts";
import { Progress } from "../src/cli/progress.ts";
import { generateSplit } from "../src/data/synthetic/generator.ts";
import { Engine } from "../src/engine/engine.ts";
import { BUNDLED_MODELS, openModel } from "../src/io/models.ts";

const EVALUATION = { split: "test", seed: 3 };

function positive(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError("not a positive integer");
  return value;
}

const options = new Command("localization-rate")
  .description(
    "Localization rate (map peak inside the object mask) per CAM method and bundled model.",
  )
  .option("--count <n>", "number of evaluation images", positive, 200)
  .option("--model <name...>", "bundled models or .onnx paths", [...BUNDLED_MODELS])
  .option("--method <names>", 'CAM methods, comma-separated, or "all"', "all")
  .option("--layer <name>", "target layer (a value name of every model given)", "auto")
  .option("--threads <n>", "ONNX Runtime intra-op threads", positive)
  .parse()
  .opts<{ count: number; model: string[]; method: string; layer: string; threads?: number }>();

const samples = [...generateSplit({ ...EVALUATION, count: options.count, twoObjectShare: 0 })];
const engine = new Engine(options.threads !== undefined ? { threads: options.threads } : {});
const rates = new Map<string, Map<string, number>>();
const methodNames: string[] = [];
try {
  for (const name of options.model) {
    const ctx = await openModel(name, engine);
    const explainer = new Explainer(ctx);
    const methods = options.method.split(",");
    for (const { method } of (await explainer.plan({ methods })).choices) {
      if (!methodNames.includes(method.name)) methodNames.push(method.name);
    }
    console.error(`${name}:`);
    const progress = new Progress(process.stderr, samples.length, "images", { bar: 24 });
    const started = performance.now();
    rates.set(
      name,
      await evaluateLocalization(explainer, methods, samples, {
        layers: [options.layer],
        onProgress: (done) => progress.update(done),
      }),
    );
    progress.finish();
    console.error(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
} finally {
  await engine.dispose();
}

console.log(
  `Localization rate (%), ${options.count} images of split "${EVALUATION.split}" seed ${EVALUATION.seed}, ` +
    `explaining the object's class at ${options.layer === "auto" ? "the default layer" : `layer ${options.layer}`}:\n`,
);
console.log(
  formatTable({
    columns: ["method", ...options.model],
    rows: methodNames.map((method) => [
      method,
      ...options.model.map((model) => {
        const rate = rates.get(model)?.get(method);
        return rate === undefined ? "-" : (100 * rate).toFixed(1);
      }),
    ]),
    numeric: options.model.map((_, i) => i + 1),
  }),
);
