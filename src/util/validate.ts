// Checks of library options, for callers in plain JavaScript as much as TypeScript: a wrong type
// or a value out of range is a CamscopeError (INVALID_ARGUMENT) naming the option, the valid range
// and what was given, before any work starts.
import { CamscopeError } from "../errors.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** A value as a message shows it: strings quoted, other types named. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `a ${typeof value === "function" ? "function" : (value.constructor?.name ?? "object")}`;
}

function invalid(message: string): CamscopeError {
  return new CamscopeError("INVALID_ARGUMENT", message);
}

export interface IntegerRange {
  min: number;
  max?: number;
}

/** An integer in [min, max] (max default: the largest safe integer). */
export function checkInteger(value: unknown, name: string, range: IntegerRange): number {
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (
    typeof value !== "number" ||
    !Number.isSafeInteger(value) ||
    value < range.min ||
    value > max
  ) {
    const bounds =
      max === Number.MAX_SAFE_INTEGER ? `, at least ${range.min}` : ` from ${range.min} to ${max}`;
    throw invalid(`${name} must be an integer${bounds}, got ${describe(value)}`);
  }
  return value;
}

export interface NumberRange {
  min: number;
  max: number;
  /** Whether min itself is excluded. */
  minExclusive?: boolean;
}

/** A finite number in [min, max] (or (min, max]). */
export function checkNumber(value: unknown, name: string, range: NumberRange): number {
  const aboveMin =
    typeof value === "number" && (range.minExclusive ? value > range.min : value >= range.min);
  if (typeof value !== "number" || !Number.isFinite(value) || !aboveMin || value > range.max) {
    const interval = range.minExclusive
      ? `above ${range.min} and at most ${range.max}`
      : `from ${range.min} to ${range.max}`;
    throw invalid(`${name} must be a number ${interval}, got ${describe(value)}`);
  }
  return value;
}

/** One of the names given. */
export function checkChoice<T extends string>(
  value: unknown,
  name: string,
  choices: readonly T[],
): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw invalid(`${name} must be one of: ${choices.join(", ")}; got ${describe(value)}`);
  }
  return value as T;
}

/** An array (of anything; the caller checks the items). */
export function checkArray(value: unknown, name: string): readonly unknown[] {
  if (!Array.isArray(value)) throw invalid(`${name} must be an array, got ${describe(value)}`);
  return value;
}

/** A seed: an integer from 0 up to the largest safe integer. */
export function checkSeed(value: unknown, name = "seed"): number {
  return checkInteger(value, name, { min: 0 });
}

/**
 * A float32 tensor whose dims are positive integers holding exactly its values, with `rank` dims
 * if given.
 */
export function checkFloatTensor(value: unknown, name: string, rank?: number): FloatTensor {
  const t = value as Partial<FloatTensor> | null | undefined;
  if (!t || typeof t !== "object" || !(t.data instanceof Float32Array) || !Array.isArray(t.dims)) {
    throw invalid(
      `${name} must be a tensor { data: Float32Array, dims: number[] }, got ${t && typeof t === "object" && "data" in t ? `data ${describe(t.data)}` : describe(t)}`,
    );
  }
  if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(`${name} dims must be non-negative integers, got [${t.dims.join(", ")}]`);
  }
  if (rank !== undefined && t.dims.length !== rank) {
    throw invalid(`${name} must have ${rank} dims, got [${t.dims.join(", ")}]`);
  }
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (size !== t.data.length) {
    throw invalid(
      `${name} dims [${t.dims.join(", ")}] hold ${size} values, but its data has ${t.data.length}`,
    );
  }
  return t as FloatTensor;
}

/**
 * Work-size limits of the perturbation and path methods: beyond them a run takes hours per image
 * or runs out of memory, which is a typo more often than an experiment.
 */
export const WORK_LIMITS = {
  /** Integrated Gradients steps. */
  steps: 100_000,
  /** SmoothGrad samples. */
  samples: 100_000,
  /** RISE masks. */
  masks: 100_000,
  /** SmoothGrad noise, as a fraction of the input's value range. */
  noise: 100,
} as const;

/** Values given as an option (a baseline tensor) must all be finite. */
export function checkFiniteValues(data: ArrayLike<number>, name: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw invalid(`${name} holds ${data[i]} at index ${i}: every value must be finite`);
    }
  }
}

/** An array of names (method, metric or layer names). */
export function checkNames(value: unknown, what: string): readonly string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw invalid(`${what} must be an array of names, got ${describe(value)}`);
  }
  return value;
}
