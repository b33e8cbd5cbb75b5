import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { assertGradients } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

// LRN is smooth (d >= bias > 0). With alpha large enough that the cross-channel term is a sizeable
// part of the gradient (a wrong window or a missing term errs by order 1), the third derivatives
// stay of order 1 on the default inputs: eps = 1/256 gives truncation ~1e-5 and float32 rounding
// ~1e-5 relative. The CaffeNet/GoogLeNet setting (alpha 1e-4) checks the ordinary scale, where
// the gradient is nearly d^-beta.
const cases: { name: string; attrs: Record<string, AttrValue> }[] = [
  {
    name: "size 5 (AlexNet/GoogLeNet), alpha 1e-4, beta 0.75",
    attrs: { size: 5, alpha: { float: 1e-4 }, beta: { float: 0.75 }, bias: { float: 1 } },
  },
  {
    name: "size 3, alpha 3, beta 0.75",
    attrs: { size: 3, alpha: { float: 3 }, beta: { float: 0.75 }, bias: { float: 1 } },
  },
  {
    // Wider than the 7 channels at the ends. (ONNX Runtime refuses even sizes.)
    name: "size 7, alpha 2, beta 0.5, bias 2",
    attrs: { size: 7, alpha: { float: 2 }, beta: { float: 0.5 }, bias: { float: 2 } },
  },
];

for (const opset of [9, 13, 21]) {
  for (const c of cases) {
    test(`LRN gradient matches finite differences: ${c.name} (opset ${opset})`, async (t) => {
      await assertGradients(t, singleOp("LRN", [7, 3, 2], c.attrs, [], opset), 1e-4);
    });
  }
}
