import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeImage } from "./images.ts";
import { encodePng, writePng } from "./png.ts";
import type { RgbImage } from "../image/types.ts";

const IMAGE: RgbImage = {
  width: 2,
  height: 2,
  data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252]),
};
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

test("encodePng makes a PNG that decodes to the same pixels", async () => {
  const png = await encodePng(IMAGE);
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
  assert.deepEqual(await decodeImage(png), IMAGE);
});

test("writePng creates missing folders and writes the file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "camscope-png-"));
  try {
    const path = join(dir, "a", "b", "out.png");
    await writePng(path, IMAGE);
    assert.deepEqual([...(await readFile(path)).subarray(0, 8)], PNG_SIGNATURE);
    assert.deepEqual(await decodeImage(path), IMAGE);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a malformed image is refused before encoding", async () => {
  await assert.rejects(
    encodePng({ width: 2, height: 2, data: new Uint8Array(5) }),
    /needs 12 bytes, got 5/,
  );
});
