"""Stability of repeated t-SNE runs (issue 20): the measures are blind to what t-SNE leaves undefined
(rotation, reflection, translation, scale), sit at chance for unrelated layouts, and the rule writes
the documented table, figures and summary."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthfer.latent import stability


def _layout(n=200, seed=0):
    """A 2-D layout with some structure (three blobs of different size)."""
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [8.0, 1.0], [3.0, 7.0]])
    return centres[rng.randint(0, 3, n)] + rng.standard_normal((n, 2)) * np.array([1.0, 0.5])


def _similar(x, angle=1.1, reflect=True, scale=3.7, shift=(5.0, -2.0)):
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    if reflect:
        rot = rot @ np.diag([1.0, -1.0])
    return scale * x @ rot + np.asarray(shift)


def test_rotated_reflected_scaled_copy_is_the_same_layout():
    a = _layout()
    b = _similar(a)
    assert stability.raw_mse(a, b) > 10.0  # the naive measure calls them different
    assert stability.procrustes_disparity(a, b) == pytest.approx(0.0, abs=1e-12)
    assert stability.procrustes_mse(a, b) == pytest.approx(0.0, abs=1e-9)
    assert stability.distance_correlation(a, b) == pytest.approx(1.0, abs=1e-12)
    assert stability.knn_jaccard(a, b, k=10) == 1.0
    np.testing.assert_allclose(stability.align_to(a, b), a, atol=1e-9)
    # symmetric
    assert stability.procrustes_mse(b, a) == pytest.approx(stability.procrustes_mse(a, b), abs=1e-12)


def test_unrelated_layouts_are_at_chance():
    n, k = 400, 10
    a, b = np.random.RandomState(1).standard_normal((n, 2)), np.random.RandomState(2).standard_normal((n, 2))
    chance = stability.knn_jaccard_chance(n, k)
    assert chance == pytest.approx(k / (2 * (n - 1) - k), rel=0.1)  # the approximation in the docstring
    assert stability.knn_jaccard(a, b, k) == pytest.approx(chance, rel=0.35)
    # the shared fraction of the k neighbours, |A ∩ B| / k, is near k / n
    na, nb = stability.knn_indices(a, k), stability.knn_indices(b, k)
    shared = np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb, strict=True)])
    assert shared == pytest.approx(k / n, rel=0.35)
    assert abs(stability.distance_correlation(a, b)) < 0.1
    assert stability.procrustes_disparity(a, b) > 0.9
    # the aligned MSE of unrelated layouts ≈ variance of one coordinate ≈ half their raw MSE
    assert stability.procrustes_mse(a, b) == pytest.approx(stability.raw_mse(a, b) / 2, rel=0.15)


def test_chance_level_matches_simulation():
    rng = np.random.RandomState(3)
    n, k = 30, 5
    sims = []
    for _ in range(4000):
        x, y = set(rng.choice(n - 1, k, replace=False)), set(rng.choice(n - 1, k, replace=False))
        sims.append(len(x & y) / len(x | y))
    assert stability.knn_jaccard_chance(n, k) == pytest.approx(np.mean(sims), rel=0.05)


def test_local_change_lowers_overlap_not_global_measures():
    a = _layout(300, seed=4)
    b = a.copy()
    rng = np.random.RandomState(5)
    b += rng.standard_normal(b.shape) * 0.4  # jitter within the blobs: neighbours change, the layout does not
    j = stability.knn_jaccard(a, b, 10)
    assert stability.knn_jaccard_chance(300, 10) * 5 < j < 0.9
    assert stability.distance_correlation(a, b) > 0.95
    assert stability.procrustes_disparity(a, b) < 0.05


def test_knn_indices_exclude_self_and_bad_input():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]])
    np.testing.assert_array_equal(stability.knn_indices(x, 2), [[1, 2], [0, 2], [1, 0], [2, 1]])
    with pytest.raises(ValueError, match="k must be"):
        stability.knn_indices(x, 4)
    with pytest.raises(ValueError, match="same points"):
        stability.raw_mse(x, x[:3])
    with pytest.raises(ValueError, match="two runs"):
        stability.pairwise_stability([x], [1])


def test_pairwise_table_and_matrix():
    a = _layout(60)
    embs = [a, _similar(a), np.random.RandomState(9).standard_normal((60, 2))]
    rows = stability.pairwise_stability(embs, [7, 8, 9], k=5)
    assert [(r["run_a"], r["run_b"], r["seed_a"], r["seed_b"]) for r in rows] == [
        (0, 1, 7, 8),
        (0, 2, 7, 9),
        (1, 2, 8, 9),
    ]
    assert all(set(r) == set(stability.COLUMNS) for r in rows)
    m = stability.pair_matrix(rows, "knn_jaccard", 3, diagonal=1.0)
    assert np.allclose(m, m.T) and m[0, 1] == 1.0 and m[0, 2] == rows[1]["knn_jaccard"]


@pytest.fixture(scope="module")
def stability_outputs(tmp_path_factory):
    from synthfer.io import save_npy, save_npz
    from synthfer.latent.tsne import tsne_stability

    d = tmp_path_factory.mktemp("tsne")
    rng = np.random.RandomState(0)
    comps = np.linalg.qr(rng.standard_normal((6, 6)))[0][:3].astype(np.float32)
    save_npz(d / "directions.npz", components=comps, mean=np.zeros(6, np.float32),
             explained_variance_ratio=np.array([0.5, 0.3, 0.1], np.float32))  # fmt: skip
    save_npy(d / "w.npy", (rng.standard_normal((80, 6)) * np.linspace(2, 0.2, 6)).astype(np.float32))
    out = {name: d / name for name in ("runs.png", "stab.png", "stab.csv", "stab.json")}
    tsne_stability(d / "directions.npz", d / "w.npy", *out.values(), runs=3, tsne_samples=50, perplexity=30, seed=4)
    return out


def test_rule_outputs_are_the_documented_format(stability_outputs):
    out = stability_outputs
    table = pd.read_csv(out["stab.csv"])
    assert list(table.columns) == list(stability.COLUMNS)
    assert len(table) == 3 and list(table.seed_a) == [4, 4, 5] and list(table.seed_b) == [5, 6, 6]
    assert (table.mse_aligned < table.mse_raw).all()
    assert table.knn_jaccard.between(0, 1).all() and table.distance_pearson.between(-1, 1).all()
    summary = json.loads(out["stab.json"].read_text())
    assert summary["runs"] == 3 and summary["seeds"] == [4, 5, 6] and summary["n_points"] == 50
    assert summary["init"] == "random" and summary["k"] == 10 and summary["perplexity"] == pytest.approx(49 / 3)
    assert summary["mean"]["knn_jaccard"] == pytest.approx(table.knn_jaccard.mean())
    assert "sklearn" in summary["provenance"]
    for name in ("runs.png", "stab.png"):
        assert out[name].stat().st_size > 5000


def test_runs_differ_by_seed_and_repeat_exactly(stability_outputs, tmp_path):
    """Random starts: different seeds give different layouts (a PCA start would make every run the same),
    and the same seed gives the same table."""
    from synthfer.latent.tsne import tsne_stability

    first = pd.read_csv(stability_outputs["stab.csv"])
    assert (first.procrustes_disparity > 1e-6).all()
    d = stability_outputs["stab.csv"].parent
    again = {name: tmp_path / name for name in ("r.png", "s.png", "s.csv", "s.json")}
    tsne_stability(d / "directions.npz", d / "w.npy", *again.values(), runs=3, tsne_samples=50, perplexity=30, seed=4)
    assert again["s.csv"].read_bytes() == stability_outputs["stab.csv"].read_bytes()
    with pytest.raises(ValueError, match="latent.tsne_runs"):
        tsne_stability(d / "directions.npz", d / "w.npy", *again.values(), runs=1, tsne_samples=50)
