"""The generator API: the one Python interface other phases use (latent exploration, generation).

- :func:`load_generator` reads a synthfer checkpoint (``.pt``: a snapshot or ``network-final.pt``; the
  EMA generator is used) or an official StyleGAN2-ADA ``network-snapshot-*.pkl`` (read by
  :mod:`synthfer.gan.pkl` without NVIDIA's code), and returns an eval-mode :class:`Generator` with
  ``z_dim, w_dim, num_ws, img_resolution, img_channels``, ``mapping(z, c, truncation_psi,
  truncation_cutoff)`` and ``synthesis(ws, noise_mode)``.
- Seeds map to latents exactly as the official ``generate.py`` does:
  ``z = numpy.random.RandomState(seed).randn(1, z_dim)``, so a seed number means the same face in
  every tool that uses that convention.
- Images are converted to uint8 with ``clamp(x·127.5 + 128, 0, 255)`` (the official rounding-free
  conversion: the cast truncates).

torch is imported inside the functions so that importing this module stays light.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from synthfer.gan import CHECKPOINT_FORMAT
from synthfer.gan.checkpoint import read_checkpoint, write_checkpoint  # noqa: F401 - read_checkpoint: the API's
from synthfer.runtime import pick_device

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from synthfer.gan.networks import Generator

def build_generator(init_kwargs: dict, state_dict: dict | None = None) -> Generator:
    """Construct a :class:`Generator` from its ``init_kwargs`` and optionally load a state dict (strict)."""
    from synthfer.gan.networks import Generator

    G = Generator(**init_kwargs)
    if state_dict is not None:
        G.load_state_dict(state_dict, strict=True)
    return G


def tiny_generator(
    resolution: int = 16, z_dim: int = 32, w_dim: int = 32, seed: int = 0, channel_max: int = 32
) -> Generator:
    """A small randomly initialised generator (for tests and examples in every phase)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = build_generator(
            dict(
                z_dim=z_dim,
                c_dim=0,
                w_dim=w_dim,
                img_resolution=resolution,
                img_channels=3,
                mapping_kwargs=dict(num_layers=2),
                synthesis_kwargs=dict(channel_base=channel_max * 16, channel_max=channel_max),
            )
        )
    return G.eval().requires_grad_(False)


def save_generator(path: str | Path, G) -> Path:
    """Write ``G`` as a generator-only synthfer checkpoint (``G_kwargs`` + ``G_ema``), atomically.

    :func:`load_generator` reads it like a training snapshot; training cannot resume from it.
    """
    state = {k: v.detach().cpu() for k, v in G.state_dict().items()}
    ckpt = {"format": CHECKPOINT_FORMAT, "version": 1, "kind": "generator", "G_kwargs": G.init_kwargs, "G_ema": state}
    return write_checkpoint(path, ckpt)


def load_generator(path: str | Path, device: str | torch.device | None = None) -> Generator:
    """Load the EMA generator from a synthfer ``.pt`` or an official ``.pkl``; eval mode, no grads, on
    ``device`` (default :func:`synthfer.runtime.pick_device`)."""
    path = Path(path)
    device = pick_device(str(device) if device is not None else None)
    if path.suffix == ".pkl":
        from synthfer.gan.pkl import load_official_pkl

        G = load_official_pkl(path)["G_ema"]
    else:
        ckpt = read_checkpoint(path)
        G = build_generator(ckpt["G_kwargs"], ckpt["G_ema"])
    return G.eval().requires_grad_(False).to(device)


def seeds_to_z(seeds: Iterable[int], z_dim: int = 512) -> np.ndarray:
    """``[N, z_dim]`` float32; row i is ``np.random.RandomState(seed_i).randn(1, z_dim)``."""
    seeds = [int(s) for s in seeds]
    for s in seeds:
        if not 0 <= s < 2**32:
            raise ValueError(f"seed {s} out of range: numpy RandomState seeds are 0 … 2**32-1")
    z = np.zeros((len(seeds), z_dim), dtype=np.float32)
    for i, s in enumerate(seeds):
        z[i] = np.random.RandomState(s).randn(1, z_dim)[0]
    return z


def _device_of(G) -> torch.device:
    return next(G.parameters()).device


def seeds_to_ws(
    G, seeds: Sequence[int], truncation_psi: float = 1.0, batch_size: int = 64, device: str | torch.device | None = None
) -> torch.Tensor:
    """Map seeds to ``ws`` ``[N, num_ws, w_dim]`` (float32, on ``device`` or G's device), with
    truncation ``w_avg + ψ·(w − w_avg)`` applied to every layer."""
    import torch

    dev = torch.device(device) if device is not None else _device_of(G)
    gdev = _device_of(G)
    z_all = seeds_to_z(seeds, G.z_dim)
    out = []
    with torch.no_grad():
        for i in range(0, len(z_all), batch_size):
            z = torch.from_numpy(z_all[i : i + batch_size]).to(gdev)
            c = torch.zeros([z.shape[0], G.c_dim], device=gdev) if getattr(G, "c_dim", 0) else None
            out.append(G.mapping(z, c, truncation_psi=truncation_psi).to(dev))
    if not out:
        return torch.zeros([0, G.num_ws, G.w_dim], device=dev)
    return torch.cat(out)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """NCHW float in [-1, 1] → NHWC uint8 via ``clamp(x·127.5 + 128, 0, 255)``."""
    return (x * 127.5 + 128).clamp(0, 255).to(dtype=__import__("torch").uint8).permute(0, 2, 3, 1).cpu().numpy()


def synthesize_ws(G, ws, noise_mode: str = "const", batch_size: int = 32) -> np.ndarray:
    """Render ``ws`` ``[N, num_ws, w_dim]`` (tensor or array) → uint8 ``[N, H, W, 3]``."""
    import torch

    gdev = _device_of(G)
    ws = torch.as_tensor(ws, dtype=torch.float32)
    n = ws.shape[0]
    out = np.zeros((n, G.img_resolution, G.img_resolution, G.img_channels), dtype=np.uint8)
    with torch.no_grad():
        for i in range(0, n, batch_size):
            img = G.synthesis(ws[i : i + batch_size].to(gdev), noise_mode=noise_mode)
            out[i : i + img.shape[0]] = to_uint8(img)
    return out


def synthesize(
    G, seeds: Sequence[int], truncation_psi: float = 1.0, noise_mode: str = "const", batch_size: int = 32
) -> np.ndarray:
    """Render seeds → uint8 ``[N, H, W, 3]`` (z from :func:`seeds_to_z`, truncation ψ on all layers)."""
    ws = seeds_to_ws(G, seeds, truncation_psi=truncation_psi, batch_size=batch_size)
    return synthesize_ws(G, ws, noise_mode=noise_mode, batch_size=batch_size)
