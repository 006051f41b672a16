"""The comparisons of the training sets (comparisons.csv: one primary endpoint, Holm across every other test on the
page) and the report's landing built from the FER tables: its numbers are summary.csv's and comparisons.csv's,
differences oriented variant − reference; it opens on the primary endpoint, then the forest plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthfer import AU_COLUMNS
from synthfer.fer.evaluate import evaluate
from synthfer.fer.metrics import corrected_t, holm, paired_wilcoxon
from synthfer.report.landing import answer_columns, answer_table, key_counts, landing_rst, leak_notes, protocol_rst

VARIANTS = ["real_only", "synthetic_pseudo", "synthetic_random", "synthetic_tds"]
SIGNAL = {"real_only": 0.2, "synthetic_pseudo": 0.25, "synthetic_random": 0.3, "synthetic_tds": 0.6}


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, np.nan, 0.5]
    # m = 4 finite: sorted 0.01, 0.03, 0.04, 0.5 → 0.04, 0.09, max(0.09, 0.08) = 0.09, max(0.09, 0.5) = 0.5
    np.testing.assert_allclose(holm(p), [0.04, 0.09, 0.09, np.nan, 0.5])
    assert holm([0.6, 0.7]).tolist() == [1.0, 1.0]  # capped at 1
    assert np.isnan(holm([np.nan])).all() and holm([]).size == 0


def _fold(rng, n, signal):
    y = rng.integers(0, 2, (n, 6))
    y[0], y[1] = 0, 1
    p = np.clip(0.5 + signal * (y - 0.5) + rng.normal(0, 0.3, (n, 6)), 0, 1)
    df = pd.DataFrame({"image": [f"i{j}.png" for j in range(n)], "subject": np.repeat(["A", "B"], n // 2)})
    for i, au in enumerate(AU_COLUMNS):
        df[au] = y[:, i]
    for i, au in enumerate(AU_COLUMNS):
        df[f"prob_{au}"] = p[:, i]
    return df


@pytest.fixture(scope="module")
def fer_tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("fer")
    rng = np.random.default_rng(0)
    preds = {}
    for v in VARIANTS:
        preds[v] = []
        for fold in range(1, 8):
            path = root / v / f"fold_{fold:02d}" / "rep_r0" / "predictions.csv"
            path.parent.mkdir(parents=True)
            _fold(rng, 40, SIGNAL[v]).to_csv(path, index=False)
            preds[v].append(path)
    out = [root / f"{k}.csv" for k in ("summary", "folds", "roc", "comparisons")]
    evaluate(preds, *out, root / "auc.png", {v: root / f"roc_{v}.png" for v in VARIANTS},
             out_replicate_spread=root / "spread.csv", out_primary=root / "primary.json", out_forest=root / "forest.png")
    return root, *(pd.read_csv(p) for p in (out[0], out[1], out[3]))


def test_one_primary_endpoint_and_holm_across_the_whole_page(fer_tables):
    """Issue 22 item 5: tds − random macro is the one primary test, uncorrected; every other test (all pairs × AUs
    and the macro rows) is one Holm family — not six AUs per pair with an uncorrected mean row."""
    _, _, folds, c = fer_tables
    assert len(c) == 6 * 7  # 4 variants: 6 pairs × (6 AUs + mean)
    prim = c[c["role"] == "primary"]
    assert len(prim) == 1
    prim = prim.iloc[0]
    assert (prim["variant_a"], prim["variant_b"], prim["au"]) == ("synthetic_random", "synthetic_tds", "mean")
    assert prim["p_holm"] == prim["p_value"]
    sec = c[c["role"] == "secondary"]
    np.testing.assert_allclose(sec["p_holm"], holm(sec["p_value"]))
    assert (sec["p_holm"] >= sec["p_value"]).all()
    mean_rows = sec[sec["au"] == "mean"]
    assert (mean_rows["p_holm"] > mean_rows["p_value"]).any()  # the macro rows are corrected too
    # one test recomputed from the fold AUCs: corrected t (7 folds: n_test/n_train = 1/6) and the Wilcoxon column
    fa = folds.pivot_table(index="fold", columns=["variant", "au"], values="auc")
    d = fa[("synthetic_tds", "AU4")] - fa[("real_only", "AU4")]
    row = c[(c["variant_a"] == "real_only") & (c["variant_b"] == "synthetic_tds") & (c["au"] == "AU4")].iloc[0]
    res = corrected_t(d, 1 / 6)
    for k in ("mean_diff", "ci_low", "ci_high", "p_value", "d_z"):
        assert row[k] == pytest.approx(res[k])
    assert row["p_wilcoxon"] == pytest.approx(paired_wilcoxon(fa[("real_only", "AU4")], fa[("synthetic_tds", "AU4")])["p_value"])
    # 7 folds, 41 secondary tests: 2/2^7 · 41 ≥ 0.05, the rank test cannot reach; the primary (×1) can
    assert sec["wilcoxon_cannot_reach"].all() and not prim["wilcoxon_cannot_reach"]
    assert not c["cannot_reach"].any()


def test_answer_table_numbers_are_summary_and_comparisons(fer_tables):
    _, summary, folds, c = fer_tables
    answer = answer_table(summary, c, VARIANTS)
    assert list(answer.columns) == answer_columns()
    assert len(answer) == 7 * len(VARIANTS) and answer["au"].iloc[0] == "AU1" and answer["au"].iloc[-1] == "mean"
    merged = answer.merge(summary, on=["variant", "au"], suffixes=("", "_summary"))
    assert len(merged) == len(answer)
    for col in ("mean_auc", "ci_low", "ci_high", "n_folds"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_summary"])
    fa = folds.pivot_table(index="fold", columns=["variant", "au"], values="auc")
    a = answer.set_index(["variant", "au"])
    for ref in ("real_only", "synthetic_random", "synthetic_pseudo"):
        assert a.loc[(ref, "AU1"), f"diff_{ref}"] != a.loc[(ref, "AU1"), f"diff_{ref}"]  # NaN for itself
        for v in VARIANTS:
            if v == ref:
                continue
            for au in (*AU_COLUMNS, "mean"):
                # variant − reference, whatever the pair's order in comparisons.csv; CI mirrored with it
                assert a.loc[(v, au), f"diff_{ref}"] == pytest.approx((fa[(v, au)] - fa[(ref, au)]).mean())
                assert a.loc[(v, au), f"diff_{ref}_ci_low"] < a.loc[(v, au), f"diff_{ref}"] < a.loc[(v, au), f"diff_{ref}_ci_high"]
                pair = c[(c["au"] == au) & c["variant_a"].isin([v, ref]) & c["variant_b"].isin([v, ref])].iloc[0]
                assert a.loc[(v, au), f"p_{ref}"] == pytest.approx(pair["p_holm"])
    assert a.loc[("synthetic_tds", "mean"), "flag_synthetic_random"].startswith("primary")
    # the TDS-like variant (strong signal) beats real_only on every AU
    assert (answer[(answer["variant"] == "synthetic_tds")]["diff_real_only"] > 0).all()


def test_answer_without_a_random_control_leaves_its_columns_empty(fer_tables):
    _, summary, _, c = fer_tables
    answer = answer_table(summary, c, ["real_only", "synthetic_tds"])
    assert answer["diff_synthetic_random"].isna().all() and answer["diff_real_only"].notna().sum() == 7
    with pytest.raises(ValueError, match="p_holm"):
        answer_table(summary, c.drop(columns="p_holm"), VARIANTS)


def test_key_counts_and_landing_text(tmp_path, fer_tables):
    root, summary, _, c = fer_tables
    pd.DataFrame({"name": list("abcd"), "status": ["ok", "ok", "ok", "no_face"]}).to_csv(tmp_path / "faces.csv", index=False)
    pd.DataFrame({"name": ["1_000000", "1_000001", "2_000002"], "face_ok": [True, False, True]}).to_csv(
        tmp_path / "manifest.csv", index=False
    )
    pd.DataFrame({"name": ["1_000000"]}).to_csv(tmp_path / "selected.csv", index=False)
    pd.DataFrame({"kimg": [60, 64], "snapshot": ["a", "b"], "fid": [40.0, 38.5], "extractor": "dlib"}).to_csv(
        tmp_path / "snapshot_fid.csv", index=False
    )
    pd.DataFrame({"label": ["AU1", "total"], "count": [1, 2], "fraction": [0.5, 1.0]}).to_csv(tmp_path / "lc.csv", index=False)
    (tmp_path / "final.json").write_text('{"kimg": 64.0, "fid": null, "source": "network-final.pt"}')
    counts = key_counts(tmp_path / "faces.csv", tmp_path / "manifest.csv", tmp_path / "selected.csv",
                        network_info=tmp_path / "final.json", snapshot_fid=tmp_path / "snapshot_fid.csv",
                        training_counts={"synthetic_tds": tmp_path / "lc.csv"})  # fmt: skip
    kc = counts.set_index("key")["value"].to_dict()
    assert kc["photos"] == 4 and kc["photos_aligned"] == 3 and kc["images_generated"] == 3 and kc["images_face_ok"] == 2
    assert kc["images_selected"] == 1 and kc["network_fid"] == 38.5 and kc["training_images_synthetic_tds"] == 2
    # the network choice's sidecar wins over the final network (its kimg picks the FID row)
    (tmp_path / "net.json").write_text('{"kimg": 60.0, "fid": null, "source": "snap60.pt", "reason": "gan.network names it"}')
    k2 = key_counts(network_info=tmp_path / "net.json", snapshot_fid=tmp_path / "snapshot_fid.csv")
    k2 = k2.set_index("key")
    assert k2.loc["network", "value"] == "snap60.pt" and k2.loc["network_fid", "value"] == 40.0
    assert "60 kimg" in k2.loc["network", "detail"] and "names it" in k2.loc["network", "detail"]

    import json

    from docutils.core import publish_parts

    answer = answer_table(summary, c, VARIANTS)
    primary = json.loads((root / "primary.json").read_text())
    spread = pd.read_csv(root / "spread.csv")
    rst = landing_rst(answer, counts, ("real_only", "synthetic_random"), demo=True, comparisons=c, primary=primary,
                      spread=spread, forest_png=root / "forest.png", notes=leak_notes(True, True))  # fmt: skip
    html = publish_parts(rst, writer="html", settings_overrides={"halt_level": 2})["html_body"]
    assert html.count("<tr") == 1 + len(answer) and "wiring, not science" in html
    tds_mean = answer[(answer["variant"] == "synthetic_tds") & (answer["au"] == "mean")].iloc[0]
    assert f"{tds_mean['mean_auc']:.3f} ({tds_mean['ci_low']:.3f}–{tds_mean['ci_high']:.3f})" in html
    assert f"{tds_mean['diff_synthetic_random']:+.3f}" in html and "photos_aligned" in html
    # it opens on the primary endpoint: difference, CI, effect size, MDD; then the forest plot; then the tables
    prim = c[c["role"] == "primary"].iloc[0]
    i_primary = html.index("Primary endpoint")
    i_forest = html.index('src="data:image/png;base64,')
    i_thesis = html.index("thesis")
    i_table = html.index("<table")
    assert i_primary < i_forest < i_thesis < i_table < html.index("Key counts")
    opening = html[i_primary:i_forest]
    assert f"{prim['mean_diff']:+.3f} AUC" in opening and f"{prim['ci_low']:+.3f} to {prim['ci_high']:+.3f}" in opening
    assert f"d_z = {prim['d_z']:.2f}" in opening and f"{prim['mdd']:.3f} AUC" in opening
    assert ("no difference larger than" in opening) != bool(prim["significant"])
    # the forest plot is the one fer_evaluate drew, embedded
    import base64

    assert base64.b64encode((root / "forest.png").read_bytes()).decode()[:200] in html.replace("\n", "")
    assert "allow_overlap" in html and "assistant" in html  # the switched-off safeguards are stated


def test_not_significant_primary_states_the_mdd(fer_tables):
    """A primary endpoint that is not significant reads "no difference larger than <MDD>"."""
    root, summary, _, c = fer_tables
    import json

    c2 = c.copy()
    i = c2.index[c2["role"] == "primary"][0]
    c2.loc[i, ["p_value", "p_holm", "significant"]] = [0.4, 0.4, False]
    primary = json.loads((root / "primary.json").read_text())
    counts = pd.DataFrame(columns=["key", "value", "detail"])
    rst = landing_rst(answer_table(summary, c2, VARIANTS), counts, ("real_only",), comparisons=c2, primary=primary)
    assert f"no difference larger than {c2.loc[i, 'mdd']:.3f} AUC" in rst
    none = landing_rst(answer_table(summary, c2, VARIANTS), counts, ("real_only",), comparisons=c2,
                       primary={"declared": {"variant": "synthetic_tds", "reference": "synthetic_random"}, "found": False})
    assert "not in this run" in none


def test_landing_states_the_training_protocol():
    steps = " ".join(protocol_rst({"folds": 13, "model_selection": "inner", "budget": "steps", "steps": 3000,
                                   "epochs": 10, "repeats": 3, "random_draws": 3}))  # fmt: skip
    assert "13-fold" in steps and "same budget of 3,000 optimiser steps" in steps
    assert "inner validation fold" in steps and "3 training seed(s) per fold, 3 draws of the random control" in steps
    epochs = " ".join(protocol_rst({"folds": 5, "model_selection": "fixed", "budget": "epochs", "steps": 3000,
                                    "epochs": 4, "repeats": 1, "random_draws": 1}))  # fmt: skip
    assert "mix the set's size with the optimisation" in epochs and "exactly 4 epochs" in epochs
    assert "draws" not in epochs


def test_an_ablation_is_compared_with_its_own_size_matched_control():
    from synthfer.report.landing import _reference_of

    run = ["real_only", "synthetic_tds", "synthetic_random", "synthetic_tds_sam", "synthetic_random_sam"]
    assert _reference_of("synthetic_tds_sam", "synthetic_random", run) == "synthetic_random_sam"
    assert _reference_of("synthetic_tds", "synthetic_random", run) == "synthetic_random"
    assert _reference_of("synthetic_tds_sam", "real_only", run) == "real_only"
    # a run without the ablation's control keeps the TDS-sized one
    assert _reference_of("synthetic_tds_sam", "synthetic_random", run[:4]) == "synthetic_random"
