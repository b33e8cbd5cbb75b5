// camscope's public API in Node: the portable library (src/portable.ts) and the file adapters at
// its edge.

export * from "./portable.ts";

// Bundled models and model files.
export {
  BUNDLED_MODELS,
  isBundledModel,
  loadModel,
  MODELS_DIR,
  openModel,
  readOnnxModel,
} from "./io/models.ts";
export type { BundledModelName, LoadModelOptions } from "./io/models.ts";

// Image and array files: decoding with ICC handling, PNG and .npy output.
export { decodeImage, ImageDecodeError, readImages } from "./io/images.ts";
export type { ReadImagesOptions } from "./io/images.ts";
export { encodePng, writePng } from "./io/png.ts";

export { readNpy, writeNpy } from "./io/npy.ts";

// Evaluation datasets (ImageNet folders, VOC, COCO, synthetic).
export { datasetHash } from "./data/synthetic/hash.ts";
export { DATASET_FORMATS, detectFormat, loadDataset, regionsInInput } from "./data/dataset.ts";
export type {
  Box,
  Dataset,
  DatasetFormat,
  DatasetProblem,
  DatasetRecord,
  LoadDatasetOptions,
} from "./data/dataset.ts";
