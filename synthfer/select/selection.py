"""Per-batch selection over the IQA score tables (the thesis' 512 → 180, done as a manifest).

For each batch b with n_b images:

1. Images that could not be scored (status ≠ ok) are rejected (``not_scored:<status>``).
2. Thresholds: ``{metric: {min: v, max: v}}``; an image fails a metric when its value is below
   ``min`` or above ``max`` (NaN fails). ``pass_<metric>`` records each outcome; failing any
   threshold rejects the image (``threshold:<metric><op><bound>``, ';'-joined).
3. The survivors are ranked by a combined score:
   - ``rank_mean`` (default): weighted mean over ``metrics`` of direction-aware percentile ranks
     within the batch's survivors (``pandas.rank(pct=True)``, ties averaged; 1 = best in the batch
     on that metric, "best" = highest for psnr/ssim/issm/uiq, lowest for rmse/sam/brisque/
     svr_severity; a missing value (NaN) gets 0 = worst, whatever the direction); weights default to 1;
   - ``single``: the value of one ``metric`` (sign-flipped when lower is better, so higher = better).
   Ties are broken by name. ``rank`` 1 = best.
4. The best ``keep_b = min(survivors, round(keep · n_b / batch_size))`` are selected (keep = 180
   of a full batch of 512; a smaller batch keeps the same fraction).

A batch that keeps nothing is recorded in the summary with its cause (``empty_because``; per
batch ``rejected_by_threshold`` counts the scored images each bound rejected). A selection that
keeps nothing at all is an error naming the thresholds (or ``keep``) responsible.

Outputs (CSV): ``selected.csv`` — name, batch, rank, score, pass_<metric>…, then the metric values;
``rejected.csv`` — name, batch, reason, rank (−1 when not ranked), score (NaN when not ranked),
pass_<metric>…, metric values; face-filter rejects from the manifest appear with batch −1 and
reason ``face_filter:<face_reason>``. Images are never touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from synthfer.io import PathLike, provenance, read_table, sidecar_path, write_json, write_table
from synthfer.logs import get_logger
from synthfer.scores import HIGHER_IS_BETTER, SCORE_METRICS
from synthfer.select.checks import check_thresholds

log = get_logger(__name__)


def _check_metric(m: str, what: str) -> None:
    if m not in HIGHER_IS_BETTER:
        raise ValueError(f"select.{what}: unknown metric {m!r} (use one of {sorted(HIGHER_IS_BETTER)})")


def threshold_pass(df, thresholds: Mapping[str, Mapping[str, float]]):
    """``{metric: bool Series}`` (True = passes every bound of that metric) and reasons per row."""
    passes, reasons = {}, [[] for _ in range(len(df))]
    for m, bounds in thresholds.items():
        _check_metric(m, "thresholds")
        v = df[m].to_numpy(dtype=np.float64)
        ok = ~np.isnan(v)
        for op, bound in bounds.items():
            if bound is None:
                continue
            if op == "min":
                fail = ~(v >= bound)
                sym = "<"
            elif op == "max":
                fail = ~(v <= bound)
                sym = ">"
            else:
                raise ValueError(f"select.thresholds.{m}: unknown bound {op!r} (use min or max)")
            ok &= ~fail
            for i in np.flatnonzero(fail):
                reasons[i].append(f"threshold:{m}{sym}{bound:g}")
        passes[m] = ok
    return passes, reasons


def combined_score(
    df, method: str, metrics: Sequence[str], weights: Mapping[str, float] | None, metric: str | None
) -> np.ndarray:
    """Higher = better score for the rows of ``df`` (one batch's survivors)."""
    if len(df) == 0:
        return np.zeros(0)
    if method == "single":
        if not metric:
            raise ValueError("select.method 'single' needs select.metric")
        _check_metric(metric, "metric")
        v = df[metric].to_numpy(dtype=np.float64)
        v = v if HIGHER_IS_BETTER[metric] else -v
        return np.where(np.isnan(v), -np.inf, v)
    if method != "rank_mean":
        raise ValueError(f"select.method: unknown {method!r} (use rank_mean or single)")
    if not metrics:
        raise ValueError("select.metrics: rank_mean needs at least one metric")
    weights = dict(weights or {})
    for m in weights:
        _check_metric(m, "weights")
    total, wsum = np.zeros(len(df)), 0.0
    for m in metrics:
        _check_metric(m, "metrics")
        w = float(weights.get(m, 1.0))
        if w == 0:
            continue
        col = df[m] if HIGHER_IS_BETTER[m] else -df[m]
        # Percentiles among the images that have a value; a missing value (NaN) ranks worst, 0, whatever the
        # direction (as the thresholds fail it). na_option="bottom" gave NaN the percentile 1.0, the best.
        pct = np.nan_to_num(col.rank(pct=True, method="average", na_option="keep").to_numpy(dtype=np.float64), nan=0.0)
        total += w * pct
        wsum += w
    if wsum <= 0:
        raise ValueError("select.weights: the weights of the ranked metrics sum to 0")
    return total / wsum


def select(
    score_paths: Sequence[PathLike],
    manifest_csv: PathLike | None,
    out_selected: PathLike,
    out_rejected: PathLike,
    keep: int,
    batch_size: int,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    method: str = "rank_mean",
    metrics: Sequence[str] = ("rmse", "psnr", "issm", "sam", "uiq"),  # = the schema default (tests/test_config_defaults.py)
    weights: Mapping[str, float] | None = None,
    metric: str | None = None,
    out_summary: PathLike | None = None,
) -> dict:
    """Select the best images of every batch; write selected.csv, rejected.csv and the summary JSON
    ``out_summary`` (rule ``select``: ``results/select/selected.json``)."""
    import pandas as pd

    thresholds = dict(thresholds or {})
    check_thresholds(thresholds)
    if keep < 0 or batch_size < 1:
        raise ValueError(f"select: keep must be >= 0 and batch_size >= 1 (got {keep}, {batch_size})")
    if not score_paths:
        raise ValueError("select: no score tables given")
    scores = pd.concat([read_table(p) for p in sorted(map(str, score_paths))], ignore_index=True)
    if scores["name"].duplicated().any():
        raise ValueError(f"select: image {scores.loc[scores['name'].duplicated(), 'name'].iloc[0]!r} is in two batches")
    pass_cols = [f"pass_{m}" for m in thresholds]
    value_cols = [m for m in SCORE_METRICS if m in scores.columns]
    sel_parts, rej_parts, per_batch = [], [], []
    rejected_by_total: Counter[str] = Counter()
    for b, df in scores.groupby("batch", sort=True):
        df = df.sort_values("name").reset_index(drop=True)
        n_b = len(df)
        ok = (df["status"] == "ok").to_numpy()
        passes, reasons = threshold_pass(df, thresholds)
        # scored images each bound rejected (one image may fail several bounds)
        rejected_by = Counter(r for i in np.flatnonzero(ok) for r in reasons[i])
        rejected_by_total.update(rejected_by)
        for m in thresholds:
            df[f"pass_{m}"] = passes[m]
        survive = ok.copy()
        for m in thresholds:
            survive &= passes[m]
        for i in np.flatnonzero(~ok):
            reasons[i] = [f"not_scored:{df.loc[i, 'status']}"]
        df["score"] = np.nan
        df["rank"] = -1
        surv = df[survive]
        if len(surv):
            sc = combined_score(surv, method, metrics, weights, metric)
            order = np.lexsort((surv["name"].to_numpy(), -sc))
            ranks = np.empty(len(surv), dtype=np.int64)
            ranks[order] = np.arange(1, len(surv) + 1)
            df.loc[surv.index, "score"] = sc
            df.loc[surv.index, "rank"] = ranks
        keep_b = min(int(survive.sum()), int(round(keep * n_b / batch_size)))
        chosen = survive & (df["rank"].to_numpy() >= 1) & (df["rank"].to_numpy() <= keep_b)
        for i in np.flatnonzero(survive & ~chosen):
            reasons[i] = [f"rank:{int(df.loc[i, 'rank'])}>{keep_b}"]
        df["reason"] = [";".join(r) for r in reasons]
        sel_parts.append(df[chosen])
        rej_parts.append(df[~chosen])
        empty_because = None
        if not chosen.any():
            empty_because = _empty_cause(int(ok.sum()), int(survive.sum()), n_b, rejected_by, keep, batch_size)
            log.warning("batch %d keeps nothing: %s", int(b), empty_because)
        per_batch.append(
            {
                "batch": int(b),
                "n": n_b,
                "not_scored": int((~ok).sum()),
                "failed_thresholds": int((ok & ~survive).sum()),
                "rejected_by_threshold": dict(sorted(rejected_by.items())),
                "keep": keep_b,
                "selected": int(chosen.sum()),
                "empty_because": empty_because,
            }
        )
    if not any(part.shape[0] for part in sel_parts):
        raise ValueError(_nothing_selected(per_batch, rejected_by_total, thresholds, keep, batch_size))
    sel = pd.concat(sel_parts, ignore_index=True).sort_values(["batch", "rank"])
    rej = pd.concat(rej_parts, ignore_index=True)
    if manifest_csv is not None:
        from synthfer.synthetic_manifest import read_manifest

        man = read_manifest(manifest_csv)
        failed = man[~man["face_ok"]]
        if len(failed):
            extra = pd.DataFrame(
                {
                    "name": failed["name"].astype(str),
                    "batch": -1,
                    "reason": "face_filter:"
                    + failed.get("face_reason", pd.Series("", index=failed.index)).fillna("").astype(str),
                    "rank": -1,
                    "score": np.nan,
                }
            )
            rej = pd.concat([rej, extra], ignore_index=True)
    sel_out = sel[["name", "batch", "rank", "score", *pass_cols, *value_cols]].astype(
        {"batch": "int64", "rank": "int64"}
    )
    rej_out = rej[["name", "batch", "reason", "rank", "score", *pass_cols, *value_cols]].astype(
        {"batch": "int64", "rank": "int64"}
    )
    rej_out = rej_out.sort_values(["batch", "name"])
    write_table(out_selected, sel_out)
    write_table(out_rejected, rej_out)
    summary = {
        "n_selected": len(sel_out),
        "n_rejected": len(rej_out),
        "keep": keep,
        "batch_size": batch_size,
        "method": method,
        "metrics": list(metrics),
        "weights": dict(weights or {}),
        "metric": metric,
        "thresholds": thresholds,
        "batches": per_batch,
        "provenance": provenance(),
    }
    write_json(sidecar_path(out_summary, out_selected), summary)
    log.info("selected %d images from %d batches (%d rejected)", len(sel_out), len(per_batch), len(rej_out))
    return summary


def _bounds_text(rejected_by: Mapping[str, int], n_scored: int) -> str:
    """``psnr<40 rejected 512 of 512 scored`` for each failed bound, most rejecting first."""
    items = sorted(rejected_by.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{r.removeprefix('threshold:')} rejected {k} of {n_scored} scored" for r, k in items)


def _empty_cause(
    n_scored: int, n_survivors: int, n_b: int, rejected_by: Mapping[str, int], keep: int, batch_size: int
) -> str:
    """Why one batch keeps nothing, in words."""
    if n_scored == 0:
        return f"none of its {n_b} images could be scored"
    if n_survivors == 0:
        return "every scored image failed a threshold: " + _bounds_text(rejected_by, n_scored)
    return f"keep rounds to 0 for a batch of {n_b} (select.keep {keep} per iqa.batch_size {batch_size})"


def _nothing_selected(
    per_batch: Sequence[Mapping], rejected_by: Mapping[str, int], thresholds: Mapping, keep: int, batch_size: int
) -> str:
    """The error of a selection that keeps no image at all, naming what is responsible and the fix."""
    n = sum(p["n"] for p in per_batch)
    n_scored = n - sum(p["not_scored"] for p in per_batch)
    head = f"select: no image was selected from {len(per_batch)} batch(es) of {n} images ({n_scored} scored): "
    if n_scored == 0:
        return head + "no image could be scored (see the status column of the score tables)."
    if keep == 0:
        return head + "select.keep is 0. Fix: set select.keep to the number of images to keep per batch."
    if sum(p["failed_thresholds"] for p in per_batch) == n_scored:
        names = ", ".join(f"select.thresholds.{m}" for m in thresholds)
        return (
            head + "the thresholds rejected every scored image — " + _bounds_text(rejected_by, n_scored) + ". "
            f"Fix: loosen or remove {names} (the score tables show the values the images reach)."
        )
    return head + (
        f"select.keep {keep} per iqa.batch_size {batch_size} rounds to 0 for these batches. "
        "Fix: raise select.keep."
    )


def link_selected(selected_csv: PathLike, raw_dir: PathLike, out_dir: PathLike) -> int:
    """Hard links (copies across file systems) ``out_dir/{name}.png`` → ``raw_dir/{name}.png`` for
    every selected image — a convenience view; the images themselves are never moved or changed."""
    from synthfer.io import link_or_copy

    names = read_table(selected_csv)["name"].astype(str).tolist()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = Path(raw_dir) / f"{name}.png"
        if not src.is_file():
            raise FileNotFoundError(f"{selected_csv}: selected image {src} does not exist")
        link_or_copy(src, out / f"{name}.png")
    log.info("linked %d selected images into %s", len(names), out)
    return len(names)
