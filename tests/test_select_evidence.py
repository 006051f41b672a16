"""Evidence around the selection: the size-matched random control, per-metric ablation selections, the seed's
Table 4.1 (metric summary), the metrics' rank correlations and the feature PCA (Fig 4.3)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthfer import AU_COLUMNS
from synthfer.scores import HIGHER_IS_BETTER, SCORE_METRICS
from synthfer.select.control import CLASS_COLUMNS, random_control, stratum_names
from synthfer.select.selection import select
from synthfer.select.summary import (
    SUMMARY_COLUMNS,
    feature_projection,
    metric_summary,
    rank_correlation,
    select_metric_summary,
)

PATTERNS = [  # label patterns over AU1, AU4, AU5, AU6, AU12, AU15, neutral (multi-label, as the plan gives)
    (1, 0, 0, 0, 0, 0, 0),
    (0, 0, 0, 1, 1, 0, 0),
    (0, 0, 0, 0, 1, 0, 0),
    (0, 1, 1, 0, 0, 0, 0),
    (0, 0, 0, 0, 0, 1, 0),
    (0, 0, 0, 0, 0, 0, 1),
]


@pytest.fixture
def pool(tmp_path):
    """A manifest of 240 images (10 face-filter rejects) and two batches of score tables."""
    rng = np.random.default_rng(3)
    n = 240
    man = pd.DataFrame({"name": [f"{i % 37}_{i:06d}" for i in range(n)]})
    pat = np.array([PATTERNS[i] for i in rng.integers(0, len(PATTERNS), n)])
    for j, c in enumerate(CLASS_COLUMNS):
        man[c] = pat[:, j]
    man["face_ok"] = True
    man.loc[rng.choice(n, 10, replace=False), "face_ok"] = False
    man["face_reason"] = np.where(man["face_ok"], "", "no_face")
    man.to_csv(tmp_path / "manifest.csv", index=False)
    ok = man[man["face_ok"]].reset_index(drop=True)
    paths = []
    for b in range(2):
        df = ok.iloc[b::2][["name"]].copy()
        df["batch"] = np.int64(b)
        df["status"], df["detail"], df["reference"], df["reference_mode"] = "ok", "", "r", "nearest"
        base = rng.random(len(df))
        for m in SCORE_METRICS:  # correlated metrics: a shared quality plus noise
            q = base + 0.3 * rng.random(len(df))
            df[m] = q if HIGHER_IS_BETTER[m] else -q
        df["rmse"] = -df["psnr"] * 2 + 0.001 * rng.random(len(df))  # rmse: almost exactly psnr's order, reversed
        paths.append(tmp_path / f"batch_{b:04d}.parquet")
        df.to_parquet(paths[-1], index=False)
    select(paths, tmp_path / "manifest.csv", tmp_path / "selected.csv", tmp_path / "rejected.csv", keep=40, batch_size=115)
    return tmp_path, paths, man


def test_random_control_matches_the_selection_per_class(pool):
    root, _, man = pool
    summary = random_control(root / "selected.csv", root / "manifest.csv", root / "random.csv", seed=2023)
    rnd = pd.read_csv(root / "random.csv", dtype={"name": str})
    assert list(rnd.columns) == ["name", *CLASS_COLUMNS, "stratum"]
    sel = man.set_index("name").loc[pd.read_csv(root / "selected.csv", dtype={"name": str})["name"]]
    # exactly the TDS size per class (each AU list and neutral) and in total
    for c in CLASS_COLUMNS:
        assert int(rnd[c].sum()) == int(sel[c].sum()), c
    assert len(rnd) == len(sel) == summary["drawn"] == 80
    # drawn from the face-filtered pool only, without repeats; a random draw, not the selection
    ok_names = set(man.loc[man["face_ok"], "name"])
    assert rnd["name"].is_unique and set(rnd["name"]) <= ok_names
    assert 0 < summary["overlap_with_selection"] < len(rnd)
    assert rnd["name"].tolist() == sorted(rnd["name"])
    side = json.loads((root / "random.json").read_text())
    assert side["seed"] == 2023 and side["pool"] == len(ok_names)
    # seeded: same seed → same draw, another seed → another draw
    random_control(root / "selected.csv", root / "manifest.csv", root / "random2.csv", seed=2023)
    assert (root / "random.csv").read_bytes() == (root / "random2.csv").read_bytes()
    random_control(root / "selected.csv", root / "manifest.csv", root / "random3.csv", seed=7)
    assert set(pd.read_csv(root / "random3.csv", dtype={"name": str})["name"]) != set(rnd["name"])


def test_random_control_draws_are_independent_and_size_matched(pool):
    """select.random_draws: draw 0 is the single control of earlier runs ([seed, 15]); draw d its own stream
    ([seed, 15, d]) with the same size per class."""
    root, _, man = pool
    random_control(root / "selected.csv", root / "manifest.csv", root / "d0.csv", seed=2023)
    random_control(root / "selected.csv", root / "manifest.csv", root / "d0b.csv", seed=2023, draw=0)
    side = random_control(root / "selected.csv", root / "manifest.csv", root / "d1.csv", seed=2023, draw=1)
    assert (root / "d0.csv").read_bytes() == (root / "d0b.csv").read_bytes()
    d0, d1 = (pd.read_csv(root / f, dtype={"name": str}) for f in ("d0.csv", "d1.csv"))
    assert set(d0["name"]) != set(d1["name"]) and side["draw"] == 1 and side["rng"].endswith("[2023, 15, 1])")
    for c in CLASS_COLUMNS:
        assert int(d0[c].sum()) == int(d1[c].sum()), c


def test_an_ablations_control_draws_its_own_stream(pool):
    """synthetic_random_<metric>: the same sizing, but a stream apart from synthetic_random's ([seed, 15, d, 1 + i])."""
    from synthfer.scores import SCORE_METRICS

    root, _, _ = pool
    base = random_control(root / "selected.csv", root / "manifest.csv", root / "base.csv", seed=2023)
    own = random_control(root / "selected.csv", root / "manifest.csv", root / "own.csv", seed=2023,
                         control="synthetic_random_sam")  # fmt: skip
    i = list(SCORE_METRICS).index("sam")
    assert own["rng"].endswith(f"[2023, 15, 0, {1 + i}])") and own["control"] == "synthetic_random_sam"
    assert base["class_counts"] == own["class_counts"]
    a, b = (pd.read_csv(root / f, dtype={"name": str}) for f in ("base.csv", "own.csv"))
    assert set(a["name"]) != set(b["name"])
    with pytest.raises(ValueError, match="not a random control"):
        random_control(root / "selected.csv", root / "manifest.csv", root / "x.csv", seed=2023, control="synthetic_tds")


def test_random_control_refuses_a_selection_outside_the_pool(pool):
    root, _, man = pool
    bad = man.loc[~man["face_ok"], ["name"]].head(1)
    bad.to_csv(root / "bad_selected.csv", index=False)
    with pytest.raises(ValueError, match="not face-filtered images"):
        random_control(root / "bad_selected.csv", root / "manifest.csv", root / "r.csv", seed=1)


def test_stratum_names():
    assert stratum_names([[0, 0, 0, 1, 1, 0, 0], [0] * 6 + [1], [0] * 7]) == ["AU6+AU12", "neutral", "none"]


def test_ablation_is_a_single_metric_selection_with_the_same_keep(pool):
    """select_ablation runs select(method='single', metric=m): per batch the keep_b best by m alone."""
    root, paths, _ = pool
    select(paths, root / "manifest.csv", root / "abl.csv", root / "abl_rej.csv", keep=40, batch_size=115,
           method="single", metric="sam")  # fmt: skip
    abl = pd.read_csv(root / "abl.csv", dtype={"name": str})
    full = pd.read_csv(root / "selected.csv", dtype={"name": str})
    assert abl.groupby("batch").size().to_dict() == full.groupby("batch").size().to_dict()
    scores = pd.concat([pd.read_parquet(p) for p in paths])
    for b, g in scores.groupby("batch"):
        best = set(g.nsmallest(len(abl[abl["batch"] == b]), "sam")["name"])  # sam: lower is better
        assert set(abl.loc[abl["batch"] == b, "name"]) == best


def test_metric_summary_table_4_1(pool):
    root, paths, man = pool
    real = pd.DataFrame({m: np.r_[np.linspace(1, 2, 9), np.inf if m == "psnr" else 3.0] for m in SCORE_METRICS})
    real.insert(0, "name", [f"r{i}" for i in range(10)])
    real.to_parquet(root / "real.parquet", index=False)
    out = {k: root / f"{k}.{ext}" for k, ext in (("summary", "csv"), ("html", "html"), ("corr", "csv"),
                                                  ("within", "csv"), ("fig", "png"))}  # fmt: skip
    select_metric_summary(paths, root / "real.parquet", root / "selected.csv", root / "manifest.csv", out["summary"],
                          out["html"], out["corr"], out["within"], out["fig"], ranked_metrics=["psnr", "uiq"])  # fmt: skip
    t = pd.read_csv(out["summary"])
    assert list(t.columns) == SUMMARY_COLUMNS
    assert set(t["group"]) == {"real", "synthetic", "selected", "rejected"} and set(t.loc[t["group"] == "real", "class"]) == {"all"}
    assert set(t.loc[t["group"] == "selected", "class"]) == {"all", *AU_COLUMNS, "neutral"}
    # real psnr: the infinite value is left out
    r = t[(t["group"] == "real") & (t["metric"] == "psnr")].iloc[0]
    assert r["n"] == 9 and r["mean"] == pytest.approx(1.5) and r["sd"] == pytest.approx(np.linspace(1, 2, 9).std(ddof=1))
    # the numbers against a direct computation: selected AU12 ssim, rejected all uiq
    scores = pd.concat([pd.read_parquet(p) for p in paths]).set_index("name")
    sel = set(pd.read_csv(root / "selected.csv", dtype={"name": str})["name"])
    au12 = set(man.loc[man["AU12"] == 1, "name"])
    v = scores.loc[sorted(sel & au12), "ssim"]
    row = t[(t["group"] == "selected") & (t["class"] == "AU12") & (t["metric"] == "ssim")].iloc[0]
    assert row["n"] == len(v) and row["mean"] == pytest.approx(v.mean()) and row["sd"] == pytest.approx(v.std(ddof=1))
    rej = scores.loc[sorted(set(scores.index) - sel), "uiq"]
    row = t[(t["group"] == "rejected") & (t["class"] == "all") & (t["metric"] == "uiq")].iloc[0]
    assert row["n"] == len(rej) == 150 and row["mean"] == pytest.approx(rej.mean())
    html = out["html"].read_text()
    assert "<table>" in html and "rejected" in html and "psnr (↑)" in html
    # rank correlations: oriented so that rmse (lower better) and psnr agree almost perfectly
    corr = pd.read_csv(out["corr"]).set_index("metric")
    assert list(corr.columns) == list(SCORE_METRICS) and list(corr.index) == list(SCORE_METRICS)
    assert corr.loc["rmse", "psnr"] > 0.99 and np.allclose(np.diag(corr.to_numpy()), 1)
    assert np.allclose(corr.to_numpy(), corr.to_numpy().T, equal_nan=True)
    within = pd.read_csv(out["within"]).set_index("metric")
    assert within.loc["rmse", "psnr"] > 0.99
    from scipy.stats import spearmanr

    per_batch = [spearmanr(pd.read_parquet(p)["ssim"], -pd.read_parquet(p)["sam"]).statistic for p in paths]
    assert within.loc["ssim", "sam"] == pytest.approx(np.mean(per_batch))
    assert out["fig"].stat().st_size > 10_000


def test_rank_correlation_is_spearman_on_oriented_metrics():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    df = pd.DataFrame({m: rng.random(50) for m in SCORE_METRICS})
    df["brisque"] = 155.845  # saturated: a constant metric has no correlation
    c = rank_correlation(df)
    assert c.loc["psnr", "sam"] == pytest.approx(-spearmanr(df["psnr"], df["sam"]).statistic)
    assert c.loc["psnr", "ssim"] == pytest.approx(spearmanr(df["psnr"], df["ssim"]).statistic)
    assert np.isnan(c.loc["brisque", "psnr"])
    assert len(metric_summary(df.assign(name="x"), df.assign(selected=True, **{k: 0 for k in CLASS_COLUMNS}))) > 0


def test_feature_projection_is_the_joint_pca(tmp_path):
    rng = np.random.default_rng(1)
    real = rng.normal(0, 1, (20, 5))
    synth = rng.normal(2, 1, (30, 5))
    np.savez(tmp_path / "real.npz", names=np.array([f"r{i}" for i in range(20)]), features=real, extractor="dlib")
    for b in range(2):
        np.savez(tmp_path / f"batch_{b:04d}.npz", names=np.array([f"1_{b * 15 + i:06d}" for i in range(15)]),
                 features=synth[b * 15:(b + 1) * 15], extractor="dlib")  # fmt: skip
    pd.DataFrame({"name": ["1_000000", "1_000020"]}).to_csv(tmp_path / "selected.csv", index=False)
    feature_projection(tmp_path / "real.npz", [tmp_path / "batch_0001.npz", tmp_path / "batch_0000.npz"],
                       tmp_path / "selected.csv", tmp_path / "pca.csv", tmp_path / "pca.png")  # fmt: skip
    t = pd.read_csv(tmp_path / "pca.csv")
    assert list(t.columns) == ["name", "set", "selected", "pc1", "pc2"]
    assert (t["set"] == "real").sum() == 20 and (t["set"] == "synthetic").sum() == 30 and t["selected"].sum() == 2
    assert t["name"].iloc[20] == "1_000000"  # batches in sorted order
    joint = np.concatenate([real, synth])
    centred = joint - joint.mean(axis=0)
    var = np.linalg.svd(centred, compute_uv=False) ** 2
    side = json.loads((tmp_path / "pca.json").read_text())
    assert side["explained_variance_ratio"][0] == pytest.approx(var[0] / var.sum())
    # the projection keeps the variance of the first two axes, and the axes are uncorrelated
    assert np.var(t["pc1"], ddof=0) * len(t) == pytest.approx(var[0])
    assert abs(np.corrcoef(t["pc1"], t["pc2"])[0, 1]) < 1e-9
    # the shift between real and synthetic (mean 0 vs 2) is the first axis
    assert abs(t.loc[t["set"] == "real", "pc1"].mean() - t.loc[t["set"] == "synthetic", "pc1"].mean()) > 3
    assert (tmp_path / "pca.png").stat().st_size > 10_000


def test_sidecars_go_to_the_paths_the_rule_declares(pool):
    """select, random_control and feature_projection write their JSON where they are told (the rule's declared
    ``summary`` output), not to a path derived from the table."""
    root, paths, _ = pool
    elsewhere = root / "declared"
    summary = select(paths, root / "manifest.csv", root / "s.csv", root / "r.csv", keep=40, batch_size=115,
                     out_summary=elsewhere / "sel_summary.json")  # fmt: skip
    assert json.loads((elsewhere / "sel_summary.json").read_text())["method"] == summary["method"]
    random_control(root / "selected.csv", root / "manifest.csv", root / "rand.csv", seed=1,
                   out_summary=elsewhere / "rand_summary.json")  # fmt: skip
    assert (elsewhere / "rand_summary.json").is_file()
    assert not (root / "s.json").exists() and not (root / "rand.json").exists()
