// The viewer and the browser library in real Chromium (Debian's, driven by playwright-core):
// a bundled sample explained with Grad-CAM, Score-CAM, Integrated Gradients and LRP gives the
// maps Node gives, downloaded as the user downloads them; the overlay is drawn; a user's own
// model opens from the file picker; a run can be cancelled; the browser's image decoding and
// preprocessing give Node's tensors. `npm run test:browser` runs it (.ci/run installs Chromium).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import sharp from "sharp";
import { openSite, openViewer, runExplain, type Site } from "../scripts/browser/site.ts";
import { Engine } from "../src/engine/engine.ts";
import { runtime as web } from "../src/engine/ort-web.ts";
import { Explainer } from "../src/explain/explainer.ts";
import { renderExplanation } from "../src/explain/render.ts";
import { preprocess, PREPROCESS_PRESETS } from "../src/image/preprocess.ts";
import { decodeImage } from "../src/io/images.ts";
import { openModel } from "../src/io/models.ts";
import { decodeNpy } from "../src/tensor/npy.ts";

const SAMPLE = "samples/star.png";
/** Largest difference allowed between browser and Node maps. */
const TOLERANCE = 1e-5;
/**
 * Integrated Gradients against onnxruntime-node (native kernels, not WASM): each of its 64 path
 * points is a gradient of a ReLU and max-pooling network, and where a unit sits at a kink (a
 * pre-activation within float rounding of 0, a max-pool tie, common near the black baseline)
 * the two runtimes' last-bit differences send that point's gradient down different branches,
 * moving a few pixels' sums by ~1e-3 of the map's largest value. The same WASM kernels under
 * Node give the browser's maps within TOLERANCE.
 */
const IG_NATIVE_TOLERANCE = 5e-3;

let site: Site;
/** onnxruntime-node, and onnxruntime-web's WASM under Node. */
let native: Engine;
let wasm: Engine;

before(async () => {
  site = await openSite();
  native = new Engine({ threads: 2 });
  wasm = new Engine({ runtime: web });
});

after(async () => {
  await Promise.all([site?.close(), native?.dispose(), wasm?.dispose()]);
});

/** The .npy file a figure's download button gives. */
async function downloadNpy(page: Page, method: string, kind: "npy" | "raw") {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click(`figure[data-method="${method}"][data-row="0"] button[data-download="${kind}"]`),
  ]);
  return decodeNpy(new Uint8Array(readFileSync(await download.path())));
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

/** A canvas's pixels as RGB. */
async function canvasRgb(page: Page, selector: string): Promise<Uint8Array> {
  const rgba = await page.$eval(selector, (canvas) => {
    const c = canvas as HTMLCanvasElement;
    return [...c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data];
  });
  return Uint8Array.from(rgba.filter((_, i) => i % 4 !== 3));
}

test("a bundled sample explained in the viewer: Grad-CAM, Score-CAM, IG and LRP maps equal Node's", async () => {
  const methods = ["gradcam", "scorecam", "ig", "lrp"];
  const page = await openViewer(site);
  await page.setInputFiles("#image-files", SAMPLE);
  await page.waitForSelector("#image-list li");
  for (const m of methods) await page.check(`#methods input[value="${m}"]`);
  const done = await runExplain(page);
  assert.match(done, /^Done in/);

  const rgb = await decodeImage(SAMPLE);
  const inNode = await Promise.all(
    [native, wasm].map(async (engine) => {
      const rt = await openModel("synth-resnet", engine);
      const { tensor, dims, transforms } = preprocess([rgb], rt.card.preprocessing);
      const explanation = await new Explainer(rt).explain({ data: tensor, dims }, { methods });
      return { rt, transforms, explanation };
    }),
  );
  for (const [j, method] of methods.entries()) {
    const map = await downloadNpy(page, method, "npy");
    const raw = await downloadNpy(page, method, "raw");
    for (const [k, binding] of ["onnxruntime-node", "onnxruntime-web"].entries()) {
      const expected = inNode[k]!.explanation.results[j]!;
      assert.deepEqual(map.dims, expected.map.dims.slice(1), method);
      assert.deepEqual(raw.dims, expected.raw[0]!.dims.slice(1), method);
      const mapDiff = maxDifference(map.data, expected.map.data);
      // Raw maps are in the score's units: compared relative to their largest magnitude.
      const rawDiff =
        maxDifference(raw.data, expected.raw[0]!.data) / maxAbs(expected.raw[0]!.data);
      console.log(
        `${method}, browser vs Node on ${binding}: final map ${mapDiff.toExponential(1)}, raw ${rawDiff.toExponential(1)} (relative)`,
      );
      const tolerance =
        method === "ig" && binding === "onnxruntime-node" ? IG_NATIVE_TOLERANCE : TOLERANCE;
      assert.ok(mapDiff <= tolerance, `${method} (${binding}): final maps differ by ${mapDiff}`);
      assert.ok(rawDiff <= tolerance, `${method} (${binding}): raw maps differ by ${rawDiff}`);
    }
  }
  const { rt, transforms, explanation: node } = inNode[0]!;

  // The overlay on screen is the one `camscope explain` draws from Node's map (a colour level
  // apart at most, where a map value sits on a colormap step), and visibly not the photo.
  const [drawn] = renderExplanation(
    node,
    [{ rgb, transform: transforms[0]!, name: "star.png" }],
    (i) => rt.label(i),
  );
  for (const [j, method] of methods.entries()) {
    const shown = await canvasRgb(page, `figure[data-method="${method}"] canvas:first-child`);
    const expected = drawn!.maps[j]!.overlay.data;
    assert.ok(maxDifference(Float32Array.from(shown), Float32Array.from(expected)) <= 2, method);
  }
  const overlay = await page.locator('figure[data-method="gradcam"] canvas').first().screenshot();
  const photo = await page.locator("#results figure:first-child canvas").screenshot();
  const [a, b] = await Promise.all(
    [overlay, photo].map((png) => sharp(png).removeAlpha().raw().toBuffer()),
  );
  assert.equal(a!.length, b!.length);
  let sum = 0;
  for (let i = 0; i < a!.length; i++) sum += Math.abs(a![i]! - b![i]!);
  assert.ok(
    sum / a!.length > 20,
    `the overlay looks like the photo (mean difference ${sum / a!.length})`,
  );
  await page.close();
});

test("a user's own model (an NHWC torchvision export, no card) opens from the file picker and explains", async () => {
  const file = "src/models/zoo/mobilenet_v2--nhwc.onnx";
  const page = await openViewer(site);
  await page.setInputFiles("#model-file", file);
  await page.waitForFunction(() =>
    /mobilenet_v2--nhwc: \d+ classes/.test(
      document.querySelector("#model-info")?.textContent ?? "",
    ),
  );
  assert.match((await page.textContent("#model-info"))!, /NHWC/i);
  await page.setInputFiles("#image-files", SAMPLE);
  await page.waitForSelector("#image-list li");
  await runExplain(page);
  const map = await downloadNpy(page, "gradcam", "npy");
  const rt = await openModel(file, native);
  const { tensor, dims } = preprocess([await decodeImage(SAMPLE)], rt.card.preprocessing);
  const node = await new Explainer(rt).explain({ data: tensor, dims }, { methods: ["gradcam"] });
  const difference = maxDifference(map.data, node.results[0]!.map.data);
  assert.ok(difference <= TOLERANCE, `Grad-CAM maps differ by ${difference}`);
  await page.close();
});

test("cancel stops a long run, and the viewer explains again after it", async () => {
  const page = await openViewer(site);
  await page.setInputFiles("#image-files", SAMPLE);
  await page.waitForSelector("#image-list li");
  await page.uncheck('#methods input[value="gradcam"]');
  await page.check('#methods input[value="rise"]');
  await page.click("#run");
  await page.waitForFunction(() =>
    /steps: RISE/.test(document.querySelector("#progress-text")?.textContent ?? ""),
  );
  await page.click("#cancel");
  // A run inside one long method does not yield to the worker's messages, so the cancel ends it
  // by restarting the worker, which then opens the model again (seconds on a busy machine).
  await page.waitForFunction(
    () => /^Cancelled/.test(document.querySelector("#progress-text")?.textContent ?? ""),
    null,
    { timeout: 60_000 },
  );
  assert.equal(await page.locator("#results figure").count(), 0);
  await page.uncheck('#methods input[value="rise"]');
  await page.check('#methods input[value="gradcam"]');
  assert.match(await runExplain(page), /^Done in/);
  assert.equal(await page.locator('figure[data-method="gradcam"]').count(), 1);
  await page.close();
});

test("the browser library decodes and preprocesses images into Node's tensors", async () => {
  // Opaque images decode to the same bytes as sharp's. Semi-transparent pixels may differ by one
  // level: a 2D canvas stores premultiplied alpha, so the colour read back before flattening
  // onto the background has been rounded once more than libvips' flatten rounds it.
  const page = await site.newPage({ bypassCSP: true });
  await page.goto(site.libraryUrl);
  const png = readFileSync(SAMPLE);
  const jpeg = await sharp(png).jpeg({ quality: 90 }).toBuffer();
  // An RGBA PNG: alpha flattened onto white with libvips' rounding.
  const rgba = await sharp(png).ensureAlpha(0.6).png().toBuffer();
  const spec = { ...PREPROCESS_PRESETS.imagenet, size: [96, 96] as [number, number] };
  const files = { png, jpeg, rgba };
  const browser = await page.evaluate(
    async ({ files, spec }) => {
      const lib = await import("/lib/index.js" as string);
      const out: Record<string, { rgb: number[]; tensor: number[] }> = {};
      for (const [name, bytes] of Object.entries(files)) {
        const image = await lib.decodeImageBytes(Uint8Array.from(bytes), name);
        const { tensor } = lib.preprocess([image], spec);
        out[name] = { rgb: [...image.data], tensor: [...tensor] };
      }
      return out;
    },
    { files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [...v]])), spec },
  );
  for (const [name, bytes] of Object.entries(files)) {
    const image = await decodeImage(new Uint8Array(bytes), name);
    const { tensor } = preprocess([image], spec);
    const rgbDiff = maxDifference(
      Float32Array.from(browser[name]!.rgb),
      Float32Array.from(image.data),
    );
    const tensorDiff = maxDifference(Float32Array.from(browser[name]!.tensor), tensor);
    console.log(`${name}: decoded bytes differ by ${rgbDiff}, tensors by ${tensorDiff}`);
    const levels = name === "rgba" ? 1 : 0;
    assert.ok(rgbDiff <= levels, `${name}: decoded pixels differ by ${rgbDiff} levels`);
    if (levels === 0) assert.equal(tensorDiff, 0, `${name}: tensors differ by ${tensorDiff}`);
  }
  await page.close();
});
