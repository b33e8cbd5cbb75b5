import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { decodeNpy } from "../tensor/npy.ts";
import { Engine } from "../engine/engine.ts";
import { decodeImage } from "../io/images.ts";
import { openModel } from "../io/models.ts";
import {
  activationBytesPerInput,
  DEFAULT_BATCH_MEMORY_MIB,
  planBatch,
} from "../runtime/batch-size.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { MapsIndex } from "./explain-output.ts";
import { camscope } from "./testing/harness.ts";

const MODEL = "synth-resnet";
const SAMPLES = fileURLToPath(new URL("../../samples/", import.meta.url));
const samples = ["star", "arrow", "ring", "heart", "cross", "heart-and-square"].map((n) =>
  join(SAMPLES, `${n}.png`),
);

let dir: string;
let corrupt: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-explain-"));
  corrupt = join(dir, "corrupt.png");
  // A PNG signature followed by garbage.
  await writeFile(
    corrupt,
    Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), Buffer.alloc(64, 7)]),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());
let opened: Promise<ModelRuntime> | undefined;
/** The test model, opened once in this process (the CLI runs in its own). */
function model(): Promise<ModelRuntime> {
  opened ??= openModel(MODEL, engine);
  return opened;
}

async function readIndex(out: string): Promise<MapsIndex> {
  return JSON.parse(await readFile(join(out, "maps.json"), "utf8")) as MapsIndex;
}

async function npy(out: string, path: string) {
  return decodeNpy(await readFile(join(out, path)));
}

describe("camscope explain", () => {
  test("writes overlays at the original size, grids, .npy maps and an index; a corrupt image is skipped", async () => {
    const out = join(dir, "all");
    const methods = ["gradcam", "cam", "eigencam"];
    const images = [samples[0]!, corrupt, ...samples.slice(1)];
    const run = await camscope([
      "explain",
      ...images,
      "--model",
      MODEL,
      "--method",
      methods.join(","),
      "--out",
      out,
    ]);

    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`skipped: Cannot decode image "${corrupt}": `));
    assert.match(run.stderr, /\[#+\] 7\/7 images 100% /);
    assert.match(
      run.stderr,
      /error: 1 of 7 images could not be explained \(see "failed" in .*maps\.json\)\n$/,
    );

    const index = await readIndex(out);
    assert.equal(index.model, MODEL);
    // No --batch-size: the size chosen for the model within the default budget.
    const plan = planBatch(activationBytesPerInput(await (await model()).shapes()));
    assert.equal(index.batchSize, plan.size);
    assert.equal(index.batchMemoryMiB, Math.round(plan.memoryMiB * 10) / 10);
    assert.equal(index.memoryBudgetMiB, DEFAULT_BATCH_MEMORY_MIB);
    assert.deepEqual(
      index.failed.map((f) => f.image),
      [corrupt],
    );
    assert.deepEqual(
      index.images.map((i) => i.image),
      [samples[0], ...samples.slice(1)],
    );
    assert.deepEqual(
      index.methods.map((m) => m.name),
      methods,
    );
    assert.equal(index.score, "logit");
    assert.equal(index.layers.length, 1);
    const [, , inputH, inputW] = index.input.dims as [number, number, number, number];
    const [, , layerH, layerW] = index.layers[0]!.dims as [number, number, number, number];
    assert.equal(run.stdout.split("\n").filter((l) => l.includes(" -> ")).length, samples.length);

    for (const entry of index.images) {
      const original = await decodeImage(entry.image);
      assert.deepEqual([entry.width, entry.height], [original.width, original.height]);
      assert.equal(entry.targets.length, 1);
      const target = entry.targets[0]!;
      assert.ok(Number.isFinite(target.score));
      assert.ok(
        run.stdout.includes(`${entry.image}: ${target.label} (logit ${target.score.toFixed(2)})`),
      );
      assert.deepEqual(Object.keys(target.maps), methods);
      assert.deepEqual(Object.keys(entry.methods), methods);
      for (const name of methods) {
        assert.equal(entry.methods[name]!.forwardPasses, 0);
        assert.ok(entry.methods[name]!.milliseconds >= 0);
        const files = target.maps[name]!;
        const overlay = await decodeImage(join(out, files.overlay));
        assert.deepEqual([overlay.width, overlay.height], [original.width, original.height]);
        const map = await npy(out, files.map);
        assert.deepEqual(map.dims, [inputH, inputW]);
        assert.ok(map.data.every((v) => v >= 0 && v <= 1));
        // Normalised at layer resolution, then upsampled: the peak may fall between samples.
        assert.ok(Math.max(...map.data) > 0.9);
        assert.equal(files.raw.length, 1);
        assert.deepEqual((await npy(out, files.raw[0]!)).dims, [layerH, layerW]);
      }
      const grid = await decodeImage(join(out, target.grid));
      // The original and three overlays side by side, each scaled to 256 px.
      assert.ok(grid.width > 4 * 256 && grid.height > 256, `${grid.width}x${grid.height}`);
    }
  });

  test("--top-k writes each target into its own folder, best first", async () => {
    const out = join(dir, "top2");
    const run = await camscope([
      "explain",
      samples[0]!,
      "--model",
      MODEL,
      "--top-k",
      "2",
      "--score",
      "probability",
      "--out",
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const [entry] = (await readIndex(out)).images;
    const targets = entry!.targets;
    assert.equal(targets.length, 2);
    assert.ok(targets[0]!.score >= targets[1]!.score);
    assert.ok(targets.every((t) => t.score > 0 && t.score <= 1));
    targets.forEach((t, k) => {
      assert.equal(t.dir, `star/top${k + 1}-${t.label}`);
      assert.ok(existsSync(join(out, t.dir, "gradcam.png")));
      assert.ok(existsSync(join(out, t.dir, "grid.png")));
    });
  });

  test("--target gives a class per image, across chunks; --aug-smooth and --eigen-smooth are recorded", async () => {
    const out = join(dir, "smooth");
    // The first chunk holds four images, so the fifth image's class comes from the second.
    const classes = ["circle", "square", "triangle", "star", "cross"];
    const run = await camscope([
      "explain",
      ...samples.slice(0, 5),
      "--model",
      MODEL,
      "--target",
      classes.join(","),
      "--method",
      "gradcam,eigengradcam",
      "--aug-smooth",
      "--eigen-smooth",
      "--batch-size",
      "5",
      "--out",
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const index = await readIndex(out);
    assert.equal(index.batchSize, 5);
    assert.equal(index.memoryBudgetMiB, undefined);
    assert.equal(index.augSmooth, true);
    assert.equal(index.eigenSmooth, true);
    assert.deepEqual(
      index.images.map((i) => i.targets[0]!.label),
      classes,
    );
    const map = await npy(out, index.images[0]!.targets[0]!.maps.gradcam!.map);
    // The smoothed map is normalised at input resolution.
    assert.equal(Math.max(...map.data), 1);
  });

  test("an unknown method, layer or class is a one-line error before any output", async () => {
    const out = join(dir, "none");
    const cases: [string[], RegExp][] = [
      [
        ["--method", "gradcam,gradcm"],
        /^error: Unknown method "gradcm"\. CAM methods: cam, gradcam, .*, all\. Pixel-attribution methods: saliency, .*, pixel\n$/,
      ],
      [
        ["--layer", "no-such-layer"],
        /^error: Model "synth-resnet" has no spatial layer "no-such-layer"/,
      ],
      [["--target", "dodecahedron"], /^error: Unknown class "dodecahedron" in --target: /],
      [
        ["--target", "star", "--top-k", "2"],
        /^error: Give either --target or --top-k, not both\n$/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await camscope(["explain", samples[0]!, "--model", MODEL, ...args, "--out", out]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, "");
    }
    assert.ok(!existsSync(out));
  });
});
