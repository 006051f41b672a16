"""BRISQUE — Blind/Referenceless Image Spatial Quality Evaluator (Mittal, Moorthy & Bovik 2012,
IEEE TIP 21(12)), vectorised over a batch, scored with the LIVE-trained SVR that ships in the PyPI
package ``brisque`` (rehanguha/brisque 0.2.0, Apache-2.0: ``brisque/models/svm.txt`` +
``normalize.pickle``).

Feature definition — the one the shipped model was trained with (``brisque`` 0.2.0), so that its
SVR reads our features exactly as its own:

1. Luminance ``I = (0.2125 R + 0.7154 G + 0.0721 B) / 255`` (scikit-image ``rgb2gray``).
2. MSCN: ``Î = (I − μ) / (σ + C)`` with μ = w ∗ I and σ = sqrt(|w ∗ I² − μ²|), w the 7×7 Gaussian,
   σ_w = 7/6, normalised to sum 1, zero padding ('same' convolution), C = 1/255 (the paper's C = 1
   on the 0..255 scale).
3. Pairwise products of neighbours (H, V, main and secondary diagonal) by cropping (no wrap-around).
4. An asymmetric generalised Gaussian (AGGD) moment fit on each of the five coefficient maps:
   r̂ = E[|x|]² / E[x²], γ̂ = σ_l/σ_r with σ_l² = E[x² | x<0], σ_r² = E[x² | x≥0],
   R̂ = r̂ (γ̂³+1)(γ̂+1)/(γ̂²+1)², and α solves ρ(α) = Γ(2/α)² / (Γ(1/α)Γ(3/α)) = R̂ (ρ is
   monotonic; we bisect in log α to machine precision where ``brisque`` runs ``scipy.optimize.root``
   from 0.2); η = (σ_r − σ_l)·Γ(2/α)/Γ(1/α)·sqrt(Γ(1/α)/Γ(3/α)).
   Features: MSCN → (α, (σ_l² + σ_r²)/2); each product map → (α, η, σ_l², σ_r²). 18 per scale.
5. Second scale: ``cv2.resize(I, fx=0.5, fy=0.5, INTER_CUBIC)``. 36 features in all.

Score: features scaled to [−1, 1] with the shipped min/max, then the ε-SVR (RBF, γ from the model
file): ``Σ_i coef_i · exp(−γ‖x − sv_i‖²) − ρ``, evaluated with numpy on all images at once (this is
what libsvm's ``svm_predict_probability`` returns for an ε-SVR). Lower is better (≈ 0 … 100).
Deviations from the MATLAB release (C = 1/255 on a [0,1] image is the same; bicubic without
antialias, AGGD fit for the MSCN map, cropped products) are those of the shipped model.
"""

from __future__ import annotations

import functools
import importlib.util
import pickle
from pathlib import Path

import numpy as np

GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])
KERNEL_SIZE = 7
KERNEL_SIGMA = 7.0 / 6.0
MSCN_C = 1.0 / 255.0
GROUP = 4  # images per vectorised call
FLAT_EPS = 1e-12  # |I − μ| below this (on the [0,1] scale) is a flat neighbourhood: exactly 0
N_FEATURES = 36
FEATURE_NAMES = tuple(
    f"s{scale}_{name}"
    for scale in (1, 2)
    for name in (
        "mscn_alpha",
        "mscn_var",
        *(f"{d}_{p}" for d in ("h", "v", "d1", "d2") for p in ("alpha", "eta", "lvar", "rvar")),
    )
)


def gaussian_1d(n: int = KERNEL_SIZE, sigma: float = KERNEL_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian whose outer product is the normalised n×n 2-D window."""
    r = np.arange(n) - n // 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """``[N,H,W,3]`` (or ``[H,W,3]``) 8-bit RGB → float64 luminance on [0, 1] (skimage rgb2gray)."""
    a = np.asarray(rgb)
    if a.ndim < 3 or a.shape[-1] != 3:
        raise ValueError(f"expected RGB images [..., H, W, 3], got shape {a.shape}")
    return (a.astype(np.float64) / 255.0) @ GRAY_WEIGHTS


def mscn(gray: np.ndarray) -> np.ndarray:
    """MSCN coefficients of ``[N,H,W]`` luminance images (zero-padded 'same' Gaussian filtering)."""
    import cv2

    g = gaussian_1d()

    def blur(a):  # separable, zero padding: the 'same' 2-D convolution with the 7×7 window
        return np.stack([cv2.sepFilter2D(im, cv2.CV_64F, g, g, borderType=cv2.BORDER_CONSTANT) for im in a])

    mu = blur(gray)
    sigma = blur(gray * gray)  # in place below: σ = sqrt(|w∗I² − μ²|) + C
    sigma -= mu * mu
    np.abs(sigma, out=sigma)
    np.sqrt(sigma, out=sigma)
    sigma += MSCN_C
    centred = np.subtract(gray, mu, out=mu)
    # In a flat neighbourhood I − μ is 0 in exact arithmetic but ±1e-17 after filtering; the AGGD
    # fit splits values at 0 (x < 0 vs x ≥ 0), so float noise would decide the side. Snap to 0.
    centred[np.abs(centred) < FLAT_EPS] = 0.0
    centred /= sigma
    return centred


def _log_rho(alpha):
    from scipy.special import gammaln

    return 2 * gammaln(2 / alpha) - gammaln(1 / alpha) - gammaln(3 / alpha)


def _dlog_rho(alpha):
    """d log ρ / dα = (ψ(1/α) + 3ψ(3/α) − 4ψ(2/α)) / α²."""
    from scipy.special import digamma

    return (digamma(1 / alpha) + 3 * digamma(3 / alpha) - 4 * digamma(2 / alpha)) / alpha**2


@functools.cache
def _rho_table(lo: float, hi: float, n: int = 4001) -> tuple[np.ndarray, np.ndarray]:
    la = np.linspace(np.log(lo), np.log(hi), n)
    return _log_rho(np.exp(la)), la


def solve_alpha(r_big: np.ndarray, lo: float = 0.05, hi: float = 50.0, newton: int = 4) -> np.ndarray:
    """Solve ρ(α) = Γ(2/α)²/(Γ(1/α)Γ(3/α)) = R̂ for α, elementwise.

    ρ increases monotonically (0 → 3/4), so a table of log ρ on a log-α grid gives the start and a
    few Newton steps in α (derivative from digamma) reach machine precision (``brisque`` runs
    ``scipy.optimize.root`` from 0.2 to the same root). R̂ outside ρ([lo, hi]) clips to lo / hi.
    """
    table, la = _rho_table(lo, hi)
    target = np.log(np.asarray(r_big, dtype=np.float64))
    alpha = np.exp(np.interp(target, table, la))
    inside = (target > table[0]) & (target < table[-1])
    for _ in range(newton):
        step = (_log_rho(alpha) - target) / _dlog_rho(alpha)
        alpha = np.where(inside, np.clip(alpha - step, lo, hi), alpha)
    return alpha


def aggd_fit(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """AGGD moment fit of each map in ``x`` ``[N, ...]``: returns (α, η, σ_l², σ_r²), each ``[N]``.

    One pass for min(x, 0) and row dot products: Σx² over x<0 is ‖min(x,0)‖², Σ|x| = Σx − 2Σmin(x,0).
    """
    from scipy.special import gamma

    x = x.reshape(len(x), -1)
    n = x.shape[1]
    mn = np.minimum(x, 0.0)
    n_neg = np.count_nonzero(x < 0, axis=1)
    n_pos = n - n_neg
    total_sq = np.einsum("ij,ij->i", x, x)
    left_sq = np.einsum("ij,ij->i", mn, mn)
    abs_sum = x.sum(axis=1) - 2.0 * mn.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lvar = left_sq / n_neg
        rvar = (total_sq - left_sq) / n_pos
        r_hat = (abs_sum / n) ** 2 / (total_sq / n)
        g = np.sqrt(lvar) / np.sqrt(rvar)
        r_big = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = solve_alpha(r_big)
    eta = (
        (np.sqrt(rvar) - np.sqrt(lvar))
        * np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
        * gamma(2 / alpha)
        / gamma(1 / alpha)
    )
    return alpha, eta, lvar, rvar


def _scale_features(gray: np.ndarray) -> np.ndarray:
    m = mscn(gray)
    maps = (
        m[:, :, :-1] * m[:, :, 1:],  # horizontal
        m[:, :-1, :] * m[:, 1:, :],  # vertical
        m[:, :-1, :-1] * m[:, 1:, 1:],  # main diagonal
        m[:, 1:, :-1] * m[:, :-1, 1:],  # secondary diagonal
    )
    a, _, lv, rv = aggd_fit(m)
    cols = [a, (lv + rv) / 2]
    for p in maps:
        cols.extend(aggd_fit(p))
    return np.stack(cols, axis=1)


def features(rgb: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of ``[N,H,W,3]`` (or one ``[H,W,3]``) 8-bit RGB images → ``[N, 36]``.

    Images of one call must share their size (a scoring batch does; mixed sizes: call per size)."""
    import cv2

    a = np.asarray(rgb)
    if a.ndim == 3:
        a = a[None]
    if len(a) > GROUP:  # groups keep the float64 maps in cache and memory flat
        return np.concatenate([features(a[i : i + GROUP]) for i in range(0, len(a), GROUP)])
    gray = to_gray(a)
    small = np.stack([cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC) for g in gray])
    return np.concatenate([_scale_features(gray), _scale_features(small)], axis=1)


class _NoGlobals(pickle.Unpickler):
    """The shipped normalize.pickle holds only a dict of float lists: refuse anything else."""

    def find_class(self, module, name):  # pragma: no cover - only hit by a tampered file
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a BRISQUE scaling file")


def default_model_dir() -> Path:
    """Folder of the LIVE model inside the installed ``brisque`` package (found without importing
    it: importing ``brisque`` pulls libsvm, requests and OpenCV)."""
    spec = importlib.util.find_spec("brisque")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the PyPI package 'brisque' (which ships the LIVE-trained BRISQUE model) is not installed: pip install brisque==0.2.0"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class BrisqueModel:
    """A LIBSVM ε-SVR (RBF) model file plus its feature min/max, evaluated in numpy."""

    def __init__(self, svm_path: str | Path, normalize_path: str | Path):
        self.svm_path, self.normalize_path = Path(svm_path), Path(normalize_path)
        header: dict[str, str] = {}
        coefs, svs = [], []
        with open(self.svm_path) as fh:
            for line in fh:
                if line.strip() == "SV":
                    break
                key, _, val = line.strip().partition(" ")
                header[key] = val
            for line in fh:
                parts = line.split()
                if not parts:
                    continue
                coefs.append(float(parts[0]))
                row = np.zeros(N_FEATURES)
                for item in parts[1:]:
                    i, v = item.split(":")
                    row[int(i) - 1] = float(v)
                svs.append(row)
        if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
            raise ValueError(f"{self.svm_path}: expected an epsilon_svr model with an rbf kernel, got {header}")
        self.gamma = float(header["gamma"])
        self.rho = float(header["rho"])
        self.coef = np.asarray(coefs)
        self.sv = np.asarray(svs)
        if len(self.coef) != int(header["total_sv"]):
            raise ValueError(f"{self.svm_path}: {len(self.coef)} support vectors, header says {header['total_sv']}")
        with open(self.normalize_path, "rb") as fh:
            scale = _NoGlobals(fh).load()
        self.min_ = np.asarray(scale["min_"], dtype=np.float64)
        self.max_ = np.asarray(scale["max_"], dtype=np.float64)

    @classmethod
    @functools.cache
    def default(cls) -> BrisqueModel:
        """The LIVE model shipped in ``brisque`` (cached per process)."""
        d = default_model_dir()
        return cls(d / "svm.txt", d / "normalize.pickle")

    def predict(self, feats: np.ndarray) -> np.ndarray:
        """BRISQUE scores of ``[N, 36]`` features."""
        f = np.atleast_2d(np.asarray(feats, dtype=np.float64))
        z = -1.0 + 2.0 * (f - self.min_) / (self.max_ - self.min_)
        d2 = (z * z).sum(1)[:, None] + (self.sv * self.sv).sum(1)[None, :] - 2.0 * z @ self.sv.T
        return np.exp(-self.gamma * np.maximum(d2, 0.0)) @ self.coef - self.rho


def score(rgb: np.ndarray, model: BrisqueModel | None = None) -> np.ndarray:
    """BRISQUE scores of ``[N,H,W,3]`` 8-bit RGB images (lower = better)."""
    return (model or BrisqueModel.default()).predict(features(rgb))
