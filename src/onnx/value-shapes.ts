// The dims of a model's values at the compiled input size, and which of their axes grow with the
// batch. Kept free of the engine so that the compiler, which reads it, also runs in browsers.

/**
 * Dims of the inputs and every float value at batch 1 (a plain map, as callers read it), with,
 * where a second probe at batch 2 could tell, the axes whose size differs between the two.
 */
export class ValueShapes extends Map<string, number[]> {
  /**
   * Per value, the axes whose size grows with the batch ([] for values that do not); empty when
   * the model could not be probed at a second batch size.
   */
  readonly batchAxes = new Map<string, number[]>();

  /** A copy (dims and batch axes) to which a derived model's extra values can be added. */
  copy(): ValueShapes {
    const out = new ValueShapes(this);
    for (const [k, v] of this.batchAxes) out.batchAxes.set(k, v);
    return out;
  }
}
