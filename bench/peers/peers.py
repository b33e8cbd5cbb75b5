#!/usr/bin/python3
"""The Python side of camscope's side-by-side peer benchmark (bench/peers.ts drives it).

Runs the peer libraries' explanation methods on the torchvision models that camscope runs as
ONNX exports, same weights, same input, same thread count, and times them. Needs PyTorch and
torchvision (the same versions that made the ONNX exports) and, for each peer, its package:

    torch-cam          pip install "torchcam<0.4"   (0.3.x supports torch 1.x)
    pytorch-grad-cam   pip install grad-cam
    Captum             pip install captum
    Zennit             pip install "zennit<1"       (1.x needs torch 2)

A missing peer is reported by `check` and its rows are skipped by the driver.

    python bench/peers/peers.py check
    python bench/peers/peers.py serve --threads 2 --input INPUT.npy

`serve` reads one JSON request per line on stdin and answers one JSON line on stdout:
    {"cmd": "load", "model": "resnet18", "logits_out": PATH}   logits of the whole input -> .npy
    {"cmd": "run", "model", "peer", "method", "batch", "warmup", "reps", "options", "map_out"}
        -> {"ms": [per-run milliseconds], "classes": [top-1 class per image]}; with map_out, the
        first image's map ([H, W], channels reduced as options.reduction says) -> .npy
Anything the peers print goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO_ROOT, "scripts", "reference"))

# Each peer's module, distribution and install command.
PEERS: Dict[str, Tuple[str, str, str]] = {
    "torch-cam": ("torchcam", "torchcam", 'pip install "torchcam<0.4"'),
    "pytorch-grad-cam": ("pytorch_grad_cam", "grad-cam", "pip install grad-cam"),
    "captum": ("captum", "captum", "pip install captum"),
    "zennit": ("zennit", "zennit", 'pip install "zennit<1"'),
}

# Which peers implement each method.
METHOD_PEERS: Dict[str, List[str]] = {
    "gradcam": ["torch-cam", "pytorch-grad-cam"],
    "gradcam++": ["torch-cam", "pytorch-grad-cam"],
    "eigencam": ["pytorch-grad-cam"],
    "scorecam": ["torch-cam", "pytorch-grad-cam"],
    "ablationcam": ["pytorch-grad-cam"],
    "saliency": ["captum"],
    "guidedbackprop": ["captum"],
    "ig": ["captum"],
    "smoothgrad": ["captum"],
    "lrp": ["zennit"],
}


def check() -> Dict[str, Any]:
    import torchvision

    peers: Dict[str, Any] = {}
    for peer, (module, dist, install) in PEERS.items():
        try:
            mod = importlib.import_module(module)
            try:
                version = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:  # on the path, not installed by pip
                version = getattr(mod, "__version__", "(version unknown: not installed by pip)")
            peers[peer] = {"version": version}
        except Exception as error:  # any import failure means the peer cannot run
            peers[peer] = {"missing": f"{type(error).__name__}: {error}", "install": install}
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "methods": METHOD_PEERS,
        "peers": peers,
    }


def build_model(name: str) -> nn.Module:
    """The model bench/.models/<name>.onnx was exported from (export_bench_models.build)."""
    from export_bench_models import build

    model = build(name)
    # Captum's and Zennit's backward hooks refuse in-place activations; the values are equal.
    for module in model.modules():
        if hasattr(module, "inplace"):
            module.inplace = False
    return model.eval()


def target_layer(model: nn.Module, name: str) -> Tuple[str, nn.Module]:
    """The layer camscope picks by default: the last feature block before global pooling."""
    if name.startswith("resnet"):
        return "layer4", model.layer4
    # MobileNetV2 (last ConvBNReLU6) and VGG-16 (last MaxPool): the output of `features`.
    return "features", model.features


def upsample(cams: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of [N, h, w] maps to the input size (torch-cam returns layer resolution)."""
    return F.interpolate(cams.unsqueeze(1), size=size, mode="bilinear", align_corners=False)[:, 0]


def reduce_channels(attribution: torch.Tensor, reduction: str) -> torch.Tensor:
    """[N, C, H, W] -> [N, H, W] as camscope reduces the method's map."""
    if reduction == "sum":
        return attribution.sum(1)
    if reduction == "max-abs":
        return attribution.abs().amax(1)
    raise ValueError(f"unknown channel reduction {reduction!r}")


class Runner:
    """One peer method on one model, set up once (hooks, composites) and called per run."""

    def __init__(self, fn: Callable[[torch.Tensor], Tuple[torch.Tensor, List[int]]], close=None):
        self.fn = fn
        self.close = close or (lambda: None)


def make_runner(model: nn.Module, model_name: str, peer: str, method: str, options: Dict[str, Any]) -> Runner:
    layer_name, layer = target_layer(model, model_name)
    size = (224, 224)

    def top1(x: torch.Tensor) -> Tuple[torch.Tensor, List[int]]:
        with torch.no_grad():
            out = model(x)
        return out, out.argmax(1).tolist()

    if peer == "torch-cam":
        from torchcam import methods as tc

        cls = {"gradcam": tc.GradCAM, "gradcam++": tc.GradCAMpp, "scorecam": tc.ScoreCAM}[method]
        extractor = cls(model, target_layer=layer_name, input_shape=(3, *size))

        def run(x: torch.Tensor):
            if method == "scorecam":
                # Score-CAM needs the activations of an unperturbed forward pass first.
                out, classes = top1(x)
            else:
                out = model(x)
                classes = out.argmax(1).tolist()
            cams = extractor(classes if len(classes) > 1 else classes[0], out)
            return upsample(cams[0].reshape(len(classes), *cams[0].shape[-2:]), size), classes

        return Runner(run, extractor.remove_hooks)

    if peer == "pytorch-grad-cam":
        import pytorch_grad_cam as pgc

        cls = {
            "gradcam": pgc.GradCAM,
            "gradcam++": pgc.GradCAMPlusPlus,
            "eigencam": pgc.EigenCAM,
            "scorecam": pgc.ScoreCAM,
            "ablationcam": pgc.AblationCAM,
        }[method]
        # The last module of the block, as its README recommends (model.layer4[-1]).
        cam = cls(model=model, target_layers=[layer[-1]])

        def run(x: torch.Tensor):
            maps = cam(input_tensor=x, targets=None)  # None: each image's top class
            classes = cam.outputs.argmax(1).tolist()
            return torch.from_numpy(maps), classes

        return Runner(run, cam.activations_and_grads.release)

    if peer == "captum":
        from captum import attr

        reduction = options["reduction"]
        if method == "saliency":
            explainer = attr.Saliency(model)
            call = lambda x, t: explainer.attribute(x, target=t, abs=True)
        elif method == "guidedbackprop":
            explainer = attr.GuidedBackprop(model)
            call = lambda x, t: explainer.attribute(x, target=t)
        elif method == "ig":
            explainer = attr.IntegratedGradients(model)
            black = torch.tensor(options["black"], dtype=torch.float32).view(1, -1, 1, 1)
            steps = int(options["steps"])

            def call(x, t):
                # camscope's midpoint rule; every step of an image in one batch (Captum's default
                # for batch 1), at most 64 inputs per pass for a batch of images.
                batch = None if x.shape[0] * steps <= 64 else 64
                return explainer.attribute(
                    x,
                    baselines=black.expand_as(x).contiguous(),
                    target=t,
                    n_steps=steps,
                    method="riemann_middle",
                    internal_batch_size=batch,
                )

        elif method == "smoothgrad":
            explainer = attr.NoiseTunnel(attr.Saliency(model))
            samples = int(options["samples"])

            def call(x, t):
                # camscope draws sigma per image; Captum takes one for the tensor: the batch's range.
                sigma = float(options["noise"]) * float(x.max() - x.min())
                return explainer.attribute(
                    x, nt_type="smoothgrad", nt_samples=samples, stdevs=sigma, target=t, abs=False
                )

        else:
            raise ValueError(f"captum has no {method}")

        def run(x: torch.Tensor):
            # Captum needs the targets; the top-1 class costs the forward pass users run first.
            _, classes = top1(x)
            result = call(x.clone().requires_grad_(True), classes)
            return reduce_channels(result.detach(), reduction), classes

        return Runner(run)

    if peer == "zennit":
        from zennit.attribution import Gradient
        from zennit.composites import EpsilonPlusFlat
        from zennit.rules import ZPlus
        from zennit.torchvision import ResNetCanonizer, SequentialMergeBatchNorm
        from zennit.types import Convolution

        canonizer = ResNetCanonizer() if model_name.startswith("resnet") else SequentialMergeBatchNorm()
        # camscope's z+ leaves the bias out of its denominator (relevance is conserved); Zennit's
        # keeps it unless told, and with BatchNorm merged every convolution has one: the same
        # rule on both sides, so the maps compared and timed are one method.
        composite = EpsilonPlusFlat(
            layer_map=[(Convolution, ZPlus(zero_params="bias"))], canonizers=[canonizer]
        )
        attributor = Gradient(model=model, composite=composite)
        attributor.__enter__()
        classes_seen: List[int] = []

        def one_hot_top1(out: torch.Tensor) -> torch.Tensor:
            # Start relevance at each image's top logit in the same pass (no extra forward).
            classes_seen[:] = out.argmax(1).tolist()
            return F.one_hot(out.argmax(1), out.shape[1]).to(out.dtype) * out

        def run(x: torch.Tensor):
            _, relevance = attributor(x.clone().requires_grad_(True), one_hot_top1)
            return reduce_channels(relevance.detach(), "sum"), list(classes_seen)

        return Runner(run, lambda: attributor.__exit__(None, None, None))

    raise ValueError(f"unknown peer {peer!r}")


class Server:
    def __init__(self, input_path: str):
        self.input = torch.from_numpy(np.load(input_path)).float()
        self.models: Dict[str, nn.Module] = {}
        self.runner_key: Optional[Tuple] = None
        self.runner: Optional[Runner] = None

    def model(self, name: str) -> nn.Module:
        if name not in self.models:
            # One model at a time: the bench goes model by model, and four held at once (with
            # their peers' hooks and buffers) only crowd the machine the timings are taken on.
            self.models.clear()
            self.models[name] = build_model(name)
        return self.models[name]

    def load(self, request: Dict[str, Any]) -> Dict[str, Any]:
        model = self.model(request["model"])
        with torch.no_grad():
            logits = model(self.input).numpy()
        np.save(request["logits_out"], logits.astype(np.float32))
        return {"classes": logits.argmax(1).tolist()}

    def run(self, request: Dict[str, Any]) -> Dict[str, Any]:
        key = (request["model"], request["peer"], request["method"], json.dumps(request["options"], sort_keys=True))
        if key != self.runner_key:
            if self.runner:
                self.runner.close()
            self.runner = None  # a failed setup must not leave the old runner's key behind
            self.runner_key = None
            model = self.model(request["model"])
            self.runner = make_runner(model, request["model"], request["peer"], request["method"], request["options"])
            self.runner_key = key
        x = self.input[: request["batch"]].contiguous()
        for _ in range(request["warmup"]):
            self.runner.fn(x)
        times: List[float] = []
        maps, classes = None, []
        for _ in range(request["reps"]):
            start = time.perf_counter()
            maps, classes = self.runner.fn(x)
            times.append((time.perf_counter() - start) * 1000)
        if request.get("map_out") and maps is not None:
            np.save(request["map_out"], np.asarray(maps[0], dtype=np.float32))
        return {"ms": times, "classes": classes}


def serve(threads: int, input_path: str) -> None:
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    out = sys.stdout
    server = Server(input_path)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                handler = {"check": lambda r: check(), "load": server.load, "run": server.run}[request["cmd"]]
                reply = handler(request)
        except Exception as error:  # reported to the driver, which names the row and goes on
            reply = {"error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="print the versions of torch and of each peer as JSON")
    s = sub.add_parser("serve", help="answer benchmark requests on stdin")
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--input", required=True, help="[N, 3, 224, 224] float32 .npy")
    args = parser.parse_args()
    if args.cmd == "check":
        print(json.dumps(check()))
    else:
        serve(args.threads, args.input)


if __name__ == "__main__":
    main()
