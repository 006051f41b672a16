"""Read official StyleGAN2-ADA ``network-snapshot-*.pkl`` files without NVIDIA's code.

An official snapshot is a plain pickle of ``{'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs'}``.
Every network object was pickled through NVIDIA's "persistence" mechanism: it reduces to a call of
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` where ``meta`` holds ``type`` ('class'),
``version`` (6), ``module_src`` (the full source of the defining module), ``class_name`` and ``state``
(the object's ``__dict__``: ``_parameters``, ``_buffers``, ``_modules``, ``_init_kwargs``, attributes).
The official loader *executes* ``module_src``; that is arbitrary code execution, and needs NVIDIA's
``torch_utils``/``dnnlib`` on the path.

:class:`RestrictedUnpickler` instead resolves exactly these globals and refuses everything else:

==============================================  =====================================================
``torch_utils.persistence._reconstruct_persistent_obj``  → :class:`PersistentStub` (``module_src`` is never run)
``dnnlib.util.EasyDict``                        → :class:`EasyDict` (a dict with attribute access)
``torch._utils._rebuild_tensor_v2``, ``_rebuild_tensor``, ``_rebuild_parameter``,
``_rebuild_parameter_with_state``               → torch's own tensor rebuild functions
``torch.storage._load_from_bytes``              → ``torch.load(bytes, weights_only=True)``
``collections.OrderedDict``, ``builtins.set``/``frozenset``  → themselves
==============================================  =====================================================

The stub tree is walked into a flat state dict (``mapping.fc0.weight``, ``synthesis.b4.conv1.affine.weight``,
``b256.fromrgb.weight``…: our modules use the same names, so the mapping is the identity) and loaded into
our :class:`~synthfer.gan.networks.Generator` / ``Discriminator`` rebuilt from the stored ``_init_kwargs``.
The equalised-lr gains (``lr_mul/sqrt(fan_in)``, mapping ``lr_mul`` 0.01) are not stored; our layers
apply the same gains at run time from the same constructor arguments, so the stored raw weights are used
unchanged. Buffers that are constants of the official implementation and do not exist in ours (e.g. the
discriminator blocks' ``resample_filter``) are ignored; every parameter of ours must be present.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from synthfer.logs import get_logger

log = get_logger(__name__)

PERSISTENCE = ("torch_utils.persistence", "_reconstruct_persistent_obj")
EASYDICT = ("dnnlib.util", "EasyDict")

# Constructor arguments we understand and the values we support where we only implement one choice.
G_SYNTHESIS_KEYS = {"channel_base", "channel_max", "num_fp16_res", "conv_clamp"}
G_SYNTHESIS_FIXED = {"architecture": "skip", "resample_filter": [1, 3, 3, 1], "use_noise": True, "kernel_size": 3}
G_SYNTHESIS_IGNORED = {"channels_last", "fp16_channels_last", "fused_modconv_default"}
G_MAPPING_KEYS = {"num_layers", "lr_multiplier", "w_avg_beta"}
D_KEYS = {"c_dim", "img_resolution", "img_channels", "channel_base", "channel_max", "num_fp16_res", "conv_clamp"}
D_FIXED = {"architecture": "resnet", "resample_filter": [1, 3, 3, 1], "cmap_dim": None}
D_IGNORED = {"block_kwargs", "mapping_kwargs"}


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a dict whose keys are also attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


class PersistentStub:
    """What a persistent object becomes: its class name and stored ``__dict__`` (``state``)."""

    def __init__(self, class_name: str, state: dict):
        self.class_name = class_name
        self.state = state

    @property
    def init_kwargs(self) -> dict:
        return dict(self.state.get("_init_kwargs") or {})

    def state_dict(self, prefix: str = "") -> dict:
        """Flatten ``_parameters`` and ``_buffers`` of this object and its ``_modules`` (dotted names)."""
        out = {}
        for group in ("_parameters", "_buffers"):
            for name, t in (self.state.get(group) or {}).items():
                if t is not None:
                    out[prefix + name] = t.detach() if hasattr(t, "detach") else t
        for name, child in (self.state.get("_modules") or {}).items():
            if isinstance(child, PersistentStub):
                out.update(child.state_dict(prefix + name + "."))
            elif child is not None:
                raise pickle.UnpicklingError(f"module {prefix + name} is not a persistent object")
        return out


def _reconstruct_persistent_obj(meta: Any) -> PersistentStub:
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise pickle.UnpicklingError("persistent object of an unsupported type (expected type 'class')")
    if meta.get("version") != 6:
        raise pickle.UnpicklingError(f"persistent object version {meta.get('version')!r}; only version 6 is supported")
    # meta['module_src'] is deliberately ignored: it is NVIDIA's source code and is never executed.
    return PersistentStub(str(meta.get("class_name")), dict(meta.get("state") or {}))


def _load_from_bytes(b: bytes):
    import torch

    return torch.load(io.BytesIO(b), map_location="cpu", weights_only=True)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that knows only the globals listed in the module docstring."""

    def find_class(self, module: str, name: str):
        import torch._utils

        if (module, name) == PERSISTENCE:
            return _reconstruct_persistent_obj
        if (module, name) == EASYDICT:
            return EasyDict
        if module == "torch._utils" and name in (
            "_rebuild_tensor_v2",
            "_rebuild_tensor",
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
        ):
            return getattr(torch._utils, name)
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _load_from_bytes
        if (module, name) == ("collections", "OrderedDict"):
            from collections import OrderedDict

            return OrderedDict
        if module == "builtins" and name in ("set", "frozenset"):
            return {"set": set, "frozenset": frozenset}[name]
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name}: not a tensor, a container or a StyleGAN2-ADA persistent "
            f"network (only official StyleGAN2-ADA PyTorch snapshots can be imported)"
        )


def read_official_pkl(path: str | Path) -> dict:
    """Unpickle an official snapshot into :class:`PersistentStub` objects (nothing is executed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pickle {path} does not exist")
    with open(path, "rb") as fh:
        try:
            data = RestrictedUnpickler(fh).load()
        except pickle.UnpicklingError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        except (EOFError, ValueError, TypeError, AttributeError, KeyError, RuntimeError) as exc:
            raise ValueError(f"{path}: not a readable StyleGAN2-ADA pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("G_ema"), PersistentStub):
        raise ValueError(f"{path}: no 'G_ema' network in the pickle (is it a StyleGAN2-ADA network-snapshot pickle?)")
    return data


def _check_fixed(kwargs: dict, fixed: dict, where: str, path: Path) -> None:
    for k, v in fixed.items():
        if k in kwargs and kwargs[k] != v and not (isinstance(v, list) and list(kwargs[k] or []) == v):
            raise ValueError(f"{path}: {where}.{k} = {kwargs[k]!r} is not supported (only {v!r})")


def generator_kwargs_from_official(init: dict, path: Path) -> dict:
    """Our Generator's constructor arguments from an official ``G._init_kwargs``."""
    syn = dict(init.get("synthesis_kwargs") or {})
    mp = dict(init.get("mapping_kwargs") or {})
    _check_fixed(syn, G_SYNTHESIS_FIXED, "synthesis_kwargs", path)
    unknown = set(syn) - G_SYNTHESIS_KEYS - set(G_SYNTHESIS_FIXED) - G_SYNTHESIS_IGNORED
    if unknown:
        raise ValueError(f"{path}: unsupported synthesis_kwargs {sorted(unknown)}")
    w_dim = int(init["w_dim"])
    for k, want in (("layer_features", w_dim), ("embed_features", w_dim), ("activation", "lrelu")):
        if mp.get(k) not in (None, want):
            raise ValueError(f"{path}: mapping_kwargs.{k} = {mp[k]!r} is not supported")
    unknown = set(mp) - G_MAPPING_KEYS - {"layer_features", "embed_features", "activation"}
    if unknown:
        raise ValueError(f"{path}: unsupported mapping_kwargs {sorted(unknown)}")
    return dict(
        z_dim=int(init["z_dim"]),
        c_dim=int(init.get("c_dim", 0)),
        w_dim=w_dim,
        img_resolution=int(init["img_resolution"]),
        img_channels=int(init["img_channels"]),
        mapping_kwargs={k: mp[k] for k in G_MAPPING_KEYS if k in mp},
        synthesis_kwargs={k: syn[k] for k in G_SYNTHESIS_KEYS if k in syn},
    )


def discriminator_kwargs_from_official(init: dict, path: Path) -> dict:
    """Our Discriminator's constructor arguments from an official ``D._init_kwargs``."""
    init = dict(init)
    _check_fixed(init, D_FIXED, "D", path)
    epi = dict(init.get("epilogue_kwargs") or {})
    unknown = set(init) - D_KEYS - set(D_FIXED) - D_IGNORED - {"epilogue_kwargs"}
    if unknown:
        raise ValueError(f"{path}: unsupported discriminator kwargs {sorted(unknown)}")
    out = {k: init[k] for k in D_KEYS if k in init}
    if "mbstd_group_size" in epi:
        out["mbstd_group_size"] = epi["mbstd_group_size"]
    if "mbstd_num_channels" in epi:
        out["mbstd_num_channels"] = epi["mbstd_num_channels"]
    return out


def _load_into(module, stub: PersistentStub, path: Path, what: str) -> None:
    import torch

    sd = stub.state_dict()
    own = module.state_dict()
    params = {n for n, _ in module.named_parameters()}
    missing = sorted(n for n in own if n not in sd and (n in params or not n.endswith("resample_filter")))
    if missing:
        raise ValueError(f"{path}: {what} lacks {len(missing)} tensor(s) our network needs, e.g. {missing[:3]}")
    for n, t in own.items():
        if n in sd and tuple(sd[n].shape) != tuple(t.shape):
            raise ValueError(f"{path}: {what}.{n} has shape {tuple(sd[n].shape)}, expected {tuple(t.shape)}")
    extra = sorted(set(sd) - set(own))
    if extra:
        log.info("%s: ignoring %d constant buffer(s) of the official %s, e.g. %s", path, len(extra), what, extra[:2])
    with torch.no_grad():
        module.load_state_dict({n: sd[n].to(t.dtype) for n, t in own.items() if n in sd}, strict=False)


def load_official_pkl(path: str | Path, with_discriminator: bool = False) -> dict:
    """Rebuild our networks from an official pickle: ``{'G_ema', 'G', 'D' (if asked), 'augment_p', 'init_kwargs'}``.

    The generators come back in eval mode without gradients, on the CPU.
    """
    from synthfer.gan.networks import Discriminator, Generator

    path = Path(path)
    data = read_official_pkl(path)
    G_kwargs = generator_kwargs_from_official(data["G_ema"].init_kwargs, path)
    out: dict[str, Any] = {"init_kwargs": G_kwargs}
    for key in ("G_ema", "G"):
        stub = data.get(key)
        if isinstance(stub, PersistentStub):
            G = Generator(**G_kwargs)
            _load_into(G, stub, path, key)
            out[key] = G.eval().requires_grad_(False)
    if with_discriminator and isinstance(data.get("D"), PersistentStub):
        D = Discriminator(**discriminator_kwargs_from_official(data["D"].init_kwargs, path))
        _load_into(D, data["D"], path, "D")
        out["D"] = D.eval().requires_grad_(False)
    pipe = data.get("augment_pipe")
    p = None
    if isinstance(pipe, PersistentStub):
        t = (pipe.state.get("_buffers") or {}).get("p")
        p = float(t) if t is not None else None
    out["augment_p"] = p
    log.info("read %s: %s, %d² (%d ws)", path, "G_ema" + (", G" if "G" in out else ""), G_kwargs["img_resolution"],
             out["G_ema"].num_ws)  # fmt: skip
    return out


def import_official_pkl(pkl_path: str | Path, out_path: str | Path) -> Path:
    """Convert an official pickle to a synthfer generator checkpoint (``.pt``, G_ema only)."""
    from synthfer.gan.api import save_generator

    net = load_official_pkl(pkl_path)
    save_generator(out_path, net["G_ema"])
    log.info("wrote %s", out_path)
    return Path(out_path)
