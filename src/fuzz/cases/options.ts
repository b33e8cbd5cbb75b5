// Bad options: every option of every command with out-of-range and wrong-type values, and the
// boundary values that must still work (with their results checked).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeNpy } from "../../tensor/npy.ts";
import { cliCase, succeeds } from "../harness.ts";
import type { FuzzCase, Mention } from "../types.ts";
import {
  activationArgs,
  evaluateArgs,
  explainArgs,
  explained,
  predictArgs,
  RANGE,
} from "./common.ts";

const POSITIVE_BAD = ["0", "-1", "1.5", "abc", ""];
const NON_NEGATIVE_BAD = ["-1", "1.5", "abc", ""];
const FRACTION_BAD = ["-0.1", "1.1", "abc", "NaN", ""];
const NUMBER_BAD = ["abc", "NaN", "Infinity", ""];

const label = (value: string) => (value === "" ? "(empty)" : value);

export function optionCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const bad = (
    command: string,
    flag: string,
    value: string,
    args: (extra: string[]) => Parameters<typeof cliCase>[2],
    mentions: Mention[] = [flag, RANGE],
  ) =>
    cases.push(
      cliCase(`option/${command}/${flag}=${label(value)}`, "option", args([flag, value]), {
        error: mentions,
      }),
    );
  const explain = (extra: string[]) => (env: Parameters<typeof explainArgs>[0]) =>
    explainArgs(env, extra);
  const predict = (extra: string[]) => (env: Parameters<typeof predictArgs>[0]) =>
    predictArgs(env, extra);
  const activation = (extra: string[]) => (env: Parameters<typeof activationArgs>[0]) =>
    activationArgs(env, extra);
  const evaluate = (extra: string[]) => (env: Parameters<typeof explainArgs>[0]) =>
    evaluateArgs(env, extra);

  // explain: integer options.
  for (const flag of [
    "--top-k",
    "--batch-size",
    "--steps",
    "--samples",
    "--window",
    "--stride",
    "--masks",
    "--cells",
  ]) {
    for (const value of POSITIVE_BAD) bad("explain", flag, value, explain);
  }
  for (const value of NON_NEGATIVE_BAD) bad("explain", "--seed", value, explain);
  bad("explain", "--seed", "9007199254740993", explain);
  for (const value of ["-0.5", ...NUMBER_BAD]) bad("explain", "--noise", value, explain);
  for (const value of NUMBER_BAD) bad("explain", "--occlusion-value", value, explain);
  for (const value of ["0", "-1", "1048577", ...NUMBER_BAD]) {
    bad("explain", "--memory-budget", value, explain);
  }
  for (const value of ["0", ...FRACTION_BAD]) bad("explain", "--keep-probability", value, explain);
  for (const value of FRACTION_BAD) bad("explain", "--alpha", value, explain);
  for (const value of ["bogus", ""]) bad("explain", "--colormap", value, explain);
  bad("explain", "--score", "bogus", explain);
  bad("explain", "--lrp-start", "bogus", explain);
  // Values that are in range for commander but describe impossible or runaway work.
  for (const [flag, value] of [
    ["--steps", "1000000000"],
    ["--samples", "1000000000"],
    ["--masks", "1000000000"],
    ["--cells", "100000"],
    ["--cells", "17"],
  ]) {
    bad("explain", flag!, value!, (extra) =>
      explain([
        ...extra,
        "--method",
        flag === "--steps" ? "ig" : flag === "--samples" ? "smoothgrad" : "rise",
      ]),
    );
  }
  bad("explain", "--threads", "1000", (extra) => explain(["--method", "gradcam", ...extra]), [
    "--threads",
    RANGE,
  ]);
  for (const value of ["0", "-1", "abc"]) bad("explain", "--threads", value, explain);
  // Names: methods, layers, classes, composites, baselines.
  for (const [value, mentions] of [
    ["bogus", ["bogus"]],
    ["", ["--method"]],
    [",", ["--method"]],
  ] as const) {
    bad("explain", "--method", value, explain, [...mentions]);
  }
  for (const [value, mentions] of [
    ["nope", ["nope"]],
    ["", ["--layer"]],
  ] as const)
    bad("explain", "--layer", value, explain, [...mentions]);
  for (const value of ["nope", "99", "-1", "1.5", ""])
    bad("explain", "--target", value, explain, ["--target"]);
  bad("explain", "--target", "star,ring", explain, ["--target", "2"]);
  cases.push(
    cliCase(
      "option/explain/--target+--top-k",
      "option",
      (env) => explainArgs(env, ["--target", "star", "--top-k", "2"]),
      { error: ["--target", "--top-k"] },
    ),
  );
  for (const value of ["bogus", "epsilon:abc", "alphabeta:1,1"])
    bad("explain", "--composite", value, (extra) => explain(["--method", "lrp", ...extra]), [
      value,
    ]);
  bad("explain", "--baseline", "bogus", (extra) => explain(["--method", "ig", ...extra]), [
    "--baseline",
    "bogus",
  ]);
  cases.push(
    cliCase(
      "option/explain/--baseline=missing.npy",
      "option",
      (env) => explainArgs(env, ["--method", "ig", "--baseline", join(env.scratch, "missing.npy")]),
      { error: ["--baseline", "missing.npy"] },
    ),
    cliCase(
      "option/explain/--baseline=fifo",
      "option",
      (env) => explainArgs(env, ["--method", "ig", "--baseline", env.fixtures.special.fifo]),
      { error: ["--baseline", "fifo.npy"] },
      { timeoutMs: 10_000 },
    ),
    cliCase(
      "option/explain/--baseline=sparse-300m",
      "option",
      (env) => explainArgs(env, ["--method", "ig", "--baseline", env.fixtures.special.sparse]),
      { error: ["--baseline", "sparse.npy"] },
      { timeoutMs: 20_000 },
    ),
    cliCase(
      "option/explain/--baseline=wrong-shape",
      "option",
      async (env) => {
        const path = join(env.scratch, "wrong.npy");
        await writeFile(path, encodeNpy(new Float32Array(12), [3, 2, 2]));
        return explainArgs(env, ["--method", "ig", "--baseline", path]);
      },
      { error: ["--baseline", "3"] },
    ),
    cliCase(
      "option/explain/--baseline=nan",
      "option",
      async (env) => {
        const path = join(env.scratch, "nan.npy");
        await writeFile(path, encodeNpy(new Float32Array(3 * 16 * 16).fill(NaN), [3, 16, 16]));
        return explainArgs(env, ["--method", "ig", "--baseline", path]);
      },
      { error: ["--baseline", /nan|finite/i] },
    ),
  );
  // Occlusion windows that leave pixels covered by no window.
  for (const [window, stride] of [
    ["4", "8"],
    ["4", "100"],
    ["2", "3"],
  ]) {
    cases.push(
      cliCase(
        `option/explain/occlusion-window=${window}-stride=${stride}`,
        "option",
        (env) =>
          explainArgs(env, ["--method", "occlusion", "--window", window!, "--stride", stride!]),
        { error: ["--stride", "--window"] },
      ),
    );
  }
  // Boundary values that must work, results checked.
  const works = (name: string, extra: string[], images = 1) =>
    cases.push(
      cliCase(
        `option/explain/ok/${name}`,
        "option",
        (env) => explainArgs(env, extra),
        explained(images),
      ),
    );
  works("window=stride=8", ["--method", "occlusion", "--window", "8", "--stride", "8"]);
  works("window=3-stride=2", ["--method", "occlusion", "--window", "3", "--stride", "2"]);
  works("window=1000", ["--method", "occlusion", "--window", "1000", "--stride", "1000"]);
  works("steps=1", ["--method", "ig", "--steps", "1"]);
  works("samples=1", ["--method", "smoothgrad,vargrad", "--samples", "1"]);
  works("noise=0", ["--method", "smoothgrad", "--noise", "0", "--samples", "2"]);
  works("keep-probability=1", ["--method", "rise", "--masks", "8", "--keep-probability", "1"]);
  works("cells=16", ["--method", "rise", "--masks", "8", "--cells", "16"]);
  works("alpha=0", ["--alpha", "0"]);
  works("alpha=1", ["--alpha", "1"]);
  works("seed=2^32+1", ["--method", "smoothgrad", "--samples", "2", "--seed", "4294967297"]);
  works("top-k=1e9", ["--top-k", "1000000000"]);
  works("batch-size=1", ["--method", "scorecam", "--batch-size", "1"]);
  works("memory-budget=0.5", ["--method", "ig", "--steps", "4", "--memory-budget", "0.5"]);
  works("method=GRADCAM", ["--method", "GRADCAM"]);
  works("threads=2", ["--threads", "2"]);

  // predict
  for (const value of POSITIVE_BAD) bad("predict", "--top", value, predict);
  for (const value of POSITIVE_BAD) bad("predict", "--batch-size", value, predict);
  for (const value of ["0", "-1", "abc", ""]) bad("predict", "--threads", value, predict);
  bad("predict", "--threads", "1000", predict);
  bad("predict", "--preset", "bogus", predict);
  cases.push(
    cliCase(
      "option/predict/--model=(empty)",
      "option",
      (env) => ["predict", env.fixtures.images.star!, "--model", ""],
      { error: ["model"] },
    ),
    cliCase(
      "option/predict/--model=nope",
      "option",
      (env) => ["predict", env.fixtures.images.star!, "--model", "nope"],
      { error: ["nope"] },
    ),
    cliCase(
      "option/predict/ok/top=1000",
      "option",
      (env) => predictArgs(env, ["--top", "1000", "--json"]),
      {
        ok: (observed) => {
          const top = (
            JSON.parse(observed.kind === "cli" ? observed.stdout : "[]") as {
              top: { probability: number }[];
            }[]
          )[0]?.top;
          if (!top || top.length !== 10) return `expected the 10 classes, got ${top?.length}`;
          return top.every((t) => Number.isFinite(t.probability))
            ? undefined
            : "non-finite probability";
        },
      },
    ),
  );

  // activation
  for (const value of FRACTION_BAD) bad("activation", "--alpha", value, activation);
  bad("activation", "--colormap", "bogus", activation);
  bad("activation", "--layer", "nope", activation, ["nope"]);
  cases.push(
    cliCase(
      "option/activation/ok/colormap=viridis",
      "option",
      (env) => activationArgs(env, ["--colormap", "viridis"]),
      succeeds,
    ),
  );

  // evaluate
  for (const value of POSITIVE_BAD) bad("evaluate", "--limit", value, evaluate);
  for (const value of NON_NEGATIVE_BAD) bad("evaluate", "--seed", value, evaluate);
  for (const value of POSITIVE_BAD) bad("evaluate", "--batch-size", value, evaluate);
  for (const value of NON_NEGATIVE_BAD) bad("evaluate", "--examples", value, evaluate);
  for (const value of POSITIVE_BAD) bad("evaluate", "--sanity-steps", value, evaluate);
  bad("evaluate", "--format", "bogus", evaluate);
  bad("evaluate", "--target", "bogus", evaluate);
  for (const [value, mentions] of [
    ["bogus", ["bogus"]],
    ["", ["--methods"]],
  ] as const)
    bad("evaluate", "--methods", value, evaluate, [...mentions]);
  for (const [value, mentions] of [
    ["bogus", ["bogus"]],
    ["", ["--metrics"]],
  ] as const)
    bad("evaluate", "--metrics", value, evaluate, [...mentions]);
  bad("evaluate", "--layer", "nope", evaluate, ["nope"]);
  bad("evaluate", "--threads", "1000", evaluate);
  return cases;
}
