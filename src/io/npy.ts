// .npy files on disk (Node): the maps camscope writes and the tensors it reads (an Integrated
// Gradients baseline), in the encoding of src/tensor/npy.ts.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { decodeNpy, encodeNpy } from "../tensor/npy.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** Writes a tensor as an .npy file, creating missing parent folders. */
export async function writeNpy(path: string, tensor: FloatTensor): Promise<void> {
  const bytes = encodeNpy(tensor.data, tensor.dims);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

/** Reads an .npy file as writeNpy writes them (float32, C order; see decodeNpy). */
export async function readNpy(path: string): Promise<FloatTensor> {
  return decodeNpy(await readFile(path));
}
