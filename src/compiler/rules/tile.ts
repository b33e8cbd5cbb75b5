import { tensorNumbers } from "../../onnx/tensor.ts";
import type { OpRule } from "../rule.ts";

// Tile repeats axis a of x r_a times: y's axis a is [r_a, d_a] flattened (copies outermost). The
// gradient reshapes dY into those pairs (axes with r_a = 1 stay single) and sums the copies.
export const tile: OpRule = {
  op: "Tile",
  rule: (ctx) => {
    const { b, node } = ctx;
    const [x, repeats] = node.input as [string, string];
    const t = ctx.constant(repeats);
    if (!t) {
      throw ctx.unsupported(
        "its repeats are computed at run time from the data; camscope needs constant repeats",
      );
    }
    const r = tensorNumbers(t);
    const dims = ctx.dims(x);
    const batch = ctx.batchAxes(x);
    if (batch.some((a) => r[a] !== 1)) {
      throw ctx.unsupported(
        "it repeats the batch axis; camscope needs samples to stay independent",
      );
    }
    if (r.every((n) => n === 1)) {
      ctx.setGrad(0, ctx.gradOut()!);
      return;
    }
    // One batch axis is left to Reshape's -1; the others are static.
    if (batch.length > 1) {
      throw ctx.unsupported("its input has several axes that grow with the batch");
    }
    const split: number[] = [];
    const copies: number[] = [];
    dims.forEach((d, a) => {
      if (r[a] !== 1) {
        copies.push(split.length);
        split.push(r[a]!);
      }
      split.push(batch.includes(a) ? -1 : d);
    });
    const pairs = b.op("Reshape", [ctx.gradOut()!, b.int64s(split)]);
    ctx.setGrad(0, b.reduceSum(pairs, copies, false));
  },
};
