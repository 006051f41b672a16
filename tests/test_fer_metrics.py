"""ROC/AUC against scikit-learn, fold statistics, Wilcoxon, the corrected resampled t, the minimum detectable
difference, and the evaluation outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from synthfer import AU_COLUMNS
from synthfer.fer.evaluate import baseline_by_neutral, evaluate
from synthfer.fer.metrics import (
    corrected_t,
    fast_auc,
    mean_ci,
    min_detectable_difference,
    paired_wilcoxon,
    roc_auc,
    roc_curve,
    wilcoxon_min_p,
)


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


def test_corrected_t_by_hand():
    """Nadeau–Bengio: se = sqrt((1/n + n_test/n_train)·s²), df n − 1; ratio 0 is the plain paired t."""
    d = np.array([0.02, 0.05, -0.01, 0.04, 0.03, np.nan])
    x = d[np.isfinite(d)]
    n, mean, sd = 5, x.mean(), x.std(ddof=1)
    res = corrected_t(d, 1 / 12, 0.95)
    se = np.sqrt((1 / n + 1 / 12) * sd**2)
    assert res["n_pairs"] == 5 and res["df"] == 4 and res["se"] == pytest.approx(se)
    assert res["t"] == pytest.approx(mean / se) and res["p_value"] == pytest.approx(2 * stats.t.sf(mean / se, 4))
    assert res["ci_low"] == pytest.approx(mean - stats.t.ppf(0.975, 4) * se)
    assert res["d_z"] == pytest.approx(mean / sd)
    plain = corrected_t(d, 0.0)
    assert plain["p_value"] == pytest.approx(stats.ttest_1samp(x, 0).pvalue)
    assert res["p_value"] > plain["p_value"] and res["ci_high"] - res["ci_low"] > plain["ci_high"] - plain["ci_low"]
    # no degrees of freedom, and all-equal differences
    one = corrected_t([0.1], 0.1)
    assert one["n_pairs"] == 1 and one["df"] == 0 and np.isnan(one["p_value"]) and np.isnan(one["ci_low"])
    assert corrected_t([0.0, 0.0, 0.0], 0.1)["p_value"] == 1.0
    assert corrected_t([0.01, 0.01, 0.01], 0.1)["p_value"] == 0.0


def test_min_detectable_difference_by_hand():
    """(t_{1−α/2,n−1} + t_{power,n−1})·s_d·sqrt(1/n + ratio); near the normal 2.80·σ·sqrt(…) for many folds."""
    mdd = min_detectable_difference(0.02, 13, 1 / 12)
    q = stats.t.ppf(0.975, 12) + stats.t.ppf(0.8, 12)
    assert mdd == pytest.approx(q * 0.02 * np.sqrt(1 / 13 + 1 / 12))
    assert 2.80 < q < 3.2
    big = min_detectable_difference(1.0, 10_000, 0.0)
    assert big == pytest.approx(2.80 / 100, rel=0.01)
    assert np.isnan(min_detectable_difference(0.02, 1, 0.1)) and np.isnan(min_detectable_difference(np.nan, 5, 0.1))
    # a test at exactly the MDD has about the stated power: its expected t is the sum of the two quantiles
    assert min_detectable_difference(0.02, 13, 1 / 12, power=0.5) < mdd


def test_wilcoxon_min_p_and_fast_auc():
    assert wilcoxon_min_p(5) == 0.0625 and wilcoxon_min_p(13) == pytest.approx(2 / 8192) and wilcoxon_min_p(0) == 1.0
    # the exact test reaches the bound
    assert stats.wilcoxon(np.arange(1, 6) / 100).pvalue == pytest.approx(wilcoxon_min_p(5))
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (60, 3))
    s = np.round(rng.random((60, 3)) + 0.3 * y, 1)
    y[:, 2] = 1
    np.testing.assert_allclose(fast_auc(y[:, :2], s[:, :2]), [roc_auc(y[:, k], s[:, k]) for k in range(2)])
    assert np.isnan(fast_auc(y, s)[2])


def _write_replicates(root, preds_by_variant: dict[str, dict[int, dict[str, pd.DataFrame]]]) -> dict[str, list]:
    paths = {}
    for variant, folds in preds_by_variant.items():
        paths[variant] = []
        for fold, reps in folds.items():
            for rep, df in reps.items():
                path = root / variant / f"fold_{fold:02d}" / f"rep_{rep}" / "predictions.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                df.to_csv(path, index=False)
                paths[variant].append(path)
    return paths


def _evaluate(tmp_path, paths, **kw):
    out = {k: tmp_path / f"{k}.csv" for k in ("summary", "folds", "roc", "comparisons", "replicates", "spread")}
    figs = {v: tmp_path / f"roc_{v}.png" for v in paths}
    evaluate(paths, out["summary"], out["folds"], out["roc"], out["comparisons"], tmp_path / "auc.png", figs,
             out_replicate_aucs=out["replicates"], out_replicate_spread=out["spread"],
             out_primary=tmp_path / "primary.json", out_forest=tmp_path / "forest.png", **kw)  # fmt: skip
    return {k: pd.read_csv(v, dtype={"fold": str} if k == "roc" else None) for k, v in out.items()}


def test_evaluate_writes_documented_tables_and_figures(tmp_path):
    rng = np.random.default_rng(0)
    preds = {variant: {fold: {"r0": _fold_predictions(rng, 40, signal)} for fold in range(1, 6)}
             for variant, signal in (("real_only", 0.1), ("synthetic_tds", 0.6))}  # fmt: skip
    paths = _write_replicates(tmp_path, preds)
    t = _evaluate(tmp_path, paths)
    s = t["summary"]
    assert list(s.columns) == ["variant", "au", "mean_auc", "std_auc", "ci_low", "ci_high", "n_folds", "pooled_auc", "aus",
                               "n_replicates"]
    assert s.set_index(["variant", "au"]).loc[("real_only", "mean"), "aus"] == " ".join(AU_COLUMNS)
    assert len(s) == 2 * 7 and set(s["au"]) == {*AU_COLUMNS, "mean"}
    tds = s[s["variant"] == "synthetic_tds"].set_index("au")
    assert (tds["mean_auc"] > 0.8).all() and (tds["ci_low"] < tds["mean_auc"]).all() and (tds["n_folds"] == 5).all()
    # the per-variant interval has the corrected variance (1/n + 1/(K−1))·s², K = 5
    row = tds.loc["AU1"]
    half = stats.t.ppf(0.975, 4) * np.sqrt((1 / 5 + 1 / 4) * row["std_auc"] ** 2)
    assert row["ci_high"] - row["mean_auc"] == pytest.approx(half)
    f = t["folds"]
    assert list(f.columns) == ["variant", "fold", "au", "auc", "n_validation", "n_positive", "n_replicates"]
    one = preds["real_only"][3]["r0"]
    assert f.query("variant == 'real_only' and fold == 3 and au == 'AU6'")["auc"].item() == pytest.approx(
        roc_auc_score(one["AU6"], one["prob_AU6"])
    )
    assert set(t["roc"]["fold"]) == {"01", "02", "03", "04", "05", "pooled"}
    c = t["comparisons"]
    assert list(c.columns[:4]) == ["variant_a", "variant_b", "au", "role"] and len(c) == 7
    # no synthetic_random in the run: no primary endpoint, all 7 rows one Holm family
    assert (c["role"] == "secondary").all()
    from synthfer.fer.metrics import holm

    np.testing.assert_allclose(c["p_holm"], holm(c["p_value"]))
    assert (c["mean_diff"] > 0).all() and c.set_index("au").loc["mean", "p_wilcoxon"] == pytest.approx(0.0625)
    # 5 folds: the rank test can never reach 0.05, the corrected t can
    assert c["wilcoxon_cannot_reach"].all() and not c["cannot_reach"].any()
    assert (t["spread"]["n_replicates"] == 1).all() and t["spread"]["replicate_sd"].isna().all()
    for p in [tmp_path / "auc.png", tmp_path / "forest.png", *(tmp_path / f"roc_{v}.png" for v in paths)]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_replicates_are_averaged_within_a_fold_before_the_test(tmp_path):
    """Per fold the replicate AUCs are averaged first; the test runs over folds (n = folds, not folds × replicates);
    the spread table is the within-fold SD of the replicate AUCs."""
    rng = np.random.default_rng(5)
    base = {fold: _fold_predictions(rng, 40, 0.3) for fold in range(1, 5)}

    def noisy(df, scale):
        out = df.copy()
        for au in AU_COLUMNS:
            out[f"prob_{au}"] = np.clip(out[f"prob_{au}"] + rng.normal(0, scale, len(out)), 0, 1)
        return out

    preds = {
        "synthetic_random": {f: {f"d{d}r{r}": noisy(df, 0.2) for d in range(2) for r in range(2)} for f, df in base.items()},
        "synthetic_tds": {f: {f"r{r}": noisy(df, 0.05) for r in range(3)} for f, df in base.items()},
    }  # fmt: skip
    paths = _write_replicates(tmp_path, preds)
    t = _evaluate(tmp_path, paths)
    reps = t["replicates"]
    assert len(reps) == 4 * 7 * (4 + 3) and set(reps["replicate"]) == {"d0r0", "d0r1", "d1r0", "d1r1", "r0", "r1", "r2"}
    f = t["folds"].set_index(["variant", "fold", "au"])
    by_hand = reps.groupby(["variant", "fold", "au"])["auc"].mean()
    np.testing.assert_allclose(f.loc[by_hand.index, "auc"], by_hand)
    assert f.loc[("synthetic_random", 1, "AU1"), "n_replicates"] == 4
    c = t["comparisons"]
    prim = c[c["role"] == "primary"]
    assert len(prim) == 1 and prim.iloc[0][["variant_a", "variant_b", "au"]].tolist() == [
        "synthetic_random", "synthetic_tds", "mean"]  # fmt: skip
    assert prim.iloc[0]["n_pairs"] == 4 and prim.iloc[0]["df"] == 3
    d = f.loc["synthetic_tds"].xs("mean", level="au")["auc"] - f.loc["synthetic_random"].xs("mean", level="au")["auc"]
    assert prim.iloc[0]["mean_diff"] == pytest.approx(d.mean())
    assert prim.iloc[0]["p_holm"] == prim.iloc[0]["p_value"]  # the primary is tested uncorrected
    sec = c["role"] == "secondary"
    from synthfer.fer.metrics import holm

    np.testing.assert_allclose(c.loc[sec, "p_holm"], holm(c.loc[sec, "p_value"]))
    sp = t["spread"].set_index(["variant", "au"])
    sd = reps[(reps["variant"] == "synthetic_tds") & (reps["au"] == "AU4")].groupby("fold")["auc"].std(ddof=1).mean()
    assert sp.loc[("synthetic_tds", "AU4"), "replicate_sd"] == pytest.approx(sd)
    # noisier replicates, larger spread
    assert sp.loc[("synthetic_random", "mean"), "replicate_sd"] > sp.loc[("synthetic_tds", "mean"), "replicate_sd"]
    import json

    primary = json.loads((tmp_path / "primary.json").read_text())
    assert primary["found"] and primary["mean_diff"] == pytest.approx(prim.iloc[0]["mean_diff"])
    assert primary["mdd"] == pytest.approx(prim.iloc[0]["mdd"]) and primary["scipy"]
    assert set(primary["replicate_sd"]) == {"synthetic_tds", "synthetic_random"}


def test_bootstrap_ci_option_is_seeded_and_brackets_the_difference(tmp_path):
    rng = np.random.default_rng(8)
    labels = {fold: _fold_predictions(rng, 40, 0.0) for fold in range(1, 5)}

    def scored(df, signal):  # the same frames and labels for both variants, as in a real run
        out = df.copy()
        for au in AU_COLUMNS:
            out[f"prob_{au}"] = np.clip(0.5 + signal * (df[au] - 0.5) + rng.normal(0, 0.3, len(df)), 0, 1)
        return out

    preds = {v: {fold: {"r0": scored(df, s)} for fold, df in labels.items()}
             for v, s in (("synthetic_random", 0.2), ("synthetic_tds", 0.6))}  # fmt: skip
    paths = _write_replicates(tmp_path, preds)
    a = _evaluate(tmp_path, paths, ci_method="bootstrap", n_bootstrap=200, seed=1)["comparisons"]
    b = _evaluate(tmp_path, paths, ci_method="bootstrap", n_bootstrap=200, seed=1)["comparisons"]
    pd.testing.assert_frame_equal(a, b)
    assert (a["ci_method"] == "bootstrap").all()
    assert ((a["ci_low"] <= a["mean_diff"] + 1e-9) & (a["mean_diff"] <= a["ci_high"] + 1e-9)).all()
    prim = a[a["role"] == "primary"].iloc[0]
    assert prim["ci_low"] > 0 and prim["p_value"] == pytest.approx(1 / 200)  # every resample favours TDS
    with pytest.raises(ValueError, match="ci_method"):
        _evaluate(tmp_path, paths, ci_method="jackknife")
    # paired resampling needs the same validation frames in every variant
    other = _write_replicates(tmp_path / "other", {"synthetic_random": preds["synthetic_random"],
                                                   "synthetic_tds": {f: {"r0": _fold_predictions(rng, 40, 0.6)}
                                                                     for f in labels}})  # fmt: skip
    with pytest.raises(ValueError, match="other frames or labels"):
        _evaluate(tmp_path, other, ci_method="bootstrap", n_bootstrap=100)


def test_replicates_of_a_fold_must_share_the_validation_frames(tmp_path):
    rng = np.random.default_rng(1)
    df = _fold_predictions(rng, 20, 0.5)
    other = df.copy()
    other.loc[0, "AU1"] = 1 - other.loc[0, "AU1"]
    paths = _write_replicates(tmp_path, {"real_only": {1: {"r0": df, "r1": other}, 2: {"r0": df}}})
    with pytest.raises(ValueError, match="replicate r1"):
        _evaluate(tmp_path, paths)


def test_every_pair_once_and_the_primary_oriented_variant_minus_reference():
    from synthfer.fer.evaluate import _pairs

    variants = ["real_only", "synthetic_tds", "synthetic_random", "synthetic_pseudo"]
    pairs = _pairs(variants, {"variant": "synthetic_tds", "reference": "synthetic_random", "au": "mean"})
    assert len(pairs) == 6 and len({frozenset(p) for p in pairs}) == 6
    assert ("synthetic_random", "synthetic_tds") in pairs and ("synthetic_tds", "synthetic_pseudo") in pairs


def test_prediction_paths_give_fold_and_replicate():
    from synthfer.fer.evaluate import parse_prediction_path

    assert parse_prediction_path("results/fer/synthetic_random/fold_03/rep_d1r2/predictions.csv") == (3, "d1r2")
    assert parse_prediction_path("results/fer/real_only/fold_12/predictions.csv") == (12, "r0")
    with pytest.raises(ValueError, match="fold_NN"):
        parse_prediction_path("results/fer/real_only/predictions.csv")


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
    out = [tmp_path / f"{k}.csv" for k in ("summary", "folds", "roc", "comparisons")]
    summary = evaluate(preds, *out, tmp_path / "auc.png", {"real_only": tmp_path / "roc.png"}).set_index("au")
    assert summary.loc["mean", "aus"] == "AU1 AU4 AU5 AU12 AU15[2/3]"
    assert summary.loc["AU6", "n_folds"] == 0 and summary.loc["AU12", "aus"] == "AU12"
    folds = pd.read_csv(out[1])
    f2 = folds[folds["fold"] == 2].set_index("au")["auc"]
    assert f2["mean"] == pytest.approx(f2[["AU1", "AU4", "AU5", "AU12"]].mean())
