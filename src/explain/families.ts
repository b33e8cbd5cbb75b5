// Running chosen methods on resolved rows: each family's pipeline runs its methods once per call
// (so they share their passes), and its results are given in the service's vocabulary.
import type { AttributionMethod, Completeness } from "../attribution/method.ts";
import { attributeRows } from "../attribution/pipeline.ts";
import type { CamMethod } from "../cam/method.ts";
import { explainCam } from "../cam/pipeline.ts";
import { lrpRows, type LrpMethod } from "../lrp/method.ts";
import type { MethodChoice, PassCount } from "../methods/registry.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { Rows, TargetBatch } from "../runtime/targets.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import type { MethodResult } from "./explanation.ts";

/** What the families need besides the rows. */
export interface FamilyOptions {
  /** The layers of layer-level methods (names as given). */
  layers: readonly string[];
  batchSize: number;
  seed: number;
  eigenSmooth: boolean;
  signal?: AbortSignal;
}

/** Results without the smoothing flags, which the caller sets. */
export type FamilyResult = Omit<MethodResult, "smoothing">;

/** What {@link runFamilies} returns. */
export interface FamiliesRun {
  /** The rows explained (resolved by the first family when given pending). */
  rows: TargetBatch;
  /** Whether a family's first compiled run picked the targets (no target-picking pass). */
  oneRun: boolean;
  /** Each choice's result, in the order of the choices. */
  results: FamilyResult[];
  /** Passes per row the calls shared beyond the target-picking forward pass. */
  shared: PassCount;
  /** The layers of the layer-level methods. */
  layers: LayerInfo[];
}

/**
 * Every choice's result on `rows`, in the order of `choices`, and the passes per row the calls
 * shared beyond the target-picking forward pass (the CAM family's activation, gradient or
 * relevance run). Pending rows are resolved by the first family's first compiled run where the
 * graph can pick the targets (the runtime's gradientRows, relevanceRows); the later families
 * take the resolved rows.
 */
export async function runFamilies(
  rt: ModelRuntime,
  pending: Rows,
  choices: readonly MethodChoice[],
  options: FamilyOptions,
): Promise<FamiliesRun> {
  let rows = pending;
  let oneRun = false;
  const created = choices.map((c) => ({ choice: c, ...c.method.create(c.options, rt.model) }));
  const results = new Array<FamilyResult>(choices.length);
  const shared: PassCount = { forward: 0, backward: 0 };
  let layers: LayerInfo[] = [];
  const ofFamily = <T>(family: string) =>
    created.flatMap((c, i) =>
      c.family === family ? [{ i, choice: c.choice, method: c.method as T }] : [],
    );

  const cams = ofFamily<CamMethod>("cam");
  if (cams.length > 0) {
    const out = await explainCam(rt, rows, {
      methods: cams.map((c) => c.method),
      layers: options.layers,
      batchSize: options.batchSize,
      seed: options.seed,
      eigenSmooth: options.eigenSmooth,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    layers = out.layers;
    rows = out.rows;
    oneRun ||= out.oneRun;
    // The CAM family counts a gradient run as a forward and a backward pass, and the forward pass
    // that picked the targets (if any) among its own.
    shared.forward += out.sharedPasses.forward - out.sharedPasses.backward - (out.oneRun ? 0 : 1);
    shared.backward += out.sharedPasses.backward;
    out.results.forEach((r, j) => {
      const { i, choice } = cams[j]!;
      results[i] = {
        method: choice.method,
        title: r.method.title,
        options: choice.options,
        raw: r.raw,
        map: r.map,
        signed: false,
        passes: { forward: r.extraForwardPasses, backward: 0 },
        milliseconds: r.milliseconds,
      };
    });
  }

  const pixels = ofFamily<AttributionMethod>("attribution");
  if (pixels.length > 0) {
    const out = await attributeRows(rt, rows, {
      methods: pixels.map((c) => c.method),
      layers: options.layers,
      batchSize: options.batchSize,
      seed: options.seed,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    rows = out.rows;
    oneRun ||= out.oneRun;
    out.results.forEach((r, j) => {
      const { i, choice } = pixels[j]!;
      results[i] = inputLevelResult(choice, r);
    });
  }

  const lrps = ofFamily<LrpMethod>("lrp");
  if (lrps.length > 0) {
    const out = await lrpRows(
      rt,
      rows,
      lrps.map((c) => c.method),
      options.signal,
    );
    rows = out.rows;
    oneRun ||= out.oneRun;
    out.results.forEach((r, j) => {
      const { i, choice } = lrps[j]!;
      results[i] = inputLevelResult(choice, r);
    });
  }
  return { rows: await rt.resolveRows(rows), oneRun, results, shared, layers };
}

/** What the attribution and LRP pipelines return per method, as the service needs it. */
interface InputLevelOutput {
  method: { title: string };
  attribution: FloatTensor;
  map: FloatTensor;
  signed: boolean;
  forwardPasses: number;
  backwardPasses: number;
  completeness?: Completeness;
  milliseconds: number;
}

/** An input-level method's result in the service's vocabulary (its map is the attribution). */
function inputLevelResult(choice: MethodChoice, r: InputLevelOutput): FamilyResult {
  return {
    method: choice.method,
    title: r.method.title,
    options: choice.options,
    raw: [r.attribution],
    map: r.map,
    signed: r.signed,
    passes: { forward: r.forwardPasses, backward: r.backwardPasses },
    ...(r.completeness ? { completeness: r.completeness } : {}),
    milliseconds: r.milliseconds,
  };
}
