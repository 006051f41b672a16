"""The seeded partition of the face-filtered synthetic pool into scoring batches.

The pool = manifest rows with ``face_ok`` true, sorted by ``name`` (so the result does not depend
on the manifest's row order). It is shuffled with ``numpy.random.default_rng(seed)`` and dealt into
``n_batches = ceil(n / batch_size)`` batches round-robin, so batch sizes differ by at most one and
none exceeds ``batch_size`` (the thesis: 512). Same manifest + seed + batch_size → same batches.

``batches.csv``: ``name`` (str), ``file`` (str, relative to the synthetic root), ``batch`` (int,
0-based), ``position`` (int, rank of the image in the shuffled pool).
"""

from __future__ import annotations

import math

import numpy as np

from synthfer.io import PathLike, provenance, sidecar_path, write_json, write_table
from synthfer.logs import get_logger

log = get_logger(__name__)


def partition(names: list[str], batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(batch index, shuffled position) of each name (in the order given): balanced, seeded."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(names)
    order = np.argsort(np.asarray(names, dtype=str), kind="stable")
    perm = np.random.default_rng(seed).permutation(n)
    n_batches = max(1, math.ceil(n / batch_size))
    batch = np.empty(n, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    shuffled = order[perm]
    batch[shuffled] = np.arange(n) % n_batches
    position[shuffled] = np.arange(n)
    return batch, position


def make_batches(
    manifest_csv: PathLike, out_csv: PathLike, batch_size: int, seed: int, out_summary: PathLike | None = None
) -> int:
    """Write ``batches.csv`` and the JSON sidecar ``out_summary`` (rule ``iqa_batches``: ``results/iqa/batches.json``;
    counts, batch sizes, seed, provenance); return the number of batches."""
    import pandas as pd

    from synthfer.synthetic_manifest import read_manifest

    man = read_manifest(manifest_csv, ["file"])
    if man["name"].duplicated().any():
        dup = man.loc[man["name"].duplicated(), "name"].iloc[0]
        raise ValueError(f"{manifest_csv}: duplicate image name {dup!r}")
    pool = man[man["face_ok"].to_numpy()]
    if pool.empty:
        raise ValueError(f"{manifest_csv}: no image passed the face filter (face_ok), nothing to score")
    names = pool["name"].astype(str).tolist()
    batch, position = partition(names, batch_size, seed)
    out = pd.DataFrame({"name": names, "file": pool["file"].astype(str).tolist(), "batch": batch, "position": position})
    out = out.sort_values(["batch", "position"]).reset_index(drop=True)
    write_table(out_csv, out)
    n_batches = int(out["batch"].max()) + 1
    sizes = out.groupby("batch").size()
    write_json(
        sidecar_path(out_summary, out_csv),
        {
            "n_pool": len(out),
            "n_excluded_by_face_filter": int(len(man) - len(pool)),
            "n_batches": n_batches,
            "batch_size": batch_size,
            "batch_sizes": [int(v) for v in sizes],
            "seed": seed,
            "provenance": provenance(),
        },
    )
    log.info("%d images (face filter passed) in %d batches of <= %d", len(out), n_batches, batch_size)
    return n_batches


def batch_ids(batches_csv: PathLike) -> list[str]:
    """The ``{batch:04d}`` ids present in ``batches.csv`` (for the workflow's input functions;
    standard library only, it runs while Snakemake builds the DAG)."""
    import csv

    from synthfer.ids import batch_ids as format_ids

    with open(batches_csv, newline="") as fh:
        return format_ids(int(row["batch"]) for row in csv.DictReader(fh))
