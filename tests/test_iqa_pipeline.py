"""IQA library end to end on tiny data: references, batches, SVR, scoring (incl. bad inputs), FID/KID."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthfer.imaging import save_png
from synthfer.iqa.batches import batch_ids, make_batches, partition
from synthfer.iqa.fid import Extractor, feature_stats, frechet_distance, kid
from synthfer.iqa.references import MEAN_NAME, References, build_references
from synthfer.iqa.score import BQ_COLUMNS, SCORE_COLUMNS, score_batch
from synthfer.iqa.svr import train_svr
from synthfer.scores import SCORE_METRICS

LEVELS = {"blur": [0.6, 1.2], "noise": [5, 12], "jpeg": [50, 15]}


def _load(f, size):
    from PIL import Image

    with Image.open(f) as im:
        return np.asarray(im.convert("RGB").crop((120, 120, 555, 555)).resize((size, size), Image.BILINEAR))


@pytest.fixture(scope="module")
def world(faces_data, tmp_path_factory):
    """12 real 256² crops; 14 synthetic 48² images (2 noisy) + 4 bad files; a manifest."""
    root = tmp_path_factory.mktemp("iqa")
    real = sorted((faces_data / "london" / "neutral").glob("*.jpg"))[:12]
    for f in real:
        save_png(root / "real" / f"{f.stem}.png", _load(f, 256))
    rows = []
    rng = np.random.default_rng(0)
    for i, f in enumerate(sorted((faces_data / "london" / "smiling").glob("*.jpg"))[:14]):
        im = _load(f, 48)
        if i in (3, 7):
            im = np.clip(im + rng.normal(0, 25, im.shape), 0, 255).astype(np.uint8)
        name = f"{100 + i}_{i:06d}"
        save_png(root / "synthetic" / "raw" / f"{name}.png", im)
        rows.append(
            {
                "name": name,
                "face_ok": True,
                "face_reason": "",
                "AU12": i % 2,
                "AU6": int(i % 3 == 0),
                "neutral": int(i % 4 == 0),
            }
        )
    from PIL import Image

    bad = {
        "900_000900": lambda p: p.write_bytes(b"not a png at all"),  # corrupt
        "901_000901": lambda p: Image.fromarray(np.full((48, 48), 90, np.uint8)).save(p),  # greyscale
        "902_000902": lambda p: Image.fromarray(np.full((48, 48, 4), 90, np.uint8), "RGBA").save(p),  # RGBA
        "903_000903": lambda p: Image.fromarray(np.full((40, 48, 3), 90, np.uint8)).save(p),  # wrong size
    }
    for name, write in bad.items():
        write(root / "synthetic" / "raw" / f"{name}.png")
        rows.append({"name": name, "face_ok": True, "face_reason": "", "AU12": 0, "AU6": 0, "neutral": 0})
    rows.append({"name": "950_000950", "face_ok": False, "face_reason": "no_face", "AU12": 0, "AU6": 0, "neutral": 0})
    man = pd.DataFrame(rows)
    man["file"] = "raw/" + man["name"] + ".png"
    for au in ("AU1", "AU4", "AU5", "AU15"):
        man[au] = 0
    man.to_csv(root / "synthetic" / "manifest.csv", index=False)
    out = root / "out"
    build_references(root / "real", out / "references.npz", (48, 48), nearest_size=8)  # gan.resolution = 48
    return root, out


def test_references(world):
    root, out = world
    refs = References(out / "references.npz")
    assert refs.size == (48, 48) and refs.images.shape == (12, 48, 48, 3) and refs.images.dtype == np.uint8
    assert refs.mean.shape == (48, 48, 3) and refs.lowres.shape == (12, 8 * 8 * 3)
    # A reference crop's nearest reference is itself (one matrix product against all crops).
    np.testing.assert_array_equal(refs.nearest(refs.images), np.arange(12))
    imgs, names = refs.pick(refs.images[:2], "mean")
    assert names == [MEAN_NAME] * 2 and np.array_equal(imgs[0], refs.mean)
    with pytest.raises(ValueError, match="reference mode"):
        refs.pick(refs.images[:1], "median")


def test_batches_are_deterministic_and_balanced(world, tmp_path):
    root, _ = world
    man = root / "synthetic" / "manifest.csv"
    n = make_batches(man, tmp_path / "a.csv", batch_size=5, seed=7)
    make_batches(man, tmp_path / "b.csv", batch_size=5, seed=7)
    make_batches(man, tmp_path / "c.csv", batch_size=5, seed=8)
    a, b, c = (pd.read_csv(tmp_path / f"{k}.csv") for k in "abc")
    assert list(a.columns) == ["name", "file", "batch", "position"]
    pd.testing.assert_frame_equal(a, b)
    assert not a.set_index("name")["batch"].equals(c.set_index("name").loc[a["name"], "batch"])
    assert n == 4 and len(a) == 18  # 18 face_ok images (the face-filter failure is excluded)
    assert "950_000950" not in set(a["name"])
    sizes = a.groupby("batch").size()
    assert sizes.max() <= 5 and sizes.max() - sizes.min() <= 1
    assert batch_ids(tmp_path / "a.csv") == ["0000", "0001", "0002", "0003"]
    # Independent of the manifest's row order.
    shuffled = pd.read_csv(man).sample(frac=1, random_state=1)
    shuffled.to_csv(tmp_path / "m.csv", index=False)
    make_batches(tmp_path / "m.csv", tmp_path / "d.csv", batch_size=5, seed=7)
    pd.testing.assert_frame_equal(a, pd.read_csv(tmp_path / "d.csv"))
    meta = json.loads((tmp_path / "a.json").read_text())
    assert meta["n_pool"] == 18 and meta["n_excluded_by_face_filter"] == 1


def test_partition_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        partition(["a"], 0, 1)


@pytest.fixture(scope="module")
def svr(world):
    _, out = world
    figures = train_svr(
        out / "references.npz",
        out / "svr" / "model.joblib",
        out / "svr" / "validation.json",
        out / "svr" / "pred.csv",
        LEVELS,
        seed=3,
    )
    return figures


def test_svr_learns_severity(svr, world):
    _, out = world
    assert svr["n_crops_train"] + svr["n_crops_heldout"] == 12
    # Held-out faces: severity ordering recovered and far better than predicting the mean.
    assert svr["heldout_spearman_rho"] > 0.7
    assert svr["heldout_mse"] < 0.5 * svr["heldout_mse_constant_baseline"]
    pred = pd.read_csv(out / "svr" / "pred.csv")
    assert set(pred.columns) >= {"crop", "kind", "strength", "severity", "predicted"}
    assert len(pred) == svr["n_samples_heldout"] == svr["n_crops_heldout"] * 7
    assert json.loads((out / "svr" / "validation.json").read_text())["heldout_mse"] == svr["heldout_mse"]


def test_score_batch_table_and_bad_inputs(world, svr):
    root, out = world
    make_batches(root / "synthetic" / "manifest.csv", out / "batches.csv", batch_size=100, seed=1)
    summary = score_batch(
        out / "batches.csv",
        0,
        root / "synthetic",
        out / "references.npz",
        out / "svr" / "model.joblib",
        out / "scores" / "batch_0000.parquet",
        reference_mode="nearest",
        chunk=5,
        device="cpu",
    )
    df = pd.read_parquet(out / "scores" / "batch_0000.parquet")
    assert list(df.columns) == SCORE_COLUMNS
    assert df["batch"].dtype == np.int64 and all(df[c].dtype == np.float64 for c in (*SCORE_METRICS, *BQ_COLUMNS))
    status = df.set_index("name")["status"]
    assert status["900_000900"] == "unreadable"
    assert status["901_000901"] == "not_rgb" and status["902_000902"] == "not_rgb"
    assert status["903_000903"] == "wrong_size"
    ok = df[df["status"] == "ok"]
    assert len(ok) == 14 and summary["n_scored"] == 14
    assert ok[list(SCORE_METRICS)].notna().all().all()
    assert df.loc[df["status"] != "ok", "psnr"].isna().all()
    assert set(ok["reference"]) <= set(References(out / "references.npz").names)
    # The noisy images get a higher severity from the real-set SVR than most clean ones. (BRISQUE
    # is not asserted at 48²: its LIVE model saturates at −ρ = 155.845 on such tiny images.)
    noisy = ok["name"].isin(["103_000003", "107_000007"])
    assert ok.loc[noisy, "svr_severity"].min() > ok.loc[~noisy, "svr_severity"].median()
    # Re-scoring gives the same table (determinism).
    score_batch(
        out / "batches.csv",
        0,
        root / "synthetic",
        out / "references.npz",
        out / "svr" / "model.joblib",
        out / "again.parquet",
        reference_mode="nearest",
        chunk=3,
        device="cpu",
    )
    pd.testing.assert_frame_equal(df, pd.read_parquet(out / "again.parquet"))


def test_frechet_and_kid():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 8))
    b = rng.normal(size=(400, 8)) + 1.0
    mu, sig = feature_stats(a)
    assert frechet_distance(mu, sig, mu, sig) == pytest.approx(0.0, abs=1e-8)
    # Shifted by 1 in every dimension, same covariance: FID ≈ ‖Δμ‖² = 8.
    assert frechet_distance(*feature_stats(a), *feature_stats(b)) == pytest.approx(8.0, rel=0.15)
    # Closed form for diagonal Gaussians: (σ1 − σ2)² per dimension.
    assert frechet_distance(np.zeros(2), np.diag([4.0, 9.0]), np.zeros(2), np.diag([1.0, 1.0])) == pytest.approx(1 + 4)
    same, _ = kid(a[:200], a[200:], n_subsets=10, subset_size=100)
    diff, _ = kid(a, b, n_subsets=10, subset_size=100)
    assert abs(same) < 0.05 < diff
    # Unbiased MMD² for one subset equals the direct formula.
    x, y = a[:5], b[:5]
    k = lambda p, q: (p @ q.T / 8 + 1) ** 3  # noqa: E731
    direct = (k(x, x).sum() - np.trace(k(x, x))) / 20 + (k(y, y).sum() - np.trace(k(y, y))) / 20 - 2 * k(x, y).mean()
    assert kid(x, y, n_subsets=1, subset_size=5)[0] == pytest.approx(direct)


def test_dlib_extractor_and_fid_table(world, svr, tmp_path):
    from synthfer.iqa.features import batch_features, real_features
    from synthfer.select.distance import fid_kid_table
    from synthfer.select.selection import select

    root, out = world
    if not (out / "batches.csv").exists():
        make_batches(root / "synthetic" / "manifest.csv", out / "batches.csv", batch_size=100, seed=1)
    ex = Extractor("dlib")
    imgs = References(out / "references.npz").images[:2]
    f = ex(imgs)
    assert f.shape == (2, 128) and np.isfinite(f).all()
    np.testing.assert_allclose(ex(imgs[:1])[0], f[0])  # deterministic
    assert np.linalg.norm(f[0] - f[1]) > 0.1  # two different people
    assert ex.describe()["extractor"] == "dlib"
    real_features(out / "references.npz", tmp_path / "real.npz", "dlib")
    info = batch_features(
        out / "batches.csv", 0, root / "synthetic", out / "references.npz", tmp_path / "b0.npz", "dlib"
    )
    assert info["n"] == 14 and len(info["skipped"]) == 4
    with np.load(tmp_path / "real.npz") as r:
        assert str(r["extractor"]) == "dlib" and r["features"].shape == (12, 128) and r["sigma"].shape == (128, 128)
    score = (
        pd.read_parquet(out / "scores" / "batch_0000.parquet")
        if (out / "scores" / "batch_0000.parquet").exists()
        else None
    )
    if score is None:
        pytest.skip("score table from test_score_batch_table_and_bad_inputs missing")
    select(
        [out / "scores" / "batch_0000.parquet"],
        root / "synthetic" / "manifest.csv",
        tmp_path / "sel.csv",
        tmp_path / "rej.csv",
        keep=50,
        batch_size=100,
    )
    fid_kid_table(
        tmp_path / "real.npz",
        [tmp_path / "b0.npz"],
        root / "synthetic" / "manifest.csv",
        tmp_path / "sel.csv",
        tmp_path / "fk.csv",
        5,
        10,
    )
    t = pd.read_csv(tmp_path / "fk.csv")
    assert list(t.columns) == ["extractor", "subset", "class", "n_real", "n_synthetic", "fid", "kid", "kid_std"]
    assert set(t["extractor"]) == {"dlib"} and len(t) == 2 * 8
    allrow = t[(t["subset"] == "all_scored") & (t["class"] == "all")].iloc[0]
    assert allrow["n_synthetic"] == 14 and allrow["fid"] > 0
    assert t.loc[(t["subset"] == "all_scored") & (t["class"] == "AU4"), "fid"].isna().all()  # no AU4 images


def test_inception_rejects_foreign_weights(tmp_path):
    import torch

    from synthfer.iqa.fid import inception_weights_path, load_inception

    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "w.pth")
    with pytest.raises(ValueError, match="not an InceptionV3 FID weight file"):
        load_inception(tmp_path / "w.pth")
    with pytest.raises(FileNotFoundError, match="inception_weights"):
        inception_weights_path(tmp_path / "absent.pth")
