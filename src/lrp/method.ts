// Layer-wise relevance propagation as a pixel map: the relevance at the model input under an LRP
// composite (docs/lrp-rules.md; default epsilon-plus, BatchNorm folded), summed over channels.
// Relevance starts at the logits whatever score the targets name: LRP decomposes a logit. One
// compiled relevance run per call covers every row.
import { resolveComposite } from "../compiler/lrp/composites.ts";
import { RELEVANCE_STARTS, type RelevanceStart } from "../runtime/relevance.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import { isPending, type Rows, type TargetBatch } from "../runtime/targets.ts";
import { displayMap, reduceChannels } from "../tensor/maps.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { checkFiniteRows } from "../util/finite.ts";
import { resolveOptions, type OptionSpec } from "../util/options.ts";

/** Options of the `lrp` method. */
export interface LrpOptions {
  /** A composite name (COMPOSITES) or one rule for every layer ("epsilon:0.25"). Default epsilon-plus. */
  composite?: string;
  /** The relevance the propagation starts from at the logits. Default "one-hot". */
  start?: RelevanceStart;
}

/** LRP's options, declared once (validation, CLI flags, run configurations). */
export const LRP_OPTIONS: readonly OptionSpec[] = [
  {
    name: "composite",
    kind: "string",
    default: "epsilon-plus",
    // An unknown name lists the valid ones before any image is read.
    check: (name) => void resolveComposite(name),
    placeholder: "name",
    help: "lrp: composite (see docs/lrp-rules.md) or one rule for every layer (epsilon[:eps], zplus, alphabeta[:a,b], gamma[:g], flat, wsquare)",
  },
  {
    name: "start",
    flag: "lrp-start",
    kind: "choice",
    default: "one-hot",
    choices: RELEVANCE_STARTS,
    placeholder: "kind",
    help: "lrp: starting relevance at the logits",
  },
];

/** An LRP pixel method: a composite and a starting relevance. */
export interface LrpMethod {
  /** CLI name, "lrp". */
  readonly name: string;
  /** Display name with the composite, e.g. "LRP (epsilon-plus)". */
  readonly title: string;
  /** The composite (name or one rule). */
  readonly composite: string;
  /** The starting relevance. */
  readonly start: RelevanceStart;
  /** LRP maps take both signs. */
  readonly signed: true;
}

/** The LRP pixel method with its options checked. */
export function lrp(options: LrpOptions = {}): LrpMethod {
  const { composite, start } = resolveOptions<Required<LrpOptions>>("LRP", LRP_OPTIONS, {
    ...options,
  });
  return { name: "lrp", title: `LRP (${composite})`, composite, start, signed: true };
}

/** One LRP method's maps for every target row. */
export interface LrpMaps {
  /** The method. */
  method: LrpMethod;
  /** The input relevance summed over channels, [R, H, W], in the logit's units. */
  attribution: FloatTensor;
  /** The display map, [R, H, W]: attribution / max |attribution|. */
  map: FloatTensor;
  /** LRP maps take both signs. */
  signed: true;
  /** Forward passes per row on other inputs (none). */
  forwardPasses: number;
  /** Relevance runs per row. */
  backwardPasses: number;
  /** Time of the method on the whole batch. */
  milliseconds: number;
}

/**
 * Explains rows with each LRP method: one relevance run each. Pending rows (images and target
 * options) are resolved by the first relevance run where the graph can pick the targets (top-1,
 * given classes), else by a target-picking forward pass.
 */
export async function explainLrp(
  rt: ModelRuntime,
  rows: Rows,
  methods: readonly LrpMethod[],
  signal?: AbortSignal,
): Promise<LrpMaps[]> {
  return (await lrpRows(rt, rows, methods, signal)).results;
}

/**
 * {@link explainLrp}, with the rows it explained: the first method's relevance run resolves
 * pending rows where the graph can pick the targets (ModelRuntime.relevanceRows), else a
 * target-picking pass does.
 */
export async function lrpRows(
  rt: ModelRuntime,
  rows: Rows,
  methods: readonly LrpMethod[],
  signal?: AbortSignal,
): Promise<{ rows: TargetBatch; oneRun: boolean; results: LrpMaps[] }> {
  let resolved: TargetBatch | undefined = isPending(rows) ? undefined : rows;
  let oneRun = false;
  const results: LrpMaps[] = [];
  for (const method of methods) {
    signal?.throwIfAborted();
    const started = performance.now();
    const request = { composite: method.composite, start: method.start };
    const out = await rt.relevanceRows(resolved ?? rows, request);
    oneRun ||= out.oneRun;
    resolved = out.rows;
    const { input, targets } = resolved;
    const [count, , height, width] = input.dims as [number, number, number, number];
    const attribution = reduceChannels(out.result.input!.data, input.dims, "sum");
    checkFiniteRows(attribution, count, `the ${method.name} attribution`, (r) => targets.image[r]!);
    const dims = [count, height, width];
    results.push({
      method,
      attribution: { data: attribution, dims },
      map: { data: displayMap(attribution, count, true), dims },
      signed: true,
      forwardPasses: 0,
      backwardPasses: count > 0 ? 1 : 0,
      milliseconds: performance.now() - started,
    });
  }
  return { rows: resolved ?? (await rt.resolveRows(rows)), oneRun, results };
}
