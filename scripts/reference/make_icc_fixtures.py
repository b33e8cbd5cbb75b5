#!/usr/bin/python3
"""Records how PIL (and so torchvision's image loaders) decode the ICC-tagged test images.

PIL's Image.convert("RGB") ignores embedded ICC profiles; camscope's decoder must give the same
bytes by default. Writes src/io/fixtures/icc/pil.json: per file, the SHA-256 of the RGB bytes,
the size and the profile's length. Run after scripts/make-icc-fixtures.ts:

    /usr/bin/python3 scripts/reference/make_icc_fixtures.py
"""
import hashlib
import json
import os

import numpy as np
from PIL import Image

DIR = os.path.join(os.path.dirname(__file__), "..", "..", "src", "image", "fixtures", "icc")

result = {}
for name in sorted(os.listdir(DIR)):
    if not name.endswith((".png", ".jpg")):
        continue
    with Image.open(os.path.join(DIR, name)) as image:
        profile = image.info.get("icc_profile", b"")
        rgb = np.asarray(image.convert("RGB"))
    result[name] = {
        "width": rgb.shape[1],
        "height": rgb.shape[0],
        "iccBytes": len(profile),
        "sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
    }
with open(os.path.join(DIR, "pil.json"), "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
