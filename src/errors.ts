// One error class for everything a user can get wrong (a bad file, an unknown layer, an op the
// compiler has no rule for), so callers and the CLI can tell user errors from internal bugs.

export type CamscopeErrorCode =
  | "MODEL_LOAD"
  | "IMAGE_DECODE"
  | "UNKNOWN_LAYER"
  | "UNKNOWN_MODEL"
  | "UNSUPPORTED_OP"
  | "UNSUPPORTED_MODEL"
  | "INVALID_ARGUMENT";

export class CamscopeError extends Error {
  readonly code: CamscopeErrorCode;

  constructor(code: CamscopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CamscopeError";
    this.code = code;
  }
}
