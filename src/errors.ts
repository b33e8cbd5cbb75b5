// One error class for everything a user can get wrong (a bad file, an unknown layer, an op the
// compiler has no rule for), so callers and the CLI can tell user errors from internal bugs.
// Every error the library throws on purpose is a CamscopeError; its code is stable (callers may
// branch on it) and its message is one line naming the file, option or node and the cause.
//
//   MODEL_LOAD        a model file cannot be read, parsed or loaded by ONNX Runtime
//   MODEL_RUN         ONNX Runtime failed running a model (a wrong input, an op failing)
//   IMAGE_DECODE      an image file cannot be read or decoded
//   UNKNOWN_LAYER     a layer name that is not a spatial layer of the model
//   UNKNOWN_MODEL     a model name that is neither bundled nor a path
//   UNSUPPORTED_OP    an op the backward compiler has no rule for
//   INVALID_ARGUMENT  an option out of range or of the wrong type, a bad dataset or run folder
//   INPUT_FILE        an input path that is not a regular file or is over its size limit
//   OUTPUT_WRITE      an output path that cannot be written (a file in the way, read-only,
//                     the disk full)
//   NON_FINITE        NaN or Inf in a model's outputs, activations, gradients or maps
//   RUN_IN_USE        an evaluation run folder another live process is writing
//   RUN_MISMATCH      a run folder made with another configuration or other data
//   DISPOSED          an engine (or a session of it) used after dispose()
//   QUEUE             the job queue (Redis) cannot be reached, or holds something camscope did
//                     not put there

/** What kind of mistake a {@link CamscopeError} reports. */
export type CamscopeErrorCode =
  | "MODEL_LOAD"
  | "MODEL_RUN"
  | "IMAGE_DECODE"
  | "UNKNOWN_LAYER"
  | "UNKNOWN_MODEL"
  | "UNSUPPORTED_OP"
  | "UNSUPPORTED_MODEL"
  | "INVALID_ARGUMENT"
  | "INPUT_FILE"
  | "OUTPUT_WRITE"
  | "NON_FINITE"
  | "RUN_IN_USE"
  | "RUN_MISMATCH"
  | "DISPOSED"
  | "QUEUE";

/**
 * An error in what the caller gave: a file that is not a model or an image, an unknown model,
 * layer or class, an op the backward compiler has no rule for, or an invalid option. The message
 * is one line naming the file, option or node and the cause; anything else thrown is a bug.
 */
export class CamscopeError extends Error {
  /** The kind of mistake, for callers that handle some of them. */
  readonly code: CamscopeErrorCode;
  /** A second line for the CLI: what to do about it (optional). */
  readonly hint: string | undefined;

  constructor(
    code: CamscopeErrorCode,
    message: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(message, options);
    this.name = "CamscopeError";
    this.code = code;
    this.hint = options?.hint;
  }
}
