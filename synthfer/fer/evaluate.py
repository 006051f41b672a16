"""Cross-validation summary of the fold predictions: AUC per fold, the paired comparisons of the training
sets with their confidence intervals, the primary endpoint, the noise floor, figures.

Inputs: for each variant, the ``predictions.csv`` of every (fold, replicate) —
``results/fer/{variant}/fold_{fold}/rep_{rep}/predictions.csv`` (a file directly in ``fold_{fold}/`` is replicate
``r0``) — with columns ``image, subject``, the six true labels, ``prob_<AU>``. A replicate is one trained model of
the fold: ``r{repeat}`` (training seed), ``d{draw}r{repeat}`` for a random control (selection draw × seed).

Per variant, fold and AU (docs/fer.md "Statistics"):

- replicate AUC: :func:`synthfer.fer.metrics.roc_auc` on the fold's validation frames (NaN when the fold has
  no positive or no negative frame of the AU; such folds are left out of that AU's statistics);
  the ``mean`` row: the macro average over the AUs with both classes in the fold;
- fold AUC: the mean over the fold's replicates (replicates and draws are averaged FIRST, the tests run over folds);
- between-replicate spread: the SD (ddof 1) of the replicate AUCs within a fold, averaged over the folds —
  the noise floor of one training run, shown beside the effects;
- ``mean_auc``, ``std_auc`` over the folds, ``ci_low``/``ci_high`` with the Nadeau–Bengio corrected variance
  (1/n + n_test/n_train)·s² (k-fold training sets overlap; the plain Student-t interval is too narrow);
- ``pooled_auc``: one ROC over all folds' predictions (probabilities averaged over a fold's replicates first) —
  a pooled AUC mixes differently calibrated fold models, it is not "the cross-validated AUC".

Comparisons (``comparisons.csv``): every pair of variants × (six AUs + ``mean``); the per-fold difference
d = AUC_b − AUC_a over the folds both have; its mean with a CI (``ci_method``: ``corrected_t`` = Nadeau–Bengio
corrected resampled t, or ``bootstrap`` = subject-level bootstrap within folds), Cohen's d_z, the corrected-t
minimum detectable difference at ``power``, and the paired Wilcoxon signed-rank test as a secondary column.
One declared primary endpoint (default ``synthetic_tds`` − ``synthetic_random``, macro AUC) is tested
uncorrected; every other row is secondary and Holm-corrected as ONE family across the whole table.

Optional subject baselining (the predecessor's): from each validation subject's probabilities
subtract the subject's mean probability on its neutral frames (all six AUs 0), removing a person's
resting-face bias before ranking. Subjects without neutral frames are left unchanged.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from synthfer import AU_COLUMNS
from synthfer.fer.metrics import (
    corrected_t,
    fast_auc,
    holm,
    min_detectable_difference,
    paired_wilcoxon,
    roc_auc,
    roc_curve,
    wilcoxon_min_p,
)
from synthfer.io import PathLike, save_figure, write_json, write_table
from synthfer.logs import get_logger
from synthfer.variants import PSEUDO, RANDOM_CONTROL, REAL_ONLY, TDS
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


DEFAULT_REP = "r0"
AUS_AND_MEAN = (*AU_COLUMNS, "mean")
CI_METHODS = ("corrected_t", "bootstrap")
DEFAULT_PRIMARY = {"variant": TDS, "reference": RANDOM_CONTROL, "au": "mean"}
# variant → fold → replicate id → predictions
Predictions = dict[str, dict[int, dict[str, pd.DataFrame]]]


def parse_prediction_path(path: PathLike) -> tuple[int, str]:
    """``(fold, replicate)`` of ``…/fold_{fold}/rep_{rep}/predictions.csv``; a file directly in ``fold_{fold}/``
    is replicate ``r0`` (the layout before replicates)."""
    p = Path(path)
    rep, fold_dir = DEFAULT_REP, p.parent.name
    if fold_dir.startswith("rep_"):
        rep, fold_dir = fold_dir[4:], p.parent.parent.name
    if not fold_dir.startswith("fold_") or not fold_dir[5:].isdigit() or not rep:
        raise ValueError(f"{path}: not a fold prediction path (expected …/fold_NN/rep_<id>/predictions.csv)")
    return int(fold_dir[5:]), rep


def load_predictions(paths: dict[str, list[PathLike]], baseline_neutral: bool = False) -> Predictions:
    """Read every variant's prediction files into ``{variant: {fold: {replicate: DataFrame}}}``."""
    preds: Predictions = {}
    for variant, files in paths.items():
        preds[variant] = {}
        for p in files:
            fold, rep = parse_prediction_path(p)
            if rep in preds[variant].get(fold, {}):
                raise ValueError(f"{p}: {variant} fold {fold} replicate {rep} is listed twice")
            df = read_predictions(p)
            preds[variant].setdefault(fold, {})[rep] = baseline_by_neutral(df) if baseline_neutral else df
        preds[variant] = dict(sorted(preds[variant].items()))
        n_rep = sorted({len(r) for r in preds[variant].values()})
        log.info("%s: %d folds, %s replicate(s) per fold", variant, len(preds[variant]), "/".join(map(str, n_rep)))
    return preds


def _check_replicates(variant: str, fold: int, reps: dict[str, pd.DataFrame]) -> None:
    """Every replicate of a fold predicts the same validation frames with the same labels."""
    first_rep, first = next(iter(reps.items()))
    key = first.sort_values("image")[["image", *AU_COLUMNS]].reset_index(drop=True)
    for rep, df in reps.items():
        other = df.sort_values("image")[["image", *AU_COLUMNS]].reset_index(drop=True)
        if not key.equals(other):
            raise ValueError(f"{variant} fold {fold}: replicate {rep} validates on other frames or labels than "
                             f"replicate {first_rep}; every replicate of a fold must predict the fold's frames")  # fmt: skip


def replicate_aucs(predictions: Predictions) -> pd.DataFrame:
    """Long table ``variant, fold, replicate, au, auc, n_validation, n_positive`` (au also ``mean``, the macro
    average over the AUs with both classes in the fold; its n_positive is −1)."""
    rows = []
    for variant, folds in predictions.items():
        for fold, reps in folds.items():
            _check_replicates(variant, fold, reps)
            for rep, df in sorted(reps.items()):
                aucs = []
                for au in AU_COLUMNS:
                    auc = roc_auc(df[au].to_numpy(), df[f"prob_{au}"].to_numpy())
                    aucs.append(auc)
                    rows.append((variant, fold, rep, au, auc, len(df), int(df[au].sum())))
                finite = [a for a in aucs if np.isfinite(a)]
                rows.append((variant, fold, rep, "mean", float(np.mean(finite)) if finite else np.nan, len(df), -1))
    return pd.DataFrame(rows, columns=["variant", "fold", "replicate", "au", "auc", "n_validation", "n_positive"])


def fold_aucs(rep_table: pd.DataFrame) -> pd.DataFrame:
    """Per ``variant, fold, au``: ``auc`` = the mean over the fold's replicates (NaN when the fold has no AUC for
    the AU), ``n_validation``, ``n_positive``, ``n_replicates``."""
    g = rep_table.groupby(["variant", "fold", "au"], sort=False)
    out = g.agg(auc=("auc", "mean"), n_validation=("n_validation", "first"), n_positive=("n_positive", "first"),
                n_replicates=("replicate", "nunique")).reset_index()  # fmt: skip
    return out[["variant", "fold", "au", "auc", "n_validation", "n_positive", "n_replicates"]]


def replicate_spread(rep_table: pd.DataFrame) -> pd.DataFrame:
    """The noise floor: per ``variant, au``, ``n_replicates`` (per fold, the most), ``n_folds`` (folds with at
    least two finite replicate AUCs), ``replicate_sd`` (SD of the AUC across a fold's replicates, averaged over
    those folds; NaN with one replicate) and ``replicate_sd_max`` (the largest fold's)."""
    rows = []
    for (variant, au), t in rep_table.groupby(["variant", "au"], sort=False):
        sds = []
        for _, f in t.groupby("fold"):
            a = f["auc"].to_numpy(dtype=float)
            a = a[np.isfinite(a)]
            if a.size >= 2:
                sds.append(float(a.std(ddof=1)))
        rows.append((variant, au, int(t.groupby("fold")["replicate"].nunique().max()), len(sds),
                     float(np.mean(sds)) if sds else np.nan, float(np.max(sds)) if sds else np.nan))  # fmt: skip
    return pd.DataFrame(rows, columns=["variant", "au", "n_replicates", "n_folds", "replicate_sd", "replicate_sd_max"])


def ensemble(predictions: Predictions) -> dict[str, dict[int, pd.DataFrame]]:
    """Per variant and fold, the predictions with each ``prob_<AU>`` averaged over the fold's replicates (rows in
    the first replicate's order) — for the pooled ROC only."""
    out: dict[str, dict[int, pd.DataFrame]] = {}
    for variant, folds in predictions.items():
        out[variant] = {}
        for fold, reps in folds.items():
            frames = list(reps.values())
            df = frames[0].copy()
            if len(frames) > 1:
                probs = [f"prob_{au}" for au in AU_COLUMNS]
                stacked = [f.set_index("image").loc[df["image"], probs].to_numpy(dtype=float) for f in frames]
                df[probs] = np.mean(stacked, axis=0)
            out[variant][fold] = df
    return out


def test_train_ratio(n_folds: int, ratio: float | None = None) -> float:
    """n_test/n_train of the Nadeau–Bengio correction: ``ratio`` when given, else 1/(K − 1) for K folds."""
    if ratio is not None:
        return float(ratio)
    return 1.0 / (n_folds - 1) if n_folds > 1 else float("nan")


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


def summarise(fold_table: pd.DataFrame, pooled: dict[str, dict[int, pd.DataFrame]], level: float = 0.95,
              ratio: float | None = None) -> pd.DataFrame:
    """``variant, au, mean_auc, std_auc, ci_low, ci_high, n_folds, pooled_auc, aus, n_replicates`` (au also ``mean``;
    the CI: mean ± t_{(1+level)/2, n−1}·sqrt((1/n + n_test/n_train)·s²) over the fold AUCs; ``aus``: the AU itself,
    or for ``mean`` :func:`averaged_aus`; ``pooled``: :func:`ensemble`'s tables)."""
    from scipy import stats

    rows = []
    for variant, folds in pooled.items():
        mean_aus = averaged_aus(fold_table, variant)
        rho = test_train_ratio(len(folds), ratio)
        everything = pd.concat(folds.values(), ignore_index=True)
        pooled_aucs = []
        for au in AUS_AND_MEAN:
            t = fold_table[(fold_table["variant"] == variant) & (fold_table["au"] == au)]
            v = t["auc"].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            n = v.size
            mean = float(v.mean()) if n else np.nan
            std = float(v.std(ddof=1)) if n > 1 else np.nan
            half = float(stats.t.ppf((1 + level) / 2, n - 1)) * np.sqrt((1 / n + rho) * std**2) if n > 1 else np.nan
            if au == "mean":
                finite = [a for a in pooled_aucs if np.isfinite(a)]
                pooled_auc = float(np.mean(finite)) if finite else np.nan
            else:
                pooled_auc = roc_auc(everything[au].to_numpy(), everything[f"prob_{au}"].to_numpy())
                pooled_aucs.append(pooled_auc)
            rows.append((variant, au, mean, std, mean - half, mean + half, n, pooled_auc,
                         mean_aus if au == "mean" else au, int(t["n_replicates"].max()) if len(t) else 0))  # fmt: skip
    return pd.DataFrame(rows, columns=["variant", "au", "mean_auc", "std_auc", "ci_low", "ci_high", "n_folds", "pooled_auc",
                                       "aus", "n_replicates"])


def roc_table(pooled: dict[str, dict[int, pd.DataFrame]]) -> pd.DataFrame:
    """All ROC points: ``variant, au, fold`` (``01``… or ``pooled``), ``fpr, tpr, threshold`` (of the
    probabilities averaged over a fold's replicates, :func:`ensemble`)."""
    parts = []
    for variant, folds in pooled.items():
        sets = [(f"{fold:02d}", df) for fold, df in sorted(folds.items())]
        sets.append(("pooled", pd.concat(folds.values(), ignore_index=True)))
        for au in AU_COLUMNS:
            for name, df in sets:
                fpr, tpr, thr = roc_curve(df[au].to_numpy(), df[f"prob_{au}"].to_numpy())
                parts.append(pd.DataFrame({"variant": variant, "au": au, "fold": name, "fpr": fpr, "tpr": tpr, "threshold": thr}))
    return pd.concat(parts, ignore_index=True)


def _pairs(variants: list[str], primary: dict | None) -> list[tuple[str, str]]:
    """Every pair ``(a, b)`` of variants in config order (tests are of b − a); the primary endpoint's pair is
    oriented variant − reference."""
    out = []
    for i, a in enumerate(variants):
        for b in variants[i + 1 :]:
            if primary and {a, b} == {primary["variant"], primary["reference"]}:
                out.append((primary["reference"], primary["variant"]))
            else:
                out.append((a, b))
    return out


def subject_bootstrap(predictions: Predictions, pairs: list[tuple[str, str]], n_boot: int, seed: int,
                      level: float = 0.95) -> dict[tuple[str, str, str], tuple[float, float, float]]:
    """Subject-level bootstrap of the mean over folds of the paired AUC difference, for every pair × AU/``mean``:
    ``{(a, b, au): (ci_low, ci_high, p)}``. Each resample draws, within every fold, that fold's validation
    subjects with replacement (the same subjects for every variant and replicate: paired), recomputes each
    replicate's fold AUC, averages replicates, then takes b − a per fold and its mean over the folds with an AUC.
    CI: percentiles; p: twice the smaller tail share of resampled differences at or beyond 0 (at least 1/n_boot)."""
    rng = np.random.default_rng(seed)
    variants = sorted({v for p in pairs for v in p})
    folds = sorted(set.intersection(*(set(predictions[v]) for v in variants)))
    # per fold: each subject's row positions in the first replicate's frame order; replicates re-indexed to it
    subjects, arrays = {}, {}
    for f in folds:
        ref = next(iter(predictions[variants[0]][f].values()))
        order = ref["image"].to_numpy()
        subjects[f] = [np.flatnonzero(ref["subject"].to_numpy() == s) for s in pd.unique(ref["subject"])]
        y = ref[list(AU_COLUMNS)].to_numpy().astype(bool)
        for v in variants:
            _check_replicates(f"{variants[0]} and {v}", f, {variants[0]: ref, v: next(iter(predictions[v][f].values()))})
        arrays[f] = (y, {v: [r.set_index("image").loc[order, [f"prob_{a}" for a in AU_COLUMNS]].to_numpy(dtype=float)
                             for r in predictions[v][f].values()] for v in variants})  # fmt: skip
    stats_ = np.full((n_boot, len(variants), len(folds), len(AUS_AND_MEAN)), np.nan)
    for b in range(n_boot):
        for j, f in enumerate(folds):
            groups = subjects[f]
            rows = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
            y, probs = arrays[f]
            yb = y[rows]
            for i, v in enumerate(variants):
                per_rep = np.array([fast_auc(yb, s[rows]) for s in probs[v]])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    macro = np.nanmean(per_rep, axis=1)
                    stats_[b, i, j, :-1] = np.nanmean(per_rep, axis=0)
                    stats_[b, i, j, -1] = np.nanmean(macro)
    out = {}
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    for a, bv in pairs:
        ia, ib = variants.index(a), variants.index(bv)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            d = np.nanmean(stats_[:, ib] - stats_[:, ia], axis=1)  # (n_boot, AUs): mean over folds
        for k, au in enumerate(AUS_AND_MEAN):
            x = d[:, k]
            x = x[np.isfinite(x)]
            if x.size < 2:
                out[(a, bv, au)] = (np.nan, np.nan, np.nan)
                continue
            p = max(2 * min(np.mean(x <= 0), np.mean(x >= 0)), 1 / x.size)
            out[(a, bv, au)] = (float(np.percentile(x, lo_q)), float(np.percentile(x, hi_q)), float(min(1.0, p)))
    return out


COMPARISON_COLUMNS = [
    "variant_a", "variant_b", "au", "role", "n_pairs", "mean_diff", "ci_low", "ci_high", "ci_method", "sd_diff", "d_z",
    "t", "df", "p_value", "p_holm", "significant", "mdd", "median_diff", "wilcoxon_statistic", "p_wilcoxon",
    "p_wilcoxon_holm", "wilcoxon_min_p", "cannot_reach", "wilcoxon_cannot_reach",
]  # fmt: skip


def comparisons(
    fold_table: pd.DataFrame,
    variants: list[str],
    level: float = 0.95,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float | None = None,
    primary: dict | None = None,
    ci_method: str = "corrected_t",
    bootstrap: dict[tuple[str, str, str], tuple[float, float, float]] | None = None,
) -> pd.DataFrame:
    """The ``comparisons.csv`` table (module docstring; columns :data:`COMPARISON_COLUMNS`, docs/fer.md).

    ``primary``: ``{variant, reference, au}``, or None when the run lacks either variant (then every row is
    secondary). ``p_value`` is the corrected t's (``ci_method: bootstrap``: the bootstrap's, from ``bootstrap``);
    ``p_holm`` is Holm over every secondary row (the primary's equals its ``p_value``); ``significant``:
    ``p_holm < alpha``. ``cannot_reach``: with its usable folds the reported test cannot be significant (fewer
    than 2 folds with an AUC: the corrected t has no degrees of freedom, the bootstrap no spread).
    ``wilcoxon_cannot_reach``: the rank test cannot — its smallest exact p, 2/2ⁿ over the n non-zero differences,
    times the Holm family size m (1 for the primary) is ≥ α; e.g. n < 8 for m = 6 at α 0.05."""
    if ci_method not in CI_METHODS:
        raise ValueError(f"fer.evaluate.ci_method: unknown {ci_method!r} (use {' or '.join(CI_METHODS)})")
    if ci_method == "bootstrap" and bootstrap is None:
        raise ValueError("comparisons: ci_method 'bootstrap' needs the bootstrap results (subject_bootstrap)")
    wide = fold_table.pivot_table(index="fold", columns=["variant", "au"], values="auc", dropna=False)
    rows = []
    for a, b in _pairs(variants, primary):
        rho = test_train_ratio(int(fold_table.loc[fold_table["variant"].isin([a, b]), "fold"].nunique()), ratio)
        for au in AUS_AND_MEAN:
            xa, xb = wide.get((a, au)), wide.get((b, au))
            if xa is None or xb is None:
                xa = xb = pd.Series(dtype=float)
            d = (xb - xa).to_numpy(dtype=float)
            res = corrected_t(d, rho, level)
            w = paired_wilcoxon(xa.to_numpy(dtype=float), xb.to_numpy(dtype=float))
            is_primary = bool(primary) and (a, b, au) == (primary["reference"], primary["variant"], primary["au"])
            row = {"variant_a": a, "variant_b": b, "au": au, "role": "primary" if is_primary else "secondary",
                   **{k: res[k] for k in ("n_pairs", "mean_diff", "ci_low", "ci_high", "sd_diff", "d_z", "t", "df",
                                          "p_value")},
                   "ci_method": ci_method,
                   "mdd": min_detectable_difference(res["sd_diff"], res["n_pairs"], rho, alpha, power),
                   "median_diff": w["median_diff"], "wilcoxon_statistic": w["statistic"], "p_wilcoxon": w["p_value"],
                   "wilcoxon_min_p": wilcoxon_min_p(int(np.count_nonzero(d[np.isfinite(d)])))}  # fmt: skip
            if ci_method == "bootstrap":
                row["ci_low"], row["ci_high"], row["p_value"] = bootstrap[(a, b, au)]
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    secondary = (out["role"] == "secondary").to_numpy()
    m = int(secondary.sum())
    out["p_holm"] = out["p_value"]
    out["p_wilcoxon_holm"] = out["p_wilcoxon"]
    out.loc[secondary, "p_holm"] = holm(out.loc[secondary, "p_value"])
    out.loc[secondary, "p_wilcoxon_holm"] = holm(out.loc[secondary, "p_wilcoxon"])
    out["significant"] = out["p_holm"] < alpha
    family = np.where(secondary, max(m, 1), 1)
    out["cannot_reach"] = out["n_pairs"] < 2
    out["wilcoxon_cannot_reach"] = out["wilcoxon_min_p"] * family >= alpha
    return out[COMPARISON_COLUMNS]


def primary_endpoint(comp: pd.DataFrame, spread: pd.DataFrame, primary: dict | None, settings: dict) -> dict:
    """``primary.json``: the declared endpoint, its row of ``comparisons.csv``, the replicate noise floor of both
    variants on that AU and the statistical settings. ``found`` false when the run lacks either variant. JSON has
    no NaN: a missing number is null."""
    # settings["declared"] (the config's endpoint) wins: it is kept when the run lacks one of its variants
    out: dict = {"declared": primary, **settings, "found": False}
    if not primary:
        return _json_safe(out)
    hit = comp[comp["role"] == "primary"]
    if hit.empty:
        return _json_safe(out)
    row = hit.iloc[0]
    out["found"] = True
    out.update({k: row[k] for k in COMPARISON_COLUMNS})
    s = spread.set_index(["variant", "au"])
    out["replicate_sd"] = {v: (float(s.loc[(v, primary["au"]), "replicate_sd"]) if (v, primary["au"]) in s.index else None)
                           for v in (primary["variant"], primary["reference"])}  # fmt: skip
    return _json_safe(out)


def _json_safe(obj):
    """NaN/inf → None (JSON has no NaN), numpy scalars → Python, recursively."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _forest_rows(comp: pd.DataFrame, focus: list[tuple[str, str]]) -> pd.DataFrame:
    """Rows of the forest plot: for each focus pair (as ``(variant, reference)``, sign-flipped when the table
    holds reference − variant), the ``mean`` row then the six AUs."""
    parts = []
    for variant, reference in focus:
        for au in AUS_AND_MEAN[-1:] + AUS_AND_MEAN[:-1]:
            hit = comp[(comp["au"] == au) & (comp["variant_a"] == reference) & (comp["variant_b"] == variant)]
            sign = 1.0
            if hit.empty:
                hit = comp[(comp["au"] == au) & (comp["variant_a"] == variant) & (comp["variant_b"] == reference)]
                sign = -1.0
            if hit.empty:
                continue
            r = hit.iloc[0]
            lo, hi = sign * r["ci_low"], sign * r["ci_high"]
            parts.append({"variant": variant, "reference": reference, "au": au, "role": r["role"],
                          "diff": sign * r["mean_diff"], "ci_low": min(lo, hi), "ci_high": max(lo, hi),
                          "p_holm": r["p_holm"], "significant": bool(r["significant"])})  # fmt: skip
    return pd.DataFrame(parts)


def focus_pairs(variants: list[str], primary: dict | None) -> list[tuple[str, str]]:
    """The comparisons the forest plot and the landing show, ``(variant, reference)``: the primary endpoint's
    pair, the thesis' own (enhanced ``synthetic_tds`` vs baseline ``synthetic_pseudo``), and ``synthetic_tds`` vs
    ``real_only`` — those whose variants are in the run."""
    cand = []
    if primary:
        cand.append((primary["variant"], primary["reference"]))
    cand += [(TDS, PSEUDO), (TDS, REAL_ONLY)]
    out = []
    for v, r in cand:
        if v in variants and r in variants and (v, r) not in out:
            out.append((v, r))
    return out


def plot_forest(comp: pd.DataFrame, focus: list[tuple[str, str]], path: PathLike, level: float = 0.95,
                alpha: float = 0.05) -> pd.DataFrame:
    """Forest plot of the paired differences (variant − reference, AUC units) with their CIs: one block per focus
    pair, its macro row first (the primary endpoint on top), a vertical line at 0; filled marker = significant
    (primary: uncorrected, others: Holm). Returns the plotted rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _forest_rows(comp, focus)
    n = max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(7.5, 0.8 + 0.28 * n))
    labels = []
    for i, r in enumerate(rows.itertuples(index=False)):
        y = n - 1 - i
        colour = f"C{[*dict.fromkeys((x.variant, x.reference) for x in rows.itertuples())].index((r.variant, r.reference))}"
        if np.isfinite(r.ci_low) and np.isfinite(r.ci_high):
            ax.plot([r.ci_low, r.ci_high], [y, y], color=colour, lw=2.2 if r.role == "primary" else 1.2)
        ax.plot([r.diff], [y], "D" if r.role == "primary" else "o", color=colour,
                mfc=colour if r.significant else "white", ms=8 if r.role == "primary" else 5)  # fmt: skip
        head = f"{r.variant} − {r.reference}" if r.au == "mean" else ""
        labels.append(("PRIMARY  " if r.role == "primary" else "") + (f"{head}: macro" if head else f"    {r.au}"))
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(n - 1, n - 1 - len(labels), -1), labels, fontsize=8)
    ax.set_xlabel(f"paired AUC difference, mean over folds ({level:.0%} CI)")
    ax.set_title(f"Paired differences (filled: significant at α = {alpha:g}; primary uncorrected, others Holm)",
                 fontsize=9)  # fmt: skip
    ax.grid(axis="x", lw=0.3)
    save_figure(fig, path)
    return rows

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
    save_figure(fig, path)


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
    save_figure(fig, path)


def evaluate(
    predictions: dict[str, list[PathLike]],
    out_summary: PathLike,
    out_fold_aucs: PathLike,
    out_roc: PathLike,
    out_comparisons: PathLike,
    out_auc_figure: PathLike,
    out_roc_figures: dict[str, PathLike],
    level: float = 0.95,
    baseline_neutral: bool = False,
    *,
    out_replicate_aucs: PathLike | None = None,
    out_replicate_spread: PathLike | None = None,
    out_primary: PathLike | None = None,
    out_forest: PathLike | None = None,
    primary: dict | None = None,
    ci_method: str = "corrected_t",
    alpha: float = 0.05,
    power: float = 0.8,
    test_train_ratio: float | None = None,
    n_bootstrap: int = 1000,
    seed: int = 2023,
) -> pd.DataFrame:
    """Evaluate every variant's prediction files (``{variant: [paths]}``; fold and replicate from each path,
    :func:`parse_prediction_path`) and write the tables and figures (docs/fer.md "Statistics"). ``primary``
    defaults to :data:`DEFAULT_PRIMARY`; it is dropped (every test secondary) when the run lacks either of its
    variants. Returns the summary table."""
    variants = list(predictions)
    primary = {**DEFAULT_PRIMARY, **(primary or {})}
    declared = dict(primary)
    if primary["variant"] not in variants or primary["reference"] not in variants:
        log.info("primary endpoint %s − %s is not in this run: every comparison is secondary",
                 primary["variant"], primary["reference"])
        primary = None
    preds = load_predictions(predictions, baseline_neutral)
    reps = replicate_aucs(preds)
    folds = fold_aucs(reps)
    spread = replicate_spread(reps)
    pooled = ensemble(preds)
    summary = summarise(folds, pooled, level, test_train_ratio)
    rocs = roc_table(pooled)
    boot = None
    if ci_method == "bootstrap":
        boot = subject_bootstrap(preds, _pairs(variants, primary), n_bootstrap, seed, level)
    comp = comparisons(folds, variants, level, alpha, power, test_train_ratio, primary, ci_method, boot)
    write_table(out_fold_aucs, folds)
    write_table(out_summary, summary)
    write_table(out_roc, rocs)
    write_table(out_comparisons, comp)
    if out_replicate_aucs is not None:
        write_table(out_replicate_aucs, reps)
    if out_replicate_spread is not None:
        write_table(out_replicate_spread, spread)
    if out_primary is not None:
        import scipy

        settings = {"ci_method": ci_method, "ci_level": level, "alpha": alpha, "power": power,
                    "test_train_ratio": test_train_ratio, "n_bootstrap": n_bootstrap if ci_method == "bootstrap" else None,
                    "seed": seed, "n_folds": int(folds["fold"].nunique()), "scipy": scipy.__version__}  # fmt: skip
        write_json(out_primary, primary_endpoint(comp, spread, primary, {"declared": declared, **settings}))
    if out_forest is not None:
        plot_forest(comp, focus_pairs(variants, primary), out_forest, level, alpha)
    plot_auc_bars(summary, variants, out_auc_figure, level)
    for variant in variants:
        plot_roc(rocs, summary, variant, out_roc_figures[variant])
    for row in summary.itertuples():
        log.info("%-14s %-5s AUC %.3f ± %.3f (%.0f%% CI %.3f–%.3f, %d folds), pooled %.3f%s", row.variant, row.au,
                 row.mean_auc, row.std_auc, 100 * level, row.ci_low, row.ci_high, row.n_folds, row.pooled_auc,
                 f" over {row.aus}" if row.au == "mean" else "")
    for row in comp[comp["role"] == "primary"].itertuples():
        log.info("PRIMARY %s − %s (%s): %+.4f AUC (%.0f%% CI %+.4f to %+.4f, %s), d_z %.2f, p %.4g, MDD %.4f",
                 row.variant_b, row.variant_a, row.au, row.mean_diff, 100 * level, row.ci_low, row.ci_high,
                 row.ci_method, row.d_z, row.p_value, row.mdd)
    return summary
