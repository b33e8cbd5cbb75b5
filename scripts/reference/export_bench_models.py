#!/usr/bin/python3
"""Export full-size torchvision classifiers with random weights to ONNX for benchmarks.

No weights are downloaded (weights=None). Every model is exported at opset 13 by
default, for 3x224x224 inputs with a dynamic batch axis, input "input" and output
"logits", with BatchNorm folded into Conv (plain eval-mode export).

    /usr/bin/python3 scripts/reference/export_bench_models.py [--out DIR] [--models NAME ...]

The default folder, bench/.models/, is git-ignored.
"""

from __future__ import annotations

import argparse
import os
import warnings
from typing import Callable, Dict

import torch
import torch.nn as nn
from torchvision import models

from make_gradient_fixtures import randomize_batchnorm

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "bench", ".models")
SIZE = 224

BUILDERS: Dict[str, Callable[[], nn.Module]] = {
    "resnet18": lambda: models.resnet18(weights=None),
    "resnet50": lambda: models.resnet50(weights=None),
    "vgg16": lambda: models.vgg16(weights=None),
    "mobilenet_v2": lambda: models.mobilenet_v2(weights=None),
    "vit_b_16": lambda: models.vit_b_16(weights=None),
    "convnext_tiny": lambda: models.convnext_tiny(weights=None),
}


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    model = BUILDERS[name]()
    # Realistic BatchNorm statistics keep activations well scaled (no Inf/denormals that
    # would distort timings); VGG16 has no BatchNorm.
    randomize_batchnorm(model, SIZE, SIZE, batch=2, passes=2)
    return model.eval()


def export(name: str, out_dir: str, opset: int) -> str:
    model = build(name)
    path = os.path.join(out_dir, f"{name}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            torch.randn(1, 3, SIZE, SIZE),
            path,
            opset_version=opset,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument(
        "--models", nargs="*", default=["resnet50", "vgg16", "mobilenet_v2"], choices=list(BUILDERS)
    )
    parser.add_argument("--opset", type=int, default=13)
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    # Not under torch.no_grad(): there torch 1.13's nn.MultiheadAttention takes its fused fast
    # path (aten::_native_multi_head_attention), which the ONNX exporter cannot write.
    for name in args.models:
        path = export(name, args.out, args.opset)
        print(f"{path}  {os.path.getsize(path) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
