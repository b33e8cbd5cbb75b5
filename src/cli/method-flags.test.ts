// `camscope explain` with pixel-attribution methods: method selection, their flags (built from
// the options the methods declare), and what is written for them (signed maps in [-1, 1], the
// attribution as the raw map).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Engine } from "../engine/engine.ts";
import { Explainer } from "../explain/explainer.ts";
import { writeNpy } from "../io/npy.ts";
import { METHODS } from "../methods/registry.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { ModelRuntime } from "../runtime/runtime.ts";
import { decodeNpy } from "../tensor/npy.ts";
import type { MapsIndex } from "./explain-output.ts";
import { methodFlagValues } from "./method-flags.ts";
import { camscope } from "./testing/harness.ts";

const SAMPLES = fileURLToPath(new URL("../../samples/", import.meta.url));
const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-pixel-"));
});
after(() => rm(dir, { recursive: true, force: true }));

describe("--method with pixel-attribution methods", () => {
  const explainer = new Explainer(
    new ModelRuntime(
      {
        model: tinyClassifier({ classes: 3 }),
        card: {
          name: "tiny",
          labels: ["a", "b", "c"],
          preprocessing: { size: [16, 16], resize: "stretch" },
        },
        bundled: false,
      },
      engine,
    ),
  );
  const names = (choices: readonly { method: { name: string; level: string } }[], level: string) =>
    choices.filter((c) => c.method.level === level).map((c) => c.method.name);
  const layerMethods = METHODS.filter((m) => m.level === "layer").map((m) => m.name);
  const pixelMethods = METHODS.filter((m) => m.level === "input").map((m) => m.name);

  test('"all" keeps meaning every CAM method, "pixel" every pixel-attribution method', async () => {
    const all = await explainer.plan({ methods: ["all"] });
    assert.deepEqual(names(all.choices, "layer"), layerMethods);
    assert.deepEqual(names(all.choices, "input"), []);
    const mixed = await explainer.plan({ methods: ["gradcam", "pixel", "ig"] });
    assert.deepEqual(names(mixed.choices, "layer"), ["gradcam"]);
    assert.deepEqual(names(mixed.choices, "input"), pixelMethods);
  });

  test("an unknown name lists both families; a bad --baseline names the file", async () => {
    await assert.rejects(
      explainer.plan({ methods: ["smoothgard"] }),
      /Unknown method "smoothgard". CAM methods: cam, gradcam.*Pixel-attribution methods: saliency.*pixel/,
    );
    await assert.rejects(
      methodFlagValues({ baseline: "grey" }),
      /--baseline "grey" is neither black, blur, uniform nor a .npy file/,
    );
    await assert.rejects(
      methodFlagValues({ baseline: join(dir, "missing.npy") }),
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
