import { attrInt } from "../../onnx/attributes.ts";
import { tensorNumbers } from "../../onnx/tensor.ts";
import type { OpRule } from "../rule.ts";

/**
 * Gather of float data at constant indices along an axis that is not the batch's. dY is
 * data.shape[:axis] + indices.shape + data.shape[axis+1:]; with the index axes merged into one of
 * K entries, a run of consecutive indices (the class token x[:, 0], one head of qkv[k]) is placed
 * back by zero padding, and any other list by a product with the [K, D] selection matrix
 * (S[k][j] = 1 where index k is j) along that axis, so repeated indices sum their gradients.
 */
export const gather: OpRule = {
  op: "Gather",
  rule: (ctx) => {
    const { b, node } = ctx;
    const [data, indices] = node.input as [string, string];
    const t = ctx.constant(indices);
    if (!t) {
      throw ctx.unsupported(
        "its indices are computed at run time from the data; camscope differentiates Gather only at constant indices",
      );
    }
    const dims = ctx.dims(data);
    const rank = dims.length;
    const raw = attrInt(node, "axis", 0);
    const axis = raw < 0 ? raw + rank : raw;
    if (ctx.batchAxes(data).includes(axis)) {
      throw ctx.unsupported(
        "it gathers along the batch axis; camscope needs samples to stay independent",
      );
    }
    const size = dims[axis]!;
    const index = tensorNumbers(t).map((i) => (i < 0 ? i + size : i));
    const indexRank = (t.dims ?? []).length;
    let g = ctx.gradOut()!;
    if (indexRank === 0) g = b.unsqueeze(g, [axis]);
    else if (indexRank > 1) {
      // Static dims, the batch's copied (0) where it keeps its index or inferred (-1) after.
      const y = node.output[0]!;
      const yBatch = ctx.batchAxes(y);
      const yDims = ctx.dims(y);
      const merged = [
        ...yDims.slice(0, axis).map((d, a) => (yBatch.includes(a) ? 0 : d)),
        index.length,
        ...yDims
          .slice(axis + indexRank)
          .map((d, k) => (yBatch.includes(axis + indexRank + k) ? -1 : d)),
      ];
      g = b.op("Reshape", [g, b.int64s(merged)]);
    }
    const first = index[0]!;
    if (index.every((j, k) => j === first + k)) {
      const pads = new Array<number>(2 * rank).fill(0);
      pads[axis] = first;
      pads[rank + axis] = size - first - index.length;
      ctx.setGrad(0, b.padZeros(g, pads));
      return;
    }
    const selection = new Float32Array(index.length * size);
    index.forEach((j, k) => (selection[k * size + j] = 1));
    const s = b.floats(selection, [index.length, size], "gather_selection");
    if (axis === rank - 1) {
      ctx.setGrad(0, b.op("MatMul", [g, s]));
      return;
    }
    // The gathered axis moved last, multiplied, and moved back.
    const perm = [...Array.from({ length: rank }, (_, a) => a).filter((a) => a !== axis), axis];
    const inverse = perm.map((_, a) => perm.indexOf(a));
    const moved = b.op("MatMul", [b.op("Transpose", [g], { perm }), s]);
    ctx.setGrad(0, b.op("Transpose", [moved], { perm: inverse }));
  },
};
