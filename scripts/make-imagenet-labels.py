#!/usr/bin/env python3
"""Writes src/labels/imagenet.json: the 1000 ImageNet-1k category names in class-index order.

The names come from the installed torchvision (the list its pretrained classifiers use), so a
model exported from torchvision gets matching labels. Run with the system Python:

    /usr/bin/python3 scripts/make-imagenet-labels.py
"""

import json
from pathlib import Path

from torchvision.models._meta import _IMAGENET_CATEGORIES

OUT = Path(__file__).resolve().parent.parent / "src" / "labels" / "imagenet.json"


def main() -> None:
    labels = list(_IMAGENET_CATEGORIES)
    if len(labels) != 1000 or len(set(labels)) != len(labels):
        raise SystemExit(f"expected 1000 distinct ImageNet categories, got {len(labels)}")
    # One label per line keeps diffs readable; the trailing newline matches prettier's output.
    body = ",\n".join("  " + json.dumps(name, ensure_ascii=False) for name in labels)
    OUT.write_text("[\n" + body + "\n]\n", encoding="utf-8")
    print(f"wrote {len(labels)} labels to {OUT}")


if __name__ == "__main__":
    main()
