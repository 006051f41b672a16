"""Seeds → w → images through the generator API's duck-typed ``G`` (``mapping``/``synthesis``).

The latent and generate phases need the per-layer ``ws`` between mapping and synthesis (to apply
GANSpace edits and interpolations), so they drive ``G.mapping``/``G.synthesis`` directly with the
same conventions as ``synthfer.gan.api``: z for seed s is ``RandomState(s).randn(1, z_dim)``
(the official StyleGAN2-ADA convention) and pixels are ``clamp(x·127.5 + 128, 0, 255)`` as uint8.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def seed_z(seeds: Sequence[int], z_dim: int) -> np.ndarray:
    """``[N, z_dim]`` float32; row i = ``np.random.RandomState(seeds[i]).randn(1, z_dim)``."""
    return np.concatenate([np.random.RandomState(int(s)).randn(1, z_dim) for s in seeds], axis=0).astype(np.float32) \
        if len(seeds) else np.zeros((0, z_dim), np.float32)


def model_device(G):
    """The device ``G``'s parameters live on (CPU for a parameter-less module)."""
    import torch

    for p in G.parameters():
        return p.device
    return torch.device("cpu")


def ws_for_seeds(G, seeds: Sequence[int], truncation_psi: float = 1.0, batch_size: int = 64):
    """``G.mapping`` of the seeds' z with truncation ψ: torch ``[N, num_ws, w_dim]`` on G's device."""
    import torch

    dev = model_device(G)
    z_all = seed_z(seeds, G.z_dim)
    out = []
    with torch.no_grad():
        for i in range(0, len(z_all), batch_size):
            z = torch.from_numpy(z_all[i : i + batch_size]).to(dev)
            out.append(G.mapping(z, None, truncation_psi=truncation_psi))
    if not out:
        return torch.zeros((0, G.num_ws, G.w_dim), device=dev)
    return torch.cat(out, dim=0)


def to_uint8(x) -> np.ndarray:
    """Generator output ``[N, 3, H, W]`` in [−1, 1] → ``[N, H, W, 3]`` uint8 (official rounding)."""
    import torch

    return (x * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def render_ws(G, ws, noise_mode: str = "const", batch_size: int = 32) -> np.ndarray:
    """``G.synthesis`` of ``ws`` in batches → ``[N, H, W, 3]`` uint8."""
    import torch

    dev = model_device(G)
    ws = torch.as_tensor(ws).to(dev, torch.float32)
    out = []
    with torch.no_grad():
        for i in range(0, ws.shape[0], batch_size):
            out.append(to_uint8(G.synthesis(ws[i : i + batch_size], noise_mode=noise_mode)))
    if not out:
        return np.zeros((0, G.img_resolution, G.img_resolution, 3), np.uint8)
    return np.concatenate(out, axis=0)
