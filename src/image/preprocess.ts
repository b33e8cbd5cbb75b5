// Turning decoded images into one model input tensor, the way torchvision's standard
// Resize -> CenterCrop -> ToTensor -> Normalize pipeline does for PIL images.
import { CamscopeError } from "../errors.ts";
import { resizeImage } from "./resample.ts";
import type { InputTransform, RgbImage } from "./types.ts";
import { assertRgbImage } from "./types.ts";

/** How an image is brought to the model's input size (see {@link PreprocessSpec.resize}). */
export type ResizeMode = "shorter-crop" | "stretch" | "none";
/** Where the channel axis of the input tensor is. */
export type TensorLayout = "NCHW" | "NHWC";
/** The order of colour channels in the input tensor. */
export type ChannelOrder = "RGB" | "BGR";
type Triple = readonly [number, number, number];

/** How decoded images become a model's input tensor. */
export interface PreprocessSpec {
  /** Model input size [height, width]. */
  size: readonly [number, number];
  /**
   * - "shorter-crop": scale so the shorter side is `resizeTo` (aspect kept), then center-crop `size`
   *   (torchvision Resize(resizeTo) + CenterCrop(size));
   * - "stretch": resize straight to `size`, ignoring aspect (Resize((h, w)));
   * - "none": use the pixels as they are; every image must already be `size`.
   */
  resize: ResizeMode;
  /**
   * Shorter-side length for "shorter-crop". Defaults to floor(max(size) / 0.875), the usual
   * crop fraction (224 -> 256, 299 -> 341).
   */
  resizeTo?: number;
  /** Per-channel mean, in the tensor's channel order (see channelOrder). Default [0, 0, 0]. */
  mean?: readonly [number, number, number];
  /** Per-channel standard deviation, in the tensor's channel order. Default [1, 1, 1]. */
  std?: readonly [number, number, number];
  /** Factor applied to the 0..255 byte before mean/std; default 1/255 (ToTensor). */
  scale?: number;
  /** Where the channel axis is; default "NCHW". */
  layout?: TensorLayout;
  /** Channel order in the tensor; "BGR" suits Caffe-style models. Default "RGB". */
  channelOrder?: ChannelOrder;
  /**
   * Decode images with their embedded ICC profiles converted to sRGB. Default false, as PIL and
   * torchvision decode (see DecodeOptions.colorManagement); preprocess itself does not read it.
   */
  colorManagement?: boolean;
}

const IMAGENET_GEOMETRY = { size: [224, 224], resize: "shorter-crop", resizeTo: 256 } as const;

/**
 * Named preprocessing recipes, after what users know them as. All use the ImageNet geometry
 * (shorter side 256, centre crop 224, NCHW); a model card or `fitPreset` replaces the size with the
 * model's own, and a card can override any field, e.g.
 * `{ "preset": "tf", "size": [299, 299], "resize": "stretch" }`.
 */
export const PREPROCESS_PRESETS: Readonly<Record<PresetName, PreprocessSpec>> = {
  /** torchvision's ImageNet normalisation (Keras applications' "torch" mode is the same). */
  imagenet: { ...IMAGENET_GEOMETRY, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  /** Keras applications' "torch" mode: torchvision's normalisation under its Keras name. */
  torch: { ...IMAGENET_GEOMETRY, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  /**
   * Caffe-style models (the classic ONNX model zoo, Keras "caffe" mode: VGG16/19, ResNet50 v1):
   * BGR channels, bytes 0..255, ImageNet mean subtracted in BGR order, no scaling.
   */
  caffe: {
    ...IMAGENET_GEOMETRY,
    channelOrder: "BGR",
    scale: 1,
    mean: [103.939, 116.779, 123.68],
    std: [1, 1, 1],
  },
  /** Keras applications' "tf" mode (Inception, Xception, MobileNet): bytes / 127.5 - 1. */
  tf: { ...IMAGENET_GEOMETRY, scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  /** Pixels scaled to [0, 1]. */
  unit: { ...IMAGENET_GEOMETRY, mean: [0, 0, 0], std: [1, 1, 1] },
  /** Pixels scaled to [-1, 1] as (x / 255 - 0.5) / 0.5. */
  signed: { ...IMAGENET_GEOMETRY, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};

/**
 * A preprocessing preset: `imagenet` (torchvision's ImageNet mean and std) and its Keras name
 * `torch`, `caffe` (BGR, 0..255, ImageNet mean in BGR), Keras `tf` ([-1, 1]), `unit` ([0, 1]) or
 * `signed` ((x / 255 - 0.5) / 0.5).
 */
export type PresetName = "imagenet" | "torch" | "caffe" | "tf" | "unit" | "signed";

/** A preprocessed batch, from {@link preprocess}. */
export interface PreprocessResult {
  /** The whole batch in one contiguous buffer, laid out as `dims`. */
  tensor: Float32Array;
  /** [N, 3, H, W] for NCHW, [N, H, W, 3] for NHWC. */
  dims: [number, number, number, number];
  /** One per image, in batch order. */
  transforms: InputTransform[];
}

/** A spec with every default filled in and checked. */
interface ResolvedSpec {
  height: number;
  width: number;
  resize: ResizeMode;
  resizeTo: number;
  mean: Triple;
  std: Triple;
  scale: number;
  layout: TensorLayout;
  channelOrder: ChannelOrder;
}

function resolveSpec(spec: PreprocessSpec | PresetName): ResolvedSpec {
  if (typeof spec === "string") {
    if (!Object.hasOwn(PREPROCESS_PRESETS, spec)) {
      const names = Object.keys(PREPROCESS_PRESETS).join(", ");
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Unknown preprocessing preset "${spec}" (valid: ${names})`,
      );
    }
    return resolveSpec(PREPROCESS_PRESETS[spec]);
  }
  const [height, width] = spec.size;
  if (!isPositiveInteger(height) || !isPositiveInteger(width)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Preprocessing size must be two positive integers [h, w], got [${spec.size}]`,
    );
  }
  if (!["shorter-crop", "stretch", "none"].includes(spec.resize)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Unknown resize mode "${spec.resize}" (valid: shorter-crop, stretch, none)`,
    );
  }
  const resizeTo = spec.resizeTo ?? Math.floor(Math.max(height, width) / 0.875);
  if (!isPositiveInteger(resizeTo)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `resizeTo must be a positive integer, got ${resizeTo}`,
    );
  }
  const mean = spec.mean ?? [0, 0, 0];
  const std = spec.std ?? [1, 1, 1];
  if (mean.length !== 3 || std.length !== 3 || !mean.every(Number.isFinite)) {
    throw new CamscopeError("INVALID_ARGUMENT", "mean and std must each have 3 finite values");
  }
  if (!std.every((s) => Number.isFinite(s) && s !== 0)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `std values must be finite and non-zero, got [${std}]`,
    );
  }
  const scale = spec.scale ?? 1 / 255;
  if (!Number.isFinite(scale))
    throw new CamscopeError("INVALID_ARGUMENT", `scale must be finite, got ${scale}`);
  const layout = spec.layout ?? "NCHW";
  if (layout !== "NCHW" && layout !== "NHWC") {
    throw new CamscopeError("INVALID_ARGUMENT", `Unknown layout "${layout}" (valid: NCHW, NHWC)`);
  }
  const channelOrder = spec.channelOrder ?? "RGB";
  if (channelOrder !== "RGB" && channelOrder !== "BGR") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Unknown channel order "${channelOrder}" (valid: RGB, BGR)`,
    );
  }
  return { height, width, resize: spec.resize, resizeTo, mean, std, scale, layout, channelOrder };
}

/**
 * Resizes, crops and normalises a batch of images into one contiguous float tensor.
 *
 * Geometry follows torchvision on PIL images: resizing is Pillow's antialiased bilinear (see
 * resample.ts); for "shorter-crop" the longer side becomes floor(resizeTo * long / short) and the
 * crop offset is round((resized - crop) / 2) with Python's round-half-to-even; a crop larger than
 * the resized image is padded with black as CenterCrop does.
 *
 * Values are ((byte * scale) - mean[c]) / std[c], each step rounded to float32 as PyTorch's
 * float32 ToTensor/Normalize does, so the tensor matches torchvision bit for bit when scale is
 * 1/255.
 */
export function preprocess(
  images: readonly RgbImage[],
  spec: PreprocessSpec | PresetName,
): PreprocessResult {
  const s = resolveSpec(spec);
  const { height: h, width: w } = s;
  const plane = h * w;
  const tensor = new Float32Array(images.length * plane * 3);
  const transforms: InputTransform[] = [];
  // The tensor channel c takes source channel `source[c]`; mean/std are in tensor order.
  const source = s.channelOrder === "RGB" ? [0, 1, 2] : [2, 1, 0];
  const lut = [0, 1, 2].map((c) => byteLookup(s.scale, s.mean[c]!, s.std[c]!));
  // Padding is black: the normalised value of byte 0.
  const pad = lut.map((table) => table[0]!);

  images.forEach((image, n) => {
    assertRgbImage(image, `image ${n}`);
    const { resized, transform } = geometry(image, s, n);
    const batchOffset = n * plane * 3;
    for (let y = 0; y < h; y++) {
      const sy = y + transform.cropTop;
      const rowInside = sy >= 0 && sy < resized.height;
      for (let x = 0; x < w; x++) {
        const sx = x + transform.cropLeft;
        const inside = rowInside && sx >= 0 && sx < resized.width;
        const p = (sy * resized.width + sx) * 3;
        for (let c = 0; c < 3; c++) {
          const value = inside ? lut[c]![resized.data[p + source[c]!]!]! : pad[c]!;
          const index =
            s.layout === "NCHW"
              ? batchOffset + c * plane + y * w + x
              : batchOffset + (y * w + x) * 3 + c;
          tensor[index] = value;
        }
      }
    }
    transforms.push(transform);
  });

  const n = images.length;
  const dims: [number, number, number, number] = s.layout === "NCHW" ? [n, 3, h, w] : [n, h, w, 3];
  return { tensor, dims, transforms };
}

/** Resizes one image per the spec and works out where the model input sits in it. */
function geometry(
  image: RgbImage,
  s: ResolvedSpec,
  index: number,
): { resized: RgbImage; transform: InputTransform } {
  const { width: ow, height: oh } = image;
  let rw: number;
  let rh: number;
  if (s.resize === "none") {
    if (ow !== s.width || oh !== s.height) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `image ${index} is ${ow}x${oh} but resize "none" needs exactly ${s.width}x${s.height} (w x h)`,
      );
    }
    [rw, rh] = [ow, oh];
  } else if (s.resize === "stretch") {
    [rw, rh] = [s.width, s.height];
  } else {
    [rw, rh] = shorterSideSize(ow, oh, s.resizeTo);
  }
  const resized = rw === ow && rh === oh ? image : resizeImage(image, rw, rh);
  const transform: InputTransform = {
    originalWidth: ow,
    originalHeight: oh,
    resizedWidth: rw,
    resizedHeight: rh,
    cropLeft: centerCropOffset(rw, s.width),
    cropTop: centerCropOffset(rh, s.height),
    inputWidth: s.width,
    inputHeight: s.height,
  };
  return { resized, transform };
}

/** torchvision's Resize(int) output size: shorter side = size, longer side truncated. */
export function shorterSideSize(width: number, height: number, size: number): [number, number] {
  if (width <= height) return [size, Math.floor((size * height) / width)];
  return [Math.floor((size * width) / height), size];
}

/**
 * torchvision CenterCrop's offset of the crop inside an image dimension: round-half-even of the
 * centred position, or, when the crop is larger, minus the left/top padding CenterCrop adds.
 */
export function centerCropOffset(imageSize: number, cropSize: number): number {
  if (cropSize > imageSize) return -Math.floor((cropSize - imageSize) / 2);
  return roundHalfEven((imageSize - cropSize) / 2);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Normalised float32 value for every byte value of one channel. */
function byteLookup(scale: number, mean: number, std: number): Float32Array {
  const table = new Float32Array(256);
  const m = Math.fround(mean);
  const sd = Math.fround(std);
  for (let v = 0; v < 256; v++) {
    // Each operation is rounded to float32 the way torch evaluates x.div(255).sub(m).div(s).
    const scaled = Math.fround(v * scale);
    table[v] = Math.fround(Math.fround(scaled - m) / sd);
  }
  return table;
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}
