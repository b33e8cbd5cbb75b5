// camscope's library API that runs anywhere: everything of the public API but the edge that reads
// and writes files. src/index.ts adds Node's file adapters (models, images, .npy and PNG files by
// path, datasets); src/browser/index.ts adds onnxruntime-web's backends and the browser's codecs.

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
export { resolveInput } from "./onnx/shapes.ts";
export { inferShapes } from "./engine/probe.ts";
export type { ModelInput } from "./onnx/shapes.ts";
export { ValueShapes } from "./onnx/value-shapes.ts";
export { foldStaticShapes } from "./models/intake/fold-shapes.ts";
export type { FoldedShapes } from "./models/intake/fold-shapes.ts";
export { closeMatches, defaultLayer, listLayers, resolveLayer } from "./onnx/layers.ts";
export type { LayerInfo, LayerLayout } from "./onnx/layers.ts";

// Running models.
export { Engine, ModelSession, Tensor } from "./engine/engine.ts";
export type { EngineOptions, Feeds, OrtTensor, Results } from "./engine/engine.ts";
export type { OrtRuntime, OrtSession, SessionSettings } from "./engine/runtime.ts";

// Model intake, model cards and labels.
export { fitPreset, takeInModel } from "./models/load.ts";
export type { LoadedModel, RawModel, TakeInOptions } from "./models/load.ts";
export type { ExternalDataReader } from "./models/intake/external-data.ts";
export { parseCard } from "./models/card.ts";
export type { CardFile, CardPreprocessing, ModelCard } from "./models/card.ts";
export type { BatchHandling, HeadKind, IntakeReport, Layout } from "./models/intake/index.ts";
export { genericLabels, imagenetLabels } from "./labels/index.ts";

// Images: preprocessing, colormaps, overlays.
export * from "./image/index.ts";
export type { DecodeOptions } from "./io/images.ts";

// The synthetic shapes dataset the bundled models were trained on.
export { generateSample, generateSplit, SYNTHETIC_CLASSES } from "./data/synthetic/generator.ts";
export type {
  Bbox,
  SampleOptions,
  SplitOptions,
  SyntheticObject,
  SyntheticSample,
} from "./data/synthetic/generator.ts";

// The model runtime: forward runs, targets and scores, gradient and relevance runs.
export { ModelRuntime } from "./runtime/runtime.ts";
export type { ForwardResult, GradientRequest, ModelSource, RowsRun } from "./runtime/runtime.ts";
export { classProbabilities, resolveTargets, seedRows, targetScores } from "./runtime/targets.ts";
export type {
  PendingRows,
  Rows,
  ScoreKind,
  TargetBatch,
  TargetOptions,
  Targets,
} from "./runtime/targets.ts";
export { Backward, oneHotSeed } from "./runtime/backward.ts";
export type { BackwardResult, ChosenBackwardResult } from "./runtime/backward.ts";
export type { SeedHead } from "./runtime/seed-head.ts";
export { RELEVANCE_STARTS, startingRelevance } from "./runtime/relevance.ts";
export type { RelevanceRequest, RelevanceRun, RelevanceStart } from "./runtime/relevance.ts";
export { channelsFirst } from "./runtime/layer-view.ts";
export {
  activationBytesPerInput,
  DEFAULT_BATCH_MEMORY_MIB,
  GRADIENT_MEMORY_FACTOR,
  MAX_DEFAULT_BATCH,
  MAX_MEMORY_BUDGET_MIB,
  planBatch,
} from "./runtime/batch-size.ts";
export type { BatchPlan, BatchPlanOptions } from "./runtime/batch-size.ts";
export type { ChannelMaskRun, ChannelMaskStrategy } from "./runtime/channel-masks.ts";
export { gatherRows, sizeOf } from "./tensor/tensor.ts";
export type { FloatTensor } from "./tensor/tensor.ts";
export { decodeNpy, encodeNpy } from "./tensor/npy.ts";

// The backward compiler and its rule sets.
export { compileBackward } from "./compiler/compile.ts";
export type { BackwardSpec, CompiledBackward } from "./compiler/compile.ts";
export type { GraphBuilder } from "./compiler/builder.ts";
export { exactGradient } from "./compiler/rules/index.ts";
export { deconvnet, guidedBackprop } from "./compiler/rules/guided.ts";
export { extendRuleSet, ruleSet } from "./compiler/rule.ts";
export type { OpRule, Rule, RuleContext, RuleSet } from "./compiler/rule.ts";

// The method vocabulary and the explain service.
export {
  ALL_INPUT_METHODS,
  ALL_LAYER_METHODS,
  chooseMethod,
  METHODS,
  methodNamed,
  resolveMethodNames,
} from "./methods/registry.ts";
export type {
  CostShape,
  FamilyMethod,
  MethodChoice,
  MethodDescriptor,
  MethodFamily,
  MethodLevel,
  MethodOptions,
  PassCount,
  SmoothingAdmission,
} from "./methods/registry.ts";
export { describeOption, optionFlag, resolveOptions } from "./util/options.ts";
export type {
  BooleanSpec,
  ChoiceSpec,
  IntegerSpec,
  NumberSpec,
  OptionSpec,
  StringSpec,
} from "./util/options.ts";
export { Explainer } from "./explain/explainer.ts";
export type {
  ExplainedBatch,
  ExplainRequest,
  ImageSource,
  MethodPlan,
  MethodRequest,
  StreamOptions,
} from "./explain/explainer.ts";
export type { Explanation, MethodResult, SmoothingApplied } from "./explain/explanation.ts";
export {
  DEFAULT_RENDER_STYLE,
  displayOf,
  formatScore,
  formatValue,
  renderExplanation,
} from "./explain/render.ts";
export type {
  Display,
  RenderedMap,
  RenderedTarget,
  RenderImage,
  RenderStyle,
} from "./explain/render.ts";
export { prepareBatch } from "./explain/batches.ts";
export type { DecodedImage, FailedImage, PreparedImage } from "./explain/batches.ts";
export { AUGMENTATIONS } from "./explain/smoothing.ts";
export type { Augmentation, NoiseSmoothing } from "./explain/smoothing.ts";

// Class activation maps (the CAM family).
export { explainCam } from "./cam/pipeline.ts";
export type { CamExplanation, CamOptions, MethodMaps } from "./cam/pipeline.ts";
export type { CamMethod, CamRun, MapMethod, PixelMethod, WeightsMethod } from "./cam/method.ts";
export type { RelevanceCamOptions } from "./cam/methods/relevance-cam.ts";
export type {
  ClusterBaseline,
  ClusterCamOptions,
  ClusterMerge,
} from "./cam/methods/cluster-cam.ts";
export type { IsCamOptions, SsCamOptions } from "./cam/methods/score-cam.ts";

// Pixel attribution (saliency, Integrated Gradients, SmoothGrad, occlusion, RISE, ...).
export { explainAttribution } from "./attribution/pipeline.ts";
export type { AttributionMaps, AttributionOptions } from "./attribution/pipeline.ts";
export type {
  AttributionMethod,
  AttributionResult,
  AttributionRun,
  ChannelReduction,
  Completeness,
  FillInput,
} from "./attribution/method.ts";
export type { IntegratedGradientsOptions } from "./attribution/methods/integrated-gradients.ts";
export type { OcclusionOptions } from "./attribution/methods/occlusion.ts";
export type { RiseOptions } from "./attribution/methods/rise.ts";
export type { SmoothGradOptions } from "./attribution/methods/smoothgrad.ts";
export type { Baseline, BaselineKind } from "./attribution/baselines.ts";

// Explanation metrics.
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
export type { InputRegions } from "./image/regions.ts";

// Layer-wise relevance propagation: the LRP method, relevance with conservation totals, rules,
// composites, the BatchNorm canonizer.
export { explainLrp, lrp } from "./lrp/method.ts";
export type { LrpMaps, LrpMethod, LrpOptions } from "./lrp/method.ts";
export { RelevancePropagator } from "./lrp/relevance.ts";
export type { RelevanceOptions, RelevanceResult } from "./lrp/relevance.ts";
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
