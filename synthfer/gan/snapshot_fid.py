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

The real statistics depend only on the real crops and ``gan.resolution`` (rule ``iqa_references``), so this
runs right after training, before anything is generated, and ``gan.network: best_fid`` can pick the snapshot
that latent directions, the review and generation use (:mod:`synthfer.gan.network_choice`).

Output ``snapshot_fid.csv``: ``kimg`` (int), ``snapshot`` (file name), ``fid`` (float), ``n_fake``,
``n_real`` (int), ``extractor``, ``truncation_psi``, ``seconds``, ``face_rate`` (float: the snapshot's
face-check detection rate, :mod:`synthfer.gan.face_check`; empty when no face check was given); one row per
snapshot, oldest first. :func:`plot_snapshot_fid` draws the curve with the chosen network marked.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from synthfer.io import PathLike, provenance, save_figure, sidecar_path, write_json, write_table
from synthfer.logs import get_logger

log = get_logger(__name__)

COLUMNS = ["kimg", "snapshot", "fid", "n_fake", "n_real", "extractor", "truncation_psi", "seconds", "face_rate"]


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
    face_samples_csv: PathLike | None = None,
    face_detections_csv: PathLike | None = None,
    extractor: str = "inception",
    n_images: int = 10000,
    truncation_psi: float = 1.0,
    seed: int = 0,
    batch_size: int = 64,
    weights: PathLike | None = None,
    device: str | None = None,
    threads: int | None = None,
    out_summary: PathLike | None = None,
) -> Any:
    """FID of every ``network-snapshot-*.pt`` in ``snapshot_dir`` against the real statistics; writes
    ``out_csv`` (see module docstring) and the JSON ``out_summary`` (rule ``gan_snapshot_fid``:
    ``results/gan/snapshot_fid.json``; settings, lowest-FID snapshot, provenance).
    With the face check's ``samples.csv`` and ``detections.csv`` each row gets the snapshot's detection rate.
    Returns the table."""
    import pandas as pd

    from synthfer.gan.api import load_generator
    from synthfer.gan.checkpoint import list_snapshots
    from synthfer.iqa.fid import Extractor, feature_stats, frechet_distance
    from synthfer.runtime import pick_device, set_threads

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
    rates = None
    if face_samples_csv is not None and face_detections_csv is not None:
        from synthfer.gan.face_check import face_rates

        rates = face_rates(face_samples_csv, face_detections_csv).set_index("checkpoint")["face_rate"]
    set_threads(threads, opencv=True, import_torch=False)
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
        rate = float(rates.get(path.name, np.nan)) if rates is not None else np.nan
        rows.append([kimg, path.name, fid, len(feats), n_real, extractor, float(truncation_psi), round(secs, 2), rate])
        log.info("snapshot %d/%d %s: FID %.3f (%d images, %.1f s), face rate %.2f", i, len(snaps), path.name, fid,
                 len(feats), secs, rate)  # fmt: skip
    table = pd.DataFrame(rows, columns=COLUMNS)
    write_table(out_csv, table)
    best = table.loc[table["fid"].idxmin()]
    write_json(
        sidecar_path(out_summary, out_csv),
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
    log.info("lowest FID: %s (FID %.3f)", best["snapshot"], best["fid"])
    return table


def plot_snapshot_fid(table, out_png: PathLike, chosen: dict | None = None) -> None:
    """FID over training kimg, one point per snapshot; the chosen network (``network-selected.json``:
    its ``snapshot`` and ``network``) circled. With face rates, a second panel shows them against the
    threshold, and snapshots that failed the face check are drawn hollow in the FID panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_rates = "face_rate" in table and table["face_rate"].notna().any()
    fig, axes = plt.subplots(2 if has_rates else 1, 1, figsize=(6, 5.5 if has_rates else 3.5), dpi=120,
                             sharex=True, squeeze=False)  # fmt: skip
    ax = axes[0, 0]
    ax.plot(table["kimg"], table["fid"], "-", color="tab:blue", zorder=1)
    min_rate = (chosen or {}).get("face_check", {}).get("min_detection_rate")
    passed = table["face_rate"] >= min_rate if has_rates and min_rate is not None else table["fid"].notna()
    ax.plot(table["kimg"][passed], table["fid"][passed], "o", color="tab:blue", label="snapshot")
    if (~passed).any():
        ax.plot(table["kimg"][~passed], table["fid"][~passed], "o", mfc="white", mec="tab:blue",
                label="failed the face check")  # fmt: skip
    if chosen is not None:
        hit = table[table["snapshot"] == chosen.get("snapshot")]
        if not hit.empty:
            ax.plot(hit["kimg"], hit["fid"], "o", ms=13, mfc="none", mec="tab:red", mew=2,
                    label=f"chosen (gan.network: {chosen.get('network')}): kimg {int(hit['kimg'].iloc[0])}")  # fmt: skip
    ax.set_ylabel(f"FID ({table['extractor'].iloc[0]}, {int(table['n_fake'].iloc[0])} images)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    if has_rates:
        ax2 = axes[1, 0]
        ax2.plot(table["kimg"], 100 * table["face_rate"], "o-", color="tab:green")
        if min_rate is not None:
            ax2.axhline(100 * min_rate, color="tab:red", ls="--", lw=1, label="gan.face_check.min_detection_rate")
            ax2.legend(loc="best", fontsize=8)
        ax2.set_ylabel("faces detected (%)")
        ax2.set_ylim(-5, 105)
        ax2.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("training progress (kimg)")
    fig.tight_layout()
    save_figure(fig, out_png)


def plot_snapshot_fid_files(table_csv: PathLike, selected_json: PathLike, out_png: PathLike) -> None:
    """Rule ``gan_snapshot_plot``: :func:`plot_snapshot_fid` of ``snapshot_fid.csv`` with the network chosen
    in ``network-selected.json`` marked."""
    import json

    from synthfer.io import read_table

    plot_snapshot_fid(read_table(table_csv), out_png, json.loads(Path(selected_json).read_text()))
