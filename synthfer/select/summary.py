"""The seed thesis' selection results as files: its Table 4.1 (metric summary), the metrics' rank
correlations (the evidence for the ranking metrics) and its Fig 4.3 (real vs synthetic images in
feature space).

**Metric summary** (``metric_summary.csv``, Table 4.1): per ``group`` × ``class`` × ``metric``, the
number of finite values ``n``, their ``mean`` and ``sd`` (ddof 1; NaN with n < 2). Groups:

* ``real`` — the resized real crops scored against their nearest *other* crop (``real_scores.parquet``);
  the real set has no AU labels, so only class ``all``;
* ``synthetic`` — every scored synthetic image (status ``ok``);
* ``selected`` / ``rejected`` — the scored images the selection kept / did not keep (face-filter rejects
  and unscorable images have no metric values and are in neither).

Classes: ``all``, ``AU1 … AU15``, ``neutral`` (images whose manifest row has that column = 1, as in the
FID/KID table). Infinite values (PSNR of an identical pair) are left out of n, mean and sd.
``metric_summary.html`` renders it as "mean ± sd (n)", one row per group and class — the report's table.

**Rank correlations** (``metric_correlation.csv``): Spearman's ρ between every two metrics over the scored
synthetic images, each metric oriented so that higher = better (lower-is-better metrics negated), so
ρ > 0 means the two metrics tend to prefer the same images; square table with a ``metric`` column. A
constant metric (e.g. BRISQUE saturated on tiny images) has NaN correlations. Also the mean within-batch ρ
(the ranking happens within batches) as ``metric_correlation_within_batch.csv``.

**Feature projection** (``feature_pca.csv``, Fig 4.3): the FID features of the real crops and of every
scored synthetic image, centred on their joint mean and projected on the first two principal axes (SVD of
the joint matrix); columns ``name, set`` (``real``/``synthetic``), ``selected`` (bool), ``pc1, pc2``; the
sidecar JSON gives each axis' share of the variance.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import (
    PathLike,
    provenance,
    read_table,
    save_figure,
    sidecar_path,
    write_json,
    write_table,
    write_text,
)
from synthfer.logs import get_logger
from synthfer.scores import HIGHER_IS_BETTER, SCORE_METRICS

log = get_logger(__name__)

CLASSES = ("all", *AU_COLUMNS, "neutral")
SUMMARY_COLUMNS = ["group", "class", "metric", "n", "mean", "sd"]


def _scored_with_classes(score_paths: Sequence[PathLike], selected_csv: PathLike, manifest_csv: PathLike):
    import pandas as pd

    scores = pd.concat([read_table(p) for p in sorted(map(str, score_paths))], ignore_index=True)
    scored = scores[scores["status"] == "ok"].copy()
    scored["name"] = scored["name"].astype(str)
    from synthfer.synthetic_manifest import read_manifest

    man = read_manifest(manifest_csv).set_index("name")
    for c in CLASSES[1:]:
        if c not in man.columns:
            raise ValueError(f"{manifest_csv}: missing class column {c!r}")
        scored[c] = pd.to_numeric(man[c].reindex(scored["name"]), errors="coerce").fillna(0).astype(int).to_numpy()
    chosen = set(read_table(selected_csv, dtype={"name": str})["name"].astype(str))
    scored["selected"] = scored["name"].isin(chosen)
    return scored


def _stats(values) -> tuple[int, float, float]:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    n = len(v)
    return n, (float(v.mean()) if n else np.nan), (float(v.std(ddof=1)) if n > 1 else np.nan)


def metric_summary(real, scored):
    """The long ``metric_summary`` table from the real score table and the scored synthetic images
    (with class columns and ``selected``)."""
    import pandas as pd

    rows = []
    subsets = {
        "synthetic": scored,
        "selected": scored[scored["selected"]],
        "rejected": scored[~scored["selected"]],
    }
    for m in SCORE_METRICS:
        rows.append(("real", "all", m, *_stats(real[m])))
    for group, df in subsets.items():
        for cls in CLASSES:
            sub = df if cls == "all" else df[df[cls] == 1]
            for m in SCORE_METRICS:
                rows.append((group, cls, m, *_stats(sub[m])))
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out["n"] = out["n"].astype("int64")
    return out


def _fmt(mean: float, sd: float) -> str:
    if not np.isfinite(mean):
        return "–"
    scale = max(abs(mean), abs(sd) if np.isfinite(sd) else 0)
    digits = 1 if scale >= 10 else 3
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" if np.isfinite(sd) else f"{mean:.{digits}f}"


def summary_html(table, title: str) -> str:
    """One row per (group, class) with "mean ± sd" per metric and n — the report's rendering."""
    head = "".join(f"<th>{html.escape(m)} ({'↑' if HIGHER_IS_BETTER[m] else '↓'})</th>" for m in SCORE_METRICS)
    body = []
    for (group, cls), g in table.groupby(["group", "class"], sort=False):
        g = g.set_index("metric")
        n = int(g["n"].max()) if len(g) else 0
        if n == 0:
            continue
        cells = "".join(f"<td>{_fmt(g.loc[m, 'mean'], g.loc[m, 'sd'])}</td>" for m in SCORE_METRICS)
        body.append(f"<tr><td>{group}</td><td>{cls}</td><td>{n}</td>{cells}</tr>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>{t}</title><style>"
        "body{{font-family:sans-serif;font-size:13px}}table{{border-collapse:collapse}}"
        "td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}td:nth-child(-n+2){{text-align:left}}"
        "</style></head><body><h3>{t}</h3><table><tr><th>group</th><th>class</th><th>n</th>{h}</tr>{b}</table>"
        "<p>mean ± SD over the images with a finite value; ↑/↓: higher/lower is better. real = the real crops "
        "against their nearest other crop; rejected = scored but not selected.</p></body></html>"
    ).format(t=html.escape(title), h=head, b="".join(body))


def _oriented(df):
    return {m: (df[m] if HIGHER_IS_BETTER[m] else -df[m]).replace([np.inf, -np.inf], np.nan) for m in SCORE_METRICS}


def rank_correlation(scored):
    """Spearman ρ between the oriented metrics over all scored images (square DataFrame)."""
    import pandas as pd

    frame = pd.DataFrame(_oriented(scored))
    with np.errstate(invalid="ignore", divide="ignore"):
        return frame.corr(method="spearman", min_periods=3)


def within_batch_correlation(scored):
    """Mean over batches of the within-batch Spearman ρ (batches with a NaN ρ for a pair are skipped)."""
    import pandas as pd

    mats = [rank_correlation(df).to_numpy() for _, df in scored.groupby("batch") if len(df) >= 3]
    stack = np.stack(mats) if mats else np.full((1, len(SCORE_METRICS), len(SCORE_METRICS)), np.nan)
    finite = np.isfinite(stack)
    total = np.where(finite, stack, 0.0).sum(axis=0)
    count = finite.sum(axis=0)
    mean = np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)
    return pd.DataFrame(mean, index=list(SCORE_METRICS), columns=list(SCORE_METRICS))


def plot_correlation(corr, within, ranked: Sequence[str], path: PathLike, n_images: int) -> None:
    """Heat maps of the two correlation matrices, values written in, the ranked metrics in bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.4))
    labels = [f"{m}{'*' if m in ranked else ''}" for m in SCORE_METRICS]
    for ax, mat, title in ((axes[0], corr, f"all {n_images} scored images"), (axes[1], within, "mean within a scoring batch")):
        a = mat.to_numpy(dtype=float)
        im = ax.imshow(np.nan_to_num(a, nan=0.0), vmin=-1, vmax=1, cmap="RdBu_r")
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                ax.text(j, i, "–" if not np.isfinite(a[i, j]) else f"{a[i, j]:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.suptitle("Spearman ρ between the quality metrics, each oriented higher = better (* = ranked by select.metrics)",
                 fontsize=10)
    save_figure(fig, path)


def select_metric_summary(
    score_paths: Sequence[PathLike],
    real_scores: PathLike,
    selected_csv: PathLike,
    manifest_csv: PathLike,
    out_summary: PathLike,
    out_html: PathLike,
    out_correlation: PathLike,
    out_within: PathLike,
    out_figure: PathLike,
    ranked_metrics: Sequence[str] = ("rmse", "psnr", "issm", "sam", "uiq"),
) -> dict:
    """Rule ``select_metric_summary``: Table 4.1 (CSV + HTML) and the rank-correlation tables and figure."""
    scored = _scored_with_classes(score_paths, selected_csv, manifest_csv)
    real = read_table(real_scores)
    table = metric_summary(real, scored)
    write_table(out_summary, table)
    write_text(out_html, summary_html(table, "Quality metrics: real crops, all synthetic, selected, rejected"))
    corr = rank_correlation(scored)
    within = within_batch_correlation(scored)
    for path, mat in ((out_correlation, corr), (out_within, within)):
        write_table(path, mat.rename_axis("metric").reset_index())
    plot_correlation(corr, within, ranked_metrics, out_figure, len(scored))
    log.info("metric summary: %d rows; %d scored images (%d selected); Spearman ρ rmse–psnr %.3f",
             len(table), len(scored), int(scored["selected"].sum()), corr.loc["rmse", "psnr"])
    return {"rows": len(table), "scored": len(scored)}


def _load_features(path: PathLike):
    with np.load(path, allow_pickle=False) as f:
        names = f["names"].astype(str) if "names" in f else np.array([], dtype=str)
        return names, np.asarray(f["features"], dtype=np.float64), str(f["extractor"])


def feature_projection(
    real_npz: PathLike,
    batch_npzs: Sequence[PathLike],
    selected_csv: PathLike,
    out_csv: PathLike,
    out_figure: PathLike,
    out_summary: PathLike | None = None,
) -> dict:
    """Rule ``select_feature_pca``: the 2-D PCA projection (module docstring), table, figure and the JSON
    ``out_summary`` (``results/select/feature_pca.json``: counts, explained variance, provenance)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    real_names, real, extractor = _load_features(real_npz)
    names, feats = [], []
    for p in sorted(map(str, batch_npzs)):
        n, f, ex = _load_features(p)
        if ex != extractor:
            raise ValueError(f"{p}: features from {ex}, the real set's from {extractor}")
        names.extend(n)
        feats.append(f)
    synth = np.concatenate(feats) if feats else np.zeros((0, real.shape[1]))
    joint = np.concatenate([real, synth])
    if len(joint) < 3:
        raise ValueError(f"{real_npz}: {len(joint)} feature vectors in all — too few for a projection")
    centred = joint - joint.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    axes = axes * np.where(axes.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)  # a fixed sign, so re-runs match
    proj = centred @ axes.T
    var = s**2 / max((s**2).sum(), 1e-300)
    chosen = set(read_table(selected_csv, dtype={"name": str})["name"].astype(str))
    table = pd.DataFrame(
        {
            "name": [*real_names, *names],
            "set": ["real"] * len(real) + ["synthetic"] * len(synth),
            "selected": [False] * len(real) + [n in chosen for n in names],
            "pc1": proj[:, 0],
            "pc2": proj[:, 1] if proj.shape[1] > 1 else 0.0,
        }
    )
    write_table(out_csv, table)
    write_json(
        sidecar_path(out_summary, out_csv),
        {"extractor": extractor, "n_real": len(real), "n_synthetic": len(synth), "n_selected": int(table["selected"].sum()),
         "explained_variance_ratio": [float(v) for v in var[:2]], "provenance": provenance()},
    )
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    syn = table[table["set"] == "synthetic"]
    ax.scatter(syn.loc[~syn["selected"], "pc1"], syn.loc[~syn["selected"], "pc2"], s=8, c="0.7",
               label=f"synthetic, not selected (n={int((~syn['selected']).sum())})")
    ax.scatter(syn.loc[syn["selected"], "pc1"], syn.loc[syn["selected"], "pc2"], s=10, c="C1",
               label=f"synthetic, selected (n={int(syn['selected'].sum())})")
    re = table[table["set"] == "real"]
    ax.scatter(re["pc1"], re["pc2"], s=14, c="C0", marker="^", label=f"real crops (n={len(re)})")
    ax.set_xlabel(f"PC1 ({100 * var[0]:.1f} % of variance)")
    ax.set_ylabel(f"PC2 ({100 * var[1]:.1f} % of variance)" if len(var) > 1 else "PC2")
    ax.set_title(f"Real vs synthetic images in {extractor} feature space (PCA)", fontsize=10)
    ax.legend(fontsize=8)
    save_figure(fig, out_figure)
    log.info("feature PCA (%s): %d real, %d synthetic (%d selected); variance %.3f, %.3f", extractor, len(real),
             len(synth), int(table["selected"].sum()), var[0], var[1] if len(var) > 1 else 0)
    return {"n": len(table)}
