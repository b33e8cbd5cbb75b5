// The pixel-attribution pipeline on images whose targets the runtime resolves first.
import type { ModelRuntime } from "../../runtime/runtime.ts";
import type { TargetBatch, TargetOptions } from "../../runtime/targets.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";
import { explainAttribution, type AttributionMaps, type AttributionOptions } from "../pipeline.ts";

/** Options of {@link pixelExplain}: the pipeline's, and which targets the runtime resolves. */
export interface PixelExplainOptions extends AttributionOptions {
  target?: TargetOptions;
}

/** Targets resolved by the runtime (one forward pass), then every method's attribution. */
export async function pixelExplain(
  rt: ModelRuntime,
  images: FloatTensor,
  options: PixelExplainOptions,
): Promise<TargetBatch & { results: AttributionMaps[] }> {
  const rows = await rt.targets(images, options.target);
  return { ...rows, results: await explainAttribution(rt, rows, options) };
}
