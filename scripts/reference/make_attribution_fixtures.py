#!/usr/bin/python3
"""Reference pixel attributions, computed in float64 with PyTorch, for camscope's src/attribution/.

The three CAM fixture models (src/cam/fixtures/<name>.onnx: ResNet BasicBlock, VGG-16-BN,
MobileNetV2 at small widths) are rebuilt with the same builders (make_cam_fixtures.build_cam_model
over make_gradient_fixtures.build_model: same specs, seeds and BatchNorm statistics); the script
checks that the rebuilt model reproduces the logits stored in the CAM fixture, so the committed
ONNX files are the models referenced here. For a batch of image-like inputs (uniform in [0, 1], as
the "unit" preprocessing makes them; black is 0 and white is 1) and explicit target classes,
every method is computed from its published definition with autograd (written out in the
docstrings below; an independent implementation, not a port of the TypeScript) and stored as the
per-pixel attribution [N, H, W] (base64 float32, zlib-compressed).

Random methods draw from camscope's generator (src/util/random.ts), ported in
make_cam_fixtures.py (Rng, derive_seed, normals_per_stream, checked there against TypeScript
outputs), with the same stream layout as the TypeScript methods, so the comparison is exact.

Rows where float32 may legitimately differ are flagged as make_cam_fixtures does: the same
computation in float32 PyTorch deviates from float64 by more than 1e-5 relative, or, for gradient
methods, some input evaluated for the row puts a ReLU-like input within 1e-6 (relative) of its
kink or a max-pool window's runner-up that close to its maximum (make_gradient_fixtures'
kink_margins), where a float32 engine may take the other branch.

Run with Debian's Python (torch 1.13, torchvision 0.14, onnx 1.12):

    /usr/bin/python3 scripts/reference/make_attribution_fixtures.py [--out DIR] [--only NAME ...]

Reruns reproduce byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import json
import math
import os
import sys
import zlib
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_cam_fixtures as cf  # noqa: E402  (CAM models, Grad-CAM, the ported generator)
import make_gradient_fixtures as gf  # noqa: E402  (builders, kink margins)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "attribution", "fixtures")
CAM_FIXTURES = os.path.join(REPO_ROOT, "src", "cam", "fixtures")

ROWS = 2  # rows per fixture (see ROWS_OF)
SEED = 0
# Method options (the test passes them explicitly; camscope's defaults are not assumed). The
# occlusion window and stride are uneven so that the edge-flush windows are exercised.
IG_STEPS = 16
SMOOTHGRAD_SAMPLES = 4
SMOOTHGRAD_NOISE = 0.2
OCCLUSION_WINDOW = (8, 6)
OCCLUSION_STRIDE = (6, 5)
OCCLUSION_VALUE = 0.25
RISE_MASKS = 48
RISE_CELLS = 5
RISE_PROBABILITY = 0.5
RISE_STREAM = 0x52495345  # "RISE": src/attribution/methods/rise.ts
BLUR_SIZE, BLUR_SIGMA = 11, 5.0
UNSTABLE_DEVIATION = 1e-5

SG = {"samples": SMOOTHGRAD_SAMPLES, "noise": SMOOTHGRAD_NOISE}
# (fixture case name, method, options, score). Every model gets the cases that exercise the
# network (the exact, guided and deconvnet signals through its ops, path and noise batches,
# perturbation batches); the first model also gets those that differ only in what is done with
# a signal (saliency, Gradient x Input, SmoothGrad's other statistics, IG's other baselines, the
# probability score), to keep the fixtures at a few hundred KB.
CASES = [
    ("gradient", "gradient", {}, "logit"),
    ("guidedbackprop", "guidedbackprop", {}, "logit"),
    ("deconvnet", "deconvnet", {}, "logit"),
    ("ig", "ig", {"steps": IG_STEPS, "baseline": "black"}, "logit"),
    ("smoothgrad", "smoothgrad", SG, "logit"),
    ("occlusion", "occlusion", {"window": list(OCCLUSION_WINDOW), "stride": list(OCCLUSION_STRIDE),
                                "value": OCCLUSION_VALUE}, "logit"),
    ("rise", "rise", {"masks": RISE_MASKS, "cells": RISE_CELLS, "probability": RISE_PROBABILITY},
     "logit"),
]
FIRST_MODEL_CASES = [
    ("saliency", "saliency", {}, "logit"),
    ("gradxinput", "gradxinput", {}, "logit"),
    ("guidedgradcam", "guidedgradcam", {}, "logit"),
    ("smoothgrad-sq", "smoothgrad-sq", SG, "logit"),
    ("vargrad", "vargrad", SG, "logit"),
    ("ig-blur", "ig", {"steps": IG_STEPS, "baseline": "blur"}, "logit"),
    ("ig-uniform", "ig", {"steps": IG_STEPS, "baseline": "uniform"}, "logit"),
    ("ig-custom", "ig", {"steps": IG_STEPS, "baseline": "custom"}, "logit"),
    ("ig-probability", "ig", {"steps": IG_STEPS, "baseline": "black"}, "probability"),
]
# VGG's 64 x 64 input makes every map 2.8 times larger: one row there.
ROWS_OF = {"vgg16_bn": 1}


# ---------------------------------------------------------------------------
# Backward rules for ReLU-like modules
# ---------------------------------------------------------------------------


class _ModifiedRelu(torch.autograd.Function):
    """clamp(x, lo, hi) forward; backward by `mode`:
    - "guided" (guided backprop): relu(g) where lo < x < hi, else 0;
    - "deconvnet": relu(g) everywhere (the forward mask is ignored)."""

    @staticmethod
    def forward(ctx, x, lo, hi, mode):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi, ctx.mode = lo, hi, mode
        return x.clamp(min=lo) if hi is None else x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        out = torch.clamp(g, min=0)
        if ctx.mode == "guided":
            passes = x > ctx.lo
            if ctx.hi is not None:
                passes = passes & (x < ctx.hi)
            out = out * passes.to(g.dtype)
        return out, None, None, None


@contextlib.contextmanager
def backward_rule(model: nn.Module, mode: str):
    """Within the block, every nn.ReLU / nn.ReLU6 of `model` propagates by `mode` ("exact":
    unchanged)."""
    patched = []
    if mode != "exact":
        for m in model.modules():
            if isinstance(m, nn.ReLU6):
                bounds = (0.0, 6.0)
            elif isinstance(m, nn.ReLU):
                bounds = (0.0, None)
            else:
                continue
            m.forward = (lambda x, b=bounds: _ModifiedRelu.apply(x, b[0], b[1], mode))
            patched.append(m)
    try:
        yield
    finally:
        for m in patched:
            del m.forward


# ---------------------------------------------------------------------------
# The methods, from their definitions
# ---------------------------------------------------------------------------


class Network:
    """Scores and input gradients of one model (at one dtype) for explicit target classes."""

    def __init__(self, model: nn.Module, score: str, chunk: int = 128):
        self.model = model
        self.score = score
        self.chunk = chunk
        self.evaluated: List[Tuple[torch.Tensor, torch.Tensor]] = []  # (inputs, rows) seen

    def scores(self, x: torch.Tensor, classes: Sequence[int]) -> torch.Tensor:
        out = []
        with torch.no_grad():
            for s in range(0, x.shape[0], self.chunk):
                logits = self.model(x[s:s + self.chunk])
                out.append(cf.select_score(logits, classes[s:s + self.chunk], self.score))
        return torch.cat(out)

    def grads(self, x: torch.Tensor, classes: Sequence[int], rows: Sequence[int],
              mode: str = "exact") -> torch.Tensor:
        """d score[classes[j]] / d x_j for every input j (rows[j]: its target row)."""
        self.evaluated.append((x.detach(), torch.tensor(list(rows))))
        out = []
        with backward_rule(self.model, mode):
            for s in range(0, x.shape[0], self.chunk):
                xs = x[s:s + self.chunk].clone().requires_grad_(True)
                selected = cf.select_score(self.model(xs), classes[s:s + self.chunk], self.score)
                (g,) = torch.autograd.grad(selected.sum(), [xs])
                out.append(g)
        return torch.cat(out)


def grad_cam_map(model: nn.Module, cam: cf.CamSpec, x: torch.Tensor, classes: Sequence[int],
                 score: str) -> torch.Tensor:
    """Grad-CAM's final map at the default layer ("last"): w_k = mean_ij g_kij, relu(sum_k w_k
    A_k), per-map min-max, bilinear upsampling to the input, min-max again
    (make_cam_fixtures.finalize)."""
    probe = cf.Probe(model, {"last": cam.last_module})
    xg = x.clone().requires_grad_(True)
    logits, last = probe(xg)
    (g,) = torch.autograd.grad(cf.select_score(logits, classes, score).sum(), [last])
    raw = cf.gradient_weights("gradcam", last.detach(), g)
    return cf.finalize(raw, tuple(x.shape[2:]))


def gaussian_blur(x: torch.Tensor) -> torch.Tensor:
    """Per channel, 11 x 11 Gaussian of sigma 5 (sampled, normalised to sum 1), zero padding."""
    r = BLUR_SIZE // 2
    k1 = torch.exp(-((torch.arange(BLUR_SIZE, dtype=x.dtype) - r) ** 2) / (2 * BLUR_SIGMA ** 2))
    k1 = k1 / k1.sum()
    kernel = (k1[:, None] * k1[None, :]).expand(x.shape[1], 1, BLUR_SIZE, BLUR_SIZE)
    return F.conv2d(x, kernel.contiguous(), padding=r, groups=x.shape[1])


def uniform_baseline(shape: Sequence[int], dtype) -> torch.Tensor:
    """Row r: every value next() of createRng(deriveSeed(SEED, r)) in [C, H, W] order, scaled
    between black (0) and white (1)."""
    rows, size = shape[0], int(np.prod(shape[1:]))
    out = np.empty((rows, size))
    for r in range(rows):
        rng = cf.Rng(cf.derive_seed(SEED, r))
        out[r] = [rng.next() for _ in range(size)]
    return torch.from_numpy(out).to(dtype).reshape(*shape)


def integrated_gradients(net: Network, x: torch.Tensor, classes: Sequence[int],
                         baseline: torch.Tensor, steps: int):
    """(x - x') * (1/m) sum_k grad(x' + a_k (x - x')), a_k = (k + 1/2) / m; summed over channels.
    Also f(x') and the completeness gap sum(attr) - (f(x) - f(x'))."""
    n = x.shape[0]
    alphas = (torch.arange(steps, dtype=x.dtype) + 0.5) / steps
    path = baseline[:, None] + alphas[None, :, None, None, None] * (x - baseline)[:, None]
    rows = [r for r in range(n) for _ in range(steps)]
    g = net.grads(path.reshape(n * steps, *x.shape[1:]), [classes[r] for r in rows], rows)
    per_channel = (x - baseline) * g.reshape(n, steps, *x.shape[1:]).mean(dim=1)
    fb = net.scores(baseline, classes)
    fx = net.scores(x, classes)
    gap = per_channel.sum(dim=(1, 2, 3)) - (fx - fb)
    return per_channel.sum(dim=1), fb, gap


def smoothgrad_moments(net: Network, x: torch.Tensor, classes: Sequence[int], samples: int,
                       noise: float):
    """Gradients at x + sigma_r * n, sigma_r = noise * (max x_r - min x_r), n from
    createRng(deriveSeed(SEED, r, s)).normal() in [C, H, W] order: their mean and mean square."""
    n = x.shape[0]
    size = int(np.prod(x.shape[1:]))
    seeds = [cf.derive_seed(SEED, r, s) for r in range(n) for s in range(samples)]
    normals = torch.from_numpy(cf.normals_per_stream(seeds, size)).to(x.dtype)
    normals = normals.reshape(n, samples, *x.shape[1:])
    flat = x.reshape(n, -1)
    sigma = noise * (flat.max(dim=1).values - flat.min(dim=1).values)
    noisy = x[:, None] + sigma[:, None, None, None, None] * normals
    rows = [r for r in range(n) for _ in range(samples)]
    g = net.grads(noisy.reshape(n * samples, *x.shape[1:]), [classes[r] for r in rows], rows)
    g = g.reshape(n, samples, *x.shape[1:])
    return g.mean(dim=1), (g * g).mean(dim=1)


def window_starts(size: int, window: int, stride: int) -> List[int]:
    """Starts every `stride`, plus one flush with the end when the stride misses it."""
    w = min(window, size)
    starts = list(range(0, size - w + 1, stride))
    if starts[-1] + w < size:
        starts.append(size - w)
    return starts


def occlusion(net: Network, x: torch.Tensor, classes: Sequence[int], fx: torch.Tensor):
    """Mean over the windows covering a pixel of f(x) - f(x with the window set to VALUE)."""
    n, _, h, w = x.shape
    (wh, ww), (sh, sw) = OCCLUSION_WINDOW, OCCLUSION_STRIDE
    wh, ww = min(wh, h), min(ww, w)
    windows = [(y, xx) for y in window_starts(h, wh, sh) for xx in window_starts(w, ww, sw)]
    sums = torch.zeros(n, h, w, dtype=x.dtype)
    counts = torch.zeros(h, w, dtype=x.dtype)
    for y, xx in windows:
        occluded = x.clone()
        occluded[:, :, y:y + wh, xx:xx + ww] = OCCLUSION_VALUE
        drop = fx - net.scores(occluded, classes)
        sums[:, y:y + wh, xx:xx + ww] += drop[:, None, None]
        counts[y:y + wh, xx:xx + ww] += 1
    return sums / counts


def rise_masks(h: int, w: int, dtype) -> torch.Tensor:
    """Mask i: grid cells kept where next() < p (row-major), shifts dy = int(0, ceil(h/s)),
    dx = int(0, ceil(w/s)), all from createRng(deriveSeed(SEED, RISE_STREAM, i)); the grid
    upsampled bilinearly (align_corners=False) to (s+1) cells and cropped at the shift."""
    s, p = RISE_CELLS, RISE_PROBABILITY
    ch, cw = math.ceil(h / s), math.ceil(w / s)
    masks = torch.empty(RISE_MASKS, h, w, dtype=dtype)
    for i in range(RISE_MASKS):
        rng = cf.Rng(cf.derive_seed(SEED, RISE_STREAM, i))
        grid = torch.tensor([1.0 if rng.next() < p else 0.0 for _ in range(s * s)], dtype=dtype)
        dy = math.floor(rng.next() * ch)
        dx = math.floor(rng.next() * cw)
        up = F.interpolate(grid.reshape(1, 1, s, s), size=((s + 1) * ch, (s + 1) * cw),
                           mode="bilinear", align_corners=False)[0, 0]
        masks[i] = up[dy:dy + h, dx:dx + w]
    return masks


def rise(net: Network, x: torch.Tensor, classes: Sequence[int]):
    """sum_i f(x * M_i) M_i / (N p)."""
    n, _, h, w = x.shape
    masks = rise_masks(h, w, x.dtype)
    sal = torch.zeros(n, h, w, dtype=x.dtype)
    for r in range(n):
        s = net.scores(x[r][None] * masks[:, None], [classes[r]] * RISE_MASKS)
        sal[r] = (s[:, None, None] * masks).sum(dim=0) / (RISE_MASKS * RISE_PROBABILITY)
    return sal


def compute(method: str, options: dict, score: str, model: nn.Module, cam: cf.CamSpec,
            x: torch.Tensor, classes: Sequence[int], custom: torch.Tensor) -> dict:
    """One case at the dtype of `model` and `x`: attribution [N, H, W], optionally IG's f(x')
    and gap, and the inputs whose gradients were taken (for the kink margins)."""
    net = Network(model, score)
    rows = list(range(x.shape[0]))
    out: dict = {}
    if method in ("saliency", "gradient", "gradxinput"):
        g = net.grads(x, classes, rows)
        out["attribution"] = {
            "saliency": lambda: g.abs().amax(dim=1),
            "gradient": lambda: g.sum(dim=1),
            "gradxinput": lambda: (g * x).sum(dim=1),
        }[method]()
    elif method in ("guidedbackprop", "deconvnet"):
        mode = "guided" if method == "guidedbackprop" else "deconvnet"
        out["attribution"] = net.grads(x, classes, rows, mode).sum(dim=1)
    elif method == "guidedgradcam":
        gb = net.grads(x, classes, rows, "guided")
        cam_map = grad_cam_map(model, cam, x, classes, score)
        out["attribution"] = (gb * cam_map[:, None]).sum(dim=1)
    elif method == "ig":
        baseline = {
            "black": lambda: torch.zeros_like(x),
            "blur": lambda: gaussian_blur(x),
            "uniform": lambda: uniform_baseline(x.shape, x.dtype),
            "custom": lambda: custom.to(x.dtype)[None].expand_as(x),
        }[options["baseline"]]()
        attr, fb, gap = integrated_gradients(net, x, classes, baseline, options["steps"])
        out.update(attribution=attr, baselineScores=fb, gap=gap)
    elif method in ("smoothgrad", "smoothgrad-sq", "vargrad"):
        mean, square = smoothgrad_moments(net, x, classes, options["samples"], options["noise"])
        value = {"smoothgrad": mean, "smoothgrad-sq": square,
                 "vargrad": torch.clamp(square - mean * mean, min=0)}[method]
        out["attribution"] = value.abs().amax(dim=1)
    elif method == "occlusion":
        out["attribution"] = occlusion(net, x, classes, net.scores(x, classes))
    elif method == "rise":
        out["attribution"] = rise(net, x, classes)
    else:
        raise ValueError(method)
    out["evaluated"] = net.evaluated
    return out


def row_kink_margins(model64: nn.Module, evaluated, rows: int) -> List[float]:
    """Per row, the smallest kink / max-pool margin over every input whose gradient was taken."""
    margins = [math.inf] * rows
    for inputs, owners in evaluated:
        for s in range(0, inputs.shape[0], 128):
            found = gf.kink_margins(model64, inputs[s:s + 128].double())
            for m, r in zip(found, owners[s:s + 128].tolist()):
                margins[r] = min(margins[r], m)
    return margins


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = float(b.abs().max())
    diff = float((a.double() - b.double()).abs().max())
    return diff / scale if scale > 0 else diff


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def encode(t: torch.Tensor) -> str:
    """float32 little-endian, zlib-compressed, base64."""
    data = t.detach().cpu().numpy().astype("<f4").tobytes()
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def make_fixture(cam: cf.CamSpec, out_dir: str, with_extras: bool) -> dict:
    spec = next(s for s in gf.SPECS if s.name == cam.base)
    model = cf.build_cam_model(cam, spec)
    model64 = copy.deepcopy(model).double()

    # The rebuilt model is the committed ONNX model: it reproduces the CAM fixture's logits.
    with open(os.path.join(CAM_FIXTURES, f"{cam.name}.json")) as f:
        cam_fixture = json.load(f)
    cam_x = torch.from_numpy(np.frombuffer(base64.b64decode(cam_fixture["inputData"]), "<f4")
                             .copy()).reshape(cam_fixture["input"]["dims"])
    cam_logits = np.frombuffer(base64.b64decode(cam_fixture["logits"]), "<f4")
    with torch.no_grad():
        rebuilt = model64(cam_x.double()).numpy().ravel()
    assert np.allclose(rebuilt, cam_logits, rtol=1e-6, atol=1e-6), "model differs from the CAM fixture"

    rows = ROWS_OF.get(cam.name, ROWS)
    torch.manual_seed(gf.spec_seed(spec) + 3)
    x = torch.rand(ROWS, 3, spec.height, spec.width, dtype=torch.float32)
    custom = torch.rand(3, spec.height, spec.width, dtype=torch.float32)
    with torch.no_grad():
        logits = model64(x.double())
    # Row 0 explains its top class, row 1 (if any) its second: gradients of a class other than the top one.
    classes = [int(torch.argsort(logits[0], descending=True)[0]),
               int(torch.argsort(logits[1], descending=True)[1])][:rows]
    x, logits = x[:rows], logits[:rows]

    cases = []
    for name, method, options, score in CASES + (FIRST_MODEL_CASES if with_extras else []):
        ref = compute(method, options, score, model64, cam, x.double(), classes, custom.double())
        f32 = compute(method, options, score, model, cam, x, classes, custom)
        gradient_method = method not in ("occlusion", "rise")
        margins = (row_kink_margins(model64, ref["evaluated"], rows) if gradient_method
                   else [math.inf] * rows)
        deviation, unstable, branch, reasons = [], [], [], []
        for r in range(rows):
            dev = relative_error(f32["attribution"][r], ref["attribution"][r])
            why = []
            near = margins[r] < gf.MARGIN_THRESHOLD
            if near:
                why.append(f"an evaluated input is {margins[r]:.3g} from a ReLU kink or max-pool tie")
            if dev > UNSTABLE_DEVIATION:
                why.append(f"float32 PyTorch deviates by {dev:.3g}")
            deviation.append(float(f"{dev:.3g}"))
            unstable.append(bool(why))
            branch.append(near)
            reasons.append("; ".join(why))
        entry = {
            "name": name,
            "method": method,
            "options": options,
            "score": score,
            "attribution": encode(ref["attribution"]),
            "unstable": unstable,
            "float32Deviation": deviation,
        }
        if "gap" in ref:
            entry["baselineScores"] = [float(v) for v in ref["baselineScores"]]
            entry["gap"] = [float(v) for v in ref["gap"]]
        if any(unstable):
            entry["unstableReasons"] = reasons
        if any(branch):
            entry["nearBranch"] = branch
        cases.append(entry)
        print(f"  {cam.name:13s} {name:22s} deviation {max(deviation):.2g}"
              + (f"  unstable: {reasons}" if any(unstable) else ""))

    data = {
        "name": cam.name,
        "model": f"src/cam/fixtures/{cam.name}.onnx",
        "description": cam.description,
        "input": {"name": "input", "dims": list(x.shape)},
        "classes": classes,
        "seed": SEED,
        "encoding": "float32 little-endian, zlib-compressed, base64",
        "inputData": encode(x),
        "logits": encode(logits),
        "cases": cases,
    }
    if with_extras:
        data["customBaseline"] = encode(custom)
    with open(os.path.join(out_dir, f"{cam.name}.json"), "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="fixture names to (re)generate")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cf.self_check_random()
    os.makedirs(args.out, exist_ok=True)
    for i, cam in enumerate(cf.SPECS):
        if args.only and cam.name not in args.only:
            continue
        make_fixture(cam, args.out, with_extras=i == 0)
        size = os.path.getsize(os.path.join(args.out, f"{cam.name}.json")) / 1024
        print(f"{cam.name}: {size:.1f} KiB")


if __name__ == "__main__":
    main()
