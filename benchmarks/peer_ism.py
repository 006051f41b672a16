"""Run image-similarity-measures (ISM) on image pairs — executed by the PEER venv's Python only.

    .venv-peers/bin/python benchmarks/peer_ism.py pairs.npz out.json [--time]

``pairs.npz`` holds ``x`` and ``y``: ``[N, H, W, C]`` uint8. For each pair and metric this calls ISM
*correctly* for 8-bit data (``max_p=255`` where the function takes it, float64 inputs) and also the
ISSM variant our definition agrees with (``issm(16·X, 16·Y)``, see docs/iqa.md). With ``--time`` it
records the seconds per pair per metric as well. Used by tests/test_iqa_peers.py and
benchmarks/iqa_speed.py; it imports nothing from synthfer (different numpy/scikit-image).
"""

import json
import sys
import time

import numpy as np
from image_similarity_measures import quality_metrics as ism

CALLS = {
    "rmse": lambda x, y: ism.rmse(x, y, max_p=255),
    "psnr": lambda x, y: ism.psnr(x, y, max_p=255),
    "ssim": lambda x, y: ism.ssim(x, y, max_p=255),
    "issm": lambda x, y: ism.issm(x, y),
    "issm_x16": lambda x, y: ism.issm(16.0 * x, 16.0 * y),
    "sam": lambda x, y: ism.sam(x, y),
    "uiq": lambda x, y: ism.uiq(x, y),
}


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    timing = "--time" in sys.argv[3:]
    only = [a.split("=", 1)[1].split(",") for a in sys.argv[3:] if a.startswith("--metrics=")]
    names = only[0] if only else list(CALLS)
    with np.load(src) as f:
        xs, ys = f["x"], f["y"]
    values = {k: [] for k in names}
    seconds = {k: 0.0 for k in names}
    for x, y in zip(xs, ys, strict=True):
        xf, yf = x.astype(np.float64), y.astype(np.float64)
        for k in names:
            t0 = time.perf_counter()
            values[k].append(float(CALLS[k](xf, yf)))
            seconds[k] += time.perf_counter() - t0
    out = {"values": values}
    if timing:
        out["seconds_per_pair"] = {k: v / len(xs) for k, v in seconds.items()}
    with open(dst, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
