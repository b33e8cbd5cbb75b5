// Exports a split of the synthetic localization dataset (src/data/synthetic) as a COCO folder,
// or regenerates the README sample images in samples/.
//
//   node --import tsx scripts/export-synthetic.ts --out DIR --split train --count 8000 --seed 1 \
//     --two-object-share 0 [--size 128] [--start 0]
//   node --import tsx scripts/export-synthetic.ts --readme-samples [--out samples]
//
// Progress goes to stderr; the last stdout line is the dataset hash (also in annotations.json).
import { Command, InvalidArgumentError } from "commander";
import { exportCocoSplit } from "../src/data/synthetic/coco.ts";
import { DEFAULT_IMAGE_SIZE, DEFAULT_TWO_OBJECT_SHARE } from "../src/data/synthetic/generator.ts";
import { exportReadmeSamples } from "../src/data/synthetic/readme-samples.ts";

function integer(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError("not an integer");
  return value;
}

function share(text: string): number {
  const value = Number(text);
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError("not a number in [0, 1]");
  return value;
}

const program: Command = new Command("export-synthetic")
  .description("Export the synthetic localization dataset in COCO format.")
  .option("--out <dir>", "output folder (with --readme-samples: default samples)")
  .option("--split <name>", "split name; splits of one seed are independent", "train")
  .option("--count <n>", "number of images", integer)
  .option("--start <i>", "index of the first image", integer, 0)
  .option("--seed <n>", "dataset seed", integer, 1)
  .option(
    "--two-object-share <p>",
    "share of images with two objects",
    share,
    DEFAULT_TWO_OBJECT_SHARE,
  )
  .option("--size <px>", "image width and height", integer, DEFAULT_IMAGE_SIZE)
  .option("--readme-samples", "regenerate the README sample images instead")
  .parse();

const options = program.opts<{
  out?: string;
  split: string;
  count?: number;
  start: number;
  seed: number;
  twoObjectShare: number;
  size: number;
  readmeSamples?: boolean;
}>();

if (options.readmeSamples) {
  const outDir = options.out ?? "samples";
  const names = await exportReadmeSamples(outDir);
  console.error(`wrote ${names.length} samples to ${outDir}: ${names.join(", ")}`);
} else {
  const { out, count } = options;
  if (out === undefined || count === undefined) program.error("--out and --count are required");
  const started = performance.now();
  let lastReport = 0;
  const summary = await exportCocoSplit({
    outDir: out,
    seed: options.seed,
    split: options.split,
    start: options.start,
    count,
    size: options.size,
    twoObjectShare: options.twoObjectShare,
    onProgress(done, total) {
      const now = performance.now();
      if (done === total || now - lastReport > 2000) {
        lastReport = now;
        const seconds = ((now - started) / 1000).toFixed(1);
        console.error(`${done}/${total} images (${seconds} s)`);
      }
    },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(
    `wrote ${summary.images} images, ${summary.annotations} annotations to ${out} in ${seconds} s`,
  );
  console.log(summary.hash);
}
