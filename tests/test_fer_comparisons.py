"""Holm-corrected variant comparisons (wilcoxon.csv ``p_holm``) and the report's answer table built from the
FER tables: its numbers are summary.csv's and wilcoxon.csv's, differences oriented variant − reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthfer import AU_COLUMNS
from synthfer.fer.evaluate import evaluate
from synthfer.fer.metrics import holm, paired_wilcoxon
from synthfer.report.landing import answer_columns, answer_table, key_counts, landing_rst

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
            path = root / v / f"fold_{fold:02d}" / "predictions.csv"
            path.parent.mkdir(parents=True)
            _fold(rng, 40, SIGNAL[v]).to_csv(path, index=False)
            preds[v].append(path)
    out = [root / f"{k}.csv" for k in ("summary", "folds", "roc", "wilcoxon")]
    evaluate(preds, *out, root / "auc.png", {v: root / f"roc_{v}.png" for v in VARIANTS})
    return root, *(pd.read_csv(p) for p in (out[0], out[1], out[3]))


def test_wilcoxon_p_holm_per_pair_across_the_six_aus(fer_tables):
    _, _, folds, w = fer_tables
    assert list(w.columns)[-2:] == ["p_value", "p_holm"]
    for _, g in w.groupby(["variant_a", "variant_b"]):
        g = g.set_index("au")
        np.testing.assert_allclose(g.loc[list(AU_COLUMNS), "p_holm"], holm(g.loc[list(AU_COLUMNS), "p_value"]))
        assert g.loc["mean", "p_holm"] == g.loc["mean", "p_value"]
        assert (g["p_holm"] >= g["p_value"]).all()
    # one test recomputed from the fold AUCs
    fa = folds.pivot_table(index="fold", columns=["variant", "au"], values="auc")
    res = paired_wilcoxon(fa[("real_only", "AU4")], fa[("synthetic_tds", "AU4")])
    row = w[(w["variant_a"] == "real_only") & (w["variant_b"] == "synthetic_tds") & (w["au"] == "AU4")].iloc[0]
    assert row["p_value"] == pytest.approx(res["p_value"]) and row["mean_diff"] == pytest.approx(res["mean_diff"])


def test_answer_table_numbers_are_summary_and_wilcoxon(fer_tables):
    _, summary, folds, w = fer_tables
    answer = answer_table(summary, w, VARIANTS)
    assert list(answer.columns) == answer_columns()
    assert len(answer) == 7 * len(VARIANTS) and answer["au"].iloc[0] == "AU1" and answer["au"].iloc[-1] == "mean"
    merged = answer.merge(summary, on=["variant", "au"], suffixes=("", "_summary"))
    assert len(merged) == len(answer)
    for c in ("mean_auc", "ci_low", "ci_high", "n_folds"):
        np.testing.assert_allclose(merged[c], merged[f"{c}_summary"])
    fa = folds.pivot_table(index="fold", columns=["variant", "au"], values="auc")
    a = answer.set_index(["variant", "au"])
    for ref in ("real_only", "synthetic_random"):
        assert a.loc[(ref, "AU1"), f"diff_{ref}"] != a.loc[(ref, "AU1"), f"diff_{ref}"]  # NaN for itself
        for v in VARIANTS:
            if v == ref:
                continue
            for au in (*AU_COLUMNS, "mean"):
                # variant − reference, whatever the pair's order in wilcoxon.csv
                assert a.loc[(v, au), f"diff_{ref}"] == pytest.approx((fa[(v, au)] - fa[(ref, au)]).mean())
                pair = w[(w["au"] == au) & w["variant_a"].isin([v, ref]) & w["variant_b"].isin([v, ref])].iloc[0]
                expected = pair["p_value"] if au == "mean" else pair["p_holm"]
                assert a.loc[(v, au), f"p_{ref}"] == pytest.approx(expected)
    # the TDS-like variant (strong signal) beats real_only on every AU
    assert (answer[(answer["variant"] == "synthetic_tds")]["diff_real_only"] > 0).all()


def test_answer_without_a_random_control_leaves_its_columns_empty(fer_tables):
    _, summary, _, w = fer_tables
    answer = answer_table(summary, w, ["real_only", "synthetic_tds"])
    assert answer["diff_synthetic_random"].isna().all() and answer["diff_real_only"].notna().sum() == 7
    with pytest.raises(ValueError, match="p_holm"):
        answer_table(summary, w.drop(columns="p_holm"), VARIANTS)


def test_key_counts_and_landing_text(tmp_path, fer_tables):
    _, summary, _, w = fer_tables
    pd.DataFrame({"name": list("abcd"), "status": ["ok", "ok", "ok", "no_face"]}).to_csv(tmp_path / "faces.csv", index=False)
    pd.DataFrame({"name": ["1_000000", "1_000001", "2_000002"], "face_ok": [True, False, True]}).to_csv(
        tmp_path / "manifest.csv", index=False
    )
    pd.DataFrame({"name": ["1_000000"]}).to_csv(tmp_path / "selected.csv", index=False)
    pd.DataFrame({"kimg": [60, 64], "snapshot": ["a", "b"], "fid": [40.0, 38.5], "extractor": "dlib"}).to_csv(
        tmp_path / "snapshot_fid.csv", index=False
    )
    pd.DataFrame({"label": ["AU1", "total"], "count": [1, 2], "fraction": [0.5, 1.0]}).to_csv(tmp_path / "lc.csv", index=False)
    counts = key_counts(tmp_path / "faces.csv", tmp_path / "manifest.csv", tmp_path / "selected.csv",
                        snapshot_fid=tmp_path / "snapshot_fid.csv", network_file="results/gan/network-final.pt",
                        network_kimg=64, training_counts={"synthetic_tds": tmp_path / "lc.csv"})  # fmt: skip
    c = counts.set_index("key")["value"].to_dict()
    assert c["photos"] == 4 and c["photos_aligned"] == 3 and c["images_generated"] == 3 and c["images_face_ok"] == 2
    assert c["images_selected"] == 1 and c["network_fid"] == 38.5 and c["training_images_synthetic_tds"] == 2
    # the network choice's sidecar wins over the final network (its kimg picks the FID row)
    (tmp_path / "net.json").write_text('{"kimg": 60.0, "fid": null, "source": "snap60.pt", "reason": "gan.network names it"}')
    c2 = key_counts(network_info=tmp_path / "net.json", snapshot_fid=tmp_path / "snapshot_fid.csv", network_kimg=64)
    c2 = c2.set_index("key")
    assert c2.loc["network", "value"] == "snap60.pt" and c2.loc["network_fid", "value"] == 40.0
    assert "60 kimg" in c2.loc["network", "detail"] and "names it" in c2.loc["network", "detail"]

    from docutils.core import publish_parts

    answer = answer_table(summary, w, VARIANTS)
    rst = landing_rst(answer, counts, ("real_only", "synthetic_random"), demo=True)
    html = publish_parts(rst, writer="html", settings_overrides={"halt_level": 2})["html_body"]
    assert html.count("<tr") == 1 + len(answer) and "wiring, not science" in html
    tds_mean = answer[(answer["variant"] == "synthetic_tds") & (answer["au"] == "mean")].iloc[0]
    assert f"{tds_mean['mean_auc']:.3f} ({tds_mean['ci_low']:.3f}–{tds_mean['ci_high']:.3f})" in html
    assert f"{tds_mean['diff_synthetic_random']:+.3f}" in html and "photos_aligned" in html
