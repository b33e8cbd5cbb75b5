// Parsers for numeric command-line options: each rejects a value outside its range with the range
// in the message, which commander prints as one line naming the option:
//   error: option '--steps <n>' argument '0' is invalid: must be an integer from 1 to 100000
// and the limits that depend on the machine (threads).
import { availableParallelism } from "node:os";
import { InvalidArgumentError } from "commander";
import { CamscopeError } from "../errors.ts";
import { WORK_LIMITS } from "../util/validate.ts";

function parseNumber(value: string): number {
  // Number("") and Number("  ") are 0: an empty value is not a number.
  return value.trim() === "" ? NaN : Number(value);
}

/** An integer option from `min` to `max`. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const range =
    max === Number.MAX_SAFE_INTEGER
      ? `an integer, at least ${min}`
      : `an integer from ${min} to ${max}`;
  return (value) => {
    const n = parseNumber(value);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be ${range}`);
    return n;
  };
}

/** A finite number option from `min` to `max` (above `min` when `minExclusive`). */
export function numberOption(
  min: number,
  max: number,
  options: { minExclusive?: boolean } = {},
): (value: string) => number {
  const range = options.minExclusive
    ? `a number above ${min} and at most ${max}`
    : `a number from ${min} to ${max}`;
  return (value) => {
    const n = parseNumber(value);
    const above = options.minExclusive ? n > min : n >= min;
    if (!Number.isFinite(n) || !above || n > max)
      throw new InvalidArgumentError(`must be ${range}`);
    return n;
  };
}

export const positiveInt = intOption(1);
export const nonNegativeInt = intOption(0);
export const unitInterval = numberOption(0, 1);
/** Any finite number (values that overflow the model are caught as NaN/Inf later). */
export const finiteNumber = numberOption(-Number.MAX_VALUE, Number.MAX_VALUE);

/** Work-size limits (see WORK_LIMITS), and the most threads --force-threads allows. */
export const LIMITS = { ...WORK_LIMITS, threads: 1024 } as const;

/**
 * --threads within the machine's cores (more threads than cores only slow ONNX Runtime down,
 * by orders of magnitude at hundreds), unless forced.
 */
export function checkThreads(threads: number | undefined, force: boolean | undefined): void {
  if (threads === undefined) return;
  const cores = availableParallelism();
  const max = force ? LIMITS.threads : cores;
  if (threads > max) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--threads ${threads} is out of range: must be an integer from 1 to ${max}${force ? "" : ` (this machine's cores)`}`,
      force ? {} : { hint: "pass --force-threads to run more threads than cores" },
    );
  }
}
