// The one place the viewer calls camscope's explain service: the method catalogue from the
// method registry, and explain runs of the Explainer, one (image, method) call at a time so the
// progress bar moves and a cancel (an AbortSignal) lands between calls as well as inside them.
// The targets of an image are resolved once, by one forward pass, and handed to every method.
import { CamscopeError } from "../../src/errors.ts";
import { Explainer } from "../../src/explain/explainer.ts";
import { chooseMethod, METHODS, methodNamed } from "../../src/methods/registry.ts";
import type { ModelRuntime } from "../../src/runtime/runtime.ts";
import type { TargetOptions } from "../../src/runtime/targets.ts";
import type { FloatTensor } from "../../src/tensor/tensor.ts";
import type { ExplainRequest, ExplainResult, MethodInfo, MethodMaps } from "../protocol.ts";

/** Every method of the vocabulary, with its cost here and whether it applies to the default layer. */
export async function methodCatalog(rt: ModelRuntime): Promise<MethodInfo[]> {
  const layer = await rt.defaultLayer();
  return METHODS.map((method) => {
    const { options } = chooseMethod(method);
    const passes = method.cost(options, {
      layers: [layer],
      input: rt.input.dims,
    });
    const why = method.level === "layer" ? method.notApplicable?.(rt.model, layer) : undefined;
    return {
      name: method.name,
      title: method.title,
      family: method.family,
      level: method.level,
      signed: method.signed,
      passes: passes.forward + passes.backward,
      ...(why ? { notApplicable: why } : {}),
    };
  });
}

function targetOptions(request: ExplainRequest): TargetOptions {
  const { target, score } = request;
  if (target.kind === "topk") return { topK: target.k, score };
  if (target.kind === "class") return { classes: target.index, score };
  return { classes: "top1", score };
}

/** Progress after each (image, method) call. */
export type Progress = (done: number, total: number, label: string) => void;

/**
 * Explains every image of `images` ([N, C, H, W], preprocessed) with every method of the request
 * at one layer, for the chosen targets; `signal` stops it (the promise rejects with its reason).
 */
export async function explain(
  rt: ModelRuntime,
  images: FloatTensor,
  request: ExplainRequest,
  progress: Progress,
  signal: AbortSignal,
): Promise<ExplainResult> {
  if (request.methods.length === 0) {
    throw new CamscopeError("INVALID_ARGUMENT", "Choose at least one method");
  }
  const methods = request.methods.map((name) => methodNamed(name));
  const explainer = new Explainer(rt);
  const layers = [request.layer || "auto"];
  // Checks the methods against the layer before any image is explained.
  const plan = await explainer.plan({ methods: request.methods, layers });
  const [n, c, height, width] = images.dims as [number, number, number, number];
  const size = c * height * width;
  const total = n * methods.length;
  const targets: ExplainResult["targets"] = [];
  const parts = methods.map(() => ({ maps: [] as Float32Array[], raws: [] as Float32Array[] }));
  const results: Omit<MethodMaps, "map" | "raw">[] = [];
  let done = 0;
  let binary = false;
  for (let i = 0; i < n; i++) {
    signal.throwIfAborted();
    const image: FloatTensor = {
      data: images.data.subarray(i * size, (i + 1) * size),
      dims: [1, c, height, width],
    };
    const rows = await rt.targets(image, targetOptions(request));
    binary = rows.targets.binary;
    rows.targets.classes.forEach((index, r) => {
      targets.push({ image: i, index, label: rt.label(index), score: rows.scores[r]! });
    });
    for (const [j, method] of methods.entries()) {
      signal.throwIfAborted();
      progress(done, total, `${method.title} on image ${i + 1} of ${n}`);
      const explanation = await explainer.explain(rows, {
        methods: [plan.choices[j]!],
        layers,
        signal,
      });
      const result = explanation.results[0]!;
      const raw = result.raw[0]!;
      const [, rh, rw] = raw.dims as [number, number, number];
      parts[j]!.maps.push(result.map.data);
      parts[j]!.raws.push(raw.data);
      const previous = results[j];
      results[j] = {
        method: method.name,
        title: result.title,
        level: method.level,
        signed: result.signed,
        rawDims: [rh, rw],
        milliseconds: (previous?.milliseconds ?? 0) + result.milliseconds,
      };
      done++;
    }
  }
  progress(done, total, "done");
  const layer = plan.choices.some((choice) => choice.method.level === "layer")
    ? plan.layers[0]!.name
    : "";
  return {
    dims: [height, width],
    layer,
    targets,
    score: request.score,
    binary,
    results: results.map((r, j) => ({
      ...r,
      map: concat(parts[j]!.maps),
      raw: concat(parts[j]!.raws),
    })),
  };
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
