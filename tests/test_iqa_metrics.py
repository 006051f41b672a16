"""Full-reference metrics and BRISQUE: definitions, parity with in-venv references, monotonicity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthfer.iqa import brisque as B
from synthfer.iqa import metrics as M
from synthfer.iqa.svr import degrade


def _crops(faces_data, n: int, size: int, folder: str = "neutral") -> np.ndarray:
    from PIL import Image

    files = sorted((faces_data / "london" / folder).glob("*.jpg"))[:n]
    out = []
    for f in files:
        with Image.open(f) as im:
            im = im.convert("RGB").crop((120, 120, 555, 555)).resize((size, size), Image.BILINEAR)
            out.append(np.asarray(im))
    return np.stack(out)


@pytest.fixture(scope="module")
def crops(faces_data):
    return _crops(faces_data, 4, 64)


def test_ssim_matches_skimage(crops):
    from skimage.metrics import structural_similarity

    x, y = crops[:2], crops[2:]
    ours = M.ssim(x, y)
    ref = [structural_similarity(a, b, data_range=255, channel_axis=2) for a, b in zip(x, y, strict=True)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.integers(20, 230, (2, 32, 32, 3)).astype(np.uint8)
    y = x.astype(np.int16)
    y[..., 0] += 3  # every red value off by 3: per-band RMSE (3, 0, 0)
    y = y.astype(np.uint8)
    np.testing.assert_allclose(M.rmse(x, y), [1.0, 1.0])
    np.testing.assert_allclose(M.psnr(x, y), 20 * math.log10(255 / math.sqrt(9 / 3)))
    assert np.all(np.isinf(M.psnr(x, x)))
    np.testing.assert_allclose(M.ssim(x, x), 1.0)
    np.testing.assert_allclose(M.uiq(x, x), 1.0)
    np.testing.assert_allclose(M.sam(x, x), 0.0, atol=1e-6)
    # A pure brightness scaling keeps every RGB direction: SAM 0.
    np.testing.assert_allclose(M.sam(x // 2 * 2, (x // 2)), 0.0, atol=1e-6)
    # SAM between pure red and pure green pixels is 90°.
    red = np.zeros((1, 8, 8, 3), np.uint8)
    red[..., 0] = 200
    green = np.zeros((1, 8, 8, 3), np.uint8)
    green[..., 1] = 100
    np.testing.assert_allclose(M.sam(red, green), 90.0)


def test_uiq_matches_windowed_definition():
    """Q per 8×8 window (population statistics), looped here, equals the box-filter version."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (12, 13, 3)).astype(np.float64)
    y = np.clip(x + rng.normal(0, 20, x.shape), 0, 255).round()
    qs = []
    for b in range(3):
        for i in range(12 - 7):
            for j in range(13 - 7):
                a, c = x[i : i + 8, j : j + 8, b], y[i : i + 8, j : j + 8, b]
                ma, mc = a.mean(), c.mean()
                cov = ((a - ma) * (c - mc)).mean()
                qs.append(4 * cov * ma * mc / ((a.var() + c.var()) * (ma**2 + mc**2)))
    np.testing.assert_allclose(M.uiq(x.astype(np.uint8), y.astype(np.uint8)), [np.mean(qs)], rtol=1e-12)


def test_issm_uses_8bit_edges(crops):
    """On 8-bit faces our ISSM is informative (ISM's /16 Canny makes it 0): identical → ~1."""
    x = crops[:1]
    assert M.edge_correlation(x[0], x[0]) == pytest.approx(1.0)
    same = M.issm(x, x)[0]
    other = M.issm(x, crops[1:2])[0]
    assert same == pytest.approx(1.0, abs=1e-5)
    assert 0 < other < same
    # Flat images: no edges → correlation 0 (ISM's nan→0 convention).
    flat = np.full((1, 16, 16, 3), 128, np.uint8)
    assert M.edge_correlation(flat[0], flat[0]) == 0.0


def test_batch_equals_single(crops):
    x, y = crops[:2], crops[2:]
    both = M.full_reference_scores(x, y)
    for i in range(2):
        one = M.full_reference_scores(x[i], y[i])
        for k in both:
            np.testing.assert_allclose(one[k], both[k][i : i + 1], rtol=1e-12)


def test_torch_backend_equals_numpy_backend(crops):
    """The torch path (used on CUDA; summed-area tables) gives the numpy/OpenCV path's numbers."""
    x, y = crops[:2], crops[2:]
    pn = M.PairStats(x, y, backend="numpy")
    pt = M.PairStats(x, y, backend="torch")
    assert pt.torch and not pn.torch
    for f in (M.rmse, M.psnr, M.ssim, M.sam, M.uiq):
        np.testing.assert_allclose(f(pt), f(pn), rtol=1e-12, err_msg=f.__name__)


def test_shape_mismatch_is_an_error(crops):
    with pytest.raises(ValueError, match="shapes differ"):
        M.ssim(crops[:1], crops[:1, :32])


@pytest.mark.parametrize("kind,strengths", [("blur", [0.6, 1.2, 2.0]), ("noise", [4, 10, 20]), ("jpeg", [60, 25, 8])])
def test_stronger_degradation_worsens_every_metric(faces_data, kind, strengths):
    """On real crops, each step up in blur, noise or JPEG strength worsens every full-reference
    metric vs the clean crop (averaged over 4 faces) and raises BRISQUE."""
    clean = _crops(faces_data, 4, 96)
    rng = np.random.default_rng(0)
    prev = None
    for s in strengths:
        deg = np.stack([degrade(c, kind, s, rng) for c in clean])
        fr = {k: float(np.mean(v)) for k, v in M.full_reference_scores(deg, clean).items()}
        fr["brisque"] = float(np.mean(B.score(deg)))
        if prev is not None:
            for k, v in fr.items():
                worse = v < prev[k] if k in ("psnr", "ssim", "issm", "uiq") else v > prev[k]
                assert worse, f"{kind} {s}: {k} {prev[k]:.4f} → {v:.4f} did not worsen"
        prev = fr


# ------------------------------------------------------------------------------------- BRISQUE


def _brisque_reference_features(rgb: np.ndarray) -> np.ndarray:
    """The ``brisque`` 0.2.0 package's own feature functions (its score() fails on numpy 2)."""
    import cv2
    import skimage.color
    from brisque import BRISQUE

    ref = BRISQUE(url=False)
    g = skimage.color.rgb2gray(rgb)
    f = np.concatenate(
        [
            ref.calculate_brisque_features(g, 7, 7 / 6),
            ref.calculate_brisque_features(
                cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC), 7, 7 / 6
            ),
        ]
    )
    return np.array([float(np.asarray(v).ravel()[0]) for v in f])


def test_brisque_features_match_reference(crops):
    """Images without perfectly flat areas: within 1e-6 relative of ``brisque``'s features.
    (In flat areas the reference's zero/non-zero MSCN split follows float noise; see docs/iqa.md.)"""
    rng = np.random.default_rng(0)
    noisy = np.clip(crops[:3] + rng.normal(0, 2, crops[:3].shape), 0, 255).astype(np.uint8)
    ours = B.features(noisy)
    ref = np.stack([_brisque_reference_features(im) for im in noisy])
    np.testing.assert_allclose(ours, ref, rtol=1e-6)
    assert ours.shape == (3, 36) and len(B.FEATURE_NAMES) == 36


def test_brisque_svr_matches_libsvm():
    """Our numpy RBF-SVR evaluation equals libsvm's svm_predict_probability on the shipped model."""
    from libsvm import svmutil

    model = B.BrisqueModel.default()
    lib = svmutil.svm_load_model(str(model.svm_path))
    rng = np.random.default_rng(0)
    feats = model.min_ + rng.random((5, 36)) * (model.max_ - model.min_)
    ours = model.predict(feats)
    for f, o in zip(feats, ours, strict=True):
        z = -1 + 2 * (f - model.min_) / (model.max_ - model.min_)
        x, _ = svmutil.gen_svm_nodearray([float(v) for v in z], isKernel=False)
        est = (svmutil.c_double * 1)()
        assert o == pytest.approx(svmutil.libsvm.svm_predict_probability(lib, x, est), abs=1e-9)


def test_alpha_solver_inverts_rho():
    from scipy.special import gamma

    alpha = np.array([0.3, 0.8, 1.0, 2.0, 5.0])
    rho = gamma(2 / alpha) ** 2 / (gamma(1 / alpha) * gamma(3 / alpha))
    np.testing.assert_allclose(B.solve_alpha(rho), alpha, rtol=1e-10)


def test_joint_histogram_entropy_equals_numpy_histogram2d():
    """The bincount route reproduces np.histogram2d's 10×10 binning (edges, last-bin rule, flat images)."""
    rng = np.random.default_rng(3)
    cases = [
        (rng.integers(0, 256, (20, 20, 3)), rng.integers(0, 256, (20, 20, 3))),
        (rng.integers(0, 7, (20, 20, 3)), rng.integers(100, 131, (20, 20, 3))),  # few values, on edges
        (np.full((8, 8, 3), 9), rng.integers(0, 256, (8, 8, 3))),  # constant image: ±0.5 range
    ]
    for x, y in cases:
        h, _, _ = np.histogram2d(x.ravel().astype(float), y.ravel().astype(float), bins=10)
        nz = h[h > 0]
        assert M.joint_histogram_entropy(x.astype(np.uint8), y.astype(np.uint8)) == pytest.approx(
            -np.sum(nz * np.log2(nz))
        )
