// LRP and Relevance-CAM against an independent float64 PyTorch implementation of
// docs/lrp-rules.md (scripts/reference/make_lrp_fixtures.py): small-width VGG-16-BN (plain),
// ResNet BasicBlock (residual; BatchNorm folded, and kept as nodes for the canonizer) and
// MobileNetV2 (depthwise), every rule applied to every layer and every composite, relevance at the
// input and three stages, and Relevance-CAM maps at the three stages.
//
// Rows where float32 may legitimately differ more than 1e-4 are flagged by the fixture with the
// reason (its own float32 run deviates, or a denominator is near zero) and held to looser bounds.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CamExplainer } from "../../cam/explainer.ts";
import { relevanceCam } from "../../cam/methods/relevance-cam.ts";
import { Engine } from "../../engine/engine.ts";
import { openModel, type ModelContext } from "../../models/context.ts";
import {
  decodeMap,
  decodeQuantized,
  floats,
  rowAbsolute,
  rowRelative,
} from "../../testing/fixture-encoding.ts";
import { RelevancePropagator, type RelevanceStart } from "../../lrp/relevance.ts";
import type { Composite, RuleChoice } from "./composites.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

const RELATIVE = 1e-4;
/**
 * Flagged rows: ROUNDING_FACTOR times the fixture's own float32 deviation, at least the floor (LRP
 * divides at every layer, so rounding compounds more than in a gradient).
 */
const ROUNDING_FACTOR = 20;
const ROUNDING_FLOOR = 1e-3;
/** Rows whose PyTorch float32 run already deviates by more than this test nothing useful. */
const HOPELESS = 1e-2;

type Encoded = { scale: number[]; q: string };
type FixtureRule = { name: string; eps?: number; alpha?: number; beta?: number; gamma?: number };
const VALUES = ["input", "stage1", "stage2", "last"] as const;

interface FixtureCase {
  name: string;
  composite: string | null;
  rules: { firstLinear: FixtureRule; conv: FixtureRule; linear: FixtureRule };
  batchNorm: "folded" | "unchanged";
  maxPool: "wta" | "proportional";
  start: RelevanceStart;
  relevance: Record<(typeof VALUES)[number], Encoded>;
  float32Deviation: number[];
  unstable: boolean[];
  unstableReasons?: string[];
}

interface Fixture {
  name: string;
  input: { name: string; dims: [number, number, number, number] };
  values: Record<string, { dims: number[] }>;
  classes: number[];
  inputData: string;
  zbox: { low: number[]; high: number[] };
  cases: FixtureCase[];
  relevanceCam: {
    layer: string;
    relu: boolean;
    raw: Encoded;
    map: string;
    float32Deviation: { raw: number[]; map: number[] } | number[];
    unstable: boolean[];
  }[];
}

function ruleChoice(rule: FixtureRule, fx: Fixture): RuleChoice {
  switch (rule.name) {
    case "epsilon":
      return { rule: "epsilon", epsilon: rule.eps! };
    case "gamma":
      return { rule: "gamma", gamma: rule.gamma!, epsilon: rule.eps! };
    case "alphabeta":
      return { rule: "alphabeta", alpha: rule.alpha!, beta: rule.beta! };
    case "zbox":
      return { rule: "zbox", low: fx.zbox.low, high: fx.zbox.high };
    case "zplus":
    case "flat":
    case "wsquare":
      return { rule: rule.name };
    default:
      throw new Error(`fixture rule ${rule.name}`);
  }
}

function composite(c: FixtureCase, fx: Fixture): Composite {
  return {
    name: c.name,
    first: ruleChoice(c.rules.firstLinear, fx),
    conv: ruleChoice(c.rules.conv, fx),
    dense: ruleChoice(c.rules.linear, fx),
    maxPool: c.maxPool,
    foldBatchNorm: c.batchNorm === "folded",
  };
}

function bound(unstable: boolean, deviation: number): number {
  return unstable ? Math.max(ROUNDING_FLOOR, ROUNDING_FACTOR * deviation) : RELATIVE;
}

const fixtureFiles = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .sort();

it("the LRP reference fixtures are present", () => {
  assert.deepEqual(
    fixtureFiles,
    ["mobilenet_v2.json", "resnet_basic.json", "resnet_basic_bn.json", "vgg16_bn.json"],
    "regenerate with /usr/bin/python3 scripts/reference/make_lrp_fixtures.py",
  );
});

for (const file of fixtureFiles) {
  const fx = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as Fixture;
  const rows = fx.input.dims[0];
  const images = () => ({ data: floats(fx.inputData), dims: [...fx.input.dims] });
  const targets = { image: [...fx.classes.keys()], classes: fx.classes, score: "logit" as const };

  describe(`LRP on ${fx.name} matches the float64 PyTorch reference`, () => {
    let engine: Engine;
    let ctx: ModelContext;
    let propagator: RelevancePropagator;
    before(async () => {
      engine = new Engine();
      ctx = await openModel(join(FIXTURES, `${fx.name}.onnx`), engine, {
        preprocessing: "unit",
        card: false,
      });
      propagator = new RelevancePropagator(ctx);
    });
    after(() => engine.dispose());

    for (const c of fx.cases) {
      it(c.name, async (t) => {
        const result = await propagator.propagate(
          images(),
          { ...targets, binary: false },
          {
            composite: composite(c, fx),
            start: c.start,
            layers: ["stage1", "stage2", "last"],
          },
        );
        const failures: string[] = [];
        for (const value of VALUES) {
          const actual = value === "input" ? result.input! : result.layers.get(value)!.relevance;
          const errors = rowRelative(actual.data, decodeQuantized(c.relevance[value]), rows);
          errors.forEach((e, i) => {
            const deviation = c.float32Deviation[i]!;
            if (c.unstable[i] && deviation > HOPELESS) {
              t.diagnostic(`${value} row ${i} not compared: ${c.unstableReasons?.[i] ?? ""}`);
              return;
            }
            const limit = bound(c.unstable[i]!, deviation);
            if (!(e <= limit)) {
              failures.push(
                `${value} row ${i}: relative error ${e.toExponential(2)} > ${limit}` +
                  (c.unstable[i] ? ` (${c.unstableReasons?.[i] ?? "unstable"})` : ""),
              );
            }
          });
        }
        assert.deepEqual(failures, []);
      });
    }

    it("Relevance-CAM raw and final maps at three stages, with and without ReLU", async () => {
      const explainer = new CamExplainer(ctx);
      const failures: string[] = [];
      const [height, width] = fx.input.dims.slice(2) as [number, number];
      for (const entry of fx.relevanceCam) {
        const e = await explainer.explain(images(), {
          methods: [relevanceCam({ relu: entry.relu })],
          layers: [entry.layer],
          target: { classes: fx.classes },
        });
        const r = e.results[0]!;
        const rawErr = rowRelative(r.raw[0]!.data, decodeQuantized(entry.raw), rows);
        const mapErr = rowAbsolute(r.map.data, decodeMap(entry.map, rows, height, width), rows);
        for (let i = 0; i < rows; i++) {
          const label = `${entry.layer} relu=${entry.relu} row ${i}`;
          if (entry.unstable[i]) continue;
          if (!(rawErr[i]! <= RELATIVE)) failures.push(`${label}: raw ${rawErr[i]}`);
          if (!(mapErr[i]! <= RELATIVE)) failures.push(`${label}: map ${mapErr[i]}`);
        }
      }
      assert.deepEqual(failures, []);
    });
  });
}
