// Every CAM method against an independent float64 PyTorch implementation of its published
// definition (scripts/reference/make_cam_fixtures.py): three small-width torchvision models
// (ResNet BasicBlock, VGG-16-BN, MobileNetV2), two layers each ("act": an intermediate stage,
// "last": the one feeding the head), explicit target classes, the raw map at layer resolution and
// the final map at input resolution.
//
// Rows where float32 may legitimately differ more than 1e-4 are flagged by the fixture, with the
// reason, and held to looser bounds (see below).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Engine } from "../engine/engine.ts";
import { type ModelRuntime } from "../runtime/runtime.ts";
import { decodeMap, floats, rowAbsolute, rowRelative } from "../testing/fixture-encoding.ts";
import { createRng, deriveSeed } from "../util/random.ts";
import type { MethodMaps } from "./pipeline.ts";
import type { CamMethod } from "./method.ts";
import { clusterCam, type ClusterCamOptions } from "./methods/cluster-cam.ts";
import { camMethod } from "./methods/cam.ts";
import { resolveMethodNames } from "../methods/registry.ts";
import { camInstances } from "../methods/testing/instances.ts";
import { isCam, ssCam, type IsCamOptions, type SsCamOptions } from "./methods/score-cam.ts";
import type { ScoreKind } from "../runtime/targets.ts";
import { openModel } from "../io/models.ts";
import { camExplain } from "./testing/runs.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

/** Tolerances of a row that no float32 hazard was found for. */
const RAW_RELATIVE = 1e-4;
const FINAL_ABSOLUTE = 1e-4;
/**
 * A row the fixture flags for rounding — its own float32 PyTorch run already deviates from float64
 * by more than 1e-5 (a score difference that cancels, e.g. Ablation-CAM's y - y_k over 128
 * channels), or the method amplifies rounding (Grad-CAM++ where 2 + S_k g nears 0) — is held to
 * ROUNDING_FACTOR times that deviation, and at least ROUNDING_FLOOR: ONNX Runtime rounds
 * differently, but not by orders of magnitude more, and a wrong formula errs by 1e-2 or more.
 */
const ROUNDING_FACTOR = 10;
const ROUNDING_FLOOR = 1e-3;
/**
 * A row where a discrete decision lies within 1e-5 (relative) of flipping — a ReLU or max-pool
 * after the layer near its kink (gradient methods), a k-means assignment (Cluster-CAM), close
 * singular values (Eigen-CAM) — may legitimately come out on the other branch in float32; it is
 * held to a bound that still catches a wrong formula.
 */
const BRANCH_BOUND = 5e-2;

interface FixtureCase {
  layer: string;
  method: string;
  options: Record<string, unknown>;
  score: ScoreKind;
  raw: string;
  map: string;
  unstable: boolean[];
  float32Deviation: number[];
  unstableReasons?: string[];
  nearBranch?: boolean[];
}

interface Fixture {
  name: string;
  input: { name: string; dims: [number, number, number, number] };
  output: string;
  layers: Record<string, { module: string; dims: [number, number, number, number] }>;
  classes: number[];
  seed: number;
  inputData: string;
  logits: string;
  unsupported: { layer: string; method: string }[];
  cases: FixtureCase[];
  randomCheck: {
    deriveSeed: { args: number[]; value: number }[];
    uint32: number[];
    normal: number[];
  };
}

/** The fixture's method variants: options the registry's default instance may not have. */
const VARIANTS: Record<string, (options: Record<string, unknown>) => CamMethod> = {
  sscam: (o) => ssCam(o as SsCamOptions),
  iscam: (o) => isCam(o as IsCamOptions),
  clustercam: (o) => clusterCam(o as ClusterCamOptions),
};

function caseLabel(c: FixtureCase): string {
  const options = Object.entries(c.options)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(",");
  return `${c.method}${options ? `(${options})` : ""}${c.score === "logit" ? "" : ` [${c.score}]`} @${c.layer}`;
}

/** The method a fixture case describes: the registry's instance, or a variant with its options. */
function methodFor(c: FixtureCase, registry: readonly CamMethod[]): CamMethod {
  const registered = registry.find((m) => m.name === c.method);
  assert.ok(
    registered,
    `The fixture covers CAM method "${c.method}", which the method registry does not register ` +
      `(registered: ${registry.map((m) => m.name).join(", ")})`,
  );
  if (Object.keys(c.options).length === 0) return registered;
  const variant = VARIANTS[c.method];
  assert.ok(
    variant,
    `No way to build "${c.method}" with options ${JSON.stringify(c.options)}: add it to VARIANTS`,
  );
  const method = variant(c.options);
  assert.equal(method.name, c.method);
  return method;
}

interface RowResult {
  raw: number;
  final: number;
  bound: { raw: number; final: number };
  why: string;
}

/** Compares one method's maps with a fixture case, row by row. */
function compare(fx: Fixture, c: FixtureCase, result: MethodMaps): RowResult[] {
  const [rows, , height, width] = fx.input.dims;
  assert.equal(result.raw.length, 1);
  const raw = result.raw[0]!;
  assert.deepEqual(
    raw.dims,
    [rows, ...fx.layers[c.layer]!.dims.slice(2)],
    `${caseLabel(c)}: raw dims`,
  );
  assert.deepEqual(result.map.dims, [rows, height, width], `${caseLabel(c)}: map dims`);
  const expectedRaw = floats(c.raw);
  const expectedMap = decodeMap(c.map, rows, height, width);
  const rawErr = rowRelative(raw.data, expectedRaw, rows);
  const mapErr = rowAbsolute(result.map.data, expectedMap, rows);
  return Array.from({ length: rows }, (_, i) => {
    let bound = { raw: RAW_RELATIVE, final: FINAL_ABSOLUTE };
    let why = "";
    if (c.unstable[i]) {
      why = c.unstableReasons?.[i] ?? "flagged unstable";
      const loose = c.nearBranch?.[i]
        ? BRANCH_BOUND
        : Math.max(ROUNDING_FLOOR, ROUNDING_FACTOR * c.float32Deviation[i]!);
      bound = { raw: loose, final: Math.max(FINAL_ABSOLUTE, loose) };
    }
    return { raw: rawErr[i]!, final: mapErr[i]!, bound, why };
  });
}

/** Methods with their own reference fixtures: Relevance-CAM in src/compiler/lrp/reference.test.ts. */
const CHECKED_ELSEWHERE = ["relevancecam"];

const fixtureFiles = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .sort();

it("the CAM reference fixtures are present", () => {
  assert.deepEqual(
    fixtureFiles,
    ["mobilenet_v2.json", "resnet_basic.json", "vgg16_bn.json"],
    "regenerate with /usr/bin/python3 scripts/reference/make_cam_fixtures.py",
  );
});

for (const file of fixtureFiles) {
  const fx = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as Fixture;

  describe(`CAM methods on ${fx.name} match the float64 PyTorch reference`, () => {
    let engine: Engine;
    let ctx: ModelRuntime;
    const images = () => ({ data: floats(fx.inputData), dims: [...fx.input.dims] });

    before(async () => {
      engine = new Engine();
      ctx = await openModel(join(FIXTURES, `${fx.name}.onnx`), engine, {
        preprocessing: "unit",
        card: false,
      });
    });
    after(async () => {
      await engine.dispose();
    });

    it("SS-CAM's random numbers are the ones the fixture's Python port drew", () => {
      for (const { args, value } of fx.randomCheck.deriveSeed) {
        assert.equal(
          deriveSeed(args[0]!, ...args.slice(1)),
          value,
          `deriveSeed(${args.join(", ")})`,
        );
      }
      const rng = createRng(deriveSeed(0, 1, 2, 3));
      assert.deepEqual(
        fx.randomCheck.uint32.map(() => rng.uint32()),
        fx.randomCheck.uint32,
      );
      for (const expected of fx.randomCheck.normal) {
        assert.ok(Math.abs(rng.normal() - expected) <= 1e-15, "normal()");
      }
    });

    it("the fixture and the method registry list the same methods", () => {
      const registry = camInstances(ctx.model)
        .map((m) => m.name)
        .filter((m) => !CHECKED_ELSEWHERE.includes(m));
      const covered = new Set([
        ...fx.cases.map((c) => c.method),
        ...fx.unsupported.map((u) => u.method),
      ]);
      const missingInRegistry = [...covered].filter((m) => !registry.includes(m));
      const missingInFixture = registry.filter((m) => !covered.has(m));
      assert.deepEqual(
        missingInRegistry,
        [],
        `methods in the fixture but not in the registry: ${missingInRegistry.join(", ")}`,
      );
      assert.deepEqual(
        missingInFixture,
        [],
        `methods in the registry without a reference in ${file}: ${missingInFixture.join(", ")} ` +
          "(add them to scripts/reference/make_cam_fixtures.py)",
      );
      // Every method is covered (or refused) on both layers.
      for (const name of registry) {
        for (const layer of Object.keys(fx.layers)) {
          const has =
            fx.cases.some((c) => c.method === name && c.layer === layer) ||
            fx.unsupported.some((u) => u.method === name && u.layer === layer);
          assert.ok(has, `${file} has no reference for ${name} at ${layer}`);
        }
      }
      assert.deepEqual(
        resolveMethodNames(["all"]).map((m) => m.name),
        camInstances(ctx.model).map((m) => m.name),
      );
    });

    it('"last" is the default layer (VGG: its input) and the layers have the fixture\'s shapes', async () => {
      // VGG's "last" is the adaptive average pooling's output, a 1x1 average of the last block
      // (the same map); the default is the block's own output, pytorch-grad-cam's features[-1].
      const auto = await ctx.layer("auto");
      if (fx.name === "vgg16_bn") {
        const pool = ctx.model.index().producer.get("last")!.node;
        assert.equal(pool.op_type, "AveragePool");
        assert.equal(auto.name, pool.input[0]);
      } else assert.equal(auto.name, "last");
      for (const [name, { dims }] of Object.entries(fx.layers)) {
        assert.deepEqual((await ctx.layer(name)).dims, [1, ...dims.slice(1)], name);
      }
    });

    for (const { layer } of fx.unsupported) {
      it(`CAM refuses ${layer} (its head is not global average pooling + one linear layer)`, async () => {
        const cam = [camMethod(ctx.model)];
        await assert.rejects(
          camExplain(ctx, images(), {
            methods: cam,
            layers: [layer],
            target: { classes: fx.classes },
          }),
          /CAM needs global average pooling and one linear layer/,
        );
      });
    }

    // One explain() per layer and score kind runs every method of that group on one backward pass.
    const groups = new Map<string, FixtureCase[]>();
    for (const c of fx.cases) {
      const key = `${c.layer}\n${c.score}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const cases of groups.values()) {
      const { layer, score } = cases[0]!;
      it(`${cases.length} methods at ${layer} (score: ${score})`, async (t) => {
        const registry = camInstances(ctx.model);
        const methods = cases.map((c) => methodFor(c, registry));
        const explanation = await camExplain(ctx, images(), {
          methods,
          layers: [layer],
          target: { classes: fx.classes, score },
          seed: fx.seed,
        });
        assert.deepEqual(explanation.targets.classes, fx.classes);
        const failures: string[] = [];
        cases.forEach((c, m) => {
          const rows = compare(fx, c, explanation.results[m]!);
          const summary = rows
            .map((r, i) => {
              const flag = r.why
                ? ` (flagged, bound ${r.bound.raw.toExponential(1)}: ${r.why})`
                : "";
              return `#${i} raw ${r.raw.toExponential(2)} final ${r.final.toExponential(2)}${flag}`;
            })
            .join("; ");
          t.diagnostic(`${caseLabel(c)}: ${summary}`);
          rows.forEach((r, i) => {
            if (!(r.raw < r.bound.raw) || !(r.final < r.bound.final)) {
              failures.push(
                `${caseLabel(c)} row ${i}: raw relative error ${r.raw.toExponential(3)} (bound ${r.bound.raw}), ` +
                  `final max abs difference ${r.final.toExponential(3)} (bound ${r.bound.final})` +
                  (r.why ? ` [flagged: ${r.why}]` : ""),
              );
            }
          });
        });
        assert.deepEqual(
          failures,
          [],
          `maps differing from the PyTorch reference:\n${failures.join("\n")}`,
        );
      });
    }
  });
}
