"""Report figures of the selection (matplotlib, Agg; PNG through synthfer.io.save_figure), one function each.

- ``distributions.png``: every metric's distribution — real crops (vs their nearest other crop),
  all scored synthetic images, the selected ones;
- ``per_class.png``: the ranked metrics per class (AU1 … AU15, neutral) for scored vs selected;
- ``fid_kid.png``: FID and KID per class, before (all scored) and after selection;
- ``threshold_sweep.png``: per metric, how many scored images survive a threshold placed at each
  value (min-thresholds for higher-is-better metrics, max for lower-is-better), configured limits
  marked;
- ``grid_selected.png`` / ``grid_rejected.png``: the best-ranked selected images and the worst
  rejected ones, with name and score/reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import PathLike, read_table, save_figure
from synthfer.logs import get_logger
from synthfer.scores import HIGHER_IS_BETTER, SCORE_METRICS

log = get_logger(__name__)
CLASSES = (*AU_COLUMNS, "neutral")
FIGURES = ("distributions", "per_class", "fid_kid", "threshold_sweep", "grid_selected", "grid_rejected")


def _grid(names: Sequence[str], captions: Sequence[str], raw_dir: Path, title: str, path: PathLike) -> None:
    import matplotlib.pyplot as plt

    from synthfer.imaging import ImageReadError, load_rgb

    n = max(len(names), 1)
    cols = min(8, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, name, cap in zip(axes.ravel(), names, captions, strict=False):
        try:
            ax.imshow(load_rgb(raw_dir / f"{name}.png"))
        except (ImageReadError, FileNotFoundError):
            ax.text(0.5, 0.5, "unreadable", ha="center", va="center")
        ax.set_title(f"{name}\n{cap}", fontsize=6)
    if not len(names):
        axes[0, 0].text(0.5, 0.5, "none", ha="center", va="center")
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_distributions(real, scored, chosen, thresholds: Mapping[str, Mapping[str, float]], path: PathLike) -> None:
    """``distributions.png``: each metric for the real crops, all scored and the selected images."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 4, figsize=(14, 6))
    for ax, m in zip(axes.ravel(), SCORE_METRICS, strict=True):
        groups = [("real", real[m]), ("synthetic", scored[m]), ("selected", chosen[m])]
        vals = [g[1].replace([np.inf, -np.inf], np.nan).dropna().to_numpy() for g in groups]
        finite = np.concatenate([v for v in vals if len(v)]) if any(len(v) for v in vals) else np.zeros(1)
        bins = np.linspace(finite.min(), finite.max() + 1e-9, 30)
        for (label, _), v in zip(groups, vals, strict=True):
            if len(v):
                ax.hist(v, bins=bins, alpha=0.5, density=True, label=f"{label} (n={len(v)})")
        arrow = "↑" if HIGHER_IS_BETTER[m] else "↓"
        ax.set_title(f"{m} ({arrow} better)", fontsize=9)
        for b in thresholds.get(m, {}).values():
            if b is not None:
                ax.axvline(b, color="k", ls="--", lw=1)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Metric distributions: real crops vs synthetic (all scored) vs selected")
    save_figure(fig, path)


def plot_per_class(scored, chosen, man, show: Sequence[str], path: PathLike) -> None:
    """``per_class.png``: the metrics ``show`` per class, all scored vs selected (``man``: manifest by name)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(show), figsize=(3.6 * len(show), 3.6), squeeze=False)
    lab = man.reindex(scored["name"])
    lab_sel = man.reindex(chosen["name"])
    for ax, m in zip(axes.ravel(), show, strict=True):
        data, ticks = [], []
        for c in CLASSES:
            if c not in man.columns:
                continue
            a = scored[m][lab[c].fillna(0).to_numpy().astype(int) == 1].replace([np.inf, -np.inf], np.nan).dropna()
            b = chosen[m][lab_sel[c].fillna(0).to_numpy().astype(int) == 1].replace([np.inf, -np.inf], np.nan).dropna()
            data += [a.to_numpy(), b.to_numpy()]
            ticks += [f"{c}\nall", f"{c}\nsel"]
        if data:
            ax.boxplot([d if len(d) else [np.nan] for d in data], showfliers=False)
            ax.set_xticks(range(1, len(ticks) + 1), ticks, fontsize=6, rotation=90)
        ax.set_title(m, fontsize=9)
    fig.suptitle("Per class (synthetic): all scored vs selected")
    save_figure(fig, path)


def plot_fid_kid(fk, path: PathLike) -> None:
    """``fid_kid.png``: FID and KID per class, all scored vs selected."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    classes = list(dict.fromkeys(fk["class"]))
    xs = np.arange(len(classes))
    for ax, col in zip(axes, ("fid", "kid"), strict=True):
        for j, subset in enumerate(("all_scored", "selected")):
            t = fk[fk["subset"] == subset].set_index("class").reindex(classes)
            ax.bar(xs + (j - 0.5) * 0.4, t[col].to_numpy(dtype=float), width=0.4, label=subset,
                   yerr=t["kid_std"].to_numpy(dtype=float) if col == "kid" else None)  # fmt: skip
        ax.set_xticks(xs, classes, fontsize=8)
        ax.set_title(f"{col.upper()} vs real ({fk['extractor'].iloc[0] if len(fk) else '?'} features)", fontsize=9)
        ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_threshold_sweep(scored, thresholds: Mapping[str, Mapping[str, float]], show: Sequence[str],
                         path: PathLike) -> None:
    """``threshold_sweep.png``: images surviving a threshold at each value, configured limits marked."""
    plt = _pyplot()
    sweep = list(dict.fromkeys([*thresholds, *show]))
    fig, axes = plt.subplots(1, len(sweep), figsize=(3.4 * len(sweep), 3.2), squeeze=False)
    for ax, m in zip(axes.ravel(), sweep, strict=True):
        v = np.sort(scored[m].replace([np.inf, -np.inf], np.nan).dropna().to_numpy())
        if len(v):
            grid = np.linspace(v[0], v[-1], 200)
            if HIGHER_IS_BETTER[m]:
                surv = len(v) - np.searchsorted(v, grid, side="left")
                ax.set_xlabel(f"min {m}")
            else:
                surv = np.searchsorted(v, grid, side="right")
                ax.set_xlabel(f"max {m}")
            ax.plot(grid, surv)
        for op, b in thresholds.get(m, {}).items():
            if b is not None:
                ax.axvline(b, color="k", ls="--", lw=1, label=f"{op} {b:g}")
                ax.legend(fontsize=7)
        ax.set_ylabel("images surviving")
    fig.suptitle(f"Threshold sweep over {len(scored)} scored images")
    fig.tight_layout()
    save_figure(fig, path)


def plot_example_grids(sel, rej, raw_dir: PathLike, n_examples: int, out_selected: PathLike,
                       out_rejected: PathLike) -> None:
    """``grid_selected.png`` / ``grid_rejected.png``: the best-ranked selected, the worst rejected images."""
    best = sel.sort_values(["rank", "batch"]).head(n_examples)
    _grid(best["name"].tolist(), [f"rank {r}, {s:.2f}" for r, s in zip(best["rank"], best["score"], strict=True)],
          Path(raw_dir), "Selected (best ranks)", out_selected)  # fmt: skip
    worst = rej[rej["batch"] >= 0].sort_values("score", na_position="first").head(n_examples)
    _grid(worst["name"].tolist(), [str(r)[:28] for r in worst["reason"]], Path(raw_dir),
          "Rejected (unscored, failed thresholds, lowest scores)", out_rejected)  # fmt: skip


def make_figures(
    score_paths: Sequence[PathLike],
    real_scores: PathLike,
    selected_csv: PathLike,
    rejected_csv: PathLike,
    fid_kid_csv: PathLike,
    manifest_csv: PathLike,
    raw_dir: PathLike,
    out_dir: PathLike,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    metrics: Sequence[str] = ("rmse", "psnr", "issm", "sam", "uiq"),
    n_examples: int = 16,
) -> list[Path]:
    """Every figure of the module docstring into ``out_dir`` (the paths of :data:`FIGURES`, in order)."""
    import pandas as pd

    out_dir = Path(out_dir)
    scores = pd.concat([read_table(p) for p in sorted(map(str, score_paths))], ignore_index=True)
    scored = scores[scores["status"] == "ok"]
    sel = read_table(selected_csv)
    from synthfer.synthetic_manifest import read_manifest

    man = read_manifest(manifest_csv).set_index("name")
    chosen = scored[scored["name"].isin(set(sel["name"]))]
    thresholds = dict(thresholds or {})
    show = list(metrics) or ["psnr", "ssim", "brisque", "svr_severity"]
    written = [out_dir / f"{name}.png" for name in FIGURES]
    plot_distributions(read_table(real_scores), scored, chosen, thresholds, written[0])
    plot_per_class(scored, chosen, man, show, written[1])
    plot_fid_kid(read_table(fid_kid_csv), written[2])
    plot_threshold_sweep(scored, thresholds, show, written[3])
    plot_example_grids(sel, read_table(rejected_csv), raw_dir, n_examples, written[4], written[5])
    log.info("wrote %d figures to %s", len(written), out_dir)
    return written
