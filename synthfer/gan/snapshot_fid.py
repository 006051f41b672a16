"""FID of every training snapshot: which snapshot to generate from (rule ``gan_snapshot_fid``).

StyleGAN2-ADA's training loop reports ``fid50k_full`` per snapshot so the user can pick the best one
(Karras et al. 2020, §4: FID against the whole training set). Here the same number is computed
*after* training, in its own job, so the GPU training job stays lean and a crashed metric never
costs training time:

    FID_k = ‖μ_r − μ_k‖² + Tr(Σ_r + Σ_k − 2 (Σ_r Σ_k)^½)          (Heusel et al. 2017)

with (μ_r, Σ_r) the cached statistics of the real crops (``results/iqa/features/{extractor}/real.npz``,
the crops resized to the generated size, exactly the reference set of the TDS phase) and (μ_k, Σ_k)
those of ``n_images`` images from snapshot k's EMA generator, seeds ``seed … seed + n − 1`` at
truncation ψ — the same seeds for every snapshot, so the curve compares generators, not samples.
With few real crops (the demo's 195, the thesis' ~600) Σ_r is rank-deficient and FID is biased
upwards (Chong & Forsyth 2020); compare snapshots with each other, not with published numbers.

Output ``snapshot_fid.csv``: ``kimg`` (int), ``snapshot`` (file name), ``fid`` (float), ``n_fake``,
``n_real`` (int), ``extractor``, ``truncation_psi``, ``seconds``; one row per snapshot, oldest first.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from synthfer.io import PathLike, provenance, write_json, write_table
from synthfer.logs import get_logger

log = get_logger(__name__)

COLUMNS = ["kimg", "snapshot", "fid", "n_fake", "n_real", "extractor", "truncation_psi", "seconds"]


def generator_features(G, extractor, n_images: int, size: tuple[int, int], truncation_psi: float = 1.0,
                       seed: int = 0, batch_size: int = 64) -> np.ndarray:
    """Features ``[n_images, d]`` of ``G``'s images for seeds ``seed …``, resized to ``size`` (H, W)
    like the real crops, generated and extracted ``batch_size`` at a time (memory stays flat)."""
    from synthfer.gan.api import seeds_to_ws, synthesize_ws
    from synthfer.iqa.references import resize_to

    out = []
    for start in range(seed, seed + n_images, batch_size):
        seeds = list(range(start, min(start + batch_size, seed + n_images)))
        imgs = synthesize_ws(G, seeds_to_ws(G, seeds, truncation_psi, batch_size), "const", batch_size)
        if imgs.shape[1:3] != tuple(size):
            imgs = np.stack([resize_to(im, size) for im in imgs])
        out.append(extractor(imgs))
    return np.concatenate(out)


def snapshot_fid(
    snapshot_dir: PathLike,
    real_npz: PathLike,
    references_npz: PathLike,
    out_csv: PathLike,
    out_png: PathLike | None = None,
    extractor: str = "inception",
    n_images: int = 5000,
    truncation_psi: float = 1.0,
    seed: int = 0,
    batch_size: int = 64,
    weights: PathLike | None = None,
    device: str | None = None,
    threads: int | None = None,
) -> Any:
    """FID of every ``network-snapshot-*.pt`` in ``snapshot_dir`` against the real statistics; writes
    ``out_csv`` (see module docstring), its ``.json`` sidecar (settings, best snapshot, provenance) and,
    if given, ``out_png`` (FID over kimg, the best snapshot marked). Returns the table."""
    import pandas as pd

    from synthfer.gan.api import load_generator, pick_device
    from synthfer.gan.checkpoint import list_snapshots
    from synthfer.iqa.fid import Extractor, feature_stats, frechet_distance, set_threads

    if n_images < 2:
        raise ValueError(f"gan.snapshot_fid.images: FID needs at least 2 images per snapshot, got {n_images}")
    snaps = list_snapshots(snapshot_dir)
    if not snaps:
        raise FileNotFoundError(f"{snapshot_dir}: no network-snapshot-*.pt to evaluate")
    with np.load(real_npz, allow_pickle=False) as f:
        real_extractor = str(f["extractor"])
        mu_r, sigma_r, n_real = f["mu"], f["sigma"], int(len(f["features"]))
    if real_extractor != extractor:
        raise ValueError(f"{real_npz}: real features were made with {real_extractor!r}, not {extractor!r}")
    with np.load(references_npz, allow_pickle=False) as f:
        size = tuple(int(v) for v in f["size"])
    set_threads(threads)
    ex = Extractor(extractor, weights=weights, device=device or "auto")
    dev = pick_device(device)
    rows = []
    for i, (kimg, path) in enumerate(snaps, 1):
        t0 = time.monotonic()
        G = load_generator(path, device=dev)
        feats = generator_features(G, ex, n_images, size, truncation_psi, seed, batch_size)
        mu, sigma = feature_stats(feats)
        fid = frechet_distance(mu, sigma, mu_r, sigma_r)
        secs = time.monotonic() - t0
        rows.append([kimg, path.name, fid, len(feats), n_real, extractor, float(truncation_psi), round(secs, 2)])
        log.info("snapshot %d/%d %s: FID %.3f (%d images, %.1f s)", i, len(snaps), path.name, fid, len(feats), secs)
    table = pd.DataFrame(rows, columns=COLUMNS)
    write_table(out_csv, table)
    best = table.loc[table["fid"].idxmin()]
    write_json(
        Path(out_csv).with_suffix(".json"),
        {
            "best": {"kimg": int(best["kimg"]), "snapshot": str(best["snapshot"]), "fid": float(best["fid"])},
            "n_snapshots": len(table),
            "n_images": n_images,
            "seed": seed,
            "truncation_psi": float(truncation_psi),
            "size": list(size),
            **ex.describe(),
            "provenance": provenance(),
        },
    )
    log.info("best snapshot: %s (FID %.3f)", best["snapshot"], best["fid"])
    if out_png is not None:
        plot_snapshot_fid(table, out_png)
    return table


def plot_snapshot_fid(table, out_png: PathLike) -> None:
    """FID over training kimg, one point per snapshot, the lowest circled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from synthfer.io import atomic_path

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    ax.plot(table["kimg"], table["fid"], "o-", color="tab:blue")
    b = table.loc[table["fid"].idxmin()]
    ax.plot([b["kimg"]], [b["fid"]], "o", ms=12, mfc="none", mec="tab:red", label=f"best: {b['snapshot']}")
    ax.set_xlabel("training progress (kimg)")
    ax.set_ylabel(f"FID ({table['extractor'].iloc[0]}, {int(table['n_fake'].iloc[0])} images)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
