"""GANSpace directions: orthonormal components, stds, the additive edit convention, plots."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from test_latent_toy import ToyGenerator  # noqa: E402

from synthfer.latent.directions import Directions, compute_directions, plot_directions  # noqa: E402


@pytest.fixture(scope="module")
def directions():
    torch.set_num_threads(1)
    G = ToyGenerator()
    d, kept = compute_directions(
        G, n_samples=3000, n_components=4, seed=1, batch_size=700, std_samples=2000, keep_samples=300
    )
    return G, d, kept


def test_components_orthonormal_and_sorted(directions):
    _, d, kept = directions
    V = d["components"].astype(np.float64)
    np.testing.assert_allclose(V @ V.T, np.eye(4), atol=1e-5)
    ev = d["explained_variance"]
    assert np.all(np.diff(ev) <= 0)
    assert d["explained_variance_ratio"].sum() <= 1.0 + 1e-6
    assert kept.shape == (300, 6) and kept.dtype == np.float32
    assert int(d["num_ws"]) == 4


def test_std_matches_projection_spread(directions):
    G, d, _ = directions
    # The toy mapping is linear: w - w_avg = z @ M, so Var(<w, v>) = |M v|^2 exactly.
    M = G.map.detach().double().numpy()
    expected = np.linalg.norm(M @ d["components"].astype(np.float64).T, axis=0)
    np.testing.assert_allclose(d["std"], expected, rtol=0.05)
    # PCA found the dominant axis: std of component 0 is the largest.
    assert d["std"][0] == pytest.approx(d["std"].max())


def test_ipca_matches_full_pca(directions):
    G, d, _ = directions
    d2, _ = compute_directions(G, 3000, 4, seed=1, batch_size=3000, std_samples=2000, estimator="randomized")
    # Same subspace, up to sign per component.
    cos = np.abs(np.sum(d["components"] * d2["components"], axis=1))
    assert np.all(cos > 0.99)


def test_sampling_independent_of_batch_size():
    from synthfer.latent.directions import sample_w

    G = ToyGenerator()
    a = np.concatenate(list(sample_w(G, 250, seed=5, batch_size=60)))
    b = np.concatenate(list(sample_w(G, 250, seed=5, batch_size=250)))
    assert a.shape == (250, 6)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    c = np.concatenate(list(sample_w(G, 250, seed=6, batch_size=250)))
    assert not np.allclose(a, c)


def test_edit_moves_w_by_stated_amount(directions):
    _, d, _ = directions
    D = Directions(d["components"], d["std"], d["mean"], 4)
    ws = torch.randn(2, 4, 6)
    out = D.apply(ws, direction=1, degree=2.5, layer_start=1, layer_end=3)
    diff = (out - ws).numpy()
    np.testing.assert_allclose(diff[:, [0, 3]], 0.0)
    v = d["components"][1]
    for layer in (1, 2):
        step = diff[:, layer]
        np.testing.assert_allclose(np.linalg.norm(step, axis=1), 2.5 * d["std"][1], rtol=1e-5)
        np.testing.assert_allclose(step @ v, 2.5 * d["std"][1], rtol=1e-5)  # along +v_k
    assert torch.equal(D.apply(ws, -1, 3.0), ws)  # direction -1 = unedited
    # numpy input, open end = all layers
    out_np = D.apply(ws.numpy(), 0, -1.0, 0, None)
    np.testing.assert_allclose(
        out_np - ws.numpy(), np.broadcast_to(-d["std"][0] * d["components"][0], (2, 4, 6)), atol=1e-6
    )
    with pytest.raises(IndexError, match="direction 9"):
        D.apply(ws, 9, 1.0)


def test_npz_roundtrip_and_plots(tmp_path, directions):
    from synthfer.io import save_npy, save_npz

    _, d, kept = directions
    save_npz(tmp_path / "directions.npz", **d)
    save_npy(tmp_path / "w.npy", kept)
    D = Directions.load(tmp_path / "directions.npz")
    assert len(D) == 4 and D.num_ws == 4
    with np.load(tmp_path / "directions.npz") as npz:
        assert set(npz.files) >= {
            "components",
            "mean",
            "std",
            "explained_variance",
            "explained_variance_ratio",
            "num_ws",
        }
        assert npz["components"].dtype == np.float32 and npz["components"].shape == (4, 6)
    plot_directions(
        tmp_path / "directions.npz",
        tmp_path / "w.npy",
        tmp_path / "ev.png",
        tmp_path / "pca.png",
        tmp_path / "tsne.png",
        tsne_samples=60,
        perplexity=30,
    )
    for name in ("ev.png", "pca.png", "tsne.png"):
        assert (tmp_path / name).stat().st_size > 1000
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(ValueError, match="bad.npz"):
        Directions.load(tmp_path / "bad.npz")
