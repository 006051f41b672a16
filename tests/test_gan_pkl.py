"""Import of official StyleGAN2-ADA pickles through the restricted unpickler.

The fixture is built here in the official pickle *structure* (persistent-object reduce calls with
``meta = {type, version, module_src, class_name, state}``, ``dnnlib.util.EasyDict`` init kwargs,
plain-pickled tensors) from our own modules; no NVIDIA code is involved. ``module_src`` is a program
that would create a marker file if anyone executed it.
"""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthfer.gan import api  # noqa: E402
from synthfer.gan.networks import Discriminator, Generator  # noqa: E402
from synthfer.gan.pkl import import_official_pkl, load_official_pkl, read_official_pkl  # noqa: E402

torch.set_num_threads(1)

G_INIT = dict(z_dim=32, w_dim=32, mapping_kwargs={"num_layers": 2},
              synthesis_kwargs={"channel_base": 512, "channel_max": 32, "num_fp16_res": 0, "conv_clamp": None},
              c_dim=0, img_resolution=16, img_channels=3)  # fmt: skip
D_INIT = dict(block_kwargs={}, mapping_kwargs={}, epilogue_kwargs={"mbstd_group_size": 4}, channel_base=512,
              channel_max=32, num_fp16_res=0, conv_clamp=None, c_dim=0, img_resolution=16, img_channels=3)  # fmt: skip


def _official_like_pickle(path: Path, marker: Path) -> dict:
    """Write ``{'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs'}`` the way the official code pickles."""
    torch.manual_seed(7)
    G = Generator(**{k: v for k, v in G_INIT.items()})
    with torch.no_grad():
        for p in G.parameters():  # non-trivial values everywhere (noise strengths, biases)
            p.add_(torch.randn_like(p) * 0.1)
        G.mapping.w_avg.normal_()
    D = Discriminator(**{k: v for k, v in D_INIT.items() if k not in ("block_kwargs", "mapping_kwargs", "epilogue_kwargs")},
                      mbstd_group_size=4)  # fmt: skip
    persistence = types.ModuleType("torch_utils.persistence")
    util = types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # never called: we only pickle
        raise AssertionError

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    util.EasyDict = EasyDict
    src = f"open({str(marker)!r}, 'w').write('executed')\n"

    def easy(d):
        return EasyDict({k: easy(v) if isinstance(v, dict) else v for k, v in d.items()})

    class P(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, torch.nn.Module) and not isinstance(obj, torch.nn.Parameter):
                state = {k: v for k, v in obj.__dict__.items() if k not in ("init_kwargs",)}
                if obj is G or obj is G_ema:
                    state["_init_kwargs"] = easy(G_INIT)
                    state["_init_args"] = ()
                elif obj is D:
                    state["_init_kwargs"] = easy(D_INIT)
                    state["_init_args"] = ()
                else:
                    state["_init_kwargs"] = EasyDict()
                # The official D blocks also hold a constant resample_filter buffer that ours lack.
                if type(obj).__name__ == "DiscriminatorBlock":
                    state["_buffers"] = dict(state["_buffers"], resample_filter=torch.ones(4, 4) / 16)
                meta = dict(type="class", version=6, module_src=src, class_name=type(obj).__name__, state=state)
                return (_reconstruct_persistent_obj, (meta,))
            return NotImplemented

    G_ema = Generator(**G_INIT)
    G_ema.load_state_dict(G.state_dict())
    pipe = torch.nn.Module()
    pipe.register_buffer("p", torch.tensor(0.25))
    data = dict(G=G, D=D, G_ema=G_ema, augment_pipe=pipe, training_set_kwargs=dict(path="x.zip", resolution=16))
    old = {k: sys.modules.get(k) for k in ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")}
    sys.modules.update({"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": persistence,
                        "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util})  # fmt: skip
    try:
        with open(path, "wb") as fh:
            P(fh, protocol=4).dump(data)
    finally:
        for k, v in old.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return data


@pytest.fixture(scope="module")
def fixture_pkl(tmp_path_factory):
    d = tmp_path_factory.mktemp("pkl")
    marker = d / "EXECUTED"
    data = _official_like_pickle(d / "network-snapshot-000100.pkl", marker)
    return d / "network-snapshot-000100.pkl", data, marker


def test_fixture_has_the_official_structure(fixture_pkl):
    from synthfer.gan import pkl

    path, _, _ = fixture_pkl
    seen = set()

    class Recorder(pkl.RestrictedUnpickler):
        def find_class(self, module, name):
            seen.add((module, name))
            return super().find_class(module, name)

    with open(path, "rb") as fh:
        data = Recorder(fh).load()
    assert ("torch_utils.persistence", "_reconstruct_persistent_obj") in seen
    assert ("dnnlib.util", "EasyDict") in seen and ("torch._utils", "_rebuild_parameter") in seen
    assert set(data) == {"G", "D", "G_ema", "augment_pipe", "training_set_kwargs"}
    assert data["G_ema"].class_name == "Generator" and data["G_ema"].init_kwargs["synthesis_kwargs"].channel_max == 32


def test_import_reproduces_the_generator(fixture_pkl, tmp_path):
    path, data, marker = fixture_pkl
    net = load_official_pkl(path, with_discriminator=True)
    assert not marker.exists(), "module_src was executed"
    G = net["G_ema"]
    assert (G.z_dim, G.w_dim, G.num_ws, G.img_resolution) == (32, 32, 6, 16)
    assert net["augment_p"] == pytest.approx(0.25)
    ref = data["G_ema"].eval()
    z = torch.from_numpy(api.seeds_to_z([1, 2, 3], 32))
    assert torch.equal(G(z, noise_mode="const"), ref(z, noise_mode="const"))
    assert torch.equal(G.mapping(z, truncation_psi=0.7), ref.mapping(z, truncation_psi=0.7))
    img = torch.randn(4, 3, 16, 16)
    assert torch.equal(net["D"](img), data["D"].eval()(img))
    # Through the public API, and converted to our checkpoint format.
    G2 = api.load_generator(path, device="cpu")
    assert np.array_equal(api.synthesize(G2, [5, 6]), api.synthesize(ref, [5, 6]))
    out = import_official_pkl(path, tmp_path / "imported.pt")
    assert np.array_equal(api.synthesize(api.load_generator(out, device="cpu"), [5, 6]), api.synthesize(ref, [5, 6]))
    assert not marker.exists()


def test_refuses_other_globals(tmp_path):
    import os

    bad = tmp_path / "evil.pkl"

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    bad.write_bytes(pickle.dumps({"G_ema": Evil()}))
    with pytest.raises(ValueError, match="refusing to load global (posix|os|nt).system"):
        read_official_pkl(bad)


def test_rejects_pickles_without_networks(tmp_path):
    p = tmp_path / "plain.pkl"
    p.write_bytes(pickle.dumps({"hello": [1, 2]}))
    with pytest.raises(ValueError, match="no 'G_ema'"):
        read_official_pkl(p)
    t = tmp_path / "trunc.pkl"
    t.write_bytes(pickle.dumps({"G_ema": 1})[:5])
    with pytest.raises(ValueError, match="truncated"):
        read_official_pkl(t)
