// camscope's API in a browser (dist/browser/index.js): the same models, explainers, methods,
// metrics and image functions as in Node, on onnxruntime-web; files come as bytes or Blobs and
// images decode and encode through the browser's codecs. What needs a file system (loading a
// model or a dataset by path, writing files, the command line) is Node's only.

export { CamscopeError } from "../errors.ts";
export type { CamscopeErrorCode } from "../errors.ts";

// ONNX models and layers.
export { OnnxModel, valueInfoDims } from "../onnx/model.ts";
export type { GraphIndex } from "../onnx/model.ts";
export { AttributeType, DataType } from "../onnx/proto.ts";
export { withOutputs } from "../onnx/outputs.ts";
export { inferShapes, resolveInput } from "../onnx/shapes.ts";
export type { ModelInput } from "../onnx/shapes.ts";
export { closeMatches, defaultLayer, listLayers, resolveLayer } from "../onnx/layers.ts";
export type { LayerInfo } from "../onnx/layers.ts";

// Running models: onnxruntime-web, on WebGPU where it agrees with WASM.
export { Engine, ModelSession, Tensor } from "../engine/engine.ts";
export type { EngineOptions, Feeds, OrtTensor, Results } from "../engine/engine.ts";
export {
  backendChoices,
  setWasmPaths,
  threadsAvailable,
  wasmThreadCount,
  webGpuUnavailable,
  WEBGPU_TOLERANCE,
} from "../engine/ort-web.ts";
export type { BackendChoice, WebBackend } from "../engine/ort-web.ts";

// Models from bytes, with their cards.
export { fetchBundledModel, openModelBytes } from "./models.ts";
export type { ModelBytes, OpenModelBytesOptions } from "./models.ts";
export { ModelContext } from "../models/context.ts";
export { parseCard } from "../models/card.ts";
export type { ModelCard } from "../models/card.ts";
export { intake } from "../models/intake/index.ts";
export type { IntakeReport } from "../models/intake/index.ts";
export { genericLabels, imagenetLabels } from "../labels/index.ts";

// Images: browser decoding and PNG encoding, and the platform-free preprocessing and drawing.
export { decodeImageBytes, encodePngBytes, flatten, toImageData } from "./images.ts";
export type { FloatMap, InputTransform, Rgb, RgbImage } from "../image/types.ts";
export type { DecodeOptions } from "../image/decode.ts";
export { resizeImage } from "../image/resample.ts";
export { PREPROCESS_PRESETS, preprocess } from "../image/preprocess.ts";
export type {
  ChannelOrder,
  PreprocessResult,
  PreprocessSpec,
  PresetName,
  ResizeMode,
  TensorLayout,
} from "../image/preprocess.ts";
export { mapToOriginal, resizeBilinear, resizeMap } from "../image/resize.ts";
export type { MapToOriginalOptions } from "../image/resize.ts";
export {
  applyColormap,
  applySignedColormap,
  COLORMAP_NAMES,
  colormapTable,
} from "../image/colormap.ts";
export type { ColormapName, ColormapOptions, SignedColormapOptions } from "../image/colormap.ts";
export { clipThreshold, clipToThreshold, DEFAULT_CLIP_PERCENTILE } from "../image/clip.ts";
export { normalizeMap, overlayHeatmap } from "../image/overlay.ts";
export type { OverlayNormalize, OverlayOptions } from "../image/overlay.ts";
export { drawText, fitText, measureText } from "../image/text.ts";
export { makeGrid } from "../image/grid.ts";
export type { ColorBar, GridCell, GridOptions } from "../image/grid.ts";
export { encodeNpy, decodeNpy } from "../cam/npy.ts";

// Class activation maps.
export { CamExplainer } from "../cam/explainer.ts";
export type { Explanation, ExplainOptions, MethodMaps } from "../cam/explainer.ts";
export { applicableMethods, camMethods, resolveMethods } from "../cam/methods/index.ts";
export type { CamMethod } from "../cam/method.ts";
export { resolveTargets } from "../cam/targets.ts";
export type { ScoreKind, TargetOptions, Targets } from "../cam/targets.ts";
export { compileBackward } from "../compiler/compile.ts";
export type { FloatTensor } from "../compiler/backward-session.ts";

// Pixel attribution and LRP.
export { AttributionExplainer } from "../attribution/explainer.ts";
export type {
  AttributionExplanation,
  AttributionMaps,
  AttributionOptions,
} from "../attribution/explainer.ts";
export {
  ALL_ATTRIBUTION,
  ATTRIBUTION_METHOD_NAMES,
  attributionMethods,
  resolveAttributionMethods,
} from "../attribution/methods/index.ts";
export type { AttributionMethodOptions } from "../attribution/methods/index.ts";
export { COMPOSITES } from "../compiler/lrp/composites.ts";
export { RelevancePropagator } from "../lrp/relevance.ts";

// Metrics that take a model and maps (no dataset files).
export { deletionInsertion } from "../metrics/deletion-insertion.ts";
export { averageDrop } from "../metrics/average-drop.ts";
export { road } from "../metrics/road.ts";
export { energyPointing, pointingGame } from "../metrics/pointing.ts";
export { complexity, sparseness } from "../metrics/complexity.ts";
