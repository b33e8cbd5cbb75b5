// The one place the viewer calls camscope's explainers. Today: CamExplainer and
// AttributionExplainer over the model context, one (image, method) step at a time so the
// progress bar moves and a cancel lands between steps. When the explain service of the explain
// core (issue 13) lands, this module calls it instead (progress events and cancellation built
// in), and nothing else in the viewer changes.
import { AttributionExplainer } from "../../src/attribution/explainer.ts";
import {
  attributionMethods,
  resolveAttributionMethods,
} from "../../src/attribution/methods/index.ts";
import { CamExplainer } from "../../src/cam/explainer.ts";
import { applicableMethods, camMethods, resolveMethods } from "../../src/cam/methods/index.ts";
import type { TargetOptions } from "../../src/cam/targets.ts";
import type { FloatTensor } from "../../src/compiler/backward-session.ts";
import { CamscopeError } from "../../src/errors.ts";
import type { ModelContext } from "../../src/models/context.ts";
import type { ExplainRequest, ExplainResult, MethodInfo, MethodResult } from "../protocol.ts";

/** CAM methods that score perturbed inputs instead of reading gradients. */
const PERTURBATION_CAMS = new Set(["scorecam", "sscam", "iscam", "ablationcam", "clustercam"]);
/** Pixel methods that score perturbed inputs. */
const PERTURBATION_PIXELS = new Set(["occlusion", "rise"]);

function camFamily(name: string, needsRelevance: boolean): string {
  if (needsRelevance) return "CAM: relevance";
  return PERTURBATION_CAMS.has(name) ? "CAM: perturbation" : "CAM: gradient";
}

function pixelFamily(name: string): string {
  if (name === "lrp") return "LRP";
  return PERTURBATION_PIXELS.has(name) ? "Pixel: perturbation" : "Pixel: gradient";
}

/** Every method, grouped by family, with those that do not apply to the default layer marked. */
export async function methodCatalog(ctx: ModelContext): Promise<MethodInfo[]> {
  const layer = await ctx.defaultLayer();
  const { skipped } = applicableMethods(camMethods(ctx.model), [layer]);
  const cams: MethodInfo[] = camMethods(ctx.model).map((m) => {
    const why = skipped.find((s) => s.method.name === m.name)?.why;
    return {
      name: m.name,
      title: m.title,
      family: camFamily(m.name, m.needsRelevance ?? false),
      signed: false,
      ...(why ? { notApplicable: why } : {}),
    };
  });
  const pixels: MethodInfo[] = attributionMethods().map((m) => ({
    name: m.name,
    title: m.title,
    family: pixelFamily(m.name),
    signed: m.signed,
  }));
  return [...cams, ...pixels];
}

function targetOptions(request: ExplainRequest): TargetOptions {
  const { target, score } = request;
  if (target.kind === "topk") return { topK: target.k, score };
  if (target.kind === "class") return { classes: target.index, score };
  return { classes: "top1", score };
}

/** Progress after each (image, method) step; a cancel is honoured between steps. */
export interface StepControl {
  progress(done: number, total: number, label: string): void;
  cancelled(): boolean;
}

/**
 * Explains every image of `images` ([N, C, H, W], preprocessed) with every method of the
 * request, at one layer, for the chosen targets.
 */
export async function explain(
  ctx: ModelContext,
  images: FloatTensor,
  request: ExplainRequest,
  control: StepControl,
): Promise<ExplainResult> {
  const names = request.methods;
  const camNames = new Set(camMethods(ctx.model).map((m) => m.name));
  const unknown = names.filter(
    (n) => !camNames.has(n) && !attributionMethods().some((m) => m.name === n),
  );
  if (unknown.length > 0) {
    throw new CamscopeError("INVALID_ARGUMENT", `Unknown method "${unknown[0]}"`);
  }
  if (names.length === 0) throw new CamscopeError("INVALID_ARGUMENT", "Choose at least one method");
  const layer = await ctx.layer(request.layer);
  const [n, c, height, width] = images.dims as [number, number, number, number];
  const size = c * height * width;
  const target = targetOptions(request);
  const cam = new CamExplainer(ctx);
  const pixel = new AttributionExplainer(ctx);
  const total = n * names.length;
  const rows: ExplainResult["targets"] = [];
  const parts = new Map<string, { maps: Float32Array[]; raws: Float32Array[]; ms: number }>();
  const info = new Map<string, Omit<MethodResult, "map" | "raw" | "milliseconds">>();
  let done = 0;
  for (let i = 0; i < n; i++) {
    const image: FloatTensor = {
      data: images.data.subarray(i * size, (i + 1) * size),
      dims: [1, c, height, width],
    };
    let targetsOfImage = false;
    for (const name of names) {
      if (control.cancelled()) throw new CancelledError();
      control.progress(done, total, `${name} on image ${i + 1} of ${n}`);
      const started = performance.now();
      const part = parts.get(name) ?? { maps: [], raws: [], ms: 0 };
      parts.set(name, part);
      let explained: { targets: { classes: number[] }; scores: Float32Array };
      if (camNames.has(name)) {
        const [method] = resolveMethods(ctx.model, [name]);
        const result = await cam.explain(image, {
          methods: [method!],
          layers: [layer.name],
          target,
        });
        const r = result.results[0]!;
        const [, h, w] = r.raw[0]!.dims as [number, number, number];
        part.maps.push(r.map.data);
        part.raws.push(r.raw[0]!.data);
        info.set(name, {
          method: name,
          title: method!.title,
          pixel: false,
          signed: false,
          rawDims: [h, w],
        });
        explained = result;
      } else {
        const [method] = resolveAttributionMethods([name]);
        const result = await pixel.explain(image, {
          methods: [method!],
          layers: [layer.name],
          target,
        });
        const r = result.results[0]!;
        part.maps.push(r.map.data);
        part.raws.push(r.attribution.data);
        info.set(name, {
          method: name,
          title: method!.title,
          pixel: true,
          signed: r.signed,
          rawDims: [height, width],
        });
        explained = result;
      }
      part.ms += performance.now() - started;
      if (!targetsOfImage) {
        explained.targets.classes.forEach((index, r) => {
          rows.push({ image: i, index, label: ctx.label(index), score: explained.scores[r]! });
        });
        targetsOfImage = true;
      }
      done++;
    }
  }
  control.progress(done, total, "done");
  const results: MethodResult[] = names.map((name) => {
    const part = parts.get(name)!;
    return {
      ...info.get(name)!,
      map: concat(part.maps),
      raw: concat(part.raws),
      milliseconds: part.ms,
    };
  });
  return { dims: [height, width], layer: layer.name, targets: rows, score: request.score, results };
}

/** Thrown when the page cancelled the run. */
export class CancelledError extends Error {
  constructor() {
    super("Cancelled");
    this.name = "CancelledError";
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
