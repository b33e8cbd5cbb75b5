// Small on-disk datasets for loader tests: a temp folder and real PNG files in it.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import sharp from "sharp";

/** A fresh temp folder; `cleanup` removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "camscope-data-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes a grey width x height PNG at `path`, creating its folder. */
export async function writeImage(path: string, width: number, height: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const pixels = new Uint8Array(width * height * 3).fill(128);
  await sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

/** Writes text (a stand-in for a corrupt image, or an annotation file), creating its folder. */
export async function writeText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}
