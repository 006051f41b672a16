"""Alignment accuracy against ground-truth pupil positions.

For an image with hand-placed pupils ``P_L``, ``P_R`` (source pixels) and the alignment matrix
``M`` chosen from dlib's landmarks, the pupils in the crop are ``M·P``; the alignment is judged by

- the residual tilt ``atan2(Δy, Δx)`` of the crop pupil line (degrees; 0 = level), and
- the ratio ``|M·P_R − M·P_L| / (size / crop_scale)`` of the crop pupil distance to its target.

Used by ``tests/test_faces_accuracy.py`` and ``benchmarks/faces_accuracy.py`` (London set:
points 0 and 1 of ``landmarks_189.csv`` are the pupils) and by the demo's ground truth.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from synthfer.faces.align import align_face, apply_matrix, rotate_expand
from synthfer.faces.settings import FaceSettings
from synthfer.imaging import load_rgb
from synthfer.io import PathLike


def pupil_metrics(matrix: np.ndarray, left, right, target_iod: float) -> tuple[float, float]:
    """``(tilt_deg, iod_ratio)`` of the true pupils after applying ``matrix``."""
    q = apply_matrix(matrix, [left, right])
    dx, dy = q[1] - q[0]
    return math.degrees(math.atan2(dy, dx)), float(math.hypot(dx, dy) / target_iod)


def london_pupils(root: PathLike) -> Any:
    """London set pupils: DataFrame ``image`` (path relative to ``root``), ``lx, ly, rx, ry``."""
    import pandas as pd

    lm = pd.read_csv(Path(root) / "landmarks_189.csv")
    lm = lm[lm["point"].isin([0, 1])]
    wide = lm.pivot(index="image", columns="point", values=["x", "y"])
    return pd.DataFrame(
        {"image": wide.index, "lx": wide[("x", 0)].to_numpy(), "ly": wide[("y", 0)].to_numpy(),
         "rx": wide[("x", 1)].to_numpy(), "ry": wide[("y", 1)].to_numpy()}
    ).reset_index(drop=True)  # fmt: skip


def rotate_with_points(rgb: np.ndarray, angle_deg: float, points) -> tuple[np.ndarray, np.ndarray]:
    """Rotate ``rgb`` by ``angle_deg`` (counter-clockwise as seen) on an enlarged canvas; return the
    image and the mapped ``points``."""
    out, m = rotate_expand(rgb, angle_deg)
    return out, apply_matrix(m, points)


def evaluate(
    items: Iterable[tuple[str, np.ndarray | PathLike, tuple[float, float], tuple[float, float]]],
    settings: FaceSettings | None = None,
    rotations: Iterable[float] = (0.0,),
) -> Any:
    """Align each ``(name, image_or_path, left_pupil, right_pupil)`` at each extra rotation.

    Returns a DataFrame: ``name, rotation, status, reason, detector, tilt, iod_ratio`` (tilt and ratio NaN
    when rejected).
    """
    import pandas as pd

    settings = settings or FaceSettings()
    rows = []
    for name, src, left, right in items:
        rgb = src if isinstance(src, np.ndarray) else load_rgb(src)
        for rot in rotations:
            img, pts = (rgb, np.array([left, right], dtype=np.float64))
            if rot:
                img, pts = rotate_with_points(rgb, rot, pts)
            res = align_face(img, settings)
            tilt = ratio = float("nan")
            if res.status == "ok":
                tilt, ratio = pupil_metrics(res.matrix, pts[0], pts[1], settings.target_iod)
            rows.append({"name": name, "rotation": float(rot), "status": res.status, "reason": res.reason,
                         "detector": res.detector, "tilt": tilt, "iod_ratio": ratio})  # fmt: skip
    return pd.DataFrame(rows)


def summarise(df: Any, max_tilt: float = 1.5, max_iod_err: float = 0.05) -> dict[str, float]:
    """Share of images aligned, level within ``max_tilt``° and with pupil distance within ±``max_iod_err``.

    Shares are over *all* rows (a rejected image counts as a failure).
    """
    n = max(len(df), 1)
    ok = df["status"] == "ok"
    return {
        "n": int(len(df)),
        "aligned": float(ok.sum() / n),
        "level": float(((df["tilt"].abs() <= max_tilt) & ok).sum() / n),
        "iod_within": float((((df["iod_ratio"] - 1).abs() <= max_iod_err) & ok).sum() / n),
        "max_abs_tilt": float(df.loc[ok, "tilt"].abs().max()) if ok.any() else float("nan"),
        "median_abs_tilt": float(df.loc[ok, "tilt"].abs().median()) if ok.any() else float("nan"),
        "iod_ratio_min": float(df.loc[ok, "iod_ratio"].min()) if ok.any() else float("nan"),
        "iod_ratio_max": float(df.loc[ok, "iod_ratio"].max()) if ok.any() else float("nan"),
    }
