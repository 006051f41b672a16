"""ADA 'bgc' pipeline and the p heuristic."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthfer.gan.augment import SYM6, AdaController, AugmentPipe, warp_bilinear, warp_wavelet  # noqa: E402


@pytest.fixture()
def images():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    return x


def test_p_zero_is_identity(images):
    pipe = AugmentPipe()
    assert torch.equal(pipe(images), images)


def test_full_pipeline_shapes_ranges_and_gradients(images):
    pipe = AugmentPipe()
    pipe.p.fill_(1.0)
    x = images.clone().requires_grad_(True)
    y = pipe(x)
    assert y.shape == x.shape and y.dtype == x.dtype and torch.isfinite(y).all()
    assert not torch.allclose(y, images)
    # Colour transforms can leave [-1, 1] (as in the paper), but stay in a sane range.
    assert y.abs().max() < 20
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# The single bilinear sample is pixel exact for the integer transforms; the wavelet resampling is not (its
# filter is not symmetric, so a flip does not undo it exactly, as in the official pipeline: checked against
# the official output in test_wavelet_resampling_equals_the_official_pipeline).
def test_xflip_only_is_exact(images):
    opts = {k: 0.0 for k in ("rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness", "contrast",
                             "lumaflip", "hue", "saturation")}  # fmt: skip
    pipe = AugmentPipe(resample="bilinear", **opts)
    pipe.p.fill_(1.0)
    torch.manual_seed(1)
    y = pipe(images)
    for i in range(len(images)):
        same = torch.allclose(y[i], images[i], atol=1e-5)
        flipped = torch.allclose(y[i], images[i].flip(2), atol=1e-5)
        assert same or flipped
    assert any(torch.allclose(y[i], images[i].flip(2), atol=1e-5) for i in range(len(images)))


def test_rotate90_and_integer_translation_are_pixel_exact(images):
    keep = {"rotate90", "xint"}
    opts = {k: 0.0 for k in ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness",
                             "contrast", "lumaflip", "hue", "saturation") if k not in keep}  # fmt: skip
    pipe = AugmentPipe(resample="bilinear", **opts)
    pipe.p.fill_(1.0)
    y = pipe(images)
    # Every output pixel value is an input pixel value (no interpolation), up to float error.
    for i in range(len(images)):
        src = images[i].reshape(3, -1)
        out = y[i].reshape(3, -1)
        d = (out[:, :, None] - src[:, None, :]).abs().amax(0).amin(1)
        assert d.max() < 1e-4


def test_colour_only_preserves_geometry_and_luma_axis():
    opts = {k: 0.0 for k in ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness",
                             "contrast", "lumaflip")}  # fmt: skip
    pipe = AugmentPipe(**opts)  # hue + saturation only: grey stays grey
    pipe.p.fill_(1.0)
    grey = torch.linspace(-1, 1, 16 * 16).reshape(1, 1, 16, 16).repeat(4, 3, 1, 1)
    assert torch.allclose(pipe(grey), grey, atol=1e-5)


def test_unknown_option_rejected():
    with pytest.raises(ValueError, match="unknown augmentation"):
        AugmentPipe(blur=1.0)


def test_ada_controller_rule():
    pipe = AugmentPipe()
    ctl = AdaController(target=0.6, interval=4, speed_kimg=500)
    step = 16 * 4 / 500_000
    ctl.accumulate(torch.tensor([1.0, 1.0, 1.0, -1.0]))  # r_t = 0.5 < 0.6: p stays at 0 (clamped)
    ctl.step(pipe, batch_size=16)
    assert float(pipe.p) == 0.0 and ctl.last_rt == 0.5
    for _ in range(3):
        ctl.accumulate(torch.ones(16))  # r_t = 1 > 0.6: p rises by batch·interval/(500·1000)
        ctl.step(pipe, batch_size=16)
    assert math.isclose(float(pipe.p), 3 * step, rel_tol=1e-5)
    ctl.accumulate(-torch.ones(16))
    ctl.step(pipe, batch_size=16)
    assert math.isclose(float(pipe.p), 2 * step, rel_tol=1e-5)
    state = ctl.state_dict()
    other = AdaController()
    other.load_state_dict(state)
    assert other.state_dict() == state


def test_sym6_is_an_orthogonal_wavelet_filter():
    h = np.asarray(SYM6)
    assert h.sum() == pytest.approx(math.sqrt(2), abs=1e-12)
    for m in range(6):  # orthonormal to its even shifts
        assert float(np.dot(h[2 * m :], h[: len(h) - 2 * m])) == pytest.approx(1.0 if m == 0 else 0.0, abs=1e-10)


def test_wavelet_resampling_equals_the_official_pipeline():
    """``tests/data/gan_augment_resample_reference.npz``: two random 16×24 RGB images (rand·2−1, seed 3) through
    the official stylegan2-ada-pytorch ``AugmentPipe`` (run once from a scratch copy, torch 2.13 CPU, float32)
    with only geometric transforms on at p = 1 and ``debug_percentile`` q (which fixes every parameter):
    scale/rotate/aniso/xfrac for q = 0.1, 0.35, 0.6, 0.85, 0.97 and xflip/rotate90/xint for q = 0.3, 0.8; stored
    with the 3×3 output→input matrices those parameters make. Arrays only, no NVIDIA code."""
    ref = np.load(Path(__file__).parent / "data" / "gan_augment_resample_reference.npz")
    x = torch.from_numpy(ref["input/images"])
    for M, expected in zip(ref["input/matrices"], ref["output/images"], strict=True):
        M = torch.from_numpy(M)[None].repeat(len(x), 1, 1)
        got = warp_wavelet(x, M).numpy()
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 5e-5


def _sinusoid(h, w, freq, angle, phase, M=None):
    """cos(2π·freq·(u cos a + v sin a) + phase) at centred pixel coordinates (mapped by M if given)."""
    v, u = torch.meshgrid(torch.arange(h) - (h - 1) / 2, torch.arange(w) - (w - 1) / 2, indexing="ij")
    uv = torch.stack([u, v, torch.ones_like(u)]).reshape(3, -1).double()
    if M is not None:
        uv = M.double() @ uv
    t = uv[0] * math.cos(angle) + uv[1] * math.sin(angle)
    return torch.cos(2 * math.pi * freq * t + phase).reshape(h, w).float()


def test_wavelet_resampling_is_more_exact_than_bilinear():
    """A sinusoid at 0.25 cycles/pixel under a known rotation and translation: the exact answer is known."""
    size, theta = 48, math.radians(30)
    c, s = math.cos(theta), math.sin(theta)
    M = torch.tensor([[c, -s, 0.3], [s, c, -0.7], [0, 0, 1.0]])
    img = _sinusoid(size, size, 0.25, 0.4, 0.1)[None, None]
    exact = _sinusoid(size, size, 0.25, 0.4, 0.1, M)
    inner = slice(12, -12)  # sources well inside the image: no padding involved
    err = {}
    for name, warp in (("wavelet", warp_wavelet), ("bilinear", warp_bilinear)):
        out = warp(img, M[None])[0, 0]
        err[name] = float((out - exact)[inner, inner].square().mean().sqrt())
    assert err["wavelet"] < 0.08 and err["bilinear"] > 2 * err["wavelet"], err


def test_resample_option():
    with pytest.raises(ValueError, match="resample"):
        AugmentPipe(resample="bicubic")
    pipe = AugmentPipe(resample="bilinear", **{k: 0.0 for k in ("xflip", "rotate90", "xint", "scale", "aniso",
                                                                  "xfrac", "brightness", "contrast", "lumaflip",
                                                                  "hue", "saturation")})  # fmt: skip
    pipe.p.fill_(1.0)
    torch.manual_seed(0)
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    a = pipe(x)
    pipe.resample = "wavelet"
    torch.manual_seed(0)
    b = pipe(x)
    assert not torch.allclose(a, b)  # the two methods differ on the same rotations ...
    assert (a - b).abs().mean() < 0.5  # ... but agree on what the image shows


def test_ada_p_is_floored_at_zero_and_not_capped_at_one():
    pipe = AugmentPipe()
    ada = AdaController(target=0.6, interval=4, speed_kimg=1.0)  # a step moves p by 8·4/1000 = 0.032
    pipe.p.fill_(0.99)
    ada.accumulate(torch.ones(8, 1))
    ada.step(pipe, batch_size=8)
    assert float(pipe.p) == pytest.approx(1.022)  # the official code does not cap p at 1
    pipe.p.fill_(0.01)
    ada.accumulate(-torch.ones(8, 1))
    ada.step(pipe, batch_size=8)
    assert float(pipe.p) == 0.0


def test_wavelet_resampling_gradients():
    """The resampling's hand-written backward (the adjoint filters) and its double backward (R1 through the
    augmentation) agree with finite differences."""
    torch.manual_seed(0)
    x = (torch.rand(2, 1, 4, 5, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    c, s = math.cos(0.5), math.sin(0.5)
    M = torch.tensor([[[c, -s, 0.4], [s, c, -0.3], [0, 0, 1]], [[1.1, 0, 1.0], [0, 0.9, 0], [0, 0, 1]]])
    assert torch.autograd.gradcheck(lambda v: warp_wavelet(v, M), (x,))
    assert torch.autograd.gradgradcheck(lambda v: warp_wavelet(v, M), (x,))


def test_whole_batch_is_resampled_identity_images_exact(images):
    """Issue 21: no boolean-mask subsetting (a data-dependent shape, and a sync on a GPU): if any image has a
    geometric transform, the whole batch is resampled with its per-image matrices and a per-image select keeps
    the images whose matrix is the identity exactly (the resampling alone returns them within ~4e-6); the others
    as resampling them alone."""
    opts = {k: 0.0 for k in ("rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness", "contrast",
                             "lumaflip", "hue", "saturation")}  # fmt: skip
    pipe = AugmentPipe(**opts)  # xflip only: with p = 1 each image is flipped with probability 1/2
    pipe.p.fill_(1.0)
    torch.manual_seed(5)
    M = pipe.geometric_matrix(len(images), 16, 16, images.device)
    torch.manual_seed(5)
    y = pipe(images)
    moved = (M != torch.eye(3)).flatten(1).any(1)
    assert 0 < int(moved.sum()) < len(images)
    assert torch.equal(y[~moved], images[~moved])
    torch.testing.assert_close(y[moved], warp_wavelet(images[moved], M[moved]), atol=1e-6, rtol=0)


def test_no_sync_in_augmentation_or_ada_accumulate(images):
    """The pipeline draws and composes its parameters on the CPU (one transfer), reads p from a cached float and
    the ADA statistics stay on the device: no aten op that reads a value back (``.item()``, ``nonzero``) runs on
    the images' tensors. Before issue 21: float(p) 3×, any/all/nonzero, .tolist() of a device tensor."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Reads(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.reads = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func._schema.name
            big = any(isinstance(a, torch.Tensor) and a.numel() > 1 and a.shape[-1] == 16 for a in args)
            if name in ("aten::_local_scalar_dense", "aten::nonzero", "aten::masked_select") and (
                big or getattr(args[0], "_device_like", False)
            ):
                self.reads.append(name)
            if name == "aten::_local_scalar_dense" and args[0].data_ptr() in self.watch:
                self.reads.append("read of a device-side value")
            return func(*args, **(kwargs or {}))

    pipe = AugmentPipe()
    pipe.p.fill_(0.5)
    ada = AdaController()
    pipe(images)  # p read once after the change
    mode = Reads()
    mode.watch = {pipe.p.data_ptr()}
    with mode:
        for _ in range(3):
            y = pipe(images)
            ada.accumulate(y.mean(dim=(1, 2, 3)))
    assert mode.reads == []
    assert isinstance(ada.sign_sum, torch.Tensor)


@pytest.mark.parametrize("padding_mode", ["zeros", "reflection", "border"])
def test_grid_sample_equals_torch_and_is_twice_differentiable(padding_mode):
    """R1 through the augmentations differentiates the sampler's input gradient again; aten has that second
    derivative only in its CPU fallback (on CUDA: "derivative for aten::grid_sampler_2d_backward is not
    implemented", seen on an H200), so the sampler carries its own, device-independent, adjoint pair."""
    import torch.nn.functional as F

    from synthfer.gan.augment import grid_sample_bilinear

    torch.manual_seed(1)
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    theta = torch.tensor(
        [[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]], [[1.2, -0.3, -0.2], [0.25, 0.8, 0.1]]], dtype=torch.float64
    )
    grid = F.affine_grid(theta, [2, 3, 7, 4], align_corners=False)
    ref = F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)
    assert torch.equal(grid_sample_bilinear(x, grid, padding_mode), ref)
    assert torch.autograd.gradcheck(lambda t: grid_sample_bilinear(t, grid, padding_mode), (x,))
    assert torch.autograd.gradgradcheck(lambda t: grid_sample_bilinear(t, grid, padding_mode).square(), (x,))


@pytest.mark.parametrize("warp", [warp_bilinear, warp_wavelet])
def test_augmentation_never_needs_aten_grid_sampler_double_backward(warp):
    """The graph R1 differentiates twice holds no aten GridSampler2DBackward node (the one without a CUDA
    double backward), only the sampler's own adjoint pair; and the R1 gradient through it is finite."""
    torch.manual_seed(2)
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    M = torch.eye(3).repeat(4, 1, 1)
    M[:, 0, 1] = 0.3
    M[:, 0, 2] = 1.5
    y = warp(x, M)
    (g,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
    names, stack, seen = set(), [g.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.add(type(fn).__name__)
        stack.extend(f for f, _ in fn.next_functions)
    assert not any(n.startswith("GridSampler2DBackward") for n in names), names
    assert any("GridSample" in n for n in names), names
    g.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_wavelet_up_down_as_convolutions_equal_the_polyphase_sums():
    """Issue 21: the sym6 2× up/down of warp_wavelet are one depthwise (transposed) convolution each, with the
    networks' adjoint pair as their gradients, instead of 12 shifted multiply-adds: the same linear maps."""
    from synthfer.gan.augment import _down2, _down2_conv, _sym6_taps, _up2, _up2_conv

    torch.manual_seed(0)
    x = torch.randn(2, 3, 10, 14, dtype=torch.float64, requires_grad=True)
    up, down = _sym6_taps(2.0), _sym6_taps(1.0)
    for dim in (2, 3):
        n = x.shape[dim]
        torch.testing.assert_close(_up2_conv(x, up, 5, 2 * n, dim), _up2(x, up, 5, 2 * n, dim), atol=1e-12, rtol=0)
        y = _up2(x, up, 5, 2 * n, dim).detach()
        m = (y.shape[dim] - 12) // 2
        torch.testing.assert_close(_down2_conv(y, down, -1, m, dim), _down2(y, down, -1, m, dim), atol=1e-12, rtol=0)
        assert torch.autograd.gradgradcheck(lambda t, d=dim, k=n: _up2_conv(t, up, 5, 2 * k, d).square(), (x,))
