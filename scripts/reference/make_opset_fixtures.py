#!/usr/bin/python3
"""Old-opset models for camscope's opset upgrade (src/models/intake/opset.ts), with the same
models converted by onnx.version_converter.

Every case is a small model at an old opset (1 to 12) built with onnx.helper, or exported by
torch.onnx, covering one version change of one operator (or a mix, for the Caffe2-style nets and
the PyTorch exports). For each case the script writes

    <name>.onnx      the old-opset model
    <name>.vc.onnx   onnx.version_converter.convert_version(model, 13), when it succeeds

and an entry in cases.json with deterministic random inputs (seeded by the case name), the
converter's error when it fails, and, for opsets below 7 (which ONNX Runtime does not run), the
outputs of a NumPy implementation of the old operator. schema-13.json lists every default-domain
operator of opset 13 with its attributes and input/output counts, so that the test can check the
upgraded graphs against the opset-13 schemas without Python; op-versions.json lists every
operator's since_versions (onnx 1.12: up to opset 17), against which the upgrade's own table is
checked.

Run with Debian's Python (onnx 1.12, numpy, torch 1.13):

    /usr/bin/python3 scripts/reference/make_opset_fixtures.py [--out DIR]

Reruns reproduce identical files.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import warnings
import zlib
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import onnx
import onnx.defs
from onnx import TensorProto, helper, numpy_helper, version_converter

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "models", "intake", "fixtures", "opset")
TARGET = 13

# The IR version of the ONNX release that introduced each opset (onnx.helper.VERSION_TABLE).
IR_FOR_OPSET = {1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7}

F = TensorProto.FLOAT
I64 = TensorProto.INT64
NP_TYPES = {F: np.float32, I64: np.int64, TensorProto.INT32: np.int32, TensorProto.BOOL: np.bool_}
TYPE_NAMES = {F: "float32", I64: "int64", TensorProto.INT32: "int32", TensorProto.BOOL: "bool"}


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


class Case:
    def __init__(self, name: str, opset: int, description: str):
        self.name = name
        self.opset = opset
        self.description = description
        self.nodes: List[onnx.NodeProto] = []
        self.inputs: List[onnx.ValueInfoProto] = []
        self.feeds: Dict[str, np.ndarray] = {}
        self.initializers: List[onnx.TensorProto] = []
        self.outputs: List[str] = []
        self.rng = rng_for(name)
        self.bitwise = True
        self.reference: Optional[Callable[[Dict[str, np.ndarray]], Dict[str, np.ndarray]]] = None
        self.declare_ranks = True
        self.model: Optional[onnx.ModelProto] = None

    def input(self, name: str, shape: Sequence[int], elem=F, data=None, positive=False):
        if data is None:
            if elem == F:
                data = self.rng.standard_normal(shape).astype(np.float32)
                if positive:
                    data = np.abs(data) + np.float32(0.1)
            elif elem == TensorProto.BOOL:
                data = self.rng.random(shape) > 0.5
            else:
                data = self.rng.integers(0, 3, size=shape).astype(NP_TYPES[elem])
        self.inputs.append(
            helper.make_tensor_value_info(name, elem, list(shape) if self.declare_ranks else None)
        )
        self.feeds[name] = np.asarray(data, dtype=NP_TYPES[elem])
        return name

    def init(self, name: str, value: np.ndarray):
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def rand(self, name: str, shape, positive=False, scale=1.0):
        v = self.rng.standard_normal(shape).astype(np.float32) * np.float32(scale)
        if positive:
            v = np.abs(v) + np.float32(0.5)
        return self.init(name, v)

    def node(self, op: str, inputs, outputs, **attrs):
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def build(self) -> onnx.ModelProto:
        if self.model is not None:
            return self.model
        inputs = list(self.inputs)
        ir = IR_FOR_OPSET[self.opset]
        if ir < 4:
            # IR 3 files list every initializer among the graph inputs.
            inputs += [
                helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                for t in self.initializers
            ]
        graph = helper.make_graph(
            self.nodes,
            self.name,
            inputs,
            [helper.make_empty_tensor_value_info(o) for o in self.outputs],
            initializer=self.initializers,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", self.opset)], producer_name="camscope"
        )
        model.ir_version = ir
        return model


CASES: List[Case] = []


def case(name: str, opset: int, description: str) -> Case:
    c = Case(name, opset, description)
    CASES.append(c)
    return c


# ---------------------------------------------------------------------------------------------
# Opsets below 7: ONNX Runtime does not run them, so NumPy computes the old operator.
# ---------------------------------------------------------------------------------------------


def legacy_cases() -> None:
    c = case("add_broadcast_axis_op6", 6, "Add-6 broadcast=1 axis=1: B [3,4] aligned at axis 1")
    x = c.input("x", [2, 3, 4, 5])
    c.rand("b", [3, 4])
    c.outputs = [c.node("Add", [x, "b"], ["y"], broadcast=1, axis=1)]
    c.reference = lambda f: {"y": f["x"] + f["b"][None, :, :, None]}

    c = case(
        "mul_broadcast_axis_dynamic_op6", 6, "Mul-6 broadcast axis=1 on a value of unknown rank"
    )
    x = c.input("x", [2, 3, 4, 5])
    r = c.node("Relu", [x], ["r"])
    c.rand("b", [3])
    c.outputs = [c.node("Mul", [r, "b"], ["y"], broadcast=1, axis=1)]
    c.reference = lambda f: {"y": np.maximum(f["x"], 0) * f["b"][None, :, None, None]}

    c = case("sub_broadcast_suffix_op6", 6, "Sub-6 broadcast=1 without axis: suffix matching")
    x = c.input("x", [2, 3, 4, 5])
    c.rand("b", [4, 5])
    c.outputs = [c.node("Sub", [x, "b"], ["y"], broadcast=1)]
    c.reference = lambda f: {"y": f["x"] - f["b"]}

    c = case("div_same_shape_consumed_op5", 5, "Div-1 with consumed_inputs, same shapes")
    x = c.input("x", [2, 3])
    z = c.input("z", [2, 3], positive=True)
    c.outputs = [c.node("Div", [x, z], ["y"], consumed_inputs=[0, 0])]
    c.reference = lambda f: {"y": f["x"] / f["z"]}

    c = case("pow_broadcast_axis_op6", 6, "Pow-1 broadcast=1 axis=1")
    x = c.input("x", [2, 3, 4], positive=True)
    c.init("e", np.array([0.5, 2.0, 3.0], np.float32))
    c.outputs = [c.node("Pow", [x, "e"], ["y"], broadcast=1, axis=1)]
    c.reference = lambda f: {"y": np.power(f["x"], f["e"][None, :, None])}
    c.bitwise = False  # NumPy's pow is not ONNX Runtime's

    c = case("greater_broadcast_axis_op6", 6, "Greater-1 broadcast=1 axis=1, bool output")
    x = c.input("x", [2, 3, 4])
    c.rand("b", [3])
    c.outputs = [c.node("Greater", [x, "b"], ["y"], broadcast=1, axis=1)]
    c.reference = lambda f: {"y": f["x"] > f["b"][None, :, None]}

    c = case("relu_consumed_op5", 5, "Relu-1 with consumed_inputs")
    x = c.input("x", [2, 3, 4])
    c.outputs = [c.node("Relu", [x], ["y"], consumed_inputs=[1])]
    c.reference = lambda f: {"y": np.maximum(f["x"], 0)}

    def bn(f, eps=1e-5):
        s, b, m, v = (f[k][None, :, None, None] for k in ("s", "bias", "m", "v"))
        return {"y": ((f["x"] - m) / np.sqrt(v + np.float32(eps)) * s + b).astype(np.float32)}

    for name, opset, attrs in [
        ("bn_is_test_op6", 6, dict(is_test=1, epsilon=1e-3)),
        ("bn_consumed_op5", 5, dict(is_test=1, consumed_inputs=[0, 0, 0, 1, 1], epsilon=1e-3)),
    ]:
        c = case(name, opset, f"BatchNormalization with {', '.join(attrs)}")
        x = c.input("x", [2, 3, 4, 5])
        c.rand("s", [3])
        c.rand("bias", [3])
        c.rand("m", [3])
        c.rand("v", [3], positive=True)
        c.outputs = [c.node("BatchNormalization", [x, "s", "bias", "m", "v"], ["y"], **attrs)]
        c.reference = lambda f: bn(f, 1e-3)
        c.bitwise = False

    c = case("dropout_is_test_op6", 6, "Dropout-6 is_test=1 ratio=0.3: identity")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("Dropout", [x], ["y"], is_test=1, ratio=0.3)]
    c.reference = lambda f: {"y": f["x"]}

    c = case("reshape_attr_op4", 4, "Reshape-1 with the shape attribute (0 copies, -1 infers)")
    x = c.input("x", [2, 3, 4])
    c.outputs = [c.node("Reshape", [x], ["y"], shape=[0, -1])]
    c.reference = lambda f: {"y": f["x"].reshape(2, 12)}

    c = case("prelu_per_channel_op6", 6, "PRelu-6 with a [C] slope on NCHW: per channel")
    x = c.input("x", [2, 3, 4, 5])
    c.init("slope", np.array([0.1, -0.5, 2.0], np.float32))
    c.outputs = [c.node("PRelu", [x, "slope"], ["y"])]
    c.reference = lambda f: {
        "y": np.where(f["x"] > 0, f["x"], f["x"] * f["slope"][None, :, None, None])
    }

    c = case("cast_string_op5", 5, "Cast-1 with to='INT32' (a type name)")
    x = c.input("x", [2, 3], data=np.array([[1.5, -2.5, 3.0], [0.2, 7.9, -0.9]], np.float32))
    c.outputs = [c.node("Cast", [x], ["y"], to="INT32")]
    c.reference = lambda f: {"y": f["x"].astype(np.int32)}

    c = case("concat_default_axis_op3", 3, "Concat-1 without axis: axis 1")
    a = c.input("a", [2, 3])
    b = c.input("b", [2, 2])
    c.outputs = [c.node("Concat", [a, b], ["y"])]
    c.reference = lambda f: {"y": np.concatenate([f["a"], f["b"]], axis=1)}

    c = case("gemm_broadcast_op6", 6, "Gemm-6 broadcast=1 with C [N]")
    a = c.input("a", [2, 3])
    c.rand("w", [4, 3])
    c.rand("cb", [4])
    c.outputs = [c.node("Gemm", [a, "w", "cb"], ["y"], transB=1, broadcast=1, alpha=0.5)]
    c.reference = lambda f: {
        "y": (np.float32(0.5) * f["a"] @ f["w"].T + f["cb"]).astype(np.float32)
    }
    c.bitwise = False

    c = case("global_lp_pool_float_p_op1", 1, "GlobalLpPool-1 with p as a float")
    x = c.input("x", [2, 3, 4, 5])
    c.outputs = [c.node("GlobalLpPool", [x], ["y"], p=2.0)]
    c.reference = lambda f: {"y": np.sqrt((f["x"] ** 2).sum(axis=(2, 3), keepdims=True))}
    c.bitwise = False

    c = case("selu_defaults_op5", 5, "Selu-1 without attributes: its own defaults")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("Selu", [x], ["y"])]
    c.reference = lambda f: {
        "y": np.float32(1.0507)
        * np.where(f["x"] > 0, f["x"], np.float32(1.6732) * (np.exp(f["x"]) - 1)).astype(np.float32)
    }
    c.bitwise = False


# ---------------------------------------------------------------------------------------------
# Opsets 7 to 12, one operator (or one version change) per case.
# ---------------------------------------------------------------------------------------------


def resize_cases() -> None:
    for name, opset, mode, scales, shape in [
        ("upsample_nearest_int_op7", 7, "nearest", [1, 1, 2, 3], [1, 2, 3, 4]),
        ("upsample_nearest_frac_op7", 7, "nearest", [1, 1, 1.5, 2.5], [1, 2, 5, 3]),
        ("upsample_linear_int_op7", 7, "linear", [1, 1, 2, 2], [1, 2, 3, 4]),
        ("upsample_linear_frac_op8", 8, "linear", [1, 1, 1.7, 2.3], [2, 2, 4, 3]),
    ]:
        c = case(name, opset, f"Upsample-7 {mode} scales {scales} (attribute)")
        x = c.input("x", shape)
        c.outputs = [c.node("Upsample", [x], ["y"], mode=mode, scales=[float(v) for v in scales])]

    for name, mode, scales, shape in [
        ("upsample_nearest_int_op9", "nearest", [1, 1, 2, 2], [1, 2, 3, 4]),
        ("upsample_nearest_frac_op9", "nearest", [1, 1, 1.5, 1.25], [1, 2, 5, 4]),
        ("upsample_linear_frac_op9", "linear", [1, 1, 2.5, 1.5], [1, 2, 3, 4]),
    ]:
        c = case(name, 9, f"Upsample-9 {mode} scales {scales} (constant input)")
        x = c.input("x", shape)
        c.init("scales", np.array(scales, np.float32))
        c.outputs = [c.node("Upsample", [x, "scales"], ["y"], mode=mode)]

    c = case("upsample_nearest_computed_op9", 9, "Upsample-9 nearest, scales computed in the graph")
    x = c.input("x", [1, 2, 3, 4])
    c.init("half", np.array([1, 1, 0.75, 1.25], np.float32))
    c.init("two", np.array([2], np.float32))
    s = c.node("Mul", ["half", "two"], ["s"])
    c.outputs = [c.node("Upsample", [x, s], ["y"], mode="nearest")]

    for name, mode, scales, shape in [
        ("resize10_nearest_up", "nearest", [1, 1, 2, 1.5], [1, 2, 3, 4]),
        ("resize10_nearest_down", "nearest", [1, 1, 0.5, 0.7], [1, 2, 7, 10]),
        ("resize10_nearest_mixed", "nearest", [1, 1, 2.5, 0.7], [1, 2, 3, 10]),
        ("resize10_linear_down", "linear", [1, 1, 0.6, 0.8], [1, 2, 7, 9]),
        ("resize10_linear_up", "linear", [1, 1, 1.5, 2], [1, 2, 3, 4]),
    ]:
        c = case(name, 10, f"Resize-10 {mode} scales {scales}")
        x = c.input("x", shape)
        c.init("scales", np.array(scales, np.float32))
        c.outputs = [c.node("Resize", [x, "scales"], ["y"], mode=mode)]

    c = case(
        "resize10_nearest_mixed_computed",
        10,
        "Resize-10 nearest, computed scales grow H and shrink W",
    )
    x = c.input("x", [1, 2, 3, 9])
    c.init("half", np.array([0.5, 0.5, 1.25, 0.3], np.float32))
    c.init("two", np.array([2], np.float32))
    s = c.node("Mul", ["half", "two"], ["s"])
    c.outputs = [c.node("Resize", [x, s], ["y"], mode="nearest")]

    c = case(
        "resize11_linear_pytorch_half_pixel", 11, "Resize-11 linear pytorch_half_pixel with roi"
    )
    x = c.input("x", [1, 2, 3, 4])
    c.init("roi", np.array([], np.float32))
    c.init("scales", np.array([1, 1, 2, 2], np.float32))
    c.outputs = [
        c.node(
            "Resize",
            [x, "roi", "scales"],
            ["y"],
            mode="linear",
            coordinate_transformation_mode="pytorch_half_pixel",
        )
    ]

    c = case(
        "resize11_nearest_sizes",
        11,
        "Resize-11 nearest with sizes (empty scales), round_prefer_ceil",
    )
    x = c.input("x", [1, 2, 3, 4])
    c.init("roi", np.array([], np.float32))
    c.init("scales", np.array([], np.float32))
    c.init("sizes", np.array([1, 2, 5, 7], np.int64))
    c.outputs = [
        c.node(
            "Resize",
            [x, "roi", "scales", "sizes"],
            ["y"],
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="round_prefer_ceil",
        )
    ]


def softmax_cases() -> None:
    for name, opset, op, shape, attrs, declare in [
        ("softmax_axis1_4d_op7", 7, "Softmax", [2, 3, 4, 5], {}, True),
        ("softmax_axis1_2d_op9", 9, "Softmax", [3, 10], {}, True),
        ("softmax_axis1_2d_undeclared_op9", 9, "Softmax", [3, 10], {}, False),
        ("softmax_axis1_trailing_ones_op11", 11, "Softmax", [2, 10, 1, 1], {}, True),
        ("softmax_negative_axis_op11", 11, "Softmax", [2, 3, 4, 5], {"axis": -2}, True),
        ("softmax_last_axis_op12", 12, "Softmax", [2, 3, 4], {"axis": 2}, True),
        ("logsoftmax_axis2_op9", 9, "LogSoftmax", [2, 3, 4, 5], {"axis": 2}, True),
        ("hardmax_axis1_op11", 11, "Hardmax", [2, 3, 4], {}, True),
    ]:
        c = case(name, opset, f"{op} {attrs or 'default axis 1'} on {shape}")
        c.declare_ranks = declare
        x = c.input("x", shape)
        # A Relu in front makes the input a computed value, whose rank only shapes can tell.
        r = c.node("Identity", [x], ["r"]) if not declare else x
        c.outputs = [c.node(op, [r], ["y"], **attrs)]


def shape_op_cases() -> None:
    c = case(
        "slice_attrs_op9", 9, "Slice-1 starts [1,-4] ends [-1, INT64_MAX], axes omitted (2 of 3)"
    )
    x = c.input("x", [4, 6, 5])
    c.outputs = [c.node("Slice", [x], ["y"], starts=[1, -4], ends=[-1, 9223372036854775807])]

    c = case("slice_axes_huge_op7", 7, "Slice-1 with axes [2, 0], huge and negative bounds")
    x = c.input("x", [4, 6, 5])
    c.outputs = [c.node("Slice", [x], ["y"], starts=[-100, 1], ends=[1000000, 3], axes=[2, 0])]

    for name, opset, attrs in [
        ("pad_constant_op9", 9, dict(pads=[0, 1, 2, 0, 2, 1], mode="constant", value=1.5)),
        ("pad_constant_zero_op7", 7, dict(pads=[0, 0, 1, 1, 0, 0, 2, 0])),
        ("pad_reflect_op9", 9, dict(pads=[0, 0, 2, 1, 0, 0, 1, 2], mode="reflect")),
        ("pad_edge_op10", 10, dict(pads=[0, 0, 1, 3, 0, 0, 2, 0], mode="edge")),
        ("pad_negative_op8", 8, dict(pads=[0, 0, -1, 1, 0, 0, 1, -2])),
    ]:
        c = case(name, opset, f"Pad-2 {attrs}")
        x = c.input("x", [2, 3, 4, 5] if len(attrs["pads"]) == 8 else [2, 3, 4])
        c.outputs = [c.node("Pad", [x], ["y"], **attrs)]

    for name, opset, attrs in [
        ("clip_both_op9", 9, dict(min=-0.5, max=0.7)),
        ("clip_min_only_op7", 7, dict(min=0.1)),
        ("clip_max_only_op10", 10, dict(max=0.2)),
        ("clip_none_op8", 8, dict()),
    ]:
        c = case(name, opset, f"Clip-6 {attrs or 'without bounds'}")
        x = c.input("x", [2, 3, 4])
        c.outputs = [c.node("Clip", [x], ["y"], **attrs)]

    c = case("squeeze_axes_op9", 9, "Squeeze-1 axes [1, 3]")
    x = c.input("x", [2, 1, 3, 1])
    c.outputs = [c.node("Squeeze", [x], ["y"], axes=[1, 3])]
    c = case("squeeze_no_axes_op11", 11, "Squeeze-11 without axes")
    x = c.input("x", [2, 1, 3, 1])
    c.outputs = [c.node("Squeeze", [x], ["y"])]
    c = case("unsqueeze_op9", 9, "Unsqueeze-1 axes [0, 3]")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("Unsqueeze", [x], ["y"], axes=[0, 3])]
    c = case("unsqueeze_negative_op11", 11, "Unsqueeze-11 axes [-1]")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("Unsqueeze", [x], ["y"], axes=[-1])]

    c = case("reducesum_axes_op9", 9, "ReduceSum-1 axes [1, 2] keepdims 0")
    x = c.input("x", [2, 3, 4, 5])
    c.outputs = [c.node("ReduceSum", [x], ["y"], axes=[1, 2], keepdims=0)]
    c = case("reducesum_all_op11", 11, "ReduceSum-11 without axes")
    x = c.input("x", [2, 3, 4])
    c.outputs = [c.node("ReduceSum", [x], ["y"])]
    c = case("reducemean_axes_op11", 11, "ReduceMean-11 axes [-1] (attribute until opset 18)")
    x = c.input("x", [2, 3, 4])
    c.outputs = [c.node("ReduceMean", [x], ["y"], axes=[-1])]
    c = case("reducemax_op9", 9, "ReduceMax-1 axes [2, 3]")
    x = c.input("x", [2, 3, 4, 5])
    c.outputs = [c.node("ReduceMax", [x], ["y"], axes=[2, 3])]

    c = case("split_attr_op9", 9, "Split-2 split [2, 3, 1] on axis 1")
    x = c.input("x", [2, 6, 3])
    c.outputs = c.node("Split", [x], ["y0", "y1", "y2"], axis=1, split=[2, 3, 1])
    c = case("split_equal_op11", 11, "Split-11 equal parts on axis -1")
    x = c.input("x", [2, 3, 4])
    c.outputs = c.node("Split", [x], ["y0", "y1"], axis=-1)

    c = case("topk_attr_op9", 9, "TopK-1 k=3 on the last axis")
    x = c.input("x", [2, 3, 6])
    c.outputs = c.node("TopK", [x], ["values", "indices"], k=3)

    c = case("flatten_op9", 9, "Flatten-9 axis 2")
    x = c.input("x", [2, 3, 4, 5])
    c.outputs = [c.node("Flatten", [x], ["y"], axis=2)]
    c = case("reshape_op7", 7, "Reshape-5 with 0 and -1")
    x = c.input("x", [2, 3, 4])
    c.init("shape", np.array([0, -1, 2], np.int64))
    c.outputs = [c.node("Reshape", [x, "shape"], ["y"])]
    c = case("concat_op7", 7, "Concat-4 axis 2")
    a = c.input("a", [2, 3, 2])
    b = c.input("b", [2, 3, 4])
    c.outputs = [c.node("Concat", [a, b], ["y"], axis=2)]
    c = case("gather_op9", 9, "Gather-1 axis 1")
    x = c.input("x", [2, 5, 3])
    c.init("idx", np.array([[4, 0], [1, 1]], np.int64))
    c.outputs = [c.node("Gather", [x, "idx"], ["y"], axis=1)]
    c = case("transpose_op7", 7, "Transpose-1 perm [0, 2, 3, 1]")
    x = c.input("x", [2, 3, 4, 5])
    c.outputs = [c.node("Transpose", [x], ["y"], perm=[0, 2, 3, 1])]
    c = case("cast_op9", 9, "Cast-9 float -> int64 and bool")
    x = c.input("x", [2, 3])
    c.outputs = [
        c.node("Cast", [x], ["y"], to=TensorProto.INT64),
        c.node("Cast", [x], ["z"], to=TensorProto.BOOL),
    ]
    c = case("shape_constant_op9", 9, "Shape, Constant, Identity, ConstantOfShape, Expand")
    x = c.input("x", [2, 3, 1])
    s = c.node("Shape", [x], ["s"])
    k = c.node("Constant", [], ["k"], value=numpy_helper.from_array(np.array([2, 3, 4], np.int64)))
    o = c.node(
        "ConstantOfShape", [k], ["o"], value=numpy_helper.from_array(np.array([0.5], np.float32))
    )
    e = c.node("Expand", [x, k], ["e"])
    c.outputs = [c.node("Identity", [s], ["shape"]), c.node("Add", [e, o], ["y"])]
    c = case("tile_op7", 7, "Tile-6 repeats [1, 2, 3]")
    x = c.input("x", [2, 3, 1])
    c.init("rep", np.array([1, 2, 3], np.int64))
    c.outputs = [c.node("Tile", [x, "rep"], ["y"])]
    c = case("where_compare_op9", 9, "Where-9, Greater-9, Less-7, Not-1")
    a = c.input("a", [2, 3, 4])
    b = c.input("b", [3, 1])
    g = c.node("Greater", [a, b], ["g"])
    n = c.node("Not", [g], ["n"])
    ls = c.node("Less", [a, b], ["l"])
    c.outputs = [c.node("Where", [n, a, b], ["y"]), ls]
    c = case("equal_float_op11", 11, "Equal-11 on floats")
    a = c.input("a", [2, 3], data=np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    b = c.input("b", [3], data=np.array([1, 5, 3], np.float32))
    c.outputs = [c.node("Equal", [a, b], ["y"])]
    c = case("range_op11", 11, "Range-11 feeding Gather")
    x = c.input("x", [2, 5])
    c.init("start", np.array(4, np.int64))
    c.init("limit", np.array(-1, np.int64))
    c.init("delta", np.array(-2, np.int64))
    r = c.node("Range", ["start", "limit", "delta"], ["r"])
    c.outputs = [c.node("Gather", [x, r], ["y"], axis=1)]
    c = case("argmax_op11", 11, "ArgMax-11 axis -1 keepdims 0")
    x = c.input("x", [2, 3, 5])
    c.outputs = [c.node("ArgMax", [x], ["y"], axis=-1, keepdims=0)]
    c = case("einsum_op12", 12, "Einsum-12 bij,bjk->bik")
    a = c.input("a", [2, 3, 4])
    b = c.input("b", [2, 4, 5])
    c.outputs = [c.node("Einsum", [a, b], ["y"], equation="bij,bjk->bik")]
    c.bitwise = False


def math_cases() -> None:
    c = case("unary_math_op7", 7, "Sqrt, Exp, Log, Reciprocal, Abs, Neg, Floor, Ceil, Pow")
    x = c.input("x", [2, 3], positive=True)
    c.init("two", np.array(2.5, np.float32))
    c.outputs = [
        c.node(op, [x], [op.lower()])
        for op in ["Sqrt", "Exp", "Log", "Reciprocal", "Abs", "Neg", "Floor", "Ceil"]
    ] + [c.node("Pow", [x, "two"], ["pow"])]
    c = case("erf_op9", 9, "Erf-9")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("Erf", [x], ["y"])]
    c = case(
        "activations_op7",
        7,
        "LeakyRelu, Elu, Selu, HardSigmoid, Sigmoid, Tanh, Softplus, Softsign, Relu",
    )
    x = c.input("x", [2, 3, 4])
    c.outputs = [
        c.node("LeakyRelu", [x], ["leaky"], alpha=0.2),
        c.node("Elu", [x], ["elu"], alpha=0.7),
        c.node("Selu", [x], ["selu"]),
        c.node("HardSigmoid", [x], ["hard"], alpha=0.3, beta=0.4),
        c.node("Sigmoid", [x], ["sigmoid"]),
        c.node("Tanh", [x], ["tanh"]),
        c.node("Softplus", [x], ["softplus"]),
        c.node("Softsign", [x], ["softsign"]),
        c.node("Relu", [x], ["relu"]),
    ]
    c = case("prelu_op9", 9, "PRelu-9 slope [C,1,1]")
    x = c.input("x", [2, 3, 4, 5])
    c.init("slope", np.array([0.1, -0.5, 2.0], np.float32).reshape(3, 1, 1))
    c.outputs = [c.node("PRelu", [x, "slope"], ["y"])]
    c = case("variadic_op8", 8, "Sum, Mean, Max, Min with broadcasting (opset 8)")
    a = c.input("a", [2, 3, 4])
    b = c.input("b", [3, 1])
    d = c.input("d", [4])
    c.outputs = [c.node(op, [a, b, d], [op.lower()]) for op in ["Sum", "Mean", "Max", "Min"]]
    c = case("binary_op7", 7, "Add, Sub, Mul, Div with numpy broadcasting (opset 7)")
    a = c.input("a", [2, 3, 4])
    b = c.input("b", [3, 1], positive=True)
    c.outputs = [c.node(op, [a, b], [op.lower()]) for op in ["Add", "Sub", "Mul", "Div"]]
    c = case("matmul_gemm_op9", 9, "MatMul-9, Gemm-9 transA")
    a = c.input("a", [2, 3, 4])
    c.rand("w", [4, 5])
    g = c.input("g", [4, 2])
    c.rand("gc", [1, 5])
    c.outputs = [
        c.node("MatMul", [a, "w"], ["mm"]),
        c.node("Gemm", [g, "w", "gc"], ["gemm"], transA=1, beta=2.0),
    ]
    c.bitwise = False
    c = case("gemm_no_c_op11", 11, "Gemm-11 without C")
    a = c.input("a", [2, 4])
    c.rand("w", [5, 4])
    c.outputs = [c.node("Gemm", [a, "w"], ["y"], transB=1)]
    c.bitwise = False


def nn_cases() -> None:
    c = case("conv_op7", 7, "Conv-1 pads, strides, group 3, dilations")
    x = c.input("x", [1, 3, 9, 8])
    c.rand("w", [6, 1, 3, 3])
    c.rand("b", [6])
    c.outputs = [
        c.node(
            "Conv",
            [x, "w", "b"],
            ["y"],
            pads=[1, 0, 2, 1],
            strides=[2, 1],
            group=3,
            dilations=[1, 2],
        )
    ]
    c = case("conv_same_upper_op7", 7, "Conv-1 auto_pad SAME_UPPER stride 2")
    x = c.input("x", [1, 2, 7, 6])
    c.rand("w", [3, 2, 4, 3])
    c.outputs = [c.node("Conv", [x, "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])]
    c = case(
        "convtranspose_same_upper_op7", 7, "ConvTranspose-1 auto_pad SAME_UPPER stride 2, kernel 4"
    )
    x = c.input("x", [1, 2, 3, 4])
    c.rand("w", [2, 3, 4, 3])
    c.outputs = [c.node("ConvTranspose", [x, "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])]
    c = case("convtranspose_output_padding_op9", 9, "ConvTranspose-1 output_padding, pads")
    x = c.input("x", [1, 2, 3, 4])
    c.rand("w", [2, 3, 3, 3])
    c.rand("b", [3])
    c.outputs = [
        c.node(
            "ConvTranspose",
            [x, "w", "b"],
            ["y"],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            output_padding=[1, 0],
        )
    ]
    c = case("maxpool_op7", 7, "MaxPool-1 kernel 3 stride 2 pads")
    x = c.input("x", [1, 2, 7, 8])
    c.outputs = [
        c.node("MaxPool", [x], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    ]
    c = case("maxpool_indices_op8", 8, "MaxPool-8 with the indices output")
    x = c.input("x", [1, 2, 6, 6])
    c.outputs = c.node("MaxPool", [x], ["y", "idx"], kernel_shape=[2, 2], strides=[2, 2])
    c = case("maxpool_ceil_op10", 10, "MaxPool-10 ceil_mode, dilations")
    x = c.input("x", [1, 2, 9, 8])
    c.outputs = [
        c.node(
            "MaxPool",
            [x],
            ["y"],
            kernel_shape=[2, 2],
            strides=[2, 2],
            ceil_mode=1,
            dilations=[1, 1],
        )
    ]
    c = case("averagepool_op7", 7, "AveragePool-7 count_include_pad=1 and 0")
    x = c.input("x", [1, 2, 5, 6])
    c.outputs = [
        c.node(
            "AveragePool", [x], ["inc"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1
        ),
        c.node("AveragePool", [x], ["exc"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    c = case("averagepool_ceil_op10", 10, "AveragePool-10 ceil_mode")
    x = c.input("x", [1, 2, 7, 7])
    c.outputs = [
        c.node("AveragePool", [x], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    ]
    c = case(
        "global_pools_op7", 7, "GlobalAveragePool, GlobalMaxPool, GlobalLpPool-2 p=3, LpPool-2"
    )
    x = c.input("x", [2, 3, 4, 5])
    c.outputs = [
        c.node("GlobalAveragePool", [x], ["gap"]),
        c.node("GlobalMaxPool", [x], ["gmp"]),
        c.node("GlobalLpPool", [x], ["glp"], p=3),
        c.node("LpPool", [x], ["lp"], kernel_shape=[2, 2], p=2),
    ]
    c = case("lrn_op7", 7, "LRN-1 size 5")
    x = c.input("x", [1, 7, 3, 4])
    c.outputs = [c.node("LRN", [x], ["y"], size=5, alpha=1e-3, beta=0.75, bias=2.0)]
    c = case("instancenorm_op7", 7, "InstanceNormalization-6")
    x = c.input("x", [2, 3, 4, 5])
    c.rand("s", [3])
    c.rand("b", [3])
    c.outputs = [c.node("InstanceNormalization", [x, "s", "b"], ["y"], epsilon=1e-4)]

    for name, opset, attrs in [
        ("bn_spatial_op7", 7, dict(spatial=1, momentum=0.8, epsilon=1e-4)),
        ("bn_op8", 8, dict(epsilon=1e-4)),
        ("bn_op9", 9, dict(momentum=0.99)),
    ]:
        c = case(name, opset, f"BatchNormalization {attrs}")
        x = c.input("x", [2, 3, 4, 5])
        c.rand("s", [3])
        c.rand("bias", [3])
        c.rand("m", [3])
        c.rand("v", [3], positive=True)
        c.outputs = [c.node("BatchNormalization", [x, "s", "bias", "m", "v"], ["y"], **attrs)]

    c = case("bn_spatial0_2d_op8", 8, "BatchNormalization-7 spatial=0 on a 2-D input")
    x = c.input("x", [4, 3])
    c.rand("s", [3])
    c.rand("bias", [3])
    c.rand("m", [3])
    c.rand("v", [3], positive=True)
    c.outputs = [c.node("BatchNormalization", [x, "s", "bias", "m", "v"], ["y"], spatial=0)]

    c = case("dropout_op7", 7, "Dropout-7 ratio 0.2")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("Dropout", [x], ["y"], ratio=0.2)]
    c = case("dropout_mask_unused_op10", 10, "Dropout-10 with a mask output nothing reads")
    x = c.input("x", [2, 3])
    d = c.node("Dropout", [x], ["d", "mask"], ratio=0.5)
    c.outputs = [c.node("Relu", [d[0]], ["y"])]


def experimental_cases() -> None:
    c = case("imagescaler_op7", 7, "ImageScaler scale 0.5 bias per channel")
    x = c.input("x", [2, 3, 4, 5])
    c.outputs = [c.node("ImageScaler", [x], ["y"], scale=0.5, bias=[-1.0, 0.25, 2.0])]
    c.bitwise = False
    c = case("imagescaler_bias_only_op9", 9, "ImageScaler without scale (default 1)")
    x = c.input("x", [1, 3, 2, 2])
    c.outputs = [c.node("ImageScaler", [x], ["y"], bias=[1.0, 2.0, 3.0])]
    c = case("scale_op7", 7, "Scale 3.5")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("Scale", [x], ["y"], scale=3.5)]
    c = case("crop_border_op7", 7, "Crop border (left 1, top 2, right 0, bottom 1)")
    x = c.input("x", [1, 2, 6, 5])
    c.outputs = [c.node("Crop", [x], ["y"], border=[1, 2, 0, 1])]
    c = case("crop_scale_op8", 8, "Crop border with a (2, 3) window")
    x = c.input("x", [1, 2, 6, 5])
    c.outputs = [c.node("Crop", [x], ["y"], border=[1, 2, 0, 0], scale=[2, 3])]
    c = case("affine_op7", 7, "Affine alpha 2 beta -0.5")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("Affine", [x], ["y"], alpha=2.0, beta=-0.5)]
    c.bitwise = False
    c = case("parametric_softplus_op7", 7, "ParametricSoftplus alpha 0.5 beta 2")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("ParametricSoftplus", [x], ["y"], alpha=0.5, beta=2.0)]
    c.bitwise = False
    c = case("scaled_tanh_op7", 7, "ScaledTanh alpha 1.5 beta 0.5")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("ScaledTanh", [x], ["y"], alpha=1.5, beta=0.5)]
    c.bitwise = False
    c = case("thresholded_relu_op7", 7, "experimental ThresholdedRelu alpha 0.3")
    x = c.input("x", [2, 3])
    c.outputs = [c.node("ThresholdedRelu", [x], ["y"], alpha=0.3)]
    c = case("dynamic_slice_op9", 9, "DynamicSlice")
    x = c.input("x", [4, 6])
    c.init("st", np.array([1, -3], np.int64))
    c.init("en", np.array([3, 100], np.int64))
    c.outputs = [c.node("DynamicSlice", [x, "st", "en"], ["y"])]


# ---------------------------------------------------------------------------------------------
# Caffe2-style classifiers (model-zoo bvlc_googlenet/caffenet style) and PyTorch exports.
# ---------------------------------------------------------------------------------------------


def caffe2_net(name: str, opset: int) -> None:
    c = case(
        name,
        opset,
        "Caffe2-style classifier: ImageScaler, Conv, Relu, LRN, MaxPool, inception Concat, "
        "AveragePool, Dropout, Reshape, Gemm, Softmax; initializers listed as graph inputs",
    )
    x = c.input("data_0", [1, 3, 24, 24])
    rng = c.rng

    def w(name: str, shape, fan_in: int):
        return c.init(name, (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32))

    c.node("ImageScaler", [x], ["scaled"], scale=1.0 / 58.0, bias=[-2.1, -2.0, -1.8])
    w("conv1_w_0", [8, 3, 5, 5], 75)
    w("conv1_b_0", [8], 8)
    c.node(
        "Conv",
        ["scaled", "conv1_w_0", "conv1_b_0"],
        ["conv1"],
        kernel_shape=[5, 5],
        strides=[2, 2],
        pads=[2, 2, 2, 2],
    )
    c.node("Relu", ["conv1"], ["relu1"])
    c.node("MaxPool", ["relu1"], ["pool1"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])
    c.node("LRN", ["pool1"], ["norm1"], size=5, alpha=1e-4, beta=0.75, bias=1.0)
    w("b1_w_0", [6, 8, 1, 1], 8)
    w("b1_b_0", [6], 6)
    w("b3_w_0", [6, 8, 3, 3], 72)
    w("b3_b_0", [6], 6)
    c.node("Conv", ["norm1", "b1_w_0", "b1_b_0"], ["b1"], kernel_shape=[1, 1])
    c.node("Conv", ["norm1", "b3_w_0", "b3_b_0"], ["b3"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    c.node("Relu", ["b1"], ["b1r"])
    c.node("Relu", ["b3"], ["b3r"])
    c.node("Concat", ["b1r", "b3r"], ["inception"], axis=1)
    c.node("AveragePool", ["inception"], ["pool2"], kernel_shape=[3, 3], strides=[1, 1])
    c.node("Dropout", ["pool2"], ["drop", "drop_mask"], ratio=0.4)
    c.init("shape_0", np.array([1, -1], np.int64))
    c.node("Reshape", ["drop", "shape_0"], ["flat"])
    w("fc_w_0", [10, 12 * 4 * 4], 192)
    w("fc_b_0", [10], 10)
    c.node("Gemm", ["flat", "fc_w_0", "fc_b_0"], ["fc"], transB=1)
    c.outputs = [c.node("Softmax", ["fc"], ["prob_1"])]


def torch_exports() -> None:
    import torch
    import torch.nn as nn
    import torch.nn.functional as Fn

    class Mix(nn.Module):
        """An op mix a classifier export meets: BN kept, ReLU6 (Clip), nearest and bilinear
        interpolation, reflect padding, squeeze/unsqueeze, a channel softmax over a 4-D map.
        Opset 7 cannot export an interpolation by a scale factor, only to a fixed size; from 9 on
        the nearest one recomputes its scales from the input shape in the graph."""

        def __init__(self, computed_scales: bool) -> None:
            super().__init__()
            self.computed_scales = computed_scales
            self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(6)
            self.conv2 = nn.Conv2d(6, 6, 3)
            self.fc = nn.Linear(6, 5)

        def forward(self, x):
            y = Fn.relu6(self.bn1(self.conv1(x)))
            y = Fn.max_pool2d(y, 2)
            if self.computed_scales:
                y = Fn.interpolate(y, scale_factor=2.0, mode="nearest", recompute_scale_factor=True)
            else:
                y = Fn.interpolate(y, size=(12, 10), mode="nearest")
            y = Fn.pad(y, (1, 1, 1, 1), mode="reflect")
            y = self.conv2(y)
            y = y * Fn.softmax(y, dim=1)
            if self.computed_scales:
                y = Fn.interpolate(
                    y,
                    scale_factor=1.5,
                    mode="bilinear",
                    align_corners=False,
                    recompute_scale_factor=False,
                )
            y = Fn.adaptive_avg_pool2d(y, 1)
            y = y.squeeze(3).squeeze(2).unsqueeze(1)
            return self.fc(y.flatten(1))

    example = torch.randn(1, 3, 12, 10)
    for opset in (7, 9, 10, 11, 12):
        torch.manual_seed(0)
        net = Mix(computed_scales=opset >= 9)
        with torch.no_grad():
            net.bn1.running_mean.uniform_(-0.5, 0.5)
            net.bn1.running_var.uniform_(0.5, 2.0)
            net.bn1.weight.uniform_(0.5, 1.5)
            net.bn1.bias.uniform_(-0.2, 0.2)
        net.eval()
        name = f"torch_mix_op{opset}"
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net,
                example,
                buf,
                opset_version=opset,
                input_names=["input"],
                output_names=["logits"],
                training=torch.onnx.TrainingMode.PRESERVE,
                do_constant_folding=False,
            )
        model = onnx.load_from_string(buf.getvalue())
        c = case(name, opset, f"torch.onnx export (torch {torch.__version__}) at opset {opset}")
        c.model = model
        c.feeds = {"input": rng_for(name).standard_normal((1, 3, 12, 10)).astype(np.float32)}
        c.outputs = ["logits"]
        c.bitwise = False


# ---------------------------------------------------------------------------------------------


def schema_table(opset: int) -> Dict[str, dict]:
    table: Dict[str, dict] = {}
    names = sorted({s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain == ""})
    for name in names:
        try:
            s = onnx.defs.get_schema(name, opset, "")
        except onnx.defs.SchemaError:
            continue
        table[name] = {
            "since": s.since_version,
            "deprecated": bool(s.deprecated),
            "attributes": {
                a.name: {"type": int(a.type), "required": bool(a.required)}
                for a in s.attributes.values()
            },
            "inputs": [s.min_input, min(s.max_input, 1000)],
            "outputs": [s.min_output, min(s.max_output, 1000)],
        }
    return table


def version_table() -> Dict[str, List[int]]:
    """The since_versions of every default-domain operator that onnx 1.12 knows (up to opset 17)."""
    table: Dict[str, List[int]] = {}
    for s in onnx.defs.get_all_schemas_with_history():
        if s.domain == "":
            table.setdefault(s.name, []).append(s.since_version)
    return {k: sorted(v) for k, v in sorted(table.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".onnx") or f.endswith(".json"):
            os.remove(os.path.join(args.out, f))

    legacy_cases()
    resize_cases()
    softmax_cases()
    shape_op_cases()
    math_cases()
    nn_cases()
    experimental_cases()
    caffe2_net("caffe2_style_op7", 7)
    caffe2_net("caffe2_style_op8", 8)
    for c in CASES[-2:]:
        c.bitwise = False  # ImageScaler becomes Mul and Add
    torch_exports()

    entries = []
    for c in CASES:
        model = c.build()
        onnx.save(model, os.path.join(args.out, f"{c.name}.onnx"))
        entry: dict = {
            "name": c.name,
            "opset": c.opset,
            "description": c.description,
            "bitwise": c.bitwise,
            "inputs": [
                {"name": k, "dims": list(v.shape), "type": str(v.dtype), "data": b64(v)}
                for k, v in c.feeds.items()
            ],
            "outputs": c.outputs,
        }
        if c.reference is not None:
            values = {**c.feeds, **{t.name: numpy_helper.to_array(t) for t in c.initializers}}
            ref = c.reference(values)
            entry["reference"] = {
                k: {"dims": list(v.shape), "type": str(v.dtype), "data": b64(v)}
                for k, v in ref.items()
            }
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                converted = version_converter.convert_version(model, TARGET)
            onnx.save(converted, os.path.join(args.out, f"{c.name}.vc.onnx"))
            entry["versionConverter"] = {"file": f"{c.name}.vc.onnx"}
        except Exception as error:  # the converter raises plain RuntimeErrors
            entry["versionConverter"] = {"error": str(error).strip().splitlines()[0][:300]}
        entries.append(entry)

    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"target": TARGET, "onnx": onnx.__version__, "cases": entries}, f, indent=1)
        f.write("\n")
    with open(os.path.join(args.out, f"schema-{TARGET}.json"), "w") as f:
        json.dump(schema_table(TARGET), f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.out, "op-versions.json"), "w") as f:
        json.dump(version_table(), f, separators=(",", ":"))
        f.write("\n")
    failed = [e["name"] for e in entries if "error" in e["versionConverter"]]
    print(f"{len(entries)} cases; version_converter failed on {len(failed)}: {', '.join(failed)}")


if __name__ == "__main__":
    main()
