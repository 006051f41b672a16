"""Full-reference image similarity metrics, vectorised over a batch of image pairs.

Inputs are ``[N, H, W, C]`` (or one ``[H, W, C]``) arrays of 8-bit values — numpy arrays or torch
tensors, uint8 or float — interpreted on the **[0, 255]** scale. Everything is computed in
float64 with torch on the chosen device (CUDA when present, else CPU); results are numpy float64
arrays of length ``N``.

Each metric is written from its paper. The seed thesis used the package ``image-similarity-measures``
(0.3.6, "ISM" below); where its definition agrees with ours the test-suite checks parity with ISM
called correctly (``max_p=255``, float64 inputs). Deliberate differences are listed per metric and
in ``docs/iqa.md``.

Window statistics use box filters over the *valid* region only (every window lies inside the
image), so no border mode is involved.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DATA_RANGE = 255.0
SSIM_WIN = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03
UIQ_WIN = 8
ISSM_A, ISSM_B, ISSM_C = 0.3, 0.5, 0.7
ISSM_E = math.e
ISSM_BINS = 10
CANNY_LOW, CANNY_HIGH = 100, 200


def _to_torch(x: Any, device=None):
    """``[N,H,W,C]``/``[H,W,C]`` array → float64 tensor ``[N,C,H,W]`` on ``device``."""
    import torch

    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    if t.ndim == 3:
        t = t[None]
    if t.ndim != 4:
        raise ValueError(f"expected [N,H,W,C] images, got shape {tuple(t.shape)}")
    if device is not None:
        t = t.to(device)
    return t.to(torch.float64).permute(0, 3, 1, 2).contiguous()


def _pair(x: Any, y: Any, device=None):
    tx, ty = _to_torch(x, device), _to_torch(y, ty_device(x, device))
    if tx.shape != ty.shape:
        raise ValueError(f"image and reference shapes differ: {tuple(tx.shape)} vs {tuple(ty.shape)}")
    return tx, ty


def ty_device(x: Any, device):
    """The device the second image of a pair must go to (that of the first)."""
    import torch

    if device is not None:
        return device
    return x.device if isinstance(x, torch.Tensor) else None


def _box_mean(t, k: int):
    """Mean over every k×k window fully inside the image: ``[N,C,H,W]`` → ``[N,C,H-k+1,W-k+1]``."""
    import torch.nn.functional as F

    n, c, h, w = t.shape
    return F.avg_pool2d(t.reshape(n * c, 1, h, w), kernel_size=k, stride=1).reshape(n, c, h - k + 1, w - k + 1)


def rmse(x: Any, y: Any, device=None) -> np.ndarray:
    """Root-mean-square error in grey levels, computed per band and averaged over bands:
    ``mean_b sqrt(mean_ij (X_b − Y_b)²)``.

    This is ISM's definition times its ``max_p`` (ISM divides by ``max_p``: ours equals
    ``255 · ism.rmse(X, Y, max_p=255)``).
    """
    tx, ty = _pair(x, y, device)
    return ((tx - ty) ** 2).mean(dim=(2, 3)).sqrt().mean(dim=1).cpu().numpy()


def psnr(x: Any, y: Any, data_range: float = DATA_RANGE, device=None) -> np.ndarray:
    """Peak signal-to-noise ratio in dB: ``20·log10(R / sqrt(MSE))`` with MSE pooled over every
    pixel and band and R = 255 (8-bit data). ``inf`` for identical images.

    ISM uses R = 4095 by default, which adds 20·log10(4095/255) = 24.1 dB on 8-bit data; with
    ``max_p=255`` it equals ours.
    """
    import torch

    tx, ty = _pair(x, y, device)
    mse = ((tx - ty) ** 2).mean(dim=(1, 2, 3))
    with np.errstate(divide="ignore"):
        out = 20.0 * torch.log10(data_range / mse.sqrt())
    return out.cpu().numpy()


def _ssim_map(tx, ty, data_range: float, win: int = SSIM_WIN):
    """SSIM map of Wang et al. (2004) with a ``win``×``win`` uniform window and sample covariances
    (skimage's defaults), valid windows only."""
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    npix = win * win
    cov_norm = npix / (npix - 1.0)  # unbiased (sample) window variances, as skimage
    ux, uy = _box_mean(tx, win), _box_mean(ty, win)
    uxx, uyy, uxy = _box_mean(tx * tx, win), _box_mean(ty * ty, win), _box_mean(tx * ty, win)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    num = (2 * ux * uy + c1) * (2 * vxy + c2)
    den = (ux * ux + uy * uy + c1) * (vx + vy + c2)
    return num / den


def ssim(x: Any, y: Any, data_range: float = DATA_RANGE, device=None) -> np.ndarray:
    """Mean structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004), per band then averaged.

    Window: 7×7 **uniform** (skimage's default, not the paper's 11×11 Gaussian σ = 1.5), K1 = 0.01,
    K2 = 0.03, C1 = (K1·R)², C2 = (K2·R)², R = 255, sample (N−1) window covariances, mean over the
    windows fully inside the image. Equals ``skimage.metrics.structural_similarity(X, Y,
    data_range=255, channel_axis=2)`` and ISM's ``ssim(max_p=255)``.
    """
    tx, ty = _pair(x, y, device)
    return _ssim_map(tx, ty, data_range).mean(dim=(2, 3)).mean(dim=1).cpu().numpy()


def sam(x: Any, y: Any, device=None) -> np.ndarray:
    """Spectral angle mapper (Kruse et al. 1993) in **degrees**: the mean over pixels of the angle
    between the RGB vectors, ``arccos(clip(<x,y> / (|x||y|), −1, 1))``; a black pixel (zero vector)
    contributes 0 (ISM's nan→0 convention). Computed in float64 (ISM overflows on uint8 input).
    """
    import torch

    tx, ty = _pair(x, y, device)
    dot = (tx * ty).sum(dim=1)
    den = tx.norm(dim=1) * ty.norm(dim=1)
    ang = torch.arccos(torch.clamp(dot / den, -1.0, 1.0))
    ang = torch.nan_to_num(ang, nan=0.0) * (180.0 / math.pi)
    return ang.mean(dim=(1, 2)).cpu().numpy()


def uiq(x: Any, y: Any, win: int = UIQ_WIN, device=None) -> np.ndarray:
    """Universal image quality index Q (Wang & Bovik 2002), 8×8 sliding window, step 1:

        Q = 4·σxy·μx·μy / ((σx² + σy²)(μx² + μy²))

    with population (1/N) window statistics, averaged over the (H−7)(W−7) windows and the bands.
    A window with 0/0 (both flat, or both black) counts as 0, as in ISM (the paper leaves it
    undefined). No stabilising constants (that would be SSIM). Same value as ISM's ``uiq`` — which
    loops in Python (≈ 3–5 s per 256² pair) where this is one box filter per statistic.
    """
    import torch

    tx, ty = _pair(x, y, device)
    ux, uy = _box_mean(tx, win), _box_mean(ty, win)
    vx = _box_mean(tx * tx, win) - ux * ux
    vy = _box_mean(ty * ty, win) - uy * uy
    vxy = _box_mean(tx * ty, win) - ux * uy
    q = 4.0 * vxy * ux * uy / ((vx + vy) * (ux * ux + uy * uy))
    q = torch.nan_to_num(q, nan=0.0, posinf=0.0, neginf=0.0)
    return q.mean(dim=(2, 3)).mean(dim=1).cpu().numpy()


def joint_histogram_entropy(x: np.ndarray, y: np.ndarray, bins: int = ISSM_BINS) -> float:
    """ISSM's "EHS" term: ``−Σ H·log2 H`` over the ``bins``×``bins`` joint histogram H of raw
    counts of all (x, y) value pairs (every band pooled; bin edges span each image's min..max;
    empty bins contribute 0). Raw counts, not probabilities, as in ISM — so |EHS| is large and the
    ISSM formula is dominated by the edge correlation (documented in docs/iqa.md)."""
    h, _, _ = np.histogram2d(x.ravel(), y.ravel(), bins=bins)
    nz = h[h > 0]
    return float(-np.sum(nz * np.log2(nz)))


def edge_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of the Canny edge maps (thresholds 100/200, OpenCV) of two 8-bit
    images; 0 when either map is constant (no edges at all, or all edges), as ISM's nan→0."""
    import cv2

    ex = cv2.Canny(np.ascontiguousarray(x, dtype=np.uint8), CANNY_LOW, CANNY_HIGH).astype(np.float64).ravel()
    ey = cv2.Canny(np.ascontiguousarray(y, dtype=np.uint8), CANNY_LOW, CANNY_HIGH).astype(np.float64).ravel()
    dx, dy = ex - ex.mean(), ey - ey.mean()
    den = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / den if den > 0 else 0.0


def issm(
    x: Any, y: Any, data_range: float = DATA_RANGE, device=None, ssim_values: np.ndarray | None = None
) -> np.ndarray:
    """Information theoretic-based statistic similarity measure (Aljanabi et al. 2018), in ISM's form:

        ISSM = (c·EHS·(A+B) + e) / (A·c·EHS + B·EHS + C·SSIM + e)

    A = 0.3, B = 0.5, C = 0.7, e = Euler's number, EHS = :func:`joint_histogram_entropy`,
    c = :func:`edge_correlation`, SSIM = :func:`ssim` (7×7 uniform, R = ``data_range``).

    Deliberate difference from ISM: ISM runs Canny on the image *divided by 16* (it assumes 12-bit
    data), which leaves 8-bit images with values 0..15 where thresholds 100/200 find no edges, so
    its ISSM is 0 on almost every 8-bit pair. We run Canny on the 8-bit image itself and SSIM with
    R = 255; ours equals ``ism.issm(16·X, 16·Y)`` when ``data_range = 4095/16``.
    Inputs must hold integer values 0..255 (Canny needs 8-bit data). ``ssim_values`` may pass
    already computed SSIMs (same ``data_range``) to avoid recomputing them.
    """
    import torch

    xs = x.cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    ys = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if xs.ndim == 3:
        xs, ys = xs[None], ys[None]
    s = ssim(x, y, data_range=data_range, device=device) if ssim_values is None else np.asarray(ssim_values)
    out = np.empty(len(xs), dtype=np.float64)
    for i in range(len(xs)):
        ehs = joint_histogram_entropy(xs[i], ys[i])
        c = edge_correlation(xs[i], ys[i])
        num = c * ehs * (ISSM_A + ISSM_B) + ISSM_E
        den = ISSM_A * c * ehs + ISSM_B * ehs + ISSM_C * s[i] + ISSM_E
        v = num / den if den != 0 else 0.0
        out[i] = v if math.isfinite(v) else 0.0
    return out


def full_reference_scores(x: Any, y: Any, device=None) -> dict[str, np.ndarray]:
    """All six full-reference metrics of a batch of pairs, sharing the SSIM computation."""
    s = ssim(x, y, device=device)
    return {
        "rmse": rmse(x, y, device=device),
        "psnr": psnr(x, y, device=device),
        "ssim": s,
        "issm": issm(x, y, device=device, ssim_values=s),
        "sam": sam(x, y, device=device),
        "uiq": uiq(x, y, device=device),
    }
