// Writes synthetic samples to disk in COCO "instances" format:
//   <out>/images/<id>.png        RGB image; <id> is the sample index (the COCO image id)
//   <out>/masks/<id>_<k>.png     object k's mask, 8-bit grayscale 0/255
//   <out>/annotations.json       images (plus `labels`: the categories present, for
//                                classification), annotations (bbox, area, iscrowd 0,
//                                category_id, segmentation as uncompressed RLE), categories
// Category ids are the 0-based indices of SYNTHETIC_CLASSES, i.e. a classifier's output indices.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import {
  DEFAULT_IMAGE_SIZE,
  DEFAULT_TWO_OBJECT_SHARE,
  SYNTHETIC_CLASSES,
  generateSplit,
} from "./generator.ts";
import type { Bbox, SplitOptions, SyntheticSample } from "./generator.ts";
import { DatasetHasher } from "./hash.ts";
import { encodeRle } from "./rle.ts";
import type { UncompressedRle } from "./rle.ts";

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  /** Categories of the objects in the image, in annotation order. */
  labels: number[];
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: Bbox;
  area: number;
  iscrowd: 0;
  segmentation: UncompressedRle;
}

export interface CocoCategory {
  id: number;
  name: string;
}

export interface CocoDataset {
  info: Record<string, unknown>;
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

export function emptyCocoDataset(info: Record<string, unknown>): CocoDataset {
  const categories = SYNTHETIC_CLASSES.map((name, id) => ({ id, name }));
  return { info, images: [], annotations: [], categories };
}

/** Appends the image entry and annotations of `sample`; annotation ids continue from 1. */
export function addToCoco(dataset: CocoDataset, sample: SyntheticSample, fileName: string): void {
  const { width, height } = sample;
  dataset.images.push({
    id: sample.index,
    file_name: fileName,
    width,
    height,
    labels: sample.objects.map((object) => object.category),
  });
  for (const object of sample.objects) {
    dataset.annotations.push({
      // COCO evaluation code treats annotation id 0 as "no match", so ids start at 1.
      id: dataset.annotations.length + 1,
      image_id: sample.index,
      category_id: object.category,
      bbox: object.bbox,
      area: object.mask.reduce((sum, bit) => sum + bit, 0),
      iscrowd: 0,
      segmentation: encodeRle(object.mask, width, height),
    });
  }
}

export async function writePng(
  path: string,
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
): Promise<void> {
  const image = sharp(pixels, { raw: { width, height, channels } });
  // Without this sharp stores one-channel input as RGB.
  if (channels === 1) image.toColourspace("b-w");
  await image.png().toFile(path);
}

/** A 0/1 mask as 0/255 grayscale pixels. */
export function maskToGray(mask: Uint8Array): Uint8Array {
  return mask.map((bit) => bit * 255);
}

export interface ExportOptions extends SplitOptions {
  outDir: string;
  /** Called after each sample is generated, with the number done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface ExportSummary {
  /** datasetHash() of the exported samples. */
  hash: string;
  images: number;
  annotations: number;
}

// PNG encoding runs on libuv's thread pool while the main thread generates the next samples;
// this many files may be in flight at once.
const MAX_PENDING_WRITES = 32;

export async function exportCocoSplit(options: ExportOptions): Promise<ExportSummary> {
  const { outDir, onProgress, ...splitOptions } = options;
  await mkdir(join(outDir, "images"), { recursive: true });
  await mkdir(join(outDir, "masks"), { recursive: true });
  const hasher = new DatasetHasher();
  const dataset = emptyCocoDataset({
    description: "camscope synthetic localization dataset",
    seed: options.seed,
    split: options.split,
    start: options.start ?? 0,
    count: options.count,
    size: options.size ?? DEFAULT_IMAGE_SIZE,
    two_object_share: options.twoObjectShare ?? DEFAULT_TWO_OBJECT_SHARE,
  });
  const pending = new Set<Promise<void>>();
  const track = (write: Promise<void>) => {
    const tracked = write.finally(() => pending.delete(tracked));
    pending.add(tracked);
  };
  let done = 0;
  for (const sample of generateSplit(splitOptions)) {
    hasher.update(sample);
    const fileName = `images/${sample.index}.png`;
    addToCoco(dataset, sample, fileName);
    track(writePng(join(outDir, fileName), sample.rgb, sample.width, sample.height, 3));
    sample.objects.forEach((object, k) => {
      const maskPath = join(outDir, "masks", `${sample.index}_${k}.png`);
      track(writePng(maskPath, maskToGray(object.mask), sample.width, sample.height, 1));
    });
    while (pending.size >= MAX_PENDING_WRITES) await Promise.race(pending);
    onProgress?.(++done, options.count);
  }
  await Promise.all(pending);
  const hash = hasher.digest();
  dataset.info["hash"] = hash;
  await writeFile(join(outDir, "annotations.json"), JSON.stringify(dataset));
  return { hash, images: dataset.images.length, annotations: dataset.annotations.length };
}
