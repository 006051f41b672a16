"""Figures and tables of the faces phase for Snakemake's report.

- contact sheet: an evenly spaced sample of accepted crops with their 68 landmarks (green) and eye
  centres (red) mapped into the crop;
- rejection sheet: rejected photographs (thumbnail, detected box if any) titled with the reason;
- ``summary.csv``: ``outcome, count, share`` (outcome = ``ok`` or the rejection reason);
- with a metadata table (``real_images.metadata``): ``distributions.png`` (per column: histogram
  of numbers / bars of categories, all photographs vs accepted), ``detection_rate.png`` and
  ``detection_by_group.csv`` (``column, group, n, n_ok, rate``; numbers binned into ≤ 5 quantile bins),
  ``descriptives.csv`` + ``.html`` (:func:`descriptive_statistics`: count, mean, median, SD and range of
  numbers, shares of categories).

Photographs are matched to metadata rows by :func:`match_ids`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthfer.imaging import ImageReadError, load_rgb
from synthfer.io import PathLike, read_table, save_figure, write_table
from synthfer.logs import get_logger

log = get_logger(__name__)


def _norm_id(x: Any) -> str:
    s = str(x).strip()
    if s.endswith(".0") and s[:-2].isdigit():  # pandas read a numeric id as float
        s = s[:-2]
    return (s.lstrip("0") or "0") if s.isdigit() else s


def match_ids(stems: Sequence[str], ids: Sequence[Any]) -> list[str | None]:
    """Metadata id (normalised) for each file stem, or None.

    Tried in order: the whole stem; its first ``_``/``-`` token (London ``001_03`` → ``001``); the
    longest id that appears in the stem between delimiters (CFD ``CFD-AF-200-228-N`` → ``AF-200``).
    Numeric ids compare without leading zeros.
    """
    norm = {_norm_id(i) for i in ids}
    by_len = sorted(norm, key=len, reverse=True)
    out: list[str | None] = []
    for stem in stems:
        s = _norm_id(stem)
        first = _norm_id(re.split(r"[_\-]", stem)[0])
        if s in norm:
            out.append(s)
        elif first in norm:
            out.append(first)
        else:
            hit = next((i for i in by_len if re.search(rf"(^|[_\-]){re.escape(i)}([_\-]|$)", stem)), None)
            out.append(hit)
    return out


def _similarity_from_eyes(row) -> tuple[complex, complex]:
    """``z ↦ a·z + b`` (complex) mapping the source eye centres onto the crop eye centres."""
    s1, s2 = complex(row.left_eye_x, row.left_eye_y), complex(row.right_eye_x, row.right_eye_y)
    c1, c2 = complex(row.crop_left_eye_x, row.crop_left_eye_y), complex(row.crop_right_eye_x, row.crop_right_eye_y)
    a = (c2 - c1) / (s2 - s1)
    return a, c1 - a * s1


def _thumbnail_grid(plt: Any, n: int, max_cols: int, cell: tuple[float, float]):
    """A figure with room for ``n`` thumbnails (at least one cell), ``max_cols`` per row, axes hidden."""
    k = max(n, 1)
    cols = min(max_cols, k)
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cell[0] * cols, cell[1] * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes

def contact_sheet(crops_dir: PathLike, df: Any, out_png: PathLike, n: int = 48) -> int:
    """Grid of ``n`` accepted crops (evenly spaced over the sorted names) with landmarks. Returns the count shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df[df["status"] == "ok"].sort_values("name")
    if len(ok) > n:
        ok = ok.iloc[np.linspace(0, len(ok) - 1, n).round().astype(int)]
    fig, axes = _thumbnail_grid(plt, len(ok), max_cols=8, cell=(1.6, 1.75))
    for ax, row in zip(axes.flat, ok.itertuples(index=False), strict=False):
        img = load_rgb(Path(crops_dir) / row.crop)
        ax.imshow(img)
        a, b = _similarity_from_eyes(row)
        lm = np.array([complex(getattr(row, f"x{i}"), getattr(row, f"y{i}")) for i in range(68)])
        q = a * lm + b
        ax.plot(q.real, q.imag, ".", color="lime", ms=1.5)
        ax.plot([row.crop_left_eye_x, row.crop_right_eye_x], [row.crop_left_eye_y, row.crop_right_eye_y], "r+", ms=5)
        ax.set_title(str(row.name)[:18], fontsize=6)
    if len(ok) == 0:
        axes.flat[0].text(0.5, 0.5, "no accepted faces", ha="center", va="center")
    fig.suptitle(f"Aligned crops ({len(ok)} of {int((df['status'] == 'ok').sum())} accepted)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out_png, tight=False)
    return len(ok)


def rejection_sheet(df: Any, out_png: PathLike, n: int = 24) -> int:
    """Thumbnails of up to ``n`` rejected photographs titled with their reason. Returns the count shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rej = df[df["status"] != "ok"].sort_values("name").head(n)
    fig, axes = _thumbnail_grid(plt, len(rej), max_cols=6, cell=(2.0, 2.2))
    for ax, row in zip(axes.flat, rej.itertuples(index=False), strict=False):
        try:
            img = load_rgb(row.source)
            ax.imshow(img)
            if np.isfinite(row.box_x):
                ax.add_patch(Rectangle((row.box_x, row.box_y), row.box_w, row.box_h, fill=False, ec="red", lw=1))
        except (ImageReadError, OSError):
            ax.text(0.5, 0.5, "cannot be shown", ha="center", va="center", fontsize=7, transform=ax.transAxes)
        ax.set_title(f"{str(row.name)[:18]}\n{row.reason}", fontsize=7)
    total = int((df["status"] != "ok").sum())
    if total == 0:
        axes.flat[0].text(0.5, 0.5, f"no rejections:\nall {len(df)} photographs aligned", ha="center", va="center")
    fig.suptitle(f"Rejected photographs ({len(rej)} of {total} shown)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out_png, tight=False)
    return len(rej)


def outcome_summary(df: Any) -> Any:
    """``outcome, count, share`` — ``ok`` or the rejection reason."""
    import pandas as pd

    outcome = df["reason"].astype(object).where(df["status"] != "ok", "ok").where(lambda s: s.notna() & (s != ""), "unknown")
    counts = outcome.value_counts().sort_index()
    return pd.DataFrame({"outcome": counts.index, "count": counts.to_numpy(), "share": (counts / max(len(df), 1)).to_numpy()})


def _groups(values: Any) -> Any:
    """Categorical groups of a metadata column (numbers → ≤ 5 quantile bins)."""
    import pandas as pd

    num = pd.to_numeric(values, errors="coerce")
    if num.notna().mean() > 0.9 and num.nunique() > 6:
        return pd.qcut(num, q=min(5, num.nunique()), duplicates="drop").astype(str), True
    return values.astype(str), False


def detection_by_group(df: Any, meta: Any, id_column: str, columns: Sequence[str]) -> Any:
    """``column, group, n, n_ok, rate`` for the photographs that match a metadata row."""
    import pandas as pd

    joined = _join(df, meta, id_column)
    rows = []
    for col in columns:
        if col not in joined:
            raise KeyError(f"metadata column {col!r} not in the metadata table (columns: {list(meta.columns)})")
        g, _ = _groups(joined[col])
        for group, sub in joined.groupby(g, sort=True):
            n_ok = int((sub["status"] == "ok").sum())
            rows.append({"column": col, "group": str(group), "n": int(len(sub)), "n_ok": n_ok, "rate": n_ok / len(sub)})
    return pd.DataFrame(rows, columns=["column", "group", "n", "n_ok", "rate"])


def _join(df: Any, meta: Any, id_column: str) -> Any:
    if id_column not in meta:
        raise KeyError(f"metadata id column {id_column!r} not in the metadata table (columns: {list(meta.columns)})")
    m = meta.copy()
    m["_id"] = [_norm_id(v) for v in m[id_column]]
    m = m.drop_duplicates("_id")
    d = df.copy()
    d["_id"] = match_ids(list(d["name"].astype(str)), list(m["_id"]))
    joined = d.merge(m.drop(columns=[c for c in m.columns if c in d.columns and c != "_id"]), on="_id", how="inner")
    log.info("metadata: %d of %d photographs matched a row of the metadata table", len(joined), len(df))
    return joined


def distribution_plots(df: Any, meta: Any, id_column: str, columns: Sequence[str], out_dist: PathLike, out_rate: PathLike) -> Any:
    """The two metadata figures; returns the :func:`detection_by_group` table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    joined = _join(df, meta, id_column)
    table = detection_by_group(df, meta, id_column, columns)
    k = max(len(columns), 1)
    fig, axes = plt.subplots(1, k, figsize=(3.6 * k, 3.2), squeeze=False)
    ok = joined["status"] == "ok"
    for ax, col in zip(axes.flat, columns, strict=False):
        num = pd.to_numeric(joined[col], errors="coerce")
        if num.notna().mean() > 0.9 and num.nunique() > 6:
            bins = np.histogram_bin_edges(num.dropna(), bins=12)
            ax.hist(num.dropna(), bins=bins, color="0.75", label="all photographs")
            ax.hist(num[ok].dropna(), bins=bins, histtype="step", color="C0", lw=1.5, label="accepted")
        else:
            allc = joined[col].astype(str).value_counts().sort_index()
            okc = joined.loc[ok, col].astype(str).value_counts().reindex(allc.index, fill_value=0)
            x = np.arange(len(allc))
            ax.bar(x, allc.to_numpy(), color="0.75", label="all photographs")
            ax.bar(x, okc.to_numpy(), width=0.5, color="C0", label="accepted")
            ax.set_xticks(x, allc.index, rotation=30, ha="right", fontsize=7)
        ax.set_title(col, fontsize=9)
        ax.set_ylabel("photographs")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Metadata of the {len(joined)} photographs with a metadata row", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out_dist, tight=False)

    fig, axes = plt.subplots(1, k, figsize=(3.6 * k, 3.2), squeeze=False)
    for ax, col in zip(axes.flat, columns, strict=False):
        sub = table[table["column"] == col]
        x = np.arange(len(sub))
        ax.bar(x, sub["rate"].to_numpy(), color="C2")
        for xi, (r, n) in enumerate(zip(sub["rate"], sub["n"], strict=True)):
            ax.text(xi, min(r, 1.0) + 0.01, f"n={n}", ha="center", fontsize=6)
        ax.set_xticks(x, sub["group"], rotation=30, ha="right", fontsize=7)
        ax.set_ylim(0, 1.1)
        ax.set_title(col, fontsize=9)
        ax.set_ylabel("share aligned")
    fig.suptitle("Detection and alignment rate per group", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out_rate, tight=False)
    return table


DESCRIPTIVE_COLUMNS = ["set", "column", "level", "n", "mean", "median", "sd", "min", "max", "count", "share"]


def _is_numeric(values: Any) -> bool:
    import pandas as pd

    num = pd.to_numeric(values, errors="coerce")
    return bool(num.notna().mean() > 0.9 and num.nunique() > 6)


def descriptive_statistics(df: Any, meta: Any, id_column: str, columns: Sequence[str]) -> Any:
    """The real set's descriptive statistics (the seed's Figs 3.1–3.5 as numbers).

    Unit: one metadata row (CFD: a person; the demo: a photograph). ``set`` = ``all`` (rows matched by at
    least one photograph) or ``aligned`` (rows with at least one aligned photograph). A numeric column
    (as in :func:`_groups`) gets one row with ``n, mean, median, sd`` (ddof 1), ``min, max``; any other column
    one row per ``level`` with ``count`` and ``share`` (of the rows with a non-empty value, ``n``).
    Columns in :data:`DESCRIPTIVE_COLUMNS`; cells that do not apply are NaN / empty.
    """
    import pandas as pd

    joined = _join(df, meta, id_column)
    ok_ids = set(joined.loc[joined["status"] == "ok", "_id"])
    per_row = joined.drop_duplicates("_id")
    rows = []
    for set_name, sub in (("all", per_row), ("aligned", per_row[per_row["_id"].isin(ok_ids)])):
        for col in columns:
            if col not in sub:
                raise KeyError(f"metadata column {col!r} not in the metadata table (columns: {list(meta.columns)})")
            if _is_numeric(per_row[col]):
                v = pd.to_numeric(sub[col], errors="coerce").dropna().to_numpy(dtype=np.float64)
                n = len(v)
                rows.append({"set": set_name, "column": col, "level": "", "n": n,
                             "mean": v.mean() if n else np.nan, "median": float(np.median(v)) if n else np.nan,
                             "sd": v.std(ddof=1) if n > 1 else np.nan, "min": v.min() if n else np.nan,
                             "max": v.max() if n else np.nan})  # fmt: skip
            else:
                v = sub[col].astype(str).str.strip()
                v = v[v != ""]
                for level, count in v.value_counts().sort_index().items():
                    rows.append({"set": set_name, "column": col, "level": str(level), "n": len(v),
                                 "count": int(count), "share": count / len(v)})  # fmt: skip
    out = pd.DataFrame(rows, columns=DESCRIPTIVE_COLUMNS)
    return out.astype({"n": "int64", "count": "Int64"})


def descriptives_html(table: Any) -> str:
    """The descriptive statistics as an HTML table for the report (all vs aligned side by side)."""
    import html

    def cell(r: Any) -> str:
        if r is None:
            return "–"
        if r["level"] == "" or r["level"] != r["level"]:
            return (f"n = {r['n']}: mean {r['mean']:.1f}, median {r['median']:.1f}, SD {r['sd']:.1f}, "
                    f"range {r['min']:g}–{r['max']:g}")  # fmt: skip
        return f"{100 * r['share']:.1f} % ({int(r['count'])} of {int(r['n'])})"

    keys = list(dict.fromkeys(zip(table["column"], table["level"].fillna(""), strict=True)))
    body = []
    for col, level in keys:
        cells = []
        for set_name in ("all", "aligned"):
            hit = table[(table["set"] == set_name) & (table["column"] == col) & (table["level"].fillna("") == level)]
            cells.append(cell(hit.iloc[0] if len(hit) else None))
        body.append(f"<tr><td>{html.escape(col)}</td><td>{html.escape(level)}</td><td>{cells[0]}</td><td>{cells[1]}</td></tr>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Real set: descriptive statistics</title><style>"
        "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px}</style></head><body><h3>The real photographs: descriptive statistics</h3><table><tr>"
        "<th>column</th><th>level</th><th>all photographs with a metadata row</th><th>aligned</th></tr>"
        + "".join(body)
        + "</table><p>One count per metadata row; SD with ddof 1.</p></body></html>"
    )


def faces_report(
    crops_dir: PathLike,
    manifest: PathLike,
    outputs: Mapping[str, PathLike],
    metadata: PathLike | None = None,
    id_column: str = "face_id",
    columns: Sequence[str] = ("face_age", "face_gender", "face_eth"),
    n_faces: int = 48,
) -> None:
    """Write every figure/table named in ``outputs`` (keys: contact_sheet, rejections, summary, and with
    ``metadata``: distributions, detection_rate, by_group, descriptives, descriptives_html)."""
    df = read_table(manifest, keep_default_na=False, na_values=[""])
    for c in ("reason", "crop", "source"):
        df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    shown = contact_sheet(crops_dir, df, outputs["contact_sheet"], n_faces)
    rej = rejection_sheet(df, outputs["rejections"])
    write_table(outputs["summary"], outcome_summary(df))
    log.info("contact sheet: %d crops; rejection sheet: %d photographs", shown, rej)
    if metadata and "distributions" in outputs:
        meta = read_table(metadata, dtype=str, keep_default_na=False)
        table = distribution_plots(df, meta, id_column, columns, outputs["distributions"], outputs["detection_rate"])
        write_table(outputs["by_group"], table)
        log.info("detection rate per group written (%d groups)", len(table))
        if "descriptives" in outputs:
            from synthfer.io import write_text

            stats = descriptive_statistics(df, meta, id_column, columns)
            write_table(outputs["descriptives"], stats)
            write_text(outputs["descriptives_html"], descriptives_html(stats))
            log.info("descriptive statistics: %d rows", len(stats))
