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
- Paired difference over K-fold cross-validation (:func:`corrected_t`): the Nadeau–Bengio corrected resampled t
  (Nadeau & Bengio 2003, Machine Learning 52:239). The folds' training sets overlap, so the naive variance
  s²_d/n of the mean difference is too small; it becomes (1/n + n_test/n_train)·s²_d, with n − 1 degrees of
  freedom, for the test and the interval alike (n_test/n_train = 1/(K − 1) for K-fold).
- Power (:func:`min_detectable_difference`): the smallest true mean difference the corrected t detects with
  probability ``power`` at two-sided level α: (t_{1−α/2, n−1} + t_{power, n−1})·s_d·sqrt(1/n + n_test/n_train).
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


def corrected_t(d, test_train_ratio: float, level: float = 0.95) -> dict:
    """Nadeau–Bengio corrected resampled t of the paired differences ``d`` (finite values only).

    Returns ``n_pairs``, ``mean_diff``, ``sd_diff`` (ddof 1), ``se`` = sqrt((1/n + ratio)·s²), ``t``, ``df`` (n − 1),
    ``p_value`` (two-sided), ``ci_low``/``ci_high`` (``mean ± t_{(1+level)/2, df}·se``) and ``d_z`` = mean/sd
    (Cohen's d for paired data). With n < 2 there are no degrees of freedom: everything but n and the mean is
    NaN. All differences equal: se 0, so p is 1 when they are 0 and 0 otherwise, and the interval is the point.
    """
    from scipy import stats

    d = np.asarray(d, dtype=np.float64)
    d = d[np.isfinite(d)]
    n = int(d.size)
    nan = float("nan")
    out = {"n_pairs": n, "mean_diff": float(d.mean()) if n else nan, "sd_diff": nan, "se": nan, "t": nan,
           "df": n - 1 if n >= 2 else 0, "p_value": nan, "ci_low": nan, "ci_high": nan, "d_z": nan}  # fmt: skip
    if n < 2:
        return out
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    se = float(np.sqrt((1.0 / n + test_train_ratio) * sd**2))
    out.update(sd_diff=sd, se=se)
    if se == 0:
        out.update(t=0.0 if mean == 0 else float(np.sign(mean) * np.inf), p_value=1.0 if mean == 0 else 0.0,
                   ci_low=mean, ci_high=mean, d_z=0.0 if mean == 0 else float(np.sign(mean) * np.inf))  # fmt: skip
        return out
    t = mean / se
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * se
    out.update(t=float(t), p_value=float(2 * stats.t.sf(abs(t), n - 1)), ci_low=mean - half, ci_high=mean + half,
               d_z=mean / sd)  # fmt: skip
    return out


def min_detectable_difference(sd_diff: float, n: int, test_train_ratio: float, alpha: float = 0.05,
                              power: float = 0.8) -> float:
    """Minimum detectable mean difference of the corrected t at two-sided level ``alpha`` and ``power``:
    ``(t_{1−α/2, n−1} + t_{power, n−1}) · sd_diff · sqrt(1/n + ratio)``; NaN with n < 2 or no finite SD.
    (With normal quantiles the sum is 1.96 + 0.84 = 2.80; t quantiles are larger for few folds.)"""
    from scipy import stats

    if n < 2 or not np.isfinite(sd_diff):
        return float("nan")
    q = float(stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1))
    return q * float(sd_diff) * float(np.sqrt(1.0 / n + test_train_ratio))


def wilcoxon_min_p(n: int) -> float:
    """The smallest two-sided p the exact Wilcoxon signed-rank test can give with ``n`` non-zero pairs: 2/2ⁿ
    (all differences of one sign); 1 with n = 0."""
    return float(min(1.0, 2.0 / 2.0**n)) if n > 0 else 1.0


def fast_auc(y_true, score) -> np.ndarray:
    """:func:`roc_auc` of every column of ``(N, k)`` labels and scores at once, by ranks (Mann–Whitney U/(n₁n₀),
    ties ½) — for the bootstrap's many resamples; NaN where a column has one class. 1-D inputs give a 1-element
    array."""
    from scipy.stats import rankdata

    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    if y.ndim == 1:
        y, s = y[:, None], s[:, None]
    n1 = y.sum(axis=0).astype(np.float64)
    n0 = y.shape[0] - n1
    r = rankdata(s, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((r * y).sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)
