// A fingerprint of a synthetic dataset, to check that a seed reproduces the same data.
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import type { SyntheticSample } from "./generator.ts";

/** Incremental SHA-256 over samples' indices, sizes, pixels, categories, boxes and masks. */
export class DatasetHasher {
  readonly #hash: Hash = createHash("sha256");

  update(sample: SyntheticSample): void {
    // Integers as little-endian uint32, so the byte stream is the same on every platform.
    const header = [sample.index, sample.width, sample.height, sample.objects.length];
    this.#hash.update(uint32s(header));
    this.#hash.update(sample.rgb);
    for (const object of sample.objects) {
      this.#hash.update(uint32s([object.category, ...object.bbox]));
      this.#hash.update(object.mask);
    }
  }

  /** Lowercase hex digest; the hasher cannot be updated afterwards. */
  digest(): string {
    return this.#hash.digest("hex");
  }
}

function uint32s(values: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setUint32(i * 4, value, true));
  return bytes;
}

/** SHA-256 (hex) over samples' indices, sizes, pixels, categories, boxes and masks. */
export function datasetHash(samples: Iterable<SyntheticSample>): string {
  const hasher = new DatasetHasher();
  for (const sample of samples) hasher.update(sample);
  return hasher.digest();
}
