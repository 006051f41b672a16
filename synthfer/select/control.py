"""The size-matched random control for Training Data Selection (FER variant ``synthetic_random``).

``synthetic_tds`` keeps about a third of the face-filtered pool, so a difference between it and
``synthetic_all`` may come from the smaller set rather than from the selection. The control draws, with a
fixed seed, a random subset of the same pool with **exactly the selection's size per class**:

* an image's *stratum* is its whole label pattern — the manifest's ``AU1 … AU15`` and ``neutral`` columns
  (the seed-ID labels the annotation phase gives it);
* for every stratum the selection holds n_s images of, n_s images are drawn without replacement from the
  pool's images of that stratum (``numpy.random.default_rng([seed, 15])`` for draw 0, ``[seed, 15, d]`` for
  draw d ≥ 1 of ``select.random_draws``; the pool sorted by name, strata in sorted order). An ablation's own
  control ``synthetic_random_<metric>`` (sized like ``synthetic_tds_<metric>``) draws from its own stream,
  ``[seed, 15, d, 1 + i]`` with i the metric's index in :data:`synthfer.scores.SCORE_METRICS`.

Each class count (images with AUk = 1, images with neutral = 1) is a sum of stratum counts, so every AU list,
the neutral class and the total equal the selection's. The draw ignores quality: selected images can be
drawn too, as any other pool image.

Output ``random.csv``: ``name`` (str), ``AU1 … AU15``, ``neutral`` (int 0/1), ``stratum`` (str, e.g.
``AU6+AU12`` or ``neutral``; ``none`` for an all-zero pattern), sorted by name; sidecar ``random.json``
(seed, pool size, per-stratum counts, provenance).
"""

from __future__ import annotations

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import PathLike, provenance, read_table, sidecar_path, write_json, write_table
from synthfer.logs import get_logger
from synthfer.scores import SCORE_METRICS
from synthfer.variants import RANDOM_CONTROL, control_metric

log = get_logger(__name__)

CLASS_COLUMNS = (*AU_COLUMNS, "neutral")
RNG_STREAM = 15  # the issue that introduced the control; keeps this draw apart from other uses of the seed


def stratum_names(labels: np.ndarray) -> list[str]:
    """``'AU6+AU12'`` for a row with AU6 and AU12, ``'neutral'``, ``'none'`` for all zeros (columns
    :data:`CLASS_COLUMNS`)."""
    out = []
    for row in np.asarray(labels, dtype=np.int64):
        parts = [c for c, v in zip(CLASS_COLUMNS, row, strict=True) if v]
        out.append("+".join(parts) if parts else "none")
    return out


def face_filtered_pool(manifest_csv: PathLike):
    """The manifest rows with ``face_ok`` true: ``name`` and the class columns, sorted by name."""
    from synthfer.synthetic_manifest import read_manifest

    man = read_manifest(manifest_csv, CLASS_COLUMNS)
    pool = man[man["face_ok"]].copy()
    for c in CLASS_COLUMNS:
        pool[c] = pool[c].astype(np.int64)
    return pool[["name", *CLASS_COLUMNS]].sort_values("name").reset_index(drop=True)


def draw_rng_key(seed: int, draw: int, control: str = RANDOM_CONTROL) -> list[int]:
    """The ``default_rng`` key of draw ``draw`` of ``control``: for ``synthetic_random`` ``[seed, 15]`` at draw 0
    (the single control of earlier runs), ``[seed, 15, draw]`` after it; for an ablation's control
    ``synthetic_random_<metric>`` ``[seed, 15, draw, 1 + index of the metric]``, a stream of its own."""
    if int(draw) < 0:
        raise ValueError(f"draw {draw}: draws are numbered from 0")
    if control != RANDOM_CONTROL:
        metric = control_metric(control)
        if metric is None:
            raise ValueError(f"{control!r} is not a random control")
        return [int(seed), RNG_STREAM, int(draw), 1 + list(SCORE_METRICS).index(metric)]
    return [int(seed), RNG_STREAM] if int(draw) == 0 else [int(seed), RNG_STREAM, int(draw)]


def random_control(
    selected_csv: PathLike,
    manifest_csv: PathLike,
    out_csv: PathLike,
    seed: int,
    out_summary: PathLike | None = None,
    draw: int = 0,
    control: str = RANDOM_CONTROL,
) -> dict:
    """Write the control subset (module docstring) and its summary ``out_summary`` (rule ``select_random``:
    ``results/select/random.json``); returns the summary. ``selected_csv`` is the selection whose size per class
    the draw matches (the TDS selection, or an ablation's for ``control`` = ``synthetic_random_<metric>``)."""
    import pandas as pd

    pool = face_filtered_pool(manifest_csv)
    pool["stratum"] = stratum_names(pool[list(CLASS_COLUMNS)].to_numpy())
    selected = read_table(selected_csv, dtype={"name": str}, keep_default_na=False)["name"].astype(str)
    by_name = pool.set_index("name")
    unknown = sorted(set(selected) - set(by_name.index))
    if unknown:
        raise ValueError(
            f"{selected_csv}: {len(unknown)} selected image(s) are not face-filtered images of {manifest_csv}, e.g. {unknown[0]!r}"
        )
    wanted = by_name.loc[selected, "stratum"].value_counts().sort_index()
    key = draw_rng_key(seed, draw, control)
    rng = np.random.default_rng(key)
    parts, strata = [], {}
    for stratum, n in wanted.items():
        members = pool[pool["stratum"] == stratum]
        take = np.sort(rng.choice(len(members), size=int(n), replace=False))
        parts.append(members.iloc[take])
        strata[stratum] = {"selected": int(n), "pool": len(members)}
    out = (pd.concat(parts) if parts else pool.iloc[:0]).sort_values("name").reset_index(drop=True)
    write_table(out_csv, out[["name", *CLASS_COLUMNS, "stratum"]])
    summary = {
        "control": control,
        "size_of": str(selected_csv),
        "seed": seed,
        "draw": int(draw),
        "rng": f"numpy.random.default_rng({key})",
        "pool": len(pool),
        "selected": len(selected),
        "drawn": len(out),
        "overlap_with_selection": int(out["name"].isin(set(selected)).sum()),
        "class_counts": {c: int(out[c].sum()) for c in CLASS_COLUMNS},
        "strata": strata,
        "provenance": provenance(),
    }
    write_json(sidecar_path(out_summary, out_csv), summary)
    log.info("random control: %d of %d pool images in %d strata (%d also selected by TDS)", len(out), len(pool),
             len(strata), summary["overlap_with_selection"])
    return summary
