"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial Networks
with Limited Data"), the 'bgc' pipeline, written from the paper's description.

Every image D sees (real and generated, in every loss term) goes through :class:`AugmentPipe`. Each
transform is applied to each image independently with probability ``p``; the transforms are
differentiable with respect to the image, so G's gradient passes through them, and they are
"non-leaking" for p < 0.8 (the paper's Fig. 3), so D's view of the distribution remains recoverable.

Geometric ('bg'), composed into one 3×3 homogeneous matrix per image (output → input coordinates,
in pixels about the image centre) and applied with one bilinear resampling with reflection padding:
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

Differences from the official implementation (documented in docs/gan.md): the geometric resampling is
a single bilinear ``grid_sample`` at the output resolution (the official code resamples at 2× with a
wavelet low-pass filter), which is cheaper and slightly softer; the parameter distributions are the
paper's.
"""

from __future__ import annotations

import math

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


class AugmentPipe(torch.nn.Module):
    """The 'bgc' ADA pipeline. ``p`` is a buffer (saved in checkpoints) set by the training loop.

    ``forward(images)`` takes NCHW float images in [−1, 1] and returns augmented images of the same
    shape and dtype. Randomness comes from torch's global generator (so it is part of the saved RNG state).
    """

    def __init__(self, **strengths: float):
        super().__init__()
        unknown = set(strengths) - set(BGC_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown augmentation option(s): {sorted(unknown)}")
        self.opts = {**BGC_DEFAULTS, **strengths}
        self.register_buffer("p", torch.zeros([]))

    def _gate(self, n: int, prob, device) -> torch.Tensor:
        """1 where a transform applies to that image (probability ``prob``), else 0."""
        return (torch.rand([n], device=device) < prob).float()

    def geometric_matrix(self, n: int, size_x: int, size_y: int, device) -> torch.Tensor:
        """Per-image 3×3 matrices mapping output pixel coordinates (about the centre) to input ones."""
        o, p = self.opts, float(self.p)
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
        o, p = self.opts, float(self.p)
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

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if float(self.p) <= 0:
            return images  # every transform is the identity at p = 0
        n, ch, h, w = images.shape
        device, dtype = images.device, images.dtype
        x = images.float()
        # Geometric: pixel-centre coordinates about the image centre, then normalised [-1, 1] for grid_sample.
        M = self.geometric_matrix(n, w, h, device)
        to_px = _scale2(torch.full([n], w / 2.0, device=device), torch.full([n], h / 2.0, device=device))
        to_norm = _scale2(torch.full([n], 2.0 / w, device=device), torch.full([n], 2.0 / h, device=device))
        theta = (to_norm @ M @ to_px)[:, :2, :]
        if not torch.allclose(theta, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], device=device).expand_as(theta)):
            grid = F.affine_grid(theta, [n, ch, h, w], align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        # Colour (RGB only).
        if ch == 3:
            C = self.color_matrix(n, device)
            x = (C[:, :3, :3] @ x.reshape(n, 3, h * w) + C[:, :3, 3:]).reshape(n, 3, h, w)
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
    """The ADA p heuristic: every ``interval`` minibatches, ``r_t = E[sign(D(real))]`` over the images
    seen since the last update, and ``p ← clamp(p + sign(r_t − target) · batch·interval/(speed_kimg·1000), 0, 1)``
    — p can move by 1 in ``speed_kimg`` kimg (500 in the paper)."""

    def __init__(self, target: float = 0.6, interval: int = 4, speed_kimg: float = 500.0):
        self.target, self.interval, self.speed_kimg = target, interval, speed_kimg
        self.sign_sum = 0.0
        self.count = 0
        self.last_rt = float("nan")

    def accumulate(self, real_logits: torch.Tensor) -> None:
        self.sign_sum += float(torch.sign(real_logits.detach()).sum())
        self.count += int(real_logits.numel())

    def step(self, pipe: AugmentPipe, batch_size: int) -> None:
        if self.count == 0:
            return
        self.last_rt = self.sign_sum / self.count
        adjust = math.copysign(1.0, self.last_rt - self.target) if self.last_rt != self.target else 0.0
        adjust *= batch_size * self.interval / (self.speed_kimg * 1000)
        pipe.p.copy_(torch.clamp(pipe.p + adjust, 0.0, 1.0))
        self.sign_sum, self.count = 0.0, 0

    def state_dict(self) -> dict:
        return {"sign_sum": self.sign_sum, "count": self.count, "last_rt": self.last_rt}

    def load_state_dict(self, state: dict) -> None:
        self.sign_sum, self.count, self.last_rt = float(state["sign_sum"]), int(state["count"]), float(state["last_rt"])
