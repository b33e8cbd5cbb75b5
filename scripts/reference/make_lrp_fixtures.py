#!/usr/bin/python3
"""Reference LRP relevances and Relevance-CAM maps, computed in float64 with PyTorch.

An independent implementation of docs/lrp-rules.md (the rules camscope's LRP rule sets compile
into ONNX graphs), written from that document, not from camscope's TypeScript.

How it works. The model is rebuilt with every layer replaced by a module whose forward computes
the ordinary value and whose backward (a custom torch.autograd.Function) computes, from the
relevance R at the layer's output, the relevance at its input by the layer's rule:

- Conv2d / Linear: the linear-layer rule chosen for the case (epsilon, zplus, alphabeta, gamma,
  zbox, flat, wsquare), written with explicit convolutions: z = conv(x, w') and
  sum_j w'_ij s_j = the transposed convolution of s (torch.nn.grad.conv2d_input);
- ReLU, ReLU6, Dropout, BatchNorm when not folded: relevance passes unchanged;
- MaxPool: winner-take-all (first maximum on ties) or proportional; adaptive / global average
  pooling: proportional;
- the residual joins (ResNet BasicBlock, MobileNetV2 InvertedResidual): the blocks' forward is
  replaced by one that routes the join through a proportional add;
- Flatten: relevance moves with the values (the autograd of the reshape).

Autograd then walks the graph: torch.autograd.grad(logits, [input, stage values], start) returns
the relevance at each value, summed over its consumers as the document says. "folded"
BatchNorm is folded into the preceding Conv in float64 (w' = w g / sqrt(var + e),
b' = (b - mean) g / sqrt(var + e) + beta) before the rules see the weights, and those weights are
checked against the exporter's folded initializers.

Models (small widths, built with make_gradient_fixtures' builders, seeds and BatchNorm statistics;
input sizes and seeds of their own, see SPECS; the ResNet twins have every third BatchNorm
channel's scale and shift negated, see LrpSpec.negate_bn_every):

| fixture | input | BatchNorm in the graph | stage1 | stage2 | last |
| --- | --- | --- | --- | --- | --- |
| vgg16_bn | 64x66 | folded | features.13 (pool 2) | features.23 (pool 3) | features.43 (pool 5) |
| resnet_basic | 33x35 | folded | layer1 | layer2 | layer4 |
| resnet_basic_bn | 33x35 | kept | layer1 | layer2 | layer4 |
| mobilenet_v2 | 33x35 | folded | features.3 | features.6 | features.18 |

The ONNX graph (<name>.onnx) names the input `input`, the output `logits` and the three
intermediate values `stage1`, `stage2`, `last` (value names only, not graph outputs).

Each <name>.json holds:

- `name`, `description`, `architecture`, `opset`, `batchNorm` ("folded" | "kept"), `opTypes`;
- `input`: {"name": "input", "dims": [3, 3, H, W]}, `output`: "logits", `numClasses`: 10;
- `values`: {"stage1" | "stage2" | "last": {"module": PyTorch module path, "dims": [3, C, h, w]}};
- `inputData`: the input batch [3, 3, H, W]; `logits`: float64 logits [3, 10] (both base64
  float32 little-endian);
- `classes`: the target class of each row;
- `zbox`: {"mean", "std", "low", "high"}: per input channel; low = (0 - mean) / std,
  high = (1 - mean) / std, the zbox bounds (the inputs lie inside them);
- `kinkMargin`: per row, the smallest relative distance of a ReLU/ReLU6 input to a kink or of a
  max-pool window's runner-up to its maximum (make_gradient_fixtures.kink_margins; null: none);
- `relevanceEncoding`, `mapEncoding`: the encodings, as text;
- `cases`: one per rule set, each with
  - `name`: the case name (the rule or composite name; "epsilon-plus/maxpool-proportional");
  - `rules`: {"firstLinear", "conv", "linear"}: the rule of the first Conv/Gemm in graph order, of
    the other Conv layers and of the Gemm layers, each {"name", ...parameters} ("epsilon": eps;
    "alphabeta": alpha, beta; "gamma": gamma, eps; "zbox": eps, low/high as in `zbox`);
  - `composite`: the composite name, or null for a rule applied uniformly to every Conv/Gemm;
  - `batchNorm`: "folded" | "unchanged" (what the rule set does with BatchNormalization nodes;
    on the folded graphs there are none); `maxPool`: "wta" | "proportional";
    `start`: "one-hot" | "contrastive" (at the logits, per row's class);
  - `relevance`: {"input", "stage1", "stage2", "last"}: the relevance at that value, [3, ...dims]
    in RELEVANCE_ENCODING;
  - `startSum`, `inputSum`: per row, the sum of the starting relevance and of the relevance at
    the input;
  - `layers`: per relevance-changing layer (Conv, Gemm, MaxPool, average pools, Add) in forward
    order, {"module": PyTorch path (for an Add: its block), "onnxNode": the node's name in the
    graph, "op", "rule", "outputSum": [3], "inputSum": [3], "lost": [3]}: per row the sums of the
    relevance at the node's output and at its input(s), and the relevance the rule drops at
    outputs whose sdiv denominator is exactly zero (alphabeta: alpha R [P = 0] - beta R [N = 0]),
    so outputSum = inputSum + lost for every rule but epsilon, gamma and zbox;
  - `denominatorMargin`: per row, the smallest |d| / max|d| over the nonzero LRP denominators of
    every layer (P, N, z, S, y, a + b; per layer) at outputs that carry relevance;
  - `float32Deviation`: per row, the largest relative deviation (max|r32 - r64| / max|r64|) of the
    same reference run in float32 over the four values;
  - `unstable`: per row; and `unstableReasons` (text per row) when some row is unstable;
- `relevanceCam`: Relevance-CAM maps from the "relevance-cam" case (contrastive start), per
  `layer` (stage1, stage2, last) and `relu` (false: the default, as the official code; true):
  `raw` = sum_k w_k A_k with w_k = mean over positions of R_k, [3, h, w] in RELEVANCE_ENCODING
  (no ReLU even when relu is true); `map`: [3, H, W] in MAP_ENCODING: ReLU when relu is true,
  per-image min-max to [0, 1] at layer resolution (a constant map gives zeros), then bilinear
  upsampling to the input size (F.interpolate, align_corners=False), then min-max again, the order
  of camscope's CAM pipeline (make_cam_fixtures.finalize); `float32Deviation` (raw: relative, map: absolute), `unstable`, `unstableReasons`.

A row is `unstable` when the float32 run deviates from the float64 one by more than 1e-5, when a
denominator margin is below 1e-6, or when the kink margin is below 1e-6 (float32 engines summing
in another order may decide differently there); tests should hold such rows to a loose bound.

Before writing anything, the script asserts its self-checks (see self_checks): LRP-0 equals
gradient x input on bias-free ReLU versions of the three architectures; the conservative rules
conserve relevance layer by layer on every model; each rule on a tiny dense example matches a
hand computation and on a strided, padded, grouped convolution matches the same layer written as
a dense matrix and evaluated with scalar loops.

Run with Debian's Python (torch 1.13, torchvision 0.14, onnx 1.12):

    /usr/bin/python3 scripts/reference/make_lrp_fixtures.py [--out DIR] [--only NAME ...]

Reruns reproduce byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import json
import math
import os
import sys
import types
import warnings
import zlib
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import mobilenetv2
from torchvision.models.resnet import BasicBlock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_cam_fixtures as cf  # noqa: E402  (min-max, upsampling and the map encoding)
import make_gradient_fixtures as gf  # noqa: E402  (the builders and the kink-margin probe)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "compiler", "lrp", "fixtures")

BATCH = 3
NUM_CLASSES = gf.NUM_CLASSES
VALUES = ("stage1", "stage2", "last")
# ImageNet preprocessing: the zbox bounds, and the inputs are (u - mean) / std with u in [0, 1).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
EPSILON = 1e-6
GAMMA = 0.25
# Stability flags (see the docstring).
UNSTABLE_DEVIATION = 1e-5
DENOMINATOR_MARGIN = 1e-6
KINK_MARGIN = gf.MARGIN_THRESHOLD

RELEVANCE_ENCODING = (
    "an object {scale, q}: per row (first axis) scale = max |v| of the row; q = round(v / scale *"
    " 2^20) as int32 little-endian, C order, zlib-compressed, base64 (error <= 2^-21 of the row's"
    " largest magnitude; rows of zeros have scale 0)"
)
MAP_ENCODING = cf.MAP_ENCODING


# ---------------------------------------------------------------------------
# Rules and rule sets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str  # epsilon | zplus | alphabeta | gamma | zbox | flat | wsquare
    eps: float = EPSILON
    alpha: float = 2.0
    beta: float = 1.0
    gamma: float = GAMMA

    def to_json(self) -> dict:
        if self.name == "epsilon":
            return {"name": "epsilon", "eps": self.eps}
        if self.name == "alphabeta":
            return {"name": "alphabeta", "alpha": self.alpha, "beta": self.beta}
        if self.name == "gamma":
            return {"name": "gamma", "gamma": self.gamma, "eps": self.eps}
        if self.name == "zbox":
            return {"name": "zbox", "eps": self.eps}
        return {"name": self.name}


@dataclass(frozen=True)
class RuleSet:
    name: str
    first: Rule  # the first Conv/Linear in graph order
    conv: Rule  # the other Conv layers
    linear: Rule  # the Linear (Gemm) layers
    composite: Optional[str]
    fold_bn: bool = True
    max_pool: str = "wta"  # wta | proportional
    start: str = "one-hot"  # one-hot | contrastive


def uniform(rule: Rule) -> RuleSet:
    return RuleSet(rule.name, rule, rule, rule, None)


EPS = Rule("epsilon")
ZPLUS = Rule("zplus")
UNIFORM = [
    uniform(EPS), uniform(ZPLUS), uniform(Rule("alphabeta")), uniform(Rule("gamma")),
    uniform(Rule("flat")), uniform(Rule("wsquare")),
]
EPSILON_PLUS = RuleSet("epsilon-plus", ZPLUS, ZPLUS, EPS, "epsilon-plus")
RELEVANCE_CAM = RuleSet(
    "relevance-cam", ZPLUS, ZPLUS, ZPLUS, "relevance-cam", fold_bn=False, start="contrastive"
)
COMPOSITES = [
    EPSILON_PLUS,
    RuleSet("epsilon-gamma-box", Rule("zbox"), Rule("gamma"), EPS, "epsilon-gamma-box"),
    RuleSet(
        "epsilon-alpha2-beta1", Rule("alphabeta"), Rule("alphabeta"), EPS, "epsilon-alpha2-beta1"
    ),
    RuleSet("epsilon-plus-flat", Rule("flat"), ZPLUS, EPS, "epsilon-plus-flat"),
    RELEVANCE_CAM,
]
PROPORTIONAL_MAXPOOL = replace(
    EPSILON_PLUS, name="epsilon-plus/maxpool-proportional", max_pool="proportional"
)
CONSERVATIVE = ("zplus", "alphabeta", "flat", "wsquare")


# ---------------------------------------------------------------------------
# Relevance bookkeeping
# ---------------------------------------------------------------------------


@dataclass
class LayerLog:
    module: str
    op: str
    rule: str
    output_sum: torch.Tensor
    input_sum: torch.Tensor
    lost: torch.Tensor
    margin: torch.Tensor  # per row: smallest nonzero |d| / max|d| where R != 0


@dataclass
class Tape:
    """What the backward passes record, in the order they run (reverse forward order)."""

    logs: List[LayerLog] = field(default_factory=list)
    box: Optional[Tuple[torch.Tensor, torch.Tensor]] = None  # zbox low/high per channel
    # Images in the batch. Inside attention, values are [images * windows or heads, ...] with the
    # image axis outermost, so a value reshaped to [batch, -1] has one row per image.
    batch: int = 0

    def log(self, path: str, op: str, rule: str, r: torch.Tensor, *out: torch.Tensor,
            lost: torch.Tensor, denominator: Optional[torch.Tensor] = None) -> None:
        """A layer's per-image sums of R at its output and input(s), the relevance it drops
        (`lost`, same shape as r) and its denominator's margin."""
        n = self.batch
        per = lambda t: t.reshape(n, -1).sum(dim=1)  # noqa: E731
        m = (margin(denominator.reshape(n, -1), r.reshape(n, -1)) if denominator is not None
             else torch.full((n,), math.inf, dtype=r.dtype))
        self.logs.append(LayerLog(path, op, rule, per(r), sum(per(o) for o in out), per(lost), m))


def row_sum(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1).sum(dim=1)


def sdiv(a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """a / z where z != 0, 0 where z == 0."""
    nonzero = z != 0
    safe = torch.where(nonzero, z, torch.ones_like(z))
    return torch.where(nonzero, a / safe, torch.zeros_like(a))


def stab(z: torch.Tensor, eps: float) -> torch.Tensor:
    """z + eps * sgn(z), sgn(0) = +1."""
    return z + eps * torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))


def sdiv_stab(a: torch.Tensor, z: torch.Tensor, eps: float) -> torch.Tensor:
    """a / stab(z). stab(z) is never 0 for eps > 0; the guard only matters for the eps = 0 check
    (LRP-0), where a zero z carries no relevance."""
    return sdiv(a, stab(z, eps))


def margin(d: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Per row: min |d| / max|d| over the nonzero denominators d at outputs with R != 0 (inf when
    none). Exact zeros are structural (all-zero windows) and resolve identically everywhere."""
    n = d.shape[0]
    a = d.abs().reshape(n, -1)
    scale = a.max(dim=1, keepdim=True).values
    use = (a > 0) & (r.reshape(n, -1) != 0)
    rel = torch.where(use, a / torch.where(scale > 0, scale, torch.ones_like(scale)),
                      torch.full_like(a, math.inf))
    return rel.min(dim=1).values


def lost(r: torch.Tensor, *ds: torch.Tensor) -> torch.Tensor:
    """Per row, the relevance at outputs whose sdiv denominator(s) are all exactly zero."""
    dropped = torch.ones_like(r, dtype=torch.bool)
    for d in ds:
        dropped = dropped & (d == 0)
    return row_sum(torch.where(dropped, r, torch.zeros_like(r)))


# ---------------------------------------------------------------------------
# Layers: value forward, relevance backward
# ---------------------------------------------------------------------------


# The plain functions, kept here because the transformer references patch F.linear and friends
# while a relevance forward runs (make_lrp_modern_fixtures.py) and the rules must not see that.
LINEAR = F.linear
MATMUL = torch.matmul


class Affine:
    """A Conv2d or Linear layer as z = x w + b with its parameters (w: torch layout); a dense
    layer may also be given as its weight and bias (functional F.linear calls)."""

    def __init__(self, module: Optional[nn.Module], weight: Optional[torch.Tensor] = None,
                 bias: Optional[torch.Tensor] = None):
        if module is not None:
            weight, bias = module.weight, module.bias
        assert weight is not None
        self.weight = weight.detach()
        self.bias = None if bias is None else bias.detach()
        self.conv = isinstance(module, nn.Conv2d)
        if self.conv:
            assert module is not None
            self.kw = dict(stride=module.stride, padding=module.padding,
                           dilation=module.dilation, groups=module.groups)

    def without_bias(self) -> "Affine":
        assert not self.conv
        return Affine(None, self.weight, None)

    def apply(self, x: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor]) -> torch.Tensor:
        if self.conv:
            return F.conv2d(x, w, b, **self.kw)
        return LINEAR(x, w, b)

    def back(self, s: torch.Tensor, w: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """sum_j w_ij s_j for every input i (the transposed layer)."""
        if self.conv:
            return torch.nn.grad.conv2d_input(shape, w, s, **self.kw)
        return s @ w


def linear_relevance(layer: Affine, rule: Rule, x: torch.Tensor, r: torch.Tensor,
                     box: Optional[Tuple[torch.Tensor, torch.Tensor]]):
    """R at the input of a Conv/Linear layer by `rule` (docs/lrp-rules.md), with the lost
    relevance and the denominator margin."""
    w, b = layer.weight, layer.bias
    wp, wn = w.clamp(min=0), w.clamp(max=0)
    xp, xn = x.clamp(min=0), x.clamp(max=0)
    shape = x.shape
    no_loss = torch.zeros(x.shape[0], dtype=x.dtype)
    if rule.name == "epsilon":
        z = layer.apply(x, w, b)
        s = sdiv_stab(r, z, rule.eps)
        return x * layer.back(s, w, shape), (lost(r, z) if rule.eps == 0 else no_loss), margin(z, r)
    if rule.name == "gamma":
        wg = w + rule.gamma * wp
        bg = None if b is None else b + rule.gamma * b.clamp(min=0)
        z = layer.apply(x, wg, bg)
        return x * layer.back(sdiv_stab(r, z, rule.eps), wg, shape), no_loss, margin(z, r)
    if rule.name in ("zplus", "alphabeta"):
        p = layer.apply(xp, wp, None) + layer.apply(xn, wn, None)
        sp = sdiv(r, p)
        pos = xp * layer.back(sp, wp, shape) + xn * layer.back(sp, wn, shape)
        if rule.name == "zplus":
            return pos, lost(r, p), margin(p, r)
        nn_ = layer.apply(xp, wn, None) + layer.apply(xn, wp, None)
        sn = sdiv(r, nn_)
        neg = xp * layer.back(sn, wn, shape) + xn * layer.back(sn, wp, shape)
        # Relevance kept: alpha * R [P != 0] - beta * R [N != 0].
        kept = rule.alpha * (r - torch.where(p == 0, r, torch.zeros_like(r))) \
            - rule.beta * (r - torch.where(nn_ == 0, r, torch.zeros_like(r)))
        return (rule.alpha * pos - rule.beta * neg, row_sum(r) - row_sum(kept),
                torch.minimum(margin(p, r), margin(nn_, r)))
    if rule.name == "zbox":
        assert box is not None, "zbox needs the input bounds"
        low = box[0].reshape(1, -1, 1, 1).expand(shape).to(x.dtype)
        high = box[1].reshape(1, -1, 1, 1).expand(shape).to(x.dtype)
        z = layer.apply(x, w, None) - layer.apply(low, wp, None) - layer.apply(high, wn, None)
        s = sdiv_stab(r, z, rule.eps)
        out = x * layer.back(s, w, shape) - low * layer.back(s, wp, shape) \
            - high * layer.back(s, wn, shape)
        return out, no_loss, margin(z, r)
    if rule.name in ("flat", "wsquare"):
        # x = 1 and w = 1 (flat) or w^2 (wsquare): padding, being no input, counts for nothing.
        wm = torch.ones_like(w) if rule.name == "flat" else w * w
        ones = torch.ones_like(x)
        z = layer.apply(ones, wm, None)
        return layer.back(sdiv(r, z), wm, shape), lost(r, z), margin(z, r)
    raise ValueError(rule.name)


class LinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, owner):  # noqa: D102
        ctx.owner = owner
        ctx.save_for_backward(x)
        return owner.affine.apply(x, owner.affine.weight, owner.affine.bias)

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        (x,) = ctx.saved_tensors
        o = ctx.owner
        out, gone, m = linear_relevance(o.affine, o.rule, x, r, o.tape.box)
        sums = [row_sum(r), row_sum(out), gone]
        n = o.tape.batch
        if n and r.shape[0] != n:  # windows or tokens of n images, image axis outermost
            sums = [v.reshape(n, -1).sum(dim=1) for v in sums]
            m = m.reshape(n, -1).amin(dim=1)
        o.tape.logs.append(LayerLog(o.path, o.op, o.rule.name, *sums, m))
        return out, None


class PassFn(torch.autograd.Function):
    """ReLU-like activations, Dropout, unfolded BatchNorm: relevance passes unchanged."""

    @staticmethod
    def forward(ctx, x, module):  # noqa: D102
        return module(x)

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        return r, None


def window_columns(x: torch.Tensor, pool: nn.MaxPool2d) -> Tuple[torch.Tensor, dict]:
    """Zero-padded window contents [N*C, k*k, L] of a pooling layer (no ceil_mode here)."""
    assert not pool.ceil_mode
    pair = nn.modules.utils._pair
    kw = dict(kernel_size=pair(pool.kernel_size), dilation=pair(pool.dilation),
              padding=pair(pool.padding), stride=pair(pool.stride or pool.kernel_size))
    n, c, h, w = x.shape
    return F.unfold(x.reshape(n * c, 1, h, w), **kw), kw


class MaxPoolFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, owner):  # noqa: D102
        ctx.owner = owner
        ctx.save_for_backward(x)
        return owner.pool(x)

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        (x,) = ctx.saved_tensors
        o = ctx.owner
        n, c, h, w = x.shape
        if o.mode == "wta":
            # PyTorch's indices point at the first maximum of each window in row-major order.
            _, idx = F.max_pool2d(x, o.pool.kernel_size, o.pool.stride, o.pool.padding,
                                  o.pool.dilation, o.pool.ceil_mode, return_indices=True)
            out = torch.zeros(n, c, h * w, dtype=r.dtype)
            out.scatter_add_(2, idx.reshape(n, c, -1), r.reshape(n, c, -1))
            out = out.reshape(x.shape)
            gone, m = torch.zeros(n, dtype=x.dtype), torch.full((n,), math.inf, dtype=x.dtype)
        else:
            cols, kw = window_columns(x, o.pool)  # [N*C, K, L]
            sums = cols.sum(dim=1)  # S_j
            s = sdiv(r.reshape(n * c, -1), sums)
            spread = F.fold(s[:, None, :].expand(-1, cols.shape[1], -1), (h, w), **kw)
            out = x * spread.reshape(x.shape)
            gone = lost(r, sums.reshape(r.shape))
            m = margin(sums.reshape(r.shape), r)
        o.tape.logs.append(LayerLog(o.path, "MaxPool", o.mode, row_sum(r), row_sum(out), gone, m))
        return out, None


def adaptive_windows(size: int, out: int) -> List[Tuple[int, int]]:
    """AdaptiveAvgPool's windows along one axis: [floor(i s / o), ceil((i + 1) s / o))."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


class AvgPoolFn(torch.autograd.Function):
    """Adaptive (and global) average pooling, proportional:
    R_i = x_i sum_j (1 / |window j|) sdiv(R_j, y_j)."""

    @staticmethod
    def forward(ctx, x, owner):  # noqa: D102
        ctx.owner = owner
        ctx.save_for_backward(x)
        return F.adaptive_avg_pool2d(x, owner.size)

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        (x,) = ctx.saved_tensors
        o = ctx.owner
        y = F.adaptive_avg_pool2d(x, o.size)
        s = sdiv(r, y)
        out = torch.zeros_like(x)
        rows = adaptive_windows(x.shape[2], o.size[0])
        cols = adaptive_windows(x.shape[3], o.size[1])
        for a, (r0, r1) in enumerate(rows):
            for b_, (c0, c1) in enumerate(cols):
                area = (r1 - r0) * (c1 - c0)
                share = s[:, :, a:a + 1, b_:b_ + 1] / area
                out[:, :, r0:r1, c0:c1] += x[:, :, r0:r1, c0:c1] * share
        o.tape.logs.append(LayerLog(o.path, o.op, "proportional", row_sum(r), row_sum(out),
                                    lost(r, y), margin(y, r)))
        return out, None


class AddFn(torch.autograd.Function):
    """Residual join a + b, proportional: R_a = a sdiv(R, a + b), likewise b."""

    @staticmethod
    def forward(ctx, a, b, owner):  # noqa: D102
        ctx.owner = owner
        ctx.save_for_backward(a, b)
        return a + b

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        a, b = ctx.saved_tensors
        o = ctx.owner
        y = a + b
        s = sdiv(r, y)
        ra, rb = a * s, b * s
        o.tape.logs.append(LayerLog(o.path, "Add", "proportional", row_sum(r),
                                    row_sum(ra) + row_sum(rb), lost(r, y), margin(y, r)))
        return ra, rb, None


@dataclass
class DenseOwner:
    """What LinearFn needs to know about a layer."""

    affine: Affine
    path: str
    rule: Rule
    tape: Tape
    op: str


def dense_relevance_forward(x: torch.Tensor, affine: Affine, path: str, rule: Rule,
                            tape: Tape) -> torch.Tensor:
    """A dense layer as torch exports it: Gemm (bias inside the rule) on rank-2 inputs with a
    bias; otherwise MatMul, followed by an Add of the bias (its own rule) if there is one."""
    if x.dim() == 2 and affine.bias is not None:
        return LinearFn.apply(x, DenseOwner(affine, path, rule, tape, "Gemm"))
    z = LinearFn.apply(x, DenseOwner(affine.without_bias(), path, rule, tape, "MatMul"))
    if affine.bias is None:
        return z
    return BiasAddFn.apply(z, affine.bias, BiasOwner(path, tape))


class LrpLinear(nn.Module):
    def __init__(self, module: nn.Module, path: str, rule: Rule, tape: Tape):
        super().__init__()
        self.affine = Affine(module)
        self.path, self.rule, self.tape = path, rule, tape
        self.op = "Conv" if self.affine.conv else "Gemm"

    def forward(self, x):  # noqa: D102
        if self.affine.conv:
            return LinearFn.apply(x, self)
        return dense_relevance_forward(x, self.affine, self.path, self.rule, self.tape)


class LrpPass(nn.Module):
    def __init__(self, module: nn.Module):
        super().__init__()
        self.inner = module

    def forward(self, x):  # noqa: D102
        return PassFn.apply(x, self.inner)


class LrpMaxPool(nn.Module):
    def __init__(self, pool: nn.MaxPool2d, path: str, mode: str, tape: Tape):
        super().__init__()
        self.pool, self.path, self.mode, self.tape = pool, path, mode, tape

    def forward(self, x):  # noqa: D102
        return MaxPoolFn.apply(x, self)


class LrpAvgPool(nn.Module):
    def __init__(self, size: Tuple[int, int], path: str, tape: Tape, op: str):
        super().__init__()
        self.size, self.path, self.tape, self.op = size, path, tape, op

    def forward(self, x):  # noqa: D102
        return AvgPoolFn.apply(x, self)


class LrpAdd(nn.Module):
    def __init__(self, path: str, tape: Tape):
        super().__init__()
        self.path, self.tape = path, tape

    def forward(self, a, b):  # noqa: D102
        return AddFn.apply(a, b, self)


# Gates, normalisation, means, LayerNorm and attention (docs/lrp-rules.md, "Gates", "LN-rule",
# "AH-rule", "Other layers"). Each wrapper module also has a `detached` form: the plain
# computation with the gate (softmax output, LayerNorm scale 1/sigma) detached, whose
# gradient x input LRP-0 must equal (check_lrp0_detached in make_lrp_modern_fixtures.py).


def unbroadcast(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """t summed over the axes along which a tensor of `shape` was broadcast to t's shape."""
    lead = t.dim() - len(shape)
    if lead:
        t = t.sum(dim=tuple(range(lead)))
    axes = tuple(a for a, d in enumerate(shape) if d == 1 and t.shape[a] != 1)
    return t.sum(dim=axes, keepdim=True) if axes else t


@dataclass
class BiasOwner:
    path: str
    tape: Tape
    op: str = "Add"


class BiasAddFn(torch.autograd.Function):
    """x + c with c a constant (a bias, a position embedding): R_x = x sdiv(R, x + c); the
    constant absorbs c sdiv(R, x + c), counted as lost."""

    @staticmethod
    def forward(ctx, x, c, owner):  # noqa: D102
        ctx.owner = owner
        ctx.save_for_backward(x, c)
        return x + c

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        x, c = ctx.saved_tensors
        o = ctx.owner
        y = x + c
        q = sdiv(r, y)
        out = unbroadcast(x * q, x.shape)
        o.tape.log(o.path, o.op, "bias", r, out, lost=torch.where(y == 0, r, c * q), denominator=y)
        return out, None, None


class GateMulFn(torch.autograd.Function):
    """Signal s times gate g: R_s = R (summed over s's broadcast axes), the gate gets nothing."""

    @staticmethod
    def forward(ctx, s, g, owner):  # noqa: D102
        ctx.owner = owner
        ctx.shape = s.shape
        return s * g

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        o = ctx.owner
        out = unbroadcast(r, ctx.shape)
        o.tape.log(o.path, "Mul", "gate", r, out, lost=torch.zeros_like(r))
        return out, None, None


class ScaleFn(torch.autograd.Function):
    """Multiplication by a constant: relevance passes unchanged."""

    @staticmethod
    def forward(ctx, x, c):  # noqa: D102
        ctx.shape = x.shape
        return x * c

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        return unbroadcast(r, ctx.shape), None


class MeanFn(torch.autograd.Function):
    """ReduceMean over `dims`, proportional: R_x = x sdiv(R, y) / n."""

    @staticmethod
    def forward(ctx, x, owner):  # noqa: D102
        ctx.owner = owner
        ctx.save_for_backward(x)
        return x.mean(dim=owner.dims, keepdim=owner.keepdim)

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        (x,) = ctx.saved_tensors
        o = ctx.owner
        y = x.mean(dim=o.dims, keepdim=True)
        rk = r.reshape(y.shape)
        n = x.numel() // y.numel()
        out = x * sdiv(rk, y) / n
        o.tape.log(o.path, "ReduceMean", "proportional", rk, out,
                   lost=torch.where(y == 0, rk, torch.zeros_like(rk)), denominator=y)
        return out, None


class LayerNormFn(torch.autograd.Function):
    """The LN-rule: g = gamma sdiv(R, y) / sigma, R_x = x (g - mean g); beta absorbs
    sum beta sdiv(R, y), counted as lost with the relevance at outputs y = 0."""

    @staticmethod
    def forward(ctx, x, owner):  # noqa: D102
        ctx.owner = owner
        ctx.save_for_backward(x)
        return F.layer_norm(x, owner.shape, owner.weight, owner.bias, owner.eps)

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        (x,) = ctx.saved_tensors
        o = ctx.owner
        axes = tuple(range(x.dim() - len(o.shape), x.dim()))
        y = F.layer_norm(x, o.shape, o.weight, o.bias, o.eps)
        m = x.mean(dim=axes, keepdim=True)
        sigma = torch.sqrt(((x - m) ** 2).mean(dim=axes, keepdim=True) + o.eps)
        q = sdiv(r, y)
        g = o.weight * q / sigma
        out = x * (g - g.mean(dim=axes, keepdim=True))
        absorbed = o.bias * q if o.bias is not None else torch.zeros_like(r)
        o.tape.log(o.path, "LayerNormalization", "ln", r, out,
                   lost=torch.where(y == 0, r, absorbed), denominator=y)
        return out, None


class AttnFn(torch.autograd.Function):
    """The AH-rule for Y = A V, A the attention weights: R_V = V (A^T sdiv(R, Y)), R_A = 0."""

    @staticmethod
    def forward(ctx, a, v, owner):  # noqa: D102
        ctx.owner = owner
        ctx.save_for_backward(a, v)
        return MATMUL(a, v)

    @staticmethod
    def backward(ctx, r):  # noqa: D102
        a, v = ctx.saved_tensors
        o = ctx.owner
        y = MATMUL(a, v)
        out = v * MATMUL(a.transpose(-1, -2), sdiv(r, y))
        o.tape.log(o.path, "MatMul", "attention", r, out,
                   lost=torch.where(y == 0, r, torch.zeros_like(r)), denominator=y)
        return None, out, None


class LrpGate(nn.Module):
    """An activation written as a gated product x * gate(x) (SiLU, HardSwish, GELU)."""

    def __init__(self, gate, path: str, tape: Tape, detached: bool):
        super().__init__()
        self.gate, self.path, self.tape, self.detached = gate, path, tape, detached

    def forward(self, x):  # noqa: D102
        g = self.gate(x)
        return gated(x, g, self)


def gated(s: torch.Tensor, g: torch.Tensor, owner) -> torch.Tensor:
    """s * g by the gate rule, or plainly with g detached."""
    if owner.detached:
        return s * g.detach()
    return GateMulFn.apply(s, g, owner)


class LrpMean(nn.Module):
    def __init__(self, dims: Tuple[int, ...], keepdim: bool, path: str, tape: Tape,
                 detached: bool):
        super().__init__()
        self.dims, self.keepdim, self.path, self.tape = dims, keepdim, path, tape
        self.detached = detached

    def forward(self, x):  # noqa: D102
        if self.detached:
            return x.mean(dim=self.dims, keepdim=self.keepdim)
        return MeanFn.apply(x, self)


class LrpLayerNorm(nn.Module):
    """nn.LayerNorm by the LN-rule; `channels_first` for ConvNeXt's LayerNorm2d (permuted to
    channels-last around the norm, as torchvision does)."""

    def __init__(self, norm: nn.LayerNorm, path: str, tape: Tape, detached: bool,
                 channels_first: bool = False):
        super().__init__()
        self.shape, self.eps = tuple(norm.normalized_shape), norm.eps
        self.weight = norm.weight.detach()
        self.bias = None if norm.bias is None else norm.bias.detach()
        self.path, self.tape, self.detached = path, tape, detached
        self.channels_first = channels_first

    def norm(self, x):  # noqa: D102
        if not self.detached:
            return LayerNormFn.apply(x, self)
        axes = tuple(range(x.dim() - len(self.shape), x.dim()))
        m = x.mean(dim=axes, keepdim=True)
        sigma = torch.sqrt(((x - m) ** 2).mean(dim=axes, keepdim=True) + self.eps)
        y = (x - m) / sigma.detach() * self.weight
        return y if self.bias is None else y + self.bias

    def forward(self, x):  # noqa: D102
        if self.channels_first:
            return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.norm(x)


class PlainAdd(nn.Module):
    def forward(self, a, b):  # noqa: D102
        return a + b


# The residual blocks' and MobileNetV2's forward, with the join as a proportional add (the
# computation is torchvision's, only the "+" is routed through LrpAdd).


def basic_block_forward(self: BasicBlock, x: torch.Tensor) -> torch.Tensor:
    out = self.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    identity = x if self.downsample is None else self.downsample(x)
    return self.relu(self.lrp_add(out, identity))


def inverted_residual_forward(self: mobilenetv2.InvertedResidual, x: torch.Tensor) -> torch.Tensor:
    if self.use_res_connect:
        return self.lrp_add(x, self.conv(x))
    return self.conv(x)


def mobilenet_v2_forward(self: mobilenetv2.MobileNetV2, x: torch.Tensor) -> torch.Tensor:
    x = self.features(x)
    x = self.lrp_pool(x)
    return self.classifier(torch.flatten(x, 1))


# ---------------------------------------------------------------------------
# Canonizing (BatchNorm folding) and building the relevance model
# ---------------------------------------------------------------------------


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> List[str]:
    """Fold every BatchNorm2d into the Conv2d registered just before it in the same parent
    (w' = w g / sqrt(var + e), b' = (b - mean) g / sqrt(var + e) + beta); the BatchNorm becomes
    nn.Identity. Returns the folded convolutions' paths."""
    folded = []
    for parent_path, parent in list(model.named_modules()):
        children = list(parent.named_children())
        for (cname, conv), (bname, bn) in zip(children, children[1:]):
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                              conv.padding, conv.dilation, conv.groups, bias=True)
            fused = fused.to(conv.weight.dtype)
            fused.weight.copy_(conv.weight * scale[:, None, None, None])
            fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
            setattr(parent, cname, fused)
            setattr(parent, bname, nn.Identity())
            folded.append(f"{parent_path}.{cname}" if parent_path else cname)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules()), "unfolded BatchNorm"
    return folded


def relevance_model(model: nn.Module, rules: RuleSet, tape: Tape) -> nn.Module:
    """A copy of `model` whose backward pass computes relevance by `rules`."""
    model = copy.deepcopy(model)
    if rules.fold_bn:
        fold_batchnorm(model)
    first = True
    for path, module in list(model.named_modules()):
        if isinstance(module, BasicBlock):
            module.lrp_add = LrpAdd(path, tape)
            module.forward = types.MethodType(basic_block_forward, module)
        elif isinstance(module, mobilenetv2.InvertedResidual) and module.use_res_connect:
            module.lrp_add = LrpAdd(path, tape)
            module.forward = types.MethodType(inverted_residual_forward, module)
        elif isinstance(module, mobilenetv2.MobileNetV2):
            module.lrp_pool = LrpAvgPool((1, 1), "", tape, "GlobalAveragePool")
            module.forward = types.MethodType(mobilenet_v2_forward, module)
        for name, child in list(module.named_children()):
            child_path = f"{path}.{name}" if path else name
            if isinstance(child, (nn.Conv2d, nn.Linear)):
                kind = rules.first if first else (rules.conv if isinstance(child, nn.Conv2d)
                                                  else rules.linear)
                first = False
                new: nn.Module = LrpLinear(child, child_path, kind, tape)
            elif isinstance(child, (nn.ReLU, nn.ReLU6, nn.Dropout, nn.BatchNorm2d)):
                new = LrpPass(child)
            elif isinstance(child, nn.MaxPool2d):
                new = LrpMaxPool(child, child_path, rules.max_pool, tape)
            elif isinstance(child, nn.AdaptiveAvgPool2d):
                size = nn.modules.utils._pair(child.output_size)
                op = "GlobalAveragePool" if size == (1, 1) else "AveragePool"
                new = LrpAvgPool(size, child_path, tape, op)
            elif isinstance(child, (nn.Sequential, BasicBlock, mobilenetv2.InvertedResidual,
                                    nn.Identity, LrpAdd, LrpAvgPool)):
                continue
            else:
                raise TypeError(f"no LRP rule for {type(child).__name__} at {child_path}")
            setattr(module, name, new)
    return model


# ---------------------------------------------------------------------------
# Running a rule set
# ---------------------------------------------------------------------------


def start_relevance(rules: RuleSet, classes: Sequence[int], dtype) -> torch.Tensor:
    rows = torch.arange(len(classes))
    if rules.start == "one-hot":
        r = torch.zeros(len(classes), NUM_CLASSES, dtype=dtype)
    else:
        r = torch.full((len(classes), NUM_CLASSES), -1.0 / NUM_CLASSES, dtype=dtype)
    r[rows, torch.tensor(list(classes))] = 1.0
    return r


def run_rules(model: nn.Module, modules: Dict[str, str], rules: RuleSet, x: torch.Tensor,
              classes: Sequence[int], box) -> dict:
    """Relevance at the input and at the stage values, the stage activations and the layer logs,
    at the dtype of `model` and `x`."""
    tape = Tape(box=box, batch=x.shape[0])
    lrp = relevance_model(model, rules, tape)
    probe = cf.Probe(lrp, modules)
    xg = x.clone().requires_grad_(True)
    logits, *acts = probe(xg)
    start = start_relevance(rules, classes, x.dtype)
    grads = torch.autograd.grad(logits, [xg, *acts], grad_outputs=start)
    return {
        "logits": logits.detach(),
        "start": start,
        "relevance": dict(zip(("input", *VALUES), (g.detach() for g in grads))),
        "activations": dict(zip(VALUES, (a.detach() for a in acts))),
        "logs": list(reversed(tape.logs)),  # forward order
    }


# ---------------------------------------------------------------------------
# Self-checks (asserted before any fixture is written)
# ---------------------------------------------------------------------------


def dense_relevance(rule: Rule, x: List[float], w: List[List[float]], b: List[float],
                    r: List[float], connected: List[List[bool]],
                    box: Optional[Tuple[List[float], List[float]]] = None) -> List[float]:
    """The linear rules of docs/lrp-rules.md with scalar loops over z_j = sum_i x_i w_ij + b_j
    (w[i][j]; connected[i][j]: input i is in output j's window, for flat)."""
    n_in, n_out = len(x), len(b)
    pos = lambda v: max(v, 0.0)  # noqa: E731
    neg = lambda v: min(v, 0.0)  # noqa: E731
    sd = lambda a, z: a / z if z != 0 else 0.0  # noqa: E731
    st = lambda z, e: z + (e if z >= 0 else -e)  # noqa: E731
    out = [0.0] * n_in
    for j in range(n_out):
        col = [w[i][j] for i in range(n_in)]
        if rule.name == "epsilon":
            s = r[j] / st(sum(x[i] * col[i] for i in range(n_in)) + b[j], rule.eps)
            for i in range(n_in):
                out[i] += x[i] * col[i] * s
        elif rule.name == "gamma":
            wg = [v + rule.gamma * pos(v) for v in col]
            s = r[j] / st(sum(x[i] * wg[i] for i in range(n_in)) + b[j] + rule.gamma * pos(b[j]),
                          rule.eps)
            for i in range(n_in):
                out[i] += x[i] * wg[i] * s
        elif rule.name in ("zplus", "alphabeta"):
            p = sum(pos(x[i]) * pos(col[i]) + neg(x[i]) * neg(col[i]) for i in range(n_in))
            q = sum(pos(x[i]) * neg(col[i]) + neg(x[i]) * pos(col[i]) for i in range(n_in))
            a, bb = (1.0, 0.0) if rule.name == "zplus" else (rule.alpha, rule.beta)
            for i in range(n_in):
                out[i] += a * (pos(x[i]) * pos(col[i]) + neg(x[i]) * neg(col[i])) * sd(r[j], p)
                if bb:
                    out[i] -= bb * (pos(x[i]) * neg(col[i]) + neg(x[i]) * pos(col[i])) * sd(r[j], q)
        elif rule.name == "zbox":
            lo, hi = box
            terms = [x[i] * col[i] - lo[i] * pos(col[i]) - hi[i] * neg(col[i]) for i in range(n_in)]
            s = r[j] / st(sum(terms), rule.eps)
            for i in range(n_in):
                out[i] += terms[i] * s
        elif rule.name == "flat":
            z = sum(1.0 for i in range(n_in) if connected[i][j])
            for i in range(n_in):
                if connected[i][j]:
                    out[i] += sd(r[j], z)
        elif rule.name == "wsquare":
            z = sum(col[i] ** 2 for i in range(n_in))
            for i in range(n_in):
                out[i] += col[i] ** 2 * sd(r[j], z)
        else:
            raise ValueError(rule.name)
    return out


ALL_RULES = [Rule("epsilon"), Rule("zplus"), Rule("alphabeta"), Rule("gamma"), Rule("zbox"),
             Rule("flat"), Rule("wsquare"), Rule("epsilon", eps=0.0)]


def check_hand_example() -> None:
    """A 2-input, 2-output dense layer with small numbers, one rule at a time, against values
    worked out by hand (in the comments) and against the scalar-loop formulas.

    x = (1, -2), w (rows: inputs) = [[2, -1], [1, 3]], b = (1, 0), R = (1, 2), bounds low = -3,
    high = 3. Outputs: z_1 = 2 - 2 + 1 = 1, z_2 = -1 - 6 = -7.
    """
    x, w, b, r = [1.0, -2.0], [[2.0, -1.0], [1.0, 3.0]], [1.0, 0.0], [1.0, 2.0]
    lo, hi = [-3.0, -3.0], [3.0, 3.0]
    hand = {
        # epsilon (eps = 0): s = (1/1, 2/-7); R_1 = 1 (2 + (-1)(-2/7)) = 16/7;
        # R_2 = -2 (1 + 3 (-2/7)) = -2/7.
        "epsilon0": [16 / 7, -2 / 7],
        # zplus: P_1 = x1+ w11+ + x2- w21- = 2 + 0 = 2; P_2 = 0 + (-2)(0)... w12 = -1 < 0 with
        # x1 > 0 is negative, x2 < 0 with w22 = 3 > 0 negative: P_2 = 0 -> R_2 dropped.
        # R_1 = 1 * 2 * (1/2) = 1, R_2 = 0.
        "zplus": [1.0, 0.0],
        # alphabeta(2, 1): N_1 = x2- w21+ = -2; N_2 = x1+ w12- + x2- w22+ = -1 - 6 = -7.
        # R_1 = 2 * 2 * (1/2) - 1 * (-1) * (2 / -7) = 2 - 2/7 = 12/7
        # R_2 = -1 * (-2) * (1 / -2) - 1 * (-6) * (2 / -7) = -1 - 12/7 = -19/7.
        "alphabeta": [12 / 7, -19 / 7],
        # flat: z = (2, 2): R_1 = R_2 = 1/2 + 1 = 3/2.
        "flat": [1.5, 1.5],
        # wsquare: z_1 = 4 + 1 = 5, z_2 = 1 + 9 = 10: R_1 = 4/5 + 2/10 = 1, R_2 = 1/5 + 18/10 = 2.
        "wsquare": [1.0, 2.0],
        # zbox (eps = 1e-6, terms with low = -3 on w+, high = 3 on w-):
        # j=1: terms x1 w11 - lo w11+ = 2 + 6 = 8, x2 w21 - lo w21+ = -2 + 3 = 1, z = 9
        # j=2: x1 w12 - hi w12- = -1 + 3 = 2, x2 w22 - lo w22+ = -6 + 9 = 3, z = 5
        # R_1 = 8/9 + 2 * 2/5 = 8/9 + 4/5, R_2 = 1/9 + 2 * 3/5 (up to eps).
        "zbox": [8 / 9 + 4 / 5, 1 / 9 + 6 / 5],
        # gamma(0.25): w' = [[2.5, -1], [1.25, 3.75]], b' = (1.25, 0);
        # z'_1 = 2.5 - 2.5 + 1.25 = 1.25, z'_2 = -1 - 7.5 = -8.5;
        # R_1 = 1 (2.5 / 1.25 + (-1)(2 / -8.5)) = 2 + 4/17; R_2 = -2 (1.25 / 1.25 + 3.75 * 2 / -8.5)
        # = -2 (1 - 15/17) = -4/17.
        "gamma": [2 + 4 / 17, -4 / 17],
    }
    tol = {"zbox": 1e-5, "gamma": 1e-5, "epsilon0": 1e-12}
    connected = [[True, True], [True, True]]
    xt = torch.tensor([x], dtype=torch.float64)
    rt = torch.tensor([r], dtype=torch.float64)
    layer = nn.Linear(2, 2).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w, dtype=torch.float64).T)
        layer.bias.copy_(torch.tensor(b, dtype=torch.float64))
    box = (torch.tensor([-3.0]), torch.tensor([3.0]))
    for key, expected in hand.items():
        rule = Rule("epsilon", eps=0.0) if key == "epsilon0" else Rule(key)
        loops = dense_relevance(rule, x, w, b, r, connected, (lo, hi))
        assert np.allclose(loops, expected, rtol=0, atol=tol.get(key, 1e-12)), (key, loops)
        # The tensor implementation; zbox bounds are per channel, so use a 1-channel "image".
        if rule.name == "zbox":
            conv = nn.Conv2d(1, 2, (1, 2), bias=False).double()
            with torch.no_grad():
                conv.weight.copy_(torch.tensor(w, dtype=torch.float64).T.reshape(2, 1, 1, 2))
            got, _, _ = linear_relevance(Affine(conv), rule, xt.reshape(1, 1, 1, 2),
                                         rt.reshape(1, 2, 1, 1), box)
        else:
            got, _, _ = linear_relevance(Affine(layer), rule, xt, rt, None)
        assert np.allclose(got.flatten().tolist(), loops, rtol=1e-12, atol=1e-12), (key, got, loops)
    # sgn(0) = +1: x = (1, 1) through weights (1, -1) without bias gives z = 0, stab(z) = +eps,
    # so R = 2 goes out as (2 / eps, -2 / eps).
    zero = nn.Linear(2, 1, bias=False).double()
    with torch.no_grad():
        zero.weight.copy_(torch.tensor([[1.0, -1.0]], dtype=torch.float64))
    got, _, _ = linear_relevance(Affine(zero), Rule("epsilon"), torch.ones(1, 2).double(),
                                 torch.full((1, 1), 2.0).double(), None)
    assert torch.allclose(got, torch.tensor([[2e6, -2e6]], dtype=torch.float64)), got


def conv_as_dense(conv: nn.Conv2d, shape: Tuple[int, int, int]):
    """The conv's matrix w[i][j] (flattened input i, flattened output j) and its connectivity,
    from the conv applied to basis images (zero padding, so padding connects nothing)."""
    c, h, w = shape
    eye = torch.eye(c * h * w, dtype=torch.float64).reshape(-1, c, h, w)
    with torch.no_grad():
        matrix = F.conv2d(eye, conv.weight, None, conv.stride, conv.padding, conv.dilation,
                          conv.groups).reshape(c * h * w, -1)
        link = F.conv2d(eye, torch.ones_like(conv.weight), None, conv.stride, conv.padding,
                        conv.dilation, conv.groups).reshape(c * h * w, -1)
    return matrix, link > 0


def check_conv_against_dense() -> None:
    """Every rule on a strided, padded, grouped convolution with bias (signed inputs) equals the
    scalar-loop formulas applied to the convolution written as a dense matrix."""
    gen = torch.Generator().manual_seed(11)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=True).double()
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen, dtype=torch.float64))
        conv.bias.copy_(torch.randn(6, generator=gen, dtype=torch.float64))
    shape = (4, 5, 6)
    x = torch.randn(1, *shape, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        out_shape = conv(x).shape
    r = torch.randn(out_shape, generator=gen, dtype=torch.float64)
    low = torch.tensor([-2.0, -1.5, -1.0, -2.5], dtype=torch.float64)
    high = torch.tensor([2.0, 2.5, 1.0, 3.0], dtype=torch.float64)
    matrix, link = conv_as_dense(conv, shape)
    xs = x.flatten().tolist()
    per_input = lambda v: v[:, None, None].expand(shape).flatten().tolist()  # noqa: E731
    bias = conv.bias.detach()[:, None, None].expand(out_shape[1:]).flatten().tolist()
    for rule in ALL_RULES:
        got, _, _ = linear_relevance(Affine(conv), rule, x, r, (low, high))
        want = dense_relevance(rule, xs, matrix.tolist(), bias, r.flatten().tolist(),
                               link.tolist(), (per_input(low), per_input(high)))
        assert np.allclose(got.flatten().numpy(), want, rtol=1e-9, atol=1e-9), rule


def check_pools_against_loops() -> None:
    """Max pooling (wta with a tie, proportional with padding) and adaptive average pooling,
    against direct loops over the windows."""
    gen = torch.Generator().manual_seed(12)
    x = torch.randn(1, 2, 5, 6, generator=gen, dtype=torch.float64).abs()
    x[0, 0, 0, 0] = x[0, 0, 0, 1] = 5.0  # a tie: the first maximum wins
    pool = nn.MaxPool2d(3, stride=2, padding=1)
    h, w = x.shape[2:]
    for mode in ("wta", "proportional"):
        tape = Tape()
        xg = x.clone().requires_grad_(True)
        y = LrpMaxPool(pool, "pool", mode, tape)(xg)
        r = torch.randn(y.shape, generator=gen, dtype=torch.float64)
        (got,) = torch.autograd.grad(y, xg, r)
        want = torch.zeros_like(x)
        for c in range(2):
            for oi in range(y.shape[2]):
                for oj in range(y.shape[3]):
                    cells = [(i, j) for i in range(oi * 2 - 1, oi * 2 + 2)
                             for j in range(oj * 2 - 1, oj * 2 + 2) if 0 <= i < h and 0 <= j < w]
                    if mode == "wta":
                        best = cells[0]
                        for cell in cells:  # row-major scan, strictly greater: first maximum
                            if x[0, c][cell] > x[0, c][best]:
                                best = cell
                        want[0, c][best] += r[0, c, oi, oj]
                    else:
                        total = sum(float(x[0, c][cell]) for cell in cells)
                        for cell in cells:
                            want[0, c][cell] += x[0, c][cell] * r[0, c, oi, oj] / total
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12), mode
    assert adaptive_windows(5, 2) == [(0, 3), (2, 5)]
    for size in ((1, 1), (2, 3)):
        tape = Tape()
        xg = x.clone().requires_grad_(True)
        y = LrpAvgPool(size, "avg", tape, "AveragePool")(xg)
        r = torch.randn(y.shape, generator=gen, dtype=torch.float64)
        (got,) = torch.autograd.grad(y, xg, r)
        want = torch.zeros_like(x)
        for a, (r0, r1) in enumerate(adaptive_windows(h, size[0])):
            for b_, (c0, c1) in enumerate(adaptive_windows(w, size[1])):
                for c in range(2):
                    win = x[0, c, r0:r1, c0:c1]
                    mean = float(win.mean())
                    want[0, c, r0:r1, c0:c1] += win * (r[0, c, a, b_] / (win.numel() * mean))
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12), size


def check_new_rules_by_hand() -> None:
    """The gate rule, a mean, a bias, the LN-rule and the AH-rule on small examples worked out
    by hand (in the comments), and their conservation bookkeeping (input + lost = output)."""
    tape = Tape(batch=1)
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731

    def relevance(fn, inputs, r):
        xs = [v.clone().requires_grad_(True) for v in inputs]
        y = fn(*xs)
        return torch.autograd.grad(y, xs, t(r), allow_unused=True)

    owner = types.SimpleNamespace(path="gate", tape=tape, detached=False)
    # x * sigmoid(x): R passes to x; the sigmoid branch gets nothing.
    (got,) = relevance(lambda x: gated(x, torch.sigmoid(x), owner), [t([[2.0, -1.0, 3.0]])],
                       [[1.0, 2.0, -1.0]])
    assert torch.equal(got, t([[1.0, 2.0, -1.0]])), got
    # Squeeze-excitation: a [1, 2, 1] gate broadcast over [1, 2, 2]: R_x = R.
    (got,) = relevance(lambda x: gated(x, torch.sigmoid(x.mean(dim=2, keepdim=True)), owner),
                       [t([[[1.0, 2.0], [3.0, 4.0]]])], [[[1.0, -2.0], [0.5, 4.0]]])
    assert torch.equal(got, t([[[1.0, -2.0], [0.5, 4.0]]])), got
    # ReduceMean over a 2x2 map of mean 3 with R = 6: R_x = x 6 / 3 / 4 = x / 2.
    mean = LrpMean((2, 3), False, "mean", tape, False)
    (got,) = relevance(mean, [t([[[[1.0, 3.0], [2.0, 6.0]]]])], [[6.0]])
    assert torch.allclose(got, t([[[[0.5, 1.5], [1.0, 3.0]]]]), rtol=0, atol=1e-15), got
    # x + c, x = (1, -2), c = (1, 1): y = (2, -1), R = (4, 3): R_x = (1 * 4/2, -2 * 3/-1) = (2, 6);
    # the bias absorbs (1 * 4/2, 1 * 3/-1) = (2, -3).
    (got, _) = relevance(lambda x, c: BiasAddFn.apply(x, c, BiasOwner("bias", tape)),
                         [t([[1.0, -2.0]]), t([1.0, 1.0])], [[4.0, 3.0]])
    assert torch.allclose(got, t([[2.0, 6.0]]), rtol=0, atol=1e-15), got
    assert float(tape.logs[-1].lost[0]) == -1.0, tape.logs[-1]
    # LN-rule, x = (1, 2, 4, 7), gamma = 1, beta = 0, R = (1, 0, 0, 0): centred x = (-2.5, -1.5,
    # 0.5, 3.5), g = R / centred = (-0.4, 0, 0, 0), mean -0.1, R_x = x (g + 0.1)
    # = (-0.3, 0.2, 0.4, 0.7), whatever sigma is.
    ln = nn.LayerNorm(4).double()
    norm = LrpLayerNorm(ln, "ln", tape, False)
    (got,) = relevance(norm, [t([[1.0, 2.0, 4.0, 7.0]])], [[1.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(got, t([[-0.3, 0.2, 0.4, 0.7]]), rtol=0, atol=1e-12), got
    # AH-rule: A = [[1/4, 3/4], [1/2, 1/2]], V = (2, 4)^T: Y = (3.5, 3); R = (7, 3): s = (2, 1);
    # R_V = V * A^T s = (2 (1/2 + 1/2), 4 (3/2 + 1/2)) = (2, 8); A gets nothing.
    a = t([[[0.25, 0.75], [0.5, 0.5]]])
    attn_owner = types.SimpleNamespace(path="attention", tape=tape)
    got_a, got_v = relevance(lambda a_, v_: AttnFn.apply(a_, v_, attn_owner),
                             [a, t([[[2.0], [4.0]]])], [[[7.0], [3.0]]])
    assert got_a is None and torch.allclose(got_v, t([[[2.0], [8.0]]]), rtol=0, atol=1e-12)
    # Bookkeeping on random data: every log balances (the LN with a shift, biases absorbing).
    gen = torch.Generator().manual_seed(13)
    rand = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64)  # noqa: E731
    with torch.no_grad():
        ln.weight.copy_(rand(4))
        ln.bias.copy_(rand(4))
    tape.logs.clear()
    relevance(LrpLayerNorm(ln, "ln", tape, False), [rand(1, 3, 4)], rand(1, 3, 4).tolist())
    soft = torch.softmax(rand(1, 2, 5, 5), dim=-1)
    relevance(lambda v_: AttnFn.apply(soft, v_, attn_owner), [rand(1, 2, 5, 3)],
              rand(1, 2, 5, 3).tolist())
    relevance(lambda x: BiasAddFn.apply(x, t([0.5, -1.0, 2.0]), BiasOwner("bias", tape)),
              [rand(1, 4, 3)], rand(1, 4, 3).tolist())
    for log in tape.logs:
        err = float((log.input_sum + log.lost - log.output_sum).abs().max())
        assert err < 1e-12, (log.op, err)


def bias_free(model: nn.Module) -> nn.Module:
    """The model with BatchNorm folded and every bias zeroed: a positively homogeneous net."""
    model = copy.deepcopy(model)
    fold_batchnorm(model)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.zero_()
    return model


def check_lrp0_is_gradient_times_input(spec: "LrpSpec", model64: nn.Module, x: torch.Tensor,
                                       classes: Sequence[int]) -> float:
    """On the bias-free model, epsilon with eps = 0 everywhere equals gradient x input at the
    input and at every stage value. MobileNetV2's ReLU6 must not clip for this (its relevance
    passes through while its gradient is zero), so the input is scaled down until no ReLU6 input
    exceeds 6 (the net is homogeneous, so that changes nothing else)."""
    net = bias_free(model64)
    scale = 1.0
    while spec.architecture == "MobileNetV2":
        peak = []
        hooks = [m.register_forward_hook(lambda _m, i, _o: peak.append(float(i[0].max())))
                 for m in net.modules() if isinstance(m, nn.ReLU6)]
        with torch.no_grad():
            net(x * scale)
        for hook in hooks:
            hook.remove()
        if max(peak) < 5.0:
            break
        scale /= 2
    xs = x * scale
    ref = run_rules(net, spec.modules, uniform(Rule("epsilon", eps=0.0)), xs, classes, None)
    probe = cf.Probe(net, spec.modules)
    xg = xs.clone().requires_grad_(True)
    logits, *acts = probe(xg)
    # LRP-0 started from R (one-hot) is gradient x input of sum_c (R_c / logit_c) logit_c.
    grads = torch.autograd.grad(logits, [xg, *acts], grad_outputs=sdiv(ref["start"], logits))
    worst = 0.0
    for name, value, grad in zip(("input", *VALUES), (xg, *acts), grads):
        expected = value.detach() * grad
        got = ref["relevance"][name]
        err = cf.relative_error(got, expected)
        assert err < 1e-10, f"{spec.name}: LRP-0 != gradient x input at {name} ({err:.3g})"
        worst = max(worst, err)
    return worst


def check_conservation(name: str, rules: RuleSet, ref: dict) -> Tuple[float, float]:
    """Layer by layer: relevance in = relevance out - relevance dropped at zero denominators or
    absorbed by biases (conservative rules, proportional pools, means and adds, wta, gates,
    the LN-rule with its shift, the AH-rule). Returns the worst relative layer
    error and the total relative loss from start to input."""
    worst = 0.0
    for log in ref["logs"]:
        if log.op in ("Conv", "Gemm", "MatMul") and log.rule not in CONSERVATIVE:
            continue
        scale = float(torch.maximum(log.output_sum.abs(), log.input_sum.abs()).max()) or 1.0
        err = float((log.input_sum + log.lost - log.output_sum).abs().max()) / scale
        assert err < 1e-9, f"{name}/{rules.name}: {log.module} does not conserve ({err:.3g})"
        worst = max(worst, err)
    start = row_sum(ref["start"])
    total = float(((row_sum(ref["relevance"]["input"]) - start).abs() / start.abs()).max())
    return worst, total


# ---------------------------------------------------------------------------
# Models and export
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LrpSpec:
    name: str
    base: str  # make_gradient_fixtures spec: builder, seed, BatchNorm statistics, opset, BN mode
    height: int
    width: int
    modules: Dict[str, str]  # stage value -> module path
    classes_rank: Tuple[int, int, int]
    description: str
    input_seed: int = 0  # offset of the input seed (see choose_inputs)
    # BatchNorm channels whose scale (gamma) is negated after the build: with positive scales
    # zplus gives the same relevance whether BatchNorm is folded or passed through (a positive
    # per-channel factor cancels in R_j / P_j), so a negative scale is what tells them apart.
    negate_bn_every: int = 0

    @property
    def gradient_spec(self) -> gf.Spec:
        return next(s for s in gf.SPECS if s.name == self.base)

    @property
    def architecture(self) -> str:
        return self.gradient_spec.architecture


RESNET_STAGES = {"stage1": "layer1", "stage2": "layer2", "last": "layer4"}
SPECS: List[LrpSpec] = [
    LrpSpec(
        "vgg16_bn", "vgg16_bn", 64, 66,
        {"stage1": "features.13", "stage2": "features.23", "last": "features.43"}, (0, 1, 3),
        "VGG-16-BN at widths /16, BatchNorm folded; MaxPool 2x2 (at width 66 the second pool "
        "drops a column), AveragePool 1x1 (adaptive 2x2 on a 2x2 map), Flatten, three Gemm with "
        "ReLU",
        input_seed=5,
    ),
    LrpSpec(
        "resnet_basic", "resnet_basic", 33, 35, RESNET_STAGES, (0, 1, 3),
        "ResNet-18 topology (BasicBlock) at widths /16, every third BatchNorm channel's scale "
        "and shift negated, BatchNorm folded; residual Add",
        input_seed=7, negate_bn_every=3,
    ),
    LrpSpec(
        "resnet_basic_bn", "resnet_basic_bn", 33, 35, RESNET_STAGES, (0, 1, 3),
        "resnet_basic with explicit BatchNormalization nodes (same weights and inputs)",
        input_seed=7, negate_bn_every=3,
    ),
    LrpSpec(
        "mobilenet_v2", "mobilenet_v2", 33, 35,
        {"stage1": "features.3", "stage2": "features.6", "last": "features.18"}, (0, 1, 3),
        "MobileNetV2 width 0.1, BatchNorm folded; depthwise Conv, ReLU6 as Clip, residual Add",
        input_seed=2,
    ),
]


@torch.no_grad()
def build(spec: LrpSpec) -> nn.Module:
    """The gradient fixture's model (builder, seed, BatchNorm statistics at its own input size),
    with every negate_bn_every-th BatchNorm channel's scale and shift negated."""
    model = gf.build_model(spec.gradient_spec)
    if spec.negate_bn_every:
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight[::spec.negate_bn_every].neg_()
                m.bias[::spec.negate_bn_every].neg_()
    return model


def scope_names(model: nn.Module) -> Dict[str, str]:
    """Module path -> the scope prefix of its nodes in the export (torch 1.13 names a node
    /model/<scope>/.../<Op>, where a Sequential's child is scoped "<sequential>.<index>" and any
    other child by its attribute name; "model" is the Probe's attribute)."""
    scopes = {"": "/model"}
    local = {"": "model"}
    for path, module in model.named_modules():
        for name, child in module.named_children():
            child_path = f"{path}.{name}" if path else name
            local[child_path] = f"{local[path]}.{name}" if path and isinstance(
                module, nn.Sequential) else name
            scopes[child_path] = f"{scopes[path]}/{local[child_path]}"
    return scopes


def onnx_node_name(scopes: Dict[str, str], path: str, op: str) -> str:
    return f"{scopes[path]}/{op}"


def export_onnx(spec: LrpSpec, model: nn.Module) -> onnx.ModelProto:
    gspec = spec.gradient_spec
    probe = cf.Probe(copy.deepcopy(model), spec.modules)
    example = torch.randn(1, 3, spec.height, spec.width)
    buffer = io.BytesIO()
    kept = gspec.bn == gf.BN_KEPT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            probe, example, buffer, opset_version=gspec.opset,
            training=torch.onnx.TrainingMode.PRESERVE if kept else torch.onnx.TrainingMode.EVAL,
            do_constant_folding=True, input_names=["input"], output_names=["logits", *VALUES],
            dynamic_axes={n: {0: "batch"} for n in ("input", "logits", *VALUES)},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    graph = proto.graph
    outputs = [o for o in graph.output if o.name not in VALUES]
    assert [o.name for o in outputs] == ["logits"]
    del graph.output[:]
    graph.output.extend(outputs)
    onnx.checker.check_model(proto)
    for value in VALUES:
        producers = [n for n in graph.node if value in n.output]
        consumers = [n for n in graph.node if value in n.input]
        assert len(producers) == 1 and consumers, f"{spec.name}: {value} is not an inner value"
    (consumer,) = [n for n in graph.node if "last" in n.input]
    assert consumer.op_type in ("GlobalAveragePool", "AveragePool"), consumer.op_type
    ops = gf.op_types(proto)
    assert ("BatchNormalization" in ops) == kept, f"{spec.name}: BatchNormalization {ops}"
    return proto


def check_folded_weights(spec: LrpSpec, model: nn.Module, proto: onnx.ModelProto) -> None:
    """The exporter's folded Conv weights and biases equal ours (float64 fold) to float32
    rounding: the reference folds BatchNorm the same way as the graph it is compared with."""
    folded = copy.deepcopy(model).double()
    paths = fold_batchnorm(folded)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    nodes = {n.name: n for n in proto.graph.node}
    assert paths
    for path in paths:
        node = nodes[onnx_node_name(scope_names(model), path, "Conv")]
        conv = folded.get_submodule(path)
        for value, ours in zip(node.input[1:], (conv.weight, conv.bias)):
            theirs = torch.from_numpy(inits[value].astype(np.float64))
            err = cf.relative_error(theirs, ours.detach())
            assert err < 1e-6, f"{spec.name}: folded {path} differs from the export ({err:.3g})"


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


def choose_inputs(spec: LrpSpec) -> torch.Tensor:
    """(u - mean) / std with u uniform in [0, 1): inside the zbox bounds, image-like scale."""
    gen = torch.Generator().manual_seed(gf.spec_seed(spec.gradient_spec) + 3 + spec.input_seed)
    u = torch.rand(BATCH, 3, spec.height, spec.width, generator=gen, dtype=torch.float64)
    mean = torch.tensor(MEAN, dtype=torch.float64)[None, :, None, None]
    std = torch.tensor(STD, dtype=torch.float64)[None, :, None, None]
    return ((u - mean) / std).float()


def choose_classes(spec: LrpSpec, logits: torch.Tensor) -> List[int]:
    """Row i explains its classes_rank[i]-th highest-scoring class."""
    ranks = zip(logits, spec.classes_rank)
    return [int(torch.argsort(row, descending=True)[k]) for row, k in ranks]


def box_bounds() -> Tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(MEAN, dtype=torch.float64)
    std = torch.tensor(STD, dtype=torch.float64)
    return (0 - mean) / std, (1 - mean) / std


def rule_sets(spec: LrpSpec) -> List[RuleSet]:
    if spec.gradient_spec.bn == gf.BN_KEPT:
        return [RELEVANCE_CAM, EPSILON_PLUS]
    sets = UNIFORM + COMPOSITES
    if spec.name == "vgg16_bn":
        sets = sets + [PROPORTIONAL_MAXPOOL]
    return sets


def relevance_cam(ref: dict, value: str, relu: bool, size: Tuple[int, int]):
    a = ref["activations"][value]
    w = ref["relevance"][value].mean(dim=(2, 3))
    raw = cf.weighted(a, w)
    post = torch.relu(raw) if relu else raw
    return raw, cf.minmax(cf.upsample(cf.minmax(post), size))


def references(spec: LrpSpec, model: nn.Module) -> dict:
    x = choose_inputs(spec)
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        logits = model64(x.double())
    classes = choose_classes(spec, logits)
    box = box_bounds()
    low, high = box
    assert bool(((x.double() >= low[None, :, None, None]) &
                 (x.double() <= high[None, :, None, None])).all())
    kinks = gf.kink_margins(model64, x.double())
    size = (spec.height, spec.width)
    cases, cams, checks = [], [], []
    for rules in rule_sets(spec):
        # On a graph exported with BatchNorm folded there is no BatchNorm left for a rule set to
        # keep: the PyTorch model must be folded like the graph whatever the rule set says.
        run = rules if spec.gradient_spec.bn == gf.BN_KEPT else replace(rules, fold_bn=True)
        r64 = run_rules(model64, spec.modules, run, x.double(), classes, box)
        r32 = run_rules(model, spec.modules, run, x, classes, box)
        assert torch.allclose(r64["logits"], logits, rtol=1e-12, atol=1e-12)
        conservative = rules.first.name == rules.conv.name == rules.linear.name \
            and rules.first.name in CONSERVATIVE
        worst, total = check_conservation(spec.name, rules, r64)
        checks.append((rules.name, worst, total, conservative))
        margins = torch.full((BATCH,), math.inf, dtype=torch.float64)
        for log in r64["logs"]:
            margins = torch.minimum(margins, log.margin.double())
        deviation, unstable, reasons = [], [], []
        for i in range(BATCH):
            dev = max(cf.relative_error(r32["relevance"][k][i], r64["relevance"][k][i])
                      for k in r64["relevance"])
            why = []
            if dev > UNSTABLE_DEVIATION:
                why.append(f"float32 PyTorch deviates by {dev:.3g}")
            if margins[i] < DENOMINATOR_MARGIN:
                why.append(f"an LRP denominator is {float(margins[i]):.3g} (relative) from 0")
            if kinks[i] < KINK_MARGIN:
                why.append(f"a ReLU/max-pool decision margin is {kinks[i]:.3g}")
            deviation.append(dev)
            unstable.append(bool(why))
            reasons.append("; ".join(why))
        cases.append({"rules": rules, "ref": r64, "deviation": deviation, "unstable": unstable,
                      "reasons": reasons, "margins": margins})
        if rules is RELEVANCE_CAM:
            for value in VALUES:
                for relu in (False, True):
                    raw64, map64 = relevance_cam(r64, value, relu, size)
                    raw32, map32 = relevance_cam(r32, value, relu, size)
                    dev, flags, why_rows = [], [], []
                    for i in range(BATCH):
                        d = max(cf.relative_error(raw32[i], raw64[i]),
                                float((map32[i].double() - map64[i]).abs().max()))
                        why = [reasons[i]] if unstable[i] else []
                        if d > UNSTABLE_DEVIATION:
                            why.append(f"float32 map deviates by {d:.3g}")
                        dev.append(d)
                        flags.append(bool(why))
                        why_rows.append("; ".join(why))
                    cams.append({"layer": value, "relu": relu, "raw": raw64, "map": map64,
                                 "deviation": dev, "unstable": flags, "reasons": why_rows})
    return {"x": x, "logits": logits, "classes": classes, "kinks": kinks, "cases": cases,
            "cams": cams, "checks": checks, "box": box}


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def dumps(value, depth: int = 0) -> str:
    """JSON with one item per line, except that lists of scalars stay on one line."""
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {dumps(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + dumps(v, depth + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value)


def encode_relevance(t: torch.Tensor) -> dict:
    """A tensor [N, ...] in RELEVANCE_ENCODING: quantised per row, since float32 relevance of 36
    cases x 4 values does not compress (base64 float32 made 6 MB of fixtures, this about 2.5)."""
    v = t.detach().double().cpu().numpy().reshape(t.shape[0], -1)
    scale = np.abs(v).max(axis=1)
    safe = np.where(scale > 0, scale, 1.0)
    q = np.round(v / safe[:, None] * 2**20).astype("<i4")
    return {
        "scale": [float(f"{s:.17g}") for s in scale],
        "q": base64.b64encode(zlib.compress(q.tobytes(), 9)).decode("ascii"),
    }


def to_base64(t: torch.Tensor) -> str:
    array = t.detach().cpu().numpy().astype("<f4")
    return base64.b64encode(array.tobytes()).decode("ascii")


def short(values: torch.Tensor, digits: int = 9) -> List[float]:
    return [float(f"{float(v):.{digits}g}") for v in values]


def margin_json(values) -> List[Optional[float]]:
    return [float(f"{float(m):.3g}") if math.isfinite(float(m)) else None for m in values]


def layer_json(log: LayerLog, scopes: Dict[str, str], node_names: set) -> dict:
    node = onnx_node_name(scopes, log.module, log.op)
    assert node in node_names, f"no ONNX node {node}"
    return {
        "module": log.module,
        "onnxNode": node,
        "op": log.op,
        "rule": log.rule,
        "outputSum": short(log.output_sum),
        "inputSum": short(log.input_sum),
        "lost": short(log.lost),
    }


def fixture_json(spec: LrpSpec, model: nn.Module, proto: onnx.ModelProto, ref: dict) -> dict:
    scopes = scope_names(model)
    node_names = {n.name for n in proto.graph.node}
    first = ref["cases"][0]["ref"]
    low, high = ref["box"]
    cases = []
    for case in ref["cases"]:
        rules: RuleSet = case["rules"]
        r64 = case["ref"]
        rule_json = {"firstLinear": rules.first.to_json(), "conv": rules.conv.to_json(),
                     "linear": rules.linear.to_json()}
        entry = {
            "name": rules.name,
            "composite": rules.composite,
            "rules": rule_json,
            "batchNorm": "folded" if rules.fold_bn else "unchanged",
            "maxPool": rules.max_pool,
            "start": rules.start,
            "relevance": {k: encode_relevance(v) for k, v in r64["relevance"].items()},
            "startSum": short(row_sum(r64["start"])),
            "inputSum": short(row_sum(r64["relevance"]["input"])),
            "layers": [layer_json(log, scopes, node_names) for log in r64["logs"]],
            "denominatorMargin": margin_json(case["margins"]),
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
            "raw": encode_relevance(cam["raw"]),
            "map": cf.encode_map(cam["map"]),
            "float32Deviation": [float(f"{d:.3g}") for d in cam["deviation"]],
            "unstable": cam["unstable"],
        }
        if any(cam["unstable"]):
            entry["unstableReasons"] = cam["reasons"]
        decoded = cf.decode_map(entry["map"], cam["map"].shape)
        assert np.abs(decoded - cam["map"].numpy()).max() <= 0.5 / 65535 + 1e-12
        cams.append(entry)
    gspec = spec.gradient_spec
    return {
        "name": spec.name,
        "description": spec.description,
        "architecture": spec.architecture,
        "opset": gspec.opset,
        "batchNorm": gspec.bn,
        "opTypes": gf.op_types(proto),
        "input": {"name": "input", "dims": list(ref["x"].shape)},
        "output": "logits",
        "numClasses": NUM_CLASSES,
        "values": {
            v: {"module": spec.modules[v], "dims": list(first["activations"][v].shape)}
            for v in VALUES
        },
        "classes": ref["classes"],
        "zbox": {"mean": list(MEAN), "std": list(STD), "low": short(low, 17),
                 "high": short(high, 17)},
        "kinkMargin": margin_json(ref["kinks"]),
        "relevanceEncoding": RELEVANCE_ENCODING,
        "mapEncoding": MAP_ENCODING,
        "inputData": to_base64(ref["x"]),
        "logits": to_base64(ref["logits"]),
        "cases": cases,
        "relevanceCam": cams,
    }


def self_checks() -> None:
    check_hand_example()
    check_conv_against_dense()
    check_pools_against_loops()
    check_new_rules_by_hand()
    print("self-checks: hand example, conv vs dense loops, pools vs loops, gate/mean/bias/LN/AH "
          "rules by hand: ok")


def make_fixture(spec: LrpSpec, out_dir: str) -> dict:
    model = build(spec)
    proto = export_onnx(spec, model)
    if spec.gradient_spec.bn == gf.BN_FOLDED:
        check_folded_weights(spec, model, proto)
    ref = references(spec, model)
    lrp0 = check_lrp0_is_gradient_times_input(
        spec, copy.deepcopy(model).double(), ref["x"].double(), ref["classes"])
    data = fixture_json(spec, model, proto, ref)
    with open(os.path.join(out_dir, f"{spec.name}.onnx"), "wb") as f:
        f.write(proto.SerializeToString())
    with open(os.path.join(out_dir, f"{spec.name}.json"), "w") as f:
        f.write(dumps(data) + "\n")
    data["_checks"] = (lrp0, ref["checks"])
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="fixture names to (re)generate")
    args = parser.parse_args()

    torch.set_num_threads(1)  # same float32 summation order on every machine/run
    self_checks()
    os.makedirs(args.out, exist_ok=True)
    for spec in SPECS:
        if args.only and spec.name not in args.only:
            continue
        data = make_fixture(spec, args.out)
        sizes = {ext: os.path.getsize(os.path.join(args.out, f"{spec.name}.{ext}")) / 1024
                 for ext in ("onnx", "json")}
        lrp0, checks = data.pop("_checks")
        dims = {v: data["values"][v]["dims"][1:] for v in VALUES}
        print(f"{spec.name:16s} onnx {sizes['onnx']:6.1f} KiB  json {sizes['json']:6.1f} KiB  "
              f"classes {data['classes']}  kink {data['kinkMargin']}  {dims}")
        print(f"  LRP-0 == gradient x input: worst relative error {lrp0:.2g}")
        for name, worst, total, conservative in checks:
            case = next(c for c in data["cases"] if c["name"] == name)
            print(f"  {name:36s} layer conservation err {worst:8.2g}  "
                  f"|sum R_input - sum R_start| / |sum R_start| {total:8.3g}"
                  f"{' (conservative)' if conservative else ''}  "
                  f"dev {case['float32Deviation']}  margin {case['denominatorMargin']}")
            if any(case["unstable"]):
                print(f"    unstable {case['unstableReasons']}")
        for cam in data["relevanceCam"]:
            if any(cam["unstable"]):
                print(f"  relevance-cam {cam['layer']} relu={cam['relu']} unstable "
                      f"{cam['unstableReasons']}")


if __name__ == "__main__":
    main()
