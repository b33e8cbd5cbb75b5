// The onnxruntime-node binding: native ONNX Runtime on the CPU (or another provider named in the
// engine options). The only module that imports onnxruntime-node.
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import type { OrtRuntime } from "./runtime.ts";

/** onnxruntime-node as an {@link OrtRuntime}. */
export const runtime: OrtRuntime = {
  name: "onnxruntime-node",
  Tensor: ort.Tensor,
  cores: () => availableParallelism(),
  createSession: (_model, bytes, settings) =>
    ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: settings.optimization,
      // Warnings (e.g. unused initializers after optimisation) are noise to camscope's users.
      logSeverityLevel: 3,
      executionProviders: [...(settings.executionProviders ?? ["cpu"])],
      ...(settings.threads ? { intraOpNumThreads: settings.threads, interOpNumThreads: 1 } : {}),
      // Session config entries (onnxruntime_session_options_config_keys.h); ONNX Runtime's
      // threads spin unless told "0".
      ...(settings.spinning
        ? {}
        : {
            extra: {
              session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } },
            },
          }),
    }),
};
