// Layer-wise relevance propagation as a pixel map: the relevance at the model input under an LRP
// composite (docs/lrp-rules.md; default epsilon-plus, BatchNorm folded), summed over channels.
// Relevance starts at the logits whatever score the targets name: LRP decomposes a logit.
import type { RelevanceStart } from "../../lrp/relevance.ts";
import type { AttributionMethod } from "../method.ts";
import { reduceChannels } from "../../tensor/maps.ts";

/** Options of the `lrp` pixel-attribution method. */
export interface LrpOptions {
  /** A composite name (COMPOSITES) or one rule for every layer ("epsilon:0.25"). Default epsilon-plus. */
  composite?: string;
  /** The relevance the propagation starts from at the logits. Default "one-hot". */
  start?: RelevanceStart;
}

export function lrp(options: LrpOptions = {}): AttributionMethod {
  const composite = options.composite ?? "epsilon-plus";
  const start = options.start ?? "one-hot";
  return {
    name: "lrp",
    title: `LRP (${composite})`,
    signed: true,
    reduction: "sum",
    async attribute(run) {
      const relevance = await run.relevance(composite, start);
      return { attribution: reduceChannels(relevance, run.input.dims, "sum") };
    },
  };
}
