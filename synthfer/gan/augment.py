"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial Networks
with Limited Data"), the 'bgc' pipeline, written from the paper's description.

Every image D sees (real and generated, in every loss term) goes through :class:`AugmentPipe`. Each
transform is applied to each image independently with probability ``p``; the transforms are
differentiable with respect to the image, so G's gradient passes through them, and they are
"non-leaking" for p < 0.8 (the paper's Fig. 3), so D's view of the distribution remains recoverable.

Geometric ('bg'), composed into one 3×3 homogeneous matrix per image (output → input coordinates,
in pixels about the image centre) and applied in one resampling (:func:`warp_wavelet`: reflect padding,
2× upsampling with the sym6 wavelet filter, bilinear sampling, filtering and 2× decimation, as the paper's
pipeline; or the cheaper single bilinear ``grid_sample`` :func:`warp_bilinear`):
    xflip (p): x → −x with probability 1/2
    rotate90 (p): rotation by k·90°, k ∈ {0, 1, 2, 3}
    xint (p): integer translation, uniform in ±0.125·size per axis, rounded to whole pixels
    scale (p): isotropic scale 2^N(0, 0.2²)
    rotate (p_rot): arbitrary rotation U(−π, π), applied before and after the anisotropic scaling,
        each with ``p_rot = 1 − sqrt(1 − p)`` so that P(any rotation) = p
    aniso (p): anisotropic scale 2^N(0, 0.2²) along x and its inverse along y
    xfrac (p): fractional translation N(0, (0.125·size)²) per axis
Colour ('c'), composed into one 4×4 affine matrix acting on (r, g, b, 1) with values in [−1, 1]:
    brightness (p): add N(0, 0.2²)
    contrast (p): multiply by 2^N(0, 0.5²)
    lumaflip (p): reflect along the luma axis v = (1, 1, 1)/√3 with probability 1/2 (``I − 2vvᵀ``)
    hue (p): rotate about v by U(−π, π)
    saturation (p): scale the component orthogonal to v by 2^N(0, 1)

Differences from the official implementation (documented in docs/gan.md): the random draws are made in
another order (same distributions, the paper's), and images whose geometric matrix is the identity (every
gate off, e.g. all images at p = 0) are passed through unresampled (the wavelet resampling returns them within
float error anyway), so the cost falls with p.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

BGC_DEFAULTS = dict(
    xflip=1.0,
    rotate90=1.0,
    xint=1.0,
    xint_max=0.125,
    scale=1.0,
    rotate=1.0,
    aniso=1.0,
    xfrac=1.0,
    scale_std=0.2,
    rotate_max=1.0,
    aniso_std=0.2,
    xfrac_std=0.125,
    brightness=1.0,
    contrast=1.0,
    lumaflip=1.0,
    hue=1.0,
    saturation=1.0,
    brightness_std=0.2,
    contrast_std=0.5,
    hue_max=1.0,
    saturation_std=1.0,
)


def _eye(n: int, batch: int, device) -> torch.Tensor:
    return torch.eye(n, device=device).unsqueeze(0).repeat(batch, 1, 1)


def _translate2(tx, ty):
    m = _eye(3, tx.shape[0], tx.device)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _scale2(sx, sy):
    m = _eye(3, sx.shape[0], sx.device)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate2(theta):
    m = _eye(3, theta.shape[0], theta.device)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


# Daubechies' least-asymmetric orthogonal wavelet of order 6 ("sym6"): its 12-tap low-pass scaling filter
# (Σh = √2, Σh² = 1, Σ h_k h_(k+2m) = 0 for m ≠ 0; checked in tests/test_gan_augment.py). Used normalised to Σ = 1.
SYM6 = (
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
    0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
    -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
)  # fmt: skip
RESAMPLE_MODES = ("wavelet", "bilinear")


def _translate_px(tx: float, ty: float, n: int, device) -> torch.Tensor:
    return _translate2(torch.full([n], float(tx), device=device), torch.full([n], float(ty), device=device))


def _scale_px(sx: float, sy: float, n: int, device) -> torch.Tensor:
    return _scale2(torch.full([n], float(sx), device=device), torch.full([n], float(sy), device=device))


def _theta(M: torch.Tensor, in_h: int, in_w: int, out_h: int, out_w: int) -> torch.Tensor:
    """``affine_grid``'s ``θ`` [N, 2, 3] for output pixel (centred coordinates, ``out_h × out_w``) ← input
    (``in_h × in_w``) at ``M``·pixel. Centred pixel coordinates put pixel i of n at ``i − (n−1)/2``; with
    ``align_corners=False`` the normalised coordinate is ``2·u/n``, so ``θ = S(2/W_in, 2/H_in) · M ·
    S(W_out/2, H_out/2)``. Computed where ``M`` is (the CPU in training: no device work, no sync)."""
    n = M.shape[0]
    return (_scale_px(2.0 / in_w, 2.0 / in_h, n, M.device) @ M @ _scale_px(out_w / 2.0, out_h / 2.0, n, M.device))[
        :, :2, :
    ]


def _sample_theta(x: torch.Tensor, theta: torch.Tensor, out_h: int, out_w: int, padding_mode: str) -> torch.Tensor:
    n, c = x.shape[:2]
    grid = F.affine_grid(theta.to(x.dtype), [n, c, out_h, out_w], align_corners=False)
    return grid_sample_bilinear(x, grid, padding_mode)


def _sample(x: torch.Tensor, M: torch.Tensor, out_h: int, out_w: int, padding_mode: str) -> torch.Tensor:
    """Bilinear ``grid_sample``: output pixel (centred coordinates, ``out_h × out_w``) ← ``x`` at ``M``·pixel
    (:func:`_theta`)."""
    theta = _theta(M, x.shape[2], x.shape[3], out_h, out_w).to(x.device)
    return _sample_theta(x, theta, out_h, out_w, padding_mode)


_PADDING_CODES = {"zeros": 0, "border": 1, "reflection": 2}  # aten's GridSamplerPadding enum


class _GridSample(torch.autograd.Function):
    """``y = grid_sample(x, grid)`` with ``grid`` held constant: a linear map ``y = A·x``.

    R1 (``‖∇_x D(aug(x))‖²``) differentiates D's input gradient again, i.e. needs the backward of
    ``grid_sampler_2d_backward``, which aten implements on the CPU fallback only: on CUDA it raises
    "derivative for aten::grid_sampler_2d_backward is not implemented". Because the map is linear in ``x``,
    the backward is the adjoint ``Aᵀ·g`` (:class:`_GridSampleAdjoint`) and the adjoint's backward is ``A``
    again, so any order of derivative reduces to these two kernels (the official pipeline's grid_sample_gradfix
    rests on the same identity). The augmentation matrices are never optimised, so ``grid`` gets no gradient.
    """

    @staticmethod
    def forward(ctx, x, grid, padding):
        ctx.save_for_backward(grid)
        ctx.padding, ctx.x_shape = padding, x.shape
        return torch.ops.aten.grid_sampler_2d(x, grid, 0, padding, False)

    @staticmethod
    def backward(ctx, g):
        (grid,) = ctx.saved_tensors
        return _GridSampleAdjoint.apply(g, grid, ctx.padding, ctx.x_shape), None, None


class _GridSampleAdjoint(torch.autograd.Function):
    """``Aᵀ·g`` of :class:`_GridSample` (the input gradient of grid sampling); its own backward is ``A``."""

    @staticmethod
    def forward(ctx, g, grid, padding, x_shape):
        ctx.save_for_backward(grid)
        ctx.padding = padding
        # With output_mask (True, False) aten reads only the input's shape, dtype and device, not its values.
        grad_x, _ = torch.ops.aten.grid_sampler_2d_backward(
            g, g.new_empty(x_shape), grid, 0, padding, False, [True, False]
        )
        return grad_x

    @staticmethod
    def backward(ctx, gg):
        (grid,) = ctx.saved_tensors
        return _GridSample.apply(gg, grid, ctx.padding), None, None, None


def grid_sample_bilinear(x: torch.Tensor, grid: torch.Tensor, padding_mode: str) -> torch.Tensor:
    """``F.grid_sample(x, grid, 'bilinear', padding_mode, align_corners=False)``, differentiable any number of
    times in ``x`` on every device (see :class:`_GridSample`); ``grid`` is treated as a constant."""
    return _GridSample.apply(x, grid.detach(), _PADDING_CODES[padding_mode])


def warp_bilinear(x: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """The cheap resampling: one bilinear sample per output pixel at the output size, reflection padding.
    Softer than :func:`warp_wavelet` and it aliases (measured in docs/gan.md)."""
    return _sample(x, M.cpu(), x.shape[2], x.shape[3], padding_mode="reflection")


def _shifted(x: torch.Tensor, dim: int, start: int, length: int, step: int = 1) -> torch.Tensor:
    """``x[start : start + step·length : step]`` along ``dim``."""
    v = x.narrow(dim, start, step * (length - 1) + 1)
    if step == 1:
        return v
    return v[:, :, :, ::step] if dim == 3 else v[:, :, ::step, :]


def _pad_dim(x: torch.Tensor, dim: int, before: int, after: int) -> torch.Tensor:
    return F.pad(x, [before, after] if dim == 3 else [0, 0, before, after])


def _up2(x: torch.Tensor, taps: tuple[float, ...], shift: int, out_len: int, dim: int) -> torch.Tensor:
    """``y[m] = Σ_n x[n]·a[m + shift − 2n]`` (x zero outside its range; ``out_len`` even), in polyphase form:
    the outputs ``m = 2j + ρ`` take ``y[2j + ρ] = Σ_t x[j − t]·a[2t + ρ + shift]`` — shifted multiply-adds at
    the input rate, no zero-inserted image."""
    k, n_in, half = len(taps), x.shape[dim], out_len // 2
    ts = {rho: [t for t in range(-k, k) if 0 <= 2 * t + rho + shift < k] for rho in (0, 1)}
    t_min, t_max = min(ts[0] + ts[1]), max(ts[0] + ts[1])
    # xp[i] = x[i − t_max]; x[j − t] = xp[j − t + t_max] for j = 0 … half − 1.
    xp = _pad_dim(x, dim, t_max, max(0, half - 1 - t_min - (n_in - 1)))
    phases = []
    for rho in (0, 1):
        acc = None
        for t in ts[rho]:
            term = _shifted(xp, dim, t_max - t, half)
            w = taps[2 * t + rho + shift]
            acc = term * w if acc is None else torch.add(acc, term, alpha=w)
        phases.append(acc)
    return torch.stack(phases, dim=dim + 1).flatten(dim, dim + 1)


def _down2(g: torch.Tensor, taps: tuple[float, ...], shift: int, out_len: int, dim: int) -> torch.Tensor:
    """``z[n] = Σ_k g[2n + k − shift]·a[k]`` (g zero outside its range), the adjoint of :func:`_up2`."""
    k, n_in = len(taps), g.shape[dim]
    before = max(0, shift)
    after = max(0, 2 * (out_len - 1) + (k - 1) - shift - (n_in - 1))
    gp = _pad_dim(g, dim, before, after)
    acc = None
    for j, w in enumerate(taps):
        term = _shifted(gp, dim, j - shift + before, out_len, step=2)
        acc = term * w if acc is None else torch.add(acc, term, alpha=w)
    return acc


_TAPS_CACHE: dict = {}


def _taps_weight(taps: tuple[float, ...], c: int, dim: int, dtype, device) -> torch.Tensor:
    """The 1-D filter ``taps`` as a depthwise weight ``[c, 1, 1, k]`` (``dim`` 3, along x) or ``[c, 1, k, 1]``
    (``dim`` 2), built once per filter, size, dtype and device."""
    key = (taps, c, dim, dtype, device)
    w = _TAPS_CACHE.get(key)
    if w is None:
        t = torch.tensor(taps, dtype=dtype, device=device)
        w = t.reshape(1, 1, 1, -1) if dim == 3 else t.reshape(1, 1, -1, 1)
        w = _TAPS_CACHE[key] = w.expand(c, 1, *w.shape[2:]).contiguous()
    return w


def _pair(dim: int, v: int, other: int = 0) -> tuple[int, int]:
    return (other, v) if dim == 3 else (v, other)


def _up2_conv(x: torch.Tensor, taps: tuple[float, ...], shift: int, out_len: int, dim: int) -> torch.Tensor:
    """:func:`_up2` as one depthwise transposed convolution (stride 2, padding ``shift``): ``y[m] = Σ_n x[n]·
    a[m + shift − 2n]``. Its gradients are the networks' adjoint pair (:class:`~synthfer.gan.networks._FirConvT`/
    ``_FirConv``): any order of derivative is one convolution per application."""
    from synthfer.gan.networks import _FirConvT

    w = _taps_weight(taps, x.shape[1], dim, x.dtype, x.device)
    size = tuple(out_len if d == dim else x.shape[d] for d in (2, 3))
    return _FirConvT.apply(x, w, _pair(dim, 2, 1), _pair(dim, shift), size)


def _down2_conv(g: torch.Tensor, taps: tuple[float, ...], shift: int, out_len: int, dim: int) -> torch.Tensor:
    """:func:`_down2` as one depthwise stride-2 convolution: ``z[n] = Σ_k g[2n + k − shift]·a[k]``."""
    from synthfer.gan.networks import _FirConv

    if shift < 0:  # start |shift| samples in
        g = g.narrow(dim, -shift, g.shape[dim] + shift)
        shift = 0
    w = _taps_weight(taps, g.shape[1], dim, g.dtype, g.device)
    z = _FirConv.apply(g, w, _pair(dim, 2, 1), _pair(dim, shift))
    return z.narrow(dim, 0, out_len)


@functools.cache
def _sym6_taps(gain: float) -> tuple[float, ...]:
    f = torch.tensor(SYM6, dtype=torch.float64)
    return tuple(float(v) for v in (f / f.sum() * gain).to(torch.float32))


def _fir_up2(x: torch.Tensor, dim: int) -> torch.Tensor:
    """2× upsampling along ``dim`` (3 = x, 2 = y): zero insertion then the normalised sym6 filter ``f`` with
    gain 2, ``y[m] = 2·Σ_n x[n]·f[m + 5 − 2n]``."""
    return _up2_conv(x, _sym6_taps(2.0), 5, 2 * x.shape[dim], dim)


def _fir_down2(x: torch.Tensor, dim: int) -> torch.Tensor:
    """2× downsampling along ``dim`` dropping one sample at each end: ``z[n] = Σ_k x[2n + 1 + k]·f[k]``."""
    return _down2_conv(x, _sym6_taps(1.0), -1, (x.shape[dim] - len(SYM6)) // 2, dim)


def _wavelet_plan(M: torch.Tensor, h: int, w: int) -> tuple[list[int], torch.Tensor, tuple[int, int]]:
    """The geometry of :func:`warp_wavelet` from the matrices ``M`` [N, 3, 3]: the reflect padding (left, right,
    top, bottom), the sampling ``θ`` [N, 2, 3] in the 2× domain and the 2× output size. Pure matrix arithmetic on
    ``M``'s device (the CPU in training, so reading the padding is no device sync)."""
    n, dev = M.shape[0], M.device
    margin_px = len(SYM6) // 2  # 6: the filter's reach on each side, in input pixels
    # How far the output's corners (plus the filter's reach) fall outside the input, per side, over the batch.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    corners = torch.tensor([[-cx, -cy, 1.0], [cx, -cy, 1.0], [cx, cy, 1.0], [-cx, cy, 1.0]], device=dev)
    src = (M @ corners.t())[:, :2, :]  # [n, xy, corner]
    reach = torch.cat([-src, src], dim=1).amax(dim=(0, 2))  # [x0, y0, x1, y1]: max of −x, −y, x, y
    reach = reach + torch.tensor([margin_px - cx, margin_px - cy] * 2, device=dev)
    lim = torch.tensor([w - 1, h - 1] * 2, device=dev, dtype=reach.dtype)
    pad_l, pad_t, pad_r, pad_b = (int(v) for v in torch.minimum(reach.clamp(min=0), lim).ceil().tolist())
    # The padded image's centre moved by ((pad_r − pad_l)/2, (pad_b − pad_t)/2).
    M = _translate_px((pad_l - pad_r) / 2, (pad_t - pad_b) / 2, n, dev) @ M
    M2 = (
        _translate_px(-0.5, -0.5, n, dev) @ _scale_px(2, 2, n, dev) @ M
        @ _scale_px(0.5, 0.5, n, dev) @ _translate_px(0.5, 0.5, n, dev)
    )  # fmt: skip
    out_hw = (2 * (h + margin_px), 2 * (w + margin_px))
    theta = _theta(M2, 2 * (h + pad_t + pad_b), 2 * (w + pad_l + pad_r), *out_hw)
    return [pad_l, pad_r, pad_t, pad_b], theta, out_hw


def _warp_wavelet_planned(x: torch.Tensor, pads: list[int], theta: torch.Tensor, out_hw) -> torch.Tensor:
    x = F.pad(x, pads, mode="reflect")
    x = _fir_up2(_fir_up2(x, 3), 2)
    x = _sample_theta(x, theta, *out_hw, padding_mode="zeros")
    return _fir_down2(_fir_down2(x, 3), 2)


def warp_wavelet(x: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """The ADA paper's resampling (the official pipeline's): reflect-pad the image as far as the transformed
    output reaches, upsample 2× with the sym6 wavelet low-pass filter, sample bilinearly at 2× (zeros outside),
    low-pass with the same filter and decimate 2×.

    Coordinates: centred pixels (see :func:`_theta`). In the 2× domain a point u becomes 2u; the filter's
    centre of mass lies half a tap before its middle, which shifts the upsampled and the downsampled grids
    by half a 2× pixel, so the 2× matrix is ``T(−½) · S(2) · M · S(½) · T(½)``.
    """
    pads, theta, out_hw = _wavelet_plan(M.cpu(), x.shape[2], x.shape[3])
    return _warp_wavelet_planned(x, pads, theta.to(x.device), out_hw)


class AugmentPipe(torch.nn.Module):
    """The 'bgc' ADA pipeline. ``p`` is a buffer (saved in checkpoints) set by the training loop.
    ``resample``: how the geometric transforms are applied — ``'wavelet'`` (:func:`warp_wavelet`, the
    official pipeline's; default) or ``'bilinear'`` (:func:`warp_bilinear`, cheaper, softer).

    ``forward(images)`` takes NCHW float images in [−1, 1] and returns augmented images of the same
    shape and dtype. Randomness comes from torch's global generator (so it is part of the saved RNG state).
    """

    def __init__(self, resample: str = "wavelet", **strengths: float):
        super().__init__()
        unknown = set(strengths) - set(BGC_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown augmentation option(s): {sorted(unknown)}")
        if resample not in RESAMPLE_MODES:
            raise ValueError(f"augmentation resample must be one of {RESAMPLE_MODES}, not {resample!r}")
        self.resample = resample
        self.opts = {**BGC_DEFAULTS, **strengths}
        self.register_buffer("p", torch.zeros([]))

    def _gate(self, n: int, prob, device) -> torch.Tensor:
        """1 where a transform applies to that image (probability ``prob``), else 0."""
        return (torch.rand([n], device=device) < prob).float()

    def geometric_matrix(self, n: int, size_x: int, size_y: int, device) -> torch.Tensor:
        """Per-image 3×3 matrices mapping output pixel coordinates (about the centre) to input ones."""
        o, p = self.opts, self.p_value
        M = _eye(3, n, device)
        if o["xflip"] > 0:
            i = torch.randint(2, [n], device=device).float() * self._gate(n, o["xflip"] * p, device)
            M = M @ _scale2(1 - 2 * i, torch.ones_like(i))
        if o["rotate90"] > 0:
            k = torch.randint(4, [n], device=device).float() * self._gate(n, o["rotate90"] * p, device)
            M = M @ _rotate2(-math.pi / 2 * k)
        if o["xint"] > 0:
            t = (torch.rand([n, 2], device=device) * 2 - 1) * o["xint_max"]
            t = t * self._gate(n, o["xint"] * p, device)[:, None]
            M = M @ _translate2(torch.round(t[:, 0] * size_x), torch.round(t[:, 1] * size_y))
        if o["scale"] > 0:
            s = torch.exp2(torch.randn([n], device=device) * o["scale_std"] * self._gate(n, o["scale"] * p, device))
            M = M @ _scale2(s, s)
        p_rot = 1 - math.sqrt(max(1 - o["rotate"] * p, 0.0))
        if o["rotate"] > 0:
            theta = (torch.rand([n], device=device) * 2 - 1) * math.pi * o["rotate_max"]
            M = M @ _rotate2(-theta * self._gate(n, p_rot, device))
        if o["aniso"] > 0:
            s = torch.exp2(torch.randn([n], device=device) * o["aniso_std"] * self._gate(n, o["aniso"] * p, device))
            M = M @ _scale2(s, 1 / s)
        if o["rotate"] > 0:
            theta = (torch.rand([n], device=device) * 2 - 1) * math.pi * o["rotate_max"]
            M = M @ _rotate2(-theta * self._gate(n, p_rot, device))
        if o["xfrac"] > 0:
            t = torch.randn([n, 2], device=device) * o["xfrac_std"] * self._gate(n, o["xfrac"] * p, device)[:, None]
            M = M @ _translate2(t[:, 0] * size_x, t[:, 1] * size_y)
        return M

    def color_matrix(self, n: int, device) -> torch.Tensor:
        """Per-image 4×4 matrices acting on homogeneous colours (r, g, b, 1)."""
        o, p = self.opts, self.p_value
        C = _eye(4, n, device)
        v = torch.tensor([1.0, 1.0, 1.0, 0.0], device=device) / math.sqrt(3)
        vv = torch.outer(v, v)
        if o["brightness"] > 0:
            b = torch.randn([n], device=device) * o["brightness_std"] * self._gate(n, o["brightness"] * p, device)
            T = _eye(4, n, device)
            T[:, :3, 3] = b[:, None]
            C = T @ C
        if o["contrast"] > 0:
            c = torch.exp2(
                torch.randn([n], device=device) * o["contrast_std"] * self._gate(n, o["contrast"] * p, device)
            )
            S = _eye(4, n, device)
            S[:, 0, 0] = S[:, 1, 1] = S[:, 2, 2] = c
            C = S @ C
        if o["lumaflip"] > 0:
            i = torch.randint(2, [n], device=device).float() * self._gate(n, o["lumaflip"] * p, device)
            C = (_eye(4, n, device) - 2 * vv * i[:, None, None]) @ C
        if o["hue"] > 0 and o["hue_max"] > 0:
            theta = (torch.rand([n], device=device) * 2 - 1) * math.pi * o["hue_max"]
            theta = theta * self._gate(n, o["hue"] * p, device)
            C = _rotate_about(v[:3], theta) @ C
        if o["saturation"] > 0:
            s = torch.exp2(
                torch.randn([n], device=device) * o["saturation_std"] * self._gate(n, o["saturation"] * p, device)
            )
            C = (vv + (_eye(4, n, device) - vv) * s[:, None, None]) @ C
        return C

    @property
    def p_value(self) -> float:
        """``p`` as a Python float, read from the buffer only when the buffer changed (the ADA update every
        ``ada_interval`` minibatches, a checkpoint load, a test's ``fill_``): no device sync per minibatch."""
        key = (id(self.p), self.p._version)
        if getattr(self, "_p_key", None) != key:
            self._p_cache, self._p_key = float(self.p), key
        return self._p_cache

    def set_p(self, value: float) -> None:
        """Set ``p`` (the buffer, and its cached float without reading the device back)."""
        self.p.fill_(value)
        self._p_cache, self._p_key = float(np.float32(value)), (id(self.p), self.p._version)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Augment a batch without a host–device sync: the random parameters and matrices are drawn and composed
        on the CPU and reach the device in one (pinned, non-blocking) transfer. If any image has a geometric
        transform, the whole batch is resampled with its per-image matrices (the identity where none applies) and
        a per-image select keeps the untransformed images' exact values, so the shapes never depend on the draws."""
        p = self.p_value
        if p <= 0:
            return images  # every transform is the identity at p = 0
        n, ch, h, w = images.shape
        device, dtype = images.device, images.dtype
        cpu = torch.device("cpu")
        x = images.float()
        M = self.geometric_matrix(n, w, h, cpu)
        moved_i = (M != torch.eye(3)).flatten(1).any(1)  # on the CPU: no sync
        moved = bool(moved_i.any())
        params = []
        if moved:
            if self.resample == "wavelet":
                pads, theta, out_hw = _wavelet_plan(M, h, w)
            else:
                theta = _theta(M, h, w, h, w)
            params += [theta.flatten(1), moved_i[:, None].float()]
        if ch == 3:
            C = self.color_matrix(n, cpu)
            params.append(C[:, :3, :].flatten(1))
        if not params:
            return images
        flat = torch.cat(params, dim=1)
        if device.type == "cuda":
            flat = flat.pin_memory()
        flat = flat.to(device, non_blocking=True)
        if moved:
            theta_d = flat[:, :6].reshape(n, 2, 3)
            if self.resample == "wavelet":
                warped = _warp_wavelet_planned(x, pads, theta_d, out_hw)
            else:
                warped = _sample_theta(x, theta_d, h, w, padding_mode="reflection")
            # Images without a geometric transform keep their exact values (a per-image select, no subsetting).
            x = torch.where(flat[:, 6, None, None, None] > 0, warped, x)
        if ch == 3:
            C = flat[:, -12:].reshape(n, 3, 4)
            x = torch.baddbmm(C[:, :, 3:], C[:, :, :3], x.reshape(n, 3, h * w)).reshape(n, 3, h, w)
        return x.to(dtype)


def _rotate_about(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """4×4 homogeneous rotation by ``theta`` [N] about the unit 3-vector ``axis`` (Rodrigues)."""
    n = theta.shape[0]
    a = axis / axis.norm()
    K = torch.zeros(3, 3, device=theta.device)
    K[0, 1], K[0, 2], K[1, 0], K[1, 2], K[2, 0], K[2, 1] = -a[2], a[1], a[2], -a[0], -a[1], a[0]
    s, c = torch.sin(theta)[:, None, None], torch.cos(theta)[:, None, None]
    R = torch.eye(3, device=theta.device) + s * K + (1 - c) * (K @ K)
    out = _eye(4, n, theta.device)
    out[:, :3, :3] = R
    return out


class AdaController:
    """The ADA p heuristic: every ``interval`` minibatches, ``r_t = E[sign(D(real))]`` over every real logit
    D produced since the last update — those of the main D phase and, as the official code, those of the R1
    phase (so a minibatch with R1 counts twice) — and ``p ← max(p + sign(r_t − target) ·
    batch·interval/(speed_kimg·1000), 0)``: p can move by 1 in ``speed_kimg`` kimg (500 in the paper). As in
    the official code p is floored at 0 but not capped at 1 (every transform's gate is always on above 1)."""

    def __init__(self, target: float = 0.6, interval: int = 4, speed_kimg: float = 500.0):
        self.target, self.interval, self.speed_kimg = target, interval, speed_kimg
        self.sign_sum = 0.0
        self.count = 0
        self.last_rt = float("nan")

    def accumulate(self, real_logits: torch.Tensor) -> None:
        """Add the signs of the real logits, on their device (read once per update: no sync per minibatch)."""
        self.sign_sum = self.sign_sum + torch.sign(real_logits.detach()).sum()
        self.count += int(real_logits.numel())

    def step(self, pipe: AugmentPipe, batch_size: int) -> None:
        if self.count == 0:
            return
        self.last_rt = float(self.sign_sum) / self.count  # the one read of the device statistics per update
        adjust = math.copysign(1.0, self.last_rt - self.target) if self.last_rt != self.target else 0.0
        adjust *= batch_size * self.interval / (self.speed_kimg * 1000)
        # float32 arithmetic, as the buffer's: p ← max(p + adjust, 0)
        pipe.set_p(float(max(np.float32(pipe.p_value) + np.float32(adjust), np.float32(0.0))))
        self.sign_sum, self.count = 0.0, 0

    def state_dict(self) -> dict:
        return {"sign_sum": float(self.sign_sum), "count": self.count, "last_rt": self.last_rt}

    def load_state_dict(self, state: dict) -> None:
        self.sign_sum, self.count, self.last_rt = float(state["sign_sum"]), int(state["count"]), float(state["last_rt"])
