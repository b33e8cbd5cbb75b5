// Command lines the cases share: each command on the tiny model, one thread, into the case's
// scratch folder, with the case's own options appended.
import { join } from "node:path";
import { explainOutputProblem } from "../checks.ts";
import { copySampleDataset } from "../fixtures.ts";
import type { CaseEnv, Expectation } from "../types.ts";

/** What an option error must show besides the option: the valid range or choices. */
export const RANGE = /(from \S+ to \S+|at least|at most|one of|choices|between)/i;

export const outDir = (env: CaseEnv) => join(env.scratch, "out");

export function explainArgs(
  env: CaseEnv,
  extra: readonly string[],
  images?: readonly string[],
): string[] {
  const fx = env.fixtures;
  return [
    "explain",
    ...(images ?? [fx.images.star!]),
    "--model",
    fx.tiny,
    "--threads",
    "1",
    "--out",
    outDir(env),
    ...extra,
  ];
}

export function predictArgs(
  env: CaseEnv,
  extra: readonly string[],
  images?: readonly string[],
): string[] {
  const fx = env.fixtures;
  return [
    "predict",
    ...(images ?? [fx.images.star!]),
    "--model",
    fx.tiny,
    "--threads",
    "1",
    ...extra,
  ];
}

export function activationArgs(env: CaseEnv, extra: readonly string[], image?: string): string[] {
  const fx = env.fixtures;
  return [
    "activation",
    image ?? fx.images.star!,
    "--model",
    fx.tiny,
    "--threads",
    "1",
    "--out",
    join(env.scratch, "activation.png"),
    ...extra,
  ];
}

/** evaluate on a copy of the sample dataset (7 records), one cheap method and metric. */
export async function evaluateArgs(
  env: CaseEnv,
  extra: readonly string[],
  data?: string,
): Promise<string[]> {
  const fx = env.fixtures;
  return [
    "evaluate",
    "--model",
    fx.tiny,
    "--data",
    data ?? (await copySampleDataset(join(env.scratch, "data"))),
    "--methods",
    "gradcam",
    "--metrics",
    "pointing",
    "--threads",
    "1",
    "--out",
    join(env.scratch, "run"),
    ...extra,
  ];
}

/** Success whose explain output holds `images` images with finite maps in range. */
export function explained(images = 1): Expectation {
  return { ok: (_observed, env) => explainOutputProblem(outDir(env), images) };
}
