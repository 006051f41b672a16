"""Cached feature sets for FID/KID (one file per image set, named by its extractor).

- ``results/iqa/features/{extractor}/real.npz``: the real crops *after* resizing to the synthetic
  size (the same arrays as ``references.npz``, so real and synthetic images reach the extractor at
  the same resolution) — ``names`` [R] str, ``features`` [R, d] float64, ``mu`` [d], ``sigma``
  [d, d] (the cached statistics), ``extractor`` str.
- ``results/iqa/features/{extractor}/batch_{b:04d}.npz``: ``names`` [n] str, ``features`` [n, d]
  float64, ``extractor`` str, for the images of one scoring batch that could be read (the others
  are listed in the ``.json`` sidecar with their reason).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthfer.imaging import ImageReadError
from synthfer.io import PathLike, provenance, read_table, save_npz, sidecar_path, write_json
from synthfer.iqa.fid import Extractor, feature_stats
from synthfer.logs import Progress, get_logger
from synthfer.runtime import set_threads

log = get_logger(__name__)


def real_features(
    references_npz: PathLike,
    out_npz: PathLike,
    extractor: str,
    weights: PathLike | None = None,
    device: str = "auto",
    threads: int | None = None,
    out_summary: PathLike | None = None,
) -> dict:
    """Features + (μ, Σ) of the resized real crops; the extractor's description, count and provenance go to
    ``out_summary`` (rule ``fid_features_real``: ``results/iqa/features/{extractor}/real.json``)."""
    ex = Extractor(extractor, weights=weights, device=device)
    set_threads(threads, opencv=True, import_torch=False)
    with np.load(references_npz, allow_pickle=False) as f:
        names, images = f["names"].astype(str), f["images"]
    prog = Progress(log, len(images), f"real {extractor} features")
    feats = []
    for i in range(0, len(images), 100):
        feats.append(ex(images[i : i + 100]))
        prog.update(len(feats[-1]))
    feats = np.concatenate(feats)
    mu, sigma = feature_stats(feats)
    save_npz(out_npz, names=names, features=feats, mu=mu, sigma=sigma, extractor=np.array(extractor))
    info = {**ex.describe(), "n": len(names), "provenance": provenance()}
    write_json(sidecar_path(out_summary, out_npz), info)
    return info


def batch_features(
    batches_csv: PathLike,
    batch: int,
    synthetic_root: PathLike,
    references_npz: PathLike,
    out_npz: PathLike,
    extractor: str,
    weights: PathLike | None = None,
    device: str = "auto",
    threads: int | None = None,
    out_summary: PathLike | None = None,
) -> dict:
    """Features of one batch's synthetic images (bad files skipped and listed, never fatal).
    Images must have the size of the reference crops in ``references_npz``. The description, counts and
    skipped files go to ``out_summary`` (rule ``fid_features_batch``: ``…/batch_{batch}.json``)."""
    from synthfer.iqa.score import read_synthetic

    with np.load(references_npz, allow_pickle=False) as f:
        size = tuple(int(v) for v in f["size"])
    ex = Extractor(extractor, weights=weights, device=device)
    set_threads(threads, opencv=True, import_torch=False)
    table = read_table(batches_csv)
    rows = table[table["batch"] == batch].sort_values("position")
    if rows.empty:
        raise ValueError(f"{batches_csv}: batch {batch} is empty or absent")
    names, feats, skipped = [], [], []
    pending_names, pending = [], []
    prog = Progress(log, len(rows), f"batch {batch:04d} {extractor} features")

    def flush():
        if pending:
            feats.append(ex(np.stack(pending)))
            names.extend(pending_names)
            prog.update(len(pending))
            pending.clear()
            pending_names.clear()

    for name, file in zip(rows["name"].astype(str), rows["file"].astype(str), strict=True):
        try:
            pending.append(read_synthetic(Path(synthetic_root) / file, size))
            pending_names.append(name)
        except ImageReadError as exc:
            skipped.append({"name": name, "reason": exc.reason})
            prog.update()
        if len(pending) >= 100:
            flush()
    flush()
    f = np.concatenate(feats) if feats else np.zeros((0, ex.dim))
    save_npz(out_npz, names=np.array(names, dtype=str), features=f, extractor=np.array(extractor))
    info = {**ex.describe(), "batch": batch, "n": len(names), "skipped": skipped, "provenance": provenance()}
    write_json(sidecar_path(out_summary, out_npz), info)
    return info
