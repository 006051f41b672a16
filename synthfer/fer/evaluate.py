"""Cross-validation summary of the fold predictions: AUC per fold, mean ± std, 95 % CI, pooled ROC,
paired Wilcoxon tests between variants, figures.

Inputs: for each variant, the k ``predictions.csv`` of its folds (columns ``image, subject``, the six
true labels, ``prob_<AU>``). Per AU and variant:

- fold AUC: :func:`synthfer.fer.metrics.roc_auc` on that fold's validation frames (NaN when the
  fold has no positive or no negative frame of the AU; such folds are left out of the statistics);
- ``mean_auc``, ``std_auc`` (ddof 1), ``ci_low``/``ci_high`` (Student-t interval over the folds);
- ``pooled_auc``: one ROC over all folds' predictions concatenated (every real frame is validated
  exactly once, so this is the cross-validated ROC of the whole set);
- the ``mean`` row: the macro average, fold by fold, over the AUs with both classes in that fold's
  validation frames (the number early stopping watched); its ``aus`` column names them, an AU that
  enters only some folds' means with its count, e.g. ``AU1 AU5[9/13] AU12``.

Optional subject baselining (the predecessor's): from each validation subject's probabilities
subtract the subject's mean probability on its neutral frames (all six AUs 0), removing a person's
resting-face bias before ranking. Subjects without neutral frames are left unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthfer import AU_COLUMNS
from synthfer.fer.metrics import holm, mean_ci, paired_wilcoxon, roc_auc, roc_curve
from synthfer.io import PathLike, atomic_path, write_table
from synthfer.logs import get_logger
from synthfer.variants import label as variant_label

log = get_logger(__name__)



def read_predictions(path: PathLike) -> pd.DataFrame:
    """Read one fold's ``predictions.csv`` and check its columns."""
    df = pd.read_csv(path, dtype={"image": str, "subject": str}, keep_default_na=False)
    need = ["image", "subject", *AU_COLUMNS, *(f"prob_{a}" for a in AU_COLUMNS)]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (not a fold predictions table)")
    return df


def baseline_by_neutral(df: pd.DataFrame) -> pd.DataFrame:
    """Subtract each subject's mean probability over its neutral frames (all AUs 0), per AU."""
    out = df.copy()
    neutral = (df[list(AU_COLUMNS)].to_numpy() == 0).all(axis=1)
    for subject, idx in df.groupby("subject").groups.items():
        rows = df.index.get_indexer(idx)
        nrows = rows[neutral[rows]]
        if nrows.size == 0:
            log.warning("subject %s has no neutral frame: left unbaselined", subject)
            continue
        for au in AU_COLUMNS:
            col = f"prob_{au}"
            out.loc[idx, col] = df.loc[idx, col] - df[col].iloc[nrows].mean()
    return out


def fold_aucs(predictions: dict[str, dict[int, pd.DataFrame]]) -> pd.DataFrame:
    """Long table ``variant, fold, au, auc, n_validation, n_positive`` (au also ``mean``)."""
    rows = []
    for variant, folds in predictions.items():
        for fold, df in sorted(folds.items()):
            aucs = []
            for au in AU_COLUMNS:
                auc = roc_auc(df[au].to_numpy(), df[f"prob_{au}"].to_numpy())
                aucs.append(auc)
                rows.append((variant, fold, au, auc, len(df), int(df[au].sum())))
            finite = [a for a in aucs if np.isfinite(a)]
            rows.append((variant, fold, "mean", float(np.mean(finite)) if finite else np.nan, len(df), -1))
    return pd.DataFrame(rows, columns=["variant", "fold", "au", "auc", "n_validation", "n_positive"])


def averaged_aus(fold_table: pd.DataFrame, variant: str) -> str:
    """The AUs the ``mean`` rows of ``variant`` average: those with a finite AUC in some fold, in AU
    order, space-separated; ``AU[n/k]`` when only n of the k folds have one."""
    t = fold_table[(fold_table["variant"] == variant) & (fold_table["au"] != "mean")]
    k = t["fold"].nunique()
    parts = []
    for au in AU_COLUMNS:
        n = int(np.isfinite(t.loc[t["au"] == au, "auc"].to_numpy(dtype=float)).sum())
        if n == k:
            parts.append(au)
        elif n:
            parts.append(f"{au}[{n}/{k}]")
        else:
            log.warning("%s: no fold has both classes of %s; it is left out of the mean", variant, au)
    return " ".join(parts)


def summarise(fold_table: pd.DataFrame, predictions: dict[str, dict[int, pd.DataFrame]], level: float = 0.95) -> pd.DataFrame:
    """``variant, au, mean_auc, std_auc, ci_low, ci_high, n_folds, pooled_auc, aus`` (au also ``mean``;
    ``aus``: the AU itself, or for ``mean`` :func:`averaged_aus`)."""
    rows = []
    for variant, folds in predictions.items():
        mean_aus = averaged_aus(fold_table, variant)
        pooled = pd.concat(folds.values(), ignore_index=True)
        pooled_aucs = []
        for au in [*AU_COLUMNS, "mean"]:
            v = fold_table[(fold_table["variant"] == variant) & (fold_table["au"] == au)]["auc"]
            mean, std, lo, hi, n = mean_ci(v, level)
            if au == "mean":
                finite = [a for a in pooled_aucs if np.isfinite(a)]
                pooled_auc = float(np.mean(finite)) if finite else np.nan
            else:
                pooled_auc = roc_auc(pooled[au].to_numpy(), pooled[f"prob_{au}"].to_numpy())
                pooled_aucs.append(pooled_auc)
            rows.append((variant, au, mean, std, lo, hi, n, pooled_auc, mean_aus if au == "mean" else au))
    return pd.DataFrame(rows, columns=["variant", "au", "mean_auc", "std_auc", "ci_low", "ci_high", "n_folds", "pooled_auc",
                                       "aus"])


def roc_table(predictions: dict[str, dict[int, pd.DataFrame]]) -> pd.DataFrame:
    """All ROC points: ``variant, au, fold`` (``01``… or ``pooled``), ``fpr, tpr, threshold``."""
    parts = []
    for variant, folds in predictions.items():
        sets = [(f"{fold:02d}", df) for fold, df in sorted(folds.items())]
        sets.append(("pooled", pd.concat(folds.values(), ignore_index=True)))
        for au in AU_COLUMNS:
            for name, df in sets:
                fpr, tpr, thr = roc_curve(df[au].to_numpy(), df[f"prob_{au}"].to_numpy())
                parts.append(pd.DataFrame({"variant": variant, "au": au, "fold": name, "fpr": fpr, "tpr": tpr, "threshold": thr}))
    return pd.concat(parts, ignore_index=True)


def wilcoxon_table(fold_table: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank test of fold AUCs for every pair ``(variant_a, variant_b)`` in
    config order, per AU and for the macro mean. ``*_diff`` are ``b − a``. ``p_holm``: the pair's six AU
    p-values Holm-corrected as one family (:func:`~synthfer.fer.metrics.holm`); the ``mean`` row is a single
    test, its ``p_holm`` equals its ``p_value``."""
    rows = []
    for i, a in enumerate(variants):
        for b in variants[i + 1 :]:
            pair = []
            for au in [*AU_COLUMNS, "mean"]:
                ta = fold_table[(fold_table["variant"] == a) & (fold_table["au"] == au)].set_index("fold")["auc"]
                tb = fold_table[(fold_table["variant"] == b) & (fold_table["au"] == au)].set_index("fold")["auc"]
                common = ta.index.intersection(tb.index)
                res = paired_wilcoxon(ta.loc[common].to_numpy(), tb.loc[common].to_numpy())
                pair.append({"variant_a": a, "variant_b": b, "au": au, **res})
            adjusted = holm([r["p_value"] for r in pair[:-1]])
            for r, p in zip(pair, [*adjusted, pair[-1]["p_value"]], strict=True):
                r["p_holm"] = float(p)
            rows += pair
    return pd.DataFrame(rows, columns=["variant_a", "variant_b", "au", "n_pairs", "mean_diff", "median_diff", "statistic",
                                       "p_value", "p_holm"])


def _savefig(fig, path: PathLike) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format=Path(path).suffix.lstrip("."))


def plot_roc(rocs: pd.DataFrame, summary: pd.DataFrame, variant: str, path: PathLike) -> None:
    """One panel per AU: the fold ROC curves (thin) and the pooled one (thick), chance diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(11, 7.4), sharex=True, sharey=True)
    for ax, au in zip(axes.ravel(), AU_COLUMNS, strict=True):
        r = rocs[(rocs["variant"] == variant) & (rocs["au"] == au)]
        for _, g in r[r["fold"] != "pooled"].groupby("fold"):
            ax.plot(g["fpr"], g["tpr"], color="0.6", lw=0.7, alpha=0.7)
        g = r[r["fold"] == "pooled"]
        s = summary[(summary["variant"] == variant) & (summary["au"] == au)].iloc[0]
        ax.plot(g["fpr"], g["tpr"], color="C0", lw=2, label=f"pooled AUC {s.pooled_auc:.3f}")
        ax.plot([0, 1], [0, 1], ls="--", color="k", lw=0.8)
        ax.set_title(f"{au}: fold AUC {s.mean_auc:.3f} ± {s.std_auc:.3f}", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
        ax.set_aspect("equal")
    for ax in axes[-1]:
        ax.set_xlabel("false positive rate")
    for ax in axes[:, 0]:
        ax.set_ylabel("true positive rate")
    fig.suptitle(f"ROC per AU — {variant_label(variant)} (grey: folds)")
    _savefig(fig, path)
    plt.close(fig)


def plot_auc_bars(summary: pd.DataFrame, variants: list[str], path: PathLike, level: float = 0.95) -> None:
    """AUC per AU (and the macro mean) as grouped bars, one colour per variant, with the CI as
    error bars — the seed's original/baseline/enhanced comparison in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    aus = [*AU_COLUMNS, "mean"]
    x = np.arange(len(aus))
    width = 0.8 / max(len(variants), 1)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    for i, variant in enumerate(variants):
        s = summary[summary["variant"] == variant].set_index("au").loc[aus]
        err = np.vstack([s["mean_auc"] - s["ci_low"], s["ci_high"] - s["mean_auc"]])
        err = np.where(np.isfinite(err), err, 0)
        ax.bar(x + (i - (len(variants) - 1) / 2) * width, s["mean_auc"], width, yerr=err, capsize=3,
               label=variant_label(variant))
    ax.axhline(0.5, color="k", ls="--", lw=0.8)
    ax.set_xticks(x, aus)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"mean fold AUC ({level:.0%} CI)")
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title("AUC per AU and training set")
    _savefig(fig, path)
    plt.close(fig)


def evaluate(
    predictions: dict[str, list[PathLike]],
    out_summary: PathLike,
    out_fold_aucs: PathLike,
    out_roc: PathLike,
    out_wilcoxon: PathLike,
    out_auc_figure: PathLike,
    out_roc_figures: dict[str, PathLike],
    level: float = 0.95,
    baseline_neutral: bool = False,
) -> pd.DataFrame:
    """Evaluate every variant's fold predictions (``{variant: [fold paths in fold order]}``; a
    file's fold number is taken from its ``fold_NN`` folder, else its position) and write the tables
    and figures. Returns the summary table."""
    variants = list(predictions)
    preds: dict[str, dict[int, pd.DataFrame]] = {}
    for variant, paths in predictions.items():
        preds[variant] = {}
        for i, p in enumerate(paths):
            parent = Path(p).parent.name
            fold = int(parent.split("_")[1]) if parent.startswith("fold_") else i + 1
            df = read_predictions(p)
            preds[variant][fold] = baseline_by_neutral(df) if baseline_neutral else df
        log.info("%s: %d folds, %d validation frames", variant, len(paths), sum(len(d) for d in preds[variant].values()))
    folds = fold_aucs(preds)
    summary = summarise(folds, preds, level)
    rocs = roc_table(preds)
    tests = wilcoxon_table(folds, variants)
    write_table(out_fold_aucs, folds)
    write_table(out_summary, summary)
    write_table(out_roc, rocs)
    write_table(out_wilcoxon, tests)
    plot_auc_bars(summary, variants, out_auc_figure, level)
    for variant in variants:
        plot_roc(rocs, summary, variant, out_roc_figures[variant])
    for row in summary.itertuples():
        log.info("%-14s %-5s AUC %.3f ± %.3f (%.0f%% CI %.3f–%.3f, %d folds), pooled %.3f%s", row.variant, row.au,
                 row.mean_auc, row.std_auc, 100 * level, row.ci_low, row.ci_high, row.n_folds, row.pooled_auc,
                 f" over {row.aus}" if row.au == "mean" else "")
    return summary
