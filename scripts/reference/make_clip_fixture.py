"""Reference display-clip thresholds -> src/image/fixtures/clip-thresholds.json.

camscope scales a signed or heavy-tailed map for display by a percentile of |map| over its
pixels: numpy.percentile(np.abs(map), p) with its default linear interpolation. This script
records it on heavy-tailed random maps (float32, like attributions) at several percentiles, and,
for comparison in camscope's docs, Captum's visualize_image_attr threshold of the same name
(outlier_perc = 100 - p), which is one of attribution mass: visualization.py's
_cumulative_sum_threshold returns the first sorted |value| whose running sum reaches
total * 0.01 * p.

    /usr/bin/python3 scripts/reference/make_clip_fixture.py [--out PATH]

Needs numpy only; reruns give identical files.
"""

import argparse
import base64
import json
from pathlib import Path

import numpy as np

PERCENTILES = [50, 90, 95, 98, 99, 99.9, 100]
OUT = Path(__file__).resolve().parents[2] / "src/image/fixtures/clip-thresholds.json"


def cumulative_threshold(values, percentile, dtype):
    """The first sorted |value| whose running sum reaches percentile % of the total."""
    magnitudes = np.sort(np.abs(values).astype(dtype).ravel())
    running = np.cumsum(magnitudes, dtype=dtype)
    first = np.nonzero(running >= running[-1] * 0.01 * percentile)[0][0]
    return float(magnitudes[first])


def maps():
    rng = np.random.default_rng(14)
    # Student t with 1.5 degrees of freedom: finite mean, infinite variance, a few huge values,
    # like gradient maps of photos.
    yield "student-t", rng.standard_t(1.5, size=(48, 48))
    # Mostly small positive values and a handful of outliers of both signs.
    base = rng.exponential(0.05, size=(48, 48)) * rng.choice([-1, 1], size=(48, 48))
    base.flat[rng.choice(base.size, 12, replace=False)] = rng.normal(0, 5, 12)
    yield "sparse-outliers", base
    # Ties and zeros: a few levels, the small ones common.
    levels = [0, 0.25, -0.25, 0.5, -1, 1, 2]
    yield "ties", rng.choice(levels, p=[0.3, 0.2, 0.2, 0.15, 0.07, 0.05, 0.03], size=(32, 32))
    # Light tails, for contrast: every percentile gives a different threshold.
    yield "normal", rng.normal(0, 1, size=(32, 32))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    cases = []
    for name, values in maps():
        values = values.astype("<f4")
        cases.append(
            {
                "name": name,
                "dims": list(values.shape),
                "values": base64.b64encode(values.tobytes()).decode("ascii"),
                "percentiles": PERCENTILES,
                "percentile": [
                    float(np.percentile(np.abs(values.astype(np.float64)), p)) for p in PERCENTILES
                ],
                "captum": [cumulative_threshold(values, p, np.float32) for p in PERCENTILES],
            }
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"source": "scripts/reference/make_clip_fixture.py", "cases": cases}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
