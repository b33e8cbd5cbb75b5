// The display of pixel attributions in `camscope explain`: overlays and grids clipped at --clip
// (a percentile of |map|), colour ranges in maps.json, the .npy maps untouched. Checked on a
// photo-like image, where gradient maps are heavy-tailed.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeNpy } from "../tensor/npy.ts";
import { clipThreshold } from "../image/clip.ts";
import { colormapTable } from "../image/colormap.ts";
import { decodeImage } from "../io/images.ts";
import { encodePng } from "../io/png.ts";
import { photoLikeImage } from "../image/testing/photo.ts";
import type { RgbImage } from "../image/types.ts";
import type { MapsIndex } from "./explain-output.ts";
import { camscope } from "./testing/harness.ts";

let dir: string;
let photoPath: string;
let photo: RgbImage;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-display-"));
  photo = photoLikeImage({ width: 320, height: 240, seed: 1, shape: "star" });
  photoPath = join(dir, "photo.png");
  await writeFile(photoPath, await encodePng(photo));
});
after(() => rm(dir, { recursive: true, force: true }));

async function explain(clip: string): Promise<{ out: string; index: MapsIndex }> {
  const out = join(dir, `clip-${clip}`);
  const run = await camscope([
    "explain",
    photoPath,
    "--model",
    "synth-resnet",
    "--method",
    "gradcam,ig,lrp,saliency",
    "--steps",
    "8",
    "--threads",
    "1",
    "--clip",
    clip,
    "--out",
    out,
  ]);
  assert.equal(run.code, 0, run.stderr);
  return { out, index: JSON.parse(await readFile(join(out, "maps.json"), "utf8")) as MapsIndex };
}

/**
 * Share of an overlay's pixels whose heatmap colour, recovered from the alpha-0.5 blend with the
 * photo, is more than 40 units from coolwarm's neutral middle in some channel: visibly coloured.
 */
function colouredShare(overlay: RgbImage): number {
  const middle = colormapTable("coolwarm").subarray(128 * 3, 129 * 3);
  let coloured = 0;
  for (let p = 0; p < overlay.width * overlay.height; p++) {
    let off = 0;
    for (let c = 0; c < 3; c++) {
      const colour = (overlay.data[p * 3 + c]! - 0.5 * photo.data[p * 3 + c]!) / 0.5;
      off = Math.max(off, Math.abs(colour - middle[c]!));
    }
    if (off > 40) coloured++;
  }
  return coloured / (overlay.width * overlay.height);
}

describe("display clipping of pixel attributions", () => {
  test("--clip scales overlays by a percentile of |map|; the .npy maps stay as computed", async () => {
    const clipped = await explain("99");
    const full = await explain("100");
    assert.equal(clipped.index.clip, 99);
    assert.equal(full.index.clip, 100);
    const mapsOf = (index: MapsIndex) => index.images[0]!.targets[0]!.maps;
    const [c, f] = [mapsOf(clipped.index), mapsOf(full.index)];

    for (const name of ["gradcam", "ig", "lrp", "saliency"]) {
      for (const file of [c[name]!.map, ...c[name]!.raw]) {
        const [a, b] = await Promise.all([
          readFile(join(clipped.out, file)),
          readFile(join(full.out, file)),
        ]);
        assert.ok(a.equals(b), `${file} does not depend on --clip`);
      }
    }
    assert.equal(c.gradcam!.colorRange, undefined, "CAM maps are not clipped");

    for (const name of ["ig", "lrp"]) {
      const raw = decodeNpy(await readFile(join(clipped.out, c[name]!.raw[0]!))).data;
      const largest = Math.max(...Array.from(raw, Math.abs));
      assert.deepEqual(f[name]!.colorRange, [-largest, largest], `${name} unclipped`);
      // The threshold was taken on the display map (raw / largest) and scaled back.
      const [lo, hi] = c[name]!.colorRange!;
      assert.equal(lo, -hi);
      const expected = clipThreshold(raw, 99);
      assert.ok(Math.abs(hi - expected) <= 1e-6 * expected, `${name}: ${hi} vs ${expected}`);
      assert.ok(hi < 0.8 * largest, `${name}: the photo's map is heavy-tailed`);

      const share = async (out: string) =>
        colouredShare(await decodeImage(join(out, `photo/${name}.png`)));
      const [clippedShare, fullShare] = [await share(clipped.out), await share(full.out)];
      assert.ok(
        clippedShare > 2.5 * fullShare,
        `${name}: ${clippedShare} of the overlay coloured at 99, ${fullShare} at 100`,
      );
    }

    // Unsigned maps are min-max normalised first, so the clip value lies within the raw range.
    const raw = decodeNpy(await readFile(join(clipped.out, c.saliency!.raw[0]!))).data;
    const [lo, hi] = [Math.min(...raw), Math.max(...raw)];
    assert.deepEqual(f.saliency!.colorRange, [lo, hi]);
    const [low, end] = c.saliency!.colorRange!;
    assert.equal(low, lo);
    assert.ok(end > lo && end < hi);
    const display = raw.map((v) => (v - lo) / (hi - lo));
    const expected = lo + clipThreshold(display, 99) * (hi - lo);
    assert.ok(Math.abs(end - expected) <= 1e-6 * (hi - lo));
  });

  test("--clip takes a percentile above 0, at most 100", async () => {
    for (const bad of ["0", "101", "-5", "abc", ""]) {
      const run = await camscope([
        "explain",
        photoPath,
        "--model",
        "synth-resnet",
        "--clip",
        bad,
        "--out",
        dir,
      ]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /--clip <percentile>.*must be a number above 0 and at most 100/);
    }
  });
});

test("Integrated Gradients' completeness gap is printed per target and written to maps.json", async () => {
  const out = join(dir, "completeness");
  const run = await camscope([
    "explain",
    photoPath,
    "--model",
    "synth-resnet",
    "--method",
    "gradcam,ig",
    "--steps",
    "8",
    "--threads",
    "1",
    "--out",
    out,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const index = JSON.parse(await readFile(join(out, "maps.json"), "utf8")) as MapsIndex;
  const target = index.images[0]!.targets[0]!;
  assert.equal(target.maps.gradcam!.completeness, undefined);
  const c = target.maps.ig!.completeness!;
  // The gap is the sum of the attributions (the raw map: channels summed, in logits) less
  // f(x) - f(x'), with f(x) the target's printed score.
  const raw = decodeNpy(new Uint8Array(await readFile(join(out, target.maps.ig!.raw[0]!))));
  const total = raw.data.reduce((s, v) => s + v, 0);
  const difference = target.score - c.baselineScore;
  assert.ok(Math.abs(c.gap - (total - difference)) <= 1e-4 * Math.abs(difference), `gap ${c.gap}`);
  assert.ok(Math.abs(c.relativeGap - c.gap / Math.abs(difference)) <= 1e-6);
  const sign = (v: number) => (v >= 0 ? "+" : "");
  const line = `  ig: completeness gap ${sign(c.gap)}${c.gap.toPrecision(3)} (${sign(c.relativeGap)}${(100 * c.relativeGap).toFixed(2)}% of f(x) - f(x'))`;
  assert.ok(run.stdout.split("\n").includes(line), run.stdout);
});
