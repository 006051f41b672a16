"""Transfer learning: the networks a new training run starts from (``gan.start_from``) and FreezeD (``gan.freeze_d``).

``gan.start_from`` names an official StyleGAN2-ADA ``.pkl`` (read by :mod:`synthfer.gan.pkl`, no NVIDIA code
runs) or any synthfer checkpoint (a training snapshot, an ``import-pkl`` ``networks`` checkpoint, or a
generator-only ``network-final.pt``). Like the official ``train.py --resume=X``, its G, D and G_ema initialise a
*new* run: the image counter starts at 0, ADA's p at ``gan.p``, both Adam optimisers, the path-length mean,
the data order and the RNG start fresh. Unlike the official code (which builds the networks from the command
line's config and fails on a shape mismatch), the architecture comes from the start network itself: resolution,
z/w dimensions, mapping layers, channel widths, fp16 layers and their ``conv_clamp``. A start network whose
resolution differs from the data set's is refused. As the official ``--resume`` does, ``ada_kimg`` becomes
100 and the EMA ramp-up is switched off (:func:`transfer_options`) unless the config sets other values.

FreezeD (Mo et al. 2020, "Freeze the Discriminator: a Simple Baseline for Fine-Tuning GANs") keeps the first
``N`` discriminator layers at their pretrained values. Layers are counted as the official ``--freezed`` counts
them: from the input, block by block from the highest resolution, within a block ``fromrgb`` (first block
only), ``conv0``, ``conv1``, ``skip``; the 4×4 epilogue is never frozen. At 256² the first block holds layers
0–3, the 128² block 4–6, the 64² block 7–9, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthfer.io import PathLike, sha256_file
from synthfer.logs import get_logger

log = get_logger(__name__)

# The options that describe the architecture; with a start network they are taken from it.
ARCHITECTURE_OPTIONS = ("z_dim", "w_dim", "map_layers", "channel_base", "channel_max", "mixed_precision")


@dataclass
class StartNetworks:
    """The networks of ``gan.start_from``: constructor arguments and CPU state dicts."""

    path: Path
    kind: str  # 'official pickle', 'snapshot', 'networks' or 'generator'
    sha256: str
    G_kwargs: dict
    D_kwargs: dict | None  # None: the file holds no discriminator (D starts from a fresh initialisation)
    G: dict
    G_ema: dict
    D: dict | None

    @property
    def resolution(self) -> int:
        return int(self.G_kwargs["img_resolution"])

    def describe(self) -> str:
        return f"{self.path} ({self.kind}, {self.resolution}², {'G, D, G_ema' if self.D else 'G_ema only'})"


def read_start_networks(path: PathLike) -> StartNetworks:
    """Read G, D and G_ema from an official ``.pkl`` or a synthfer ``.pt``.

    A generator-only checkpoint gives ``G = G_ema`` and no D. Raises ``FileNotFoundError`` or ``ValueError``
    naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"gan.start_from: {path} does not exist")
    if path.suffix == ".pkl":
        from synthfer.gan.pkl import load_official_pkl

        net = load_official_pkl(path, with_discriminator=True)

        def sd(module):
            return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}

        G_ema = sd(net["G_ema"])
        return StartNetworks(
            path=path,
            kind="official pickle",
            sha256=sha256_file(path),
            G_kwargs=net["G_kwargs"],
            D_kwargs=net["D_kwargs"] if "D" in net else None,
            G=sd(net["G"]) if "G" in net else G_ema,
            G_ema=G_ema,
            D=sd(net["D"]) if "D" in net else None,
        )
    from synthfer.gan.api import read_checkpoint

    ck = read_checkpoint(path)
    kind = str(ck.get("kind"))
    if "G_ema" not in ck or "G_kwargs" not in ck:
        raise ValueError(f"gan.start_from: {path} holds no generator (checkpoint kind {kind!r})")
    has_D = "D" in ck and "D_kwargs" in ck
    return StartNetworks(
        path=path,
        kind=kind,
        sha256=sha256_file(path),
        G_kwargs=dict(ck["G_kwargs"]),
        D_kwargs=dict(ck["D_kwargs"]) if has_D else None,
        G=ck["G"] if "G" in ck else ck["G_ema"],
        G_ema=ck["G_ema"],
        D=ck["D"] if has_D else None,
    )


def check_resolution(start: StartNetworks, resolution: int, dataset: PathLike) -> None:
    """Refuse a start network whose resolution is not the data set's."""
    if start.resolution != int(resolution):
        raise ValueError(
            f"gan.start_from: {start.path} is a {start.resolution}² network but the data set {dataset} is "
            f"{int(resolution)}² (gan.resolution). Fix: set gan.resolution to {start.resolution} (and rebuild "
            f"the data set) or start from a {int(resolution)}² network."
        )


def architecture_options(G_kwargs: dict) -> dict[str, Any]:
    """The architecture options (:data:`ARCHITECTURE_OPTIONS`) that describe ``G_kwargs``, for the run's config."""
    syn = dict(G_kwargs.get("synthesis_kwargs") or {})
    mp = dict(G_kwargs.get("mapping_kwargs") or {})
    return dict(
        z_dim=int(G_kwargs["z_dim"]),
        w_dim=int(G_kwargs["w_dim"]),
        map_layers=int(mp.get("num_layers", 8)),
        channel_base=int(syn.get("channel_base", 32768)),
        channel_max=int(syn.get("channel_max", 512)),
        mixed_precision=bool(syn.get("num_fp16_res", 0)),
    )


def discriminator_kwargs_for(start: StartNetworks, mbstd_group: int) -> dict:
    """D's constructor arguments: the start network's, or (without a stored D) matching its generator.

    The minibatch-standard-deviation group size is a training choice (it changes no weight), so it comes
    from the run's config as in the official code.
    """
    if start.D_kwargs is not None:
        D_kwargs = dict(start.D_kwargs)
    else:
        syn = dict(start.G_kwargs.get("synthesis_kwargs") or {})
        D_kwargs = dict(
            c_dim=0,
            img_resolution=start.resolution,
            img_channels=int(start.G_kwargs.get("img_channels", 3)),
            **{k: syn[k] for k in ("channel_base", "channel_max", "num_fp16_res", "conv_clamp") if k in syn},
        )
    D_kwargs["mbstd_group_size"] = int(mbstd_group)
    return D_kwargs


def discriminator_layers(D) -> list[tuple[str, Any]]:
    """The discriminator's layers in the official ``--freezed`` order: ``[(name, module), …]``.

    Block by block from the highest resolution (``b{res}``): ``fromrgb`` (first block), ``conv0``, ``conv1``,
    ``skip``. The epilogue (``b4``) is not counted.
    """
    layers = []
    for res in D.block_resolutions:
        block = getattr(D, f"b{res}")
        for name in ("fromrgb", "conv0", "conv1", "skip"):
            layer = getattr(block, name, None)
            if layer is not None:
                layers.append((f"b{res}.{name}", layer))
    return layers


def frozen_parameter_names(D, freeze_d: int) -> set[str]:
    """Names (as in ``D.named_parameters()``) of the parameters of the first ``freeze_d`` layers."""
    layers = discriminator_layers(D)
    if not 0 <= int(freeze_d) <= len(layers):
        raise ValueError(
            f"gan.freeze_d = {freeze_d}: this {D.img_resolution}² discriminator has {len(layers)} freezable layers "
            f"(0 … {len(layers)}; the epilogue is never frozen)"
        )
    names = set()
    for prefix, layer in layers[: int(freeze_d)]:
        names |= {f"{prefix}.{n}" for n, _ in layer.named_parameters()}
    return names


# What the official train.py changes when it resumes from a pickle (--resume): ADA reacts faster at the
# start and the EMA has no ramp-up (so G_ema starts as the pretrained G_ema, not as G).
OFFICIAL_TRANSFER_OPTIONS = {"ada_kimg": 100, "ema_rampup": 0}


def transfer_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with :data:`OFFICIAL_TRANSFER_OPTIONS` applied where the option is at its default (an
    explicitly different value is kept)."""
    from synthfer.gan.options import DEFAULTS

    out = dict(options)
    for key, value in OFFICIAL_TRANSFER_OPTIONS.items():
        if out.get(key, DEFAULTS[key]) == DEFAULTS[key]:
            out[key] = value
    return out
