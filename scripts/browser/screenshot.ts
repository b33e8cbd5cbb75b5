// The README's picture of the viewer, docs/images/viewer.png: a bundled sample explained with
// Grad-CAM, Score-CAM, Integrated Gradients and LRP, in headless Chromium.
//
//   node --import tsx scripts/browser/screenshot.ts [--out docs/images/viewer.png]
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { ROOT } from "./build.ts";
import { openSite, openViewer, runExplain } from "./site.ts";

const { values } = parseArgs({
  options: { out: { type: "string", default: join(ROOT, "docs", "images", "viewer.png") } },
});
const site = await openSite();
try {
  const page = await openViewer(site);
  await page.setViewportSize({ width: 1280, height: 760 });
  await page.setInputFiles("#image-files", [join(ROOT, "samples", "heart-and-square.png")]);
  await page.waitForSelector("#image-list li");
  for (const m of ["scorecam", "ig", "lrp"]) await page.check(`#methods input[value="${m}"]`);
  await runExplain(page);
  await page.evaluate("window.scrollTo(0, 0)");
  const png = await page.screenshot();
  // Half size, a 256-colour palette: small enough for the repository.
  await sharp(png).resize({ width: 960 }).png({ palette: true, colours: 256 }).toFile(values.out!);
  console.log(`wrote ${values.out}`);
} finally {
  await site.close();
}
