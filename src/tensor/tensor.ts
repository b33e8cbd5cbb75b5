// Float tensors as camscope passes them between its layers: row-major data with its dims, batch
// first. Plain typed arrays, so that everything above runs in Node and in browsers alike.

/** A float tensor: data in row-major order with its dims. */
export interface FloatTensor {
  /** The values, row-major. */
  data: Float32Array;
  /** The shape. */
  dims: number[];
}

/** The number of elements of a tensor with these dims (1 for a scalar). */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Copies rows of a batch tensor: row i of the result is row index[i] of `t`. */
export function gatherRows(t: FloatTensor, index: readonly number[]): FloatTensor {
  const per = sizeOf(t.dims.slice(1));
  if (index.length === t.dims[0] && index.every((v, i) => v === i)) return t;
  const data = new Float32Array(index.length * per);
  index.forEach((r, i) => data.set(t.data.subarray(r * per, (r + 1) * per), i * per));
  return { data, dims: [index.length, ...t.dims.slice(1)] };
}
