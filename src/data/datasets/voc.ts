// PASCAL VOC: <root>/Annotations/<stem>.xml describing <root>/JPEGImages/<filename>. One record
// per image and class present, id "<stem>:<class>", holding the boxes of that class's objects
// (difficult ones included). VOC boxes are 1-based with inclusive ends, so xmin..xmax becomes
// x0 = xmin - 1, x1 = xmax. Masks (SegmentationClass) are not read.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { CandidateRecord, Candidates, DatasetProblem } from "../types.ts";
import { readInputText, TEXT_FILE_LIMIT } from "../../util/files.ts";
import { labelIndex } from "./labels.ts";
import type { Box } from "../../image/regions.ts";

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** The text of each `<tag>` element directly or deeply inside `xml`, entities decoded. */
function elements(xml: string, tag: string): string[] {
  const found: string[] = [];
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}\\s*>`, "g");
  for (const match of xml.matchAll(pattern)) found.push(match[1]!);
  return found;
}

function text(xml: string, tag: string): string | undefined {
  const value = elements(xml, tag)[0];
  return value?.trim().replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ENTITIES[name]!);
}

function number(xml: string, tag: string): number {
  const value = text(xml, tag);
  return value === undefined || value === "" ? NaN : Number(value);
}

export interface VocObject {
  name: string;
  box: Box;
}

export interface VocAnnotation {
  filename?: string;
  size?: { width: number; height: number };
  objects: VocObject[];
}

/** The parts of a VOC annotation file the loader uses; malformed boxes come out as NaN. */
export function parseVocXml(xml: string): VocAnnotation {
  const width = number(xml, "width");
  const height = number(xml, "height");
  const filename = text(xml, "filename");
  return {
    ...(filename !== undefined && { filename }),
    ...(width > 0 && height > 0 && { size: { width, height } }),
    objects: elements(xml, "object").map((object) => {
      const bndbox = elements(object, "bndbox")[0] ?? "";
      return {
        name: text(object, "name") ?? "",
        box: {
          x0: number(bndbox, "xmin") - 1,
          y0: number(bndbox, "ymin") - 1,
          x1: number(bndbox, "xmax"),
          y1: number(bndbox, "ymax"),
        },
      };
    }),
  };
}

export async function loadVoc(
  root: string,
  labels: readonly string[] | undefined,
): Promise<Candidates> {
  const index = labelIndex(labels);
  const records: CandidateRecord[] = [];
  const problems: DatasetProblem[] = [];
  const annotations = join(root, "Annotations");
  const files = (await readdir(annotations)).filter((f) => f.endsWith(".xml")).sort();
  for (const name of files) {
    const stem = name.slice(0, -4);
    const path = join(annotations, name);
    const parsed = parseVocXml(
      await readInputText(path, {
        what: "VOC annotation",
        limit: TEXT_FILE_LIMIT,
        code: "INVALID_ARGUMENT",
      }),
    );
    const file = join(root, "JPEGImages", parsed.filename ?? `${stem}.jpg`);
    if (parsed.objects.length === 0) {
      problems.push({ id: stem, file: path, reason: "annotation lists no objects" });
      continue;
    }
    const byClass = new Map<string, Box[]>();
    for (const { name: cls, box } of parsed.objects) {
      byClass.set(cls, [...(byClass.get(cls) ?? []), box]);
    }
    for (const [cls, boxes] of byClass) {
      const id = `${stem}:${cls}`;
      const label = index.lookup(cls);
      if (labels !== undefined && label === undefined) {
        problems.push({ id, file, reason: `class "${cls}" is not among the model's labels` });
        continue;
      }
      records.push({
        id,
        file,
        boxes,
        ...(label !== undefined && { label }),
        ...(parsed.size && { declaredSize: parsed.size }),
      });
    }
  }
  return { records, problems };
}
