"""ROC curves, AUC, fold statistics (numpy/scipy only).

- ROC: for every distinct score threshold t (descending), TPR(t) = #{pos ≥ t}/P and
  FPR(t) = #{neg ≥ t}/N, starting at (0, 0) with t = +inf. Tied scores form one point.
- AUC: trapezoidal area under that curve, which equals the Mann–Whitney probability
  P(score_pos > score_neg) + ½·P(tie) (Hanley & McNeil 1982). NaN when one class is absent.
- Across folds: mean, sample standard deviation (ddof = 1) and the Student-t confidence interval
  ``mean ± t_{(1+level)/2, n−1} · s / √n``.
- Paired comparison of two variants: Wilcoxon signed-rank test on the fold-wise AUCs (same folds,
  same validation frames; exact null distribution for n ≤ 50 without ties, scipy's default).
- Several AUs tested at once: Holm's step-down correction of their p-values (:func:`holm`).
"""

from __future__ import annotations

import numpy as np


def roc_curve(y_true, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)``, thresholds descending, first point (0, 0) at ``inf``."""
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"roc_curve: {y.size} labels but {s.size} scores")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1] if s.size else np.array([], dtype=int)
    tp = np.cumsum(y)[last_of_tie]
    fp = np.cumsum(~y)[last_of_tie]
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    tpr = np.r_[0.0, tp / n_pos] if n_pos else np.full(tp.size + 1, np.nan)
    fpr = np.r_[0.0, fp / n_neg] if n_neg else np.full(fp.size + 1, np.nan)
    return fpr, tpr, np.r_[np.inf, s[last_of_tie]]


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve (trapezoids); NaN when ``y_true`` has only one class."""
    y = np.asarray(y_true).astype(bool)
    if y.all() or not y.any():
        return float("nan")
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.trapezoid(tpr, fpr))


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """``(mean, std, ci_low, ci_high, n)`` of the finite ``values`` (std with ddof = 1; t interval)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return (float("nan"),) * 4 + (0,)
    mean = float(v.mean())
    if n == 1:
        return mean, float("nan"), float("nan"), float("nan"), 1
    std = float(v.std(ddof=1))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * std / np.sqrt(n)
    return mean, std, float(mean - half), float(mean + half), n


def paired_wilcoxon(a, b) -> dict:
    """Wilcoxon signed-rank test of ``b − a`` over the pairs where both are finite.

    Returns ``n_pairs``, ``mean_diff``, ``median_diff``, ``statistic``, ``p_value`` (two-sided);
    statistic and p are NaN with fewer than 2 non-zero differences (no test possible) — identical
    AUCs in every fold give ``p_value`` 1.
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    d = b[ok] - a[ok]
    out = {
        "n_pairs": int(ok.sum()),
        "mean_diff": float(d.mean()) if d.size else float("nan"),
        "median_diff": float(np.median(d)) if d.size else float("nan"),
        "statistic": float("nan"),
        "p_value": float("nan"),
    }
    nonzero = np.count_nonzero(d)
    if d.size and nonzero == 0:
        out["p_value"] = 1.0
    elif nonzero >= 2:
        res = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
        out["statistic"], out["p_value"] = float(res.statistic), float(res.pvalue)
    return out


def holm(p_values) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (Holm 1979) of one family of tests, in the input order.

    With the m finite p-values sorted ascending, p₍ᵢ₎ → min(1, max_{j ≤ i} (m − j + 1)·p₍ⱼ₎); NaN stays NaN
    and does not count towards m. Rejecting where the adjusted p < α controls the family-wise error at α.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="mergesort")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out
