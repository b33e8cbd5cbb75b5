#!/usr/bin/python3
"""Reference gradients from PyTorch autograd for camscope's ONNX backward compiler.

For each architecture this builds a small-width model with torchvision's own
building blocks (random init, fixed seeds), exports it to ONNX and stores, next
to the .onnx file, a JSON fixture with a batch of inputs, the float64 logits and
the float64 gradients of one class logit per sample w.r.t. the input and w.r.t.
one intermediate activation (the ONNX value named ``act``).

Run with Debian's Python (it has torch 1.13, torchvision 0.14 and onnx 1.12):

    /usr/bin/python3 scripts/reference/make_gradient_fixtures.py [--out DIR] [--only NAME ...]

Reruns reproduce byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import json
import os
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Callable, List, Sequence, Tuple

import numpy as np
import onnx
import torch
import torch.nn as nn
from torchvision.models import efficientnet, mobilenetv2, mobilenetv3, squeezenet, vgg
from torchvision.models.densenet import DenseNet
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "compiler", "fixtures")

NUM_CLASSES = 10
BATCH = 4
# A sample is flagged unstable when its float32 and float64 gradients differ by more than this,
UNSTABLE_THRESHOLD = 1e-5
# or when some ReLU-like input lies this close (relative to the tensor's largest magnitude) to a
# kink, or some max-pool window's two largest values are this close: there a float32 engine may
# legitimately take the other branch (ONNX Runtime and PyTorch sum in different orders).
MARGIN_THRESHOLD = 1e-6
# Kinks of the piecewise activations, by module type.
KINKS = {nn.ReLU: (0.0,), nn.ReLU6: (0.0, 6.0), nn.Hardswish: (-3.0, 3.0), nn.Hardsigmoid: (-3.0, 3.0)}

# How BatchNormalization ends up in the ONNX graph.
BN_FOLDED = "folded"  # training=EVAL (default): BN is fused into the preceding Conv
BN_KEPT = "kept"  # training=PRESERVE on an eval-mode model: explicit BatchNormalization nodes


@dataclass(frozen=True)
class Spec:
    name: str
    architecture: str
    build: Callable[[], nn.Module]
    height: int
    width: int
    opset: int
    activation_module: str  # dotted path of the submodule whose output becomes "act"
    bn: str = BN_FOLDED
    keep_dropout: bool = False
    description: str = ""


# ---------------------------------------------------------------------------
# Small-width builders (same op topology as torchvision's full-size models)
# ---------------------------------------------------------------------------


class SmallResNet(ResNet):
    """torchvision's ResNet with stage widths as a parameter (torchvision hard-codes 64..512).

    Reuses ResNet._make_layer and ResNet.forward unchanged, so blocks, downsample
    paths and the stem are exactly torchvision's.
    """

    def __init__(self, block, layers: Sequence[int], widths: Sequence[int], num_classes: int):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = widths[0]
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def build_resnet_basic() -> nn.Module:
    # ResNet-18 topology ([2,2,2,2] BasicBlocks), widths 64..512 divided by 16.
    return SmallResNet(BasicBlock, [2, 2, 2, 2], [4, 8, 16, 32], NUM_CLASSES)


def build_resnet_bottleneck() -> nn.Module:
    # ResNet-50-like Bottleneck stages (fewer blocks per stage), widths divided by 16.
    return SmallResNet(Bottleneck, [1, 2, 2, 1], [4, 8, 16, 32], NUM_CLASSES)


def build_vgg16_bn() -> nn.Module:
    # VGG-16 config "D" with BatchNorm, widths divided by 16.
    cfg = [4, 4, "M", 8, 8, "M", 16, 16, 16, "M", 32, 32, 32, "M", 32, 32, 32, "M"]
    model = vgg.VGG(vgg.make_layers(cfg, batch_norm=True), num_classes=NUM_CLASSES)
    # torchvision pools the 7x7 map of a 224 input to (7,7), i.e. kernel 1; at 64x64 the
    # map is 2x2, so (2,2) keeps that form. The classifier keeps its Linear/ReLU/Dropout
    # layout with 4096 hidden units shrunk to 64.
    model.avgpool = nn.AdaptiveAvgPool2d((2, 2))
    model.classifier = nn.Sequential(
        nn.Linear(32 * 2 * 2, 64),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(64, 64),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(64, NUM_CLASSES),
    )
    for m in model.classifier:
        if isinstance(m, nn.Linear):  # torchvision's VGG init for Linear layers
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)
    return model


def build_mobilenet_v2() -> nn.Module:
    model = mobilenetv2.mobilenet_v2(weights=None, width_mult=0.1, num_classes=NUM_CLASSES)
    # torchvision fixes the last 1x1 conv at 1280 channels whatever width_mult is;
    # shrink it to 128 (same Conv-BN-ReLU6 form) to keep the file small.
    in_channels = model.features[-1][0].in_channels
    model.features[-1] = mobilenetv2.Conv2dNormActivation(
        in_channels, 128, kernel_size=1, activation_layer=nn.ReLU6
    )
    model.classifier[1] = nn.Linear(128, NUM_CLASSES)
    nn.init.kaiming_normal_(model.features[-1][0].weight, mode="fan_out")
    nn.init.normal_(model.classifier[1].weight, 0, 0.01)
    nn.init.zeros_(model.classifier[1].bias)
    return model


def build_mobilenet_v3(arch: str) -> nn.Module:
    setting, _ = mobilenetv3._mobilenet_v3_conf(arch, width_mult=0.1)
    return mobilenetv3.MobileNetV3(setting, last_channel=64, num_classes=NUM_CLASSES)


def build_squeezenet1_1() -> nn.Module:
    # SqueezeNet 1.1 layout with every width divided by 8 (torchvision hard-codes widths).
    Fire = squeezenet.Fire
    model = squeezenet.SqueezeNet("1_1", num_classes=NUM_CLASSES)
    model.features = nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=3, stride=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        Fire(8, 2, 8, 8),
        Fire(16, 2, 8, 8),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        Fire(16, 4, 16, 16),
        Fire(32, 4, 16, 16),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        Fire(32, 6, 24, 24),
        Fire(48, 6, 24, 24),
        Fire(48, 8, 32, 32),
        Fire(64, 8, 32, 32),
    )
    final_conv = nn.Conv2d(64, NUM_CLASSES, kernel_size=1)
    model.classifier[1] = final_conv
    for m in model.modules():  # torchvision's SqueezeNet init
        if isinstance(m, nn.Conv2d):
            if m is final_conv:
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
            else:
                nn.init.kaiming_uniform_(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
    return model


def build_densenet() -> nn.Module:
    # DenseNet-121 form (BN-ReLU-Conv1x1-BN-ReLU-Conv3x3 layers, Concat, transitions with
    # AveragePool) with growth 6 instead of 32 and shorter dense blocks.
    return DenseNet(
        growth_rate=6,
        block_config=(2, 3, 3, 2),
        num_init_features=12,
        bn_size=2,
        num_classes=NUM_CLASSES,
    )


def build_efficientnet_b0() -> nn.Module:
    setting, last_channel = efficientnet._efficientnet_conf(
        "efficientnet_b0", width_mult=0.1, depth_mult=1.0
    )
    return efficientnet.EfficientNet(
        setting, dropout=0.2, num_classes=NUM_CLASSES, last_channel=last_channel
    )


# Inputs are non-square on purpose (catches H/W mix-ups); sizes keep the last feature map >= 2x2.
# Variants of one architecture (e.g. resnet_basic / resnet_basic_bn) share weights and inputs.
RESNET18 = dict(architecture="ResNet-18 (BasicBlock)", build=build_resnet_basic)
RESNET50 = dict(architecture="ResNet-50 (Bottleneck)", build=build_resnet_bottleneck)
VGG16BN = dict(architecture="VGG-16 with BatchNorm", build=build_vgg16_bn)
MNV3_SMALL = dict(
    architecture="MobileNetV3-Small", build=partial(build_mobilenet_v3, "mobilenet_v3_small")
)
MNV3_LARGE = dict(
    architecture="MobileNetV3-Large", build=partial(build_mobilenet_v3, "mobilenet_v3_large")
)
SMALL = dict(height=40, width=36)

SPECS: List[Spec] = [
    Spec(
        "resnet_basic", **RESNET18, **SMALL, opset=13, activation_module="layer2",
        description="BasicBlock ResNet, BatchNorm folded into Conv by the exporter",
    ),
    Spec(
        "resnet_basic_bn", **RESNET18, **SMALL, opset=13, activation_module="layer2", bn=BN_KEPT,
        description="resnet_basic with explicit BatchNormalization nodes",
    ),
    Spec(
        "resnet_bottleneck", **RESNET50, **SMALL, opset=11, activation_module="layer3",
        description="Bottleneck ResNet at opset 11, BatchNorm folded",
    ),
    Spec(
        "resnet_bottleneck_bn", **RESNET50, **SMALL, opset=17, activation_module="layer3",
        bn=BN_KEPT,
        description="resnet_bottleneck at opset 17 with explicit BatchNormalization nodes",
    ),
    Spec(
        "vgg16_bn", **VGG16BN, height=64, width=64, opset=13, activation_module="features.23",
        description="VGG-16-BN, BatchNorm folded, Dropout removed by the eval export",
    ),
    Spec(
        "vgg16_bn_dropout", **VGG16BN, height=64, width=64, opset=11,
        activation_module="features.23", bn=BN_KEPT, keep_dropout=True,
        description="vgg16_bn at opset 11 with inference Dropout and BatchNormalization nodes",
    ),
    Spec(
        "mobilenet_v2", "MobileNetV2", build_mobilenet_v2, **SMALL, opset=13,
        activation_module="features.6",
        description="MobileNetV2 width 0.1 (ReLU6 as Clip, depthwise Conv, residual Add)",
    ),
    Spec(
        "mobilenet_v3_small", **MNV3_SMALL, **SMALL, opset=17, activation_module="features.5",
        description="MobileNetV3-Small width 0.1, opset 17: native HardSwish, HardSigmoid SE",
    ),
    Spec(
        "mobilenet_v3_large", **MNV3_LARGE, **SMALL, opset=13, activation_module="features.5",
        description="MobileNetV3-Large width 0.1, opset 13: HardSwish as HardSigmoid * x",
    ),
    Spec(
        "squeezenet1_1", "SqueezeNet 1.1", build_squeezenet1_1, height=54, width=38, opset=13,
        activation_module="features.7",
        description="SqueezeNet 1.1 (Concat); at 54x38 ceil_mode changes the pooled sizes",
    ),
    Spec(
        "densenet", "DenseNet-121", build_densenet, height=68, width=64, opset=13,
        activation_module="features.denseblock2",
        description="DenseNet: Concat, AveragePool on odd sizes, BatchNorm that cannot be folded",
    ),
    Spec(
        "efficientnet_b0", "EfficientNet-B0", build_efficientnet_b0, **SMALL, opset=13,
        activation_module="features.4",
        description="EfficientNet-B0 width 0.1: SiLU as Sigmoid * x, squeeze-excitation",
    ),
]


# ---------------------------------------------------------------------------
# Model preparation
# ---------------------------------------------------------------------------


def spec_seed(spec: Spec) -> int:
    """Seed derived from the architecture name, not the fixture name, so that variants
    (e.g. resnet_basic and resnet_basic_bn) get identical weights and inputs. A plain
    character sum is used because Python's hash() of a str changes from run to run."""
    return sum((i + 1) * ord(c) for i, c in enumerate(spec.architecture)) % 100_003


def disable_inplace(model: nn.Module) -> None:
    # In-place activations would overwrite the captured activation tensor before
    # autograd.grad sees it; out-of-place versions compute the same values and export the same ops.
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False


@torch.no_grad()
def randomize_batchnorm(
    model: nn.Module, height: int, width: int, batch: int = 8, passes: int = 4
) -> None:
    """Give every BatchNorm non-trivial affine parameters and running statistics.

    Affine parameters are drawn at random; running stats are then estimated as a
    cumulative average over a few train-mode passes on random data (momentum=None),
    so activations stay well scaled while mean/var are far from 0/1.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    for bn in bns:
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_(0.0, 0.2)
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    for _ in range(passes):
        model(torch.randn(batch, 3, height, width))
    model.eval()


def build_model(spec: Spec) -> nn.Module:
    torch.manual_seed(spec_seed(spec))
    model = spec.build()
    disable_inplace(model)
    randomize_batchnorm(model, spec.height, spec.width)
    return model.eval()


class LogitsAndActivation(nn.Module):
    """Returns (logits, output of one submodule); used both for export and for autograd."""

    def __init__(self, model: nn.Module, activation_module: str):
        super().__init__()
        self.model = model
        self.activation_module = activation_module

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        captured: List[torch.Tensor] = []
        module = self.model.get_submodule(self.activation_module)
        handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            logits = self.model(x)
        finally:
            handle.remove()
        assert len(captured) == 1, "activation module must run exactly once"
        return logits, captured[0]


# ---------------------------------------------------------------------------
# ONNX export
# ---------------------------------------------------------------------------


def export_onnx(spec: Spec, model: nn.Module) -> onnx.ModelProto:
    model = copy.deepcopy(model)
    if spec.keep_dropout:
        # An eval export always drops Dropout. With training=PRESERVE the exporter keeps each
        # module's own mode, so Dropout modules in train mode are exported as Dropout nodes
        # while BatchNorm stays in inference form. Below opset 12 Dropout has no
        # training_mode input, so an inference runtime treats it as the identity.
        assert spec.bn == BN_KEPT and spec.opset < 12
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
    wrapper = LogitsAndActivation(model, spec.activation_module)
    example = torch.randn(1, 3, spec.height, spec.width)
    buffer = io.BytesIO()
    training = (
        torch.onnx.TrainingMode.PRESERVE if spec.bn == BN_KEPT else torch.onnx.TrainingMode.EVAL
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            example,
            buffer,
            opset_version=spec.opset,
            training=training,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["logits", "act"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "act": {0: "batch"}},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    drop_activation_output(proto)
    onnx.checker.check_model(proto)
    check_export(spec, proto)
    return proto


def drop_activation_output(proto: onnx.ModelProto) -> None:
    """Remove "act" from the graph outputs: the graph becomes the plain classifier but the
    intermediate value keeps its readable name."""
    graph = proto.graph
    kept = [o for o in graph.output if o.name != "act"]
    assert len(kept) == 1 and kept[0].name == "logits"
    del graph.output[:]
    graph.output.extend(kept)


def check_export(spec: Spec, proto: onnx.ModelProto) -> None:
    graph = proto.graph
    producers = [n for n in graph.node if "act" in n.output]
    consumers = [n for n in graph.node if "act" in n.input]
    assert len(producers) == 1, f"{spec.name}: act has {len(producers)} producers"
    assert consumers, f"{spec.name}: act is not consumed downstream"
    assert [i.name for i in graph.input] == ["input"], [i.name for i in graph.input]
    ops = op_types(proto)
    if spec.bn == BN_KEPT:
        assert "BatchNormalization" in ops, f"{spec.name}: BatchNormalization was folded"
    else:
        # Folding only removes BatchNorm that directly follows a Conv; pre-activation
        # BatchNorm (DenseNet) stays a BatchNormalization node even in an eval export.
        conv_outputs = {o for n in graph.node if n.op_type == "Conv" for o in n.output}
        unfolded = [
            n.name
            for n in graph.node
            if n.op_type == "BatchNormalization" and n.input[0] in conv_outputs
        ]
        assert not unfolded, f"{spec.name}: BatchNormalization after Conv not folded: {unfolded}"
    assert ("Dropout" in ops) == spec.keep_dropout, f"{spec.name}: unexpected Dropout state"


def op_types(proto: onnx.ModelProto) -> List[str]:
    return sorted({n.op_type for n in proto.graph.node})


# ---------------------------------------------------------------------------
# Reference gradients
# ---------------------------------------------------------------------------


def gradients(
    wrapper: nn.Module, x: torch.Tensor, classes: Sequence[int]
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits, d logits[i, classes[i]] / d input and / d act, for every sample i at once.

    The model is in eval mode, so samples are independent and the gradient of the sum
    of the selected logits gives every sample's own gradient.
    """
    x = x.clone().requires_grad_(True)
    logits, act = wrapper(x)
    selected = logits[torch.arange(len(classes)), torch.tensor(classes)].sum()
    grad_input, grad_act = torch.autograd.grad(selected, [x, act])
    return logits.detach(), grad_input, grad_act


def choose_classes(logits: torch.Tensor) -> List[int]:
    """For each sample, its highest-scoring class not already taken by an earlier sample.

    Classes thus differ across the batch and have large logits (SqueezeNet ends in ReLU,
    so a low-ranked class can have a zero logit and an all-zero gradient).
    """
    taken: List[int] = []
    for row in logits:
        ranking = [int(c) for c in torch.argsort(row, descending=True)]
        taken.append(next(c for c in ranking if c not in taken))
    return taken


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max|a-b| / max|b| (0 when both are all zero)."""
    scale = b.abs().max().item()
    diff = (a - b).abs().max().item()
    return diff / scale if scale > 0 else diff


def pool_gap(pool: nn.MaxPool2d, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per sample, the smallest nonzero gap between the two largest values of any pooling window
    (exact ties, e.g. all-zero windows after a ReLU, resolve identically everywhere)."""
    pair = nn.modules.utils._pair
    k, d, p = pair(pool.kernel_size), pair(pool.dilation), pair(pool.padding)
    s = pair(pool.stride or pool.kernel_size)
    out_h, out_w = y.shape[2:]
    n, c, h, w = x.shape
    # Pad with -inf like the pool does, and at the end far enough for ceil_mode windows.
    end_h = max(p[0], (out_h - 1) * s[0] + (k[0] - 1) * d[0] + 1 - p[0] - h)
    end_w = max(p[1], (out_w - 1) * s[1] + (k[1] - 1) * d[1] + 1 - p[1] - w)
    padded = nn.functional.pad(x, (p[1], end_w, p[0], end_h), value=float("-inf"))
    cols = nn.functional.unfold(padded.reshape(n * c, 1, *padded.shape[2:]), k, dilation=d, stride=s)
    top2 = cols.topk(2, dim=1).values
    gap = (top2[:, 0] - top2[:, 1]).reshape(n, -1)
    gap = torch.where(gap > 0, gap, torch.full_like(gap, float("inf")))
    return gap.min(dim=1).values / x.reshape(n, -1).abs().max(dim=1).values


def kink_margins(model: nn.Module, x: torch.Tensor) -> List[float]:
    """Per sample, the smallest nonzero relative distance of a ReLU-like input to its kink or of a
    max-pool window's runner-up to its maximum, from forward hooks on the float64 model.
    (Functional activations, e.g. DenseNet's final F.relu, have no module to hook.)"""
    margins = torch.full((x.shape[0],), float("inf"), dtype=torch.float64)

    def hook(module: nn.Module, inputs: Tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        t = inputs[0].detach()
        flat = t.reshape(t.shape[0], -1)
        if isinstance(module, nn.MaxPool2d):
            found = pool_gap(module, t, output)
        else:
            kinks = next(v for cls, v in KINKS.items() if isinstance(module, cls))
            # Inputs exactly at a kink (zero conv windows with zero bias) resolve identically.
            gaps = torch.stack([(flat - k).abs() for k in kinks]).min(dim=0).values
            distance = torch.where(gaps > 0, gaps, torch.full_like(gaps, float("inf"))).min(dim=1).values
            found = distance / flat.abs().max(dim=1).values
        margins.copy_(torch.minimum(margins, found))

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.MaxPool2d, *KINKS.keys()))
    ]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return [float(m) for m in margins]


def references(spec: Spec, model: nn.Module) -> dict:
    torch.manual_seed(spec_seed(spec) + 1)
    x = torch.randn(BATCH, 3, spec.height, spec.width, dtype=torch.float32)

    wrapper64 = LogitsAndActivation(copy.deepcopy(model).double(), spec.activation_module)
    wrapper32 = LogitsAndActivation(model, spec.activation_module)
    with torch.no_grad():
        classes = choose_classes(wrapper64(x.double())[0])
    logits64, gin64, gact64 = gradients(wrapper64, x.double(), classes)
    _, gin32, gact32 = gradients(wrapper32, x, classes)

    deviation = [
        max(relative_error(gin32[i], gin64[i]), relative_error(gact32[i], gact64[i]))
        for i in range(BATCH)
    ]
    margins = kink_margins(wrapper64, x.double())
    return {
        "x": x,
        "classes": classes,
        "logits": logits64,
        "gradInput": gin64,
        "gradActivation": gact64,
        "deviation": deviation,
        "margins": margins,
    }


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def to_base64(t: torch.Tensor) -> str:
    array = t.detach().cpu().numpy().astype("<f4")
    return base64.b64encode(array.tobytes()).decode("ascii")


def export_settings(spec: Spec) -> str:
    mode = "PRESERVE (model in eval mode)" if spec.bn == BN_KEPT else "EVAL"
    text = (
        f"torch.onnx.export(opset_version={spec.opset}, training=TrainingMode.{mode}, "
        "do_constant_folding=True)"
    )
    if spec.keep_dropout:
        text += "; nn.Dropout modules switched to train mode for the export only"
    return text


def fixture_json(spec: Spec, proto: onnx.ModelProto, ref: dict) -> dict:
    return {
        "name": spec.name,
        "architecture": spec.architecture,
        "description": spec.description,
        "opset": spec.opset,
        "batchNorm": spec.bn,
        "exportSettings": export_settings(spec),
        "input": {"name": "input", "dims": list(ref["x"].shape)},
        "output": "logits",
        "activation": {
            "name": "act",
            "dims": list(ref["gradActivation"].shape),
            "module": spec.activation_module,
        },
        "classes": ref["classes"],
        "unstable": [
            d > UNSTABLE_THRESHOLD or m < MARGIN_THRESHOLD
            for d, m in zip(ref["deviation"], ref["margins"])
        ],
        "float32Deviation": [float(f"{d:.3g}") for d in ref["deviation"]],
        # null where the model has no kink or max-pool (JSON has no Infinity).
        "kinkMargin": [float(f"{m:.3g}") if m != float("inf") else None for m in ref["margins"]],
        "opTypes": op_types(proto),
        "inputData": to_base64(ref["x"]),
        "logits": to_base64(ref["logits"]),
        "gradInput": to_base64(ref["gradInput"]),
        "gradActivation": to_base64(ref["gradActivation"]),
    }


def make_fixture(spec: Spec, out_dir: str) -> dict:
    model = build_model(spec)
    proto = export_onnx(spec, model)
    ref = references(spec, model)
    data = fixture_json(spec, proto, ref)

    onnx_path = os.path.join(out_dir, f"{spec.name}.onnx")
    with open(onnx_path, "wb") as f:
        f.write(proto.SerializeToString())
    with open(os.path.join(out_dir, f"{spec.name}.json"), "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="fixture names to (re)generate")
    args = parser.parse_args()

    torch.set_num_threads(1)  # same float32 summation order on every machine/run
    os.makedirs(args.out, exist_ok=True)
    for spec in SPECS:
        if args.only and spec.name not in args.only:
            continue
        data = make_fixture(spec, args.out)
        size = os.path.getsize(os.path.join(args.out, f"{spec.name}.onnx"))
        print(
            f"{spec.name:22s} opset {spec.opset:2d}  onnx {size / 1024:6.1f} KiB  "
            f"act {data['activation']['dims']}  classes {data['classes']}  "
            f"unstable {data['unstable']}  dev {data['float32Deviation']}"
        )
        print(f"{'':22s} ops: {' '.join(data['opTypes'])}")


if __name__ == "__main__":
    main()
