"""Aligning a generic labelled table's images with the faces phase (``fer.real.align: true``).

A table of photographs (``image, subject``, the six AUs; docs/fer.md "Without DISFA") is cut into
shards like the faces phase cuts a folder (shard ``k`` of ``n`` takes rows ``k, k+n, k+2n, …``).
Each image is read with :func:`synthfer.imaging.load_rgb` and aligned by the faces phase's
:func:`synthfer.faces.align.align_face` with the ``faces.*`` settings, so the classifier sees real
faces framed exactly like the GAN's training crops (and hence like the synthetic images). The merge
links the crops into one folder and rewrites the table to point at them; rows whose image could
not be read or aligned are left out and listed in the report.

Crop names (relative to ``images/``): ``<subject>/<stem>.png`` with characters other than letters,
digits, ``-``, ``_`` and ``.`` replaced by ``_``; a name already taken by an earlier row gets
``_r<row>`` appended. They are a function of the whole table, so every shard agrees on them.

Outputs of the merge (``out_dir``):

- ``images/<subject>/<stem>.png`` — RGB uint8 crops, ``faces.size``² px;
- ``labels.csv`` — the input table's aligned rows in their order, ``image`` = ``images/…`` (relative
  to this folder), ``source`` = the input's ``image`` value, every other column as given; sidecar
  ``labels.csv.json`` (settings, counts, versions);
- ``align_report.csv`` — one row per input row: ``row`` (0-based), ``image`` (as given), ``subject``,
  ``status`` (ok|rejected), ``reason`` (``no_face``, ``unreadable``, …), ``crop``, ``detector``,
  ``angle`` (degrees).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthfer.fer.data import read_real_table
from synthfer.imaging import ImageReadError, load_rgb, save_png
from synthfer.io import PathLike, link_or_copy, provenance, read_table, write_json, write_table
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)

REPORT_COLUMNS = ["row", "image", "subject", "status", "reason", "crop", "detector", "angle"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "x"


def crop_names(table: pd.DataFrame) -> list[str]:
    """The crop file name (relative to ``images/``) of every row of ``table`` (see module docstring)."""
    names, taken = [], set()
    for row, (image, subject) in enumerate(zip(table["image"], table["subject"], strict=True)):
        name = f"{_safe(str(subject))}/{_safe(Path(str(image)).stem)}.png"
        if name in taken:
            name = f"{name[:-4]}_r{row}.png"
        taken.add(name)
        names.append(name)
    return names


def _settings(settings):
    from synthfer.faces.settings import FaceSettings

    return settings if isinstance(settings, FaceSettings) else FaceSettings.from_mapping(settings)


def align_table_shard(
    table: PathLike,
    out_dir: PathLike,
    out_report: PathLike,
    shard: int,
    n_shards: int,
    settings: Mapping[str, Any] | None = None,
    image_root: PathLike | None = None,
) -> pd.DataFrame:
    """Align shard ``shard`` of ``n_shards`` of the table's rows; crops under ``out_dir`` (by
    :func:`crop_names`), one report row per image (:data:`REPORT_COLUMNS`) to ``out_report``.
    An image that cannot be read or aligned is reported, never fatal."""
    from synthfer.faces.align import align_face

    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range for {n_shards} shards")
    settings = _settings(settings)
    df = read_real_table(table, check_files=False, image_root=image_root)
    names = crop_names(df)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = list(range(shard, len(df), n_shards))
    log.info("shard %d/%d: %d of %d images of %s (faces.size %d)", shard, n_shards, len(rows), len(df), table, settings.size)
    progress = Progress(log, len(rows), f"shard {shard:03d} aligned")
    report = []
    for i in rows:
        rec = {"row": i, "image": df["image"].iat[i], "subject": df["subject"].iat[i], "status": "rejected", "reason": "",
               "crop": "", "detector": "", "angle": np.nan}
        try:
            rgb = load_rgb(df["path"].iat[i], min_side=settings.min_side, max_side=settings.max_side)
            res = align_face(rgb, settings)
            rec.update(status=res.status, reason=res.reason, detector=res.detector, angle=res.angle)
            if res.status == "ok":
                save_png(out_dir / names[i], res.crop)
                rec["crop"] = names[i]
        except ImageReadError as exc:
            rec["reason"] = exc.reason
        except FileNotFoundError:
            rec["reason"] = "missing"
        except Exception as exc:  # noqa: BLE001 — one bad file must not abort the shard
            log.exception("%s: unexpected error", df["path"].iat[i])
            rec["reason"] = f"error: {type(exc).__name__}"
        if rec["status"] != "ok":
            log.info("row %d (%s): rejected (%s)", i, rec["image"], rec["reason"])
        report.append(rec)
        progress.update()
    rep = pd.DataFrame(report, columns=REPORT_COLUMNS)
    write_table(out_report, rep)
    log.info("shard %d: %s", shard, dict(sorted(Counter(rep["reason"].where(rep["status"] != "ok", "ok")).items())))
    return rep


def merge_aligned_table(
    table: PathLike,
    shard_dirs: Sequence[PathLike],
    shard_reports: Sequence[PathLike],
    out_dir: PathLike,
    settings: Mapping[str, Any] | None = None,
    image_root: PathLike | None = None,
) -> pd.DataFrame:
    """Link the shards' crops into ``out_dir/images``, write ``out_dir/labels.csv`` (+ ``.json``)
    and ``out_dir/align_report.csv``; returns the rewritten table. Raises when no image was aligned."""
    settings = _settings(settings)
    df = read_real_table(table, check_files=False, image_root=image_root)
    parts = [(Path(d), read_table(r, keep_default_na=False, dtype={"image": str, "subject": str, "crop": str, "reason": str}))
             for d, r in zip(shard_dirs, shard_reports, strict=True)]
    rep = pd.concat([p for _, p in parts], ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)
    if rep["row"].tolist() != list(range(len(df))):
        raise ValueError(f"the shard reports cover {len(rep)} rows of {table}'s {len(df)}: was the table changed mid-run?")
    out_dir = Path(out_dir)
    for shard_dir, part in parts:
        for crop in part.loc[part["status"] == "ok", "crop"]:
            link_or_copy(shard_dir / crop, out_dir / "images" / crop)
    ok = (rep["status"] == "ok").to_numpy()
    counts = dict(sorted(Counter(rep["reason"].where(rep["status"] != "ok", "ok")).items()))
    write_table(out_dir / "align_report.csv", rep[REPORT_COLUMNS])
    if not ok.any():
        raise ValueError(f"{table}: none of its {len(df)} images could be aligned (outcomes {counts}; "
                         f"see {out_dir / 'align_report.csv'})")
    out = df.loc[ok].drop(columns=["path"]).copy()
    if "source" in out.columns:  # an input column of that name is replaced
        out = out.drop(columns=["source"])
    out.insert(1, "source", out["image"])
    out["image"] = ["images/" + c for c in rep.loc[ok, "crop"]]
    write_table(out_dir / "labels.csv", out.reset_index(drop=True))
    lost = sorted(set(df["subject"]) - set(out["subject"]))
    write_json(out_dir / "labels.csv.json", {
        "what": "the labelled table's images aligned by the faces phase (synthfer.fer.align)",
        "table": str(table), "image_root": None if image_root is None else str(image_root),
        "n_rows": len(df), "n_aligned": int(ok.sum()), "counts": counts, "subjects_lost": lost,
        "settings": settings.to_dict(), "provenance": provenance(),
    })
    if not ok.all():
        log.warning("%d of %d images could not be aligned and are left out (%s; see %s)%s", int((~ok).sum()), len(df),
                    counts, out_dir / "align_report.csv", f"; subjects without any image left: {', '.join(lost)}" if lost else "")
    log.info("aligned table: %d of %d images of %d subjects -> %s", int(ok.sum()), len(df), out["subject"].nunique(),
             out_dir / "labels.csv")
    return out
