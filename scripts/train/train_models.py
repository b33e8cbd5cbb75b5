#!/usr/bin/env python3
"""Train camscope's bundled default models on its synthetic shapes dataset and export them to ONNX.

    /usr/bin/python3 scripts/train/train_models.py --model all --out models

For each model: exports the train / val / test splits with the TypeScript generator
(scripts/export-synthetic.ts, two-object share 0), loads the PNGs once into uint8 tensors, trains
with dihedral augmentation (the class of an object is its outline alone, drawn at any rotation, and
every class outline is mirror-symmetric, so flips and quarter turns keep the label), keeps the
epoch with the best validation accuracy, exports models/<name>.onnx (opset 13, input "input"
N x 3 x 128 x 128, output "logits", dynamic batch), checks the ONNX graph against PyTorch with
onnxruntime-node (scripts/train/run_onnx.mjs), measures held-out accuracy on the test split with the
exported graph, and writes the model card models/<name>.json.

See scripts/train/README.md for the settings used and the measured results.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "scripts/train/train_models.py"
SIZE = 128
OPSET = 13
FEATURES = "features"  # ONNX value name given to the last spatial activation

DESCRIPTIONS = {
    "synth-vgg": "Plain VGG-style CNN (3x3 Conv + ReLU stacks with 2x2 max pooling, no normalisation "
    "layers: the BatchNorms used in training are folded into the convolutions), global average "
    "pooling and one Linear layer, trained on camscope's synthetic shapes.",
    "synth-resnet": "Small ResNet (BasicBlocks with BatchNorm, identity and 1x1-projection shortcuts), "
    "global average pooling and one Linear layer, trained on camscope's synthetic shapes. "
    "BatchNormalization nodes are kept in the graph.",
    "synth-mobilenet": "Small MobileNetV2-style CNN (depthwise-separable inverted residual blocks, "
    "BatchNorm folded into the convolutions, ReLU6 as Clip), global average pooling and one "
    "Linear layer, trained on camscope's synthetic shapes.",
}

# Per-model defaults: about 10 minutes of training each on two otherwise idle CPU cores.
DEFAULTS = {
    "synth-vgg": {"epochs": 15, "lr": 2e-3},
    "synth-resnet": {"epochs": 15, "lr": 2e-3},
    "synth-mobilenet": {"epochs": 12, "lr": 3e-3},
}


def log(message: str) -> None:
    print(message, flush=True)


# --- data ----------------------------------------------------------------------------------------


def export_split(data_dir: Path, split: str, seed: int, count: int) -> dict:
    """Images (N x 3 x H x W uint8), labels (N int64) and class names of one split, exported with
    the TypeScript generator; cached as a .pt file next to the exported PNGs."""
    out = data_dir / f"{split}-seed{seed}-n{count}"
    cache = out / "tensors.pt"
    if cache.exists():
        return torch.load(cache)
    if out.exists():
        shutil.rmtree(out)
    command = [
        "node", "--import", "tsx", "scripts/export-synthetic.ts",
        "--out", str(out), "--split", split, "--count", str(count), "--seed", str(seed),
        "--two-object-share", "0", "--size", str(SIZE),
    ]  # fmt: skip
    started = time.time()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    dataset_hash = done.stdout.strip().splitlines()[-1]  # the CLI's last stdout line
    with open(out / "annotations.json") as f:
        coco = json.load(f)
    categories = sorted(coco["categories"], key=lambda c: c["id"])
    index_of = {c["id"]: k for k, c in enumerate(categories)}
    classes = [c["name"] for c in categories]
    per_image: dict[int, list[int]] = {}
    for a in coco["annotations"]:
        per_image.setdefault(a["image_id"], []).append(index_of[a["category_id"]])
    entries = coco["images"]
    images = np.empty((len(entries), SIZE, SIZE, 3), np.uint8)
    labels = np.empty(len(entries), np.int64)
    for k, entry in enumerate(entries):
        path = out / entry["file_name"]
        if not path.exists():
            path = out / "images" / entry["file_name"]
        with Image.open(path) as image:
            images[k] = np.asarray(image.convert("RGB"))
        cats = per_image.get(entry["id"], [])
        if len(cats) != 1:
            raise ValueError(f"{path}: expected one object, found {len(cats)}")
        labels[k] = cats[0]
    data = {
        "images": torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        "labels": torch.from_numpy(labels),
        "classes": classes,
        "hash": dataset_hash,
    }
    torch.save(data, cache)
    log(f"exported {split} (seed {seed}, {count} images, hash {dataset_hash}) in "
        f"{time.time() - started:.1f} s")  # fmt: skip
    return data


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> (x / 255 - 0.5) / 0.5, as the model card's preprocessing says."""
    return (images.float() / 255.0 - 0.5) / 0.5


def dihedral(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image of the batch under one of the 8 flips / quarter turns, drawn independently."""
    ops = torch.randint(0, 8, (x.shape[0],), generator=generator)
    out = torch.empty_like(x)
    for op in range(8):
        idx = (ops == op).nonzero().squeeze(1)
        if idx.numel() == 0:
            continue
        part = x[idx]
        if op & 4:
            part = part.flip(3)
        out[idx] = torch.rot90(part, op & 3, (2, 3))
    return out


# --- training ------------------------------------------------------------------------------------


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, batch: int = 250) -> torch.Tensor:
    model.eval()
    logits = []
    for start in range(0, images.shape[0], batch):
        x = normalise(images[start : start + batch]).contiguous(memory_format=torch.channels_last)
        logits.append(model(x))
    return torch.cat(logits)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item()


def train(name: str, args: argparse.Namespace, train_set: dict, val_set: dict) -> tuple:
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    num_classes = len(train_set["classes"])
    model = models.build(name, num_classes).to(memory_format=torch.channels_last)
    epochs = args.epochs or DEFAULTS[name]["epochs"]
    lr = args.lr or DEFAULTS[name]["lr"]
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0}],
        lr=lr,
    )
    images, labels = train_set["images"], train_set["labels"]
    n = images.shape[0]
    steps_per_epoch = n // args.batch_size
    total = epochs * steps_per_epoch
    warmup = max(1, int(0.05 * total))

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to zero
        if step < warmup:
            return lr * (step + 1) / warmup
        return lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))

    best = (-1.0, -1, None)
    history = []
    started = time.time()
    cpu_started = time.process_time()
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        loss_sum, correct = 0.0, 0
        epoch_started = time.time()
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            x = dihedral(normalise(images[idx]), generator).contiguous(memory_format=torch.channels_last)
            y = labels[idx]
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += loss.item() * y.shape[0]
            correct += (logits.argmax(1) == y).sum().item()
        seen = steps_per_epoch * args.batch_size
        val_acc = accuracy(predict(model, val_set["images"]), val_set["labels"])
        history.append(
            {"epoch": epoch, "loss": loss_sum / seen, "train": correct / seen, "val": val_acc}
        )
        log(
            f"{name} epoch {epoch}/{epochs}: loss {loss_sum / seen:.4f} train {correct / seen:.4f} "
            f"val {val_acc:.4f} ({time.time() - epoch_started:.0f} s)"
        )
        if val_acc >= best[0]:  # ties go to the later, better-converged epoch
            best = (val_acc, epoch, {k: v.clone() for k, v in model.state_dict().items()})
    seconds = time.time() - started
    cpu_seconds = time.process_time() - cpu_started
    model.load_state_dict(best[2])
    model.eval()
    if name == "synth-vgg":
        # Merge the training-time BatchNorms into the convs: a plain Conv + ReLU + MaxPool network.
        before = predict(model, val_set["images"])
        model = models.fold_batchnorm(model).to(memory_format=torch.channels_last)
        diff = (predict(model, val_set["images"]) - before).abs().max().item()
        log(f"{name}: folded BatchNorm into the convs, max |logit change| {diff:.2e}")
        if diff > 1e-3:
            raise RuntimeError("folding BatchNorm changed the model")
    return model, {"epochs": epochs, "lr": lr, "bestEpoch": best[1], "valAccuracy": best[0],
                   "seconds": seconds, "cpuSeconds": cpu_seconds, "history": history}  # fmt: skip


# --- export --------------------------------------------------------------------------------------


def export_onnx(model: torch.nn.Module, path: Path, keep_batchnorm: bool) -> onnx.ModelProto:
    model = model.to(memory_format=torch.contiguous_format).eval()
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    # TrainingMode.PRESERVE on an eval-mode model exports it as is (running statistics, no
    # dropout) but skips the eval-mode peephole pass that folds BatchNorm into the preceding Conv.
    training = torch.onnx.TrainingMode.PRESERVE if keep_batchnorm else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        # PRESERVE warns about constant folding in case the model is in training mode; it is not.
        warnings.filterwarnings("ignore", message=".*constant folding.*")
        torch.onnx.export(
            model, dummy, str(path), opset_version=OPSET, input_names=["input"],
            output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            training=training, do_constant_folding=True,
        )  # fmt: skip
    graph_model = onnx.load(str(path))
    graph = graph_model.graph
    # Constant nodes (Clip's min / max for ReLU6) become initializers, like the weights.
    constants = [node for node in graph.node if node.op_type == "Constant"]
    for node in constants:
        (attribute,) = node.attribute
        if attribute.name != "value":
            raise RuntimeError(f"unexpected Constant attribute {attribute.name}")
        tensor = onnx.TensorProto()
        tensor.CopyFrom(attribute.t)
        tensor.name = node.output[0]
        graph.initializer.append(tensor)
        graph.node.remove(node)
    # The exporter shares equal parameters (say, two all-zero BatchNorm biases) through Identity
    # nodes; give each its own initializer instead.
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    for node in [node for node in graph.node if node.op_type == "Identity"]:
        if node.input[0] not in initializers:
            raise RuntimeError(f"unexpected Identity node {node.name}")
        tensor = onnx.TensorProto()
        tensor.CopyFrom(initializers[node.input[0]])
        tensor.name = node.output[0]
        graph.initializer.append(tensor)
        graph.node.remove(node)
    pools = [node for node in graph.node if node.op_type == "GlobalAveragePool"]
    if len(pools) != 1:
        raise RuntimeError(f"expected one GlobalAveragePool, found {len(pools)}")
    old = pools[0].input[0]
    # Give the last spatial activation (the CAM layer) a readable name.
    for node in graph.node:
        node.input[:] = [FEATURES if v == old else v for v in node.input]
        node.output[:] = [FEATURES if v == old else v for v in node.output]
    for info in graph.value_info:
        if info.name == old:
            info.name = FEATURES
    producer = next(node for node in graph.node if FEATURES in node.output)
    graph_model.producer_name = "camscope scripts/train/train_models.py (torch " + torch.__version__ + ")"
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(path))
    log(f"exported {path} ({path.stat().st_size} bytes); {FEATURES} = output of {producer.op_type} "
        f"{producer.name}")  # fmt: skip
    return graph_model


def run_onnxruntime(path: Path, images: torch.Tensor, workdir: Path) -> torch.Tensor:
    """Logits of the exported graph under onnxruntime-node."""
    x = normalise(images).numpy().astype(np.float32)
    inputs = workdir / "onnx-input.f32"
    outputs = workdir / "onnx-output.f32"
    x.tofile(inputs)
    command = ["node", "scripts/train/run_onnx.mjs", str(path), str(inputs), *map(str, x.shape), str(outputs)]
    subprocess.run(command, cwd=REPO, check=True)
    out = torch.from_numpy(np.fromfile(outputs, np.float32)).reshape(x.shape[0], -1)
    inputs.unlink()
    outputs.unlink()
    return out


def op_counts(graph_model: onnx.ModelProto) -> dict:
    counts: dict[str, int] = {}
    for node in graph_model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="all", choices=[*models.FAMILIES, "all"])
    parser.add_argument("--epochs", type=int, default=0, help="default: per model (see DEFAULTS)")
    parser.add_argument("--lr", type=float, default=0, help="peak AdamW learning rate; default per model")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation, order, augmentation")
    parser.add_argument("--out", type=Path, default=REPO / "models", help="where <name>.onnx/.json go")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="keep the exported splits here and reuse them (default: a temp dir)")  # fmt: skip
    parser.add_argument("--train-count", type=int, default=10000)
    parser.add_argument("--train-seed", type=int, default=1)
    parser.add_argument("--val-count", type=int, default=1000)
    parser.add_argument("--val-seed", type=int, default=2)
    parser.add_argument("--test-count", type=int, default=2000)
    parser.add_argument("--test-seed", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-export", action="store_true", help="train and evaluate only")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="no training: accuracy of the existing <out>/<name>.onnx on the val and "
                        "test splits under onnxruntime-node, and its op types")  # fmt: skip
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    names = list(models.FAMILIES) if args.model == "all" else [args.model]
    temp = None
    if args.data_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="camscope-train-")
        data_dir = Path(temp.name)
    else:
        data_dir = args.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
    try:
        val_set = export_split(data_dir, "val", args.val_seed, args.val_count)
        test_set = export_split(data_dir, "test", args.test_seed, args.test_count)
        if args.evaluate_only:
            for name in names:
                path = args.out / f"{name}.onnx"
                accs = [
                    accuracy(run_onnxruntime(path, s["images"], data_dir), s["labels"])
                    for s in (val_set, test_set)
                ]
                log(f"{name}: val {accs[0]:.4f}, test {accs[1]:.4f} (onnxruntime-node), "
                    f"{path.stat().st_size} bytes, ops {op_counts(onnx.load(str(path)))}")  # fmt: skip
            return
        train_set = export_split(data_dir, "train", args.train_seed, args.train_count)
        classes = train_set["classes"]
        assert val_set["classes"] == classes and test_set["classes"] == classes
        args.out.mkdir(parents=True, exist_ok=True)
        for name in names:
            model, info = train(name, args, train_set, val_set)
            val_acc = accuracy(predict(model, val_set["images"]), val_set["labels"])
            test_logits = predict(model, test_set["images"])
            test_acc = accuracy(test_logits, test_set["labels"])
            params = sum(p.numel() for p in model.parameters())
            log(f"{name}: best epoch {info['bestEpoch']}, val {val_acc:.4f}, test {test_acc:.4f} "
                f"(PyTorch), {params} parameters, {info['seconds']:.0f} s training "
                f"({info['cpuSeconds']:.0f} CPU s)")  # fmt: skip
            if args.no_export:
                continue
            family = models.FAMILIES[name][0]
            path = args.out / f"{name}.onnx"
            graph_model = export_onnx(model, path, keep_batchnorm=name == "synth-resnet")
            ops = op_counts(graph_model)
            if name == "synth-resnet" and "BatchNormalization" not in ops:
                raise RuntimeError("synth-resnet lost its BatchNormalization nodes")
            onnx_logits = run_onnxruntime(path, test_set["images"], data_dir)
            max_diff = (onnx_logits - test_logits).abs().max().item()
            onnx_acc = accuracy(onnx_logits, test_set["labels"])
            agree = (onnx_logits.argmax(1) == test_logits.argmax(1)).float().mean().item()
            log(f"{name}: onnxruntime test accuracy {onnx_acc:.4f}, max |logit diff| vs PyTorch "
                f"{max_diff:.2e}, argmax agreement {agree:.4f}; ops {ops}")  # fmt: skip
            if max_diff > 1e-3:
                raise RuntimeError(f"ONNX logits differ from PyTorch by {max_diff}")
            card = {
                "name": name,
                "family": family,
                "description": DESCRIPTIONS[name],
                "labels": classes,
                "input": {"name": "input", "dims": [None, 3, SIZE, SIZE]},
                "output": "logits",
                "preprocessing": {
                    "size": [SIZE, SIZE], "resize": "stretch", "scale": 1 / 255,
                    "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                    "layout": "NCHW", "channelOrder": "RGB",
                },  # fmt: skip
                "defaultLayer": FEATURES,
                "heldOutAccuracy": round(onnx_acc, 4),
                "validationAccuracy": round(val_acc, 4),
                "evaluation": {"split": "test", "seed": args.test_seed, "count": args.test_count,
                               "twoObjectShare": 0, "datasetHash": test_set["hash"]},  # fmt: skip
                "training": {
                    "script": SCRIPT,
                    "epochs": info["epochs"],
                    "bestEpoch": info["bestEpoch"],
                    "seed": args.seed,
                    "trainSplit": "train",
                    "trainSeed": args.train_seed,
                    "trainCount": args.train_count,
                    "trainDatasetHash": train_set["hash"],
                    "validation": {"split": "val", "seed": args.val_seed, "count": args.val_count,
                                   "accuracy": round(val_acc, 4)},  # fmt: skip
                    "optimizer": f"AdamW lr {info['lr']:g} wd {args.weight_decay:g}, warm-up + cosine, "
                    f"batch {args.batch_size}, label smoothing {args.label_smoothing:g}",
                    "augmentation": "random flips and quarter turns",
                    "seconds": round(info["seconds"]),
                    "cpuSeconds": round(info["cpuSeconds"]),
                    "torch": torch.__version__,
                },
                "parameters": params,
                "opset": OPSET,
            }
            with open(args.out / f"{name}.json", "w") as f:
                json.dump(card, f, indent=2)
                f.write("\n")
            log(f"wrote {args.out / (name + '.json')}")
    finally:
        if temp is not None:
            temp.cleanup()


if __name__ == "__main__":
    main()
