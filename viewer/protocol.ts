// The messages between the viewer page and its worker. The worker holds the model and the
// decoded images and does all ONNX Runtime work (through the library's Explainer); the page
// draws. Typed arrays travel as transferables, never copied twice.
import type { InputTransform } from "../src/image/types.ts";
import type { MethodFamily, MethodLevel } from "../src/methods/registry.ts";
import type { ScoreKind } from "../src/runtime/targets.ts";

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
  /** Method names of the library's vocabulary (methods/registry.ts), default options. */
  methods: string[];
  /** A layer name, or "auto" for the model's default. */
  layer: string;
  target: TargetChoice;
  score: ScoreKind;
}

/** A method as the viewer offers it (from the library's method registry). */
export interface MethodInfo {
  name: string;
  title: string;
  family: MethodFamily;
  level: MethodLevel;
  /** Whether its final map takes both signs. */
  signed: boolean;
  /** Passes through the model per target with its default options, on this model. */
  passes: number;
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

/** One method's maps for every target row, as the library's MethodResult has them. */
export interface MethodMaps {
  method: string;
  /** Display name with its options (e.g. "LRP (epsilon-plus)"). */
  title: string;
  level: MethodLevel;
  signed: boolean;
  /** Final maps, [rows, H, W] at model-input size: in [-1, 1] if signed, else [0, 1]. */
  map: Float32Array;
  /** Raw maps, [rows, h, w]: a layer-level method's at the layer, an input-level attribution's. */
  raw: Float32Array;
  rawDims: [number, number];
  milliseconds: number;
}

export interface ExplainResult {
  /** Model-input map size [H, W]. */
  dims: [number, number];
  /** The layer of layer-level methods ("" when none ran). */
  layer: string;
  /** The (image, class) pair of each row. */
  targets: { image: number; index: number; label: string; score: number }[];
  score: ScoreKind;
  /** The model has one output unit (a binary classifier). */
  binary: boolean;
  results: MethodMaps[];
}

export interface Replies {
  init: { threads: number; isolated: boolean; webgpu: string };
  "open-bundled": ModelInfo;
  "open-files": ModelInfo;
  "add-images": ImageInfo[];
  "clear-images": null;
  explain: ExplainResult;
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
