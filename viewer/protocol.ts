// The messages between the viewer page and its worker. The worker holds the model and the
// decoded images and does all ONNX Runtime work; the page draws. Typed arrays travel as
// transferables, never copied twice.
import type { InputTransform } from "../src/image/types.ts";

/** A file as the page read it. */
export interface FileBytes {
  name: string;
  bytes: Uint8Array;
}

/** Which classes to explain. */
export type TargetChoice =
  { kind: "top1" } | { kind: "class"; index: number } | { kind: "topk"; k: number };

/** One explain run over every open image. */
export interface ExplainRequest {
  methods: string[];
  /** A layer name, or "auto" for the model's default. */
  layer: string;
  target: TargetChoice;
  score: "logit" | "probability";
}

/** Requests, by type; each answers `Replies[type]`. */
export interface Requests {
  init: { wasmPaths: string; threads?: number };
  "open-bundled": { name: string };
  "open-files": { model: FileBytes; card?: FileBytes };
  "add-images": { images: FileBytes[] };
  "clear-images": Record<string, never>;
  explain: ExplainRequest;
}

/** A method as the viewer offers it. */
export interface MethodInfo {
  name: string;
  title: string;
  /** The group it is listed under. */
  family: string;
  /** Whether its maps take both signs (pixel attributions that keep the sign). */
  signed: boolean;
  /** Why it does not apply to the model's default layer, if it does not. */
  notApplicable?: string;
}

export interface ModelInfo {
  name: string;
  bundled: boolean;
  input: { name: string; dims: number[] };
  labels: string[];
  layers: { name: string; op: string; dims: number[]; default: boolean }[];
  methods: MethodInfo[];
  /** What intake changed, one line each. */
  intake: string[];
  /** Where the sessions run and why (WebGPU or WASM). */
  backend: string;
}

export interface Prediction {
  index: number;
  label: string;
  logit: number;
  probability: number;
}

export interface ImageInfo {
  name: string;
  width: number;
  height: number;
  /** The decoded pixels, RGB. */
  rgb: Uint8Array;
  transform: InputTransform;
  top: Prediction[];
}

/** One method's maps for every target row. */
export interface MethodResult {
  method: string;
  title: string;
  /** Pixel attribution (maps in the score's units) rather than a CAM ([0, 1]). */
  pixel: boolean;
  signed: boolean;
  /** Final maps, [rows, H, W] at model-input size: CAM in [0, 1]; pixel maps the display map. */
  map: Float32Array;
  /** Raw maps: a CAM's at layer size [rows, h, w], a pixel method's attribution [rows, H, W]. */
  raw: Float32Array;
  rawDims: [number, number];
  milliseconds: number;
}

export interface ExplainResult {
  /** Model-input map size [H, W]. */
  dims: [number, number];
  layer: string;
  /** The (image, class) pair of each row. */
  targets: { image: number; index: number; label: string; score: number }[];
  score: "logit" | "probability";
  results: MethodResult[];
}

export interface Replies {
  init: { backend: string; threads: number; isolated: boolean; webgpu: string };
  "open-bundled": ModelInfo;
  "open-files": ModelInfo;
  "add-images": ImageInfo[];
  "clear-images": null;
  explain: ExplainResult;
}

export type RequestType = keyof Requests;

/** Page to worker. */
export type RequestMessage = {
  [T in RequestType]: { id: number; type: T; body: Requests[T] };
}[RequestType];

/** Worker to page. */
export type ReplyMessage =
  | { id: number; type: "ok"; value: unknown }
  | { id: number; type: "error"; message: string; code?: string }
  | { id: number; type: "progress"; done: number; total: number; label: string };
