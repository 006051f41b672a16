"""The FIR blur/up/down of the networks as an adjoint pair of autograd Functions (issue 21 item 1): the same
linear maps as the plain grouped convolutions they replace (float64, ≤ 1e-12, first and second derivatives), and
the regularisers' double backward no longer computes the fixed filter's per-channel weight gradient."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from synthfer.gan import networks as nets  # noqa: E402
from synthfer.gan.networks import binomial_filter  # noqa: E402


# The implementation before issue 21: F.pad + grouped conv2d, full-resolution filter then [::2, ::2].
def old_fir_filter(x, f, pad, gain=1.0):
    c = x.shape[1]
    x = F.pad(x, list(pad))
    return F.conv2d(x, (f * gain).to(x.dtype)[None, None].expand(c, 1, *f.shape), groups=c)


def old_upsample2x(x, f):
    c = x.shape[1]
    w = (f * 4.0).to(x.dtype)[None, None].expand(c, 1, *f.shape)
    return F.conv_transpose2d(x, w, stride=2, padding=(f.shape[-1] - 2) // 2, groups=c)


def old_downsample2x(x, f):
    p = (f.shape[-1] - 2) // 2
    return old_fir_filter(x, f, (p, p, p, p))[:, :, ::2, ::2]


OPS = {
    "blur_pad1_gain4": (lambda x, f: nets.fir_filter(x, f, (1, 1, 1, 1), 4.0),
                        lambda x, f: old_fir_filter(x, f, (1, 1, 1, 1), 4.0)),
    "blur_pad2": (lambda x, f: nets.fir_filter(x, f, (2, 2, 2, 2)), lambda x, f: old_fir_filter(x, f, (2, 2, 2, 2))),
    "blur_asym": (lambda x, f: nets.fir_filter(x, f, (2, 1, 2, 1)), lambda x, f: old_fir_filter(x, f, (2, 1, 2, 1))),
    "up": (nets.upsample2x, old_upsample2x),
    "down": (nets.downsample2x, old_downsample2x),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(OPS))
def test_fir_ops_equal_the_grouped_convolutions_to_second_order(name):
    new, old = OPS[name]
    f = binomial_filter().double()
    g = torch.Generator().manual_seed(1)
    x = torch.randn([2, 3, 8, 8], dtype=torch.float64, generator=g, requires_grad=True)
    y_new, y_old = new(x, f), old(x, f)
    assert y_new.shape == y_old.shape
    torch.testing.assert_close(y_new, y_old, atol=1e-12, rtol=0)
    v = torch.randn(y_old.shape, dtype=torch.float64, generator=g).requires_grad_(True)
    (g_new,) = torch.autograd.grad((y_new * v).sum(), x, create_graph=True)
    (g_old,) = torch.autograd.grad((y_old * v).sum(), x, create_graph=True)
    torch.testing.assert_close(g_new, g_old, atol=1e-12, rtol=0)
    u = torch.randn(x.shape, dtype=torch.float64, generator=g)
    # The gradient of a linear map is linear in the output gradient v: differentiate it with respect to v.
    (gg_new,) = torch.autograd.grad((g_new.square() * u).sum(), v, create_graph=True)
    (gg_old,) = torch.autograd.grad((g_old.square() * u).sum(), v, create_graph=True)
    torch.testing.assert_close(gg_new, gg_old, atol=1e-12, rtol=0)
    (ggg_new,) = torch.autograd.grad(gg_new.square().sum(), v)
    (ggg_old,) = torch.autograd.grad(gg_old.square().sum(), v)
    torch.testing.assert_close(ggg_new, ggg_old, atol=1e-12, rtol=0)
    torch.autograd.gradcheck(lambda t: new(t, f), (x,))
    torch.autograd.gradgradcheck(lambda t: new(t, f), (x,))


def _tiny_nets(res=16, dtype=torch.float64):
    G = nets.Generator(z_dim=8, w_dim=8, img_resolution=res, mapping_kwargs=dict(num_layers=1),
                       synthesis_kwargs=dict(channel_base=64, channel_max=8, conv_clamp=256))  # fmt: skip
    D = nets.Discriminator(img_resolution=res, channel_base=64, channel_max=8, mbstd_group_size=2, conv_clamp=256)
    return G.to(dtype), D.to(dtype)


def _phase_grads(monkeypatch, old: bool):
    from synthfer.gan.loss import StyleGAN2Loss

    if old:
        monkeypatch.setattr(nets, "fir_filter", old_fir_filter)
        monkeypatch.setattr(nets, "upsample2x", old_upsample2x)
        monkeypatch.setattr(nets, "downsample2x", old_downsample2x)
    torch.manual_seed(0)
    G, D = _tiny_nets()
    loss = StyleGAN2Loss(G, D, style_mixing_prob=0.0, noise_mode="const", r1_gamma=1.0)
    loss.pl_mean = torch.tensor(0.5, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    z = torch.randn([4, 8], dtype=torch.float64, generator=g)
    real = torch.randn([4, 3, 16, 16], dtype=torch.float64, generator=g)
    pl_noise = torch.randn([2, 3, 16, 16], dtype=torch.float64, generator=g)
    out = {}
    for phase, net, kw in (("Greg", G, dict(gen_z=z[:2], pl_noise=pl_noise)), ("Dreg", D, dict(real_img=real)),
                           ("Gmain", G, dict(gen_z=z)), ("Dmain", D, dict(real_img=real, gen_z=z))):  # fmt: skip
        net.requires_grad_(True)
        for p in net.parameters():
            p.grad = None
        loss.accumulate_gradients(phase, **kw)
        out[phase] = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
        net.requires_grad_(False)
    if old:
        monkeypatch.undo()
    return out


def test_r1_and_path_length_gradients_equal_the_grouped_convolutions(monkeypatch):
    new = _phase_grads(monkeypatch, old=False)
    old = _phase_grads(monkeypatch, old=True)
    for phase in old:
        assert new[phase].keys() == old[phase].keys()
        for n in old[phase]:
            torch.testing.assert_close(new[phase][n], old[phase][n], atol=1e-12, rtol=1e-12, msg=f"{phase} {n}")


@pytest.fixture(scope="module")
def demo_trainer():
    """The 64² test config of issue 21 (the demo's model: z/w 64, channel_base 1024, channel_max 64, batch 8)."""
    import numpy as np

    from synthfer.gan.options import resolve_config
    from synthfer.gan.train import Trainer

    torch.set_num_threads(1)
    cfg = resolve_config(dict(z_dim=64, w_dim=64, channel_base=1024, channel_max=64, batch=8, aug="fixed", p=0.2,
                              mixed_precision=False), resolution=64, num_images=16)  # fmt: skip
    images = np.random.RandomState(0).randint(0, 256, (16, 3, 64, 64), dtype=np.uint8)
    return Trainer(cfg, images, torch.device("cpu"))


@pytest.mark.parametrize("phase", ["Greg", "Dreg"])
@pytest.mark.parametrize("p", [0.0, 0.2])
def test_regulariser_convolutions_counted(demo_trainer, phase, p):
    """Before: 246 (Greg) and 410 (Dreg) aten::convolution calls (ADA at p = 0.2, whose resampling then used no
    convolution), most of them per-channel weight gradients of the blur filter inside the double backward. Now
    the networks' ≤ 80; with ADA on, R1 also differentiates the augmentation's sym6 up/down, 4 convolutions each
    way (+16)."""
    from synthfer.gan.opcount import OpCounter

    tr = demo_trainer
    tr.aug.p.fill_(p)
    net = tr.G if phase == "Greg" else tr.D
    net.requires_grad_(True)
    kw = dict(gen_z=torch.randn([4, 64])) if phase == "Greg" else dict(real_img=tr.real_batch())
    with OpCounter() as c:
        tr.loss.accumulate_gradients(phase, **kw)
    net.requires_grad_(False)
    for q in net.parameters():
        q.grad = None
    assert c.convs <= (80 if p == 0 or phase == "Greg" else 96), c.convs
    assert c.grouped_weight_grads == 0


def test_no_weight_gradient_inside_the_regularisers_first_grad():
    """Issue 21 item 4: inside R1's and path length's ``autograd.grad(create_graph=True)`` no convolution computes a
    weight gradient (torch's engine passes output_mask [True, False, False]: what NVIDIA's conv2d_gradfix did by
    hand before torch 1.10), and no grouped convolution is differentiated by aten at all (the blur has its own)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Masks(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func._schema.name == "aten::convolution_backward":
                self.seen.append((tuple(args[10]), args[9]))
            return func(*args, **(kwargs or {}))

    torch.manual_seed(0)
    G, D = _tiny_nets(dtype=torch.float32)
    G.requires_grad_(True)
    D.requires_grad_(True)
    x = torch.randn([4, 3, 16, 16], requires_grad=True)
    ws = G.mapping(torch.randn([2, 8])).detach().requires_grad_(True)
    for out, inp in ((lambda: D(x).sum(), x), (lambda: (G.synthesis(ws, noise_mode="const")).sum(), ws)):
        y = out()
        m = Masks()
        with m:
            torch.autograd.grad(y, inp, create_graph=True)
        assert m.seen and all(mask[1] is False and groups == 1 for mask, groups in m.seen), m.seen
