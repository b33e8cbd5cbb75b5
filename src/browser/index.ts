// camscope's API in a browser (dist/browser/index.js): the portable library (src/portable.ts) on
// onnxruntime-web. What reads or writes files in Node (models, images, datasets, .npy files by
// path; the command line) is not here: files come as bytes or Blobs, models through
// openModelBytes, images through the browser's own codecs (decodeImageBytes, encodePngBytes).

export * from "../portable.ts";

// The browser's edge: onnxruntime-web on WebGPU where it agrees with WASM, models from bytes,
// images through the browser's codecs.
export {
  backendChoices,
  setWasmPaths,
  threadsAvailable,
  wasmThreadCount,
  webGpuUnavailable,
  WEBGPU_TOLERANCE,
} from "../engine/ort-web.ts";
export type { BackendChoice, WebBackend } from "../engine/ort-web.ts";
export { fetchBundledModel, openModelBytes } from "./models.ts";
export type { ModelBytes } from "./models.ts";
export { decodeImageBytes, encodePngBytes, flatten, toImageData } from "./images.ts";
