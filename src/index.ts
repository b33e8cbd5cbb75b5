// camscope's public API.

export { CamscopeError } from "./errors.ts";
export type { CamscopeErrorCode } from "./errors.ts";

// ONNX models and layers.
export { OnnxModel, valueInfoDims } from "./onnx/model.ts";
export type { GraphIndex } from "./onnx/model.ts";
export { AttributeType, DataType } from "./onnx/proto.ts";
export type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  OperatorSetIdProto,
  TensorProto,
  TensorShapeDimension,
  TypeProto,
  ValueInfoProto,
} from "./onnx/proto.ts";
export type { AttrValue } from "./onnx/attributes.ts";
export { withOutputs } from "./onnx/outputs.ts";
export { inferShapes, resolveInput } from "./onnx/shapes.ts";
export type { ModelInput } from "./onnx/shapes.ts";
export { ValueShapes } from "./onnx/value-shapes.ts";
export { foldStaticShapes } from "./onnx/fold-shapes.ts";
export type { FoldedShapes } from "./onnx/fold-shapes.ts";
export { closeMatches, defaultLayer, listLayers, resolveLayer } from "./onnx/layers.ts";
export type { LayerInfo, LayerLayout } from "./onnx/layers.ts";

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
export type { ModelSource } from "./models/context.ts";
export { parseCard } from "./models/card.ts";
export type { CardFile, CardPreprocessing, ModelCard } from "./models/card.ts";
export type { BatchHandling, HeadKind, IntakeReport, Layout } from "./models/intake/index.ts";
export { genericLabels, imagenetLabels } from "./labels/index.ts";

// Images: decoding, preprocessing, colormaps, overlays, PNG output.
export * from "./image/index.ts";

// The synthetic shapes dataset the bundled models were trained on.
export { generateSample, generateSplit, SYNTHETIC_CLASSES } from "./data/synthetic/generator.ts";
export type {
  Bbox,
  SampleOptions,
  SplitOptions,
  SyntheticObject,
  SyntheticSample,
} from "./data/synthetic/generator.ts";
export { datasetHash } from "./data/synthetic/hash.ts";

// Class activation maps.
export { CamExplainer } from "./cam/explainer.ts";
export type { Explanation, ExplainOptions, MethodMaps } from "./cam/explainer.ts";
export { camMethods, resolveMethods } from "./cam/methods/index.ts";
export type { CamMethod, CamRun, MapMethod, PixelMethod, WeightsMethod } from "./cam/method.ts";
export { explainSmoothed } from "./cam/smoothing.ts";
export { resolveTargets } from "./cam/targets.ts";
export type { ScoreKind, TargetOptions, Targets } from "./cam/targets.ts";
export { Backward, oneHotSeed } from "./compiler/backward-session.ts";
export type { BackwardResult, FloatTensor } from "./compiler/backward-session.ts";
export { compileBackward } from "./compiler/compile.ts";
export type { BackwardSpec, CompiledBackward } from "./compiler/compile.ts";
export type { GraphBuilder } from "./compiler/builder.ts";
export { exactGradient } from "./compiler/rules/index.ts";
export { deconvnet, guidedBackprop } from "./compiler/rules/guided.ts";
export { extendRuleSet, ruleSet } from "./compiler/rule.ts";
export type { OpRule, Rule, RuleContext, RuleSet } from "./compiler/rule.ts";

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
  FillInput,
} from "./attribution/method.ts";
export {
  ALL_ATTRIBUTION,
  ATTRIBUTION_METHOD_NAMES,
  attributionMethods,
  resolveAttributionMethods,
} from "./attribution/methods/index.ts";
export type { AttributionMethodOptions } from "./attribution/methods/index.ts";
export type { IntegratedGradientsOptions } from "./attribution/methods/integrated-gradients.ts";
export type { LrpOptions } from "./attribution/methods/lrp.ts";
export type { OcclusionOptions } from "./attribution/methods/occlusion.ts";
export type { RiseOptions } from "./attribution/methods/rise.ts";
export type { SmoothGradOptions } from "./attribution/methods/smoothgrad.ts";
export type { Baseline, BaselineKind } from "./attribution/baselines.ts";

// Evaluation datasets (ImageNet folders, VOC, COCO, synthetic) and explanation metrics.
export { DATASET_FORMATS, detectFormat, loadDataset, regionsInInput } from "./data/dataset.ts";
export type {
  Box,
  Dataset,
  DatasetFormat,
  DatasetProblem,
  DatasetRecord,
  LoadDatasetOptions,
} from "./data/dataset.ts";
export { deletionInsertion, modelProbability } from "./metrics/deletion-insertion.ts";
export type {
  DeletionInsertionOptions,
  DeletionInsertionResult,
  ScoreFunction,
} from "./metrics/deletion-insertion.ts";
export { averageDrop, winPercent } from "./metrics/average-drop.ts";
export type { AverageDropOptions, AverageDropResult } from "./metrics/average-drop.ts";
export { road } from "./metrics/road.ts";
export type { RoadOptions, RoadResult } from "./metrics/road.ts";
export { energyPointing, pointingGame } from "./metrics/pointing.ts";
export { boxIou, maskIou } from "./metrics/iou.ts";
export { cascadingRandomization, spearman, ssim } from "./metrics/sanity.ts";
export { complexity, sparseness } from "./metrics/complexity.ts";
export type { InputRegions } from "./metrics/maps.ts";

// Layer-wise relevance propagation: rules, composites, the BatchNorm canonizer.
export { RelevancePropagator, RELEVANCE_STARTS, startingRelevance } from "./lrp/relevance.ts";
export type { RelevanceOptions, RelevanceResult, RelevanceStart } from "./lrp/relevance.ts";
export {
  COMPOSITES,
  lrpRuleSet,
  parseRule,
  resolveComposite,
  uniformComposite,
} from "./compiler/lrp/composites.ts";
export type { Composite, LrpRuleSetOptions, RuleChoice } from "./compiler/lrp/composites.ts";
export type { MaxPoolRule } from "./compiler/lrp/layer-rules.ts";
export type { LinearRuleSpec } from "./compiler/lrp/linear-rules.ts";
export { foldBatchNorm } from "./compiler/lrp/canonize.ts";
export { relevanceCam } from "./cam/methods/relevance-cam.ts";
