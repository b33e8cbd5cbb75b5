import { CamscopeError } from "../../errors.ts";
import { attrInt } from "../../onnx/attributes.ts";
import { sizeOf, tensorNumbers } from "../../onnx/tensor.ts";
import type { OpRule } from "../rule.ts";

/**
 * Gather of float data at constant indices along a non-batch axis. With the indices flattened to
 * K entries and the axes after `axis` to R, dY is [N, ..., K, R]; the data gradient [N, ..., D, R]
 * is S . dY with S the [D, K] selection matrix (S[j][k] = 1 where index k is j), so repeated
 * indices sum their gradients.
 */
export const gather: OpRule = {
  op: "Gather",
  rule: (ctx) => {
    const { b, node } = ctx;
    const [data, indices] = node.input as [string, string];
    const name = node.name ?? "";
    const t = ctx.constant(indices);
    if (!t) {
      throw new CamscopeError(
        "UNSUPPORTED_OP",
        `Gather node "${name}" has indices computed at run time; camscope differentiates Gather only at constant indices`,
      );
    }
    const dims = ctx.dims(data);
    const raw = attrInt(node, "axis", 0);
    const axis = raw < 0 ? raw + dims.length : raw;
    if (axis === 0) {
      throw new CamscopeError(
        "UNSUPPORTED_OP",
        `Gather node "${name}" gathers along the batch axis; camscope needs samples to stay independent`,
      );
    }
    const size = dims[axis]!;
    const index = tensorNumbers(t).map((i) => (i < 0 ? i + size : i));
    const selection = new Float32Array(size * index.length);
    index.forEach((j, k) => (selection[j * index.length + k] = 1));
    const blocks = b.op("Reshape", [
      ctx.gradOut()!,
      b.int64s([0, ...dims.slice(1, axis), index.length, sizeOf(dims.slice(axis + 1))]),
    ]);
    const summed = b.op("MatMul", [
      b.floats(selection, [size, index.length], "gather_selection"),
      blocks,
    ]);
    ctx.setGrad(0, b.reshapeLike(summed, data));
  },
};
