"""Training options of StyleGAN2-ADA: the one place where their names and defaults are defined.

- :data:`DEFAULTS` — every training option of the ``gan:`` config section and its default (``None`` =
  derived by :func:`resolve_config` like the official ``--cfg=auto``). ``rules/gan.smk`` passes exactly these
  keys of the section to training (:func:`training_options`); the section's other keys are the rules' own
  (resolution, threads, device, …). ``config/schema/gan.schema.yaml`` documents and validates them;
  ``tests/test_gan_config.py`` checks that the schema has every option with the same default and that each
  other key of the schema is used by ``rules/gan.smk``.
- :data:`RESUME_MUST_MATCH` — the options whose change makes existing snapshots unusable for a resume.

Standard library only: ``rules/gan.smk`` imports this module at Snakefile parse time.
"""

from __future__ import annotations

from typing import Any

# Defaults of every training option; None = derived by resolve_config from resolution and batch.
DEFAULTS: dict[str, Any] = dict(
    total_kimg=5000,
    batch=None,
    gamma=None,
    ema_kimg=None,
    ema_rampup=0.05,
    lr=None,
    z_dim=512,
    w_dim=512,
    map_layers=2,
    channel_base=None,
    channel_max=512,
    mbstd_group=None,
    style_mixing=0.9,
    pl_weight=2.0,
    pl_batch_shrink=2,
    pl_decay=0.01,
    r1_interval=16,
    pl_interval=4,
    aug="ada",
    aug_resample="wavelet",
    p=0.0,
    ada_target=0.6,
    ada_interval=4,
    ada_kimg=500.0,
    mirror=True,
    kimg_per_tick=4.0,
    snapshot_ticks=10,
    grid_size=32,
    seed=0,
    mixed_precision=True,
    tf32=True,
    compile=False,
    time_margin_minutes=2.0,
    freeze_d=0,
)

# Options whose change makes existing snapshots unusable for a resume (they define the networks, the
# data or the optimisation). total_kimg, tick/snapshot cadence, time limits, tf32/compile and the
# augmentation's resampling method (the same transforms, interpolated more or less exactly) may change.
RESUME_MUST_MATCH = (
    "resolution", "batch", "gamma", "ema_kimg", "ema_rampup", "lr", "z_dim", "w_dim", "map_layers",
    "channel_base", "channel_max", "mbstd_group", "style_mixing", "pl_weight", "pl_batch_shrink", "pl_decay",
    "r1_interval", "pl_interval", "aug", "ada_target", "ada_interval", "ada_kimg", "mirror", "seed",
    "mixed_precision", "num_images", "freeze_d",
)  # fmt: skip


def training_options(section: dict[str, Any]) -> dict[str, Any]:
    """The training options of a ``gan:`` config section (its keys that are in :data:`DEFAULTS`)."""
    return {k: v for k, v in section.items() if k in DEFAULTS}


def resolve_config(options: dict[str, Any], resolution: int, num_images: int) -> dict[str, Any]:
    """Fill ``None`` options with the official ``auto`` config values for one GPU:

    ``batch = max(min(4096 // res, 32), 1)`` (16 at 256²), ``γ = 0.0002·res²/batch`` (0.8192 at 256²),
    ``ema_kimg = batch·10/32``, ``lr = 0.0025`` (0.002 at ≥ 1024²), ``channel_base = 16384`` below 512²
    else 32768, minibatch-std group ``min(batch, 4)``.
    """
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown gan training option(s): {sorted(unknown)}")
    cfg = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None or DEFAULTS[k] is None}}
    cfg["resolution"] = int(resolution)
    cfg["num_images"] = int(num_images)
    res = resolution
    if cfg["batch"] is None:
        cfg["batch"] = max(min(4096 // res, 32), 1)
    if cfg["gamma"] is None:
        cfg["gamma"] = 0.0002 * res**2 / cfg["batch"]
    if cfg["ema_kimg"] is None:
        cfg["ema_kimg"] = cfg["batch"] * 10 / 32
    if cfg["lr"] is None:
        cfg["lr"] = 0.002 if res >= 1024 else 0.0025
    if cfg["channel_base"] is None:
        cfg["channel_base"] = 32768 if res >= 512 else 16384
    if cfg["mbstd_group"] is None:
        cfg["mbstd_group"] = min(cfg["batch"], 4)
    if cfg["aug"] not in ("ada", "fixed", "noaug"):
        raise ValueError(f"gan aug must be 'ada', 'fixed' or 'noaug', not {cfg['aug']!r}")
    if cfg["aug_resample"] not in ("wavelet", "bilinear"):
        raise ValueError(f"gan aug_resample must be 'wavelet' or 'bilinear', not {cfg['aug_resample']!r}")
    if cfg["batch"] % cfg["mbstd_group"]:
        raise ValueError(f"gan batch {cfg['batch']} must be a multiple of mbstd_group {cfg['mbstd_group']}")
    if cfg["batch"] // cfg["pl_batch_shrink"] < 1:
        raise ValueError("gan batch // pl_batch_shrink must be at least 1")
    return cfg


def network_kwargs(cfg: dict[str, Any]) -> tuple[dict, dict]:
    """Generator and discriminator constructor arguments from a resolved config.

    Mixed precision: the 4 highest-resolution blocks run in bfloat16 on CUDA and activations are
    clamped to ±256 (``conv_clamp``, as the official fp16 setting); on CPU everything stays float32.
    """
    mp = bool(cfg["mixed_precision"])
    common = dict(channel_base=int(cfg["channel_base"]), channel_max=int(cfg["channel_max"]),
                  num_fp16_res=4 if mp else 0, conv_clamp=256 if mp else None)  # fmt: skip
    G_kwargs = dict(z_dim=int(cfg["z_dim"]), c_dim=0, w_dim=int(cfg["w_dim"]), img_resolution=int(cfg["resolution"]),
                    img_channels=3, mapping_kwargs=dict(num_layers=int(cfg["map_layers"])), synthesis_kwargs=common)  # fmt: skip
    D_kwargs = dict(
        c_dim=0,
        img_resolution=int(cfg["resolution"]),
        img_channels=3,
        mbstd_group_size=int(cfg["mbstd_group"]),
        **common,
    )
    return G_kwargs, D_kwargs
