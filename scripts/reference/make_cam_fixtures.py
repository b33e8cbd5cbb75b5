#!/usr/bin/python3
"""Reference CAM maps, computed in float64 with PyTorch, for camscope's CAM methods.

Three small-width models, one per family (residual: ResNet BasicBlock, plain: VGG-16-BN,
depthwise: MobileNetV2), are built with the gradient-fixture builders (same specs, seeds, input
sizes and BatchNorm statistics, see make_gradient_fixtures.py; VGG's and MobileNetV2's classifier
weights are then scaled up, see build_cam_model) and exported with two named intermediate values:

- ``act``: an intermediate stage output;
- ``last``: the last spatial activation, the one feeding the head's global pooling / flatten
  (the layer a CAM explains by default).

Both names are removed from the graph outputs but stay as value names. For a batch of inputs,
explicit target classes and each of the two layers, every CAM method is computed from its
published definition (written out in the docstrings below; this is an independent
implementation, not a port of camscope's TypeScript) and stored, as the raw map at layer
resolution (before ReLU) and as the final map at input resolution (ReLU, per-map min-max,
bilinear upsampling).

Each <name>.json holds: the input batch (base64 float32), its float64 logits, the target class of
each row, per layer the module and dims, and one entry per case (method, options, score kind,
layer) with the raw map [N, h, w] (base64 float32) and the final map [N, H, W] (see
MAP_ENCODING: quantised to 1/65535 and compressed, to keep the files at a few hundred KB), plus
per row an `unstable` flag with its reasons and the float32 PyTorch deviation. `unsupported` lists the layers
where CAM must be refused (no GAP + single Linear head).

Run with Debian's Python (torch 1.13, torchvision 0.14, onnx 1.12):

    /usr/bin/python3 scripts/reference/make_cam_fixtures.py [--out DIR] [--only NAME ...]

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
import warnings
import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_gradient_fixtures as gf  # noqa: E402  (the builders and the kink-margin probe)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "cam", "fixtures")

BATCH = 3
# Method options (camscope's defaults are not assumed: the test passes these explicitly).
ISCAM_STEPS = 8
SSCAM_SAMPLES = 8
SSCAM_SIGMA = 0.5
CLUSTERS = 8
KMEANS_MAX_ITERATIONS = 100
SEED = 0

# A row is flagged unstable when the same pipeline run in float32 (PyTorch) deviates from the
# float64 one by more than this (raw map: relative to its largest magnitude; final map: absolute),
# i.e. within a factor 10 of the test's tolerance,
UNSTABLE_DEVIATION = 1e-5
# or when a discrete decision of the method or of the network is this close (relative) to
# flipping: a ReLU-like input after the layer near its kink or a max-pool near-tie (gradient
# methods; make_gradient_fixtures.MARGIN_THRESHOLD), a k-means assignment or seeding choice, or
# a cluster score difference near zero (Cluster-CAM). A float32 engine that sums in another order
# than PyTorch may legitimately take the other branch there ("nearBranch" in the fixture).
MARGIN_THRESHOLD = 1e-5
# Close singular values turn the first principal direction by about eps / gap.
EIGEN_GAP_THRESHOLD = 1e-3
# Grad-CAM++ rows whose weights amplify rounding more than this are flagged (not a branch).
GRADCAM_PP_AMPLIFICATION = 10.0


@dataclass(frozen=True)
class CamSpec:
    name: str
    base: str  # name of the make_gradient_fixtures spec whose builder, size and seed are reused
    act_module: str
    last_module: str
    head: Optional[str]  # dotted path of the final nn.Linear when the head is GAP + one Linear
    classes_rank: Tuple[int, int, int]  # row i's class: see choose_classes
    description: str
    # Factors applied to classifier Linear weights after the build (see build_cam_model).
    head_scale: Tuple[Tuple[str, float], ...] = ()


SPECS: List[CamSpec] = [
    CamSpec(
        "resnet_basic", "resnet_basic", act_module="layer2", last_module="layer4", head="fc",
        classes_rank=(0, 1, 4),
        description="ResNet-18 topology (BasicBlock) at widths /16; act = layer2, last = layer4 "
        "(feeds GlobalAveragePool -> Flatten -> Gemm, so CAM applies to last)",
    ),
    CamSpec(
        "vgg16_bn", "vgg16_bn", act_module="features.23", last_module="avgpool", head=None,
        classes_rank=(0, 2, 1),
        description="VGG-16-BN at widths /16, classifier weights x10; act = features.23 "
        "(MaxPool), last = avgpool (AveragePool 1x1 feeding Flatten and a 3-layer MLP, so CAM "
        "does not apply)",
        head_scale=(("classifier.0", 10.0), ("classifier.3", 10.0), ("classifier.6", 10.0)),
    ),
    CamSpec(
        "mobilenet_v2", "mobilenet_v2", act_module="features.6", last_module="features.18",
        head="classifier.1", classes_rank=(1, 0, 3),
        description="MobileNetV2 width 0.1, classifier weights x10; act = features.6 (residual "
        "Add), last = features.18 (Conv-BN-ReLU6 feeding GlobalAveragePool -> Flatten -> Gemm, "
        "so CAM applies to last)",
        head_scale=(("classifier.1", 10.0),),
    ),
]

LAYERS = ("act", "last")
EIGEN_METHODS = ("eigencam", "eigengradcam")
GRADIENT_METHODS = (
    "gradcam", "gradcam++", "xgradcam", "hirescam", "gradcam-elementwise", "layercam",
    "eigengradcam",
)
# Every method with its variants: (fixture method name, options, score kind).
CASES: List[Tuple[str, dict, str]] = [
    ("cam", {}, "logit"),
    ("gradcam", {}, "logit"),
    ("gradcam++", {}, "logit"),
    ("xgradcam", {}, "logit"),
    ("hirescam", {}, "logit"),
    ("gradcam-elementwise", {}, "logit"),
    ("layercam", {}, "logit"),
    ("eigencam", {}, "logit"),
    ("eigengradcam", {}, "logit"),
    ("scorecam", {}, "logit"),
    ("iscam", {"steps": ISCAM_STEPS}, "logit"),
    ("sscam", {"samples": SSCAM_SAMPLES, "sigma": SSCAM_SIGMA}, "logit"),
    ("ablationcam", {}, "logit"),
    ("clustercam", {"clusters": CLUSTERS, "merge": "subtract"}, "logit"),
    ("clustercam", {"clusters": CLUSTERS, "merge": "cut"}, "logit"),
]
# The softmax-probability score, for one gradient method on one layer.
PROBABILITY_CASES = [("gradcam", {}, "probability", "act")]


# ---------------------------------------------------------------------------
# camscope's random numbers (src/util/random.ts), ported exactly
# ---------------------------------------------------------------------------

MASK32 = 0xFFFFFFFF
TWO_POW_32 = 4294967296
GOLDEN_GAMMA = 0x9E3779B9


def imul(a: int, b: int) -> int:
    """Math.imul, as an unsigned 32-bit result (the callers only use it modulo 2^32)."""
    return (a * b) & MASK32


def mix32(value: int) -> int:
    z = value & MASK32
    z = imul(z ^ (z >> 16), 0x21F0AAAD)
    z = imul(z ^ (z >> 15), 0x735A2D97)
    return (z ^ (z >> 15)) & MASK32


def derive_seed(seed: int, *path: int) -> int:
    """deriveSeed for integer paths. Python's // floors like Math.floor, and & MASK32 on a
    negative int equals JavaScript's ToUint32."""
    h = mix32(seed ^ mix32(seed // TWO_POW_32))
    for part in path:
        word = mix32(part) ^ imul(mix32(part // TWO_POW_32), 0x85EBCA6B)
        h = mix32(mix32(h + GOLDEN_GAMMA) ^ word)
    return h


class Rng:
    """createRng: sfc32 with its state filled by splitmix32, 12 warm-up draws, Box-Muller
    normals whose second value is cached for the next call."""

    def __init__(self, seed: int):
        self._sm = seed & MASK32
        self.a = self._splitmix32()
        self.b = self._splitmix32()
        self.c = self._splitmix32()
        self.d = self._splitmix32()
        for _ in range(12):
            self.uint32()
        self._spare: Optional[float] = None

    def _splitmix32(self) -> int:
        self._sm = (self._sm + GOLDEN_GAMMA) & MASK32
        return mix32(self._sm)

    def uint32(self) -> int:
        t = (self.a + self.b + self.d) & MASK32
        self.d = (self.d + 1) & MASK32
        self.a = self.b ^ (self.b >> 9)
        self.b = (self.c + (self.c << 3)) & MASK32
        c = ((self.c << 21) | (self.c >> 11)) & MASK32
        self.c = (c + t) & MASK32
        return t

    def next(self) -> float:
        return self.uint32() / TWO_POW_32

    def normal(self) -> float:
        if self._spare is not None:
            value, self._spare = self._spare, None
            return value
        radius = math.sqrt(-2 * math.log(1 - self.next()))
        angle = 2 * math.pi * self.next()
        self._spare = radius * math.sin(angle)
        return radius * math.cos(angle)


def normals_per_stream(seeds: Sequence[int], count: int) -> np.ndarray:
    """The first `count` normal() values of createRng(seed) for many seeds at once: [S, count].

    The same arithmetic as Rng, vectorised over the streams (uint64 lanes masked to 32 bits);
    checked against Rng in self_check().
    """
    m = np.uint64(MASK32)
    sm = np.array(seeds, dtype=np.uint64) & m

    def splitmix() -> np.ndarray:
        nonlocal sm
        sm = (sm + np.uint64(GOLDEN_GAMMA)) & m
        z = sm.copy()
        z = ((z ^ (z >> np.uint64(16))) * np.uint64(0x21F0AAAD)) & m
        z = ((z ^ (z >> np.uint64(15))) * np.uint64(0x735A2D97)) & m
        return z ^ (z >> np.uint64(15))

    a, b, c, d = splitmix(), splitmix(), splitmix(), splitmix()

    def step() -> np.ndarray:
        nonlocal a, b, c, d
        t = (a + b + d) & m
        d = (d + np.uint64(1)) & m
        a = b ^ (b >> np.uint64(9))
        b = (c + (c << np.uint64(3))) & m
        c = ((c << np.uint64(21)) | (c >> np.uint64(11))) & m
        c = (c + t) & m
        return t

    for _ in range(12):
        step()
    pairs = (count + 1) // 2
    u = np.empty((len(seeds), 2 * pairs), dtype=np.float64)
    for j in range(2 * pairs):
        u[:, j] = step().astype(np.float64) / TWO_POW_32
    radius = np.sqrt(-2 * np.log(1 - u[:, 0::2]))
    angle = 2 * math.pi * u[:, 1::2]
    out = np.empty((len(seeds), 2 * pairs), dtype=np.float64)
    out[:, 0::2] = radius * np.cos(angle)
    out[:, 1::2] = radius * np.sin(angle)
    return out[:, :count]


# First outputs of src/util/random.ts, printed by node (see the README): the port must agree.
TS_RANDOM_CHECK = {
    "deriveSeed": [
        ([0, 1, 2, 3], 1130832619),
        ([12345, 0, 0, 0], 465235420),
        ([2**40 + 7, 3, 2**35 + 1, 5], 3941396002),
        ([-17, 2], 1703938525),
    ],
    "uint32": [742970174, 2181138968, 1727554830, 3673158924, 2798896731],
    "normal": [
        1.4915956681781943, -1.489325752582532, -0.6010333762719139, 1.1863570595578583,
        -0.3473080053921253, -1.4390651492784172, 0.753724575415959,
    ],
}


def self_check_random() -> None:
    for args, expected in TS_RANDOM_CHECK["deriveSeed"]:
        got = derive_seed(*args)
        assert got == expected, f"deriveSeed{tuple(args)} = {got}, TypeScript gives {expected}"
    rng = Rng(derive_seed(0, 1, 2, 3))
    assert [rng.uint32() for _ in range(5)] == TS_RANDOM_CHECK["uint32"]
    normals = [rng.normal() for _ in range(7)]
    assert np.allclose(normals, TS_RANDOM_CHECK["normal"], rtol=0, atol=1e-15), normals
    seeds = [derive_seed(SEED, i, k, j) for i in range(2) for k in range(3) for j in range(2)]
    for count in (7, 8):
        vec = normals_per_stream(seeds, count)
        for s, seed in enumerate(seeds):
            r = Rng(seed)
            assert np.allclose(vec[s], [r.normal() for _ in range(count)], rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------
# Model, export
# ---------------------------------------------------------------------------


class Probe(nn.Module):
    """The model with its logits and the outputs of named submodules; optionally replaces one
    submodule's output (the network then continues from the edited value)."""

    def __init__(self, model: nn.Module, modules: Dict[str, str]):
        super().__init__()
        self.model = model
        self.modules_by_layer = dict(modules)
        self.edit: Optional[Tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = None

    def forward(self, x: torch.Tensor):
        captured: Dict[str, List[torch.Tensor]] = {k: [] for k in self.modules_by_layer}
        handles = []
        for layer, path in self.modules_by_layer.items():
            def hook(_m, _i, out, layer=layer):
                if self.edit is not None and self.edit[0] == layer:
                    out = self.edit[1](out)
                captured[layer].append(out)
                return out

            handles.append(self.model.get_submodule(path).register_forward_hook(hook))
        try:
            logits = self.model(x)
        finally:
            for h in handles:
                h.remove()
        for layer, values in captured.items():
            assert len(values) == 1, f"{layer} ran {len(values)} times"
        return (logits, *(captured[layer][0] for layer in self.modules_by_layer))


def export_onnx(cam: CamSpec, spec: gf.Spec, model: nn.Module) -> onnx.ModelProto:
    probe = Probe(copy.deepcopy(model), {"act": cam.act_module, "last": cam.last_module})
    example = torch.randn(1, 3, spec.height, spec.width)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            probe,
            example,
            buffer,
            opset_version=spec.opset,
            training=torch.onnx.TrainingMode.EVAL,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["logits", *LAYERS],
            dynamic_axes={n: {0: "batch"} for n in ("input", "logits", *LAYERS)},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    graph = proto.graph
    kept = [o for o in graph.output if o.name not in LAYERS]
    assert [o.name for o in kept] == ["logits"]
    del graph.output[:]
    graph.output.extend(kept)
    onnx.checker.check_model(proto)
    for layer in LAYERS:
        producers = [n for n in graph.node if layer in n.output]
        consumers = [n for n in graph.node if layer in n.input]
        assert len(producers) == 1 and consumers, f"{cam.name}: {layer} is not an inner value"
    # "last" must be what the head reduces: its only consumer pools or flattens it.
    (consumer,) = [n for n in graph.node if "last" in n.input]
    assert consumer.op_type in ("GlobalAveragePool", "Flatten"), consumer.op_type
    return proto


# ---------------------------------------------------------------------------
# The methods, from their definitions (float64 or, for the stability check, float32)
# ---------------------------------------------------------------------------


def minmax(x: torch.Tensor) -> torch.Tensor:
    """Per map (over the last two dims) (x - min) / (max - min); a constant map gives zeros."""
    flat = x.reshape(*x.shape[:-2], -1)
    lo = flat.min(dim=-1, keepdim=True).values
    hi = flat.max(dim=-1, keepdim=True).values
    rng = hi - lo
    safe = torch.where(rng > 0, rng, torch.ones_like(rng))
    out = torch.where(rng > 0, (flat - lo) / safe, torch.zeros_like(flat))
    return out.reshape(x.shape)


def upsample(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """[..., h, w] -> [..., H, W], bilinear, align_corners=False."""
    lead = x.shape[:-2]
    y = F.interpolate(
        x.reshape(-1, 1, *x.shape[-2:]), size=size, mode="bilinear", align_corners=False
    )
    return y.reshape(*lead, *size)


def finalize(raw: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """relu -> per-map min-max -> upsample to the input size -> min-max again (pytorch-grad-cam's
    scale_cam_image after resizing: a final map spans exactly [0, 1])."""
    return minmax(upsample(minmax(torch.relu(raw)), size))


def weighted(A: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum_k w_k A_k for [N,K,h,w] activations and [N,K] weights."""
    return (w[:, :, None, None] * A).sum(dim=1)


def eigen_projection(values: torch.Tensor) -> Tuple[torch.Tensor, List[float]]:
    """Per row: the [h*w, K] matrix M (positions x channels) with centred columns, projected on
    its first right singular vector v; the sign chosen so the projection correlates non-negatively
    with the uncentred channel-mean map (the projection of centred data sums to zero, so its sum
    cannot orient it).

    Also returns, per row, the relative gap (s1 - s2) / s1 of the first two singular values."""
    n, k, h, w = values.shape
    out = torch.empty(n, h, w, dtype=values.dtype)
    gaps = []
    for i in range(n):
        m = values[i].reshape(k, h * w).T
        m = m - m.mean(dim=0, keepdim=True)
        _, s, vh = torch.linalg.svd(m, full_matrices=False)
        proj = m @ vh[0]
        if (proj * values[i].reshape(k, h * w).mean(dim=0)).sum() < 0:
            proj = -proj
        out[i] = proj.reshape(h, w)
        gaps.append(float((s[0] - s[1]) / s[0]) if len(s) > 1 and s[0] > 0 else math.inf)
    return out, gaps


class Scorer:
    """Target scores of batches of inputs (perturbed copies of one row's image)."""

    def __init__(self, probe: Probe, score: str, chunk: int = 256):
        self.probe = probe
        self.score = score
        self.chunk = chunk

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, c: int) -> torch.Tensor:
        out = []
        for start in range(0, x.shape[0], self.chunk):
            logits = self.probe(x[start:start + self.chunk])[0]
            out.append(select_score(logits, [c] * logits.shape[0], self.score))
        return torch.cat(out)


def select_score(logits: torch.Tensor, classes: Sequence[int], score: str) -> torch.Tensor:
    rows = torch.arange(len(classes))
    c = torch.tensor(list(classes))
    if score == "logit":
        return logits[rows, c]
    return torch.softmax(logits, dim=1)[rows, c]


def gradient_weights(method: str, A: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The raw map [N,h,w] of a gradient method (A: activations, g = d score / d A):

    - gradcam: w_k = mean_ij g_kij; map = sum_k w_k A_k
    - gradcam++: alpha = g^2 / (2 g^2 + S_k g^3) with S_k = sum_ab A_kab (0 where the
      denominator is 0); w_k = sum_ij alpha_kij relu(g_kij)
    - xgradcam: w_k = sum_ij (A_kij / S_k) g_kij (0 where S_k = 0)
    - hirescam: sum_k g_k * A_k; gradcam-elementwise: sum_k relu(g_k * A_k);
      layercam: sum_k relu(g_k) * A_k
    """
    if method == "gradcam":
        return weighted(A, g.mean(dim=(2, 3)))
    if method == "gradcam++":
        sums = A.sum(dim=(2, 3), keepdim=True)
        g2 = g * g
        denominator = 2 * g2 + sums * g2 * g
        nonzero = denominator != 0
        safe = torch.where(nonzero, denominator, torch.ones_like(g))
        alpha = torch.where(nonzero, g2 / safe, torch.zeros_like(g))
        return weighted(A, (alpha * torch.relu(g)).sum(dim=(2, 3)))
    if method == "xgradcam":
        sums = A.sum(dim=(2, 3))
        nonzero = sums != 0
        safe = torch.where(nonzero, sums, torch.ones_like(sums))
        w = torch.where(nonzero, (A * g).sum(dim=(2, 3)) / safe, torch.zeros_like(sums))
        return weighted(A, w)
    if method == "hirescam":
        return (g * A).sum(dim=1)
    if method == "gradcam-elementwise":
        return torch.relu(g * A).sum(dim=1)
    if method == "layercam":
        return (torch.relu(g) * A).sum(dim=1)
    raise ValueError(method)


def gradcam_pp_amplification(A: torch.Tensor, g: torch.Tensor) -> List[float]:
    """Per row, the largest |S_k g| / |2 + S_k g| over the terms alpha * relu(g) = g / (2 + S_k g)
    that count (g > 0): how much a relative rounding error of S_k or g grows in w_k. Where the
    layer can be negative (no ReLU, e.g. a residual sum) S_k < 0 and the denominator can come
    close to zero."""
    t = A.sum(dim=(2, 3), keepdim=True) * g
    factor = torch.where(g > 0, t.abs() / (2 + t).abs(), torch.zeros_like(t))
    return [float(v) for v in factor.flatten(1).max(dim=1).values]


def score_masks(A_row: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Score-CAM's masks H_k = minmax(up(A_k)): [K, H, W]."""
    return minmax(upsample(A_row, size))


def perturbation_scores(
    method: str, options: dict, x: torch.Tensor, A: torch.Tensor, classes: Sequence[int],
    scorer: Scorer,
) -> torch.Tensor:
    """Score-CAM family: per row and channel the score s_k that the softmax turns into weights."""
    n, k = A.shape[:2]
    size = tuple(x.shape[2:])
    out = torch.empty(n, k, dtype=x.dtype)
    for i in range(n):
        masks = score_masks(A[i], size)  # [K, H, W]
        if method == "scorecam":
            out[i] = scorer(x[i][None] * masks[:, None], classes[i])
        elif method == "iscam":
            steps = options["steps"]
            scale = torch.arange(1, steps + 1, dtype=x.dtype) / steps  # t / n
            stack = (scale[None, :, None, None] * masks[:, None]).reshape(k * steps, *size)
            s = scorer(x[i][None] * stack[:, None], classes[i]).reshape(k, steps)
            out[i] = s.sum(dim=1) / steps
        elif method == "sscam":
            samples, sigma = options["samples"], options["sigma"]
            seeds = [derive_seed(SEED, i, kk, j) for kk in range(k) for j in range(samples)]
            noise = normals_per_stream(seeds, size[0] * size[1])
            noise = torch.from_numpy(sigma * noise).to(x.dtype).reshape(k, samples, *size)
            stack = (masks[:, None] + noise).reshape(k * samples, *size)
            s = scorer(x[i][None] * stack[:, None], classes[i]).reshape(k, samples)
            out[i] = s.sum(dim=1) / samples
        else:
            raise ValueError(method)
    return out


@torch.no_grad()
def ablation_raw(
    probe: Probe, layer: str, x: torch.Tensor, A: torch.Tensor, classes: Sequence[int], score: str
) -> torch.Tensor:
    """Ablation-CAM: w_k = (y - y_k) / y with y_k the score with channel k of A zeroed and the
    network continued from there (y == 0: w_k = y - y_k)."""
    n, k = A.shape[:2]
    y = select_score(probe(x)[0], classes, score)
    weights = torch.empty(n, k, dtype=x.dtype)

    def zero_own_channel(out: torch.Tensor) -> torch.Tensor:
        out = out.clone()
        out[torch.arange(k), torch.arange(k)] = 0  # batch entry j zeroes channel j
        return out

    probe.edit = (layer, zero_own_channel)
    try:
        for i in range(n):
            logits = probe(x[i][None].expand(k, -1, -1, -1).contiguous())[0]
            yk = select_score(logits, [classes[i]] * k, score)
            weights[i] = (y[i] - yk) / y[i] if y[i] != 0 else y[i] - yk
    finally:
        probe.edit = None
    return weighted(A, weights)


def kmeans(
    vectors: torch.Tensor, raw_sums: torch.Tensor, clusters: int
) -> Tuple[List[List[int]], float]:
    """The deterministic k-means of Cluster-CAM on [K, P] vectors.

    Seeding: the vector of the channel with the largest raw sum (ties: lowest k), then repeatedly
    the vector farthest (largest minimum squared distance) from the chosen centres (ties: lowest
    k). Lloyd: assign to the nearest centre (ties: lowest centre), centres = member means, until
    the assignment repeats (at most 100 assignments). Returns the non-empty clusters' members and
    the smallest relative margin of any decision taken (for the stability flag)."""
    k = vectors.shape[0]
    margin = math.inf
    scale = float((vectors * vectors).sum(dim=1).max()) or 1.0

    def note(best: float, runner_up: float, unit: float) -> None:
        nonlocal margin
        margin = min(margin, abs(best - runner_up) / unit if best != runner_up else math.inf)

    def gap_of_best(values: torch.Tensor, largest: bool) -> Tuple[int, float]:
        order = torch.argsort(-values if largest else values, stable=True)
        best = int(order[0])
        if len(order) > 1:
            return best, float(values[order[1]])
        return best, float(values[best])

    first, runner = gap_of_best(raw_sums, largest=True)
    note(float(raw_sums[first]), runner, float(raw_sums.abs().max()) or 1.0)
    chosen = [first]
    nearest = ((vectors - vectors[first]) ** 2).sum(dim=1)
    for _ in range(1, min(clusters, k)):
        best, runner = gap_of_best(nearest, largest=True)
        note(float(nearest[best]), runner, scale)
        chosen.append(best)
        nearest = torch.minimum(nearest, ((vectors - vectors[best]) ** 2).sum(dim=1))
    centres = vectors[chosen].clone()
    assignment: Optional[torch.Tensor] = None
    for _ in range(KMEANS_MAX_ITERATIONS):
        distances = ((vectors[:, None, :] - centres[None, :, :]) ** 2).sum(dim=2)  # [K, C]
        new = torch.argmin(distances, dim=1)  # first minimum: lowest centre index
        for kk in range(k):
            best, runner = gap_of_best(distances[kk], largest=False)
            note(float(distances[kk, best]), runner, scale)
        if assignment is not None and torch.equal(new, assignment):
            break
        assignment = new
        for j in range(centres.shape[0]):
            members = assignment == j
            if members.any():
                centres[j] = vectors[members].mean(dim=0)
    groups = [
        [int(i) for i in torch.nonzero(assignment == j).flatten()] for j in range(centres.shape[0])
    ]
    return [g for g in groups if g], margin


@torch.no_grad()
def cluster_raw(
    options: dict, x: torch.Tensor, A: torch.Tensor, classes: Sequence[int], scorer: Scorer,
) -> Tuple[torch.Tensor, List[float]]:
    n, k, h, w = A.shape
    size = tuple(x.shape[2:])
    out = torch.empty(n, h, w, dtype=x.dtype)
    margins = []
    for i in range(n):
        vectors = minmax(A[i]).reshape(k, h * w)
        groups, margin = kmeans(vectors, A[i].sum(dim=(1, 2)), min(options["clusters"], k))
        # m_j = minmax(mean of the members' a_k): [C, h, w]
        maps = torch.stack([minmax(vectors[g].mean(dim=0).reshape(h, w)) for g in groups])
        baseline = scorer(torch.zeros_like(x[i][None]), classes[i])[0]
        d = scorer(x[i][None] * upsample(maps, size)[:, None], classes[i]) - baseline
        positive = (torch.clamp(d, min=0)[:, None, None] * maps).sum(dim=0)
        negative = (torch.clamp(-d, min=0)[:, None, None] * maps).sum(dim=0)
        if options["merge"] == "subtract":
            out[i] = positive - negative
        else:
            out[i] = positive * (1 - minmax(negative))
        # A cluster whose score difference is near zero may change sides.
        dmax = float(d.abs().max())
        for value in d.tolist():
            if value != 0 and dmax > 0:
                margin = min(margin, abs(value) / dmax)
        margins.append(margin)
    return out, margins


def downstream_kink_margins(probe: Probe, x: torch.Tensor) -> Dict[str, List[float]]:
    """Per layer and sample, the smallest relative kink or max-pool margin (as in
    make_gradient_fixtures.kink_margins) of the modules that run after the layer: only those
    decide the gradient at the layer (a flip before it moves the activations continuously)."""
    events: List[Tuple[str, Optional[torch.Tensor]]] = []

    def kink_hook(module: nn.Module, inputs, output) -> None:
        t = inputs[0].detach()
        flat = t.reshape(t.shape[0], -1)
        if isinstance(module, nn.MaxPool2d):
            found = gf.pool_gap(module, t, output)
        else:
            kinks = next(v for cls, v in gf.KINKS.items() if isinstance(module, cls))
            gaps = torch.stack([(flat - k).abs() for k in kinks]).min(dim=0).values
            gaps = torch.where(gaps > 0, gaps, torch.full_like(gaps, math.inf))
            found = gaps.min(dim=1).values / flat.abs().max(dim=1).values
        events.append(("kink", found))

    model = probe.model
    handles = [
        m.register_forward_hook(kink_hook)
        for m in model.modules()
        if isinstance(m, (nn.MaxPool2d, *gf.KINKS.keys()))
    ]
    for layer, path in probe.modules_by_layer.items():
        handles.append(model.get_submodule(path).register_forward_hook(
            lambda _m, _i, _o, layer=layer: events.append((layer, None))))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    margins = {}
    for layer in probe.modules_by_layer:
        start = [e[0] for e in events].index(layer)
        m = torch.full((x.shape[0],), math.inf, dtype=torch.float64)
        for kind, found in events[start + 1:]:
            if kind == "kink":
                m = torch.minimum(m, found.double())
        margins[layer] = [float(v) for v in m]
    return margins


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


def choose_classes(cam: CamSpec, logits: torch.Tensor) -> List[int]:
    """Row i explains the classes_rank[i]-th highest-scoring class among those whose logit is at
    least a quarter of the row's largest magnitude: varied classes, none with a score near zero
    (Ablation-CAM divides by it)."""
    classes = []
    for row, rank in zip(logits, cam.classes_rank):
        ranking = [int(c) for c in torch.argsort(row, descending=True)]
        eligible = [c for c in ranking if abs(float(row[c])) >= 0.25 * float(row.abs().max())]
        classes.append(eligible[rank])
    return classes


def build_cam_model(cam: CamSpec, spec: gf.Spec) -> nn.Module:
    """The gradient fixture's model (same builder, seed, BatchNorm statistics), with the
    classifier weights scaled by head_scale: torchvision's N(0, 0.01) init of VGG's and
    MobileNetV2's Linear layers gives logits of 1e-3 (VGG) to 1e-1, so close to each other that
    the softmax weights of the Score-CAM family are all about 1/K and the methods barely differ."""
    model = gf.build_model(spec)
    with torch.no_grad():
        for path, factor in cam.head_scale:
            linear = model.get_submodule(path)
            assert isinstance(linear, nn.Linear)
            linear.weight.mul_(factor)
            linear.bias.mul_(factor)
    return model


def run_pipeline(cam: CamSpec, model: nn.Module, x: torch.Tensor, classes: Sequence[int]) -> dict:
    """Every case's raw and final maps, at the dtype of `model` and `x`, with per row the method's
    own near-flip decisions (see MARGIN_THRESHOLD) as text."""
    probe = Probe(model, {"act": cam.act_module, "last": cam.last_module})
    size = tuple(x.shape[2:])
    plan = [(m, o, s, layer) for m, o, s in CASES for layer in LAYERS] + PROBABILITY_CASES
    results = []
    dims = {}
    for score in ("logit", "probability"):
        xg = x.clone().requires_grad_(True)
        logits, act, last = probe(xg)
        selected = select_score(logits, classes, score).sum()
        gact, glast = torch.autograd.grad(selected, [act, last])
        acts = {"act": act.detach(), "last": last.detach()}
        grads = {"act": gact, "last": glast}
        dims = {layer: list(t.shape) for layer, t in acts.items()}
        scorer = Scorer(probe, score)
        for method, options, case_score, layer in plan:
            if case_score != score:
                continue
            A, g = acts[layer], grads[layer]
            # Per row: decisions near flipping (branch) and rounding amplifiers (conditioning).
            concerns: List[List[str]] = [[] for _ in range(x.shape[0])]
            conditioning: List[List[str]] = [[] for _ in range(x.shape[0])]
            if method == "cam":
                if cam.head is None or layer != "last":
                    continue  # the head is not GAP + one Linear: camscope must refuse
                weight = model.get_submodule(cam.head).weight.detach()
                raw = weighted(A, weight[torch.tensor(list(classes))])
            elif method in ("eigencam", "eigengradcam"):
                raw, gaps = eigen_projection(A if method == "eigencam" else g * A)
                for i in range(x.shape[0]):
                    if gaps[i] < EIGEN_GAP_THRESHOLD:
                        concerns[i].append(f"first two singular values {gaps[i]:.3g} apart")
            elif method in GRADIENT_METHODS:
                raw = gradient_weights(method, A, g)
                if method == "gradcam++":
                    for i, factor in enumerate(gradcam_pp_amplification(A, g)):
                        if factor > GRADCAM_PP_AMPLIFICATION:
                            conditioning[i].append(
                                f"Grad-CAM++ denominator 2 + S_k g near 0 amplifies rounding "
                                f"{factor:.3g}x"
                            )
            elif method in ("scorecam", "iscam", "sscam"):
                s = perturbation_scores(method, options, x, A, classes, scorer)
                weights = torch.softmax(s, dim=1)
                raw = weighted(A, weights)
            elif method == "ablationcam":
                raw = ablation_raw(probe, layer, x, A, classes, score)
            elif method == "clustercam":
                raw, margins = cluster_raw(options, x, A, classes, scorer)
                for i, m in enumerate(margins):
                    if m < MARGIN_THRESHOLD:
                        concerns[i].append(f"k-means or cluster-sign decision margin {m:.3g}")
            else:
                raise ValueError(method)
            raw = raw.detach()
            results.append({
                "method": method, "options": options, "score": score, "layer": layer,
                "raw": raw, "map": finalize(raw, size), "concerns": concerns,
                "conditioning": conditioning,
                "gradients": method in GRADIENT_METHODS,
            })
    return {"cases": results, "dims": dims}


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = float(b.abs().max())
    diff = float((a.double() - b.double()).abs().max())
    return diff / scale if scale > 0 else diff


def references(cam: CamSpec, spec: gf.Spec, model: nn.Module) -> dict:
    torch.manual_seed(gf.spec_seed(spec) + 2)
    x = torch.randn(BATCH, 3, spec.height, spec.width, dtype=torch.float32)
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        logits = model64(x.double())
    classes = choose_classes(cam, logits)
    ref64 = run_pipeline(cam, model64, x.double(), classes)
    ref32 = run_pipeline(cam, model, x, classes)
    layers = {"act": cam.act_module, "last": cam.last_module}
    kinks = downstream_kink_margins(Probe(model64, layers), x.double())
    cases = []
    for case, other in zip(ref64["cases"], ref32["cases"]):
        for field in ("method", "layer", "score"):
            assert case[field] == other[field]
        deviation, unstable, branch, reasons = [], [], [], []
        for i in range(BATCH):
            dev = max(
                relative_error(other["raw"][i], case["raw"][i]),
                float((other["map"][i].double() - case["map"][i]).abs().max()),
            )
            why = list(case["concerns"][i])
            kink = kinks[case["layer"]][i]
            if case["gradients"] and kink < gf.MARGIN_THRESHOLD:
                why.append(f"a ReLU/max-pool after the layer is {kink:.3g} from its kink")
            near_branch = bool(why)
            why.extend(case["conditioning"][i])
            if dev > UNSTABLE_DEVIATION:
                why.append(f"float32 PyTorch deviates by {dev:.3g}")
            deviation.append(dev)
            unstable.append(bool(why))
            branch.append(near_branch)
            reasons.append("; ".join(why))
        cases.append({
            **case,
            "deviation": deviation,
            "unstable": unstable,
            "branch": branch,
            "reasons": reasons,
        })
    return {
        "x": x, "classes": classes, "logits": logits, "cases": cases, "dims": ref64["dims"],
        "kinks": kinks,
    }


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def to_base64(t: torch.Tensor) -> str:
    array = t.detach().cpu().numpy().astype("<f4")
    return base64.b64encode(array.tobytes()).decode("ascii")


MAP_ENCODING = (
    "values in [0, 1] quantised to q = round(65535 * v) (error <= 7.7e-6), stored per image row "
    "as differences from the previous pixel (the first from 0) modulo 65536, as uint16 "
    "little-endian, zlib-compressed, base64"
)


def encode_map(t: torch.Tensor) -> str:
    """A final map [N, H, W] in MAP_ENCODING: bilinear maps are piecewise linear along rows, so
    their differences compress ~9x where raw float32 compresses ~1.7x."""
    v = t.detach().double().cpu().numpy()
    assert v.min() >= 0 and v.max() <= 1, (v.min(), v.max())
    q = np.round(v * 65535).astype(np.int64)
    deltas = np.diff(q, axis=-1, prepend=0) % 65536
    return base64.b64encode(zlib.compress(deltas.astype("<u2").tobytes(), 9)).decode("ascii")


def decode_map(text: str, shape: Sequence[int]) -> np.ndarray:
    deltas = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype="<u2").astype(np.int64)
    return (np.cumsum(deltas.reshape(shape), axis=-1) % 65536) / 65535


def fixture_json(cam: CamSpec, spec: gf.Spec, proto: onnx.ModelProto, ref: dict) -> dict:
    cases = []
    for case in ref["cases"]:
        entry = {
            "layer": case["layer"],
            "method": case["method"],
            "options": case["options"],
            "score": case["score"],
            "raw": to_base64(case["raw"]),
            "map": encode_map(case["map"]),
            "unstable": case["unstable"],
            "float32Deviation": [float(f"{d:.3g}") for d in case["deviation"]],
        }
        if any(case["unstable"]):
            entry["unstableReasons"] = case["reasons"]
        if any(case["branch"]):
            # A discrete decision is near flipping: float32 may legitimately take the other branch.
            entry["nearBranch"] = case["branch"]
        decoded = decode_map(entry["map"], case["map"].shape)
        assert np.abs(decoded - case["map"].numpy()).max() <= 0.5 / 65535 + 1e-12
        cases.append(entry)
    unsupported = [
        {"layer": layer, "method": "cam"}
        for layer in LAYERS
        if cam.head is None or layer != "last"
    ]
    return {
        "name": cam.name,
        "description": cam.description,
        "architecture": spec.architecture,
        "opset": spec.opset,
        "input": {"name": "input", "dims": list(ref["x"].shape)},
        "output": "logits",
        "layers": {
            "act": {"module": cam.act_module, "dims": ref["dims"]["act"]},
            "last": {"module": cam.last_module, "dims": ref["dims"]["last"]},
        },
        "classes": ref["classes"],
        "seed": SEED,
        # Per layer, the smallest relative kink / max-pool margin after it (null: none).
        "kinkMargin": {
            layer: [float(f"{m:.3g}") if m != math.inf else None for m in ref["kinks"][layer]]
            for layer in LAYERS
        },
        "opTypes": gf.op_types(proto),
        "inputData": to_base64(ref["x"]),
        "logits": to_base64(ref["logits"]),
        "mapEncoding": MAP_ENCODING,
        "unsupported": unsupported,
        # SS-CAM's noise comes from src/util/random.ts; these are its outputs that the Python
        # port reproduces (stream: createRng(deriveSeed(0, 1, 2, 3))).
        "randomCheck": {
            "deriveSeed": [{"args": a, "value": v} for a, v in TS_RANDOM_CHECK["deriveSeed"]],
            "uint32": TS_RANDOM_CHECK["uint32"],
            "normal": TS_RANDOM_CHECK["normal"],
        },
        "cases": cases,
    }


def make_fixture(cam: CamSpec, out_dir: str) -> dict:
    spec = next(s for s in gf.SPECS if s.name == cam.base)
    model = build_cam_model(cam, spec)
    proto = export_onnx(cam, spec, model)
    ref = references(cam, spec, model)
    data = fixture_json(cam, spec, proto, ref)
    with open(os.path.join(out_dir, f"{cam.name}.onnx"), "wb") as f:
        f.write(proto.SerializeToString())
    with open(os.path.join(out_dir, f"{cam.name}.json"), "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="fixture names to (re)generate")
    args = parser.parse_args()

    torch.set_num_threads(1)  # same float32 summation order on every machine/run
    self_check_random()
    os.makedirs(args.out, exist_ok=True)
    for cam in SPECS:
        if args.only and cam.name not in args.only:
            continue
        data = make_fixture(cam, args.out)
        sizes = {
            ext: os.path.getsize(os.path.join(args.out, f"{cam.name}.{ext}")) / 1024
            for ext in ("onnx", "json")
        }
        print(
            f"{cam.name:14s} onnx {sizes['onnx']:6.1f} KiB  json {sizes['json']:6.1f} KiB  "
            f"act {data['layers']['act']['dims']}  last {data['layers']['last']['dims']}  "
            f"classes {data['classes']}"
        )
        for case in data["cases"]:
            if any(case["unstable"]):
                merge = case["options"].get("merge")
                label = case["method"] + (f"/{merge}" if merge else "")
                print(
                    f"  unstable {case['layer']:4s} {label:22s} {case['score']:11s} "
                    f"{case['unstableReasons']}"
                )


if __name__ == "__main__":
    main()
