// Writes the colour-profile test images: a bundled sample converted to Display P3 and tagged with
// that profile, as PNG and JPEG (what phones produce). Their PIL decodings are recorded by
// scripts/reference/make_icc_fixtures.py.
//
//   node --import tsx scripts/make-icc-fixtures.ts
import sharp from "sharp";

const source = "samples/heart-and-square.png";
const out = "src/io/fixtures/icc";
await sharp(source).withIccProfile("p3").png().toFile(`${out}/display-p3.png`);
await sharp(source).withIccProfile("p3").jpeg({ quality: 92 }).toFile(`${out}/display-p3.jpg`);
