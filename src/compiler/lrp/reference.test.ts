// LRP and Relevance-CAM against an independent float64 PyTorch implementation of
// docs/lrp-rules.md (scripts/reference/make_lrp_fixtures.py): small-width VGG-16-BN (plain),
// ResNet BasicBlock (residual; BatchNorm folded, and kept as nodes for the canonizer) and
// MobileNetV2 (depthwise), every rule applied to every layer and every composite, relevance at the
// input and three stages, and Relevance-CAM maps at the three stages. The fixtures in modern/
// (scripts/reference/make_lrp_modern_fixtures.py) add EfficientNet, MobileNetV3, RegNetY,
// ShuffleNet, MNASNet, ConvNeXt, ViT and Swin (gates, ReduceMean, LayerNorm, attention), each
// exported at opsets 13 and 17, under every composite; Relevance-CAM on the CNNs.
//
// Rows where float32 may legitimately differ more than 1e-4 are flagged by the fixture with the
// reason (its own float32 run deviates, or a denominator is near zero) and held to looser bounds.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { relevanceCam } from "../../cam/methods/relevance-cam.ts";
import { Engine } from "../../engine/engine.ts";
import { type ModelRuntime } from "../../runtime/runtime.ts";
import {
  decodeMap,
  decodeQuantized,
  floats,
  rowAbsolute,
  rowRelative,
} from "../../testing/fixture-encoding.ts";
import { RelevancePropagator } from "../../lrp/relevance.ts";
import { Backward } from "../../runtime/backward.ts";
import { lrpRuleSet, type Composite, type RuleChoice } from "./composites.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";
import { openModel } from "../../io/models.ts";
import { startingRelevance, type RelevanceStart } from "../../runtime/relevance.ts";
import { camExplain } from "../../cam/testing/runs.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const MODERN = join(FIXTURES, "modern");

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
/** A relevance identical to that of an earlier case (the modern fixtures store it once). */
type Stored = Encoded | { sameAs: string };
type FixtureRule = { name: string; eps?: number; alpha?: number; beta?: number; gamma?: number };
const STAGES = ["stage1", "stage2", "last"] as const;
const VALUES = ["input", ...STAGES] as const;

interface FixtureCase {
  name: string;
  composite: string | null;
  rules: { firstLinear: FixtureRule; conv: FixtureRule; linear: FixtureRule };
  batchNorm: "folded" | "unchanged";
  maxPool: "wta" | "proportional";
  start: RelevanceStart;
  relevance: Record<(typeof VALUES)[number], Stored>;
  /** Per row, the reference's sums of the relevance at each stage value (modern fixtures). */
  valueSums?: Record<(typeof STAGES)[number], number[]>;
  startSum: number[];
  inputSum: number[];
  float32Deviation: number[];
  unstable: boolean[];
  unstableReasons?: string[];
}

interface Fixture {
  name: string;
  numClasses: number;
  /** The exports of the model (modern fixtures: opsets 13 and 17); default `<name>.onnx`. */
  onnx?: string[];
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

const jsonFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();

it("the LRP reference fixtures are present", () => {
  const regenerate = "regenerate with /usr/bin/python3 scripts/reference/make_lrp_fixtures.py";
  assert.deepEqual(
    jsonFiles(FIXTURES),
    ["mobilenet_v2.json", "resnet_basic.json", "resnet_basic_bn.json", "vgg16_bn.json"],
    regenerate,
  );
  assert.deepEqual(
    jsonFiles(MODERN),
    [
      "convnext.json",
      "efficientnet.json",
      "mnasnet.json",
      "mobilenet_v3.json",
      "regnet_y.json",
      "shufflenet.json",
      "swin.json",
      "vit.json",
    ],
    regenerate.replace("make_lrp_fixtures", "make_lrp_modern_fixtures"),
  );
});

/** A fixture model opened as a user's file is (intake folds ShuffleNet's, ViT's, Swin's shapes). */
function openFixture(path: string, engine: Engine): Promise<ModelRuntime> {
  return openModel(path, engine, { preprocessing: "unit", card: false });
}

const fixtures = [FIXTURES, MODERN].flatMap((dir) =>
  jsonFiles(dir).map((file) => ({
    dir,
    fx: JSON.parse(readFileSync(join(dir, file), "utf8")) as Fixture,
  })),
);

for (const { dir, fx } of fixtures) {
  const rows = fx.input.dims[0];
  const images = (): FloatTensor => ({ data: floats(fx.inputData), dims: [...fx.input.dims] });
  const targets = { image: [...fx.classes.keys()], classes: fx.classes, score: "logit" as const };
  const stored = (c: FixtureCase, value: (typeof VALUES)[number]): Encoded => {
    const entry = c.relevance[value];
    if (!("sameAs" in entry)) return entry;
    return stored(
      fx.cases.find((other) => other.name === entry.sameAs)!,
      value,
    );
  };

  for (const file of fx.onnx ?? [`${fx.name}.onnx`]) {
    describe(`LRP on ${fx.name} (${file}) matches the float64 PyTorch reference`, () => {
      let engine: Engine;
      let ctx: ModelRuntime;
      let propagator: RelevancePropagator;
      let spatial: Set<string>;
      before(async () => {
        engine = new Engine();
        ctx = await openFixture(join(dir, file), engine);
        propagator = new RelevancePropagator(ctx);
        spatial = new Set((await ctx.layers()).map((l) => l.name));
      });
      after(() => engine.dispose());

      /** Relevance at the input (the --method lrp path) and the stages; token values directly. */
      async function relevance(c: FixtureCase): Promise<Map<string, FloatTensor>> {
        const comp = composite(c, fx);
        const layers = STAGES.filter((v) => spatial.has(v));
        const result = await propagator.propagate(
          images(),
          { ...targets, binary: false },
          { composite: comp, start: c.start, layers },
        );
        const out = new Map<string, FloatTensor>([["input", result.input!]]);
        for (const l of layers) out.set(l, result.layers.get(l)!.relevance);
        const tokens = STAGES.filter((v) => !spatial.has(v));
        if (tokens.length > 0) {
          const model = propagator.model(comp.foldBatchNorm);
          const backward = new Backward(engine, model, await ctx.shapes(), ctx.input.name);
          const ruleSet = lrpRuleSet(model, comp, { bounds: propagator.inputBounds() });
          const start = startingRelevance({ ...targets, binary: false }, fx.numClasses, c.start);
          const run = await backward.run(
            { wrt: tokens, output: ctx.output, ruleSet },
            images(),
            start,
          );
          for (const v of tokens) out.set(v, run.grads.get(v)!);
        }
        return out;
      }

      for (const c of fx.cases) {
        it(c.name, async (t) => {
          const got = await relevance(c);
          const failures: string[] = [];
          let worst = 0;
          let flagged = 0;
          let worstFlagged = 0;
          for (const value of VALUES) {
            const actual = got.get(value)!;
            const errors = rowRelative(actual.data, decodeQuantized(stored(c, value)), rows);
            errors.forEach((e, i) => {
              const deviation = c.float32Deviation[i]!;
              if (c.unstable[i] && deviation > HOPELESS) {
                t.diagnostic(`${value} row ${i} not compared: ${c.unstableReasons?.[i] ?? ""}`);
                return;
              }
              const limit = bound(c.unstable[i]!, deviation);
              if (c.unstable[i]) {
                flagged++;
                worstFlagged = Math.max(worstFlagged, e / limit);
              } else worst = Math.max(worst, e);
              if (!(e <= limit)) {
                failures.push(
                  `${value} row ${i}: relative error ${e.toExponential(2)} > ${limit}` +
                    (c.unstable[i] ? ` (${c.unstableReasons?.[i] ?? "unstable"})` : ""),
                );
              }
            });
          }
          t.diagnostic(
            `max relative error ${worst.toExponential(2)} over unflagged rows; ${flagged} flagged (value, row) pairs at up to ${worstFlagged.toFixed(3)} of their bound`,
          );
          // Conservation as camscope computes it: per row, the total at the start, each stage
          // and the input (the reference's totals in brackets).
          for (let i = 0; i < rows; i++) {
            const total = (v: string) =>
              got
                .get(v)!
                .data.subarray(
                  (i * got.get(v)!.data.length) / rows,
                  ((i + 1) * got.get(v)!.data.length) / rows,
                )
                .reduce((a, b) => a + b, 0);
            const ref = (v: (typeof STAGES)[number]) => c.valueSums?.[v]?.[i];
            t.diagnostic(
              `row ${i} totals: start ${c.startSum[i]}, ` +
                STAGES.map((v) => `${v} ${total(v).toPrecision(6)} [${ref(v) ?? "-"}]`).join(", ") +
                `, input ${total("input").toPrecision(6)} [${c.inputSum[i]}]`,
            );
          }
          assert.deepEqual(failures, []);
        });
      }

      if (fx.relevanceCam.length === 0) return;
      it("Relevance-CAM raw and final maps at three stages", async (t) => {
        const failures: string[] = [];
        let [compared, skipped, worstRaw, worstMap] = [0, 0, 0, 0];
        const [height, width] = fx.input.dims.slice(2) as [number, number];
        for (const entry of fx.relevanceCam) {
          const e = await camExplain(ctx, images(), {
            methods: [relevanceCam({ relu: entry.relu })],
            layers: [entry.layer],
            target: { classes: fx.classes },
          });
          const r = e.results[0]!;
          const rawErr = rowRelative(r.raw[0]!.data, decodeQuantized(entry.raw), rows);
          const mapErr = rowAbsolute(r.map.data, decodeMap(entry.map, rows, height, width), rows);
          for (let i = 0; i < rows; i++) {
            const label = `${entry.layer} relu=${entry.relu} row ${i}`;
            if (entry.unstable[i]) {
              skipped++;
              continue;
            }
            compared++;
            worstRaw = Math.max(worstRaw, rawErr[i]!);
            worstMap = Math.max(worstMap, mapErr[i]!);
            if (!(rawErr[i]! <= RELATIVE)) failures.push(`${label}: raw ${rawErr[i]}`);
            if (!(mapErr[i]! <= RELATIVE)) failures.push(`${label}: map ${mapErr[i]}`);
          }
        }
        t.diagnostic(
          `${compared} map rows compared (max raw relative error ${worstRaw.toExponential(2)}, max map error ${worstMap.toExponential(2)}), ${skipped} flagged rows not compared`,
        );
        assert.deepEqual(failures, []);
      });
    });
  }
}
