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


# ---------------------------------------------------------------------------------------------------------------
# Parse-time checks of the start network (standard library only: no torch at Snakefile parse time)


class _Opaque:
    """What every tensor, storage or array becomes when a network file is peeked at: nothing is rebuilt or run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


def _peek_unpickler(fh):
    import collections
    import pickle

    class Peek(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            if (module, name) == ("torch_utils.persistence", "_reconstruct_persistent_obj"):
                return lambda meta: dict((meta or {}).get("state") or {}, __class_name__=(meta or {}).get("class_name"))
            if (module, name) == ("dnnlib.util", "EasyDict"):
                return dict
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            if module.split(".")[0] in ("torch", "numpy", "_codecs"):
                return _Opaque
            raise pickle.UnpicklingError(f"global {module}.{name} is not part of a network file")

        def persistent_load(self, pid: Any) -> Any:
            return _Opaque()

    return Peek(fh)


def peek_network_resolution(path: str) -> int:
    """The image resolution of a synthfer ``.pt`` (its ``G_kwargs``) or an official StyleGAN2-ADA ``.pkl`` (its
    ``G_ema`` init arguments), read with a stub unpickler: no torch, no tensor is rebuilt, no code runs. Raises
    ``ValueError`` for a file that is neither."""
    import pickle
    import zipfile
    from pathlib import Path

    p = Path(path)
    try:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                name = next((n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"), None)
                if name is None:
                    raise ValueError("a zip file without a torch checkpoint inside")
                with z.open(name) as fh:
                    obj = _peek_unpickler(fh).load()
            kwargs = obj.get("G_kwargs") if isinstance(obj, dict) else None
        else:
            with open(p, "rb") as fh:
                obj = _peek_unpickler(fh).load()
            g = obj.get("G_ema") if isinstance(obj, dict) else None
            kwargs = g.get("_init_kwargs") if isinstance(g, dict) else None
        return int(kwargs["img_resolution"])
    except (pickle.UnpicklingError, EOFError, AttributeError, KeyError, TypeError, ValueError, IndexError,
            zipfile.BadZipFile) as exc:  # fmt: skip
        raise ValueError(f"not a StyleGAN2-ADA network file ({type(exc).__name__}: {exc})") from None


def check_start_network(
    start_from: str | None, resume_from: str | None, freeze_d: int | None, resolution: int | None
) -> list[str]:
    """Parse-time problems of ``gan.start_from`` / ``gan.resume_from`` / ``gan.freeze_d``, each one message naming
    the config key and the fix (empty list: none). Checks what the training job would otherwise find only after
    the alignment and the data set build: both start keys set; ``freeze_d`` without a pretrained network; a
    start network that does not exist, is not a ``.pkl``/``.pt`` network, or has another resolution than
    ``gan.resolution`` (read without torch: :func:`peek_network_resolution`). Meant for ``synthfer.config``'s
    parse-time ``check_config``."""
    from pathlib import Path

    errors = []
    if start_from and resume_from:
        errors.append(
            "gan.start_from and gan.resume_from are both set: start_from begins a new run from a network, "
            "resume_from continues a run exactly. Fix: set only one of them."
        )
    if freeze_d and not start_from and not resume_from:
        errors.append(
            f"gan.freeze_d = {freeze_d} freezes layers of a pretrained discriminator, but nothing is pretrained. "
            "Fix: set gan.start_from (or gan.freeze_d: 0)."
        )
    if start_from:
        p = Path(start_from)
        if not p.is_file():
            errors.append(f"gan.start_from: {p} does not exist. Fix: give the path of an official .pkl or a "
                          "synthfer .pt, or null.")  # fmt: skip
        elif p.suffix not in (".pkl", ".pt"):
            errors.append(f"gan.start_from: {p} is neither an official StyleGAN2-ADA .pkl nor a synthfer .pt. "
                          "Fix: give a network file.")  # fmt: skip
        else:
            try:
                res = peek_network_resolution(str(p))
            except ValueError as exc:
                errors.append(f"gan.start_from: {p} is {exc}. Fix: give an official StyleGAN2-ADA .pkl or a "
                              "synthfer .pt.")  # fmt: skip
            else:
                if resolution is not None and res != int(resolution):
                    errors.append(
                        f"gan.start_from: {p} is a {res}² network but gan.resolution is {int(resolution)}. Fix: set "
                        f"gan.resolution: {res}, or start from a {int(resolution)}² network."
                    )
    return errors
