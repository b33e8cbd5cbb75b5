import { attrInt } from "../../onnx/attributes.ts";
import type { OpRule } from "../rule.ts";

// Each input receives its own block of the output gradient: a Split by the inputs' static sizes.
export const concat: OpRule = {
  op: "Concat",
  rule: (ctx) => {
    const { b, node } = ctx;
    const y = node.output[0]!;
    const rank = ctx.dims(y).length;
    const raw = attrInt(node, "axis", 0);
    const axis = raw < 0 ? raw + rank : raw;
    if (ctx.batchAxes(y).includes(axis)) {
      throw ctx.unsupported(
        "it concatenates along the batch axis; camscope needs samples to stay independent",
      );
    }
    const dy = ctx.gradOut()!;
    const parts =
      node.input.length === 1
        ? [dy]
        : b.split(
            dy,
            axis,
            node.input.map((i) => ctx.dims(i)[axis]!),
          );
    node.input.forEach((_, k) => {
      if (ctx.needsGrad(k)) ctx.setGrad(k, parts[k]!);
    });
  },
};
