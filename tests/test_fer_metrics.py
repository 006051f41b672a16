"""ROC/AUC against scikit-learn, fold statistics, Wilcoxon, and the evaluation outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from synthfer import AU_COLUMNS
from synthfer.fer.evaluate import baseline_by_neutral, evaluate
from synthfer.fer.metrics import mean_ci, paired_wilcoxon, roc_auc, roc_curve


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_roc_match_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.4 * y, 1)  # rounding makes many ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    fpr, tpr, thr = roc_curve(y, s)
    f2, t2, th2 = sk_roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f2)
    np.testing.assert_allclose(tpr, t2)
    np.testing.assert_allclose(thr[1:], th2[1:])


def test_auc_extremes_and_single_class():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert np.isnan(roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))


def test_mean_ci_is_the_t_interval():
    v = [0.7, 0.8, 0.75, np.nan, 0.9]
    mean, std, lo, hi, n = mean_ci(v, 0.95)
    x = np.array([0.7, 0.8, 0.75, 0.9])
    lo2, hi2 = stats.t.interval(0.95, 3, loc=x.mean(), scale=stats.sem(x))
    assert (n, mean, std) == (4, pytest.approx(x.mean()), pytest.approx(x.std(ddof=1)))
    assert (lo, hi) == (pytest.approx(lo2), pytest.approx(hi2))


def test_wilcoxon_matches_scipy_and_handles_identical():
    a = np.linspace(0.6, 0.8, 13)
    b = a + np.r_[0.05 * np.arange(1, 12), -0.01, 0.02]
    res = paired_wilcoxon(a, b)
    ref = stats.wilcoxon(b - a)
    assert res["p_value"] == pytest.approx(ref.pvalue) and res["n_pairs"] == 13
    assert res["mean_diff"] > 0
    assert paired_wilcoxon(a, a)["p_value"] == 1.0


def _fold_predictions(rng, n, signal):
    y = rng.integers(0, 2, (n, 6))
    y[0] = 0  # at least one neutral frame, one positive per AU
    y[1] = 1
    p = np.clip(0.5 + signal * (y - 0.5) + rng.normal(0, 0.3, (n, 6)), 0, 1)
    df = pd.DataFrame({"image": [f"i{j}.png" for j in range(n)], "subject": np.repeat(["A", "B"], n // 2)})
    for i, au in enumerate(AU_COLUMNS):
        df[au] = y[:, i]
    for i, au in enumerate(AU_COLUMNS):
        df[f"prob_{au}"] = p[:, i]
    return df


def test_evaluate_writes_documented_tables_and_figures(tmp_path):
    rng = np.random.default_rng(0)
    preds = {}
    for variant, signal in (("real_only", 0.1), ("synthetic_tds", 0.6)):
        preds[variant] = []
        for fold in range(1, 6):
            path = tmp_path / variant / f"fold_{fold:02d}" / "predictions.csv"
            path.parent.mkdir(parents=True)
            _fold_predictions(rng, 40, signal).to_csv(path, index=False)
            preds[variant].append(path)
    out = {k: tmp_path / f"{k}.csv" for k in ("summary", "folds", "roc", "wilcoxon")}
    figs = {v: tmp_path / f"roc_{v}.png" for v in preds}
    summary = evaluate(preds, out["summary"], out["folds"], out["roc"], out["wilcoxon"], tmp_path / "auc.png", figs)
    s = pd.read_csv(out["summary"])
    assert list(s.columns) == ["variant", "au", "mean_auc", "std_auc", "ci_low", "ci_high", "n_folds", "pooled_auc", "aus"]
    assert s.set_index(["variant", "au"]).loc[("real_only", "mean"), "aus"] == " ".join(AU_COLUMNS)
    assert len(s) == 2 * 7 and set(s["au"]) == {*AU_COLUMNS, "mean"}
    tds = s[s["variant"] == "synthetic_tds"].set_index("au")
    assert (tds["mean_auc"] > 0.8).all() and (tds["ci_low"] < tds["mean_auc"]).all() and (tds["n_folds"] == 5).all()
    f = pd.read_csv(out["folds"])
    assert list(f.columns) == ["variant", "fold", "au", "auc", "n_validation", "n_positive"]
    one = pd.read_csv(preds["real_only"][2])
    assert f.query("variant == 'real_only' and fold == 3 and au == 'AU6'")["auc"].item() == pytest.approx(
        roc_auc_score(one["AU6"], one["prob_AU6"])
    )
    r = pd.read_csv(out["roc"], dtype={"fold": str})
    assert set(r["fold"]) == {"01", "02", "03", "04", "05", "pooled"}
    w = pd.read_csv(out["wilcoxon"])
    assert list(w.columns) == ["variant_a", "variant_b", "au", "n_pairs", "mean_diff", "median_diff", "statistic", "p_value",
                               "p_holm"]
    assert (w["mean_diff"] > 0).all() and (w.set_index("au").loc["mean", "p_value"] == pytest.approx(0.0625))
    for p in [tmp_path / "auc.png", *figs.values()]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary[["variant", "au"]].equals(s[["variant", "au"]])


def test_neutral_baselining_subtracts_subject_neutral_mean():
    df = pd.DataFrame({"image": ["a", "b", "c", "d"], "subject": ["S1", "S1", "S2", "S2"]})
    for au in AU_COLUMNS:
        df[au] = [0, 1, 0, 1]
    for au in AU_COLUMNS:
        df[f"prob_{au}"] = [0.3, 0.5, 0.6, 0.9]
    out = baseline_by_neutral(df)
    np.testing.assert_allclose(out["prob_AU1"], [0.0, 0.2, 0.0, 0.3])


def test_mean_row_names_the_aus_it_averages(tmp_path):
    """An AU without positives (AU6 everywhere, AU15 in fold 2) is left out of the fold means, and the
    summary's mean row says so: AU6 is absent from ``aus``, AU15 is marked as present in 2 of 3 folds."""
    rng = np.random.default_rng(1)
    preds = {"real_only": []}
    for fold in range(1, 4):
        df = _fold_predictions(rng, 30, 0.6)
        df["AU6"] = 0
        if fold == 2:
            df["AU15"] = 0
        path = tmp_path / f"fold_{fold:02d}" / "predictions.csv"
        path.parent.mkdir(parents=True)
        df.to_csv(path, index=False)
        preds["real_only"].append(path)
    out = [tmp_path / f"{k}.csv" for k in ("summary", "folds", "roc", "wilcoxon")]
    summary = evaluate(preds, *out, tmp_path / "auc.png", {"real_only": tmp_path / "roc.png"}).set_index("au")
    assert summary.loc["mean", "aus"] == "AU1 AU4 AU5 AU12 AU15[2/3]"
    assert summary.loc["AU6", "n_folds"] == 0 and summary.loc["AU12", "aus"] == "AU12"
    folds = pd.read_csv(out[1])
    f2 = folds[folds["fold"] == 2].set_index("au")["auc"]
    assert f2["mean"] == pytest.approx(f2[["AU1", "AU4", "AU5", "AU12"]].mean())
