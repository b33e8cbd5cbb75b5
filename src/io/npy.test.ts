import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeNpy } from "../tensor/npy.ts";
import { readNpy, writeNpy } from "./npy.ts";

test("writeNpy creates folders and writes a file decodeNpy reads back", async () => {
  const dir = await mkdtemp(join(tmpdir(), "camscope-npy-"));
  try {
    const path = join(dir, "a", "b", "map.npy");
    const tensor = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [3, 2] };
    await writeNpy(path, tensor);
    assert.deepEqual(decodeNpy(await readFile(path)), tensor);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("readNpy reads back what writeNpy wrote", async () => {
  const dir = await mkdtemp(join(tmpdir(), "camscope-npy-"));
  try {
    const path = join(dir, "map.npy");
    const tensor = { data: Float32Array.from([0.5, -2, 7]), dims: [1, 3] };
    await writeNpy(path, tensor);
    assert.deepEqual(await readNpy(path), tensor);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
