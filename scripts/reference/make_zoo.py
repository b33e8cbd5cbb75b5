#!/usr/bin/python3
"""A zoo of reduced-size torchvision classifiers, exported the way real exporters write them.

One member per torchvision classification family, built from torchvision's own classes with
reduced widths and depths (same op topology), random weights with fixed seeds, BatchNorm
randomised as in make_gradient_fixtures.py, eval mode. Every member is exported at opsets 13 and
17; some also as exporter variants (old and new opsets, fixed batch, Softmax / [N, C, 1, 1] /
[N, 1, C] heads, NHWC input, float16, Caffe2 style, external data, and two models camscope must
refuse). Next to the exports, `<member>.zoo.json` holds a batch of inputs, the float64 PyTorch
logits and the float64 autograd gradients of one class logit per sample w.r.t. the input and
w.r.t. an intermediate value kept under the ONNX name "act" (format: scripts/reference/README.md,
section "Model zoo"). Every export is run with onnxruntime-node (zoo_ort_check.mjs) and the result
recorded in the JSON.

The `squeeze1000` member is "a model as a user downloads it": SqueezeNet with 1000 classes at
224x224, opset 7, float16, fixed batch 1, Softmax over [1, 1000, 1, 1], Caffe preprocessing through
a model card, with a cleaned-up opset-13 twin and the top-5 classes of the repository's samples.

Run with Debian's Python (torch 1.13, torchvision 0.14, onnx 1.12) from the repository root:

    /usr/bin/python3 scripts/reference/make_zoo.py [--out DIR] [--only MEMBER ...] [--no-ort]

Reruns reproduce byte-identical files on the same machine (the ONNX Runtime errors recorded in the
JSON may differ in the last digits on another CPU).
"""

from __future__ import annotations

import argparse
import copy
import glob
import importlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import torch
import torch.nn as nn
import torchvision
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from torchvision import transforms
from torchvision.models import (
    convnext,
    densenet,
    efficientnet,
    inception,
    mnasnet,
    mobilenetv2,
    mobilenetv3,
    regnet,
    shufflenetv2,
    squeezenet,
    swin_transformer,
    vgg,
    vision_transformer,
)
from torchvision.models.resnet import BasicBlock, Bottleneck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_gradient_fixtures as fixtures  # noqa: E402  (shared builders and reference machinery)

# torchvision.models.googlenet is shadowed by the googlenet() builder function.
tv_googlenet = importlib.import_module("torchvision.models.googlenet")

REPO_ROOT = fixtures.REPO_ROOT
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "models", "zoo")
CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo_ort_check.mjs")

NUM_CLASSES = fixtures.NUM_CLASSES
GENERATOR = (
    f"scripts/reference/make_zoo.py (torch {torch.__version__}, torchvision "
    f"{torchvision.__version__}, onnx {onnx.__version__})"
)
BATCH = 2
INPUT_ATTEMPTS = 10  # input draws tried per member for a batch without unstable samples
ACT = "act"  # ONNX name of the intermediate value whose gradient the JSON holds
PGC = "pgc_layer"  # ONNX name of the layer pytorch-grad-cam's documentation would explain

# ---------------------------------------------------------------------------
# Builders: torchvision's classes with reduced widths / depths
# ---------------------------------------------------------------------------


class GroupedResNet(fixtures.SmallResNet):
    """SmallResNet with ResNeXt / Wide-ResNet grouping. torchvision's _make_layer reads
    self.groups and self.base_width, which SmallResNet fixes at 1 and 64."""

    def __init__(self, block, layers, widths, groups: int, width_per_group: int):
        self.zoo_grouping = (groups, width_per_group)  # read by _make_layer during __init__
        super().__init__(block, layers, widths, NUM_CLASSES)

    def _make_layer(self, *args, **kwargs):
        self.groups, self.base_width = self.zoo_grouping
        return super()._make_layer(*args, **kwargs)


def build_resnet18() -> nn.Module:
    # ResNet-18: [2,2,2,2] BasicBlocks; stage widths 64,128,256,512 -> 4,4,8,8.
    return fixtures.SmallResNet(BasicBlock, [2, 2, 2, 2], [4, 4, 8, 8], NUM_CLASSES)


def build_resnext() -> nn.Module:
    # ResNeXt: Bottleneck with 4 groups of 2 channels (width = planes * 32/64 * 4 = 2 * planes).
    return GroupedResNet(Bottleneck, [1, 1, 1, 1], [4, 4, 8, 8], groups=4, width_per_group=32)


def build_wide_resnet() -> nn.Module:
    # Wide ResNet-50-2: Bottleneck with width_per_group 128 (inner width 2 * planes), no groups.
    return GroupedResNet(Bottleneck, [1, 1, 1, 1], [4, 4, 8, 8], groups=1, width_per_group=128)


def build_vgg11_bn() -> nn.Module:
    # VGG-11 config "A" with BatchNorm, widths 64..512 -> 4..16, its last two-conv stage dropped
    # (4 max-pools, so that a 34x32 input keeps a 2x2 last map).
    cfg = [4, "M", 4, "M", 8, 8, "M", 16, 16, "M"]
    model = vgg.VGG(vgg.make_layers(cfg, batch_norm=True), num_classes=NUM_CLASSES)
    # As in make_gradient_fixtures: the adaptive pool keeps the final 2x2 map (kernel 1, like
    # torchvision's 7x7 at 224) and the classifier keeps its Linear-ReLU-Dropout layout.
    model.avgpool = nn.AdaptiveAvgPool2d((2, 2))
    model.classifier = nn.Sequential(
        nn.Linear(16 * 2 * 2, 16),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(16, 16),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(16, NUM_CLASSES),
    )
    for m in model.classifier:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)
    return model


def build_densenet() -> nn.Module:
    # DenseNet-121 form (BN-ReLU-Conv layers, Concat, transitions with AveragePool) with growth 4
    # and three dense blocks (2,3,2) instead of four (6,12,24,16).
    return densenet.DenseNet(
        growth_rate=4, block_config=(2, 3, 2), num_init_features=8, bn_size=2,
        num_classes=NUM_CLASSES,
    )


def squeezenet_features(widths: Sequence[Tuple[int, int, int, int]], stem: int) -> nn.Sequential:
    """SqueezeNet 1.1's feature layout (conv, 3 ceil-mode max-pools, 8 Fire modules)."""
    Fire = squeezenet.Fire
    pool = partial(nn.MaxPool2d, kernel_size=3, stride=2, ceil_mode=True)
    fires = [Fire(*w) for w in widths]
    return nn.Sequential(
        nn.Conv2d(3, stem, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
        fires[0], fires[1], pool(), fires[2], fires[3], pool(), *fires[4:],
    )


def squeezenet_init(model: squeezenet.SqueezeNet, final_conv: nn.Conv2d) -> None:
    for m in model.modules():  # torchvision's SqueezeNet init
        if isinstance(m, nn.Conv2d):
            if m is final_conv:
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
            else:
                nn.init.kaiming_uniform_(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)


def build_squeezenet1_1(num_classes: int = NUM_CLASSES) -> nn.Module:
    # SqueezeNet 1.1 with Fire widths divided by 16 (squeeze at least 2 channels).
    model = squeezenet.SqueezeNet("1_1", num_classes=num_classes)
    model.features = squeezenet_features(
        [(8, 2, 4, 4), (8, 2, 4, 4), (8, 2, 8, 8), (16, 2, 8, 8),
         (16, 4, 12, 12), (24, 4, 12, 12), (24, 4, 16, 16), (32, 4, 16, 16)],
        stem=8,
    )
    final_conv = nn.Conv2d(32, num_classes, kernel_size=1)
    model.classifier[1] = final_conv
    squeezenet_init(model, final_conv)
    return model


def build_mobilenet_v2() -> nn.Module:
    # Width 0.05, each stage's repeats reduced, the fixed 1280-channel last conv reduced to 32.
    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 1, 2], [6, 64, 1, 2], [6, 96, 1, 1],
               [6, 160, 1, 2], [6, 320, 1, 1]]
    model = mobilenetv2.MobileNetV2(
        num_classes=NUM_CLASSES, width_mult=0.05, inverted_residual_setting=setting
    )
    in_channels = model.features[-1][0].in_channels
    model.features[-1] = mobilenetv2.Conv2dNormActivation(
        in_channels, 32, kernel_size=1, activation_layer=nn.ReLU6
    )
    model.classifier[1] = nn.Linear(32, NUM_CLASSES)
    nn.init.kaiming_normal_(model.features[-1][0].weight, mode="fan_out")
    nn.init.normal_(model.classifier[1].weight, 0, 0.01)
    nn.init.zeros_(model.classifier[1].bias)
    return model


def build_mobilenet_v3(arch: str, keep: Optional[Sequence[int]]) -> nn.Module:
    # Width 0.1, last_channel 16; `keep` drops some repeated blocks (every block kind and all
    # four stride-2 blocks stay).
    setting, _ = mobilenetv3._mobilenet_v3_conf(arch, width_mult=0.1)
    if keep is not None:
        setting = [setting[i] for i in keep]
    return mobilenetv3.MobileNetV3(setting, last_channel=16, num_classes=NUM_CLASSES)


def build_efficientnet_b0() -> nn.Module:
    # Width 0.04, depth 0.5 with stages 5 and 6 cut to one block (repeats 1,1,1,2,1,1,1): MBConv
    # with SiLU, squeeze-excitation and, in stage 4, a residual with stochastic depth.
    setting, last_channel = efficientnet._efficientnet_conf(
        "efficientnet_b0", width_mult=0.04, depth_mult=0.5
    )
    for stage in setting[4:6]:
        stage.num_layers = 1
    return efficientnet.EfficientNet(
        setting, dropout=0.2, num_classes=NUM_CLASSES, last_channel=last_channel
    )


def build_regnet(se_ratio: Optional[float]) -> nn.Module:
    # Four stages of ResBottleneckBlocks, group width 8, bottleneck multiplier 1, widths 8..24.
    params = regnet.BlockParams(
        depths=[1, 1, 2, 1], widths=[8, 8, 16, 24], group_widths=[8, 8, 8, 8],
        bottleneck_multipliers=[1.0] * 4, strides=[2] * 4, se_ratio=se_ratio,
    )
    return regnet.RegNet(params, num_classes=NUM_CLASSES, stem_width=8)


def build_shufflenet_v2() -> nn.Module:
    # ShuffleNetV2 stage repeats (4,8,4) -> (2,2,2), channels (24,116,232,464,1024) -> (8,16,16,32,32).
    return shufflenetv2.ShuffleNetV2([2, 2, 2], [8, 16, 16, 32, 32], num_classes=NUM_CLASSES)


def build_mnasnet() -> nn.Module:
    # MNASNet-B1 stem (alpha 0.1) and its six inverted-residual stacks rebuilt with mnasnet._stack
    # at widths 8..16 and fewer repeats; the fixed 1280-channel last conv reduced to 32.
    model = mnasnet.MNASNet(0.1, num_classes=NUM_CLASSES)
    stacks = [  # (in, out, kernel, stride, expansion, repeats), torchvision: 3,3,3,2,4,1 repeats
        (8, 8, 3, 2, 3, 1), (8, 8, 5, 2, 3, 2), (8, 8, 5, 2, 6, 1),
        (8, 8, 3, 1, 6, 1), (8, 8, 5, 2, 6, 1), (8, 16, 3, 1, 6, 1),
    ]
    momentum = mnasnet._BN_MOMENTUM
    for i, (cin, cout, k, s, e, r) in enumerate(stacks):
        model.layers[8 + i] = mnasnet._stack(cin, cout, k, s, e, r, momentum)
    model.layers[14] = nn.Conv2d(16, 32, 1, padding=0, stride=1, bias=False)
    model.layers[15] = nn.BatchNorm2d(32, momentum=momentum)
    model.classifier[1] = nn.Linear(32, NUM_CLASSES)
    for m in model.modules():  # torchvision's MNASNet init
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
            nn.init.zeros_(m.bias)
    return model


def scaled_conv_block(block_class, divisor: int) -> Callable[..., nn.Module]:
    """GoogLeNet / Inception-v3 hard-code their widths; this conv_block factory divides every
    width by `divisor` (rounding up), so the torchvision blocks build the same graph narrower.
    Concatenated widths stay consistent because every branch width divides exactly."""

    def conv_block(in_channels: int, out_channels: int, **kwargs) -> nn.Module:
        cin = in_channels if in_channels == 3 else math.ceil(in_channels / divisor)
        return block_class(cin, math.ceil(out_channels / divisor), **kwargs)

    return conv_block


def build_googlenet() -> nn.Module:
    # GoogLeNet widths divided by 16; inception4b, 4c and 5a dropped (their neighbours have the
    # same widths); transform_input off, aux heads off.
    conv_block = scaled_conv_block(tv_googlenet.BasicConv2d, 16)
    model = tv_googlenet.GoogLeNet(
        num_classes=NUM_CLASSES, aux_logits=False, transform_input=False, init_weights=True,
        blocks=[conv_block, partial(tv_googlenet.Inception, conv_block=conv_block),
                tv_googlenet.InceptionAux],
    )
    model.inception4b = nn.Identity()
    model.inception4c = nn.Identity()
    model.inception5a = nn.Identity()
    model.fc = nn.Linear(1024 // 16, NUM_CLASSES)
    nn.init.trunc_normal_(model.fc.weight, mean=0.0, std=0.01, a=-2, b=2)
    return model


def build_inception_v3() -> nn.Module:
    # Inception-v3 widths divided by 32 (all Mixed blocks kept), transform_input and aux off.
    conv_block = scaled_conv_block(inception.BasicConv2d, 32)
    blocks = [inception.InceptionA, inception.InceptionB, inception.InceptionC,
              inception.InceptionD, inception.InceptionE]
    model = inception.Inception3(
        num_classes=NUM_CLASSES, aux_logits=False, transform_input=False, init_weights=True,
        inception_blocks=[conv_block, *[partial(b, conv_block=conv_block) for b in blocks],
                          inception.InceptionAux],
    )
    model.fc = nn.Linear(2048 // 32, NUM_CLASSES)
    nn.init.trunc_normal_(model.fc.weight, mean=0.0, std=0.1, a=-2, b=2)
    return model


def build_convnext_tiny() -> nn.Module:
    # ConvNeXt-T stages (96,192,384,768 x 3,3,9,3) -> three stages (8,12,16 x 1,1,2): patchify
    # stem, LayerNorm2d, CNBlocks (7x7 depthwise, LayerNorm, Linear-GELU-Linear, layer scale).
    setting = [
        convnext.CNBlockConfig(8, 12, 1),
        convnext.CNBlockConfig(12, 16, 1),
        convnext.CNBlockConfig(16, None, 2),
    ]
    return convnext.ConvNeXt(setting, num_classes=NUM_CLASSES)


class ZooViT(vision_transformer.VisionTransformer):
    """torchvision's VisionTransformer on a non-square image: only the size check and the
    position embedding's length change; forward, encoder and head are torchvision's."""

    def __init__(self, image_size: Tuple[int, int], patch_size: int, **kwargs):
        super().__init__(image_size=image_size[0], patch_size=patch_size, **kwargs)
        self.image_hw = image_size
        self.seq_length = (image_size[0] // patch_size) * (image_size[1] // patch_size) + 1
        self.encoder.pos_embedding = nn.Parameter(
            torch.empty(1, self.seq_length, self.hidden_dim).normal_(std=0.02)
        )

    def _process_input(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        p = self.patch_size
        torch._assert(h == self.image_hw[0] and w == self.image_hw[1], "Wrong image size!")
        x = self.conv_proj(x)
        x = x.reshape(n, self.hidden_dim, (h // p) * (w // p))
        return x.permute(0, 2, 1)


def build_vit() -> nn.Module:
    # ViT-B/16 (12 layers, 12 heads, hidden 768, MLP 3072) -> patch 4 on 16x24 (a 4x6 grid),
    # 2 layers, 2 heads of 16, hidden 32, MLP 32.
    return ZooViT((16, 24), 4, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=32,
                  num_classes=NUM_CLASSES)


def build_swin_t() -> nn.Module:
    # Swin-T (patch 4, embed 96, depths 2,2,6,2, window 7) -> patch 2 on 16x24 (an 8x12 grid),
    # embed 12, two stages of 2 blocks (heads 2, 4), window 4x6: stage 1 has 2x2 windows and its
    # second block is shifted by (2, 3) (roll + attention mask); stage 2's 4x6 grid is one window,
    # where torchvision disables the shift.
    return swin_transformer.SwinTransformer(
        patch_size=[2, 2], embed_dim=12, depths=[2, 2], num_heads=[2, 4], window_size=[4, 6],
        mlp_ratio=2.0, stochastic_depth_prob=0.0, num_classes=NUM_CLASSES,
    )


def build_squeeze1000() -> nn.Module:
    # The "download" member: SqueezeNet 1.1 layout, Fire widths / 8 .. / 16, 1000 classes.
    model = squeezenet.SqueezeNet("1_1", num_classes=1000)
    model.features = squeezenet_features(
        [(8, 2, 8, 8), (16, 2, 8, 8), (16, 4, 12, 12), (24, 4, 12, 12),
         (24, 4, 16, 16), (32, 6, 16, 16), (32, 6, 16, 16), (32, 6, 16, 16)],
        stem=8,
    )
    final_conv = nn.Conv2d(32, 1000, kernel_size=1)
    model.classifier[1] = final_conv
    squeezenet_init(model, final_conv)
    return model


@torch.no_grad()
def redraw_transformer_init(model: nn.Module) -> None:
    """Random-init transformers are nearly inert: weights with std 0.02, ConvNeXt's layer scale
    1e-6 and ViT's zero head make every block close to the identity and the logits close to 0,
    so gradient checks would not see the blocks. Redraw with fan-in scaled weights, random
    LayerNorm affine parameters and position terms of order 1."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 1.0 / math.sqrt(m.weight[0].numel()))
            if m.bias is not None:
                nn.init.normal_(m.bias, 0.0, 0.1)
        elif isinstance(m, nn.LayerNorm):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.2)
        elif isinstance(m, nn.MultiheadAttention):
            nn.init.normal_(m.in_proj_weight, 0.0, 1.5 / math.sqrt(m.embed_dim))
            nn.init.normal_(m.in_proj_bias, 0.0, 0.1)
        elif isinstance(m, swin_transformer.ShiftedWindowAttention):
            nn.init.normal_(m.relative_position_bias_table, 0.0, 0.5)
        elif isinstance(m, convnext.CNBlock):
            m.layer_scale.uniform_(0.5, 1.0)
    if isinstance(model, vision_transformer.VisionTransformer):
        model.class_token.normal_(0.0, 1.0)
        model.encoder.pos_embedding.normal_(0.0, 0.5)


# ---------------------------------------------------------------------------
# Heads: what the exported graph returns, as functions of the model
# ---------------------------------------------------------------------------


def model_forward(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's own forward, also while export() has replaced it (see there)."""
    return m.zoo_forward(x) if hasattr(m, "zoo_forward") else m(x)


def head_logits(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model_forward(m, x)


def head_softmax(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(model_forward(m, x), dim=1)


def head_logsoftmax(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(model_forward(m, x), dim=1)


def head_nhwc(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # A channels-last input transposed into the network (what tf2onnx-converted Keras models and
    # wrappers around PyTorch models look like).
    return model_forward(m, x.permute(0, 3, 1, 2))


def squeezenet_scores(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # SqueezeNet without its final flatten: class scores [N, C, 1, 1].
    return m.classifier(m.features(x))


def squeezenet_scores_softmax(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(squeezenet_scores(m, x), dim=1)


def squeezenet_softmax_flatten(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.flatten(torch.softmax(squeezenet_scores(m, x), dim=1), 1)


def squeezenet_map(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # Classifier without its pooling: a class-score map [N, C, h, w], which is not a classifier.
    return m.classifier[:-1](m.features(x))


def resnet_reshape_head(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # ResNet._forward_impl with reshape(x.shape[0], -1) instead of torch.flatten, as many
    # hand-written heads do; without dynamic axes the batch size becomes a constant 1.
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
    x = m.avgpool(x)
    return m.fc(x.reshape(x.shape[0], -1))


def vgg_view_head(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # VGG.forward as older torchvision wrote it: x.view(x.size(0), -1).
    x = m.avgpool(m.features(x))
    return m.classifier(x.view(x.size(0), -1))


def regnet_n1c(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # RegNet.forward with the pooled features as a length-1 sequence: the Linear head sees
    # [N, 1, C] (MatMul + Add instead of Gemm) and the logits are [N, 1, classes].
    x = m.avgpool(m.trunk_output(m.stem(x)))
    return m.fc(x.flatten(start_dim=2).transpose(1, 2))


def resnet_two_outputs(m: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    # Logits and the pooled embedding: a model with two outputs and no way to tell which one.
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
    embedding = torch.flatten(m.avgpool(x), 1)
    return m.fc(embedding), embedding


class Head(nn.Module):
    def __init__(self, model: nn.Module, fn: Callable):
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, x: torch.Tensor):
        return self.fn(self.model, x)


def run_captured(m: nn.Module, fn: Callable, paths: Sequence[str], x: torch.Tensor):
    """fn(m, x) followed by the outputs of the given submodules of m, so that the export names
    them (act, pgc_layer); export() then removes them from the graph outputs."""
    stores: List[List[torch.Tensor]] = [[] for _ in paths]
    handles = [
        m.get_submodule(path).register_forward_hook(
            lambda _m, _i, out, store=store: store.append(out)
        )
        for path, store in zip(paths, stores)
    ]
    try:
        out = fn(m, x)
    finally:
        for handle in handles:
            handle.remove()
    assert all(len(s) == 1 for s in stores), "captured modules must run exactly once"
    outs = out if isinstance(out, tuple) else (out,)
    return (*outs, *[s[0] for s in stores])


# ---------------------------------------------------------------------------
# Members and variants
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    opset: int
    head: str = "logits"  # JSON `head`
    fn: Callable = head_logits
    layout: str = "NCHW"
    dynamic: bool = True
    outputs: Tuple[str, ...] = ("logits",)
    input_name: str = "input"
    fp16: Optional[str] = None  # "full" (weights and io) or "io32" (float32 io, Casts)
    post: Optional[str] = None  # "op21" | "caffe2" | "external"
    keep_bn: bool = False  # training=PRESERVE: explicit BatchNormalization nodes
    note: str = ""
    may_fail: bool = False  # torch is known not to export this; record the error in the JSON


OP13 = Variant("op13", 13)
OP17 = Variant("op17", 17)


def opset_variant(opset: int) -> Variant:
    return Variant(f"op{opset}", opset, note=f"torch.onnx.export at opset {opset}")


OP21 = Variant(
    "op21", 17, post="op21",
    note="opset-17 export upgraded to opset 21 / IR 10 by upgrade_to_21 (Reduce* axes as inputs, "
    "Split num_outputs, GELU fused into Gelu)",
)
SOFTMAX = Variant("softmax", 13, head="softmax", fn=head_softmax, outputs=("probabilities",),
                  note="Softmax over the classes after the logits")
LOGSOFTMAX = Variant("logsoftmax", 13, head="logsoftmax", fn=head_logsoftmax,
                     outputs=("log_probabilities",), note="LogSoftmax after the logits")
NHWC = Variant("nhwc", 13, layout="NHWC", fn=head_nhwc,
               note="input [N, H, W, 3], Transpose into the network")
FP16 = Variant("fp16", 17, fp16="full",
               note="float16 weights, input and output (BatchNorm folded in PyTorch first)")
FP16_IO32 = Variant("fp16-io32", 17, fp16="io32",
                    note="float16 weights, float32 input/output with Casts at the boundary")


def fixed_batch(fn: Callable, note: str) -> Variant:
    return Variant("fixed-batch", 13, fn=fn, dynamic=False, note=note)


@dataclass(frozen=True)
class Member:
    name: str
    family: str
    build: Callable[[], nn.Module]
    height: int
    width: int
    act: str  # submodule whose output is kept under the ONNX name "act"
    gradcam: str  # submodule pytorch-grad-cam's documentation (or our reasoning) would explain
    gradcam_label: str
    gradcam_source: str
    description: str
    variants: Tuple[Variant, ...] = ()
    transformer: bool = False
    act_layout: str = "NCHW"
    gradcam_layout: str = "NCHW"
    grid: Optional[Tuple[int, int]] = None  # token grid of a transformer's feature maps
    batch: int = BATCH  # reference batch (1 where the input is large)


README = "pytorch-grad-cam README (Chosing the Target Layer)"
LAST_BLOCK = "no entry in pytorch-grad-cam's README; its rule for CNNs: the last convolutional block"

MEMBERS: List[Member] = [
    Member(
        "resnet18", "ResNet", build_resnet18, 36, 33, "layer3", "layer4.1", "layer4[-1]",
        f"{README}: 'Resnet18 and 50: model.layer4[-1]'",
        "torchvision ResNet._make_layer with BasicBlock, [2,2,2,2] blocks, stage widths 4,4,8,8 "
        "(torchvision 64..512)",
        (
            opset_variant(7), opset_variant(9), opset_variant(11), OP21,
            fixed_batch(resnet_reshape_head,
                        "no dynamic axes; head does reshape(x.shape[0], -1) -> batch-1 Reshape"),
            SOFTMAX, NHWC, FP16, FP16_IO32,
            Variant("external", 13, post="external",
                    note="initializers over 1 KiB in <file>.onnx.data beside the model"),
        ),
    ),
    Member(
        "resnext", "ResNeXt", build_resnext, 36, 33, "layer3", "layer4.0", "layer4[-1]",
        f"{README} for ResNet: 'model.layer4[-1]'",
        "torchvision ResNet._make_layer with Bottleneck, groups 4, width_per_group 32 (inner "
        "width 2x planes, grouped 3x3), [1,1,1,1] blocks, planes 4,4,8,8",
        (
            Variant("two-outputs", 13, head="two-outputs", fn=resnet_two_outputs,
                    outputs=("logits", "embedding"),
                    note="outputs logits [N, 10] and the pooled embedding [N, 32]; must be "
                    "refused unless an output is chosen"),
        ),
    ),
    Member(
        "wide_resnet", "Wide ResNet", build_wide_resnet, 36, 33, "layer3", "layer4.0",
        "layer4[-1]", f"{README} for ResNet: 'model.layer4[-1]'",
        "torchvision ResNet._make_layer with Bottleneck, width_per_group 128 (inner width 2x "
        "planes), [1,1,1,1] blocks, planes 4,4,8,8",
    ),
    Member(
        "vgg11_bn", "VGG", build_vgg11_bn, 34, 32, "features.14", "features.21", "features[-1]",
        f"{README}: 'VGG and densenet161: model.features[-1]' (the last MaxPool)",
        "torchvision vgg.make_layers config A with BatchNorm, widths 4,4,8,8,16,16 (stage 5 "
        "dropped); "
        "AdaptiveAvgPool2d((2,2)); classifier Linear-ReLU-Dropout x2 with 16 hidden units",
        (
            opset_variant(7),
            fixed_batch(vgg_view_head,
                        "no dynamic axes; head does x.view(x.size(0), -1) -> batch-1 Reshape"),
            Variant("caffe2", 8, input_name="data_0", post="caffe2", keep_bn=True,
                    note="Caffe2-era form: opset 8, IR 3, every initializer also a graph input, "
                    "no value_info, BatchNormalization nodes with spatial=1"),
        ),
    ),
    Member(
        "densenet", "DenseNet", build_densenet, 30, 33, "features.denseblock2", "features.norm5",
        "features[-1]", f"{README}: 'VGG and densenet161: model.features[-1]' (norm5, before "
        "the functional ReLU)",
        "torchvision DenseNet, growth 4, three dense blocks (2,3,2), 8 initial features, bn_size 2",
        (opset_variant(7), LOGSOFTMAX),
    ),
    Member(
        "squeezenet1_1", "SqueezeNet", build_squeezenet1_1, 54, 38, "features.7", "features.12",
        "features[-1]", f"{LAST_BLOCK} (the last Fire; the classifier's conv is a class-score "
        "map, not a feature layer)",
        "torchvision SqueezeNet('1_1') with Fire widths / 16 (squeeze >= 2), ceil-mode max-pools",
        (
            opset_variant(7),
            Variant("nchw11", 13, head="nchw11", fn=squeezenet_scores, outputs=("scores",),
                    note="SqueezeNet without its flatten: output [N, C, 1, 1]"),
            Variant("nchw11-softmax", 13, head="nchw11-softmax", fn=squeezenet_scores_softmax,
                    outputs=("probabilities",), note="Softmax over axis 1 of [N, C, 1, 1]"),
            Variant("softmax-flatten", 13, head="softmax-flatten", fn=squeezenet_softmax_flatten,
                    outputs=("probabilities",),
                    note="Softmax over axis 1 of [N, C, 1, 1], then Flatten"),
            Variant("map-output", 13, head="map-output", fn=squeezenet_map, outputs=("map",),
                    note="classifier without its pooling: [N, C, h, w]; must be refused"),
        ),
    ),
    Member(
        "mobilenet_v2", "MobileNetV2", build_mobilenet_v2, 36, 33, "features.3", "features.9",
        "features[-1]", LAST_BLOCK,
        "torchvision MobileNetV2 width_mult 0.05, stage repeats 1,2,1,1,1,1,1, last conv 32",
        (opset_variant(9), NHWC),
    ),
    Member(
        "mobilenet_v3_small", "MobileNetV3", partial(build_mobilenet_v3, "mobilenet_v3_small",
                                                     [0, 1, 2, 3, 4, 6, 7, 8]),
        36, 33, "features.5", "features.9", "features[-1]", LAST_BLOCK,
        "torchvision MobileNetV3 small config, width_mult 0.1, last_channel 16, blocks 5, 9 and "
        "10 of 11 dropped",
        (SOFTMAX,),
    ),
    Member(
        "mobilenet_v3_large", "MobileNetV3", partial(build_mobilenet_v3, "mobilenet_v3_large",
                                                     [0, 1, 2, 3, 4, 6, 7, 10, 12]),
        36, 33, "features.5", "features.10", "features[-1]", LAST_BLOCK,
        "torchvision MobileNetV3 large config, width_mult 0.1, last_channel 16, 9 of 15 blocks "
        "(all stride-2, SE and HardSwish kinds kept)",
    ),
    Member(
        "efficientnet_b0", "EfficientNet", build_efficientnet_b0, 36, 33, "features.4",
        "features.8", "features[-1]", LAST_BLOCK,
        "torchvision EfficientNet b0 config, width_mult 0.04, stage repeats 1,1,1,2,1,1,1",
        (opset_variant(11), OP21, FP16),
    ),
    Member(
        "regnet_x", "RegNet", partial(build_regnet, None), 36, 33, "trunk_output.block2",
        "trunk_output.block4", "trunk_output[-1]", LAST_BLOCK,
        "torchvision RegNet with BlockParams depths 1,1,2,1, widths 8,8,16,24, group width 8, "
        "stem 8, no squeeze-excitation (RegNetX)",
        (
            Variant("n1c", 13, head="n1c", fn=regnet_n1c, note="pooled features as a length-1 "
                    "sequence into the Linear head (MatMul + Add): logits [N, 1, C]"),
        ),
    ),
    Member(
        "regnet_y", "RegNet", partial(build_regnet, 0.25), 36, 33, "trunk_output.block2",
        "trunk_output.block4", "trunk_output[-1]", LAST_BLOCK,
        "regnet_x with squeeze-excitation ratio 0.25 (RegNetY)",
    ),
    Member(
        "shufflenet_v2", "ShuffleNetV2", build_shufflenet_v2, 36, 33, "stage3", "conv5", "conv5",
        LAST_BLOCK, "torchvision ShuffleNetV2, stage repeats 2,2,2, channels 8,16,16,32,32",
        (
            replace(opset_variant(9), may_fail=True),
            Variant("op9-fixed-batch", 9, dynamic=False,
                    note="torch.onnx.export at opset 9 without dynamic axes (with a dynamic batch "
                    "torch 1.13 cannot export chunk at opset 9)"),
            replace(OP21, note=OP21.note + "; ReduceMean's axes become an input"),
        ),
    ),
    Member(
        "mnasnet", "MNASNet", build_mnasnet, 36, 33, "layers.10", "layers.16", "layers[-1]",
        f"{README}: 'mnasnet1_0: model.layers[-1]'",
        "torchvision MNASNet(0.1) stem, mnasnet._stack stacks of widths 8 (last 16) with repeats "
        "1,2,1,1,1,1, last conv 32",
        (opset_variant(11),),
    ),
    Member(
        "googlenet", "GoogLeNet", build_googlenet, 56, 48, "inception4a", "inception5b",
        "inception5b", LAST_BLOCK,
        "torchvision GoogLeNet with Inception blocks, widths / 16, inception4b/4c/5a dropped, "
        "transform_input=False, aux_logits=False",
        (opset_variant(7),),
    ),
    Member(
        "inception_v3", "Inception", build_inception_v3, 107, 108, "Mixed_6e", "Mixed_7c",
        "Mixed_7c", LAST_BLOCK,
        "torchvision Inception3 with InceptionA..E, widths / 32, transform_input=False, "
        "aux_logits=False; 107x108 is the smallest input with a 2x2 last map (reference batch 1 "
        "to keep the JSON small)",
        batch=1,
    ),
    Member(
        "convnext_tiny", "ConvNeXt", build_convnext_tiny, 32, 48, "features.3", "features.5",
        "features[-1]", f"{LAST_BLOCK} (the last stage, not the classifier's LayerNorm2d)",
        "torchvision ConvNeXt with CNBlockConfig (8,12,1), (12,16,1), (16,None,2); weights "
        "redrawn (see redraw_transformer_init)",
        (OP21, NHWC), transformer=True,
    ),
    Member(
        "vit_b_16", "VisionTransformer", build_vit, 16, 24, "encoder.layers.encoder_layer_0",
        "encoder.layers.encoder_layer_1.ln_1", "encoder.layers[-1].ln_1",
        f"{README}: 'ViT: model.blocks[-1].norm1' (timm names; torchvision's "
        "encoder.layers[-1].ln_1)",
        "torchvision VisionTransformer (EncoderBlock, nn.MultiheadAttention) on 16x24, patch 4 "
        "(4x6 grid + class token), 2 layers, 2 heads, hidden 32, MLP 32; weights redrawn",
        (
            OP21,
            fixed_batch(head_logits, "no dynamic axes: the patch Reshape holds batch 1, the "
                        "attention Reshapes batch * heads = 2 ([25, 2, 16]) and batch 1 "
                        "([25, 1, 32]); the class-token Expand shape is computed"),
            FP16,
        ),
        transformer=True, act_layout="NTC", gradcam_layout="NTC", grid=(4, 6),
    ),
    Member(
        "swin_t", "SwinTransformer", build_swin_t, 16, 24, "features.1", "features.3.1.norm1",
        "features[-1][-1].norm1",
        f"{README}: 'SwinT: model.layers[-1].blocks[-1].norm1' (timm names; torchvision's "
        "features[-1][-1].norm1)",
        "torchvision SwinTransformer, patch 2 on 16x24 (8x12 grid), embed 12, depths 2,2, heads "
        "2,4, window 4x6 (block features.1.1 shifted by 2,3), MLP ratio 2; weights redrawn",
        transformer=True, act_layout="NHWC", gradcam_layout="NHWC",
    ),
]

# ---------------------------------------------------------------------------
# Model preparation
# ---------------------------------------------------------------------------


def member_seed(name: str) -> int:
    # Python's hash() of a str changes from run to run; a character sum does not.
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) % 100_003


def prepare(model: nn.Module, height: int, width: int, transformer: bool) -> nn.Module:
    fixtures.disable_inplace(model)
    if transformer:
        redraw_transformer_init(model)
    fixtures.randomize_batchnorm(model, height, width)
    return model.eval()


def fuse_batchnorm(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """A copy with every BatchNorm that directly follows a Conv folded into it (what the ONNX
    exporter does at export), found by running the model once. Pre-activation BatchNorm
    (DenseNet) stays. Used for float16: the weights are rounded after folding, as a float16
    converter of an exported model rounds the folded weights."""
    model = copy.deepcopy(model)
    names = {id(m): n for n, m in model.named_modules()}
    conv_of_output: Dict[int, str] = {}
    pairs: List[Tuple[str, str]] = []
    keep_alive: List[torch.Tensor] = []  # so that no tensor id is reused during the pass

    def conv_hook(module, _inputs, output):
        keep_alive.append(output)
        conv_of_output[id(output)] = names[id(module)]

    def bn_hook(module, inputs, _output):
        conv = conv_of_output.get(id(inputs[0]))
        if conv is not None:
            pairs.append((conv, names[id(module)]))

    handles = [
        m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else bn_hook)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))
    ]
    with torch.no_grad():
        model(example)
    for handle in handles:
        handle.remove()
    for conv_name, bn_name in pairs:
        conv, bn = model.get_submodule(conv_name), model.get_submodule(bn_name)
        set_submodule(model, conv_name, torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn))
        set_submodule(model, bn_name, nn.Identity())
    return model


def set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, module)


@torch.no_grad()
def round_to_float16(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    for t in [*model.parameters(), *model.buffers()]:
        if t.is_floating_point():
            t.copy_(t.half().float())
    return model


SQRT2_FP16 = float(np.float16(math.sqrt(2.0)))


class Float16ConstantGELU(nn.Module):
    """nn.GELU as the float16 graph computes it: the exporter writes x * 0.5 * (1 + erf(x / c))
    with c = sqrt(2), and float16 conversion rounds c to 1.4140625."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.5 * (1.0 + torch.erf(x / SQRT2_FP16))


def float16_reference_model(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    for name, m in list(model.named_modules()):
        if isinstance(m, nn.GELU):
            set_submodule(model, name, Float16ConstantGELU())
    return model


# ---------------------------------------------------------------------------
# References (float64 PyTorch autograd)
# ---------------------------------------------------------------------------


def functional_kink_margins(model: nn.Module, x: torch.Tensor) -> List[float]:
    """fixtures.kink_margins hooks ReLU / max-pool modules; these models also apply F.relu and
    F.max_pool2d without a module: GoogLeNet's and Inception's BasicConv2d (ReLU of the BN
    output), InceptionB/D (max-pool branch) and DenseNet's final ReLU (of features' output)."""
    margins = torch.full((x.shape[0],), float("inf"), dtype=torch.float64)

    def relu_margin(t: torch.Tensor) -> torch.Tensor:
        flat = t.detach().reshape(t.shape[0], -1)
        gaps = flat.abs()
        gaps = torch.where(gaps > 0, gaps, torch.full_like(gaps, float("inf")))
        return gaps.min(dim=1).values / flat.abs().max(dim=1).values

    def relu_input_hook(_m, _inputs, output):
        margins.copy_(torch.minimum(margins, relu_margin(output)))

    def pool_hook(_m, inputs, _output):
        t = inputs[0].detach()
        pool = nn.MaxPool2d(kernel_size=3, stride=2)
        margins.copy_(torch.minimum(margins, fixtures.pool_gap(pool, t, pool(t))))

    handles = []
    for m in model.modules():
        if isinstance(m, (tv_googlenet.BasicConv2d, inception.BasicConv2d)):
            handles.append(m.bn.register_forward_hook(relu_input_hook))
        elif isinstance(m, (inception.InceptionB, inception.InceptionD)):
            handles.append(m.register_forward_hook(pool_hook))
        elif isinstance(m, densenet.DenseNet):
            handles.append(m.features.register_forward_hook(relu_input_hook))
    with torch.enable_grad():  # grad enabled: nn.MultiheadAttention takes its exportable path
        model(x)
    for handle in handles:
        handle.remove()
    return [float(v) for v in margins]


def compute_reference(model: nn.Module, member: Member, x: torch.Tensor,
                      classes: Optional[List[int]] = None) -> dict:
    """Logits, gradients and stability flags, as make_gradient_fixtures.references does."""
    model64 = copy.deepcopy(model).double()
    wrapper64 = fixtures.LogitsAndActivation(model64, member.act)
    wrapper32 = fixtures.LogitsAndActivation(model, member.act)
    if classes is None:
        logits = wrapper64(x.double())[0].detach()
        classes = fixtures.choose_classes(logits)
    logits64, gin64, gact64 = fixtures.gradients(wrapper64, x.double(), classes)
    _, gin32, gact32 = fixtures.gradients(wrapper32, x, classes)
    deviation = [
        max(fixtures.relative_error(gin32[i], gin64[i]), fixtures.relative_error(gact32[i], gact64[i]))
        for i in range(x.shape[0])
    ]
    margins = [
        min(a, b)
        for a, b in zip(fixtures.kink_margins(wrapper64, x.double()),
                        functional_kink_margins(model64, x.double()))
    ]
    return {
        "x": x, "classes": classes, "logits": logits64, "gradInput": gin64,
        "gradActivation": gact64, "deviation": deviation, "margins": margins,
    }


def unstable_flags(ref: dict) -> List[bool]:
    return [
        d > fixtures.UNSTABLE_THRESHOLD or m < fixtures.MARGIN_THRESHOLD
        for d, m in zip(ref["deviation"], ref["margins"])
    ]


def least_unstable(draw: Callable[[int], Tuple[List[dict], tuple]]) -> tuple:
    """draw(attempt) -> (references, result). The first result whose references have no unstable
    sample; if none of INPUT_ATTEMPTS has, the one with the fewest unstable samples and then the
    largest kink margin."""
    best_key, best = None, None
    for attempt in range(INPUT_ATTEMPTS):
        refs, result = draw(attempt)
        flags = [f for r in refs for f in unstable_flags(r)]
        if not any(flags):
            return result
        key = (sum(flags), -min(m for r in refs for m in r["margins"]))
        if best_key is None or key < best_key:
            best_key, best = key, result
    return best


def reference_json(ref: dict) -> dict:
    return {
        "classes": ref["classes"],
        "unstable": unstable_flags(ref),
        "float32Deviation": [float(f"{d:.3g}") for d in ref["deviation"]],
        "kinkMargin": [float(f"{m:.3g}") if m != float("inf") else None for m in ref["margins"]],
        "inputData": fixtures.to_base64(ref["x"]),
        "logits": fixtures.to_base64(ref["logits"]),
        "gradInput": fixtures.to_base64(ref["gradInput"]),
        "gradActivation": fixtures.to_base64(ref["gradActivation"]),
    }


# ---------------------------------------------------------------------------
# Export and ONNX post-processing
# ---------------------------------------------------------------------------


def input_shape(member: Member, variant: Variant, batch: int) -> List[int]:
    h, w = member.height, member.width
    return [batch, h, w, 3] if variant.layout == "NHWC" else [batch, 3, h, w]


def export(model: nn.Module, member: Member, variant: Variant) -> onnx.ModelProto:
    # The model itself is the exported module (a wrapper module would prefix every node and
    # initializer name with its attribute path): a copy gets a subclass whose forward runs the
    # variant's head and returns the captured values too; zoo_forward keeps the original forward.
    model = copy.deepcopy(model)
    cls = type(model)
    paths, fn = [member.act, member.gradcam], variant.fn

    def forward(self, x):
        return run_captured(self, fn, paths, x)

    model.zoo_forward = partial(cls.forward, model)
    model.__class__ = type(cls.__name__, (cls,), {"forward": forward, "__module__": cls.__module__})
    model.eval()
    example = torch.zeros(input_shape(member, variant, 1))
    names = [*variant.outputs, ACT, PGC]
    dynamic_axes = (
        {variant.input_name: {0: "batch"}, **{n: {0: "batch"} for n in names}}
        if variant.dynamic else None
    )
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, example, buffer,
            opset_version=variant.opset,
            training=torch.onnx.TrainingMode.PRESERVE if variant.keep_bn
            else torch.onnx.TrainingMode.EVAL,
            do_constant_folding=True,
            input_names=[variant.input_name],
            output_names=names,
            dynamic_axes=dynamic_axes,
            keep_initializers_as_inputs=variant.post == "caffe2",
        )
    assert not any(m.training for m in model.modules())
    proto = onnx.load_from_string(buffer.getvalue())
    graph = proto.graph
    kept = [o for o in graph.output if o.name not in (ACT, PGC)]
    assert [o.name for o in kept] == list(variant.outputs), [o.name for o in kept]
    del graph.output[:]
    graph.output.extend(kept)
    for name in (ACT, PGC):
        producers = [n for n in graph.node if name in n.output]
        consumers = [n for n in graph.node if name in n.input]
        assert len(producers) == 1 and consumers, f"{member.name}/{variant.name}: {name} lost"
    return proto


def const_tensors(proto: onnx.ModelProto) -> List[TensorProto]:
    """Initializers and the tensors of Constant / ConstantOfShape attributes."""
    tensors = list(proto.graph.initializer)
    for node in proto.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                tensors.append(attr.t)
    return tensors


def inexact_float16_constants(proto: onnx.ModelProto) -> List[float]:
    """Float constants that float16 cannot represent. The weights are rounded in PyTorch before
    export, so only scalars written by the exporter itself may appear here."""
    found = []
    for t in const_tensors(proto):
        if t.data_type == TensorProto.FLOAT:
            a = numpy_helper.to_array(t)
            if not np.array_equal(a, a.astype(np.float16).astype(np.float32)):
                assert a.size == 1, f"non-scalar constant {t.name} {a.shape} is not float16-exact"
                found.append(float(a.reshape(-1)[0]))
    return sorted(set(found))


# Inputs that stay float32 in a float16 model (ONNX types them as tensor(float) only).
FLOAT32_ONLY_INPUTS = {"Resize": (1, 2), "Upsample": (1,)}


def convert_to_float16(proto: onnx.ModelProto, keep_io_types: bool) -> onnx.ModelProto:
    """float32 -> float16 for initializers, Constant / ConstantOfShape values, Cast targets and
    the element types of inputs, outputs and value_info. With keep_io_types, the graph inputs and
    outputs stay float32 and Casts convert at the boundary (onnxconverter-common's keep_io_types)."""
    model = copy.deepcopy(proto)
    graph = model.graph
    for node in graph.node:
        assert node.op_type not in FLOAT32_ONLY_INPUTS, f"{node.op_type} needs float32 inputs"
        for attr in node.attribute:
            assert attr.type not in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
    for t in const_tensors(model):
        if t.data_type == TensorProto.FLOAT:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    for vi in [*graph.input, *graph.output, *graph.value_info]:
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT16
    if keep_io_types:
        casts_in, casts_out = [], []
        for vi in graph.input:
            inner = f"{vi.name}_float16"
            for node in graph.node:
                node.input[:] = [inner if i == vi.name else i for i in node.input]
            casts_in.append(helper.make_node("Cast", [vi.name], [inner], name=f"Cast_{inner}",
                                             to=TensorProto.FLOAT16))
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
        for vi in graph.output:
            inner = f"{vi.name}_float16"
            for node in graph.node:
                node.output[:] = [inner if o == vi.name else o for o in node.output]
                node.input[:] = [inner if i == vi.name else i for i in node.input]
            casts_out.append(helper.make_node("Cast", [inner], [vi.name], name=f"Cast_{vi.name}",
                                              to=TensorProto.FLOAT))
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
        nodes = [*casts_in, *graph.node, *casts_out]
        del graph.node[:]
        graph.node.extend(nodes)
    return model


def upcast_to_float32(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The inverse of convert_to_float16 (every float16 tensor, Cast target and element type
    back to float32): what a runtime without float16 kernels would run. The zoo check runs it to
    show that the float16 reference is exact for the float16 weights."""
    model = copy.deepcopy(proto)
    graph = model.graph
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT16:
                attr.i = TensorProto.FLOAT
    for t in const_tensors(model):
        if t.data_type == TensorProto.FLOAT16:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))
    for vi in [*graph.input, *graph.output, *graph.value_info]:
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT16:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
    return model


# Reduce ops whose `axes` attribute became an input at opset 18 (ReduceSum did so at 13).
REDUCE_AXES_TO_INPUT = {
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
    "ReduceMin", "ReduceProd", "ReduceSumSquare",
}
# Ops whose opset-17 form means the same at opset 21 (their 18..21 revisions only add types,
# optional inputs or attributes with backward-compatible defaults). Anything else is refused, so
# that a new member cannot get a silently wrong upgrade.
UNCHANGED_17_TO_21 = {
    "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant",
    "ConstantOfShape", "Conv", "Div", "Equal", "Erf", "Expand", "Flatten", "Gather", "Gemm",
    "GlobalAveragePool", "HardSigmoid", "HardSwish", "Identity", "LayerNormalization", "MatMul",
    "MaxPool", "Mul", "Pad", "Pow", "Relu", "Reshape", "Shape", "Sigmoid", "Slice", "Softmax",
    "Sqrt", "Squeeze", "Sub", "Transpose", "Unsqueeze", "Where",
}


def upgrade_to_21(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Upgrade an opset-17 torch export to opset 21 / IR 10, which torch 1.13 and onnx 1.12
    cannot write. Changes between 17 and 21 that matter for these graphs:
    - opset 18: Reduce* (except ReduceSum) take `axes` as an optional int64 input instead of an
      attribute;
    - opset 18: Split without a `split` input needs the `num_outputs` attribute;
    - opset 20 adds Gelu; newer exporters write nn.GELU as one Gelu node, so the opset-17
      pattern Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5 is fused into Gelu.
    Everything else used here is unchanged (UNCHANGED_17_TO_21)."""
    model = copy.deepcopy(proto)
    graph = model.graph
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    for node in graph.node:
        if node.op_type in REDUCE_AXES_TO_INPUT:
            axes = [a for a in node.attribute if a.name == "axes"]
            if axes:
                name = f"{node.output[0]}_axes"
                graph.initializer.append(numpy_helper.from_array(np.array(axes[0].ints, np.int64), name))
                node.attribute.remove(axes[0])
                node.input.append(name)
        elif node.op_type == "Split":
            if len(node.input) < 2 or not node.input[1]:
                node.attribute.append(helper.make_attribute("num_outputs", len(node.output)))
        else:
            assert node.op_type in UNCHANGED_17_TO_21, f"no opset-21 rule for {node.op_type}"
    fuse_gelu(graph)
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", 21))
    model.ir_version = 10
    return model


def constant_value(graph: onnx.GraphProto, name: str) -> Optional[np.ndarray]:
    """The value of an initializer or Constant output, following Identity nodes."""
    for init in graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in graph.node:
        if name in node.output:
            if node.op_type == "Constant":
                return numpy_helper.to_array(node.attribute[0].t)
            if node.op_type == "Identity":
                return constant_value(graph, node.input[0])
    return None


def fuse_gelu(graph: onnx.GraphProto) -> int:
    def producer(name):
        return next((n for n in graph.node if name in n.output), None)

    def sole_consumer(name):
        users = [n for n in graph.node if name in n.input]
        return users[0] if len(users) == 1 else None

    def is_const(name, value):
        v = constant_value(graph, name)
        return v is not None and v.size == 1 and abs(float(v.reshape(-1)[0]) - value) < 1e-6

    fused = 0
    for erf in [n for n in graph.node if n.op_type == "Erf"]:
        div = producer(erf.input[0])
        add = sole_consumer(erf.output[0])
        mul1 = add and sole_consumer(add.output[0])
        mul2 = mul1 and sole_consumer(mul1.output[0])
        if not (div and div.op_type == "Div" and is_const(div.input[1], math.sqrt(2.0))):
            continue
        x = div.input[0]
        ok = (
            add.op_type == "Add"
            and any(is_const(i, 1.0) for i in add.input if i != erf.output[0])
            and mul1.op_type == "Mul" and set(mul1.input) == {x, add.output[0]}
            and mul2.op_type == "Mul"
            and any(is_const(i, 0.5) for i in mul2.input if i != mul1.output[0])
            and sole_consumer(div.output[0]) is erf
        )
        assert ok, f"unexpected GELU pattern at {erf.name}"
        position = list(graph.node).index(div)
        gelu = helper.make_node("Gelu", [x], [mul2.output[0]], name=erf.name.replace("Erf", "Gelu"))
        for n in (div, erf, add, mul1, mul2):
            graph.node.remove(n)
        graph.node.insert(position, gelu)
        fused += 1
    # Drop what the fused nodes left unused: constants, their Identity copies, value_info.
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node
                if n.op_type in ("Constant", "Identity") and not set(n.output) & used]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    used = {i for n in graph.node for i in n.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)
    produced = {o for n in graph.node for o in n.output}
    for vi in [v for v in graph.value_info if v.name not in produced]:
        graph.value_info.remove(vi)
    return fused


def caffe2_style(proto: onnx.ModelProto) -> onnx.ModelProto:
    """What Caffe2-era converters wrote: IR version 3 (initializers must also be graph inputs,
    which torch's keep_initializers_as_inputs did), no value_info, and BatchNormalization with
    the `spatial` attribute of its opset-7 form."""
    model = copy.deepcopy(proto)
    inputs = {i.name for i in model.graph.input}
    assert all(init.name in inputs for init in model.graph.initializer)
    model.ir_version = 3
    del model.graph.value_info[:]
    for node in model.graph.node:
        if node.op_type == "BatchNormalization":
            node.attribute.append(helper.make_attribute("spatial", 1))
    return model


def shape_constants(proto: onnx.ModelProto) -> List[dict]:
    """Reshape / Expand nodes whose target shape is a constant: in a fixed-batch export these are
    where the batch size is baked in (not always as a leading 1: attention reshapes hold
    batch * heads)."""
    found = []
    for node in proto.graph.node:
        if node.op_type in ("Reshape", "Expand"):
            shape = constant_value(proto.graph, node.input[1])
            if shape is not None:
                found.append({"node": node.name, "op": node.op_type,
                              "shape": [int(v) for v in shape.reshape(-1)]})
    return found


def shape_string(vi: onnx.ValueInfoProto) -> str:
    """A graph input's or output's declared shape; the dynamic batch axis ("batch") is N."""
    dims = [("N" if d.dim_param == "batch" else d.dim_param) if d.dim_param else str(d.dim_value)
            for d in vi.type.tensor_type.shape.dim]
    return "[" + ",".join(dims) + "]"


def runtime_shape(shape: Sequence[int], dynamic: bool) -> str:
    """The shape an output has at run time: N for a dynamic batch, 1 for a fixed one."""
    dims = [("N" if dynamic else "1") if i == 0 else str(d) for i, d in enumerate(shape)]
    return "[" + ",".join(dims) + "]"


DTYPES = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16"}


def check_model(proto: onnx.ModelProto) -> None:
    # onnx 1.12 knows IR <= 8 and opsets <= 17; the opset-21 export is checked by ONNX Runtime.
    if proto.ir_version <= 8:
        onnx.checker.check_model(proto, full_check=proto.ir_version > 3)


# ---------------------------------------------------------------------------
# ONNX Runtime check
# ---------------------------------------------------------------------------


def run_onnxruntime(jobs: List[dict], workdir: str) -> List[dict]:
    jobs_path = os.path.join(workdir, "jobs.json")
    results_path = os.path.join(workdir, "results.json")
    with open(jobs_path, "w") as f:
        json.dump(jobs, f)
    subprocess.run(["node", CHECKER, jobs_path, results_path], check=True, cwd=REPO_ROOT)
    with open(results_path) as f:
        results = json.load(f)
    for result in results:
        for out in result.get("outputs", []):
            dtype = np.float16 if out["type"] == "float16" else np.float32
            out["array"] = np.fromfile(out["file"], dtype=dtype).astype(np.float64).reshape(out["dims"])
    return results


# ---------------------------------------------------------------------------
# Members: export everything, check, write
# ---------------------------------------------------------------------------


@dataclass
class Export:
    variant: Variant
    file: str
    proto: onnx.ModelProto
    reference: str  # "main" or "fp16"
    x: np.ndarray  # the input as fed to this export (layout and dtype applied)
    expected: List[np.ndarray]
    path: str
    input_name: str
    entry: dict = field(default_factory=dict)


def make_export(member: Member, variant: Variant, model: nn.Module, model_ref: nn.Module,
                x: torch.Tensor, out_dir: str) -> Export:
    """Export, post-process and write one variant; model_ref is what the variant's reference
    is computed on (the float16 reference model for float16 variants)."""
    proto = export(model, member, variant)
    entry: dict = {}
    if variant.fp16:
        inexact = inexact_float16_constants(proto)
        assert all(abs(v - math.sqrt(2.0)) < 1e-6 for v in inexact), inexact
        if inexact:
            entry["float16RoundedConstants"] = "GELU's sqrt(2) becomes 1.4140625; the fp16 " \
                "reference uses the same constant"
        proto = convert_to_float16(proto, keep_io_types=variant.fp16 == "io32")
    if variant.post == "op21":
        proto = upgrade_to_21(proto)
    elif variant.post == "caffe2":
        proto = caffe2_style(proto)
    check_model(proto)

    file = f"{member.name}--{variant.name}.onnx"
    path = os.path.join(out_dir, file)
    if variant.post == "external":
        data = f"{file}.data"
        onnx.save_model(copy.deepcopy(proto), path, save_as_external_data=True,
                        all_tensors_to_one_file=True, location=data, size_threshold=1024)
        entry["externalData"] = data
        entry["dataBytes"] = os.path.getsize(os.path.join(out_dir, data))
    else:
        with open(path, "wb") as f:
            f.write(proto.SerializeToString())

    # The input this export takes, and what float64 PyTorch says it returns.
    x_in = x.double()
    if variant.layout == "NHWC":
        x_in = x_in.permute(0, 2, 3, 1)
    head64 = Head(copy.deepcopy(model_ref).double(), variant.fn).eval()
    with torch.enable_grad():  # nn.MultiheadAttention's exportable path, as in the export
        out = head64(x_in)
    expected = [o.detach().numpy() for o in (out if isinstance(out, tuple) else (out,))]
    in_dtype = np.float16 if variant.fp16 == "full" else np.float32
    return Export(variant, file, proto, "fp16" if variant.fp16 else "main",
                  x_in.numpy().astype(in_dtype), expected, path, variant.input_name, entry)


def export_entry(e: Export, out_dir: str) -> dict:
    graph = e.proto.graph
    real_inputs = [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    assert len(real_inputs) == 1
    out_type = graph.output[0].type.tensor_type.elem_type
    entry = {
        "file": e.file,
        "variant": e.variant.name,
        "opset": next(o.version for o in e.proto.opset_import if o.domain == ""),
        "irVersion": e.proto.ir_version,
        "layout": e.variant.layout,
        "batch": None if e.variant.dynamic else 1,
        "head": e.variant.head,
        "inputName": real_inputs[0].name,
        "inputShape": shape_string(real_inputs[0]),
        "outputs": [o.name for o in graph.output],
        "outputShape": runtime_shape(e.expected[0].shape, e.variant.dynamic),
        # dtype: the weights and arithmetic; ioDtype: the graph input and output.
        "dtype": "float16" if e.variant.fp16 else "float32",
        "ioDtype": DTYPES[out_type],
    }
    if len(graph.output) > 1:
        entry["outputShapes"] = [runtime_shape(a.shape, e.variant.dynamic) for a in e.expected]
    declared = [shape_string(o) for o in graph.output]
    if declared != [runtime_shape(a.shape, e.variant.dynamic) for a in e.expected]:
        entry["declaredOutputShapes"] = declared  # symbolic dims the exporter could not resolve
    if e.reference != "main":
        entry["reference"] = e.reference
    if not e.variant.dynamic:
        entry["shapeConstants"] = shape_constants(e.proto)
    entry.update(e.entry)
    entry["exportSettings"] = e.variant.note or f"torch.onnx.export at opset {e.variant.opset}"
    entry["opTypes"] = sorted({n.op_type for n in graph.node})
    entry["bytes"] = os.path.getsize(os.path.join(out_dir, e.file))
    return entry


def max_relative_error(result: dict, expected: List[np.ndarray]) -> float:
    arrays = [o["array"] for o in result["outputs"]]
    assert len(arrays) == len(expected)
    return max(
        fixtures.relative_error(torch.from_numpy(a), torch.from_numpy(b))
        for a, b in zip(arrays, expected)
    )


def check_with_onnxruntime(exports: List[Export]) -> None:
    """Run every export with onnxruntime-node on its reference input and record whether it runs
    and its largest relative output error against float64 PyTorch. Float16 exports are also run
    upcast to float32 (ortFloat32MaxRelError): ONNX Runtime computes the float16 model in float16
    (where it has kernels), so only the upcast run checks the float16 reference tightly."""
    with tempfile.TemporaryDirectory() as workdir:
        jobs, owners = [], []
        for k, e in enumerate(exports):
            runs = [(e.path, e.x, "ort")]
            if e.variant.fp16:
                upcast = os.path.join(workdir, f"{k}.float32.onnx")
                onnx.save_model(upcast_to_float32(e.proto), upcast)
                runs.append((upcast, e.x.astype(np.float32), "ortFloat32"))
            for j, (model_path, x, key) in enumerate(runs):
                input_file = os.path.join(workdir, f"{k}.{j}.in.bin")
                x.astype(x.dtype.newbyteorder("<")).tofile(input_file)
                jobs.append({
                    "model": model_path,
                    "input": {"name": e.input_name, "type": str(x.dtype), "dims": list(x.shape),
                              "file": input_file},
                    "chunk": None if e.variant.dynamic else 1,
                    "prefix": os.path.join(workdir, f"{k}.{j}.out"),
                })
                owners.append((e, key))
        for (e, key), result in zip(owners, run_onnxruntime(jobs, workdir)):
            if not result["ok"]:
                e.entry.update({f"{key}Runs": False, f"{key}Error": result["error"]})
            else:
                error = max_relative_error(result, e.expected)
                e.entry.update({f"{key}Runs": True, f"{key}MaxRelError": float(f"{error:.2g}")})


def activation_json(member: Member, ref: dict, pgc_dims: List[int]) -> Tuple[dict, dict]:
    act = {"name": ACT, "module": member.act, "dims": list(ref["gradActivation"].shape),
           "layout": member.act_layout}
    gradcam = {"module": member.gradcam_label, "path": member.gradcam, "value": PGC,
               "dims": pgc_dims, "layout": member.gradcam_layout, "source": member.gradcam_source}
    if member.grid:
        for d in (act, gradcam):
            d["grid"] = list(member.grid)
            d["classToken"] = True
    return act, gradcam


def captured_dims(model: nn.Module, path: str, x: torch.Tensor) -> List[int]:
    store: List[torch.Tensor] = []
    handle = model.get_submodule(path).register_forward_hook(lambda _m, _i, o: store.append(o))
    with torch.enable_grad():
        model(x)
    handle.remove()
    return list(store[0].shape)


def member_json(member: Member, model: nn.Module, seed: int, input_seed: int, x: torch.Tensor,
                ref: dict, exports: List[Export], out_dir: str, head: Optional[dict] = None,
                input_note: Optional[str] = None, tail: Optional[dict] = None) -> dict:
    act, gradcam = activation_json(member, ref, captured_dims(model, member.gradcam, x))
    inp = {"name": "input", "dims": list(x.shape), "layout": "NCHW"}
    if input_note:
        inp["data"] = input_note
    return {
        "member": member.name,
        "family": member.family,
        "description": member.description,
        "generator": GENERATOR,
        "seed": seed,
        "inputSeed": input_seed,
        **(head or {}),
        "input": inp,
        "act": act,
        "gradcamLayer": gradcam,
        **reference_json(ref),
        **(tail or {}),
        "exports": [export_entry(e, out_dir) for e in exports],
    }


def make_member(member: Member, out_dir: str, check_ort: bool) -> dict:
    seed = member_seed(member.name)
    torch.manual_seed(seed)
    model = prepare(member.build(), member.height, member.width, member.transformer)
    variants = [OP13, OP17, *member.variants]
    model16 = None
    if any(v.fp16 for v in variants):
        # Float16 exports are made from the BatchNorm-folded model with float16-rounded weights;
        # their reference is that model in float64 on the float16-rounded input.
        example = torch.zeros(1, 3, member.height, member.width)
        model16 = round_to_float16(fuse_batchnorm(model, example))

    # The first input draw whose samples are all stable, so that every sample can be compared
    # strictly (most members take the first draw; otherwise the least unstable draw).
    def draw(attempt: int):
        input_seed = seed + 1 + 1000 * attempt
        torch.manual_seed(input_seed)
        x = torch.randn(member.batch, 3, member.height, member.width)
        ref = compute_reference(model, member, x)
        refs16 = x16 = None
        if model16 is not None:
            x16 = x.half().float()
            refs16 = compute_reference(float16_reference_model(model16), member, x16,
                                       ref["classes"])
        return [ref] + ([refs16] if refs16 else []), (input_seed, x, ref, x16, refs16)

    input_seed, x, ref, x16, refs16 = least_unstable(draw)

    exports, failures = [], []
    for variant in variants:
        try:
            if variant.fp16:
                e = make_export(member, variant, model16, float16_reference_model(model16), x16,
                                out_dir)
            else:
                e = make_export(member, variant, model, model, x, out_dir)
        except torch.onnx.errors.OnnxExporterError as error:
            if not variant.may_fail:
                raise
            message = str(error).split("\n")[0].split(" Please feel free")[0]
            failures.append({"variant": variant.name, "opset": variant.opset,
                             "dynamicBatch": variant.dynamic, "error": message})
            continue
        exports.append(e)
    if check_ort:
        check_with_onnxruntime(exports)

    data = member_json(member, model, seed, input_seed, x, ref, exports, out_dir)
    if failures:
        data["exportFailures"] = failures
    if refs16 is not None:
        data["references"] = {"fp16": reference_json(refs16)}
    return data


# ---------------------------------------------------------------------------
# The model as a user downloads it
# ---------------------------------------------------------------------------

CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])
DOWNLOAD_MARGIN = 3e-3  # smallest relative gap between consecutive top-6 logits we accept
DOWNLOAD = Member(
    "squeeze1000", "SqueezeNet", build_squeeze1000, 224, 224, "features.10", "features.12",
    "features[-1]", f"{LAST_BLOCK} (the last Fire)",
    "torchvision SqueezeNet('1_1') with Fire widths / 8 to / 16, 1000 classes, weights rounded "
    "to float16 (both exports hold the same values)",
)


def caffe_preprocess(path: str) -> np.ndarray:
    """Caffe preprocessing: shorter side 256, centre crop 224 (torchvision on the PIL image, no
    ICC conversion), pixel values 0..255, BGR, minus the ImageNet mean in BGR order, std 1."""
    image = Image.open(path).convert("RGB")
    image = transforms.CenterCrop(224)(transforms.Resize(256)(image))
    bgr = np.asarray(image, dtype=np.float64)[:, :, ::-1] - CAFFE_MEAN_BGR
    return np.ascontiguousarray(bgr.transpose(2, 0, 1))


def top_margins(logits: torch.Tensor) -> Tuple[List[int], List[float]]:
    """Top-5 classes and the relative gaps between ranks 1-2, ..., 5-6."""
    order = torch.argsort(logits, descending=True)
    top = logits[order[:6]]
    scale = logits.abs().max().item() or 1.0  # all-zero logits (dead ReLUs) give zero margins
    return [int(c) for c in order[:5]], [float((top[k] - top[k + 1]).item() / scale) for k in range(5)]


def make_download(out_dir: str, check_ort: bool) -> dict:
    member = DOWNLOAD
    images = sorted(glob.glob(os.path.join(REPO_ROOT, "samples", "*.png")))
    inputs = torch.from_numpy(np.stack([caffe_preprocess(p) for p in images]))
    # A seed whose top-5 classes are separated by a clear margin on every sample, with both the
    # exact and the float16-rounded input (the download model takes float16).
    base = member_seed(member.name)
    for seed in range(base, base + 200):
        torch.manual_seed(seed)
        model = round_to_float16(prepare(member.build(), 224, 224, False))
        with torch.no_grad():
            exact = copy.deepcopy(model).double()(inputs)
            rounded = copy.deepcopy(model).double()(inputs.half().double())
        tops = [top_margins(row) for row in exact]
        tops16 = [top_margins(row) for row in rounded]
        if all(t == t16 and min(m) > DOWNLOAD_MARGIN and min(m16) > DOWNLOAD_MARGIN
               for (t, m), (t16, m16) in zip(tops, tops16)):
            break
    else:
        raise RuntimeError("no seed with clear top-5 margins")

    # Gradient reference on noise of the scale of Caffe-preprocessed pixels, rounded to float16
    # (exact for both exports, so one reference serves the float16 download and its float32
    # twin). Not a sample image: their flat colour regions put max-pool windows at near-ties.
    # With ~300k ReLU inputs at 224x224 some always lie within 1e-6 of the kink, so the sample
    # stays flagged; the draw with the largest margin is used.
    def draw(attempt: int):
        input_seed = seed + 1 + 1000 * attempt
        torch.manual_seed(input_seed)
        x = (64 * torch.randn(1, 3, 224, 224)).half().float()
        ref = compute_reference(model, member, x)
        return [ref], (input_seed, x, ref)

    input_seed, x, ref = least_unstable(draw)

    download = Variant("download", 7, head="nchw11-softmax", fn=squeezenet_scores_softmax,
                       dynamic=False, outputs=("softmaxout_1",), input_name="data_0", fp16="full",
                       note="opset 7, float16 weights and io, fixed batch 1, Softmax over "
                       "[1, 1000, 1, 1]; Caffe preprocessing from the sibling card")
    clean = Variant("clean", 13, note="the cleaned-up twin: same float16-rounded weights as "
                    "float32, opset 13, dynamic batch, NCHW, 2-D logits")
    exports = []
    for variant in (download, clean):
        e = make_export(member, variant, model, model, x, out_dir)
        e.reference = "main"  # weights and input are float16-exact: the main reference is exact
        exports.append(e)
    card = {"name": "squeeze1000-download", "preprocessing": "caffe"}
    card_file = f"{member.name}--download.json"
    with open(os.path.join(out_dir, card_file), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    exports[0].entry["card"] = card_file
    if check_ort:
        check_with_onnxruntime(exports)

    samples = [
        {
            "image": os.path.relpath(path, REPO_ROOT),
            "top5": top,
            "margins": [float(f"{m:.3g}") for m in margins],
            "logits": fixtures.to_base64(row),
        }
        for path, row, (top, margins) in zip(images, exact, tops)
    ]
    preprocessing = {
        "card": "caffe", "resize": 256, "crop": 224, "scale": "0..255", "channels": "BGR",
        "mean": CAFFE_MEAN_BGR.tolist(), "std": [1.0, 1.0, 1.0],
        "labels": "none in the card: camscope's bundled ImageNet labels",
    }
    return member_json(member, model, seed, input_seed, x, ref, exports, out_dir,
                       head={"preprocessing": preprocessing},
                       input_note="64 * standard normal, rounded to float16",
                       tail={"samples": samples})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="members to (re)generate")
    parser.add_argument("--no-ort", action="store_true", help="skip the ONNX Runtime check")
    args = parser.parse_args()

    torch.set_num_threads(1)  # same float32 summation order on every run
    os.makedirs(args.out, exist_ok=True)
    for member in [*MEMBERS, DOWNLOAD]:
        if args.only and member.name not in args.only:
            continue
        if member is DOWNLOAD:
            data = make_download(args.out, not args.no_ort)
        else:
            data = make_member(member, args.out, not args.no_ort)
        with open(os.path.join(args.out, f"{member.name}.zoo.json"), "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        print(f"{member.name}: input {data['input']['dims']} act {data['act']['dims']} "
              f"classes {data['classes']} unstable {data['unstable']}")
        for failure in data.get("exportFailures", []):
            print(f"  {failure['variant']}: torch cannot export: {failure['error']}")
        for e in data["exports"]:
            ort = (f"ort {e['ortMaxRelError']:.1e}" if e.get("ortRuns")
                   else f"ort FAILED: {e.get('ortError')}" if "ortRuns" in e else "ort -")
            if "ortFloat32MaxRelError" in e:
                ort += f" (upcast to float32: {e['ortFloat32MaxRelError']:.1e})"
            print(f"  {e['file']:40s} {e['bytes'] / 1024:6.1f} KiB  {e['outputShape']:12s} {ort}")


if __name__ == "__main__":
    main()
