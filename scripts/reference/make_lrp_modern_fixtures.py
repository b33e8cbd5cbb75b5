#!/usr/bin/python3
"""Reference LRP relevances on modern architectures (gates, ReduceMean pooling, LayerNorm,
attention), computed in float64 with PyTorch, from docs/lrp-rules.md.

The rules are those of make_lrp_fixtures.py (its LinearFn, pools and residual AddFn, and the rules
added for these architectures: BiasAddFn, GateMulFn, ScaleFn, MeanFn, LayerNormFn, AttnFn); this
script builds the models, routes their computations through those rules and writes the fixtures.
torchvision's modules are used as they are, except that:

- Conv2d, Linear, ReLU, Dropout, MaxPool, adaptive average pooling become the rule modules; a
  Linear on inputs of rank 3 or more is a MatMul followed by an Add of its bias, as torch exports
  it (make_lrp_fixtures.dense_relevance_forward);
- SiLU, Hardswish, GELU become gated products x * gate(x) (the gate rule);
- the residual blocks' forwards route their joins through the proportional add, ConvNeXt's layer
  scale through ScaleFn, ViT's position embedding through BiasAddFn; squeeze-excitation's product
  is a gated product; MNASNet's and ShuffleNet's x.mean([2, 3]) is MeanFn;
- nn.LayerNorm (and ConvNeXt's LayerNorm2d) is the LN-rule;
- nn.MultiheadAttention (ViT) is written out batch-first: in-projection (MatMul + Add of the
  bias), heads, softmax(q k^T / sqrt(d)), the AH-rule for the product with the values, the
  out-projection on [tokens, E] rows (a Gemm, as torch exports it). Swin's shifted-window
  attention runs torchvision's own function with F.linear, F.softmax, F.dropout (p = 0) and
  Tensor.matmul replaced for its duration: softmax outputs are gates, and a matmul of a gate by a
  value is the AH-rule.

The same construction with `detached=True` is the plain network with every gate (gate
activations, squeeze-excitation scales, softmax outputs, LayerNorm's 1 / sigma) detached: LRP-0
(epsilon with eps = 0 everywhere) must equal its gradient x input at the input and at every stage
value (check_lrp0_detached), which checks the plumbing of every rule on every architecture; the
ViT is also checked with every bias, LayerNorm shift, position embedding and class token zeroed.

Models (random weights from torchvision's init, then BatchNorm statistics from train-mode passes
and biases, LayerNorm scales and shifts, layer scales, class token drawn at random so that none is
trivial); input 32x24 (ShuffleNet 40x32, whose last map is 1/32 of it; ViT 24x24), batch 2; rows
explain their top and third class:

| fixture | model | stage1, stage2, last |
| --- | --- | --- |
| efficientnet | EfficientNet-B0 form, width 0.1, depth 0.1, 4 stages | features.2, .3, .5 |
| mobilenet_v3 | MobileNetV3-Small, width 0.1, first 6 blocks | features.1, .4, .7 |
| regnet_y | RegNetY (SE), depth 3, widths 8-16-32 | trunk_output.block1, 2, 3 |
| shufflenet | ShuffleNetV2, repeats 2-2-1, widths 8-16-32-48-64 | stage2, stage3, conv5 |
| mnasnet | MNASNet 0.1, first 4 stacks, last conv 48 | layers.9, .10, .14 |
| convnext | ConvNeXt, depths 1-1-1, widths 8-16-32 | features.1, .3, .5 |
| vit | ViT, patch 8, 2 layers, 2 heads, width 16 | conv_proj, encoder_layer_0, encoder.ln |
| swin | Swin-T form, patch 4, depths 1-2, heads 1-2, window 2 | features.1, .2, norm |

Each <name>.json sits next to <name>--op13.onnx and <name>--op17.onnx (the same model exported at
both opsets; at 17 LayerNorm is one LayerNormalization node and HardSwish one node, at 13 both
are written out). The ONNX graphs name the input `input`, the output `logits` and the stage values
`stage1`, `stage2`, `last` (inner values). JSON fields as make_lrp_fixtures.py's, except:
`onnx` (the two files) and `opTypes` per file; a case's relevance at a value may be {"sameAs":
an earlier case's name} when identical to it; per case `valueSums` (per row, the sum of the
relevance at each stage value), `conservation` ({"worstLayerError": the largest relative error of
input + lost = output over the layers whose rule promises it, "lost": per rule kind, per row, the
relevance dropped at zero denominators or absorbed by biases and LayerNorm shifts}), no per-layer
list; `lrp0`: the worst relative error of the LRP-0 = gradient x input check; `relevanceCam` only
for the CNNs (ViT and Swin values are tokens), relu false at every stage and true at `last`;
`kinkMargin` from max pooling only (every other decision of these rules is continuous).

Run with Debian's Python (torch 1.13, torchvision 0.14, onnx 1.12):

    /usr/bin/python3 scripts/reference/make_lrp_modern_fixtures.py [--out DIR] [--only NAME ...]

Reruns reproduce byte-identical files.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import math
import os
import sys
import types
import warnings
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import (convnext, efficientnet, mnasnet, mobilenetv3, regnet,
                                shufflenetv2, swin_transformer, vision_transformer)
from torchvision.ops import StochasticDepth, misc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_cam_fixtures as cf  # noqa: E402
import make_gradient_fixtures as gf  # noqa: E402
import make_lrp_fixtures as lf  # noqa: E402

DEFAULT_OUT = os.path.join(lf.DEFAULT_OUT, "modern")
BATCH = 2
CLASSES_RANK = (0, 2)
OPSETS = (13, 17)
NUM_CLASSES = lf.NUM_CLASSES
VALUES = lf.VALUES


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def build_efficientnet() -> nn.Module:
    setting, _ = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.1, depth_mult=0.1)
    return efficientnet.EfficientNet(setting[:5], dropout=0.2, num_classes=NUM_CLASSES,
                                     last_channel=64)


def build_mobilenet_v3() -> nn.Module:
    setting, _ = mobilenetv3._mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.1)
    return mobilenetv3.MobileNetV3(setting[:6], last_channel=32, num_classes=NUM_CLASSES)


def build_regnet_y() -> nn.Module:
    params = regnet.BlockParams.from_init_params(depth=3, w_0=8, w_a=8.0, w_m=2.0, group_width=4,
                                                 se_ratio=0.25)
    return regnet.RegNet(params, num_classes=NUM_CLASSES, stem_width=8)


def build_shufflenet() -> nn.Module:
    return shufflenetv2.ShuffleNetV2([2, 2, 1], [8, 16, 32, 48, 64], num_classes=NUM_CLASSES)


def build_mnasnet() -> nn.Module:
    model = mnasnet.MNASNet(0.1, num_classes=NUM_CLASSES)
    channels = model.layers[11][-1].layers[-1].num_features
    model.layers = nn.Sequential(*model.layers[:12], nn.Conv2d(channels, 48, 1, bias=False),
                                 nn.BatchNorm2d(48), nn.ReLU())
    model.classifier[1] = nn.Linear(48, NUM_CLASSES)
    return model


def build_convnext() -> nn.Module:
    settings = [convnext.CNBlockConfig(8, 16, 1), convnext.CNBlockConfig(16, 32, 1),
                convnext.CNBlockConfig(32, None, 1)]
    return convnext.ConvNeXt(settings, num_classes=NUM_CLASSES)


def build_vit() -> nn.Module:
    return vision_transformer.VisionTransformer(
        image_size=24, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32,
        num_classes=NUM_CLASSES)


def build_swin() -> nn.Module:
    return swin_transformer.SwinTransformer(
        patch_size=[4, 4], embed_dim=8, depths=[1, 2], num_heads=[1, 2], window_size=[2, 2],
        num_classes=NUM_CLASSES)


@dataclass(frozen=True)
class ModernSpec:
    name: str
    architecture: str
    build: Callable[[], nn.Module]
    height: int
    width: int
    modules: Dict[str, str]
    description: str
    cam: bool = True  # Relevance-CAM maps (spatial NCHW stage values)
    # Offset of the input seed: picked where float32 rounding in near-empty depthwise windows
    # would otherwise flag a row of the default composite and of Relevance-CAM.
    input_seed: int = 0

    @property
    def seed(self) -> int:
        return sum((i + 1) * ord(c) for i, c in enumerate(self.architecture)) % 100_003


def stages(a: str, b: str, c: str) -> Dict[str, str]:
    return {"stage1": a, "stage2": b, "last": c}


SPECS: List[ModernSpec] = [
    ModernSpec("efficientnet", "EfficientNet-B0 (reduced)", build_efficientnet, 32, 24,
               stages("features.2", "features.3", "features.5"),
               "EfficientNet-B0 width 0.1, depth 0.1, first 4 MBConv stages: SiLU as Sigmoid * x, "
               "squeeze-excitation with SiLU and Sigmoid, residual Add", input_seed=5),
    ModernSpec("mobilenet_v3", "MobileNetV3-Small (reduced)", build_mobilenet_v3, 32, 24,
               stages("features.1", "features.4", "features.7"),
               "MobileNetV3-Small width 0.1, first 6 blocks: HardSwish (op 17) or HardSigmoid * x "
               "(op 13), squeeze-excitation with HardSigmoid", input_seed=3),
    ModernSpec("regnet_y", "RegNetY (reduced)", build_regnet_y, 32, 24,
               stages("trunk_output.block1", "trunk_output.block2", "trunk_output.block3"),
               "RegNetY depth 3 (one block per stage), group width 4, squeeze-excitation with "
               "Sigmoid, projected residual Add", input_seed=3),
    ModernSpec("shufflenet", "ShuffleNetV2 (reduced)", build_shufflenet, 40, 32,
               stages("stage2", "stage3", "conv5"),
               "ShuffleNetV2 repeats 2-2-1: channel split (Split/Slice), channel shuffle "
               "(Reshape, Transpose) with run-time shapes, MaxPool, ReduceMean over H, W"),
    ModernSpec("mnasnet", "MNASNet (reduced)", build_mnasnet, 32, 24,
               stages("layers.9", "layers.10", "layers.14"),
               "MNASNet 0.1, first 4 stacks, last 1x1 conv 48 wide: ReduceMean over H, W"),
    ModernSpec("convnext", "ConvNeXt (reduced)", build_convnext, 32, 24,
               stages("features.1", "features.3", "features.5"),
               "ConvNeXt depths 1-1-1, widths 8-16-32: LayerNorm (channels-last and LayerNorm2d), "
               "MatMul + Add linear layers, GELU as Erf, layer scale Mul"),
    ModernSpec("vit", "ViT (reduced)", build_vit, 24, 24,
               stages("conv_proj", "encoder.layers.encoder_layer_0", "encoder.ln"),
               "ViT patch 8, 2 layers, 2 heads, width 16: class token Concat and Gather, "
               "position embedding Add, LayerNorm, attention (Softmax, MatMul of activations)",
               cam=False),
    ModernSpec("swin", "Swin (reduced)", build_swin, 32, 24,
               stages("features.1", "features.2", "norm"),
               "Swin-T form, patch 4, depths 1-2, heads 1-2, window 2: windows with padding, "
               "shifted windows (roll, mask), relative position bias, patch merging (strided "
               "slices)", cam=False),
]


@torch.no_grad()
def randomize(model: nn.Module, height: int, width: int) -> None:
    """Nontrivial parameters where torchvision's init leaves them trivial: BatchNorm statistics
    (train-mode passes, make_gradient_fixtures.randomize_batchnorm), LayerNorm scales (a third
    negative) and shifts, Linear biases, ConvNeXt's layer scales (init 1e-6), ViT's class token
    (init 0) and head (init 0)."""
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.uniform_(0.5, 1.5)
            m.weight[::3].neg_()
            m.bias.normal_(0.0, 0.2)
        elif isinstance(m, nn.Linear) and m.bias is not None:
            m.bias.normal_(0.0, 0.1)
        elif isinstance(m, nn.MultiheadAttention):
            m.in_proj_bias.normal_(0.0, 0.1)
        elif isinstance(m, convnext.CNBlock):
            m.layer_scale.uniform_(0.3, 1.0)
        elif isinstance(m, vision_transformer.VisionTransformer):
            m.class_token.normal_(0.0, 0.5)
            nn.init.normal_(m.heads.head.weight, 0.0, 0.5)
    gf.randomize_batchnorm(model, height, width)


def build(spec: ModernSpec) -> nn.Module:
    torch.manual_seed(spec.seed)
    model = spec.build()
    gf.disable_inplace(model)
    randomize(model, spec.height, spec.width)
    return model.eval()


# ---------------------------------------------------------------------------
# The relevance network
# ---------------------------------------------------------------------------


@dataclass
class Context:
    """What the patched forwards need: the rule set, the tape, and whether to run plainly with
    gates detached (the gradient x input twin)."""

    rules: lf.RuleSet
    tape: lf.Tape
    detached: bool

    def owner(self, path: str) -> types.SimpleNamespace:
        return types.SimpleNamespace(path=path, tape=self.tape, detached=self.detached)

    def add(self, path: str) -> nn.Module:
        return lf.PlainAdd() if self.detached else lf.LrpAdd(path, self.tape)

    def dense(self, x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
              path: str) -> torch.Tensor:
        if self.detached:
            return lf.LINEAR(x, weight, bias)
        return lf.dense_relevance_forward(x, lf.Affine(None, weight, bias), path,
                                          self.rules.linear, self.tape)

    def attention(self, a: torch.Tensor, v: torch.Tensor, path: str) -> torch.Tensor:
        if self.detached:
            return lf.MATMUL(a.detach(), v)
        return lf.AttnFn.apply(a, v, self.owner(path))

    def bias(self, x: torch.Tensor, c: torch.Tensor, path: str) -> torch.Tensor:
        if self.detached:
            return x + c
        return lf.BiasAddFn.apply(x, c.detach(), lf.BiasOwner(path, self.tape))

    def scale(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return x * c if self.detached else lf.ScaleFn.apply(x, c.detach())


# The blocks' forwards: torchvision's computation with the joins, gates, scales and means routed
# through the rules (self.lrp holds the Context, self.lrp_path the module path).


def mbconv_forward(self, input):
    result = self.block(input)
    if self.use_res_connect:
        result = self.lrp_add(self.stochastic_depth(result), input)
    return result


def inverted_residual_v3_forward(self, input):
    result = self.block(input)
    return self.lrp_add(result, input) if self.use_res_connect else result


def res_bottleneck_forward(self, x):
    x = self.lrp_add(self.proj(x) if self.proj is not None else x, self.f(x))
    return self.activation(x)


def mnasnet_block_forward(self, input):
    return self.lrp_add(self.layers(input), input) if self.apply_residual else self.layers(input)


def squeeze_excitation_forward(self, input):
    return lf.gated(input, self._scale(input), self.lrp.owner(self.lrp_path))


def cnblock_forward(self, input):
    result = self.lrp.scale(self.block(input), self.layer_scale)
    return self.lrp_add(self.stochastic_depth(result), input)


def encoder_block_forward(self, input):
    x = self.ln_1(input)
    x, _ = self.self_attention(x, x, x, need_weights=False)
    x = self.lrp_add(self.dropout(x), input)
    return self.lrp_add(x, self.mlp(self.ln_2(x)))


def encoder_forward(self, input):
    input = self.lrp.bias(input, self.pos_embedding, self.lrp_path + ".pos_embedding")
    return self.ln(self.layers(self.dropout(input)))


def swin_block_forward(self, x):
    x = self.lrp_add(x, self.stochastic_depth(self.attn(self.norm1(x))))
    return self.lrp_add(x, self.stochastic_depth(self.mlp(self.norm2(x))))


def mnasnet_forward(self, x):
    return self.classifier(self.lrp_mean(self.layers(x)))


def shufflenet_forward(self, x):
    x = self.maxpool(self.conv1(x))
    x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
    return self.fc(self.lrp_mean(x))


def multihead_attention_forward(self, query, key, value, need_weights=False, **_):
    """nn.MultiheadAttention (self-attention, batch first, packed projections), as
    F.multi_head_attention_forward computes it, with the rules in place."""
    assert query is key is value and self.batch_first and self._qkv_same_embed_dim
    assert not need_weights and self.dropout == 0.0 or not self.training
    ctx: Context = self.lrp
    n, t, e = query.shape
    h = self.num_heads
    d = e // h
    qkv = ctx.dense(query, self.in_proj_weight, self.in_proj_bias, self.lrp_path + ".in_proj")
    heads = [p.reshape(n, t, h, d).transpose(1, 2) for p in qkv.chunk(3, dim=-1)]
    q, k, v = heads
    a = torch.softmax(lf.MATMUL(q / math.sqrt(d), k.transpose(-1, -2)), dim=-1)
    out = ctx.attention(a, v, self.lrp_path + ".attention").transpose(1, 2).reshape(n * t, e)
    out = ctx.dense(out, self.out_proj.weight, self.out_proj.bias, self.lrp_path + ".out_proj")
    return out.reshape(n, t, e), None


@contextlib.contextmanager
def swin_functional(ctx: Context, path: str):
    """F.linear, F.softmax, F.dropout (p = 0) and Tensor.matmul with the rules in place while
    torchvision's shifted_window_attention runs: softmax outputs are gates, gate.matmul(v) is the
    AH-rule, F.linear a dense layer."""
    saved = (F.linear, F.softmax, F.dropout, torch.Tensor.matmul)
    gates: List[torch.Tensor] = []

    def linear(x, weight, bias=None):
        return ctx.dense(x, weight, bias, f"{path}.linear{weight.shape[0]}")

    def softmax(*args, **kwargs):
        y = saved[1](*args, **kwargs)
        gates.append(y)
        return y

    def dropout(x, p=0.5, training=True, inplace=False):
        assert p == 0.0 or not training, "dropout is active"
        return x

    def matmul(a, b):
        if any(a is g for g in gates):
            return ctx.attention(a, b, f"{path}.attention")
        return saved[3](a, b)

    F.linear, F.softmax, F.dropout, torch.Tensor.matmul = linear, softmax, dropout, matmul
    try:
        yield
    finally:
        F.linear, F.softmax, F.dropout, torch.Tensor.matmul = saved


def swin_attention_forward(self, x):
    with swin_functional(self.lrp, self.lrp_path):
        return swin_transformer.ShiftedWindowAttention.forward(self, x)


BLOCK_FORWARDS = [
    (efficientnet.MBConv, mbconv_forward),
    (mobilenetv3.InvertedResidual, inverted_residual_v3_forward),
    (regnet.ResBottleneckBlock, res_bottleneck_forward),
    (mnasnet._InvertedResidual, mnasnet_block_forward),
    (convnext.CNBlock, cnblock_forward),
    (vision_transformer.EncoderBlock, encoder_block_forward),
    (swin_transformer.SwinTransformerBlock, swin_block_forward),
]
# Modules whose insides are computed by their patched forward (left as they are).
OPAQUE = [
    (misc.SqueezeExcitation, squeeze_excitation_forward),
    (nn.MultiheadAttention, multihead_attention_forward),
    (swin_transformer.ShiftedWindowAttention, swin_attention_forward),
]
# Containers and ops that only move values.
MOVES = (nn.Sequential, nn.Flatten, nn.Identity, misc.Permute, StochasticDepth,
         misc.Conv2dNormActivation, misc.SqueezeExcitation, nn.MultiheadAttention,
         swin_transformer.ShiftedWindowAttention, swin_transformer.PatchMerging,
         vision_transformer.MLPBlock, vision_transformer.Encoder, misc.MLP, regnet.AnyStage,
         regnet.BottleneckTransform, regnet.SimpleStemIN, shufflenetv2.InvertedResidual,
         convnext.CNBlock, vision_transformer.EncoderBlock, swin_transformer.SwinTransformerBlock,
         efficientnet.MBConv, mobilenetv3.InvertedResidual, regnet.ResBottleneckBlock,
         mnasnet._InvertedResidual, lf.LrpAdd, lf.PlainAdd, lf.LrpMean)


def gelu_gate(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def rule_module(child: nn.Module, path: str, kind: lf.Rule, ctx: Context) -> Optional[nn.Module]:
    """The rule module replacing `child`, None to leave it (a container, a value move, or in the
    detached twin a plain op)."""
    plain = ctx.detached
    if isinstance(child, (nn.Conv2d, nn.Linear)):
        return None if plain else lf.LrpLinear(child, path, kind, ctx.tape)
    if isinstance(child, (nn.ReLU, nn.ReLU6, nn.Dropout)):
        return None if plain else lf.LrpPass(child)
    if isinstance(child, nn.SiLU):
        return lf.LrpGate(torch.sigmoid, path, ctx.tape, plain)
    if isinstance(child, nn.Hardswish):
        return lf.LrpGate(F.hardsigmoid, path, ctx.tape, plain)
    if isinstance(child, nn.GELU):
        assert child.approximate == "none"
        return lf.LrpGate(gelu_gate, path, ctx.tape, plain)
    if isinstance(child, nn.MaxPool2d):
        return None if plain else lf.LrpMaxPool(child, path, ctx.rules.max_pool, ctx.tape)
    if isinstance(child, nn.AdaptiveAvgPool2d):
        size = nn.modules.utils._pair(child.output_size)
        op = "GlobalAveragePool" if size == (1, 1) else "AveragePool"
        return None if plain else lf.LrpAvgPool(size, path, ctx.tape, op)
    if isinstance(child, nn.LayerNorm):
        return lf.LrpLayerNorm(child, path, ctx.tape, plain,
                               channels_first=isinstance(child, convnext.LayerNorm2d))
    if isinstance(child, MOVES):
        return None
    raise TypeError(f"no LRP rule for {type(child).__name__} at {path}")


def relevance_model(model: nn.Module, rules: lf.RuleSet, tape: lf.Tape,
                    detached: bool = False) -> nn.Module:
    """A copy of `model` (BatchNorm folded, as the eval-mode export folds it) whose backward pass
    computes relevance by `rules`; with `detached`, the plain network with its gates detached."""
    model = copy.deepcopy(model)
    lf.fold_batchnorm(model)
    ctx = Context(rules, tape, detached)
    # The first linear layer in forward order: the stem convolution (named_modules is
    # depth-first in registration order, which is forward order for these models).
    first = next(p for p, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    opaque: List[str] = []
    for path, module in list(model.named_modules()):
        if any(path.startswith(p + ".") for p in opaque):
            continue
        module.lrp, module.lrp_path = ctx, path
        for cls, forward in BLOCK_FORWARDS + OPAQUE:
            if isinstance(module, cls):
                module.forward = types.MethodType(forward, module)
                module.lrp_add = ctx.add(path)
        if any(isinstance(module, cls) for cls, _ in OPAQUE):
            opaque.append(path)
            continue
        if isinstance(module, mnasnet.MNASNet):
            module.lrp_mean = lf.LrpMean((2, 3), False, "mean", tape, detached)
            module.forward = types.MethodType(mnasnet_forward, module)
        elif isinstance(module, shufflenetv2.ShuffleNetV2):
            module.lrp_mean = lf.LrpMean((2, 3), False, "mean", tape, detached)
            module.forward = types.MethodType(shufflenet_forward, module)
        elif isinstance(module, vision_transformer.Encoder):
            module.forward = types.MethodType(encoder_forward, module)
        for name, child in list(module.named_children()):
            child_path = f"{path}.{name}" if path else name
            kind = rules.first if child_path == first else (
                rules.conv if isinstance(child, nn.Conv2d) else rules.linear)
            new = rule_module(child, child_path, kind, ctx)
            if new is not None:
                setattr(module, name, new)
    return model


def run_rules(model: nn.Module, spec: ModernSpec, rules: lf.RuleSet, x: torch.Tensor,
              classes: Sequence[int], box, detached: bool = False) -> dict:
    """Relevance at the input and the stage values (with `detached`: gradient x input of the
    detached twin, seeded with start / logits), the stage activations and the layer logs."""
    tape = lf.Tape(box=box, batch=x.shape[0])
    probe = cf.Probe(relevance_model(model, rules, tape, detached), spec.modules)
    xg = x.clone().requires_grad_(True)
    logits, *acts = probe(xg)
    start = lf.start_relevance(rules, classes, x.dtype)
    seed = lf.sdiv(start, logits.detach()) if detached else start
    grads = torch.autograd.grad(logits, [xg, *acts], grad_outputs=seed)
    values = (xg, *acts)
    return {
        "logits": logits.detach(),
        "start": start,
        "relevance": {k: (v.detach() * g if detached else g).detach()
                      for k, v, g in zip(("input", *VALUES), values, grads)},
        "activations": dict(zip(VALUES, (a.detach() for a in acts))),
        "logs": list(reversed(tape.logs)),
    }


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


LRP0 = lf.uniform(lf.Rule("epsilon", eps=0.0))


def check_lrp0_detached(spec: ModernSpec, model64: nn.Module, x: torch.Tensor,
                        classes: Sequence[int]) -> float:
    """LRP-0 equals gradient x input of the network with its gates detached, at the input and at
    every stage value (float64)."""
    ref = run_rules(model64, spec, LRP0, x, classes, None)
    grad = run_rules(model64, spec, LRP0, x, classes, None, detached=True)
    assert torch.allclose(ref["logits"], grad["logits"], rtol=1e-12, atol=1e-12)
    worst = 0.0
    for name in ("input", *VALUES):
        err = cf.relative_error(ref["relevance"][name], grad["relevance"][name])
        assert err < 1e-9, f"{spec.name}: LRP-0 != gradient x input at {name} ({err:.3g})"
        worst = max(worst, err)
    return worst


@torch.no_grad()
def without_biases(model: nn.Module) -> nn.Module:
    """Every bias, LayerNorm shift, position embedding and class token zeroed."""
    model = copy.deepcopy(model)
    for m in model.modules():
        for name in ("bias", "in_proj_bias", "pos_embedding", "class_token"):
            p = getattr(m, name, None)
            if isinstance(p, torch.Tensor):
                p.zero_()
    return model


def maxpool_margins(model: nn.Module, x: torch.Tensor) -> List[float]:
    """Per row, the smallest relative gap between a max-pool window's two largest values."""
    found = torch.full((x.shape[0],), math.inf, dtype=torch.float64)

    def hook(module, inputs, output):
        found.copy_(torch.minimum(found, gf.pool_gap(module, inputs[0].detach(), output)))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.MaxPool2d)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return [float(v) for v in found]


# ---------------------------------------------------------------------------
# Export and references
# ---------------------------------------------------------------------------


def export_onnx(spec: ModernSpec, model: nn.Module, opset: int) -> onnx.ModelProto:
    probe = cf.Probe(copy.deepcopy(model), spec.modules)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            probe, torch.randn(1, 3, spec.height, spec.width), buffer, opset_version=opset,
            do_constant_folding=True, input_names=["input"], output_names=["logits", *VALUES],
            dynamic_axes={n: {0: "batch"} for n in ("input", "logits", *VALUES)},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    outputs = [o for o in proto.graph.output if o.name not in VALUES]
    del proto.graph.output[:]
    proto.graph.output.extend(outputs)
    onnx.checker.check_model(proto)
    for value in VALUES:
        producers = [n for n in proto.graph.node if value in n.output]
        consumers = [n for n in proto.graph.node if value in n.input]
        assert len(producers) == 1 and consumers, f"{spec.name}: {value} is not an inner value"
    return proto


def choose_inputs(spec: ModernSpec) -> torch.Tensor:
    gen = torch.Generator().manual_seed(spec.seed + 3 + spec.input_seed)
    u = torch.rand(BATCH, 3, spec.height, spec.width, generator=gen, dtype=torch.float64)
    mean = torch.tensor(lf.MEAN, dtype=torch.float64)[None, :, None, None]
    std = torch.tensor(lf.STD, dtype=torch.float64)[None, :, None, None]
    return ((u - mean) / std).float()


def conservation(rules: lf.RuleSet, logs: List[lf.LayerLog]) -> dict:
    """The worst layer error where the rule promises input + lost = output, and the lost
    relevance per rule kind."""
    worst = 0.0
    lost: Dict[str, torch.Tensor] = {}
    for log in logs:
        linear = log.op in ("Conv", "Gemm", "MatMul") and log.rule not in (*lf.CONSERVATIVE,
                                                                          "gate", "attention")
        if not linear:
            scale = float(torch.maximum(log.output_sum.abs(), log.input_sum.abs()).max()) or 1.0
            err = float((log.input_sum + log.lost - log.output_sum).abs().max()) / scale
            assert err < 1e-9, f"{rules.name}: {log.module} {log.op} does not conserve ({err:.3g})"
            worst = max(worst, err)
            gone = log.lost
        else:
            gone = log.output_sum - log.input_sum
        key = f"{log.op}/{log.rule}"
        lost[key] = lost.get(key, torch.zeros_like(gone)) + gone
    return {"worst": worst, "lost": lost}


def references(spec: ModernSpec, model: nn.Module) -> dict:
    x = choose_inputs(spec)
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        logits = model64(x.double())
    classes = [int(torch.argsort(row, descending=True)[k]) for row, k in zip(logits, CLASSES_RANK)]
    box = lf.box_bounds()
    kinks = maxpool_margins(model64, x.double())
    size = (spec.height, spec.width)
    cases, cams = [], []
    for rules in lf.COMPOSITES:
        run = replace(rules, fold_bn=True)  # the graphs hold no BatchNorm: exported folded
        r64 = run_rules(model64, spec, run, x.double(), classes, box)
        r32 = run_rules(model, spec, run, x, classes, box)
        assert torch.allclose(r64["logits"], logits, rtol=1e-12, atol=1e-12)
        margins = torch.full((BATCH,), math.inf, dtype=torch.float64)
        for log in r64["logs"]:
            margins = torch.minimum(margins, log.margin.double())
        deviation, unstable, reasons = [], [], []
        for i in range(BATCH):
            dev = max(cf.relative_error(r32["relevance"][k][i], r64["relevance"][k][i])
                      for k in r64["relevance"])
            why = []
            if dev > lf.UNSTABLE_DEVIATION:
                why.append(f"float32 PyTorch deviates by {dev:.3g}")
            if margins[i] < lf.DENOMINATOR_MARGIN:
                why.append(f"an LRP denominator is {float(margins[i]):.3g} (relative) from 0")
            if kinks[i] < lf.KINK_MARGIN:
                why.append(f"a max-pool decision margin is {kinks[i]:.3g}")
            deviation.append(dev)
            unstable.append(bool(why))
            reasons.append("; ".join(why))
        cases.append({"rules": rules, "ref": r64, "deviation": deviation, "unstable": unstable,
                      "reasons": reasons, "margins": margins,
                      "conservation": conservation(rules, r64["logs"])})
        if rules is lf.RELEVANCE_CAM and spec.cam:
            for value in VALUES:
                for relu in ((False, True) if value == "last" else (False,)):
                    raw64, map64 = lf.relevance_cam(r64, value, relu, size)
                    raw32, map32 = lf.relevance_cam(r32, value, relu, size)
                    dev, flags, why_rows = [], [], []
                    for i in range(BATCH):
                        d = max(cf.relative_error(raw32[i], raw64[i]),
                                float((map32[i].double() - map64[i]).abs().max()))
                        why = [reasons[i]] if unstable[i] else []
                        if d > lf.UNSTABLE_DEVIATION:
                            why.append(f"float32 map deviates by {d:.3g}")
                        dev.append(d)
                        flags.append(bool(why))
                        why_rows.append("; ".join(why))
                    cams.append({"layer": value, "relu": relu, "raw": raw64, "map": map64,
                                 "deviation": dev, "unstable": flags, "reasons": why_rows})
    lrp0 = check_lrp0_detached(spec, model64, x.double(), classes)
    if spec.name == "vit":
        lrp0 = max(lrp0, check_lrp0_detached(spec, without_biases(model64), x.double(), classes))
    return {"x": x, "logits": logits, "classes": classes, "kinks": kinks, "cases": cases,
            "cams": cams, "box": box, "lrp0": lrp0}


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def fixture_json(spec: ModernSpec, files: Dict[str, onnx.ModelProto], ref: dict) -> dict:
    first = ref["cases"][0]["ref"]
    low, high = ref["box"]
    cases = []
    stored: Dict[str, List[Tuple[str, torch.Tensor]]] = {k: [] for k in ("input", *VALUES)}

    def encode(case_name: str, value: str, t: torch.Tensor) -> dict:
        """The encoded tensor, or {"sameAs": an earlier case} when it is identical to that case's
        (composites differing only in some layers share the relevance above them)."""
        for name, earlier in stored[value]:
            if torch.equal(earlier, t):
                return {"sameAs": name}
        stored[value].append((case_name, t))
        return lf.encode_relevance(t)

    for case in ref["cases"]:
        rules: lf.RuleSet = case["rules"]
        r64 = case["ref"]
        entry = {
            "name": rules.name,
            "composite": rules.composite,
            "rules": {"firstLinear": rules.first.to_json(), "conv": rules.conv.to_json(),
                      "linear": rules.linear.to_json()},
            "batchNorm": "folded" if rules.fold_bn else "unchanged",
            "maxPool": rules.max_pool,
            "start": rules.start,
            "relevance": {k: encode(rules.name, k, v) for k, v in r64["relevance"].items()},
            "startSum": lf.short(lf.row_sum(r64["start"])),
            "inputSum": lf.short(lf.row_sum(r64["relevance"]["input"])),
            "valueSums": {v: lf.short(lf.row_sum(r64["relevance"][v])) for v in VALUES},
            "conservation": {
                "worstLayerError": float(f"{case['conservation']['worst']:.3g}"),
                "lost": {k: lf.short(v) for k, v in sorted(case["conservation"]["lost"].items())},
            },
            "denominatorMargin": lf.margin_json(case["margins"]),
            "float32Deviation": [float(f"{d:.3g}") for d in case["deviation"]],
            "unstable": case["unstable"],
        }
        if any(case["unstable"]):
            entry["unstableReasons"] = case["reasons"]
        cases.append(entry)
    cams = []
    for cam in ref["cams"]:
        entry = {
            "layer": cam["layer"],
            "relu": cam["relu"],
            "raw": lf.encode_relevance(cam["raw"]),
            "map": cf.encode_map(cam["map"]),
            "float32Deviation": [float(f"{d:.3g}") for d in cam["deviation"]],
            "unstable": cam["unstable"],
        }
        if any(cam["unstable"]):
            entry["unstableReasons"] = cam["reasons"]
        cams.append(entry)
    return {
        "name": spec.name,
        "description": spec.description,
        "architecture": spec.architecture,
        "onnx": list(files),
        "opTypes": {f: gf.op_types(p) for f, p in files.items()},
        "input": {"name": "input", "dims": list(ref["x"].shape)},
        "output": "logits",
        "numClasses": NUM_CLASSES,
        "values": {v: {"module": spec.modules[v], "dims": list(first["activations"][v].shape)}
                   for v in VALUES},
        "classes": ref["classes"],
        "zbox": {"mean": list(lf.MEAN), "std": list(lf.STD), "low": lf.short(low, 17),
                 "high": lf.short(high, 17)},
        "kinkMargin": lf.margin_json(ref["kinks"]),
        "lrp0": float(f"{ref['lrp0']:.3g}"),
        "relevanceEncoding": lf.RELEVANCE_ENCODING,
        "mapEncoding": lf.MAP_ENCODING,
        "inputData": lf.to_base64(ref["x"]),
        "logits": lf.to_base64(ref["logits"]),
        "cases": cases,
        "relevanceCam": cams,
    }


def make_fixture(spec: ModernSpec, out_dir: str) -> dict:
    model = build(spec)
    files = {f"{spec.name}--op{o}.onnx": export_onnx(spec, model, o) for o in OPSETS}
    ref = references(spec, model)
    data = fixture_json(spec, files, ref)
    for name, proto in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(proto.SerializeToString())
    with open(os.path.join(out_dir, f"{spec.name}.json"), "w") as f:
        f.write(lf.dumps(data) + "\n")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="fixture names to (re)generate")
    args = parser.parse_args()

    torch.set_num_threads(1)
    lf.self_checks()
    os.makedirs(args.out, exist_ok=True)
    for spec in SPECS:
        if args.only and spec.name not in args.only:
            continue
        data = make_fixture(spec, args.out)
        size = sum(os.path.getsize(os.path.join(args.out, f))
                   for f in (*data["onnx"], f"{spec.name}.json")) / 1024
        print(f"{spec.name:13s} {size:6.1f} KiB  classes {data['classes']}  "
              f"LRP-0 == gradient x input (gates detached): {data['lrp0']:.2g}")
        for case in data["cases"]:
            c = case["conservation"]
            lost = ", ".join(f"{k} {v}" for k, v in c["lost"].items() if any(abs(x) > 1e-9
                                                                             for x in v))
            print(f"  {case['name']:22s} start {case['startSum']} input {case['inputSum']} "
                  f"stages {[case['valueSums'][v] for v in VALUES]}  layer err "
                  f"{c['worstLayerError']:.2g}  dev {case['float32Deviation']}  margin "
                  f"{case['denominatorMargin']}")
            print(f"    lost: {lost}")
            if any(case["unstable"]):
                print(f"    unstable {case['unstableReasons']}")


if __name__ == "__main__":
    main()
