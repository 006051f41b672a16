"""Score one batch of synthetic images: every metric for every image → one parquet table.

Nothing here depends on a threshold, weight or ``keep``: changing those re-runs only ``select``.

``results/iqa/scores/batch_{b:04d}.parquet`` — one row per image of the batch:

| column | dtype | meaning |
| --- | --- | --- |
| name | str | image name (``{seed}_{order:06d}``) |
| batch | int64 | batch index |
| status | str | ``ok``, or why the image was not scored: ``unreadable``, ``truncated``, ``not_rgb``, ``wrong_size``, ``missing`` |
| detail | str | human-readable detail for a non-ok status ('' when ok) |
| reference | str | name of the reference crop (``__mean__`` for the mean crop); '' when not scored |
| reference_mode | str | ``nearest`` or ``mean`` |
| rmse, psnr, ssim, issm, sam, uiq | float64 | full-reference metrics vs the reference (synthfer.iqa.metrics); NaN when not scored |
| brisque | float64 | BRISQUE score (LIVE model; lower = better) |
| svr_severity | float64 | severity predicted by the real-set SVR (lower = better) |
| bq_00 … bq_35 | float64 | the 36 BRISQUE features (synthfer.iqa.brisque.FEATURE_NAMES order) |
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthfer.imaging import ImageReadError, load_rgb
from synthfer.io import PathLike, provenance, read_table, sidecar_path, write_json, write_table
from synthfer.logs import Progress, get_logger
from synthfer.runtime import pick_device, set_threads
from synthfer.scores import FR_METRICS

log = get_logger(__name__)
N_BQ = 36
BQ_COLUMNS = [f"bq_{i:02d}" for i in range(N_BQ)]
SCORE_COLUMNS = [
    "name",
    "batch",
    "status",
    "detail",
    "reference",
    "reference_mode",
    *FR_METRICS,
    "brisque",
    "svr_severity",
    *BQ_COLUMNS,
]


def read_synthetic(path: PathLike, size: tuple[int, int]) -> np.ndarray:
    """Read one generated image; it must be an 8-bit RGB image of ``size`` = (H, W).

    Generated images are always RGB: a greyscale/RGBA/palette file is a defect, so unlike
    :func:`synthfer.imaging.load_rgb` this refuses to convert it (``ImageReadError`` 'not_rgb').
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise ImageReadError(path, "missing", "file does not exist")
    try:
        with Image.open(path) as im:
            mode = im.mode
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageReadError(path, "unreadable", str(exc)) from exc
    if mode != "RGB":
        raise ImageReadError(path, "not_rgb", f"mode {mode}, expected RGB")
    return load_rgb(path, expect_size=size)


def score_batch(
    batches_csv: PathLike,
    batch: int,
    synthetic_root: PathLike,
    references_npz: PathLike,
    svr_model: PathLike,
    out_parquet: PathLike,
    reference_mode: str = "nearest",
    chunk: int = 64,
    device: str | None = "auto",
    threads: int | None = None,
    out_summary: PathLike | None = None,
) -> dict:
    """Score the images of ``batch``; unreadable/bad images get a status row, never an abort. The summary
    JSON goes to ``out_summary`` (rule ``score_batch``: ``results/iqa/scores/batch_{batch}.json``)."""
    import pandas as pd

    from synthfer.iqa.brisque import BrisqueModel
    from synthfer.iqa.brisque import features as brisque_features
    from synthfer.iqa.metrics import full_reference_scores
    from synthfer.iqa.references import References
    from synthfer.iqa.svr import load_svr

    dev = "cpu" if device == "cpu" else pick_device(device)  # "cpu": numpy/OpenCV only, no torch import
    set_threads(threads, opencv=True, import_torch=False)
    table = read_table(batches_csv)
    rows = table[table["batch"] == batch].sort_values("position")
    if rows.empty:
        raise ValueError(f"{batches_csv}: batch {batch} is empty or absent")
    refs = References(references_npz)
    bq_model = BrisqueModel.default()
    svr = load_svr(svr_model)
    root = Path(synthetic_root)
    names = rows["name"].astype(str).tolist()
    files = rows["file"].astype(str).tolist()
    out = pd.DataFrame({"name": names, "batch": np.int64(batch)})
    out["status"], out["detail"], out["reference"], out["reference_mode"] = "ok", "", "", reference_mode
    for col in (*FR_METRICS, "brisque", "svr_severity", *BQ_COLUMNS):
        out[col] = np.nan
    log.info("batch %d: %d images, device %s, reference %s", batch, len(names), dev, reference_mode)
    prog = Progress(log, len(names), f"batch {batch:04d} scored")
    for start in range(0, len(names), chunk):
        idx, imgs = [], []
        for i in range(start, min(start + chunk, len(names))):
            try:
                imgs.append(read_synthetic(root / files[i], refs.size))
                idx.append(i)
            except ImageReadError as exc:
                out.loc[i, "status"] = exc.reason
                out.loc[i, "detail"] = exc.detail
                log.warning("not scored: %s", exc)
        if imgs:
            x = np.stack(imgs)
            ref, ref_names = refs.pick(x, reference_mode)
            fr = full_reference_scores(x, np.ascontiguousarray(ref), device=dev)
            feats = brisque_features(x)
            for k, v in fr.items():
                out.loc[idx, k] = v
            out.loc[idx, "reference"] = ref_names
            out.loc[idx, "brisque"] = bq_model.predict(feats)
            out.loc[idx, "svr_severity"] = svr.predict(feats)
            out.loc[idx, BQ_COLUMNS] = feats
        prog.update(min(start + chunk, len(names)) - start)
    out = out[SCORE_COLUMNS]
    write_table(out_parquet, out)
    n_ok = int((out["status"] == "ok").sum())
    summary = {
        "batch": batch,
        "n_images": len(out),
        "n_scored": n_ok,
        "not_scored": out.loc[out["status"] != "ok", "status"].value_counts().to_dict(),
        "device": str(dev),
        "reference_mode": reference_mode,
        "provenance": provenance(device=dev),
    }
    write_json(sidecar_path(out_summary, out_parquet), summary)
    log.info("batch %d: %d/%d images scored", batch, n_ok, len(out))
    return summary


def score_real(
    references_npz: PathLike, svr_model: PathLike, out_parquet: PathLike, chunk: int = 64, threads: int | None = None
) -> dict:
    """The same metrics for the real crops (at the synthetic size), each against its nearest
    *other* crop — the "real" distributions the report compares the synthetic ones with.

    ``results/iqa/real_scores.parquet``: ``name`` (str), ``reference`` (str), ``rmse … svr_severity``
    (float64), as in the batch tables."""
    import pandas as pd

    from synthfer.iqa.brisque import BrisqueModel
    from synthfer.iqa.brisque import features as brisque_features
    from synthfer.iqa.metrics import full_reference_scores
    from synthfer.iqa.references import References
    from synthfer.iqa.svr import load_svr

    set_threads(threads, opencv=True, import_torch=False)
    refs = References(references_npz)
    if len(refs.names) < 2:
        raise ValueError(f"{references_npz}: need at least 2 real crops to score them against each other")
    q = refs.lowres
    d2 = (q**2).sum(1)[:, None] + refs._sq[None, :] - 2.0 * q @ q.T
    np.fill_diagonal(d2, np.inf)
    nearest = np.argmin(d2, axis=1)
    svr, bq = load_svr(svr_model), BrisqueModel.default()
    parts = []
    for s in range(0, len(refs.names), chunk):
        x = refs.images[s : s + chunk]
        fr = full_reference_scores(x, refs.images[nearest[s : s + chunk]])
        f = brisque_features(x)
        parts.append(pd.DataFrame({**fr, "brisque": bq.predict(f), "svr_severity": svr.predict(f)}))
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "reference", refs.names[nearest])
    out.insert(0, "name", refs.names)
    write_table(out_parquet, out)
    log.info("scored %d real crops against their nearest other crop", len(out))
    return {"n": len(out)}
