// Every fuzz case, in a stable order, and the quick selection `npm test` runs.
import type { FuzzCase } from "../types.ts";
import { datasetCases } from "./datasets.ts";
import { fileCases } from "./files.ts";
import { libraryCases } from "./library.ts";
import { numericCases } from "./numerics.ts";
import { optionCases } from "./options.ts";
import { outputCases } from "./outputs.ts";
import { runCases } from "./runs.ts";

export function allCases(): FuzzCase[] {
  const cases = [
    ...fileCases(),
    ...optionCases(),
    ...datasetCases(),
    ...outputCases(),
    ...numericCases(),
    ...libraryCases(),
    ...runCases(),
  ];
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.id)) throw new Error(`duplicate fuzz case id ${c.id}`);
    seen.add(c.id);
  }
  return cases;
}

/**
 * The quick selection (about a minute on two cores): a few cases of every class, the ones that
 * hung, crashed or went silently wrong before the hardening among them, and one real concurrent
 * writer and one kill -9.
 */
export const QUICK = new Set([
  "model/truncated-50/predict",
  "model/random-10k/layers",
  "model/fifo/predict",
  "model/dev-zero/explain",
  "model/sparse-2.5g/predict",
  "model/ghost-input/explain",
  "model/flat-classifier/explain",
  "model/missing/activation",
  "image/truncated.png/explain",
  "image/fifo.png/predict",
  "image/dev-zero/activation",
  "image/bomb.png/predict",
  "image/sparse-300m.png/predict",
  "image/star.gif/explain",
  "image/cmyk.jpg/explain-ok",
  "image/one-pixel.png/explain-ok",
  "option/explain/--steps=0",
  "option/explain/--steps=1000000000",
  "option/explain/--threads=1000",
  "option/explain/--keep-probability=0",
  "option/explain/--alpha=(empty)",
  "option/explain/--seed=(empty)",
  "option/explain/--colormap=bogus",
  "option/explain/--target=99",
  "option/explain/--cells=17",
  "option/explain/occlusion-window=4-stride=8",
  "option/explain/--baseline=fifo",
  "option/explain/--baseline=wrong-shape",
  "option/explain/ok/window=3-stride=2",
  "option/explain/ok/steps=1",
  "option/predict/--top=0",
  "option/predict/--threads=1000",
  "option/evaluate/--limit=0",
  "option/evaluate/--batch-size=0",
  "dataset/path-dev-zero",
  "dataset/annotations-fifo",
  "dataset/all-images-missing",
  "dataset/one-image-missing",
  "dataset/duplicate-image-id",
  "dataset/changed/pixels",
  "dataset/changed/pixels-mtime-kept",
  "dataset/changed/boxes",
  "dataset/unchanged/touched",
  "dataset/limit-shrinks",
  "dataset/compare/a-file",
  "output/explain/existing-file",
  "output/explain/read-only",
  "output/activation/disk-full",
  "output/explain/disk-full",
  "output/evaluate/empty-string",
  "output/evaluate/under-a-file",
  "numeric/nan-logits/predict",
  "numeric/nan-when-dark/explain",
  "numeric/nan-when-dark/evaluate",
  "numeric/inf-logits/explain-gradcam",
  "numeric/black.png/all-pixel",
  "numeric/occlusion-value-3e38",
  "library/engine-chunkSize=0",
  "library/engine-disposed",
  "library/explain-batchSize=0",
  "library/explain-topK=-1",
  "library/explain-image-uint8",
  "library/runEvaluation-batchSize=0",
  "library/attribution-rise-cells=1e6",
  "library/openModel=number",
  "concurrency/live-lock-in-process",
  "concurrency/two-at-once",
  "interrupt/kill-9-after-5-records",
]);
