// The pixel-attribution pipeline on images whose targets it resolves.
import type { ModelRuntime } from "../../runtime/runtime.ts";
import type { TargetBatch, TargetOptions } from "../../runtime/targets.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";
import { attributeRows, type AttributionMaps, type AttributionOptions } from "../pipeline.ts";

/** Options of {@link pixelExplain}: the pipeline's, and which targets the runtime resolves. */
export interface PixelExplainOptions extends AttributionOptions {
  target?: TargetOptions;
}

/**
 * Every method's attribution of images, the targets resolved by the first method's gradient run
 * where the graph can pick them (else by a forward pass first).
 */
export async function pixelExplain(
  rt: ModelRuntime,
  images: FloatTensor,
  options: PixelExplainOptions,
): Promise<TargetBatch & { results: AttributionMaps[] }> {
  const pending = { pending: images, ...(options.target ? { target: options.target } : {}) };
  const out = await attributeRows(rt, pending, options);
  return { ...out.rows, results: out.results };
}
