// Decoding the reference fixtures written by scripts/reference/*.py, and the per-row errors the
// reference tests hold them to.
import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";

export function floats(base64: string): Float32Array {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}

/**
 * A final map in the fixture's encoding: q = round(65535 v) as uint16 differences along each image
 * row (modulo 65536), zlib-compressed, base64. Decoded values are within 7.7e-6 of the reference.
 */
export function decodeMap(
  base64: string,
  rows: number,
  height: number,
  width: number,
): Float32Array {
  const bytes = inflateSync(Buffer.from(base64, "base64"));
  const deltas = new Uint16Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  assert.equal(deltas.length, rows * height * width, "encoded map size");
  const out = new Float32Array(deltas.length);
  for (let line = 0; line < rows * height; line++) {
    let q = 0;
    for (let x = 0; x < width; x++) {
      const j = line * width + x;
      q = (q + deltas[j]!) & 0xffff;
      out[j] = q / 65535;
    }
  }
  return out;
}

/** Per row: max |a - b| / max |b| (max |a - b| where b is all zero), optionally against -b. */
export function rowRelative(a: Float32Array, b: Float32Array, rows: number): number[] {
  const per = b.length / rows;
  return Array.from({ length: rows }, (_, i) => {
    let diff = 0;
    let scale = 0;
    for (let p = i * per; p < (i + 1) * per; p++) {
      diff = Math.max(diff, Math.abs(a[p]! - b[p]!));
      scale = Math.max(scale, Math.abs(b[p]!));
    }
    return scale > 0 ? diff / scale : diff;
  });
}

export function rowAbsolute(a: Float32Array, b: Float32Array, rows: number): number[] {
  const per = b.length / rows;
  return Array.from({ length: rows }, (_, i) => {
    let diff = 0;
    for (let p = i * per; p < (i + 1) * per; p++) diff = Math.max(diff, Math.abs(a[p]! - b[p]!));
    return diff;
  });
}

/**
 * A tensor [rows, ...] in make_lrp_fixtures.py's RELEVANCE_ENCODING: per row a scale (the row's
 * largest magnitude) and q = round(v / scale * 2^20) as int32, zlib-compressed, base64.
 */
export function decodeQuantized(encoded: { scale: number[]; q: string }): Float32Array {
  const bytes = inflateSync(Buffer.from(encoded.q, "base64"));
  const q = new Int32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  const rows = encoded.scale.length;
  const per = q.length / rows;
  assert.ok(Number.isInteger(per), "encoded tensor size");
  return Float32Array.from(q, (v, j) => (v / 2 ** 20) * encoded.scale[Math.floor(j / per)]!);
}

/** Float32 little-endian values, zlib-compressed, base64 (make_attribution_fixtures.py). */
export function compressedFloats(encoded: string): Float32Array {
  const bytes = inflateSync(Buffer.from(encoded, "base64"));
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}
