// .npy files on disk (Node): the maps camscope writes and the tensors it reads (an Integrated
// Gradients baseline), in the encoding of src/tensor/npy.ts.
import { CamscopeError } from "../errors.ts";
import { decodeNpy, encodeNpy } from "../tensor/npy.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { NPY_FILE_LIMIT, readInputFile, writeOutputFile } from "../util/files.ts";

/** Writes a tensor as an .npy file, creating missing parent folders. */
export async function writeNpy(path: string, tensor: FloatTensor): Promise<void> {
  const bytes = encodeNpy(tensor.data, tensor.dims);
  await writeOutputFile(path, bytes);
}

/**
 * Reads an .npy file as writeNpy writes them (float32, C order; see decodeNpy): a regular file
 * under NPY_FILE_LIMIT (a FIFO is refused unread). Errors say `Cannot read <what> "<path>": ...`.
 */
export async function readNpy(path: string, what = "the .npy tensor"): Promise<FloatTensor> {
  const bytes = await readInputFile(path, {
    what,
    limit: NPY_FILE_LIMIT,
    code: "INVALID_ARGUMENT",
  });
  try {
    return decodeNpy(bytes);
  } catch (error) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Cannot read ${what} "${path}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}
