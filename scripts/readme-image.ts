// The README's picture: `camscope explain --method ...` on a bundled sample, whose grid.png is
// re-encoded as a 256-colour PNG (about 160 KB instead of 650 KB; the colour bars and captions stay
// legible).
//
//   node --import tsx scripts/readme-image.ts [--out docs/images/grid.png]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Four CAM methods in the first row, four pixel-attribution methods (three signed) below. */
const METHODS = "gradcam,scorecam,eigencam,relevancecam,ig,guidedbackprop,lrp,rise";
const SAMPLE = "heart-and-square";

const at = process.argv.indexOf("--out");
const out = at >= 0 ? process.argv[at + 1]! : "docs/images/grid.png";
const work = mkdtempSync(join(tmpdir(), "camscope-readme-"));
try {
  const args = ["explain", join(ROOT, "samples", `${SAMPLE}.png`), "--model", "synth-resnet"];
  execFileSync(
    process.execPath,
    [join(ROOT, "bin/camscope.js"), ...args, "--method", METHODS, "--out", work],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  mkdirSync(dirname(out), { recursive: true });
  const info = await sharp(join(work, SAMPLE, "grid.png"))
    .png({ palette: true, quality: 90, effort: 10, compressionLevel: 9 })
    .toFile(out);
  console.log(`${out}: ${info.width}x${info.height}, ${(info.size / 1000).toFixed(0)} KB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
