import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { decodeImage, ImageDecodeError, readImages } from "./images.ts";
import { IMAGE_FILE_LIMIT } from "../util/files.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-decode-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A 3x2 RGB image whose pixels are all different. */
const RGB = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
const raw = (data: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4) =>
  sharp(data, { raw: { width, height, channels } });

async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

test("PNG and lossless WebP decode to the exact pixels", async () => {
  const png = await file("rgb.png", await raw(RGB, 3, 2, 3).png().toBuffer());
  assert.deepEqual(await decodeImage(png), { width: 3, height: 2, data: RGB });
  const webp = await raw(RGB, 3, 2, 3).webp({ lossless: true }).toBuffer();
  const decoded = await decodeImage(webp);
  assert.deepEqual([...decoded.data], [...RGB]);
  assert.ok(!Buffer.isBuffer(decoded.data), "a plain Uint8Array, not a Buffer");
});

test("JPEG EXIF orientation is applied", async () => {
  const wide = new Uint8Array(4 * 2 * 3).fill(128);
  const jpeg = await raw(wide, 4, 2, 3).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const image = await decodeImage(jpeg, "rotated.jpg");
  assert.equal(image.width, 2);
  assert.equal(image.height, 4);
});

test("grayscale becomes RGB and alpha is flattened onto white (or a chosen colour)", async () => {
  const gray = await raw(Uint8Array.from([0, 100, 200]), 3, 1, 1)
    .png()
    .toBuffer();
  assert.deepEqual([...(await decodeImage(gray)).data], [0, 0, 0, 100, 100, 100, 200, 200, 200]);

  // Opaque red, transparent green, half-transparent blue.
  const rgba = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128]);
  const png = await raw(rgba, 3, 1, 4).png().toBuffer();
  const onWhite = await decodeImage(png);
  assert.deepEqual([...onWhite.data.subarray(0, 6)], [255, 0, 0, 255, 255, 255]);
  assert.deepEqual(
    [...onWhite.data.subarray(6)].map((v) => Math.round(v / 8)),
    [16, 16, 32],
  ); // ~127, 127, 255
  const onBlack = await decodeImage(png, undefined, { background: [0, 0, 0] });
  assert.deepEqual([...onBlack.data.subarray(0, 6)], [255, 0, 0, 0, 0, 0]);
  assert.deepEqual(
    [...onBlack.data.subarray(6)].map((v) => Math.round(v / 8)),
    [0, 0, 16],
  ); // ~0, 0, 128

  const grayAlpha = await raw(Uint8Array.from([50, 0, 50, 255]), 2, 1, 2)
    .png()
    .toBuffer();
  assert.deepEqual([...(await decodeImage(grayAlpha)).data], [255, 255, 255, 50, 50, 50]);
});

test("16-bit PNGs are reduced to 8 bits", async () => {
  const png16 = await raw(RGB, 3, 2, 3).toColourspace("rgb16").png().toBuffer();
  assert.deepEqual([...(await decodeImage(png16)).data], [...RGB]);
});

test("files that are not images fail with the file name and the reason", async () => {
  const text = await file("notes.txt", "hello, this is not an image");
  await assert.rejects(decodeImage(text), {
    name: "ImageDecodeError",
    message: `Cannot decode image "${text}": unsupported image format`,
  });
  const missing = join(dir, "missing.png");
  await assert.rejects(decodeImage(missing), {
    message: `Cannot decode image "${missing}": file not found`,
  });
  const empty = await file("empty.png", new Uint8Array(0));
  await assert.rejects(decodeImage(empty), /: file is empty$/);
  await assert.rejects(decodeImage(dir), /: is a folder, not a regular file$/);
});

test("FIFOs, devices and files over the size limit are refused before any byte is read", async () => {
  // A FIFO with no writer would block a plain read forever; /dev/zero would fill memory.
  const fifo = join(dir, "pipe.png");
  execFileSync("mkfifo", [fifo]);
  await assert.rejects(
    decodeImage(fifo),
    /pipe\.png": is a FIFO \(named pipe\), not a regular file$/,
  );
  await assert.rejects(
    decodeImage("/dev/zero"),
    /"\/dev\/zero": is a character device, not a regular file$/,
  );
  const big = join(dir, "big.png");
  await writeFile(big, "");
  await truncate(big, IMAGE_FILE_LIMIT + 1);
  await assert.rejects(decodeImage(big), /big\.png": is 268435457 bytes, over the 256 MiB limit$/);
  await assert.rejects(decodeImage(123 as never), /expected a file path or the file's bytes/);
});

test("truncated or corrupt images are errors, not half-decoded pictures", async () => {
  const noise = {
    create: {
      width: 64,
      height: 64,
      channels: 3 as const,
      background: "#888",
      noise: { type: "gaussian" as const, mean: 128, sigma: 40 },
    },
  };
  for (const [name, bytes] of [
    ["cut.png", await sharp(noise).png().toBuffer()],
    ["cut.jpg", await sharp(noise).jpeg().toBuffer()],
    ["cut.webp", await sharp(noise).webp().toBuffer()],
  ] as const) {
    const path = await file(name, bytes.subarray(0, bytes.length >> 1));
    await assert.rejects(decodeImage(path), (err: unknown) => {
      assert.ok(err instanceof ImageDecodeError);
      assert.equal(err.source, path);
      assert.match(
        err.message,
        /^Cannot decode image ".*cut\.\w+": (corrupt or truncated image data|unsupported image format)/,
      );
      return true;
    });
  }
});

test("other formats sharp could read are refused by name", async () => {
  const gif = await raw(RGB, 3, 2, 3).gif().toBuffer();
  await assert.rejects(decodeImage(gif, "anim.gif"), {
    message:
      'Cannot decode image "anim.gif": unsupported image format "gif" (supported: PNG, JPEG, WebP)',
  });
  await assert.rejects(
    decodeImage(Uint8Array.from([1, 2, 3])),
    /Cannot decode image "<3-byte buffer>"/,
  );
});

test("readImages decodes many files in order, and names the one that fails", async () => {
  const paths = await Promise.all(
    [0, 1, 2, 3, 4].map(async (i) =>
      file(
        `n${i}.png`,
        await raw(new Uint8Array(3 * (i + 1)).fill(i * 10), i + 1, 1, 3)
          .png()
          .toBuffer(),
      ),
    ),
  );
  const images = await readImages(paths, { concurrency: 2 });
  assert.deepEqual(
    images.map((im) => [im.width, im.data[0]]),
    [
      [1, 0],
      [2, 10],
      [3, 20],
      [4, 30],
      [5, 40],
    ],
  );
  const bad = await file("bad.png", "nope");
  await assert.rejects(readImages([paths[0]!, bad]), {
    message: `Cannot decode image "${bad}": unsupported image format`,
  });
  assert.deepEqual(await readImages([]), []);
});

test("ICC-tagged photos decode to PIL's bytes; colour management converts them to sRGB", async () => {
  const fixtures = join(import.meta.dirname, "fixtures", "icc");
  const pil = JSON.parse(await readFile(join(fixtures, "pil.json"), "utf8")) as Record<
    string,
    { width: number; height: number; iccBytes: number; sha256: string }
  >;
  assert.deepEqual(Object.keys(pil).sort(), ["display-p3.jpg", "display-p3.png"]);
  for (const [name, expected] of Object.entries(pil)) {
    assert.ok(expected.iccBytes > 0, `${name} carries a profile`);
    const path = join(fixtures, name);
    const plain = await decodeImage(path);
    assert.equal(plain.width, expected.width);
    assert.equal(createHash("sha256").update(plain.data).digest("hex"), expected.sha256, name);
    const managed = await decodeImage(path, undefined, { colorManagement: true });
    let largest = 0;
    for (let i = 0; i < plain.data.length; i++) {
      largest = Math.max(largest, Math.abs(plain.data[i]! - managed.data[i]!));
    }
    // Display P3 -> sRGB moves saturated colours by tens of levels.
    assert.ok(largest >= 10, `${name}: colour management changed pixels by only ${largest}`);
  }
});
