// Turning `camscope explain`'s text options into what the explainer takes: comma lists, the
// --target classes (names or indices), and one output folder name per image.
import { basename, extname } from "node:path";
import { CamscopeError } from "../errors.ts";

/** A comma-separated option as its non-empty items, duplicates dropped, order kept. */
export function commaList(value: string, what: string): string[] {
  const items = [...new Set(value.split(",").map((s) => s.trim()))].filter((s) => s !== "");
  if (items.length === 0) throw new CamscopeError("INVALID_ARGUMENT", `${what} is empty`);
  return items;
}

/**
 * --target as class indices: "top1", one class for every image, or one per image (in the order
 * the images were given). A class is a label of the model or an index; a whole value that is a
 * label is one class even if it holds commas.
 */
export function parseTargetClasses(
  spec: string,
  labels: readonly string[],
  imageCount: number,
): "top1" | number | number[] {
  if (spec === "top1") return "top1";
  if (labels.includes(spec)) return labels.indexOf(spec);
  const classes = spec.split(",").map((s) => classIndex(s.trim(), labels));
  if (classes.length === 1) return classes[0]!;
  if (classes.length !== imageCount) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--target lists ${classes.length} classes for ${imageCount} images; give one class, or one per image`,
    );
  }
  return classes;
}

function classIndex(name: string, labels: readonly string[]): number {
  const exact = labels.indexOf(name);
  if (exact >= 0) return exact;
  const folded = labels.findIndex((l) => l.toLowerCase() === name.toLowerCase());
  if (folded >= 0) return folded;
  if (/^\d+$/.test(name)) {
    const index = Number(name);
    // A model with one output unit (binary) has classes 0 and 1 whatever its labels say; with
    // no labels (a dynamic class count) the index is checked when targets are resolved.
    const count = Math.max(labels.length, 2);
    if (labels.length > 0 && index >= count) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `--target class ${index} is out of range: the model's classes are 0 to ${count - 1}`,
      );
    }
    return index;
  }
  const shown = labels.length <= 20 ? `: ${labels.join(", ")}` : "";
  throw new CamscopeError(
    "INVALID_ARGUMENT",
    `Unknown class "${name}" in --target: not a class name or index of the model (${labels.length} classes${shown})`,
  );
}

/** A file or folder name made of portable characters. */
export function slug(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "");
  return s === "" ? "_" : s;
}

/**
 * One output folder name per image: its file name without extension; a name taken by an earlier
 * image (or by the index file) gets -2, -3, ... so that images of the same name in different
 * folders never overwrite each other.
 */
export function imageDirNames(paths: readonly string[], reserved: readonly string[]): string[] {
  const used = new Set(reserved);
  return paths.map((path) => {
    const stem = slug(basename(path, extname(path)));
    let name = stem;
    for (let k = 2; used.has(name); k++) name = `${stem}-${k}`;
    used.add(name);
    return name;
  });
}
