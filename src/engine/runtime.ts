// What the engine needs from an ONNX Runtime binding, so the same Engine and ModelSession run on
// onnxruntime-node in Node (ort-node.ts) and on onnxruntime-web in a browser (ort-web.ts). The
// engine imports ort-node.ts; the browser build swaps that module for ort-web.ts
// (scripts/browser/build.ts), so no other module names a runtime package. The types come from
// onnxruntime-common, which both runtimes implement.
import type { InferenceSession, Tensor, TensorConstructor } from "onnxruntime-common";
import type { OnnxModel } from "../onnx/model.ts";

/** An ONNX Runtime tensor, as session runs take and return them. */
export type OrtTensor = Tensor;
/** What the engine uses of an ONNX Runtime inference session. */
export type OrtSession = Pick<InferenceSession, "run" | "release" | "inputNames" | "outputNames">;
/** Options of one session run. */
export type OrtRunOptions = InferenceSession.RunOptions;

/** How a binding creates a session, from the engine's options. */
export interface SessionSettings {
  /** ONNX Runtime graph optimisation level. */
  optimization: "disabled" | "basic" | "extended" | "all";
  /** Intra-op threads (Node: per session; web: the WASM thread pool, fixed at first use). */
  threads?: number;
  /** Execution providers in order of preference; each binding says which it knows. */
  executionProviders?: readonly string[];
  /**
   * Whether idle ONNX Runtime threads spin (busy-wait) for the next parallel section or sleep;
   * see EngineOptions.spinning. Bindings without such a setting ignore it.
   */
  spinning: boolean;
}

/** One ONNX Runtime binding: its tensor class, its cores and how it opens a session. */
export interface OrtRuntime {
  /** The npm package, for messages ("onnxruntime-node", "onnxruntime-web"). */
  readonly name: string;
  /** The binding's tensor class, to build feeds. */
  readonly Tensor: TensorConstructor;
  /** Cores available to this process or page. */
  cores(): number;
  /**
   * A session of `model` (whose serialised form is `bytes`). ONNX Runtime's own errors are
   * thrown as they are; the engine names the model.
   */
  createSession(
    model: OnnxModel,
    bytes: Uint8Array,
    settings: SessionSettings,
  ): Promise<OrtSession>;
}
