// Method options declared once: each option of a method is a spec with its type, default,
// range or choices and a help line. The method validates what it is given with it, the CLI builds
// its flags from it, and an evaluation run records the resolved values in its configuration.
import { CamscopeError } from "../errors.ts";

interface SpecBase {
  /** The field of the method's options object, e.g. "steps". */
  readonly name: string;
  /** The command-line flag without dashes (default: `name` in kebab case), e.g. "iscam-steps". */
  readonly flag?: string;
  /** One line for --help. */
  readonly help: string;
}

/** An integer option; `pair` also accepts [a, b] (e.g. an occlusion window's height and width). */
export interface IntegerSpec extends SpecBase {
  readonly kind: "integer";
  readonly default: number;
  readonly min?: number;
  readonly pair?: boolean;
}

/** A finite number option, optionally bounded; `above` excludes the lower bound. */
export interface NumberSpec extends SpecBase {
  readonly kind: "number";
  readonly default: number;
  readonly min?: number;
  readonly above?: number;
  readonly max?: number;
}

/** One of a list of names; `tensor` also accepts a float tensor (an IG baseline). */
export interface ChoiceSpec extends SpecBase {
  readonly kind: "choice";
  readonly default: string;
  readonly choices: readonly string[];
  readonly tensor?: boolean;
}

/** A free-form string, checked by `check` (which throws a CamscopeError naming the problem). */
export interface StringSpec extends SpecBase {
  readonly kind: "string";
  readonly default: string;
  readonly check?: (value: string) => void;
}

/** An on/off option. */
export interface BooleanSpec extends SpecBase {
  readonly kind: "boolean";
  readonly default: boolean;
}

/** A declared method option. */
export type OptionSpec = IntegerSpec | NumberSpec | ChoiceSpec | StringSpec | BooleanSpec;

/** The command-line flag of an option, without dashes. */
export function optionFlag(spec: OptionSpec): string {
  return spec.flag ?? spec.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The range or choices of an option in words, for help and errors, e.g. "a positive integer". */
export function describeOption(spec: OptionSpec): string {
  switch (spec.kind) {
    case "integer": {
      const what =
        spec.min === 1
          ? "a positive integer"
          : spec.min === 0
            ? "a non-negative integer"
            : spec.min !== undefined
              ? `an integer >= ${spec.min}`
              : "an integer";
      return spec.pair ? `${what} (or a pair of them)` : what;
    }
    case "number":
      if (spec.above !== undefined && spec.max !== undefined) {
        return `in (${spec.above}, ${spec.max}]`;
      }
      if (spec.min === 0 && spec.max === undefined) return "a non-negative number";
      if (spec.min !== undefined && spec.max !== undefined) return `in [${spec.min}, ${spec.max}]`;
      return "a finite number";
    case "choice":
      return `one of ${spec.choices.join(", ")}${spec.tensor ? ", or a tensor" : ""}`;
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
  }
}

function isTensor(value: unknown): boolean {
  const t = value as { data?: unknown; dims?: unknown } | null;
  return (
    typeof t === "object" && t !== null && t.data instanceof Float32Array && Array.isArray(t.dims)
  );
}

/** Whether `value` is valid for the spec. */
function valid(spec: OptionSpec, value: unknown): boolean {
  switch (spec.kind) {
    case "integer": {
      const ok = (v: unknown) =>
        typeof v === "number" &&
        Number.isSafeInteger(v) &&
        (spec.min === undefined || v >= spec.min);
      return (
        ok(value) ||
        (spec.pair === true && Array.isArray(value) && value.length === 2 && value.every(ok))
      );
    }
    case "number":
      return (
        typeof value === "number" &&
        Number.isFinite(value) &&
        (spec.min === undefined || value >= spec.min) &&
        (spec.above === undefined || value > spec.above) &&
        (spec.max === undefined || value <= spec.max)
      );
    case "choice":
      return (
        (typeof value === "string" && spec.choices.includes(value)) ||
        (spec.tensor === true && isTensor(value))
      );
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
  }
}

/** A value as an error message shows it. */
function shown(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (Array.isArray(value)) return `[${value.map(shown).join(", ")}]`;
  return String(value);
}

/**
 * The options of a method with every declared default filled in, each given value checked
 * against its spec (a CamscopeError "<what> <name> must be <range>, got <value>" otherwise).
 * Fields that no spec declares are refused, so that a misspelt option never goes unnoticed.
 */
export function resolveOptions<T extends Record<string, unknown>>(
  what: string,
  specs: readonly OptionSpec[],
  given: Readonly<Record<string, unknown>> = {},
): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (given[key] !== undefined && !specs.some((s) => s.name === key)) {
      const known = specs.map((s) => s.name);
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `${what} has no option "${key}"${known.length > 0 ? ` (options: ${known.join(", ")})` : ""}`,
      );
    }
  }
  for (const spec of specs) {
    const value = given[spec.name] ?? spec.default;
    if (!valid(spec, value)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `${what} ${spec.name} must be ${describeOption(spec)}, got ${shown(value)}`,
      );
    }
    if (spec.kind === "string") spec.check?.(value as string);
    out[spec.name] = value;
  }
  return out as T;
}
