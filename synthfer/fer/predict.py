"""Ensemble prediction with a variant's k fold models (the predecessor's 13-model ensemble).

For each image of a folder: ``<AU>_prob`` = mean of the k models' probabilities, ``<AU>_votes`` =
how many models predict ≥ ``threshold``, ``<AU>`` = the majority vote (``votes > k/2``: with 13
models, 7 or more). Images that cannot be read are listed in the log and in ``error`` (their other
columns empty) rather than stopping the run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthfer import AU_COLUMNS
from synthfer.imaging import ImageReadError, list_images
from synthfer.io import PathLike, provenance, write_json, write_table
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)


def find_fold_models(variant_dir: PathLike) -> list[Path]:
    """``variant_dir/fold_*/rep_*/model.keras`` (or the older ``fold_*/model.keras``) in fold and replicate order."""
    models = sorted(Path(variant_dir).glob("fold_*/rep_*/model.keras")) or sorted(Path(variant_dir).glob("fold_*/model.keras"))
    if not models:
        raise FileNotFoundError(f"no fold models (fold_*/rep_*/model.keras) under {variant_dir}")
    return models


def _load_models(models: list[PathLike], backend: str | None, threads: int | None):
    from synthfer.fer.backend import use_backend

    use_backend(backend, threads)
    from synthfer.fer.model import load_classifier

    if not models:
        raise ValueError("no models given")
    nets = [load_classifier(m) for m in models]
    sizes = {int(n.input_shape[1]) for n in nets}
    if len(sizes) != 1:
        raise ValueError(f"the models expect different input sizes {sorted(sizes)}")
    return nets, sizes.pop()


def _predict_paths(nets, size: int, paths: list[Path], batch_size: int) -> tuple[np.ndarray, list[str]]:
    """``(probs [models, images, AUs], errors)``; an unreadable image gets NaN and its reason."""
    from synthfer.fer.data import load_image

    probs = np.full((len(nets), len(paths), len(AU_COLUMNS)), np.nan)
    errors = [""] * len(paths)
    progress = Progress(log, len(paths), "images predicted")
    for start in range(0, len(paths), batch_size):
        batch, rows = [], []
        for i in range(start, min(start + batch_size, len(paths))):
            try:
                batch.append(load_image(paths[i], size))
                rows.append(i)
            except ImageReadError as exc:
                errors[i] = exc.reason
                log.warning("skipped %s", exc)
        if batch:
            x = np.stack(batch)
            for m, net in enumerate(nets):
                probs[m, rows] = np.asarray(net.predict(x, verbose=0, batch_size=len(x)), dtype=np.float64)
        progress.update(min(batch_size, len(paths) - start))
    return probs, errors


def _vote_table(folder: Path, paths: list[Path], probs: np.ndarray, errors: list[str], threshold: float) -> pd.DataFrame:
    k = len(probs)
    out = pd.DataFrame({"image": [str(p.relative_to(folder)) for p in paths]})
    ok = np.array([e == "" for e in errors])
    for j, au in enumerate(AU_COLUMNS):
        votes = (probs[:, :, j] >= threshold).sum(axis=0)
        out[f"{au}_prob"] = np.where(ok, probs[:, :, j].mean(axis=0), np.nan)
        out[f"{au}_votes"] = pd.Series(votes, dtype="Int64").where(ok)
        out[au] = pd.Series((votes > k / 2).astype(int), dtype="Int64").where(ok)
    out["error"] = errors
    return out


def predict_folder(
    models: list[PathLike],
    images: PathLike,
    out_csv: PathLike,
    threshold: float = 0.5,
    batch_size: int = 32,
    backend: str | None = None,
    threads: int | None = None,
    recursive: bool = False,
    out_json: PathLike | None = None,
) -> pd.DataFrame:
    """Predict AUs for every image in ``images`` with the ensemble ``models``; write ``out_csv``
    (``image`` = path relative to ``images``, then per AU ``_prob``, ``_votes``, majority, and
    ``error``) and the JSON sidecar ``out_json`` (models, counts, threshold, provenance; the rules
    declare ``<out_csv>.json``, the default when ``out_json`` is not given)."""
    nets, size = _load_models(models, backend, threads)
    folder = Path(images)
    paths = list_images(folder, recursive=recursive)
    if not paths:
        raise FileNotFoundError(f"no images in {folder}")
    log.info("%d models (input %d px), %d images in %s", len(nets), size, len(paths), folder)
    probs, errors = _predict_paths(nets, size, paths, batch_size)
    k = len(nets)
    out = _vote_table(folder, paths, probs, errors, threshold)
    ok = out["error"] == ""
    write_table(out_csv, out)
    write_json(
        out_json if out_json is not None else str(out_csv) + ".json",
        {"models": [str(m) for m in models], "images": str(folder), "n_images": len(paths), "n_failed": int((~ok).sum()),
         "threshold": threshold, "majority": f"votes > {k}/2", "provenance": provenance()},
    )
    log.info("wrote %s: %d images (%d unreadable)", out_csv, int(ok.sum()), int((~ok).sum()))
    return out


def predict_each(
    models: list[PathLike],
    images: PathLike,
    out_csvs: list[PathLike],
    batch_size: int = 32,
    backend: str | None = None,
    threads: int | None = None,
) -> None:
    """One prediction table per model (``out_csvs[i]`` for ``models[i]``, the :func:`predict_folder` layout of a
    one-model "ensemble": ``<AU>_prob`` is that model's probability), the images read once for all models
    (rule ``annotate_pseudo_predict``: each real_only fold model labels the pool for its own fold). No sidecar: the
    label rule's ``agreement.json`` names the tables and models it used."""
    if len(models) != len(out_csvs):
        raise ValueError(f"{len(models)} models but {len(out_csvs)} output tables")
    nets, size = _load_models(models, backend, threads)
    folder = Path(images)
    paths = list_images(folder)
    if not paths:
        raise FileNotFoundError(f"no images in {folder}")
    log.info("%d models (input %d px), each predicting the %d images in %s", len(nets), size, len(paths), folder)
    probs, errors = _predict_paths(nets, size, paths, batch_size)
    for m, out_csv in enumerate(out_csvs):
        write_table(out_csv, _vote_table(folder, paths, probs[m : m + 1], errors, 0.5))
    log.info("wrote %d tables of %d images (%d unreadable)", len(out_csvs), len(paths), sum(e != "" for e in errors))
