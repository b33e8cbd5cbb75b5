// How the page draws an explanation: with the library's own renderer (explain/render.ts), so the
// overlays, colour bars, captions and grid are the ones `camscope explain` writes; the viewer
// adds the signed/unsigned switch and the values hover reads.
import type { Explanation, MethodResult } from "../../src/explain/explanation.ts";
import { renderExplanation, type RenderedTarget } from "../../src/explain/render.ts";
import type { ColormapName } from "../../src/image/colormap.ts";
import { mapToOriginal } from "../../src/image/resize.ts";
import type { FloatMap } from "../../src/image/types.ts";
import type { MethodDescriptor } from "../../src/methods/registry.ts";
import type { ExplainResult, ImageInfo, MethodMaps } from "../protocol.ts";

export interface DisplayStyle {
  colormap: ColormapName;
  alpha: number;
  /** Show signed maps with their sign (diverging colormap) rather than their magnitude. */
  signed: boolean;
  /** Grid columns. */
  columns: number;
}

/** The rendering of one target row, with what hover reads under each overlay. */
export interface ShownRow extends RenderedTarget {
  /** Per method: the values at each photo pixel (NaN where the crop cut it away). */
  values: FloatMap[];
}

/**
 * A signed input-level map as its magnitude: |raw| per row, and the final map that the renderer
 * expects of an unsigned map, (|raw| - lo) / (hi - lo) over the row.
 */
function magnitude(m: MethodMaps, rows: number): MethodMaps {
  const raw = m.raw.map(Math.abs);
  const area = raw.length / rows;
  const map = new Float32Array(raw.length);
  for (let r = 0; r < rows; r++) {
    const row = raw.subarray(r * area, (r + 1) * area);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of row) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const span = hi - lo;
    for (let i = 0; i < area; i++) map[r * area + i] = span > 0 ? (row[i]! - lo) / span : 0;
  }
  return { ...m, raw, map, signed: false, title: `${m.title}, |magnitude|` };
}

/** What the renderer reads of a method result, from the maps the worker sent. */
function asResult(m: MethodMaps, rows: number, height: number, width: number): MethodResult {
  return {
    // The renderer reads the descriptor's level only; the descriptor itself (with its
    // functions) stays in the worker.
    method: { name: m.method, title: m.title, level: m.level } as MethodDescriptor,
    title: m.title,
    options: {},
    raw: [{ data: m.raw, dims: [rows, ...m.rawDims] }],
    map: { data: m.map, dims: [rows, height, width] },
    signed: m.signed,
    passes: { forward: 0, backward: 0 },
    smoothing: { augmentation: false, eigen: false, noise: false },
    milliseconds: m.milliseconds,
  };
}

/** Every target row drawn: overlays with colour bars and captions, the grid, hover values. */
export function renderRows(
  result: ExplainResult,
  images: readonly ImageInfo[],
  labels: readonly string[],
  style: DisplayStyle,
): ShownRow[] {
  const rows = result.targets.length;
  const [height, width] = result.dims;
  const shown = result.results.map((m) => (m.signed && !style.signed ? magnitude(m, rows) : m));
  const explanation: Pick<Explanation, "targets" | "scores" | "results"> = {
    targets: {
      image: result.targets.map((t) => t.image),
      classes: result.targets.map((t) => t.index),
      score: result.score,
      binary: result.binary,
    },
    scores: Float32Array.from(result.targets, (t) => t.score),
    results: shown.map((m) => asResult(m, rows, height, width)),
  };
  const rendered = renderExplanation(
    explanation,
    images.map((image) => ({
      rgb: { width: image.width, height: image.height, data: image.rgb },
      transform: image.transform,
      name: image.name,
    })),
    (index) => labels[index] ?? `class_${index}`,
    { colormap: style.colormap, alpha: style.alpha, columns: style.columns },
  );
  const area = height * width;
  return rendered.map((row) => {
    const image = images[result.targets[row.row]!.image]!;
    const values = shown.map((m) => {
      // Layer-level maps read their final value in [0, 1]; input-level ones their attribution.
      const source = m.level === "layer" ? m.map : m.raw;
      const data = source.subarray(row.row * area, (row.row + 1) * area);
      return mapToOriginal({ width, height, data }, image.transform, { outside: NaN });
    });
    return { ...row, values };
  });
}
