// camscope's public API.

export { CamscopeError } from "./errors.ts";
export type { CamscopeErrorCode } from "./errors.ts";

// ONNX models and layers.
export { OnnxModel, valueInfoDims } from "./onnx/model.ts";
export { withOutputs } from "./onnx/outputs.ts";
export { inferShapes, resolveInput } from "./onnx/shapes.ts";
export type { ModelInput } from "./onnx/shapes.ts";
export { closeMatches, defaultLayer, listLayers, resolveLayer } from "./onnx/layers.ts";
export type { LayerInfo } from "./onnx/layers.ts";

// Running models.
export { Engine, ModelSession, Tensor } from "./engine/engine.ts";
export type { EngineOptions, Feeds, OrtTensor, Results } from "./engine/engine.ts";

// Bundled models, model cards and labels.
export {
  BUNDLED_MODELS,
  fitPreset,
  isBundledModel,
  loadModel,
  MODELS_DIR,
} from "./models/registry.ts";
export type { BundledModelName, LoadedModel, LoadModelOptions } from "./models/registry.ts";
export { ModelContext, openModel } from "./models/context.ts";
export { parseCard } from "./models/card.ts";
export type { ModelCard } from "./models/card.ts";
export { genericLabels, imagenetLabels } from "./labels/index.ts";

// Images: decoding, preprocessing, colormaps, overlays, PNG output.
export * from "./image/index.ts";

// The synthetic shapes dataset the bundled models were trained on.
export { generateSample, generateSplit, SYNTHETIC_CLASSES } from "./data/synthetic/generator.ts";
export type {
  SampleOptions,
  SplitOptions,
  SyntheticObject,
  SyntheticSample,
} from "./data/synthetic/generator.ts";
export { datasetHash } from "./data/synthetic/hash.ts";

// Pixel attribution (saliency, Integrated Gradients, SmoothGrad, occlusion, RISE, ...).
export { AttributionExplainer } from "./attribution/explainer.ts";
export type {
  AttributionExplanation,
  AttributionMaps,
  AttributionOptions,
} from "./attribution/explainer.ts";
export type {
  AttributionMethod,
  AttributionResult,
  AttributionRun,
  ChannelReduction,
  Completeness,
} from "./attribution/method.ts";
export {
  ALL_ATTRIBUTION,
  ATTRIBUTION_METHOD_NAMES,
  attributionMethods,
  resolveAttributionMethods,
} from "./attribution/methods/index.ts";
export type { AttributionMethodOptions } from "./attribution/methods/index.ts";
export type { Baseline, BaselineKind } from "./attribution/baselines.ts";
