"""ADA 'bgc' pipeline and the p heuristic."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from synthfer.gan.augment import AdaController, AugmentPipe  # noqa: E402


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


def test_xflip_only_is_exact(images):
    opts = {k: 0.0 for k in ("rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness", "contrast",
                             "lumaflip", "hue", "saturation")}  # fmt: skip
    pipe = AugmentPipe(**opts)
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
    pipe = AugmentPipe(**opts)
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
