// Every pixel-attribution method against an independent float64 PyTorch implementation of its
// definition (scripts/reference/make_attribution_fixtures.py) on the three CAM fixture models
// (ResNet BasicBlock, VGG-16-BN, MobileNetV2 at small widths), with explicit target classes. The
// random methods draw from the same generator streams (ported to Python), so the comparison is
// exact. Runs use an odd batch size so that chunks mix the steps, samples and windows of rows.
//
// Rows where float32 may legitimately differ more than 1e-4 are flagged by the fixture, with the
// reason, and held to looser bounds (as in src/cam/reference.test.ts).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { ScoreKind } from "../runtime/targets.ts";
import { Engine } from "../engine/engine.ts";
import { type ModelRuntime } from "../runtime/runtime.ts";
import { compressedFloats as floats, rowRelative } from "../testing/fixture-encoding.ts";
import type { Baseline } from "./baselines.ts";
import { pixelExplain } from "./testing/runs.ts";
import type { AttributionMethod } from "./method.ts";
import { attributionInstances } from "../methods/testing/instances.ts";
import { openModel } from "../io/models.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, "fixtures");
const REPO = join(HERE, "..", "..");

/** Tolerance of a row that no float32 hazard was found for (max |a - b| / max |b|). */
const RELATIVE = 1e-4;
/** A row whose float32 PyTorch run already deviates: ROUNDING_FACTOR x that, at least the floor. */
const ROUNDING_FACTOR = 10;
const ROUNDING_FLOOR = 1e-3;
/** A row where an evaluated input lies near a ReLU kink or max-pool tie (another branch). */
const BRANCH_BOUND = 5e-2;
const BATCH_SIZE = 7;

interface FixtureCase {
  name: string;
  method: string;
  options: Record<string, unknown>;
  score: ScoreKind;
  attribution: string;
  unstable: boolean[];
  float32Deviation: number[];
  unstableReasons?: string[];
  nearBranch?: boolean[];
  baselineScores?: number[];
  gap?: number[];
}

interface Fixture {
  name: string;
  model: string;
  input: { name: string; dims: [number, number, number, number] };
  classes: number[];
  seed: number;
  inputData: string;
  logits: string;
  customBaseline?: string;
  cases: FixtureCase[];
}

/** The method a case describes, built with the case's options. */
function methodFor(c: FixtureCase, fx: Fixture, ctx: ModelRuntime): AttributionMethod {
  const o = c.options;
  const options: Record<string, Record<string, unknown>> = {};
  if (c.method === "ig") {
    let baseline: Baseline = o.baseline as Baseline;
    if (o.baseline === "custom") {
      baseline = { data: floats(fx.customBaseline!), dims: fx.input.dims.slice(1) };
    }
    options.ig = { steps: o.steps as number, baseline };
  }
  if (["smoothgrad", "smoothgrad-sq", "vargrad"].includes(c.method)) {
    options[c.method] = { samples: o.samples as number, noise: o.noise as number };
  }
  if (c.method === "occlusion") {
    options.occlusion = {
      window: o.window as [number, number],
      stride: o.stride as [number, number],
      value: o.value as number,
    };
  }
  if (c.method === "rise") {
    const { masks, cells, probability } = o as Record<string, number>;
    options.rise = { masks: masks!, cells: cells!, probability: probability! };
  }
  return attributionInstances(ctx.model, [c.method], options)[0]!;
}

function bound(c: FixtureCase, row: number): { limit: number; why: string } {
  if (!c.unstable[row]) return { limit: RELATIVE, why: "" };
  const why = c.unstableReasons?.[row] ?? "flagged unstable";
  if (c.nearBranch?.[row]) return { limit: BRANCH_BOUND, why };
  return { limit: Math.max(ROUNDING_FLOOR, ROUNDING_FACTOR * c.float32Deviation[row]!), why };
}

const fixtureFiles = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .sort();

it("the attribution reference fixtures are present", () => {
  assert.deepEqual(
    fixtureFiles,
    ["mobilenet_v2.json", "resnet_basic.json", "vgg16_bn.json"],
    "regenerate with /usr/bin/python3 scripts/reference/make_attribution_fixtures.py",
  );
});

for (const file of fixtureFiles) {
  const fx = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as Fixture;

  describe(`pixel attribution on ${fx.name} matches the float64 PyTorch reference`, () => {
    let engine: Engine;
    let ctx: ModelRuntime;
    const images = () => ({ data: floats(fx.inputData), dims: [...fx.input.dims] });

    before(async () => {
      engine = new Engine({ threads: 1 });
      ctx = await openModel(join(REPO, fx.model), engine, { preprocessing: "unit", card: false });
    });
    after(async () => {
      await engine.dispose();
    });

    // One explain() per score kind runs every method, sharing gradient passes as it would for a user.
    for (const score of ["logit", "probability"] as const) {
      const cases = fx.cases.filter((c) => c.score === score);
      if (cases.length === 0) continue;
      it(`${cases.length} methods (score: ${score})`, async (t) => {
        const rows = fx.input.dims[0];
        const explanation = await pixelExplain(ctx, images(), {
          methods: cases.map((c) => methodFor(c, fx, ctx)),
          target: { classes: fx.classes, score },
          seed: fx.seed,
          batchSize: BATCH_SIZE,
        });
        assert.deepEqual(explanation.targets.classes, fx.classes);
        const failures: string[] = [];
        cases.forEach((c, m) => {
          const result = explanation.results[m]!;
          assert.deepEqual(result.attribution.dims, [rows, ...fx.input.dims.slice(2)], c.name);
          const errors = rowRelative(result.attribution.data, floats(c.attribution), rows);
          const summary = errors.map((e, r) => {
            const { limit, why } = bound(c, r);
            if (!(e < limit)) {
              failures.push(
                `${c.name} row ${r}: relative error ${e.toExponential(3)} (bound ${limit})${why ? ` [flagged: ${why}]` : ""}`,
              );
            }
            return `#${r} ${e.toExponential(2)}${why ? ` (flagged, bound ${limit}: ${why})` : ""}`;
          });
          t.diagnostic(`${c.name}: ${summary.join("; ")}`);
          if (c.gap) {
            const completeness = result.completeness!;
            for (let r = 0; r < rows; r++) {
              const expected = c.baselineScores![r]!;
              const scale = Math.abs(explanation.scores[r]!) + Math.abs(expected);
              const scoreError = Math.abs(completeness.baselineScores[r]! - expected);
              const gapError = Math.abs(completeness.gap[r]! - c.gap[r]!);
              if (!(scoreError <= RELATIVE * scale) || !(gapError <= RELATIVE * scale)) {
                failures.push(
                  `${c.name} row ${r}: f(x') ${completeness.baselineScores[r]} vs ${expected}, gap ${completeness.gap[r]} vs ${c.gap[r]}`,
                );
              }
            }
          }
        });
        assert.deepEqual(
          failures,
          [],
          `attributions differing from PyTorch:\n${failures.join("\n")}`,
        );
      });
    }
  });
}
