"""Full-reference image similarity metrics, vectorised over a batch of image pairs.

Inputs are ``[N, H, W, C]`` (or one ``[H, W, C]``) arrays of 8-bit values — numpy arrays or torch
tensors, uint8 (or float holding integers 0..255) — on the **[0, 255]** scale. On the CPU the
metrics run in numpy + OpenCV; with a CUDA ``device`` in torch on that device; formulas in float64
either way. Results are numpy float64 arrays of length ``N``.

Each metric is written from its paper. The seed thesis used the package ``image-similarity-measures``
(0.3.6, "ISM" below); where its definition agrees with ours the test-suite checks parity with ISM
called correctly (``max_p=255``, float64 inputs). Deliberate differences are listed per metric and
in ``docs/iqa.md``.

Window statistics are box means over the *valid* region only (every window lies inside the
image), read from summed-area tables, so no border mode is involved. Each metric accepts either
two arrays or one :class:`PairStats` (which :func:`full_reference_scores` shares between them).
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
CPU_GROUP = 4  # pairs per vectorised CPU call (memory and cache locality)


def _is_torch(x: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _use_torch(device) -> bool:
    """CPU → numpy + OpenCV (fastest per core); a CUDA device → torch on that device."""
    return device is not None and str(device) != "cpu"


class PairStats:
    """A batch of image pairs ``[N,H,W,C]`` with lazily computed, cached quantities shared by the
    metrics: window *sums* of x, y, x², y², xy for SSIM (7×7) and UIQ (8×8), and per-pixel
    products for RMSE/PSNR/SAM.

    CPU backend (numpy + OpenCV): 8-bit values make every product and window sum an integer —
    below 2²⁴ per window (≤ 64·2·255²), so ``cv2.boxFilter`` on float32 planes sums exactly into
    float64 — and the pixel products are exact in int32; SSIM and UIQ run plane by plane so their
    maps stay in cache. CUDA backend: float64 torch tensors and summed-area tables (integers below
    2⁵³, exact). The formulas then run in float64 on exact sums: no accumulation error enters.
    """

    def __init__(self, x: Any, y: Any, device=None, backend: str | None = None):
        # backend: None = by device (CUDA → torch, CPU → numpy); "torch"/"numpy" forces one (tests)
        self.torch = _use_torch(device) if backend is None else backend == "torch"
        if self.torch:
            import torch

            def conv(a):
                t = a if _is_torch(a) else torch.from_numpy(np.ascontiguousarray(a))
                return t.to(device or "cpu")

            self.x8, self.y8 = conv(x), conv(y)
            self.xp = torch
        else:
            self.x8 = x.cpu().numpy() if _is_torch(x) else np.asarray(x)
            self.y8 = y.cpu().numpy() if _is_torch(y) else np.asarray(y)
            self.xp = np
        if self.x8.ndim == 3:
            self.x8, self.y8 = self.x8[None], self.y8[None]
        if self.x8.ndim != 4:
            raise ValueError(f"expected [N,H,W,C] images, got shape {tuple(self.x8.shape)}")
        if tuple(self.x8.shape) != tuple(self.y8.shape):
            raise ValueError(f"image and reference shapes differ: {tuple(self.x8.shape)} vs {tuple(self.y8.shape)}")
        self._cache: dict[Any, Any] = {}

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def exact(self, which: str):
        """x or y as an exact arithmetic type: float64 tensor (torch) / int32 (numpy)."""
        a = self.x8 if which == "x" else self.y8
        if self.torch:
            import torch

            return self._get(("t", which), lambda: a.to(torch.float64))
        return self._get(("i", which), lambda: a.astype(np.int32))

    def product(self, key: str):
        """Per-pixel product xx, yy, xy or the sum xx + yy ("xxyy") — exact."""
        if key == "xxyy":  # x² + y², summed as one map by SSIM and UIQ
            return self._get(("p", key), lambda: self.product("xx") + self.product("yy"))
        a, b = {"xx": ("x", "x"), "yy": ("y", "y"), "xy": ("x", "y")}[key]
        return self._get(("p", key), lambda: self.exact(a) * self.exact(b))

    def box_sum(self, key: str, k: int):
        """Sum of ``key`` over every k×k window fully inside the image: ``[N,H-k+1,W-k+1,C]`` float64."""
        return self._get(("box", key, k), lambda: self._box_sum(key, k))

    def _box_sum(self, key: str, k: int):
        """CUDA backend: window sums from float64 summed-area tables (the CPU backend works per
        plane, see :func:`_plane_window_maps`)."""
        import torch.nn.functional as F

        src = self.exact(key) if key in ("x", "y") else self.product(key)
        sat = self._get(("sat", key), lambda: F.pad(src.cumsum(1).cumsum(2), (0, 0, 1, 0, 1, 0)))
        return sat[:, k:, k:] - sat[:, :-k, k:] - sat[:, k:, :-k] + sat[:, :-k, :-k]

    def result(self, v) -> np.ndarray:
        return v.cpu().numpy() if self.torch else np.asarray(v, dtype=np.float64)


def _stats(x: Any, y: Any, device=None) -> PairStats:
    return x if isinstance(x, PairStats) else PairStats(x, y, device)


def _band_sq_error(p: PairStats):
    """Σ over pixels of (x − y)² per image and band: ``[N, C]`` (exact)."""

    def make():
        d = p.exact("x") - p.exact("y")
        return p.result((d * d).sum(axis=(1, 2)))

    return p._get("sqerr", make)


def rmse(x: Any, y: Any = None, device=None) -> np.ndarray:
    """Root-mean-square error in grey levels, computed per band and averaged over bands:
    ``mean_b sqrt(mean_ij (X_b − Y_b)²)``.

    This is ISM's definition times its ``max_p`` (ISM divides by ``max_p``: ours equals
    ``255 · ism.rmse(X, Y, max_p=255)``).
    """
    p = _stats(x, y, device)
    npix = p.x8.shape[1] * p.x8.shape[2]
    return np.sqrt(_band_sq_error(p) / npix).mean(axis=1)


def psnr(x: Any, y: Any = None, data_range: float = DATA_RANGE, device=None) -> np.ndarray:
    """Peak signal-to-noise ratio in dB: ``20·log10(R / sqrt(MSE))`` with MSE pooled over every
    pixel and band and R = 255 (8-bit data). ``inf`` for identical images.

    ISM uses R = 4095 by default, which adds 20·log10(4095/255) = 24.1 dB on 8-bit data; with
    ``max_p=255`` it equals ours.
    """
    p = _stats(x, y, device)
    n, h, w, c = p.x8.shape
    mse = _band_sq_error(p).sum(axis=1) / (h * w * c)
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(data_range / np.sqrt(mse))


def _plane_window_maps(x32: np.ndarray, y32: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Window sums Sx, Sy, Sxy, Σ(x²+y²) of one 2-D plane (float32 holding integers), valid windows."""
    import cv2

    h, w = x32.shape
    a = k // 2  # OpenCV's default anchor: the window of output (i, j) starts at (i-a, j-a)
    rows, cols = slice(a, a + h - k + 1), slice(a, a + w - k + 1)

    def box(m):
        return cv2.boxFilter(m, cv2.CV_64F, (k, k), normalize=False, borderType=cv2.BORDER_CONSTANT)[rows, cols]

    return box(x32), box(y32), box(x32 * y32), box(x32 * x32 + y32 * y32)


def _ssim_plane(x32: np.ndarray, y32: np.ndarray, k: int, n: float, c1n: float, c2n: float, cn: float) -> float:
    """Mean SSIM of one plane from window sums, in place (see :func:`ssim` for the formula)."""
    sx, sy, b, d = _plane_window_maps(x32, y32, k)
    num = sx * sy  # SxSy
    q = np.multiply(sx, sx, out=sx)
    q += np.multiply(sy, sy, out=sy)  # Sx² + Sy²
    b *= n
    b -= num
    b *= 2 * cn
    b += c2n  # 2c(n·Sxy − SxSy) + C2n²
    num *= 2
    num += c1n
    num *= b
    d *= n
    d -= q
    d *= cn
    d += c2n  # c(n(Sxx+Syy) − Sx² − Sy²) + C2n²
    q += c1n
    q *= d
    num /= q
    return float(num.mean())


def _uiq_plane(x32: np.ndarray, y32: np.ndarray, win: int, n: float) -> float:
    """Mean Q of one plane from window sums, in place (see :func:`uiq`)."""
    sx, sy, c, v = _plane_window_maps(x32, y32, win)
    sxsy = sx * sy
    q2 = np.multiply(sx, sx, out=sx)
    q2 += np.multiply(sy, sy, out=sy)
    c *= n
    c -= sxsy
    c *= sxsy
    c *= 4.0  # 4(n·Sxy − SxSy)·SxSy
    v *= n
    v -= q2
    v *= q2  # (n(Sxx+Syy) − Sx² − Sy²)(Sx² + Sy²)
    with np.errstate(invalid="ignore", divide="ignore"):
        c /= v
    np.nan_to_num(c, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return float(c.mean())


def _planes(p: PairStats):
    """(x, y) as contiguous float32 planes [N, C, H, W] (exact for 8-bit values), cached."""
    return p._get(
        "planes",
        lambda: (
            np.ascontiguousarray(p.x8.transpose(0, 3, 1, 2), dtype=np.float32),
            np.ascontiguousarray(p.y8.transpose(0, 3, 1, 2), dtype=np.float32),
        ),
    )


def _per_plane(p: PairStats, fn, *args) -> np.ndarray:
    """Mean over bands of ``fn`` per image/band plane (all bands have equal window counts).

    Plane by plane, the window maps (~0.5 MB at 256²) stay in the core's cache."""
    xs, ys = _planes(p)
    n, c = xs.shape[:2]
    return np.array([np.mean([fn(xs[i, b], ys[i, b], *args) for b in range(c)]) for i in range(n)])


def ssim(x: Any, y: Any = None, data_range: float = DATA_RANGE, device=None) -> np.ndarray:
    """Mean structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004), per band then averaged.

    Window: 7×7 **uniform** (skimage's default, not the paper's 11×11 Gaussian σ = 1.5), K1 = 0.01,
    K2 = 0.03, C1 = (K1·R)², C2 = (K2·R)², R = 255, sample (N−1) window covariances, mean over the
    windows fully inside the image. Equals ``skimage.metrics.structural_similarity(X, Y,
    data_range=255, channel_axis=2)`` (which filters the whole image, then crops the 3-pixel border)
    and ISM's ``ssim(max_p=255)``.

    With window sums S (n = 49 pixels) and c = n/(n−1), after multiplying through by n⁴:
    SSIM = (2·SxSy + C1n²)(2c(n·Sxy − SxSy) + C2n²) / ((Sx²+Sy² + C1n²)(c(n(Sxx+Syy) − Sx²−Sy²) + C2n²)).
    """
    p = _stats(x, y, device)
    k = SSIM_WIN
    n = float(k * k)
    c1n = (SSIM_K1 * data_range) ** 2 * n * n
    c2n = (SSIM_K2 * data_range) ** 2 * n * n
    cn = n / (n - 1.0)  # unbiased (sample) window variances, as skimage
    if not p.torch:
        return _per_plane(p, _ssim_plane, k, n, c1n, c2n, cn)
    sx, sy = p.box_sum("x", k), p.box_sum("y", k)
    sxsy = sx * sy
    q = sx * sx + sy * sy
    num = (2 * sxsy + c1n) * (2 * cn * (n * p.box_sum("xy", k) - sxsy) + c2n)
    den = (q + c1n) * (cn * (n * p.box_sum("xxyy", k) - q) + c2n)
    return p.result((num / den).mean(axis=(1, 2, 3)))  # equal counts: mean of band means


def sam(x: Any, y: Any = None, device=None) -> np.ndarray:
    """Spectral angle mapper (Kruse et al. 1993) in **degrees**: the mean over pixels of the angle
    between the RGB vectors, ``arccos(clip(<x,y> / (|x||y|), −1, 1))``; a black pixel (zero vector)
    contributes 0. Exact integer dot products (ISM overflows on uint8 input).

    Deliberate difference: ISM applies nan→0 to the *mean*, so a single black pixel in either
    image makes its whole SAM 0; we count that pixel's undefined angle as 0 instead.
    """
    p = _stats(x, y, device)
    xp = p.xp
    if p.torch:
        dot = p.product("xy").sum(axis=3)
        nxx = p.product("xx").sum(axis=3)
        nyy = p.product("yy").sum(axis=3)
    else:  # float64 einsum: exact (integer sums < 2^53) and faster than strided int sums
        xf = p._get(("f64", "x"), lambda: p.x8.astype(np.float64))
        yf = p._get(("f64", "y"), lambda: p.y8.astype(np.float64))
        dot = np.einsum("nhwc,nhwc->nhw", xf, yf)
        nxx = np.einsum("nhwc,nhwc->nhw", xf, xf)
        nyy = np.einsum("nhwc,nhwc->nhw", yf, yf)
    with np.errstate(invalid="ignore", divide="ignore"):
        ang = xp.arccos(xp.clip(dot / (nxx * nyy) ** 0.5, -1.0, 1.0))
    ang = xp.nan_to_num(ang, nan=0.0) * (180.0 / math.pi)
    return p.result(ang.mean(axis=(1, 2)))


def uiq(x: Any, y: Any = None, win: int = UIQ_WIN, device=None) -> np.ndarray:
    """Universal image quality index Q (Wang & Bovik 2002), 8×8 sliding window, step 1:

        Q = 4·σxy·μx·μy / ((σx² + σy²)(μx² + μy²))

    with population (1/N) window statistics, averaged over the (H−7)(W−7) windows and the bands.
    A window with 0/0 (both flat, or both black) counts as 0, as in ISM (the paper leaves it
    undefined). No stabilising constants (that would be SSIM). Same value as ISM's ``uiq`` — which
    loops in Python (≈ 3–5 s per 256² pair) where this reads five window-sum maps. With sums S over
    n = 64 pixels: Q = 4·(n·Sxy − SxSy)·SxSy / ((n(Sxx+Syy) − Sx² − Sy²)(Sx² + Sy²)).
    """
    p = _stats(x, y, device)
    n = float(win * win)
    if not p.torch:
        return _per_plane(p, _uiq_plane, win, n)
    sx, sy = p.box_sum("x", win), p.box_sum("y", win)
    sxsy = sx * sy
    q2 = sx * sx + sy * sy
    with np.errstate(invalid="ignore", divide="ignore"):
        q = 4.0 * (n * p.box_sum("xy", win) - sxsy) * sxsy / ((n * p.box_sum("xxyy", win) - q2) * q2)
    q = p.xp.nan_to_num(q, nan=0.0, posinf=0.0, neginf=0.0)
    return p.result(q.mean(axis=(1, 2, 3)))  # equal counts: mean of band means


def _bin_index(counts: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each possible 8-bit value under ``np.histogram2d``'s rule for one axis, given the
    axis' value counts [256]: edges = linspace(min, max, bins+1) (±0.5 when min = max),
    right-open bins except the last."""
    present = np.flatnonzero(counts)
    lo, hi = float(present[0]), float(present[-1])
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    idx = np.searchsorted(edges, np.arange(256, dtype=np.float64), side="right") - 1
    idx[np.arange(256) == edges[-1]] = bins - 1
    return np.clip(idx, 0, bins - 1)


def joint_histogram_entropy(x: np.ndarray, y: np.ndarray, bins: int = ISSM_BINS) -> float:
    """ISSM's "EHS" term: ``−Σ H·log2 H`` over the ``bins``×``bins`` joint histogram H of raw
    counts of all (x, y) value pairs (every band pooled; bin edges span each image's min..max as in
    ``np.histogram2d(x.ravel(), y.ravel(), bins)``; empty bins contribute 0). Raw counts, not
    probabilities, as in ISM — so |EHS| is large and the ISSM formula is dominated by the edge
    correlation (see docs/iqa.md). 8-bit inputs: one 256×256 ``bincount``, then the bins."""
    xv = np.ascontiguousarray(x, dtype=np.uint8).ravel()
    yv = np.ascontiguousarray(y, dtype=np.uint8).ravel()
    code = (xv.astype(np.uint16) << 8) | yv  # joint value x·256 + y
    joint = np.bincount(code, minlength=256 * 256).reshape(256, 256).astype(np.float64)
    onehot_x = np.eye(bins)[_bin_index(joint.sum(axis=1), bins)]  # [256, bins]
    onehot_y = np.eye(bins)[_bin_index(joint.sum(axis=0), bins)]
    h = onehot_x.T @ joint @ onehot_y  # exact: integer counts < 2^53
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
    xs = x.cpu().numpy() if _is_torch(x) else np.asarray(x)
    ys = y.cpu().numpy() if _is_torch(y) else np.asarray(y)
    if xs.ndim == 3:
        xs, ys = xs[None], ys[None]
    if xs.shape != ys.shape:
        raise ValueError(f"image and reference shapes differ: {xs.shape} vs {ys.shape}")
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
    """All six full-reference metrics of a batch of pairs (shared window sums, SSIM reused by
    ISSM). On the CPU the batch is processed in groups of ``CPU_GROUP`` pairs: the cached maps
    then stay in cache and memory stays ~25 MB per 256² pair."""
    if not _use_torch(device) and len(np.shape(x)) == 4 and np.shape(x)[0] > CPU_GROUP:
        parts = [
            full_reference_scores(x[i : i + CPU_GROUP], y[i : i + CPU_GROUP], device)
            for i in range(0, len(x), CPU_GROUP)
        ]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    p = PairStats(x, y, device)
    s = ssim(p)
    out = {"rmse": rmse(p), "psnr": psnr(p), "ssim": s}
    out["issm"] = issm(x, y, ssim_values=s)
    out["sam"] = sam(p)
    out["uiq"] = uiq(p)
    return out
