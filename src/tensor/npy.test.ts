import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeNpy, encodeNpy } from "./npy.ts";

/** The file's parts read by hand, following the NPY 1.0 specification rather than decodeNpy. */
function parts(bytes: Uint8Array): { version: number[]; header: string; data: Float32Array } {
  const headerLength = bytes[8]! | (bytes[9]! << 8);
  const header = Buffer.from(bytes.subarray(10, 10 + headerLength)).toString("latin1");
  const body = bytes.slice(10 + headerLength);
  const view = new DataView(body.buffer);
  const data = Float32Array.from({ length: body.length / 4 }, (_, i) =>
    view.getFloat32(4 * i, true),
  );
  return { version: [bytes[6]!, bytes[7]!], header, data };
}

test("an .npy file has the magic, version 1.0 and a header padded to 64-byte data", () => {
  for (const shape of [[2, 3], [5], [], [1, 4, 128, 128], [0, 7]]) {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: count }, (_, i) => (i - 3) / 7);
    const bytes = encodeNpy(values, shape);
    assert.deepEqual([...bytes.subarray(0, 6)], [0x93, ...Buffer.from("NUMPY")]);
    const { version, header, data } = parts(bytes);
    assert.deepEqual(version, [1, 0]);
    assert.equal((10 + header.length) % 64, 0, `data offset for shape (${shape})`);
    assert.ok(header.endsWith("\n"));
    assert.ok(/^[\x20-\x7e]*\n$/.test(header), "printable ASCII ending in a newline");
    const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
    assert.equal(header.trimEnd(), `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`);
    assert.deepEqual(data, values);
    assert.deepEqual(decodeNpy(bytes), { data: values, dims: shape });
  }
});

test("float32 values keep their bits, special values included", () => {
  const values = Float32Array.from([0, -0, 1.5, -2.25e-38, 3.4e38, Infinity, -Infinity, NaN]);
  const back = parts(encodeNpy(values, [values.length])).data;
  assert.deepEqual(new Uint32Array(back.buffer), new Uint32Array(values.buffer));
});

test("a shape that does not match the data is rejected", () => {
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /holds 6 values, got 5/);
  assert.throws(() => encodeNpy(new Float32Array(0), [-1]), /non-negative integers/);
});

test("decodeNpy rejects files it would misread", () => {
  const good = encodeNpy(new Float32Array(4), [4]);
  const bad = Uint8Array.from(good);
  bad[0] = 0;
  assert.throws(() => decodeNpy(bad), /bad magic/);
  const f8 = Uint8Array.from(good);
  f8.set(Buffer.from("'<f8'"), 10 + "{'descr': ".length);
  assert.throws(() => decodeNpy(f8), /dtype is not '<f4'/);
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 1)), /needs 16 data bytes/);
});
