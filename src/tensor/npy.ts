// NumPy .npy files (format version 1.0) for maps, so that Python tools can load camscope's output
// with np.load. Only what camscope writes is supported: float32, little-endian, C order.
//
// Layout: the magic "\x93NUMPY", version bytes 1 0, a little-endian uint16 header length, then the
// header, a Python dict literal in ASCII padded with spaces and ended by "\n" so that the data
// starts at a multiple of 64 bytes (the alignment numpy writes and recommends for mmap).
import { CamscopeError } from "../errors.ts";
import type { FloatTensor } from "./tensor.ts";

// "\x93NUMPY"
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const PREAMBLE = MAGIC.length + 2 + 2;
const ALIGNMENT = 64;
// Version 1.0 stores the header length in a uint16.
const MAX_HEADER = 0xffff;

/** The header dict numpy writes: a 1-tuple keeps its trailing comma, `(5,)`. */
function headerText(shape: readonly number[]): string {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  const total = PREAMBLE + dict.length + 1;
  const padded = dict + " ".repeat((ALIGNMENT - (total % ALIGNMENT)) % ALIGNMENT) + "\n";
  if (padded.length > MAX_HEADER)
    throw new CamscopeError("INVALID_ARGUMENT", `npy header too long for shape (${shape})`);
  return padded;
}

/** Encodes a float32 array of `shape` (C order) as the bytes of an .npy file. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `npy shape must be non-negative integers, got (${shape})`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `npy shape (${shape}) holds ${count} values, got ${data.length}`,
    );
  }
  const header = headerText(shape);
  const bytes = new Uint8Array(PREAMBLE + header.length + 4 * data.length);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[MAGIC.length] = 1;
  bytes[MAGIC.length + 1] = 0;
  view.setUint16(MAGIC.length + 2, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[PREAMBLE + i] = header.charCodeAt(i);
  // DataView writes little-endian whatever the host's byte order.
  const offset = PREAMBLE + header.length;
  for (let i = 0; i < data.length; i++) view.setFloat32(offset + 4 * i, data[i]!, true);
  return bytes;
}

/**
 * Reads back an .npy file as encodeNpy writes them (version 1.0, '<f4', C order); anything else
 * is rejected rather than misread.
 */
export function decodeNpy(bytes: Uint8Array): FloatTensor {
  const fail = (why: string): never => {
    throw new CamscopeError("INVALID_ARGUMENT", `Not a camscope .npy file: ${why}`);
  };
  if (bytes.length < PREAMBLE || MAGIC.some((b, i) => bytes[i] !== b)) fail("bad magic");
  if (bytes[MAGIC.length] !== 1) fail(`format version ${bytes[MAGIC.length]} is not 1`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint16(MAGIC.length + 2, true);
  const offset = PREAMBLE + headerLength;
  if (offset > bytes.length) fail("truncated header");
  const header = new TextDecoder("latin1").decode(bytes.subarray(PREAMBLE, offset));
  if (!/'descr': '<f4'/.test(header)) fail(`dtype is not '<f4' in ${header.trim()}`);
  if (!/'fortran_order': False/.test(header)) fail("not C order");
  const tuple = /'shape': \(([\d, ]*)\)/.exec(header)?.[1] ?? fail("no shape");
  const dims = tuple
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== 4 * count) {
    fail(`shape (${dims}) needs ${4 * count} data bytes, found ${bytes.length - offset}`);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
  return { data, dims };
}
