// Evaluation datasets: ImageNet-style class folders, PASCAL VOC, COCO instances JSON and
// camscope's synthetic export. loadDataset picks the loader (./datasets/), then checks every
// record's image (exists, header readable, size as annotated, boxes inside): bad records land in
// `problems` with the reason and are left out, never dropped silently.
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { CamscopeError } from "../errors.ts";
import { describe } from "../util/validate.ts";
import { isSyntheticCoco, loadCoco, readCocoJson } from "./datasets/coco.ts";
import { loadImagenetFolders } from "./datasets/imagenet-folders.ts";
import { checkRecords } from "./datasets/validate.ts";
import { loadVoc } from "./datasets/voc.ts";
import type { Candidates, Dataset, DatasetFormat, LoadDatasetOptions } from "./types.ts";

export type { Box } from "../image/regions.ts";
export type {
  Dataset,
  DatasetFormat,
  DatasetProblem,
  DatasetRecord,
  LoadDatasetOptions,
} from "./types.ts";
export { regionsInInput } from "./regions.ts";

/** Every {@link DatasetFormat}. */
export const DATASET_FORMATS: readonly DatasetFormat[] = [
  "imagenet-folders",
  "voc",
  "coco",
  "synthetic",
];

/** A COCO-style dataset may be named by its JSON file or by a folder holding annotations.json. */
const COCO_FILE = "annotations.json";

async function kind(path: string): Promise<"file" | "directory" | "other" | undefined> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? "directory" : info.isFile() ? "file" : "other";
  } catch {
    return undefined;
  }
}

/** The COCO JSON file of a path: the path itself, or <dir>/annotations.json. */
async function cocoFile(path: string): Promise<string | undefined> {
  const k = await kind(path);
  if (k === "file" && path.endsWith(".json")) return path;
  if (k === "directory" && (await kind(join(path, COCO_FILE))) === "file") {
    return join(path, COCO_FILE);
  }
  return undefined;
}

/** The format of the dataset at `path`, from its contents. */
export async function detectFormat(path: string): Promise<DatasetFormat> {
  const k = await kind(path);
  if (k === undefined) {
    throw new CamscopeError("INVALID_ARGUMENT", `Dataset "${path}" does not exist`);
  }
  if (k === "other") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Dataset "${path}" is neither a file nor a folder (a device, FIFO or socket)`,
    );
  }
  const json = await cocoFile(path);
  if (json) return isSyntheticCoco(await readCocoJson(json)) ? "synthetic" : "coco";
  if (k === "directory") {
    if ((await kind(join(path, "Annotations"))) === "directory") return "voc";
    const entries = await readdir(path, { withFileTypes: true });
    if (entries.some((e) => e.isDirectory() && !e.name.startsWith("."))) return "imagenet-folders";
  }
  throw new CamscopeError(
    "INVALID_ARGUMENT",
    `Cannot tell the format of dataset "${path}": expected a COCO .json file or a folder with ${COCO_FILE}, a VOC folder with Annotations/, or class subfolders`,
  );
}

/** Loads a dataset's records, checking each; see the module comment. */
export async function loadDataset(
  path: string,
  options: LoadDatasetOptions = {},
): Promise<Dataset> {
  if (typeof path !== "string" || path === "") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `The dataset path must be a non-empty string, got ${describe(path)}`,
    );
  }
  const root = resolve(path);
  const { labels, limit } = options;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `limit must be a non-negative integer, got ${limit}`,
    );
  }
  if (options.format !== undefined && !DATASET_FORMATS.includes(options.format)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Unknown dataset format "${options.format}" (valid: ${DATASET_FORMATS.join(", ")})`,
    );
  }
  const format = options.format ?? (await detectFormat(root));
  let candidates: Candidates;
  let name = basename(root, ".json");
  try {
    if (format === "imagenet-folders") {
      candidates = await loadImagenetFolders(root, labels);
    } else if (format === "voc") {
      candidates = await loadVoc(root, labels);
    } else {
      const json = await cocoFile(root);
      if (!json) {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `Dataset "${path}" is not a COCO .json file or a folder holding ${COCO_FILE}`,
        );
      }
      if (basename(json) === COCO_FILE) name = basename(dirname(json));
      candidates = await loadCoco(json, labels, format === "synthetic");
    }
  } catch (err) {
    if (err instanceof CamscopeError) throw err;
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Cannot read ${format} dataset "${path}": ${(err as Error).message}`,
      { cause: err },
    );
  }
  const chosen = limit === undefined ? candidates.records : candidates.records.slice(0, limit);
  const checked = await checkRecords(chosen);
  return {
    name,
    format,
    records: checked.records,
    problems: [...candidates.problems, ...checked.problems],
  };
}
