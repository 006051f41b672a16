"""Read official StyleGAN2-ADA ``network-snapshot-*.pkl`` files without NVIDIA's code.

An official snapshot is a plain pickle of ``{'training_set_kwargs', 'G', 'D', 'G_ema', 'augment_pipe'}``
(``augment_pipe`` is ``None`` without augmentation). Every network object was pickled through NVIDIA's
"persistence" mechanism: it reduces to a call of ``torch_utils.persistence._reconstruct_persistent_obj(meta)``
where ``meta`` holds ``type`` ('class'), ``version`` (6), ``module_src`` (the full source of the defining
module), ``class_name`` and ``state`` (the object's ``__dict__``: ``_parameters``, ``_buffers``, ``_modules``,
``_init_args``, ``_init_kwargs`` and plain attributes). The official loader *executes* ``module_src``; that is
arbitrary code execution, and needs NVIDIA's ``torch_utils``/``dnnlib`` on the path.

:class:`RestrictedUnpickler` instead resolves exactly the globals a genuine snapshot holds and refuses
everything else:

=========================================================  ==================================================
``torch_utils.persistence._reconstruct_persistent_obj``     → :class:`PersistentStub` (``module_src`` is never run)
``dnnlib.util.EasyDict``                                    → :class:`EasyDict` (a dict with attribute access)
``torch._utils._rebuild_tensor_v2``, ``_rebuild_tensor``,
``_rebuild_parameter``, ``_rebuild_parameter_with_state``   → torch's own tensor rebuild functions
``torch.storage._load_from_bytes``                          → ``torch.load(bytes, weights_only=True)``
``collections.OrderedDict``, ``builtins.set``/``frozenset`` → themselves
``numpy.dtype``                                             → numeric dtypes only (kinds ``b i u f c``)
``numpy._core.multiarray.scalar`` (numpy ≥ 2) and
``numpy.core.multiarray.scalar`` (numpy < 2)                → a numpy scalar of a numeric dtype from its bytes
=========================================================  ==================================================

The numpy entries are there because the official layers keep gains such as ``weight_gain = 1/np.sqrt(fan_in)``
as numpy float64 attributes; every published FFHQ/MetFaces/AFHQ pickle was written with numpy < 2 and spells the
scalar constructor ``numpy.core.multiarray.scalar``. A dtype is accepted only as a short numeric code
(``'f8'``, ``'i4'``…) with no fields, sub-array or metadata; a scalar only from exactly ``itemsize`` bytes.

The stub tree is walked into a flat state dict (``mapping.fc0.weight``, ``synthesis.b4.conv1.affine.weight``,
``b256.fromrgb.weight``…: our modules use the same names, so the mapping is the identity) and loaded into
our :class:`~synthfer.gan.networks.Generator` / ``Discriminator`` rebuilt from the stored ``_init_kwargs``.
The equalised-lr gains (``lr_mul/sqrt(fan_in)``, mapping ``lr_mul`` 0.01) stored as attributes are not used;
our layers apply the same gains at run time from the same constructor arguments, so the stored raw weights
are used unchanged. Layers frozen with the official ``--freezed`` keep their weights as buffers instead of
parameters; the walk reads both. Buffers that are constants of the official implementation and do not exist
in ours (the discriminator blocks' ``resample_filter``) are ignored; every parameter of ours must be present.

What is refused, each with one line saying what the file is: conditional networks (``c_dim > 0``), StyleGAN3
pickles (alias-free generator, ``SynthesisInput``), TensorFlow-era pickles (``dnnlib.tflib``), and any other
global.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
from pathlib import Path
from typing import Any

from synthfer.gan import NetworkFileError
from synthfer.logs import get_logger

log = get_logger(__name__)

PERSISTENCE = ("torch_utils.persistence", "_reconstruct_persistent_obj")
EASYDICT = ("dnnlib.util", "EasyDict")
NUMPY_SCALAR = {("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar")}
NUMPY_DTYPE = ("numpy", "dtype")
TORCH_REBUILD = ("_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_parameter", "_rebuild_parameter_with_state")

SUPPORTED = "synthfer imports StyleGAN2-ADA PyTorch pickles (NVlabs/stylegan2-ada-pytorch network-snapshot-*.pkl)"
# Class names that exist only in NVlabs/stylegan3's alias-free generator (networks_stylegan3.py).
STYLEGAN3_CLASSES = frozenset({"SynthesisInput"})

# Constructor arguments we understand and the values we support where we only implement one choice.
G_SYNTHESIS_KEYS = {"channel_base", "channel_max", "num_fp16_res", "conv_clamp"}
G_SYNTHESIS_FIXED = {
    "architecture": "skip",
    "resample_filter": [1, 3, 3, 1],
    "use_noise": True,
    "kernel_size": 3,
    "activation": "lrelu",
}
G_SYNTHESIS_IGNORED = {"channels_last", "fp16_channels_last", "fused_modconv_default"}
G_MAPPING_KEYS = {"num_layers", "lr_multiplier", "w_avg_beta"}
D_KEYS = {"c_dim", "img_resolution", "img_channels", "channel_base", "channel_max", "num_fp16_res", "conv_clamp"}
D_FIXED = {"architecture": "resnet", "resample_filter": [1, 3, 3, 1], "cmap_dim": None}
D_BLOCK_FIXED = {"activation": "lrelu", "resample_filter": [1, 3, 3, 1]}
# freeze_layers is a training choice (FreezeD), not part of the network's function.
D_BLOCK_IGNORED = {"freeze_layers", "fp16_channels_last"}
D_EPILOGUE_FIXED = {"activation": "lrelu"}


class OfficialPickleError(NetworkFileError):
    """A pickle that is not (or not a supported) official StyleGAN2-ADA PyTorch network; the message is one
    line naming the file and what it is."""


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

    def children(self) -> dict[str, Any]:
        return dict(self.state.get("_modules") or {})

    def class_names(self) -> set[str]:
        """This object's class name and those of all its sub-modules."""
        names = {self.class_name}
        for child in self.children().values():
            if isinstance(child, PersistentStub):
                names |= child.class_names()
        return names

    def state_dict(self, prefix: str = "") -> dict:
        """Flatten ``_parameters`` and ``_buffers`` of this object and its ``_modules`` (dotted names)."""
        out = {}
        for group in ("_parameters", "_buffers"):
            for name, t in (self.state.get(group) or {}).items():
                if t is not None:
                    out[prefix + name] = t.detach() if hasattr(t, "detach") else t
        for name, child in self.children().items():
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


_NUMERIC_DTYPE_CODE = re.compile(r"[biufc][0-9]{1,2}")


class NumericDtype:
    """What ``numpy.dtype(code, align, copy)`` + ``__setstate__`` becomes: a plain numeric dtype.

    numpy pickles a dtype as ``dtype('f8', False, True)`` followed by the state ``(3, '<', None, None, None,
    -1, -1, 0)`` (version, byte order, sub-array, names, fields, item size, alignment, flags). Only short
    numeric codes and states without sub-array, fields or metadata are accepted.
    """

    def __init__(self, code: Any, align: Any = False, copy: Any = True):
        import numpy as np

        if not isinstance(code, str) or not _NUMERIC_DTYPE_CODE.fullmatch(code):
            raise pickle.UnpicklingError(f"refusing numpy dtype {code!r}: only numeric dtypes (e.g. 'f8') are allowed")
        try:
            self.dtype = np.dtype(code)
        except TypeError as exc:
            raise pickle.UnpicklingError(f"refusing numpy dtype {code!r}: {exc}") from None
        if self.dtype.kind not in "biufc":
            raise pickle.UnpicklingError(f"refusing numpy dtype {code!r}: only numeric dtypes are allowed")

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 5 or any(s is not None for s in state[2:5]):
            raise pickle.UnpicklingError(f"refusing numpy dtype state {state!r}: fields or sub-arrays are not allowed")
        if len(state) > 8 and state[8]:
            raise pickle.UnpicklingError("refusing numpy dtype with metadata")
        order = state[1]
        if order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"refusing numpy dtype byte order {order!r}")
        if order in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(order)


def _numeric_scalar(dtype: Any, data: Any = None):
    """``numpy.core.multiarray.scalar(dtype, bytes)`` for numeric dtypes only."""
    import numpy as np

    if not isinstance(dtype, NumericDtype):
        raise pickle.UnpicklingError("refusing a numpy scalar whose dtype is not a plain numeric dtype")
    if not isinstance(data, bytes) or len(data) != dtype.dtype.itemsize:
        raise pickle.UnpicklingError(f"refusing a numpy scalar of dtype {dtype.dtype}: bad payload")
    return np.frombuffer(data, dtype=dtype.dtype)[0].copy()


def _tf_era_error(module: str, name: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(
        f"a TensorFlow-era StyleGAN/StyleGAN2 pickle ({module}.{name}); {SUPPORTED}: convert it first with "
        f"NVIDIA's stylegan2-ada-pytorch `python legacy.py --source=X.pkl --dest=Y.pkl`"
    )


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that knows only the globals listed in the module docstring."""

    def find_class(self, module: str, name: str):
        import torch._utils

        if (module, name) == PERSISTENCE:
            return _reconstruct_persistent_obj
        if (module, name) == EASYDICT:
            return EasyDict
        if module == "torch._utils" and name in TORCH_REBUILD:
            return getattr(torch._utils, name)
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _load_from_bytes
        if (module, name) == ("collections", "OrderedDict"):
            from collections import OrderedDict

            return OrderedDict
        if module == "builtins" and name in ("set", "frozenset"):
            return {"set": set, "frozenset": frozenset}[name]
        if (module, name) == NUMPY_DTYPE:
            return NumericDtype
        if (module, name) in NUMPY_SCALAR:
            return _numeric_scalar
        if module.startswith("dnnlib.tflib"):
            raise _tf_era_error(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name}: not a tensor, a numeric scalar, a container or a "
            f"StyleGAN2-ADA persistent network ({SUPPORTED})"
        )


_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}


def scan_pickle(path: str | Path, strings: frozenset[str] | set[str] = frozenset()) -> tuple[set[str], set[str]]:
    """Statically list a pickle's globals (``module.name``) and which of ``strings`` occur in it.

    Reads the opcodes with :func:`pickletools.genops`; nothing is constructed or executed. ``STACK_GLOBAL``
    names are resolved from the two strings pushed before it (directly or through the memo).
    """
    found_globals: set[str] = set()
    found_strings: set[str] = set()
    last: list[Any] = []  # what each opcode left on top of the stack, if it was a string
    memo: dict[int, Any] = {}
    with open(path, "rb") as fh:
        for op, arg, _pos in pickletools.genops(fh):
            top = None
            if op.name in _STRING_OPS:
                top = arg
                if arg in strings:
                    found_strings.add(arg)
            elif op.name == "MEMOIZE":
                memo[len(memo)] = last[-1] if last else None
                continue
            elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = last[-1] if last else None
                continue
            elif op.name in ("GET", "BINGET", "LONG_BINGET"):
                top = memo.get(int(arg))
            elif op.name == "GLOBAL":
                found_globals.add(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(last) >= 2:
                found_globals.add(f"{last[-2]}.{last[-1]}")
            last.append(top)
            del last[:-2]
    return found_globals, found_strings


def _what_is_it(path: Path) -> str | None:
    """A one-line description of a known unsupported network pickle, from a static scan; else None."""
    try:
        globs, strings = scan_pickle(path, STYLEGAN3_CLASSES)
    except Exception:  # noqa: BLE001 - the scan only refines an error message
        return None
    if strings & STYLEGAN3_CLASSES:
        return f"a StyleGAN3 network (alias-free generator, NVlabs/stylegan3); {SUPPORTED}"
    tf = sorted(g for g in globs if g.startswith("dnnlib.tflib"))
    if tf:
        return str(_tf_era_error(*tf[0].rsplit(".", 1)))
    return None


def read_official_pkl(path: str | Path) -> dict:
    """Unpickle an official snapshot into :class:`PersistentStub` objects (nothing is executed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pickle {path} does not exist")
    with open(path, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":  # a zip: torch.save's format, i.e. a synthfer .pt, not a pickle
            raise OfficialPickleError(
                f"{path}: a torch/synthfer checkpoint (zip), not an official StyleGAN2-ADA pickle. Fix: use it "
                "directly (synthfer generate --network, gan.start_from, gan-info); import-pkl converts official .pkl files"
            )
        fh.seek(0)
        try:
            data = RestrictedUnpickler(fh).load()
        except pickle.UnpicklingError as exc:
            raise OfficialPickleError(f"{path}: {_what_is_it(path) or exc}") from None
        except (EOFError, ValueError, TypeError, AttributeError, KeyError, RuntimeError, IndexError) as exc:
            raise OfficialPickleError(
                f"{path}: not a readable StyleGAN2-ADA pickle ({type(exc).__name__}: {exc})"
            ) from None
    if not isinstance(data, dict) or not isinstance(data.get("G_ema"), PersistentStub):
        raise OfficialPickleError(
            f"{path}: no 'G_ema' network in the pickle (is it a StyleGAN2-ADA network-snapshot pickle?)"
        )
    if data["G_ema"].class_names() & STYLEGAN3_CLASSES:
        raise OfficialPickleError(f"{path}: a StyleGAN3 network (alias-free generator, NVlabs/stylegan3); {SUPPORTED}")
    return data


def _same(value: Any, want: Any) -> bool:
    if isinstance(want, list):
        return isinstance(value, (list, tuple)) and list(value) == want
    return value == want


def _check_fixed(kwargs: dict, fixed: dict, where: str, path: Path) -> None:
    for k, v in fixed.items():
        if k in kwargs and kwargs[k] is not None and not _same(kwargs[k], v):
            raise OfficialPickleError(f"{path}: {where}.{k} = {kwargs[k]!r} is not supported (only {v!r})")


def _check_unconditional(init: dict, what: str, path: Path) -> None:
    c_dim = int(init.get("c_dim") or 0)
    if c_dim:
        raise OfficialPickleError(
            f"{path}: a conditional network ({what}.c_dim = {c_dim}: one class label per image, like NVIDIA's "
            f"cifar10.pkl); synthfer trains and generates unconditional networks only (c_dim 0)"
        )


def generator_kwargs_from_official(init: dict, path: Path) -> dict:
    """Our Generator's constructor arguments from an official ``G._init_kwargs``."""
    _check_unconditional(init, "G", path)
    syn = dict(init.get("synthesis_kwargs") or {})
    mp = dict(init.get("mapping_kwargs") or {})
    _check_fixed(syn, G_SYNTHESIS_FIXED, "synthesis_kwargs", path)
    unknown = set(syn) - G_SYNTHESIS_KEYS - set(G_SYNTHESIS_FIXED) - G_SYNTHESIS_IGNORED
    if unknown:
        raise OfficialPickleError(f"{path}: unsupported synthesis_kwargs {sorted(unknown)}")
    w_dim = int(init["w_dim"])
    for k, want in (("layer_features", w_dim), ("embed_features", w_dim), ("activation", "lrelu")):
        if mp.get(k) not in (None, want):
            raise OfficialPickleError(f"{path}: mapping_kwargs.{k} = {mp[k]!r} is not supported")
    unknown = set(mp) - G_MAPPING_KEYS - {"layer_features", "embed_features", "activation"}
    if unknown:
        raise OfficialPickleError(f"{path}: unsupported mapping_kwargs {sorted(unknown)}")
    return dict(
        z_dim=int(init["z_dim"]),
        c_dim=0,
        w_dim=w_dim,
        img_resolution=int(init["img_resolution"]),
        img_channels=int(init["img_channels"]),
        mapping_kwargs={k: v for k, v in mp.items() if k in G_MAPPING_KEYS},
        synthesis_kwargs={k: v for k, v in syn.items() if k in G_SYNTHESIS_KEYS},
    )


def discriminator_kwargs_from_official(init: dict, path: Path) -> dict:
    """Our Discriminator's constructor arguments from an official ``D._init_kwargs``."""
    init = dict(init)
    _check_unconditional(init, "D", path)
    _check_fixed(init, D_FIXED, "D", path)
    block = dict(init.get("block_kwargs") or {})
    _check_fixed(block, D_BLOCK_FIXED, "D.block_kwargs", path)
    unknown = set(block) - set(D_BLOCK_FIXED) - D_BLOCK_IGNORED
    if unknown:
        raise OfficialPickleError(f"{path}: unsupported D.block_kwargs {sorted(unknown)}")
    epi = dict(init.get("epilogue_kwargs") or {})
    _check_fixed(epi, D_EPILOGUE_FIXED, "D.epilogue_kwargs", path)
    unknown = set(epi) - set(D_EPILOGUE_FIXED) - {"mbstd_group_size", "mbstd_num_channels"}
    if unknown:
        raise OfficialPickleError(f"{path}: unsupported D.epilogue_kwargs {sorted(unknown)}")
    # mapping_kwargs only matter for a conditional D (refused above).
    unknown = set(init) - D_KEYS - set(D_FIXED) - {"block_kwargs", "mapping_kwargs", "epilogue_kwargs"}
    if unknown:
        raise OfficialPickleError(f"{path}: unsupported discriminator kwargs {sorted(unknown)}")
    out = {k: v for k, v in init.items() if k in D_KEYS}
    for k in ("mbstd_group_size", "mbstd_num_channels"):
        if k in epi:
            out[k] = epi[k]
    return out


def _load_into(module, stub: PersistentStub, path: Path, what: str) -> None:
    import torch

    sd = stub.state_dict()
    own = module.state_dict()
    params = {n for n, _ in module.named_parameters()}
    missing = sorted(n for n in own if n not in sd and (n in params or not n.endswith("resample_filter")))
    if missing:
        raise OfficialPickleError(
            f"{path}: {what} lacks {len(missing)} tensor(s) our network needs, e.g. {missing[:3]}"
        )
    for n, t in own.items():
        if n in sd and tuple(sd[n].shape) != tuple(t.shape):
            raise OfficialPickleError(f"{path}: {what}.{n} has shape {tuple(sd[n].shape)}, expected {tuple(t.shape)}")
    extra = sorted(set(sd) - set(own))
    if extra:
        log.info("%s: ignoring %d constant buffer(s) of the official %s, e.g. %s", path, len(extra), what, extra[:2])
    with torch.no_grad():
        module.load_state_dict({n: sd[n].to(t.dtype) for n, t in own.items() if n in sd}, strict=False)


def load_official_pkl(path: str | Path, with_discriminator: bool = False) -> dict:
    """Rebuild our networks from an official pickle.

    Returns ``{'G_ema', 'G' (if stored), 'D' (if asked and stored), 'augment_p' (None without an augment
    pipe), 'G_kwargs', 'D_kwargs' (None without D), 'init_kwargs' (= G_kwargs)}``. The networks come back in
    eval mode without gradients, on the CPU. Raises :class:`OfficialPickleError` (one line) for anything that
    is not a supported StyleGAN2-ADA PyTorch network.
    """
    from synthfer.gan.networks import Discriminator, Generator

    path = Path(path)
    data = read_official_pkl(path)
    G_kwargs = generator_kwargs_from_official(data["G_ema"].init_kwargs, path)
    out: dict[str, Any] = {"init_kwargs": G_kwargs, "G_kwargs": G_kwargs, "D_kwargs": None}
    for key in ("G_ema", "G"):
        stub = data.get(key)
        if isinstance(stub, PersistentStub):
            if key == "G":
                generator_kwargs_from_official(stub.init_kwargs, path)  # same checks (e.g. c_dim) on G
            G = Generator(**G_kwargs)
            _load_into(G, stub, path, key)
            out[key] = G.eval().requires_grad_(False)
    if isinstance(data.get("D"), PersistentStub):
        D_kwargs = discriminator_kwargs_from_official(data["D"].init_kwargs, path)
        out["D_kwargs"] = D_kwargs
        if with_discriminator:
            D = Discriminator(**D_kwargs)
            _load_into(D, data["D"], path, "D")
            out["D"] = D.eval().requires_grad_(False)
    pipe = data.get("augment_pipe")
    p = None
    if isinstance(pipe, PersistentStub):
        t = (pipe.state.get("_buffers") or {}).get("p")
        p = float(t) if t is not None else None
    out["augment_p"] = p
    log.info("read %s: %s, %d² (%d ws)", path, ", ".join(k for k in ("G_ema", "G", "D") if k in out),
             G_kwargs["img_resolution"], out["G_ema"].num_ws)  # fmt: skip
    return out


def import_official_pkl(pkl_path: str | Path, out_path: str | Path) -> Path:
    """Convert an official pickle to a synthfer checkpoint of kind ``"networks"``.

    It holds ``G_kwargs``, ``D_kwargs`` and the state dicts ``G``, ``D``, ``G_ema`` (those the pickle has),
    ``augment_p`` and ``source`` (file name and SHA-256 of the pickle): enough to generate from it
    (:func:`~synthfer.gan.api.load_generator`) and to start training from it (``gan.start_from``), but no
    optimiser state, so it cannot be resumed exactly.
    """

    from synthfer.gan import CHECKPOINT_FORMAT
    from synthfer.gan.checkpoint import write_checkpoint
    from synthfer.io import provenance, sha256_file

    pkl_path, out_path = Path(pkl_path), Path(out_path)
    if out_path.suffix == ".pkl":
        raise OfficialPickleError(
            f"{out_path}: the output would be a torch file named .pkl (read back as an official pickle, and "
            f"{'it would replace the input' if out_path.resolve() == pkl_path.resolve() else 'easily mistaken for one'}). "
            f"Fix: name the output {out_path.with_suffix('.pt').name}"
        )
    if out_path.exists() and pkl_path.exists() and out_path.resolve() == pkl_path.resolve():
        raise OfficialPickleError(f"{out_path}: output and input are the same file. Fix: give another output path")
    net = load_official_pkl(pkl_path, with_discriminator=True)
    ckpt: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "kind": "networks",
        "G_kwargs": net["G_kwargs"],
        "augment_p": net["augment_p"],
        "source": {"file": pkl_path.name, "sha256": sha256_file(pkl_path), "format": "stylegan2-ada-pytorch pickle"},
        "provenance": {k: str(v) for k, v in provenance().items()},
    }
    if "D" in net:
        ckpt["D_kwargs"] = net["D_kwargs"]
    for key in ("G", "D", "G_ema"):
        if key in net:
            ckpt[key] = {k: v.detach().cpu() for k, v in net[key].state_dict().items()}
    write_checkpoint(out_path, ckpt)
    log.info("wrote %s (%s)", out_path, ", ".join(k for k in ("G", "D", "G_ema") if k in ckpt))
    return Path(out_path)
