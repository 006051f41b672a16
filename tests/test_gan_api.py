"""Generator API: seed convention, determinism, batch-size invariance, checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthfer.gan import api  # noqa: E402


@pytest.fixture(scope="module")
def G():
    torch.set_num_threads(1)
    return api.tiny_generator(resolution=16, z_dim=32, w_dim=32, seed=3)


def test_seeds_to_z_matches_official_convention():
    z = api.seeds_to_z([0, 7, 2**32 - 1], z_dim=512)
    assert z.shape == (3, 512) and z.dtype == np.float32
    assert np.array_equal(z[1], np.random.RandomState(7).randn(1, 512)[0].astype(np.float32))
    with pytest.raises(ValueError, match="out of range"):
        api.seeds_to_z([-1])


def test_api_shapes_and_attributes(G):
    assert (G.z_dim, G.w_dim, G.num_ws, G.img_resolution, G.img_channels) == (32, 32, 6, 16, 3)
    ws = api.seeds_to_ws(G, [1, 2, 3])
    assert ws.shape == (3, 6, 32) and ws.dtype == torch.float32
    assert torch.equal(ws[:, 0], ws[:, 5])  # no mixing: the same w for every layer
    img = G.synthesis(ws, noise_mode="const")
    assert img.shape == (3, 3, 16, 16)
    out = api.synthesize(G, [1, 2, 3])
    assert out.shape == (3, 16, 16, 3) and out.dtype == np.uint8
    expected = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(out, expected)


def test_seed_determinism_and_batch_invariance(G):
    seeds = list(range(10, 21))
    a = api.synthesize(G, seeds, batch_size=1)
    b = api.synthesize(G, seeds, batch_size=4)
    c = api.synthesize(G, seeds[::-1], batch_size=11)[::-1]
    assert np.abs(a.astype(int) - b).max() <= 1
    assert np.abs(a.astype(int) - c).max() <= 1
    assert not np.array_equal(a[0], a[1])  # different seeds, different images
    assert np.array_equal(a, api.synthesize(G, seeds, batch_size=1))  # repeatable


def test_truncation_moves_towards_w_avg(G):
    G.mapping.w_avg.copy_(torch.linspace(-1, 1, G.w_dim))
    w1 = api.seeds_to_ws(G, [5], truncation_psi=1.0)
    w0 = api.seeds_to_ws(G, [5], truncation_psi=0.0)
    wh = api.seeds_to_ws(G, [5], truncation_psi=0.5)
    assert torch.allclose(w0[0, 0], G.mapping.w_avg)
    assert torch.allclose(wh, (w0 + w1) / 2, atol=1e-6)
    z = torch.from_numpy(api.seeds_to_z([5], G.z_dim))
    cut = G.mapping(z, truncation_psi=0.0, truncation_cutoff=2)
    assert torch.allclose(cut[0, :2], w0[0, :2]) and torch.allclose(cut[0, 2:], w1[0, 2:])


def test_noise_modes(G):
    ws = api.seeds_to_ws(G, [1])
    const1, const2 = G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="const")
    assert torch.equal(const1, const2)
    for layer in G.modules():
        if hasattr(layer, "noise_strength"):
            layer.noise_strength.fill_(0.5)
    r1, r2 = G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="random")
    assert not torch.equal(r1, r2)
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="bogus")


def test_checkpoint_round_trip(tmp_path, G):
    path = api.save_generator(tmp_path / "g.pt", G)
    G2 = api.load_generator(path, device="cpu")
    assert not G2.training and not any(p.requires_grad for p in G2.parameters())
    assert np.array_equal(api.synthesize(G, [4, 5]), api.synthesize(G2, [4, 5]))


def test_load_generator_rejects_foreign_files(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"hello": 1}, bad)
    with pytest.raises(ValueError, match="not a synthfer"):
        api.load_generator(bad, device="cpu")
    with pytest.raises(FileNotFoundError):
        api.load_generator(tmp_path / "missing.pt", device="cpu")


def test_resampling_filters_match_their_definition():
    """2× up = zero insertion + (2, 1) padding + [1,3,3,1] filter with gain 4; 2× down = filter + decimation."""
    import torch.nn.functional as F

    from synthfer.gan.networks import binomial_filter, downsample2x, upsample2x

    f = binomial_filter()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    z = torch.zeros(2, 3, 10, 10, dtype=torch.float64)
    z[:, :, ::2, ::2] = x
    ref = F.conv2d(F.pad(z, [2, 1, 2, 1]), (f * 4).double()[None, None].repeat(3, 1, 1, 1), groups=3)
    up = upsample2x(x, f.double())
    assert up.shape == (2, 3, 10, 10) and torch.allclose(up, ref)
    # A constant image stays constant away from the zero-padded border (gain 4 preserves the level).
    assert torch.allclose(upsample2x(torch.ones(1, 1, 6, 6), f)[..., 2:-2, 2:-2], torch.ones(1, 1, 8, 8))
    c = torch.ones(1, 1, 8, 8)
    assert torch.allclose(downsample2x(c, f)[..., 1:-1, 1:-1], torch.ones(1, 1, 2, 2))
