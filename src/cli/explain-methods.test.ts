// `camscope explain` with pixel-attribution methods: method selection, their flags, and what is
// written for them (signed maps in [-1, 1], the attribution as the raw map).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ATTRIBUTION_METHOD_NAMES } from "../attribution/methods/index.ts";
import { camMethods } from "../cam/methods/index.ts";
import { decodeNpy } from "../tensor/npy.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { splitMethods, type PixelCliOptions } from "./explain-methods.ts";
import type { MapsIndex } from "./explain-output.ts";
import { camscope } from "./testing/harness.ts";
import { writeNpy } from "../io/npy.ts";

const SAMPLES = fileURLToPath(new URL("../../samples/", import.meta.url));
const DEFAULTS: PixelCliOptions = {
  steps: 4,
  baseline: "black",
  samples: 2,
  noise: 0.1,
  window: 32,
  stride: 32,
  occlusionValue: 0,
  masks: 8,
  cells: 4,
  keepProbability: 0.5,
  composite: "epsilon-plus",
  lrpStart: "one-hot",
};

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-pixel-"));
});
after(() => rm(dir, { recursive: true, force: true }));

describe("--method with pixel-attribution methods", () => {
  const model = tinyClassifier({ classes: 3 });

  test('"all" keeps meaning every CAM method, "pixel" every pixel-attribution method', async () => {
    const all = await splitMethods(model, ["all"], DEFAULTS);
    assert.deepEqual(
      all.cam.map((m) => m.name),
      camMethods(model).map((m) => m.name),
    );
    assert.deepEqual(all.pixel, []);
    const mixed = await splitMethods(model, ["gradcam", "pixel", "ig"], DEFAULTS);
    assert.deepEqual(
      mixed.cam.map((m) => m.name),
      ["gradcam"],
    );
    assert.deepEqual(
      mixed.pixel.map((m) => m.name),
      ATTRIBUTION_METHOD_NAMES,
    );
  });

  test("an unknown name lists both families; a bad --baseline names the file", async () => {
    await assert.rejects(
      splitMethods(model, ["smoothgard"], DEFAULTS),
      /Unknown method "smoothgard". CAM methods: cam, gradcam.*Pixel-attribution methods: saliency.*pixel/,
    );
    await assert.rejects(
      splitMethods(model, ["ig"], { ...DEFAULTS, baseline: "grey" }),
      /--baseline "grey" is neither black, blur, uniform nor a .npy file/,
    );
    await assert.rejects(
      splitMethods(model, ["ig"], { ...DEFAULTS, baseline: join(dir, "missing.npy") }),
      /Cannot read the --baseline tensor ".*missing.npy"/,
    );
  });

  test("writes signed and unsigned maps with the attribution as raw map", async () => {
    const out = join(dir, "out");
    const baseline = join(dir, "baseline.npy");
    await writeNpy(baseline, { data: new Float32Array(3 * 128 * 128), dims: [3, 128, 128] });
    const run = await camscope([
      "explain",
      join(SAMPLES, "star.png"),
      "--model",
      "synth-vgg",
      "--method",
      "gradient,saliency,ig,occlusion,rise",
      "--steps",
      "3",
      "--baseline",
      baseline,
      "--window",
      "64",
      "--stride",
      "64",
      "--masks",
      "4",
      "--threads",
      "1",
      "--out",
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const index = JSON.parse(await readFile(join(out, "maps.json"), "utf8")) as MapsIndex;
    assert.deepEqual(
      index.methods.map((m) => [m.name, m.signed]),
      [
        ["gradient", true],
        ["saliency", false],
        ["ig", true],
        ["occlusion", true],
        ["rise", false],
      ],
    );
    const cost = index.images[0]!.methods;
    assert.equal(cost.occlusion!.forwardPasses, 4);
    assert.equal(cost.rise!.forwardPasses, 4);
    const maps = index.images[0]!.targets[0]!.maps;
    for (const [name, signed] of [
      ["gradient", true],
      ["saliency", false],
    ] as const) {
      const map = decodeNpy(await readFile(join(out, maps[name]!.map)));
      const raw = decodeNpy(await readFile(join(out, maps[name]!.raw[0]!)));
      assert.deepEqual(map.dims, [128, 128]);
      assert.deepEqual(raw.dims, [128, 128]);
      const values = Array.from(map.data);
      assert.equal(Math.max(...values.map(Math.abs)), 1, name);
      assert.equal(Math.min(...values) < 0, signed, `${name} takes negative values`);
    }
  });
});
