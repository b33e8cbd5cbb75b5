// The sample images shipped in samples/ for the README's first command: one image of each class in
// SAMPLE_CLASSES (shapes with telling parts for an explanation to point at) and one image with two
// objects, the first such images of split "samples" of seed 7. Written as <name>.png,
// masks/<name>.png (all objects, 0/255; in a subfolder so that samples/*.png is the images alone)
// and annotations.json (COCO, as ./coco.ts writes it, file names relative to the folder).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { addToCoco, emptyCocoDataset, maskToGray, writePng } from "./coco.ts";
import { DEFAULT_IMAGE_SIZE, SYNTHETIC_CLASSES, generateSample } from "./generator.ts";
import type { SyntheticSample } from "./generator.ts";
import { datasetHash } from "./hash.ts";

const SEED = 7;
const SPLIT = "samples";
const SAMPLE_CLASSES = ["star", "arrow", "ring", "heart", "cross"];
// Far more than needed: with 10 classes and 20 % two-object images the picks come within ~50.
const MAX_SEARCH = 1000;

function pickSamples(): SyntheticSample[] {
  const wanted = SAMPLE_CLASSES.map((name) => SYNTHETIC_CLASSES.indexOf(name));
  const singles = new Map<number, SyntheticSample>();
  let pair: SyntheticSample | undefined;
  for (let index = 0; index < MAX_SEARCH; index++) {
    const sample = generateSample({ seed: SEED, split: SPLIT, index });
    const [first, second] = sample.objects;
    if (second !== undefined) pair ??= sample;
    else if (wanted.includes(first!.category) && !singles.has(first!.category)) {
      singles.set(first!.category, sample);
    }
    if (pair !== undefined && singles.size === wanted.length) break;
  }
  if (pair === undefined || singles.size < wanted.length) {
    throw new Error(`no image of each of ${SAMPLE_CLASSES.join(", ")} and a pair found`);
  }
  return [...wanted.map((category) => singles.get(category)!), pair];
}

function sampleName(sample: SyntheticSample): string {
  return sample.objects.map((object) => SYNTHETIC_CLASSES[object.category]).join("-and-");
}

/** Writes the samples to `outDir`; returns their names. */
export async function exportReadmeSamples(outDir: string): Promise<string[]> {
  const samples = pickSamples();
  await mkdir(join(outDir, "masks"), { recursive: true });
  const dataset = emptyCocoDataset({
    description: "camscope synthetic localization dataset: README samples",
    seed: SEED,
    split: SPLIT,
    size: DEFAULT_IMAGE_SIZE,
    hash: datasetHash(samples),
    regenerate: "node --import tsx scripts/export-synthetic.ts --readme-samples",
  });
  const names: string[] = [];
  for (const sample of samples) {
    const name = sampleName(sample);
    names.push(name);
    addToCoco(dataset, sample, `${name}.png`);
    const union = new Uint8Array(sample.width * sample.height);
    for (const { mask } of sample.objects) mask.forEach((bit, i) => (union[i]! |= bit));
    const { width, height } = sample;
    await writePng(join(outDir, `${name}.png`), sample.rgb, width, height, 3);
    await writePng(join(outDir, "masks", `${name}.png`), maskToGray(union), width, height, 1);
  }
  await writeFile(join(outDir, "annotations.json"), `${JSON.stringify(dataset)}\n`);
  return names;
}
