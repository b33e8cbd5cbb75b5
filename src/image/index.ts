// The image layer's public API: plain TypeScript over typed arrays (preprocessing, resizing,
// colormaps, overlays, grids), which runs in a browser as well. Decoding and PNG encoding need
// Node (sharp) and live in src/io/.
export type { FloatMap, InputTransform, Rgb, RgbImage } from "./types.ts";
export { resizeImage } from "./resample.ts";
export { PREPROCESS_PRESETS, preprocess } from "./preprocess.ts";
export type {
  ChannelOrder,
  PreprocessResult,
  PreprocessSpec,
  PresetName,
  ResizeMode,
  TensorLayout,
} from "./preprocess.ts";
export { mapToOriginal, resizeBilinear, resizeMap } from "./resize.ts";
export type { MapToOriginalOptions } from "./resize.ts";
export { applyColormap, applySignedColormap, COLORMAP_NAMES, colormapTable } from "./colormap.ts";
export type { ColormapName, ColormapOptions, SignedColormapOptions } from "./colormap.ts";
export { clipThreshold, clipToThreshold, DEFAULT_CLIP_PERCENTILE } from "./clip.ts";
export { normalizeMap, overlayHeatmap, overlayOnOriginal } from "./overlay.ts";
export type { OverlayNormalize, OverlayOptions } from "./overlay.ts";
export { drawText, fitText, measureText } from "./text.ts";
export type { DrawTextOptions } from "./text.ts";
export { makeGrid } from "./grid.ts";
export type { ColorBar, GridCell, GridOptions } from "./grid.ts";
