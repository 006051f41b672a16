"""Selection over prepared score tables: thresholds, ranking, keep, reasons, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthfer.scores import SCORE_METRICS
from synthfer.select.selection import combined_score, select


def _table(batch: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"name": [f"{batch}{i:02d}_{batch * 100 + i:06d}" for i in range(n)], "batch": np.int64(batch)})
    df["status"], df["detail"], df["reference"], df["reference_mode"] = "ok", "", "r", "nearest"
    for m in SCORE_METRICS:
        df[m] = rng.random(n)
    return df


@pytest.fixture
def tables(tmp_path):
    paths = []
    for b, n in ((0, 20), (1, 19)):
        df = _table(b, n, seed=b)
        if b == 1:
            df.loc[3, "status"] = "not_rgb"
            df.loc[3, list(SCORE_METRICS)] = np.nan
        p = tmp_path / f"batch_{b:04d}.parquet"
        df.to_parquet(p, index=False)
        paths.append(p)
    man = pd.concat([pd.read_parquet(p)[["name"]] for p in paths])
    man["face_ok"] = True
    man["face_reason"] = ""
    man = pd.concat([man, pd.DataFrame({"name": ["999_000999"], "face_ok": [False], "face_reason": ["no_face"]})])
    man.to_csv(tmp_path / "manifest.csv", index=False)
    return tmp_path, paths


def _run(tmp_path, paths, tag="", **kw):
    args = dict(keep=5, batch_size=20, thresholds={"psnr": {"min": 0.2}, "brisque": {"max": 0.9}})
    args.update(kw)
    select(paths, tmp_path / "manifest.csv", tmp_path / f"sel{tag}.csv", tmp_path / f"rej{tag}.csv", **args)
    return pd.read_csv(tmp_path / f"sel{tag}.csv"), pd.read_csv(tmp_path / f"rej{tag}.csv")


def test_thresholds_rank_and_keep(tables):
    tmp_path, paths = tables
    sel, rej = _run(tmp_path, paths)
    assert list(sel.columns[:6]) == ["name", "batch", "rank", "score", "pass_psnr", "pass_brisque"]
    assert list(rej.columns[:4]) == ["name", "batch", "reason", "rank"]
    # keep 5 of a full batch of 20; the batch of 19 keeps round(5·19/20) = 5.
    assert sel.groupby("batch").size().to_dict() == {0: 5, 1: 5}
    assert sel["pass_psnr"].all() and sel["pass_brisque"].all()
    assert (sel["psnr"] >= 0.2).all() and (sel["brisque"] <= 0.9).all()
    assert sel.groupby("batch")["rank"].apply(list).to_dict() == {0: [1, 2, 3, 4, 5], 1: [1, 2, 3, 4, 5]}
    # Every image appears exactly once across the two tables (plus the face-filter reject).
    all_names = set(pd.concat([pd.read_parquet(p) for p in paths])["name"]) | {"999_000999"}
    assert set(sel["name"]) | set(rej["name"]) == all_names and not set(sel["name"]) & set(rej["name"])
    reasons = rej.set_index("name")["reason"]
    assert reasons["999_000999"] == "face_filter:no_face"
    assert reasons["103_000103"] == "not_scored:not_rgb"
    failed = rej[rej["reason"].str.startswith("threshold:")]
    assert len(failed) > 0
    for _, r in failed.iterrows():
        assert ("psnr<0.2" in r["reason"]) == (r["psnr"] < 0.2)
        assert ("brisque>0.9" in r["reason"]) == (r["brisque"] > 0.9)
    ranked_out = rej[rej["reason"].str.startswith("rank:")]
    assert (ranked_out["rank"] > 5).all()
    # The selected images have the best combined scores of their batch's survivors.
    for b in (0, 1):
        survivors = pd.concat([sel[sel.batch == b], ranked_out[ranked_out.batch == b]])
        assert set(survivors.nlargest(5, "score")["name"]) == set(sel[sel.batch == b]["name"])
    summary = json.loads((tmp_path / "sel.json").read_text())
    assert summary["n_selected"] == 10 and summary["batches"][1]["not_scored"] == 1


def test_deterministic(tables):
    tmp_path, paths = tables
    a = _run(tmp_path, paths, "a")
    b = _run(tmp_path, list(reversed(paths)), "b")
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])


def test_rank_mean_direction_and_weights():
    df = pd.DataFrame({"psnr": [30.0, 20.0, 10.0], "brisque": [50.0, 10.0, 5.0]})
    # psnr: higher better → row 0 best; brisque: lower better → row 2 best.
    np.testing.assert_allclose(combined_score(df, "rank_mean", ["psnr"], None, None), [1, 2 / 3, 1 / 3])
    np.testing.assert_allclose(combined_score(df, "rank_mean", ["brisque"], None, None), [1 / 3, 2 / 3, 1])
    w = combined_score(df, "rank_mean", ["psnr", "brisque"], {"psnr": 3.0}, None)
    np.testing.assert_allclose(w, [(3 * 1 + 1 / 3) / 4, (3 * 2 / 3 + 2 / 3) / 4, (3 / 3 + 1) / 4])
    np.testing.assert_allclose(combined_score(df, "single", [], None, "brisque"), [-50, -10, -5])
    with pytest.raises(ValueError, match="unknown metric"):
        combined_score(df, "rank_mean", ["psnr", "fsim"], None, None)
    with pytest.raises(ValueError, match="unknown"):
        combined_score(df, "best", ["psnr"], None, None)


def test_changing_keep_or_method_changes_selection(tables):
    tmp_path, paths = tables
    base, _ = _run(tmp_path, paths, "k5")
    more, _ = _run(tmp_path, paths, "k8", keep=8)
    assert set(base["name"]) < set(more["name"]) and len(more) == 16
    single, _ = _run(tmp_path, paths, "s", method="single", metric="ssim", thresholds={})
    for b in (0, 1):
        tab = pd.concat([pd.read_parquet(p) for p in paths])
        tab = tab[(tab.batch == b) & (tab.status == "ok")]
        assert set(single[single.batch == b]["name"]) == set(tab.nlargest(5, "ssim")["name"])


def test_bad_config_is_reported(tables):
    tmp_path, paths = tables
    with pytest.raises(ValueError, match="unknown bound"):
        _run(tmp_path, paths, "x", thresholds={"psnr": {"above": 3}})
    with pytest.raises(ValueError, match="unknown metric"):
        _run(tmp_path, paths, "y", thresholds={"fsim": {"min": 3}})


def test_links_never_touch_the_images(tmp_path):
    from synthfer.imaging import save_png
    from synthfer.io import sha256_file
    from synthfer.select.selection import link_selected

    raw = tmp_path / "raw"
    for i in range(3):
        save_png(raw / f"{i}_00000{i}.png", np.full((4, 4, 3), i, np.uint8))
    before = {p.name: sha256_file(p) for p in raw.iterdir()}
    pd.DataFrame({"name": ["0_000000", "2_000002"]}).to_csv(tmp_path / "sel.csv", index=False)
    assert link_selected(tmp_path / "sel.csv", raw, tmp_path / "selected") == 2
    assert sorted(p.name for p in (tmp_path / "selected").iterdir()) == ["0_000000.png", "2_000002.png"]
    assert {p.name: sha256_file(p) for p in raw.iterdir()} == before
    pd.DataFrame({"name": ["9_000009"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(FileNotFoundError, match="9_000009"):
        link_selected(tmp_path / "bad.csv", raw, tmp_path / "selected2")


def test_min_above_max_is_refused_before_anything_is_written(tables):
    tmp_path, paths = tables
    with pytest.raises(ValueError, match=r"select\.thresholds\.psnr': min 0\.9 is greater than max 0\.1"):
        _run(tmp_path, paths, "mm", thresholds={"psnr": {"min": 0.9, "max": 0.1}})
    assert not (tmp_path / "selmm.csv").exists()


def test_a_batch_that_keeps_nothing_is_recorded_with_its_cause(tables):
    tmp_path, paths = tables
    # batch 1 is shifted below the psnr limit: the threshold empties it, batch 0 is untouched
    low = pd.read_parquet(paths[1])
    low["psnr"] = low["psnr"] - 2.0
    low.to_parquet(paths[1], index=False)
    sel, rej = _run(tmp_path, paths, "e", thresholds={"psnr": {"min": 0.0}})
    assert set(sel["batch"]) == {0}
    batches = {b["batch"]: b for b in json.loads((tmp_path / "sele.json").read_text())["batches"]}
    assert batches[0]["empty_because"] is None and batches[0]["rejected_by_threshold"] == {}
    assert batches[1]["selected"] == 0
    assert batches[1]["rejected_by_threshold"] == {"threshold:psnr<0": 18}  # 19 images, one not scored
    assert batches[1]["empty_because"] == "every scored image failed a threshold: psnr<0 rejected 18 of 18 scored"


def test_a_selection_that_keeps_nothing_fails_naming_the_thresholds(tables):
    tmp_path, paths = tables
    with pytest.raises(ValueError) as err:
        _run(tmp_path, paths, "z", thresholds={"psnr": {"min": 2.0}, "ssim": {"max": 0.5}})
    msg = str(err.value)
    assert "no image was selected from 2 batch(es) of 39 images (38 scored)" in msg
    assert "psnr<2 rejected 38 of 38 scored" in msg and "ssim>0.5 rejected" in msg
    assert "select.thresholds.psnr" in msg and "select.thresholds.ssim" in msg and "Fix:" in msg
    assert not (tmp_path / "selz.csv").exists()
    with pytest.raises(ValueError, match="select.keep is 0"):
        _run(tmp_path, paths, "k0", keep=0)


@pytest.mark.parametrize("metric", ["psnr", "brisque"])  # higher better, lower better
def test_rank_mean_missing_value_ranks_worst(metric):
    """A NaN metric value gets the lowest percentile whatever the metric's direction (issue 22 item 7)."""
    df = pd.DataFrame({metric: [30.0, np.nan, 10.0, 20.0]})
    score = combined_score(df, "rank_mean", [metric], None, None)
    assert score[1] == 0.0
    assert score[1] < score[[0, 2, 3]].min()
    # Two metrics: an image missing one metric cannot beat an image that is best on the other and second on this.
    df = pd.DataFrame({"psnr": [30.0, 20.0, 10.0], "brisque": [np.nan, 10.0, 5.0]})
    s = combined_score(df, "rank_mean", ["psnr", "brisque"], None, None)
    assert s[0] < s[1]
    np.testing.assert_allclose(s, [(1 + 0) / 2, (2 / 3 + 1 / 2) / 2, (1 / 3 + 1) / 2])
