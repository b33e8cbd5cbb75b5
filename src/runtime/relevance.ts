// How layer-wise relevance propagation starts at the logits (docs/lrp-rules.md, "Starting
// relevance"); the runtime seeds its compiled relevance graphs with these rows.
import type { Composite } from "../compiler/lrp/composites.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { seedRows, type Targets } from "./targets.ts";

/** How relevance starts at the logits (docs/lrp-rules.md, "Starting relevance"). */
export type RelevanceStart = "one-hot" | "contrastive";

/** Every {@link RelevanceStart}. */
export const RELEVANCE_STARTS: readonly RelevanceStart[] = ["one-hot", "contrastive"];

/**
 * Starting relevance rows [N, units]: 1 at each row's class, and for "contrastive" -1/units at the
 * other classes. A binary (one-unit) model starts from +1 or -1 on its unit, as its gradient does.
 */
export function startingRelevance(
  targets: Pick<Targets, "classes" | "binary">,
  units: number,
  start: RelevanceStart,
): Float32Array {
  if (targets.binary) return seedRows(targets, units);
  const seed = new Float32Array(targets.classes.length * units);
  if (start === "contrastive") seed.fill(-1 / units);
  targets.classes.forEach((c, i) => (seed[i * units + c] = 1));
  return seed;
}

/** What {@link ModelRuntime.relevance} propagates. */
export interface RelevanceRequest {
  /** A composite, a composite's name (COMPOSITES) or a rule applied to every layer ("epsilon:0.1"). */
  composite: Composite | string;
  /** The starting relevance at the logits. Default "one-hot". */
  start?: RelevanceStart;
  /** Values to return relevance at besides the input ("auto" is the default CAM layer). */
  layers?: readonly string[];
  /** Also return the relevance at the model input (default true). */
  input?: boolean;
}

/** What {@link ModelRuntime.relevance} returns: one compiled run for the whole batch. */
export interface RelevanceRun {
  /** Logits of each row, [N, units]. */
  logits: FloatTensor;
  /** The starting relevance, [N, units]. */
  start: Float32Array;
  /** Relevance at the model input [N, C, H, W] (absent when not requested). */
  input?: FloatTensor;
  /** Relevance at each requested layer and the layer's activations, by layer name. */
  layers: Map<
    string,
    {
      /** Relevance at the layer, [N, ...]. */
      relevance: FloatTensor;
      /** The layer's activations, [N, ...]. */
      activations: FloatTensor;
    }
  >;
}
