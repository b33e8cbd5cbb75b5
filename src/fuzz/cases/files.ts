// Bad models and bad images, through every command that reads them: broken files must give one
// line naming the file; odd but valid images must be explained with finite maps.
import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { cliCase, succeeds } from "../harness.ts";
import type { CaseEnv, FuzzCase } from "../types.ts";
import {
  activationArgs,
  evaluateArgs,
  explainArgs,
  explained,
  outDir,
  predictArgs,
} from "./common.ts";

/** Files that block or never end: a FIFO or /dev/zero hang a reader that does not check. */
const SLOW_TO_FAIL = new Set(["fifo", "dev-zero", "fifo.png"]);

const BAD_MODELS = [
  "empty",
  "truncated-10",
  "truncated-50",
  "truncated-99",
  "random-100",
  "random-10k",
  "random-1m",
  "text",
  "json",
  "png",
  "ghost-input",
  "opset-99",
  "two-inputs",
  "unknown-op",
  "int64-input",
  "dir",
  "fifo",
  "sparse-2.5g",
  "dev-zero",
  "dev-null",
  "missing",
];

const BAD_IMAGES = [
  "empty.png",
  "text.png",
  "random.png",
  "truncated.png",
  "truncated.jpg",
  "header-only.png",
  "bomb.png",
  "svg.png",
  "star.gif",
  "star.tiff",
  "dir.png",
  "fifo.png",
  "sparse-300m.png",
  "dev-zero",
  "dev-null",
  "missing.png",
];

const ODD_IMAGES = [
  "star.jpg",
  "star-png-named.jpg",
  "star.webp",
  "cmyk.jpg",
  "star16.png",
  "black.png",
  "white.png",
  "one-pixel.png",
  "wide.png",
  "tall.png",
  "gray.png",
  "rgba.png",
];

/** How an error names the file: its base name (a device by its whole path). */
function named(path: string): string {
  return path.startsWith("/dev/") ? path : basename(path);
}

export function fileCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const name of BAD_MODELS) {
    const options = SLOW_TO_FAIL.has(name) ? { timeoutMs: 10_000 } : {};
    const model = (env: CaseEnv) => env.fixtures.models[name]!;
    const error = (env: CaseEnv) => ({ error: [named(model(env))] });
    const commands: [string, (env: CaseEnv) => string[]][] = [
      ["predict", (env) => ["predict", env.fixtures.images.star!, "--model", model(env)]],
      ["layers", (env) => ["layers", "--model", model(env)]],
      [
        "explain",
        (env) => [
          "explain",
          env.fixtures.images.star!,
          "--model",
          model(env),
          "--out",
          outDir(env),
        ],
      ],
      [
        "activation",
        (env) => [
          "activation",
          env.fixtures.images.star!,
          "--model",
          model(env),
          "--out",
          `${outDir(env)}.png`,
        ],
      ],
    ];
    for (const [command, args] of commands) {
      cases.push(cliCase(`model/${name}/${command}`, "model", args, error, options));
    }
  }
  // A graph with no 4-D activation: predicting works, explaining names the missing layers.
  cases.push(
    cliCase(
      "model/flat-classifier/predict",
      "model",
      (env) => [
        "predict",
        env.fixtures.images.star!,
        "--model",
        env.fixtures.models["flat-classifier"]!,
      ],
      succeeds,
    ),
    cliCase(
      "model/flat-classifier/explain",
      "model",
      (env) => [
        "explain",
        env.fixtures.images.star!,
        "--model",
        env.fixtures.models["flat-classifier"]!,
        "--out",
        outDir(env),
      ],
      { error: ["flat-classifier", /layer|spatial/i] },
    ),
  );

  for (const name of BAD_IMAGES) {
    const options = SLOW_TO_FAIL.has(name) || name === "dev-zero" ? { timeoutMs: 10_000 } : {};
    const image = (env: CaseEnv) => env.fixtures.images[name]!;
    // The file as the error must name it (fixture names are not always file names).
    const error = (env: CaseEnv) => ({ error: [named(image(env))] });
    cases.push(
      cliCase(
        `image/${name}/predict`,
        "image",
        (env) => predictArgs(env, [], [image(env)]),
        error,
        options,
      ),
      cliCase(
        `image/${name}/activation`,
        "image",
        (env) => activationArgs(env, [], image(env)),
        error,
        options,
      ),
      // With a good image beside it: the bad one is named and skipped, the good one explained.
      cliCase(
        `image/${name}/explain`,
        "image",
        (env) => explainArgs(env, [], [image(env), env.fixtures.images.star!]),
        (env) => ({ error: [named(image(env)), "1 of 2"] }),
        options,
      ),
    );
  }
  for (const name of ODD_IMAGES) {
    cases.push(
      cliCase(
        `image/${name}/explain-ok`,
        "image",
        (env) => explainArgs(env, ["--method", "gradcam,saliency"], [env.fixtures.images[name]!]),
        explained(1),
      ),
    );
  }
  cases.push(
    cliCase(
      "image/odd/predict-ok",
      "image",
      (env) =>
        predictArgs(
          env,
          [],
          ODD_IMAGES.map((n) => env.fixtures.images[n]!),
        ),
      succeeds,
    ),
    cliCase(
      "image/missing/evaluate-all",
      "dataset",
      async (env) => {
        const args = await evaluateArgs(env, []);
        for (const n of ["star", "arrow", "ring", "heart", "cross", "heart-and-square"])
          await rm(join(env.scratch, "data", `${n}.png`));
        return args;
      },
      { error: ["annotations.json"] },
    ),
  );
  return cases;
}
