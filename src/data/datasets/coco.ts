// COCO "instances" JSON (and camscope's synthetic export, which is COCO with category ids equal
// to the classifier's indices). One record per image and category present, id
// "<image id>:<category id>", holding the boxes of that category's annotations and, when they
// have segmentations, their union as the mask. bbox [x, y, w, h] (continuous pixel coordinates)
// becomes the pixels it touches: x0 = floor(x), x1 = ceil(x + w). Image file names are relative
// to the JSON file's folder.
import { dirname, resolve } from "node:path";
import { CamscopeError } from "../../errors.ts";
import { readInputText, TEXT_FILE_LIMIT } from "../../util/files.ts";
import type { CandidateRecord, Candidates, DatasetProblem } from "../types.ts";
import { labelIndex } from "./labels.ts";
import { rasterise, segmentationProblem, type Segmentation } from "./segmentation.ts";
import type { Box } from "../../image/regions.ts";

interface CocoImageEntry {
  id: number;
  file_name: string;
  width?: number;
  height?: number;
}

interface CocoAnnotationEntry {
  id?: number;
  image_id: number;
  category_id: number;
  bbox?: number[];
  segmentation?: unknown;
}

interface CocoJson {
  info?: { description?: unknown };
  images: CocoImageEntry[];
  annotations: CocoAnnotationEntry[];
  categories: { id: number; name: string }[];
}

/** The parsed JSON file, or a CamscopeError naming it. */
export async function readCocoJson(path: string): Promise<CocoJson> {
  // A regular file under the text limit: a FIFO named annotations.json would block the read.
  const text = await readInputText(path, {
    what: "COCO annotations",
    limit: TEXT_FILE_LIMIT,
    code: "INVALID_ARGUMENT",
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Cannot read COCO annotations "${path}": ${(err as Error).message}`,
      { cause: err },
    );
  }
  const { images, annotations, categories } = (json ?? {}) as Partial<CocoJson>;
  if (!Array.isArray(images) || !Array.isArray(annotations) || !Array.isArray(categories)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `COCO annotations "${path}" need "images", "annotations" and "categories" arrays`,
    );
  }
  return json as CocoJson;
}

/** Whether a COCO file is camscope's synthetic export (see ../synthetic/coco.ts). */
export function isSyntheticCoco(json: CocoJson): boolean {
  const description = json.info?.description;
  return typeof description === "string" && description.startsWith("camscope synthetic");
}

function bboxToBox(bbox: unknown): Box | undefined {
  if (!Array.isArray(bbox) || bbox.length !== 4) return undefined;
  const [x, y, w, h] = bbox as number[];
  return { x0: Math.floor(x!), y0: Math.floor(y!), x1: Math.ceil(x! + w!), y1: Math.ceil(y! + h!) };
}

/**
 * Candidates of a COCO file. `synthetic`: without `labels`, category ids are the class indices
 * (camscope's synthetic export); plain COCO needs `labels` to map category names to indices.
 */
export async function loadCoco(
  path: string,
  labels: readonly string[] | undefined,
  synthetic: boolean,
): Promise<Candidates> {
  const json = await readCocoJson(path);
  const root = dirname(path);
  const index = labelIndex(labels);
  const problems: DatasetProblem[] = [];
  const categories = new Map(json.categories.map((c) => [c.id, c.name]));
  // Record ids come from image ids: a second image with the same id would share them (and be
  // skipped as done on a resume), so it is reported and left out.
  const images = new Map<number, CocoImageEntry>();
  const duplicates = new Set<CocoImageEntry>();
  for (const image of json.images) {
    if (images.has(image.id)) {
      duplicates.add(image);
      problems.push({
        id: String(image.id),
        file: resolve(root, String(image.file_name)),
        reason: `duplicate image id ${image.id} (also "${images.get(image.id)!.file_name}"): left out`,
      });
    } else {
      images.set(image.id, image);
    }
  }
  // Annotations grouped by image, then category, in file order.
  const grouped = new Map<number, Map<number, CocoAnnotationEntry[]>>();
  for (const a of json.annotations) {
    const image = images.get(a.image_id);
    const ref = `annotation ${a.id ?? "?"}`;
    if (!image) {
      problems.push({ id: ref, reason: `refers to image id ${a.image_id}, which is not listed` });
      continue;
    }
    if (!categories.has(a.category_id)) {
      problems.push({
        id: `${a.image_id}:${a.category_id}`,
        file: resolve(root, image.file_name),
        reason: `${ref} has category id ${a.category_id}, which is not listed`,
      });
      continue;
    }
    const perImage = grouped.get(a.image_id) ?? new Map<number, CocoAnnotationEntry[]>();
    grouped.set(a.image_id, perImage);
    perImage.set(a.category_id, [...(perImage.get(a.category_id) ?? []), a]);
  }
  const records: CandidateRecord[] = [];
  for (const image of json.images) {
    if (duplicates.has(image)) continue;
    const file = resolve(root, image.file_name);
    const perImage = grouped.get(image.id);
    if (!perImage) {
      problems.push({ id: String(image.id), file, reason: "image has no annotations" });
      continue;
    }
    const declared =
      image.width !== undefined && image.height !== undefined
        ? { width: image.width, height: image.height }
        : undefined;
    for (const [categoryId, annotations] of perImage) {
      const id = `${image.id}:${categoryId}`;
      const name = categories.get(categoryId)!;
      const label = synthetic && labels === undefined ? categoryId : index.lookup(name);
      if (labels !== undefined && label === undefined) {
        problems.push({ id, file, reason: `category "${name}" is not among the model's labels` });
        continue;
      }
      const reason = annotationProblem(annotations, declared);
      if (reason !== undefined) {
        problems.push({ id, file, reason });
        continue;
      }
      const boxes = annotations.map((a) => bboxToBox(a.bbox)!);
      const segmentations = annotations
        .map((a) => a.segmentation as Segmentation | undefined)
        .filter((s) => s !== undefined);
      const record: CandidateRecord = {
        id,
        file,
        boxes,
        ...(label !== undefined && { label }),
        ...(declared && { declaredSize: declared }),
      };
      if (declared && segmentations.length > 0) {
        record.maskSource = segmentations;
        record.mask = async (width, height) => {
          if (width !== declared.width || height !== declared.height) {
            throw new CamscopeError(
              "INVALID_ARGUMENT",
              `Mask of "${id}" is annotated at ${declared.width}x${declared.height}, asked for ${width}x${height}`,
            );
          }
          return rasterise(segmentations, width, height);
        };
      }
      records.push(record);
    }
  }
  return { records, problems };
}

/** Why a record's annotations are unusable (a bbox or segmentation malformed), if they are. */
function annotationProblem(
  annotations: readonly CocoAnnotationEntry[],
  size: { width: number; height: number } | undefined,
): string | undefined {
  for (const a of annotations) {
    const box = a.bbox;
    if (!Array.isArray(box) || box.length !== 4 || !box.every(Number.isFinite)) {
      return `annotation ${a.id ?? "?"} has no valid bbox [x, y, w, h]`;
    }
    if (a.segmentation !== undefined) {
      if (!size) return `annotation ${a.id ?? "?"} has a segmentation but its image has no size`;
      const reason = segmentationProblem(a.segmentation, size.width, size.height);
      if (reason) return `annotation ${a.id ?? "?"}: ${reason}`;
    }
  }
  return undefined;
}
