// NaN and Inf: models whose logits go NaN (always, or only for a dark image) or infinite, inputs
// that overflow, and degenerate but valid inputs (constant images) that must give finite maps.
import { writeFile } from "node:fs/promises";
import sharp from "sharp";
import { encodeNpy } from "../../tensor/npy.ts";
import { join } from "node:path";
import { readRecords } from "../checks.ts";
import { copySampleDataset } from "../fixtures.ts";
import { cliCase } from "../harness.ts";
import type { CaseEnv, FuzzCase } from "../types.ts";
import { activationArgs, evaluateArgs, explainArgs, explained } from "./common.ts";

const NAN = /nan|not finite|non-finite|infinite|\binf\b/i;

function withModel(args: string[], model: string): string[] {
  const i = args.indexOf("--model");
  args[i + 1] = model;
  return args;
}

/** A copy of the sample dataset whose star.png is replaced by a black image. */
async function darkDataset(env: CaseEnv): Promise<string> {
  const json = await copySampleDataset(join(env.scratch, "data"));
  // Same name and size (128 x 128 in the annotations) as the image it replaces.
  await sharp(new Uint8Array(128 * 128 * 3), { raw: { width: 128, height: 128, channels: 3 } })
    .png()
    .toFile(join(env.scratch, "data", "star.png"));
  return json;
}

export function numericCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const m = (env: CaseEnv, name: string) => env.fixtures.models[name]!;
  for (const model of ["nan-logits", "inf-logits"]) {
    cases.push(
      cliCase(
        `numeric/${model}/predict`,
        "numeric",
        (env) => ["predict", env.fixtures.images.star!, "--model", m(env, model)],
        { error: ["star.png", NAN] },
      ),
      cliCase(
        `numeric/${model}/explain-gradcam`,
        "numeric",
        (env) => withModel(explainArgs(env, []), m(env, model)),
        { error: ["star.png", NAN] },
      ),
      cliCase(
        `numeric/${model}/explain-saliency`,
        "numeric",
        (env) => withModel(explainArgs(env, ["--method", "saliency"]), m(env, model)),
        { error: ["star.png", NAN] },
      ),
      cliCase(
        `numeric/${model}/explain-scorecam`,
        "numeric",
        (env) => withModel(explainArgs(env, ["--method", "scorecam"]), m(env, model)),
        { error: ["star.png", NAN] },
      ),
      cliCase(
        `numeric/${model}/evaluate`,
        "numeric",
        async (env) => withModel(await evaluateArgs(env, []), m(env, model)),
        { error: [NAN] },
      ),
    );
  }
  // The activation before the broken head is finite: the overlay is fine.
  cases.push(
    cliCase(
      "numeric/nan-logits/activation",
      "numeric",
      (env) => withModel(activationArgs(env, []), m(env, "nan-logits")),
      { ok: () => undefined },
    ),
  );
  // NaN for the dark image only: it is reported, the others are explained / predicted / stored.
  cases.push(
    cliCase(
      "numeric/nan-when-dark/predict",
      "numeric",
      (env) => [
        "predict",
        env.fixtures.images["black.png"]!,
        env.fixtures.images.star!,
        "--model",
        m(env, "nan-when-dark"),
      ],
      { error: ["black.png", NAN] },
    ),
    cliCase(
      "numeric/nan-when-dark/explain",
      "numeric",
      (env) =>
        withModel(
          explainArgs(env, [], [env.fixtures.images["black.png"]!, env.fixtures.images.star!]),
          m(env, "nan-when-dark"),
        ),
      { error: ["black.png", NAN] },
    ),
    cliCase(
      "numeric/nan-when-dark/explain-good-image",
      "numeric",
      (env) =>
        withModel(
          explainArgs(env, ["--method", "gradcam,scorecam"], [env.fixtures.images.star!]),
          m(env, "nan-when-dark"),
        ),
      explained(1),
    ),
    cliCase(
      "numeric/nan-when-dark/evaluate",
      "numeric",
      async (env) =>
        withModel(
          await evaluateArgs(
            env,
            ["--metrics", "pointing,deletion-insertion"],
            await darkDataset(env),
          ),
          m(env, "nan-when-dark"),
        ),
      {
        ok: async (observed, env) => {
          const records = await readRecords(join(env.scratch, "run"));
          if (records.length !== 7)
            return `${records.length} records stored, expected 7 (one flagged)`;
          const dark = records.find((r) => r.file.endsWith("star.png"));
          const flagged =
            dark &&
            Object.values(dark.values).every((v) => v === null) &&
            dark.notes.some((n) => NAN.test(n));
          if (!flagged)
            return `the dark image's record is not flagged: ${JSON.stringify(dark?.values)} ${JSON.stringify(dark?.notes)}`;
          // The model is NaN on dark inputs, so a metric that darkens the good images (deletion)
          // may have no value for them: noted as such, while the records are not flagged.
          const others = records.filter((r) => r !== dark);
          const bad = others.find(
            (r) =>
              r.flagged !== undefined ||
              !Number.isFinite(r.probability) ||
              !Number.isFinite(r.values.pointing) ||
              Object.entries(r.values).some(
                ([k, v]) => v === null && !r.notes.some((n) => n.startsWith(`${k}:`)),
              ),
          );
          if (bad) return `record ${bad.image} of a good image holds ${JSON.stringify(bad.values)}`;
          if (observed.kind === "cli" && !/star/.test(observed.stderr))
            return "stderr does not name the flagged image";
          return undefined;
        },
      },
    ),
  );
  // Inputs that overflow the model: a huge occlusion value, huge SmoothGrad noise.
  cases.push(
    cliCase(
      "numeric/occlusion-value-3e38",
      "numeric",
      (env) => explainArgs(env, ["--method", "occlusion", "--occlusion-value", "3e38"]),
      { error: ["star.png", NAN] },
    ),
    cliCase(
      "numeric/ig-baseline-3e38",
      "numeric",
      async (env) => {
        const path = join(env.scratch, "huge.npy");
        await writeFile(path, encodeNpy(new Float32Array(3 * 16 * 16).fill(3e38), [3, 16, 16]));
        return explainArgs(env, ["--method", "ig", "--baseline", path]);
      },
      { error: ["star.png", NAN] },
    ),
  );
  // Constant images: degenerate but valid, every method must give finite maps.
  for (const image of ["black.png", "white.png"]) {
    cases.push(
      cliCase(
        `numeric/${image}/all-cam`,
        "numeric",
        (env) => explainArgs(env, ["--method", "all"], [env.fixtures.images[image]!]),
        explained(1),
      ),
      cliCase(
        `numeric/${image}/all-pixel`,
        "numeric",
        (env) =>
          explainArgs(
            env,
            ["--method", "pixel", "--steps", "4", "--samples", "2", "--masks", "8"],
            [env.fixtures.images[image]!],
          ),
        explained(1),
      ),
    );
  }
  cases.push(
    cliCase(
      "numeric/eigen-smooth-black",
      "numeric",
      (env) =>
        explainArgs(
          env,
          ["--method", "gradcam,eigencam", "--eigen-smooth"],
          [env.fixtures.images["black.png"]!],
        ),
      explained(1),
    ),
    cliCase(
      "numeric/aug-smooth-white",
      "numeric",
      (env) =>
        explainArgs(
          env,
          ["--method", "gradcam", "--aug-smooth"],
          [env.fixtures.images["white.png"]!],
        ),
      explained(1),
    ),
    cliCase(
      "numeric/evaluate-black-image",
      "numeric",
      async (env) => {
        return evaluateArgs(
          env,
          ["--metrics", "all", "--sanity-steps", "2", "--methods", "gradcam,eigencam"],
          await darkDataset(env),
        );
      },
      {
        ok: async (_observed, env) => {
          const records = await readRecords(join(env.scratch, "run"));
          const bad = records.find((r) =>
            Object.values(r.values).some((v) => v !== null && !Number.isFinite(v)),
          );
          return records.length === 14 && !bad
            ? undefined
            : `${records.length} records, bad: ${bad?.image}`;
        },
      },
    ),
  );
  return cases;
}
