import { DataType } from "../../onnx/proto.ts";
import type { OpRule } from "../rule.ts";
import { sizeOf } from "../../tensor/tensor.ts";

// Each channel's gradient goes to the first maximum of its spatial positions in row-major order
// (PyTorch's adaptive_max_pool index): ArgMax over the flattened positions, which returns the
// first index among ties, compared with the vector of all position indices.
export const globalMaxPool: OpRule = {
  op: "GlobalMaxPool",
  rule: (ctx) => {
    const { b, node } = ctx;
    const x = node.input[0]!;
    const [, channels, ...spatial] = ctx.dims(x) as [number, number, ...number[]];
    const positions = sizeOf(spatial);
    const flat = b.op("Reshape", [x, b.int64s([0, channels, positions])]);
    const first = b.op("ArgMax", [flat], { axis: 2, keepdims: 1 });
    const indices = b.int64s(Array.from({ length: positions }, (_, i) => i));
    const oneHot = b.op("Cast", [b.op("Equal", [first, indices])], { to: DataType.FLOAT });
    const dy = b.op("Reshape", [ctx.gradOut()!, b.int64s([0, channels, 1])]);
    ctx.setGrad(0, b.reshapeLike(b.mul(oneHot, dy), x));
  },
};
