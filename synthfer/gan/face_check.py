"""Does the GAN make faces? A small sample per network, judged by the faces phase's detector.

A generator that makes no faces (too little training, a run started from scratch on a few hundred photos)
used to be noticed only after generation, when the synthetic face filter rejected every image. This check
runs right after training instead, in three steps that meet through files:

1. rule ``gan_face_samples`` (:func:`write_face_check_samples`, GAN phase): the EMA generator of
   ``network-final.pt`` — and of every training snapshot when ``gan.snapshot_fid`` is on, or of the snapshot
   named by ``gan.network`` — renders seeds ``seed … seed + n − 1`` at truncation ψ (constant noise) into
   ``results/gan/face_check/samples/{network}_{seed:06d}.png``, with ``network`` = ``final`` or
   ``kimg{kimg:06d}``, listed in ``samples.csv`` (:data:`SAMPLE_COLUMNS`);
2. rule ``faces_filter_gan_samples`` (faces phase): the same detection-only filter that screens generated
   shards writes ``detections.csv`` (``name``, ``face_ok``, …);
3. rule ``gan_network`` (:mod:`synthfer.gan.network_choice`): the detection rate of a network —
   ``n_faces / n_images`` over its sample — must reach ``gan.face_check.min_detection_rate`` for the chosen
   network, else the workflow stops before the review with :func:`no_faces_message`.

The same seeds are used for every network, so rates compare generators, not samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthfer.io import PathLike, provenance, sidecar_path, write_json, write_table
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)

SAMPLE_COLUMNS = ["name", "network", "checkpoint", "kimg", "seed", "truncation_psi"]
RATE_COLUMNS = ["network", "checkpoint", "kimg", "n_images", "n_faces", "face_rate"]
FINAL_TAG = "final"


class NoFacesError(RuntimeError):
    """The network chosen for the review makes too few detectable faces (message: what and how to fix)."""


def snapshot_tag(kimg: int) -> str:
    """The ``network`` name of snapshot ``kimg`` in the face-check files: ``kimg000040``."""
    return f"kimg{int(kimg):06d}"


def write_face_check_samples(
    final: PathLike,
    snapshot_dir: PathLike,
    snapshots: str | list[int],
    out_dir: PathLike,
    out_csv: PathLike,
    out_json: PathLike | None = None,
    n_images: int = 100,
    truncation_psi: float = 0.7,
    seed: int = 0,
    batch_size: int = 32,
    device: str | None = None,
    threads: int | None = None,
) -> Any:
    """Render the face-check sample of ``final`` and of ``snapshots`` (``"all"`` = every
    ``network-snapshot-*.pt`` in ``snapshot_dir``, or a list of kimgs, each of which must exist) into
    ``out_dir``; write ``out_csv`` (:data:`SAMPLE_COLUMNS`, one row per image) and ``out_json`` (default: beside
    it): the sample's settings and, per network, ``network``, ``checkpoint`` (path), ``kimg``, ``img_resolution``
    and ``snapshot`` (the snapshot whose EMA generator it is; for ``final`` the last snapshot), so that the gate
    needs no torch. Returns the table."""
    import pandas as pd

    from synthfer.gan.api import build_generator, synthesize
    from synthfer.gan.checkpoint import list_snapshots, read_checkpoint, snapshot_for_kimg
    from synthfer.imaging import save_png
    from synthfer.io import jsonable
    from synthfer.runtime import pick_device, set_threads

    if n_images < 1:
        raise ValueError(f"gan.face_check.images must be at least 1, got {n_images}")
    set_threads(threads)
    final = Path(final)
    if snapshots == "all":
        snaps = list_snapshots(snapshot_dir)
        if not snaps:
            raise FileNotFoundError(f"{snapshot_dir}: no network-snapshot-*.pt to check")
    else:
        snaps = [(int(k), snapshot_for_kimg(snapshot_dir, int(k))) for k in snapshots]
    networks = [(FINAL_TAG, final, None)] + [(snapshot_tag(k), p, float(k)) for k, p in snaps]
    dev = pick_device(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = list(range(seed, seed + n_images))
    rows, described = [], []
    prog = Progress(log, len(networks) * n_images, "face-check samples")
    for tag, path, kimg in networks:
        ckpt = read_checkpoint(path, mmap=True)
        if kimg is None:  # network-final.pt records its kimg (a generator-only file may not)
            kimg = float(ckpt.get("kimg", np.nan))
        G = build_generator(ckpt["G_kwargs"], ckpt["G_ema"]).eval().requires_grad_(False).to(dev)
        images = synthesize(G, seeds, truncation_psi=truncation_psi, noise_mode="const", batch_size=batch_size)
        for s, img in zip(seeds, images, strict=True):
            name = f"{tag}_{s:06d}"
            save_png(out_dir / f"{name}.png", img)
            rows.append([name, tag, path.name, kimg, s, float(truncation_psi)])
        described.append({"network": tag, "checkpoint": str(path), "kimg": kimg,
                          "img_resolution": int(ckpt["G_kwargs"]["img_resolution"]),
                          "snapshot": ckpt.get("snapshot") if tag == FINAL_TAG else path.name})  # fmt: skip
        prog.update(n_images)
        del G, ckpt
    table = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    write_table(out_csv, table)
    write_json(
        sidecar_path(out_json, out_csv),
        jsonable({
            "networks": described,
            "n_images": n_images,
            "seed": seed,
            "truncation_psi": float(truncation_psi),
            "noise_mode": "const",
            "device": str(dev),
            "provenance": provenance(),
        }),
    )  # fmt: skip
    log.info("face-check samples: %d networks × %d images in %s", len(networks), n_images, out_dir)
    return table


def face_rates(samples_csv: PathLike, detections_csv: PathLike) -> Any:
    """Detection rate per network: ``samples.csv`` joined with the faces filter's ``detections.csv`` by
    image name → one row per network (:data:`RATE_COLUMNS`), in the samples' order. Every sample image
    must have a detection row (else ``ValueError`` naming both files)."""
    import pandas as pd

    from synthfer.faces.pipeline import read_face_filter
    from synthfer.io import read_table

    samples = read_table(samples_csv)
    det = read_face_filter(detections_csv)
    missing = sorted(set(samples["name"].astype(str)) - set(det["name"].astype(str)))
    if missing:
        raise ValueError(
            f"{detections_csv}: no detection result for {len(missing)} image(s) of {samples_csv} "
            f"(e.g. {missing[0]}); re-run the face filter of the samples"
        )
    ok = det.set_index(det["name"].astype(str))["face_ok"]
    samples = samples.assign(face_ok=ok.reindex(samples["name"].astype(str)).to_numpy())
    out = (
        samples.groupby("network", sort=False)
        .agg(checkpoint=("checkpoint", "first"), kimg=("kimg", "first"), n_images=("name", "size"),
             n_faces=("face_ok", "sum"))  # fmt: skip
        .reset_index()
    )
    out["n_faces"] = out["n_faces"].astype(int)
    out["face_rate"] = out["n_faces"] / out["n_images"]
    return pd.DataFrame(out, columns=RATE_COLUMNS)


def no_faces_message(what: str, n_faces: int, n_images: int, truncation_psi: float, min_rate: float,
                     samples: str) -> str:  # fmt: skip
    """The stop message: what failed (``what`` is the sentence's subject and verb, e.g. "The trained network
    does not make faces yet"), by how much, and the two ways out (train longer, start pretrained)."""
    return (
        f"{what}: the faces phase's detector found a face in {n_faces} of {n_images} "
        f"sample images ({n_faces / max(n_images, 1):.0%} at ψ {truncation_psi:g}), below "
        f"gan.face_check.min_detection_rate = {min_rate:g}. The review material, generation and selection would be "
        "wasted on it, so the workflow stops here. Fix: train longer (raise gan.total_kimg and run again: training "
        "resumes from its last snapshot), or start from a pretrained network with gan.start_from (an official "
        "StyleGAN2-ADA FFHQ pickle, or a synthfer checkpoint such as the demo's starting network for a small "
        "64² run; docs/gan.md). Look at the samples: " + samples + ". To go on anyway, lower "
        "gan.face_check.min_detection_rate."
    )


def rates_summary(rates, limit: int = 8) -> str:
    """``kimg 40: 12%, kimg 80: 35%, …`` — the highest detection rates first (for error messages)."""
    top = rates.sort_values(["face_rate", "kimg"], ascending=[False, True]).head(limit)
    parts = [f"{'final' if r.network == FINAL_TAG else f'kimg {int(r.kimg)}'}: {r.face_rate:.0%}" for r in top.itertuples()]
    more = f" (+{len(rates) - limit} more)" if len(rates) > limit else ""
    return ", ".join(parts) + more


def sample_settings(samples_csv: PathLike) -> dict[str, Any]:
    """ψ, first seed and size of the face-check sample (from ``samples.csv``)."""
    from synthfer.io import read_table

    s = read_table(samples_csv)
    if s.empty:
        raise ValueError(f"{samples_csv}: no face-check samples")
    return {
        "truncation_psi": float(s["truncation_psi"].iloc[0]),
        "seed": int(np.min(s["seed"])),
        "n_images": int(s.groupby("network").size().max()),
    }
