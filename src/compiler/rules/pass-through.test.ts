import { test } from "node:test";
import { DataType } from "../../onnx/proto.ts";
import { assertGradients } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

test("Identity gradient matches finite differences", async (t) => {
  await assertGradients(t, singleOp("Identity", [3, 4]), 1e-4);
});

test("Dropout (opset 13, data output only) gradient matches finite differences", async (t) => {
  await assertGradients(t, singleOp("Dropout", [3, 4], {}, [], 13), 1e-4);
});

test("Dropout (opset 13, constant ratio input, data output only) gradient matches finite differences", async (t) => {
  await assertGradients(
    t,
    singleOp("Dropout", [3, 4], {}, [{ name: "ratio", dims: [], data: [0.5] }], 13),
    1e-4,
  );
});

test("Cast to float of a float value gradient matches finite differences", async (t) => {
  await assertGradients(t, singleOp("Cast", [3, 4], { to: DataType.FLOAT }), 1e-4);
});
