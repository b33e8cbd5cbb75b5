// Checks every loader applies before a record is handed out: the image exists and its header
// reads, its size matches what the annotation declares, and every box lies inside it. Only the
// header is read (sharp's metadata), so loading a large dataset stays cheap; a file that is
// damaged past its header is caught when the runner decodes it.
import { stat } from "node:fs/promises";
import sharp from "sharp";
import type { CandidateRecord, DatasetProblem, DatasetRecord } from "../types.ts";
import type { Box } from "../../image/regions.ts";

/** Annotation coordinates may overshoot the image by rounding; this much is clipped silently. */
const BOX_SLACK = 1;

export interface ImageSize {
  width: number;
  height: number;
}

/** The image's size as decodeImage will see it (EXIF orientation applied), or why it can't be read. */
export async function probeImage(file: string): Promise<ImageSize | string> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return "not a file";
  } catch {
    return "file not found";
  }
  try {
    const meta = await sharp(file).metadata();
    const size = meta.autoOrient ?? meta;
    if (!size.width || !size.height) return "unreadable image (no size in its header)";
    return { width: size.width, height: size.height };
  } catch (err) {
    return `unreadable image (${err instanceof Error ? err.message.trim() : String(err)})`;
  }
}

/** The box clipped to the image, or undefined when it is empty or lies outside the image. */
export function fitBox(box: Box, size: ImageSize): Box | undefined {
  const { x0, y0, x1, y1 } = box;
  if (![x0, y0, x1, y1].every(Number.isFinite)) return undefined;
  if (x0 < -BOX_SLACK || y0 < -BOX_SLACK) return undefined;
  if (x1 > size.width + BOX_SLACK || y1 > size.height + BOX_SLACK) return undefined;
  const fitted = {
    x0: Math.max(0, x0),
    y0: Math.max(0, y0),
    x1: Math.min(size.width, x1),
    y1: Math.min(size.height, y1),
  };
  return fitted.x1 > fitted.x0 && fitted.y1 > fitted.y0 ? fitted : undefined;
}

const describeBox = ({ x0, y0, x1, y1 }: Box) => `[${x0}, ${y0}, ${x1}, ${y1})`;

/** The record with its boxes clipped, or the reason it must be skipped. */
async function checkRecord(record: CandidateRecord): Promise<DatasetRecord | string> {
  const size = await probeImage(record.file);
  if (typeof size === "string") return size;
  const declared = record.declaredSize;
  if (declared && (declared.width !== size.width || declared.height !== size.height)) {
    return `annotation says ${declared.width}x${declared.height} but the image is ${size.width}x${size.height}`;
  }
  const checked: DatasetRecord = { ...record };
  delete (checked as CandidateRecord).declaredSize;
  if (record.boxes) {
    const boxes: Box[] = [];
    for (const box of record.boxes) {
      const fitted = fitBox(box, size);
      if (!fitted) {
        return `box ${describeBox(box)} lies outside the ${size.width}x${size.height} image or is empty`;
      }
      boxes.push(fitted);
    }
    checked.boxes = boxes;
  }
  return checked;
}

/** Checks records a few at a time (file reads overlap), keeping their order. */
export async function checkRecords(
  candidates: readonly CandidateRecord[],
  concurrency = 8,
): Promise<{ records: DatasetRecord[]; problems: DatasetProblem[] }> {
  const results = new Array<DatasetRecord | string>(candidates.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < candidates.length) {
      const i = next++;
      results[i] = await checkRecord(candidates[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, candidates.length) }, worker));
  const records: DatasetRecord[] = [];
  const problems: DatasetProblem[] = [];
  results.forEach((result, i) => {
    if (typeof result === "string") {
      const { id, file } = candidates[i]!;
      problems.push({ id, file, reason: result });
    } else {
      records.push(result);
    }
  });
  return { records, problems };
}
