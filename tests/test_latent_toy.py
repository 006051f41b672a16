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


def test_toy_generator_works_with_the_generator_api():
    from synthfer.gan.api import seeds_to_ws, synthesize_ws

    G = ToyGenerator()
    ws = seeds_to_ws(G, [1, 2, 3], truncation_psi=0.7, batch_size=2)
    z = np.random.RandomState(2).randn(1, G.z_dim).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(
            ws[1:2].numpy(), G.mapping(torch.from_numpy(z), None, truncation_psi=0.7).numpy(), rtol=1e-6
        )
    imgs = synthesize_ws(G, ws, batch_size=2)
    assert imgs.dtype == np.uint8 and imgs.shape == (3, 8, 8, 3)
