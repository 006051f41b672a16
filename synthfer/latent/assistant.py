"""Annotation assistant: the ``real_only`` FER ensemble's AU probabilities for every reviewed seed.

Rule ``review_suggestions`` renders each seed of the review range (``latent.review.seed_start`` …
``+ seed_count``, truncation ψ = ``latent.review.truncation_psi``) and every cell of the edit grids
(grid seeds × directions × degrees, the additive edit of :mod:`synthfer.latent.directions`), and scores
them with the k fold models of the ``real_only`` variant exactly as ``synthfer predict``
(:mod:`synthfer.fer.predict`) does: the image resized to the models' input size with Pillow's bilinear
filter (as :func:`synthfer.fer.data.load_image`), ``<AU>_prob`` = mean of the k models' probabilities,
``<AU>_votes`` = how many models give ≥ ``threshold``.

The review page shows these suggestions and sorts/filters by them; the reviewer's ticks remain the only
labels (the exported seed list never contains a suggestion).

``results/review/suggestions.csv`` — one row per scored image:

==============  =====  =====================================================================
seed            int    generator seed
direction       int    GANSpace direction of a grid cell; −1 = the seed's unedited face
degree          float  the cell's degree σ (0.0 for the unedited face; a grid's degree-0 cell *is* it)
AU1_prob …      float  ensemble mean probability per AU
AU1_votes …     int    models with probability ≥ threshold
==============  =====  =====================================================================

Its JSON sidecar records the models, the threshold, the network and provenance.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import PathLike
from synthfer.latent.options import Layout, ReviewLayout, network_record
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)

SUGGESTION_COLUMNS = [
    "seed",
    "direction",
    "degree",
    *(f"{au}_prob" for au in AU_COLUMNS),
    *(f"{au}_votes" for au in AU_COLUMNS),
]


def fer_input(rgb: np.ndarray, size: int) -> np.ndarray:
    """A uint8 ``(H, W, 3)`` image as the FER models read it: :func:`synthfer.fer.data.load_image`
    without the file (Pillow bilinear resize to ``size``², float32 in [0, 255]; tested equal)."""
    from PIL import Image

    if rgb.shape[0] != size or rgb.shape[1] != size:
        rgb = np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.BILINEAR))
    return rgb.astype(np.float32)


class Ensemble:
    """The fold models of one variant, loaded once; :meth:`probabilities` = mean over the models."""

    def __init__(self, models: Sequence[PathLike], backend: str | None = None, threads: int | None = None):
        if not models:
            raise ValueError("no fold models given")
        if (backend or os.environ.get("KERAS_BACKEND", "tensorflow")) == "tensorflow":
            # the generator renders with torch in the same process: let TensorFlow take GPU memory as needed
            os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
        from synthfer.fer.backend import use_backend

        use_backend(backend, threads)
        from synthfer.fer.model import load_classifier

        self.paths = [str(m) for m in models]
        self.nets = [load_classifier(m) for m in models]
        sizes = {int(n.input_shape[1]) for n in self.nets}
        if len(sizes) != 1:
            raise ValueError(f"the models expect different input sizes {sorted(sizes)}")
        self.size = sizes.pop()

    def per_model(self, images: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` → probabilities ``[k models, N, 6]`` (float64)."""
        x = np.stack([fer_input(img, self.size) for img in images])
        return np.stack(
            [np.asarray(net.predict(x, verbose=0, batch_size=len(x)), dtype=np.float64) for net in self.nets]
        )


def score_review_images(
    G, directions, ensemble: Ensemble, layout: Layout, batch_size: int = 32, threshold: float = 0.5
):
    """Score every seed's face and every edit-grid cell of ``layout`` (a resolved
    :class:`~synthfer.latent.options.ReviewLayout`); returns the table of :data:`SUGGESTION_COLUMNS`.

    Rows: the seeds in order (direction −1), then per grid seed its cells direction-major; a grid's
    degree-0 cells are the seed's own face and are not scored twice.
    """
    import pandas as pd
    import torch

    from synthfer.gan.api import seeds_to_ws, synthesize_ws

    degrees = layout.grid_degrees
    jobs: list[tuple[int, int, float]] = [(s, -1, 0.0) for s in layout.seeds]
    if any(d == 0.0 for d in degrees):  # a degree-0 cell is the face: score it for grid seeds off the page
        jobs += [(s, -1, 0.0) for s in layout.grid_seeds if s not in set(layout.seeds)]
    jobs += [(s, k, d) for s in layout.grid_seeds for k in layout.grid_directions for d in degrees if d != 0.0]
    probs = np.zeros((len(jobs), len(AU_COLUMNS)))
    votes = np.zeros((len(jobs), len(AU_COLUMNS)), np.int64)
    progress = Progress(log, len(jobs), "review images scored")
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        w = seeds_to_ws(G, [s for s, _, _ in chunk], layout.truncation_psi, batch_size)
        ws = torch.cat(
            [
                directions.apply(w[i : i + 1], k, d, layout.layer_start, layout.layer_end)
                for i, (_, k, d) in enumerate(chunk)
            ]
        )
        per_model = ensemble.per_model(synthesize_ws(G, ws, layout.noise_mode, batch_size))
        probs[start : start + len(chunk)] = per_model.mean(axis=0)
        votes[start : start + len(chunk)] = (per_model >= threshold).sum(axis=0)
        progress.update(len(chunk))
    table = pd.DataFrame(jobs, columns=["seed", "direction", "degree"])
    for j, au in enumerate(AU_COLUMNS):
        table[f"{au}_prob"] = probs[:, j]
    for j, au in enumerate(AU_COLUMNS):
        table[f"{au}_votes"] = votes[:, j]
    return table[SUGGESTION_COLUMNS]


def write_suggestions(
    network: PathLike,
    directions_npz: PathLike,
    models: Sequence[PathLike],
    out_csv: PathLike,
    meta_json: PathLike,
    layout: ReviewLayout,
    batch_size: int = 32,
    threshold: float = 0.5,
    backend: str | None = None,
    device: str | None = None,
    threads: int | None = None,
):
    """Rule ``review_suggestions``: load generator, directions and the ``real_only`` fold models, score
    the faces of ``layout`` (the review material's, :class:`~synthfer.latent.options.ReviewLayout`) and
    write ``out_csv`` and its sidecar ``meta_json``."""

    from synthfer.gan.api import load_generator
    from synthfer.io import provenance, write_json, write_table
    from synthfer.latent.directions import Directions
    from synthfer.runtime import pick_device, set_threads

    set_threads(threads)
    G = load_generator(network, device=pick_device(device))
    directions = Directions.load(directions_npz)
    resolved = layout.resolve(len(directions), G.num_ws)
    ensemble = Ensemble(models, backend, threads)
    log.info(
        "%d fold models (input %d px): scoring %d seeds and the grids of %d seeds", len(ensemble.nets), ensemble.size,
        len(resolved.seeds), len(resolved.grid_seeds),
    )  # fmt: skip
    table = score_review_images(G, directions, ensemble, resolved, batch_size, threshold)
    write_table(out_csv, table)
    unedited = table[table["direction"] < 0]
    suggested = {au: int((unedited[f"{au}_prob"] >= threshold).sum()) for au in AU_COLUMNS}
    write_json(
        meta_json,
        {
            "models": ensemble.paths,
            "input_size": ensemble.size,
            "threshold": threshold,
            "network": network_record(network),
            "n_seeds": len(resolved.seeds),
            "n_grid_images": int((table["direction"] >= 0).sum()),
            "seeds_suggested_per_au": suggested,
            "provenance": provenance(),
        },
    )
    log.info("wrote %s: %d images; seeds with p >= %g per AU: %s", out_csv, len(table), threshold, suggested)
    return table


def page_suggestions(
    csv_path: PathLike,
    seeds: Sequence[int],
    grid_seeds: Sequence[int],
    grid_directions: Sequence[int],
    grid_degrees: Sequence[float],
    threshold: float = 0.5,
) -> dict:
    """The suggestions as the review page embeds them::

        {"variant": "real_only", "threshold": t,
         "seeds": [[p_AU1 … p_AU15] per reviewed seed, in seed order],
         "grids": {seed: [[[p …] per degree] per direction]}}   (a degree-0 cell = the seed's face)

    Raises ``ValueError`` naming the file when it does not cover the review's seeds and grid cells
    (the review settings changed after scoring).
    """
    import pandas as pd

    table = pd.read_csv(csv_path)
    missing = [c for c in SUGGESTION_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{csv_path}: not a suggestions table, missing column(s) {', '.join(missing)}")
    prob_cols = [f"{au}_prob" for au in AU_COLUMNS]
    rounded = table[prob_cols].to_numpy(np.float64).round(3)
    lookup = {
        (int(s), int(k), float(d)): rounded[i].tolist()
        for i, (s, k, d) in enumerate(table[["seed", "direction", "degree"]].itertuples(index=False))
    }

    def get(seed: int, k: int, d: float) -> list[float]:
        key = (int(seed), -1, 0.0) if k < 0 or float(d) == 0.0 else (int(seed), int(k), float(d))
        if key not in lookup:
            what = "seed" if key[1] < 0 else f"grid cell direction {key[1]} degree {key[2]} of seed"
            raise ValueError(
                f"{csv_path}: no suggestion for {what} {key[0]}: it was scored with other review settings; "
                "re-run rule review_suggestions"
            )
        return lookup[key]

    from synthfer.variants import REAL_ONLY

    return {
        "variant": REAL_ONLY,
        "threshold": float(threshold),
        "seeds": [get(s, -1, 0.0) for s in seeds],
        "grids": {str(s): [[get(s, k, d) for d in grid_degrees] for k in grid_directions] for s in grid_seeds},
    }
