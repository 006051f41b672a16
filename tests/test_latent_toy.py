"""A tiny torch generator with the generator API's attributes, shared by the latent, review and
generate tests (``from test_latent_toy import ToyGenerator``), and a check of its contract."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


class ToyGenerator(torch.nn.Module):
    """``mapping``/``synthesis`` with the shapes and conventions of ``synthfer.gan.api``'s G."""

    def __init__(self, z_dim=8, w_dim=6, num_ws=4, res=8, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.z_dim, self.w_dim, self.num_ws, self.img_resolution, self.img_channels = z_dim, w_dim, num_ws, res, 3
        # Anisotropic mapping so that PCA has well-separated components.
        scales = torch.linspace(2.0, 0.2, w_dim)
        self.map = torch.nn.Parameter(torch.randn(z_dim, w_dim, generator=gen) * scales)
        self.register_buffer("w_avg", torch.randn(w_dim, generator=gen) * 0.1)
        self.synth = torch.nn.Parameter(torch.randn(num_ws, w_dim, 3 * res * res, generator=gen) * 0.3)

    def mapping(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None):
        w = z @ self.map + self.w_avg
        w = self.w_avg + truncation_psi * (w - self.w_avg)
        return w.unsqueeze(1).repeat(1, self.num_ws, 1)

    def synthesis(self, ws, noise_mode="const"):
        x = torch.einsum("nlw,lwp->np", ws, self.synth)
        return torch.tanh(x).view(-1, 3, self.img_resolution, self.img_resolution)


def test_toy_generator_contract():
    G = ToyGenerator()
    ws = G.mapping(torch.randn(5, G.z_dim), None, truncation_psi=0.5)
    assert ws.shape == (5, G.num_ws, G.w_dim)
    with torch.no_grad():
        img = G.synthesis(ws)
    assert img.shape == (5, 3, G.img_resolution, G.img_resolution)
    assert float(img.abs().max()) <= 1.0


def test_seed_z_matches_official_convention():
    from synthfer.latent.render import seed_z

    z = seed_z([9, 0], 8)
    np.testing.assert_array_equal(z[0], np.random.RandomState(9).randn(1, 8)[0].astype(np.float32))
    assert z.dtype == np.float32 and z.shape == (2, 8)
    try:
        from synthfer.gan.api import seeds_to_z
    except ImportError:
        return
    np.testing.assert_array_equal(z, seeds_to_z([9, 0], z_dim=8))


def test_render_ws_matches_official_quantisation():
    from synthfer.latent.render import render_ws, ws_for_seeds

    G = ToyGenerator()
    ws = ws_for_seeds(G, [1, 2, 3], 0.7, batch_size=2)
    imgs = render_ws(G, ws, batch_size=2)
    assert imgs.dtype == np.uint8 and imgs.shape == (3, 8, 8, 3)
    with torch.no_grad():
        ref = (G.synthesis(ws) * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(imgs, ref)
