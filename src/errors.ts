// One error class for everything a user can get wrong (a bad file, an unknown layer, an op the
// compiler has no rule for), so callers and the CLI can tell user errors from internal bugs.

/** What kind of mistake a {@link CamscopeError} reports. */
export type CamscopeErrorCode =
  | "MODEL_LOAD"
  | "IMAGE_DECODE"
  | "UNKNOWN_LAYER"
  | "UNKNOWN_MODEL"
  | "UNSUPPORTED_OP"
  | "UNSUPPORTED_MODEL"
  | "INVALID_ARGUMENT";

/**
 * An error in what the caller gave: a file that is not a model or an image, an unknown model,
 * layer or class, an op the backward compiler has no rule for, or an invalid option. The message
 * is one line naming the file, option or node and the cause; anything else thrown is a bug.
 */
export class CamscopeError extends Error {
  /** The kind of mistake, for callers that handle some of them. */
  readonly code: CamscopeErrorCode;

  constructor(code: CamscopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CamscopeError";
    this.code = code;
  }
}
