"""Real reference crops for the full-reference metrics.

The aligned real crops (256², RGB) are resized **once** to the synthetic images' size (H, W) — the GAN's
resolution ``gan.resolution``², a rule param, so the references (and the real FID statistics made from them)
depend only on the crops and that resolution and are ready before anything is generated:
``cv2.INTER_AREA`` (pixel-area averaging, alias-free) when shrinking, ``cv2.INTER_CUBIC`` when
enlarging. Two references are offered per synthetic image:

- ``nearest`` (default): the real crop nearest in pixel space at low resolution — every image and
  every crop shrunk to ``nearest_size``² (INTER_AREA), flattened to float vectors on [0, 255];
  the squared distances ``‖a‖² + ‖b‖² − 2·a·b`` of a whole batch against all crops come from one
  matrix product; ties go to the crop whose name sorts first.
- ``mean``: the per-pixel mean of the resized crops, rounded to uint8 (the metrics and Canny need
  8-bit values).

``references.npz`` (written by rule ``iqa_references``): ``names`` [R] str, ``images`` [R,H,W,3]
uint8, ``mean`` [H,W,3] uint8, ``lowres`` [R, s·s·3] float32, ``size`` [2] int (H, W),
``nearest_size`` int.
"""

from __future__ import annotations

import numpy as np

from synthfer.imaging import ImageReadError, list_images, load_rgb
from synthfer.io import PathLike, save_npz, sidecar_path, write_json
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)
MEAN_NAME = "__mean__"


def resize_to(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize one uint8 image to ``size`` = (H, W): INTER_AREA to shrink, INTER_CUBIC to enlarge."""
    import cv2

    h, w = size
    if rgb.shape[:2] == (h, w):
        return rgb
    interp = cv2.INTER_AREA if (h <= rgb.shape[0] and w <= rgb.shape[1]) else cv2.INTER_CUBIC
    return cv2.resize(rgb, (w, h), interpolation=interp)


def lowres_vectors(images: np.ndarray, s: int) -> np.ndarray:
    """``[N,H,W,3]`` uint8 → ``[N, s·s·3]`` float32 (INTER_AREA thumbnails)."""
    if len(images) == 0:
        return np.zeros((0, s * s * 3), np.float32)
    return np.stack([resize_to(im, (s, s)).astype(np.float32).ravel() for im in images])


def build_references(
    crops_dir: PathLike,
    out_npz: PathLike,
    size: tuple[int, int],
    nearest_size: int = 16,
    out_summary: PathLike | None = None,
) -> dict:
    """Load every real crop, resize it to ``size``, write ``references.npz`` and the summary JSON
    ``out_summary`` (rule ``iqa_references``: ``results/iqa/references.json``)."""
    files = list_images(crops_dir)
    if not files:
        raise FileNotFoundError(f"no real crops in {crops_dir}")
    images, names, skipped = [], [], []
    prog = Progress(log, len(files), "reference crops")
    for f in files:
        try:
            images.append(resize_to(load_rgb(f), size))
            names.append(f.stem)
        except ImageReadError as exc:
            log.warning("skipping reference %s", exc)
            skipped.append({"file": f.name, "reason": exc.reason})
        prog.update()
    if not images:
        raise ValueError(f"{crops_dir}: none of the {len(files)} crops could be read")
    arr = np.stack(images)
    mean = np.clip(np.rint(arr.astype(np.float64).mean(axis=0)), 0, 255).astype(np.uint8)
    save_npz(
        out_npz,
        names=np.array(names),
        images=arr,
        mean=mean,
        lowres=lowres_vectors(arr, nearest_size),
        size=np.array(size),
        nearest_size=np.array(nearest_size),
    )
    summary = {"n_references": len(names), "size": list(size), "nearest_size": nearest_size, "skipped": skipped}
    write_json(sidecar_path(out_summary, out_npz), summary)
    log.info("%d reference crops at %dx%d (%d unreadable)", len(names), size[1], size[0], len(skipped))
    return summary


class References:
    """A loaded ``references.npz``: picks and returns the reference of each synthetic image."""

    def __init__(self, path: PathLike):
        with np.load(path, allow_pickle=False) as f:
            self.names = f["names"].astype(str)
            self.images = f["images"]
            self.mean = f["mean"]
            self.lowres = f["lowres"].astype(np.float64)
            self.size = tuple(int(v) for v in f["size"])
            self.nearest_size = int(f["nearest_size"])
        self._sq = (self.lowres**2).sum(axis=1)

    def nearest(self, images: np.ndarray) -> np.ndarray:
        """Index of the nearest reference (low-resolution L2) for each of ``[N,H,W,3]`` images."""
        q = lowres_vectors(images, self.nearest_size).astype(np.float64)
        d2 = (q**2).sum(axis=1)[:, None] + self._sq[None, :] - 2.0 * q @ self.lowres.T
        return np.argmin(d2, axis=1)

    def pick(self, images: np.ndarray, mode: str) -> tuple[np.ndarray, list[str]]:
        """References ``[N,H,W,3]`` uint8 and their names for ``mode`` ∈ {nearest, mean}."""
        if mode == "nearest":
            idx = self.nearest(images)
            return self.images[idx], [str(self.names[i]) for i in idx]
        if mode == "mean":
            return np.broadcast_to(self.mean, images.shape), [MEAN_NAME] * len(images)
        raise ValueError(f"unknown reference mode {mode!r} (use 'nearest' or 'mean')")
