"""Write synthfer networks as a pickle with the structure and global set of a genuine StyleGAN2-ADA snapshot.

A genuine ``network-snapshot-*.pkl`` (NVlabs/stylegan2-ada-pytorch, ``training_loop.py``) is
``pickle.dump({'training_set_kwargs', 'G', 'D', 'G_ema', 'augment_pipe'})`` of networks whose classes are
wrapped by NVIDIA's ``torch_utils.persistence``: each module pickles as
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with
``meta = {type: 'class', version: 6, module_src: <the defining module's source>, class_name, state}`` and
``state`` = the module's ``__dict__`` (torch's bookkeeping, ``_parameters``, ``_buffers``, ``_modules``, the
layer's attributes, ``_init_args``, ``_init_kwargs``). This builder writes the same layout from synthfer's
own modules (whose parameter and buffer names are the official ones), without any NVIDIA code:

- ``module_src`` is :data:`MODULE_SRC_PLACEHOLDER` (optionally a program that would leave a marker file if
  anyone executed it);
- each module's attributes are the official ones, with the official types: gains such as ``weight_gain``
  and ``act_gain`` as numpy float64 scalars, ``use_fp16``, ``conv_clamp``, ``first_layer_idx``…; the
  discriminator blocks carry the constant ``resample_filter`` buffer ours lack; layers frozen with
  ``freeze_layers`` keep their weights as buffers, as the official ``--freezed`` does;
- top-level ``_init_kwargs`` are what the official training loop passes (``mapping_kwargs``,
  ``synthesis_kwargs``, ``block_kwargs``… as ``dnnlib.util.EasyDict``); sub-modules get empty
  ``_init_args``/``_init_kwargs`` (nothing reads them: unpickling never calls a constructor);
- the augment pipe holds ``p`` and the official 'bgc' attributes; its wavelet buffers ``Hz_geom`` [12] and
  ``Hz_fbank`` [4, 43] have the official shapes but zero values (nothing reads them);
- numpy scalars are written as numpy 2 does (``numpy._core.multiarray.scalar``) or, with
  ``numpy_spelling="numpy1"``, as numpy < 2 wrote them (``numpy.core.multiarray.scalar``: every published
  NVIDIA pickle).

:data:`GENUINE_GLOBALS` is the global set of a genuine snapshot, listed with :func:`pickletools.genops`
from a pickle that NVIDIA's own ``training_loop.training_loop`` wrote (one minibatch on CPU, numpy 2.4,
torch 2.13, protocol 4, fp16 layers, ADA pipe). The pickle itself is not in the repository: it contains
NVIDIA's source code.

Command line (re-creates ``resources/demo_gan/demo-start.pkl``)::

    python tests/support/official_pickle.py CHECKPOINT.pt OUT.pkl [--numpy1]
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np

MODULE_SRC_PLACEHOLDER = "# module_src placeholder: synthfer test fixture, not NVIDIA's source\n"

GENUINE_GLOBALS = frozenset(
    {
        "collections.OrderedDict",
        "dnnlib.util.EasyDict",
        "numpy._core.multiarray.scalar",
        "numpy.dtype",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_tensor_v2",
        "torch.storage._load_from_bytes",
        "torch_utils.persistence._reconstruct_persistent_obj",
    }
)

# The official 'bgc' augment pipe's attributes (AugmentPipe with xflip … saturation = 1).
_BGC_ATTRS = dict(
    xflip=1.0, rotate90=1.0, xint=1.0, xint_max=0.125, scale=1.0, rotate=1.0, aniso=1.0, xfrac=1.0,
    scale_std=0.2, rotate_max=1.0, aniso_std=0.2, xfrac_std=0.125, brightness=1.0, contrast=1.0,
    lumaflip=1.0, hue=1.0, saturation=1.0, brightness_std=0.2, contrast_std=0.5, hue_max=1.0,
    saturation_std=1.0, imgfilter=0.0, imgfilter_bands=[1, 1, 1, 1], imgfilter_std=1.0, noise=0.0,
    cutout=0.0, noise_std=0.1, cutout_size=0.5,
)  # fmt: skip
_BGC_KWARGS = dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1, contrast=1,
                   lumaflip=1, hue=1, saturation=1)  # fmt: skip


class EasyDict(dict):
    """Pickled under the name ``dnnlib.util.EasyDict``."""


def _persistent_obj(meta):  # pickled under the official name; never called
    raise AssertionError("only written, never unpickled through this function")


def _numpy1_scalar(dtype, data):  # pickled as numpy.core.multiarray.scalar; never called
    raise AssertionError("only written, never unpickled through this function")


class AugmentPipeStandIn:
    """What the official snapshot stores for the augment pipe: ``p`` and the 'bgc' settings."""

    def __init__(self, p: float):
        self.p = float(p)


def official_G_kwargs(G_init: dict) -> dict:
    """The official ``G._init_kwargs`` for a synthfer generator's ``init_kwargs`` (training-loop layout)."""
    return {
        "z_dim": G_init["z_dim"],
        "w_dim": G_init["w_dim"],
        "mapping_kwargs": EasyDict(G_init.get("mapping_kwargs") or {}),
        "synthesis_kwargs": EasyDict(G_init.get("synthesis_kwargs") or {}),
        "c_dim": G_init.get("c_dim", 0),
        "img_resolution": G_init["img_resolution"],
        "img_channels": G_init["img_channels"],
    }


def official_D_kwargs(D_init: dict, freeze_layers: int = 0) -> dict:
    """The official ``D._init_kwargs`` for a synthfer discriminator's ``init_kwargs``."""
    block = EasyDict(freeze_layers=freeze_layers) if freeze_layers else EasyDict()
    epi = EasyDict(mbstd_group_size=D_init.get("mbstd_group_size", 4))
    if D_init.get("mbstd_num_channels", 1) != 1:
        epi["mbstd_num_channels"] = D_init["mbstd_num_channels"]
    return {
        "block_kwargs": block,
        "mapping_kwargs": EasyDict(),
        "epilogue_kwargs": epi,
        "channel_base": D_init.get("channel_base", 32768),
        "channel_max": D_init.get("channel_max", 512),
        "num_fp16_res": D_init.get("num_fp16_res", 0),
        "conv_clamp": D_init.get("conv_clamp"),
        "c_dim": D_init.get("c_dim", 0),
        "img_resolution": D_init["img_resolution"],
        "img_channels": D_init["img_channels"],
    }


def _f64(x: float) -> np.float64:
    return np.float64(x)


LRELU_DEF_GAIN = np.sqrt(2)  # numpy float64, as the official activation table stores it


class _Context:
    """What a module's official attributes need from its parents."""

    def __init__(self, img_resolution=None, img_channels=None, w_dim=None, freeze_layers=0):
        self.img_resolution, self.img_channels, self.w_dim = img_resolution, img_channels, w_dim
        self.freeze_layers = freeze_layers
        self.layer_idx = 0  # running discriminator layer index (FreezeD counts layers from the input)


def _official_attributes(m, name: str, ctx: _Context) -> dict[str, Any]:
    """The official module's plain attributes (names, values and types)."""
    if name == "Generator":
        return dict(z_dim=m.z_dim, c_dim=m.c_dim, w_dim=m.w_dim, img_resolution=m.img_resolution,
                    img_channels=m.img_channels, num_ws=m.num_ws)  # fmt: skip
    if name == "SynthesisNetwork":
        return dict(w_dim=m.w_dim, img_resolution=m.img_resolution, img_resolution_log2=m.resolution_log2,
                    img_channels=m.img_channels, block_resolutions=list(m.block_resolutions), num_ws=m.num_ws)  # fmt: skip
    if name == "SynthesisBlock":
        return dict(in_channels=m.in_channels, w_dim=ctx.w_dim, resolution=m.resolution, img_channels=ctx.img_channels,
                    is_last=m.resolution == ctx.img_resolution, architecture="skip", use_fp16=bool(m.use_half),
                    channels_last=False, num_conv=m.num_conv, num_torgb=m.num_torgb)  # fmt: skip
    if name == "SynthesisLayer":
        return dict(resolution=m.resolution, up=m.up, use_noise=True, activation="lrelu", conv_clamp=m.conv_clamp,
                    padding=m.padding, act_gain=LRELU_DEF_GAIN)  # fmt: skip
    if name == "ToRGBLayer":
        return dict(conv_clamp=m.conv_clamp, weight_gain=_f64(m.weight_gain))
    if name == "FullyConnectedLayer":
        bias_gain = m.bias_gain if m.bias_gain != 1 else 1
        return dict(activation=m.activation, weight_gain=_f64(m.weight_gain), bias_gain=bias_gain)
    if name == "MappingNetwork":
        return dict(z_dim=m.z_dim, c_dim=m.c_dim, w_dim=m.w_dim, num_ws=m.num_ws, num_layers=m.num_layers,
                    w_avg_beta=m.w_avg_beta)  # fmt: skip
    if name == "Discriminator":
        return dict(c_dim=0, img_resolution=m.img_resolution, img_resolution_log2=int(math.log2(m.img_resolution)),
                    img_channels=m.img_channels, block_resolutions=list(m.block_resolutions))  # fmt: skip
    if name == "DiscriminatorBlock":
        num_layers = 4 if m.in_channels == 0 else 3
        return dict(in_channels=m.in_channels, resolution=m.resolution, img_channels=ctx.img_channels,
                    first_layer_idx=ctx.layer_idx, architecture="resnet", use_fp16=bool(m.use_half),
                    channels_last=False, num_layers=num_layers)  # fmt: skip
    if name == "Conv2dLayer":
        attrs = dict(activation=m.activation, up=1, down=m.down, conv_clamp=m.conv_clamp, padding=m.padding,
                     weight_gain=_f64(m.weight_gain), act_gain=LRELU_DEF_GAIN if m.activation == "lrelu" else 1)  # fmt: skip
        if m.bias is None:
            attrs["bias"] = None
        return attrs
    if name == "DiscriminatorEpilogue":
        return dict(in_channels=m.conv.weight.shape[0], cmap_dim=0, resolution=4, img_channels=ctx.img_channels,
                    architecture="resnet")  # fmt: skip
    if name == "MinibatchStdLayer":
        return dict(group_size=m.group_size, num_channels=m.num_channels)
    raise TypeError(f"no official counterpart for {name}")


def _torch_internals(m) -> dict[str, Any]:
    """torch.nn.Module's own bookkeeping fields (hooks, flags), as in any pickled module's ``__dict__``."""
    return {k: v for k, v in m.__dict__.items() if k == "training" or k.startswith("_")}


class _OfficialPickler(pickle._Pickler):
    """Pure-Python pickler that spells a few stand-in objects with the official global names."""

    def __init__(self, file, spellings: dict[int, tuple[str, str]], numpy1: bool, protocol: int):
        super().__init__(file, protocol=protocol)
        self.spellings = spellings
        self.numpy1 = numpy1
        self.modules: dict[int, Any] = {}  # id(module) -> (meta) built lazily

    def save_global(self, obj, name=None):
        spelled = self.spellings.get(id(obj))
        if spelled is None:
            return super().save_global(obj, name)
        module, qualname = spelled
        if self.proto >= 4:
            self.save(module)
            self.save(qualname)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode("ascii"))
        self.memoize(obj)

    def reducer_override(self, obj):
        if id(obj) in self.spellings:
            return self.spellings[id(obj)][1]  # a string: "save as global" (through save_global above)
        if self.numpy1 and isinstance(obj, np.generic):
            return (_numpy1_scalar, (obj.dtype, obj.tobytes()))
        meta = self.modules.get(id(obj))
        if meta is not None:
            return (_persistent_obj, (meta,), None)
        return NotImplemented


def _build_meta(
    m, ctx: _Context, src: str, registry: dict, top_kwargs: dict | None = None, freezable: bool = False
) -> dict:
    """The persistence ``meta`` of module ``m`` and, recursively, of its children (stored in ``registry``)."""
    import torch

    name = type(m).__name__
    state = _torch_internals(m)
    params = {k: torch.nn.Parameter(v.detach().clone(), requires_grad=False) for k, v in m._parameters.items()
              if v is not None}  # fmt: skip
    buffers = {k: v.detach().clone() for k, v in m._buffers.items() if v is not None}
    if name == "DiscriminatorBlock":
        buffers["resample_filter"] = _binomial_2d()
    if freezable and ctx.layer_idx < ctx.freeze_layers:
        # official --freezed: a frozen layer registers its weight and bias as buffers
        buffers = {**{k: v.data for k, v in params.items()}, **buffers}
        params = {}
    attrs = _official_attributes(m, name, ctx)
    if name == "Discriminator":
        ctx.layer_idx = 0
    children = {k: child for k, child in m._modules.items() if child is not None}
    # Official order of a D block's layers (the FreezeD layer index): fromrgb, conv0, conv1, skip.
    if name == "DiscriminatorBlock":
        order = [k for k in ("fromrgb", "conv0", "conv1", "skip") if k in children]
        for k in order:
            _build_meta(children[k], ctx, src, registry, freezable=True)
            ctx.layer_idx += 1
        for k, child in children.items():
            if k not in order:
                _build_meta(child, ctx, src, registry)
    else:
        for child in children.values():
            _build_meta(child, ctx, src, registry)
    state["_parameters"] = params
    state["_buffers"] = buffers
    state["_modules"] = children
    state.update(attrs)
    state["_init_args"] = ()
    state["_init_kwargs"] = dict(top_kwargs) if top_kwargs is not None else {}
    meta = dict(type="class", version=6, module_src=src, class_name=name, state=state)
    registry[id(m)] = meta
    return meta


def _binomial_2d():
    import torch

    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = torch.outer(f, f)
    return f / f.sum()


def _augment_meta(p: float, src: str) -> tuple[Any, dict]:
    import torch

    holder = torch.nn.Module().eval().requires_grad_(False)
    state = _torch_internals(holder)
    state["_parameters"] = {}
    state["_buffers"] = {"p": torch.tensor(float(p)), "Hz_geom": torch.zeros(12), "Hz_fbank": torch.zeros(4, 43)}
    state["_modules"] = {}
    state.update(_BGC_ATTRS)
    state["_init_args"] = ()
    state["_init_kwargs"] = dict(_BGC_KWARGS)
    return holder, dict(type="class", version=6, module_src=src, class_name="AugmentPipe", state=state)


def write_official_pickle(
    path: str | Path,
    G,
    D=None,
    G_ema=None,
    augment_p: float | None = None,
    *,
    numpy_spelling: str = "numpy2",
    module_src: str = MODULE_SRC_PLACEHOLDER,
    freeze_layers: int = 0,
    training_set_kwargs: dict | None = None,
    protocol: int = 4,
) -> Path:
    """Write ``{'training_set_kwargs', 'G', 'D', 'G_ema', 'augment_pipe'}`` as the official training loop does.

    ``G``/``G_ema`` are synthfer generators, ``D`` a synthfer discriminator (``G_ema`` defaults to a copy of ``G``);
    ``augment_p`` None stores ``augment_pipe = None`` (the official ``--aug=noaug``).
    """
    if numpy_spelling not in ("numpy1", "numpy2"):
        raise ValueError("numpy_spelling must be 'numpy1' or 'numpy2'")
    import copy

    path = Path(path)
    # Deep copies in eval mode, as the official loop pickles them (the caller's networks stay untouched).
    G_ema = copy.deepcopy(G if G_ema is None else G_ema).eval()
    G = copy.deepcopy(G).eval()
    D = copy.deepcopy(D).eval() if D is not None else None
    registry: dict[int, dict] = {}
    G_kwargs = official_G_kwargs(G.init_kwargs)
    gctx = _Context(G.img_resolution, G.img_channels, G.w_dim)
    _build_meta(G, gctx, module_src, registry, G_kwargs)
    _build_meta(G_ema, gctx, module_src, registry, official_G_kwargs(G_ema.init_kwargs))
    data: dict[str, Any] = {}
    data["training_set_kwargs"] = dict(
        training_set_kwargs
        or dict(
            class_name="training.dataset.ImageFolderDataset",
            path="dataset.zip",
            use_labels=False,
            max_size=None,
            xflip=True,
            resolution=G.img_resolution,
        )  # fmt: skip
    )
    data["G"] = G
    if D is not None:
        dctx = _Context(D.img_resolution, D.img_channels, None, freeze_layers=freeze_layers)
        _build_meta(D, dctx, module_src, registry, official_D_kwargs(D.init_kwargs, freeze_layers))
    data["D"] = D
    data["G_ema"] = G_ema
    data["augment_pipe"] = None
    if augment_p is not None:
        holder, meta = _augment_meta(augment_p, module_src)
        registry[id(holder)] = meta
        data["augment_pipe"] = holder
    return dump_official(path, data, registry, numpy_spelling=numpy_spelling, protocol=protocol)


def dump_official(
    path: str | Path,
    data: Any,
    registry: dict[int, dict] | None = None,
    *,
    numpy_spelling: str = "numpy2",
    extra_globals: dict[Any, tuple[str, str]] | None = None,
    protocol: int = 4,
) -> Path:
    """Pickle ``data``; objects whose id is in ``registry`` become persistent objects with that ``meta``;
    objects in ``extra_globals`` (functions, classes) are written as the given ``(module, name)`` global."""
    spellings = {
        id(_persistent_obj): ("torch_utils.persistence", "_reconstruct_persistent_obj"),
        id(EasyDict): ("dnnlib.util", "EasyDict"),
        id(_numpy1_scalar): ("numpy.core.multiarray", "scalar"),
    }
    spellings.update({id(k): v for k, v in (extra_globals or {}).items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickler = _OfficialPickler(fh, spellings, numpy1=numpy_spelling == "numpy1", protocol=protocol)
        pickler.modules = dict(registry or {})
        pickler.dump(data)
    return path


# The test fixture: a tiny network with the official auto config's features (2 mapping layers, fp16 layers with
# conv_clamp 256) whose reference images tests/data/official_reference_images.npz holds.
FIXTURE_G_INIT = dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3, mapping_kwargs={"num_layers": 2},
                      synthesis_kwargs={"channel_base": 512, "channel_max": 32, "num_fp16_res": 2, "conv_clamp": 256})  # fmt: skip
FIXTURE_D_INIT = dict(c_dim=0, img_resolution=32, img_channels=3, channel_base=512, channel_max=32, num_fp16_res=2,
                      conv_clamp=256, mbstd_group_size=4)  # fmt: skip


def _fill(module, seed: int) -> None:
    """Overwrite every tensor (but the constant resampling filters) from ``numpy.random.RandomState(seed)``, in
    state-dict order, with the scale of a trained network's stored values (stable across platforms and torch
    versions: RandomState's stream is frozen)."""
    import torch

    rs = np.random.RandomState(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if name.endswith("resample_filter"):
                continue
            std, mean = 1.0, 0.0
            if name.startswith("mapping.fc") and name.endswith("weight"):
                std = 100.0  # stored as N(0, 1) / lr_multiplier (0.01)
            elif name.endswith("affine.bias"):
                std, mean = 0.1, 1.0  # style biases start at 1
            elif name.endswith("bias") or name.endswith("noise_strength"):
                std = 0.1
            t.copy_(torch.from_numpy(np.asarray(rs.randn(*t.shape) * std + mean, dtype=np.float32)))


def fixture_networks():
    """``(G, D, G_ema)`` of the fixture: G_ema is G with every tensor moved by 5 % of a second draw."""
    import torch

    from synthfer.gan.networks import Discriminator, Generator

    G, G_ema = Generator(**FIXTURE_G_INIT), Generator(**FIXTURE_G_INIT)
    D = Discriminator(**FIXTURE_D_INIT)
    _fill(G, 1)
    _fill(G_ema, 2)
    _fill(D, 3)
    with torch.no_grad():
        for (name, a), b in zip(G.state_dict().items(), G_ema.state_dict().values(), strict=True):
            if not name.endswith("resample_filter"):
                b.copy_(a + 0.05 * (b - b.mean()))
    return G.eval(), D.eval(), G_ema.eval()


def _main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from synthfer.gan.api import read_checkpoint
    from synthfer.gan.networks import Discriminator, Generator

    ap = argparse.ArgumentParser(description="synthfer checkpoint (.pt with G, D, G_ema) -> official-structured .pkl")
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--numpy1", action="store_true", help="spell numpy scalars as numpy < 2 did")
    args = ap.parse_args(argv)
    ck = read_checkpoint(args.checkpoint)
    nets = {}
    for key in ("G", "G_ema"):
        nets[key] = Generator(**ck["G_kwargs"])
        nets[key].load_state_dict(ck[key])
    D = Discriminator(**ck["D_kwargs"])
    D.load_state_dict(ck["D"])
    with torch.no_grad():
        write_official_pickle(args.out, nets["G"], D, nets["G_ema"], augment_p=ck.get("augment_p"),
                              numpy_spelling="numpy1" if args.numpy1 else "numpy2")  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
