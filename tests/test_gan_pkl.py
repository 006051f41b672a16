"""Import of official StyleGAN2-ADA pickles through the restricted unpickler.

The fixture pickles come from ``tests/support/official_pickle.py``: synthfer's own modules written in the
structure and with the global set of a genuine ``network-snapshot-*.pkl`` (no NVIDIA code). Its
``module_src`` here is a program that would create a marker file if anyone executed it. The reference images
(``tests/data/official_reference_images.npz``) were computed once by NVIDIA's official ``Generator``
(stylegan2-ada-pytorch, commit recorded in the file) on the fixture's ``G_ema`` weights: fp32
(``force_fp32=True``), ``noise_mode='const'``, ``z = np.random.RandomState(seed).randn(1, z_dim)`` as the
official ``generate.py``; ``d_logits`` are the official ``Discriminator``'s logits for
``RandomState(7).randn(4, 3, 32, 32)``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from support.official_pickle import (  # noqa: E402
    GENUINE_GLOBALS,
    dump_official,
    fixture_networks,
    write_official_pickle,
)

from synthfer.cli import main  # noqa: E402
from synthfer.gan import api  # noqa: E402
from synthfer.gan.networks import Generator  # noqa: E402
from synthfer.gan.pkl import (  # noqa: E402
    OfficialPickleError,
    RestrictedUnpickler,
    load_official_pkl,
    read_official_pkl,
    scan_pickle,
)

torch.set_num_threads(1)
REFERENCE = Path(__file__).parent / "data" / "official_reference_images.npz"
# numpy 2 / protocol 4: what the official training loop writes today; numpy 1 / protocol 3: how every
# published NVIDIA pickle (Python 3.7, numpy < 2) was written.
SPELLINGS = [("numpy2", 4), ("numpy1", 3)]


@pytest.fixture(scope="module", params=SPELLINGS, ids=lambda s: f"{s[0]}-protocol{s[1]}")
def fixture_pkl(request, tmp_path_factory):
    spelling, protocol = request.param
    d = tmp_path_factory.mktemp("pkl")
    marker = d / "EXECUTED"
    G, D, G_ema = fixture_networks()
    path = write_official_pickle(d / "network-snapshot-000100.pkl", G, D, G_ema, augment_p=0.25,
                                 numpy_spelling=spelling, protocol=protocol,
                                 module_src=f"open({str(marker)!r}, 'w').write('executed')\n")  # fmt: skip
    return path, (G, D, G_ema), marker, spelling


def test_builder_writes_the_genuine_global_set(fixture_pkl):
    path, _, _, spelling = fixture_pkl
    found, _ = scan_pickle(path)
    want = set(GENUINE_GLOBALS)
    if spelling == "numpy1":
        # numpy < 2 spelling; protocol 3 has no EMPTY_SET opcode, so torch's _non_persistent_buffers_set
        # becomes a builtins.set call
        want = (want - {"numpy._core.multiarray.scalar"}) | {"numpy.core.multiarray.scalar", "builtins.set"}
    assert found == want


def test_import_equals_the_official_reference(fixture_pkl):
    path, (G, D, G_ema), marker, _ = fixture_pkl
    ref = np.load(REFERENCE)
    assert str(ref["noise_mode"]) == "const" and bool(ref["force_fp32"])
    net = load_official_pkl(path, with_discriminator=True)
    assert not marker.exists(), "module_src was executed"
    Gi = net["G_ema"]
    assert (Gi.z_dim, Gi.w_dim, Gi.num_ws, Gi.img_resolution) == (32, 32, 8, 32)
    assert net["G_kwargs"]["synthesis_kwargs"] == {"channel_base": 512, "channel_max": 32, "num_fp16_res": 2,
                                                   "conv_clamp": 256}  # fmt: skip
    for i, psi in enumerate(ref["truncation_psi"]):
        for j, seed in enumerate(ref["seeds"]):
            z = torch.from_numpy(np.random.RandomState(int(seed)).randn(1, Gi.z_dim)).float()
            img = Gi(z, truncation_psi=float(psi), noise_mode="const")[0].numpy()
            assert np.abs(img - ref["images"][i, j]).max() < 1e-3, (psi, seed)
    d_input = torch.from_numpy(np.random.RandomState(int(ref["d_input_seed"])).randn(4, 3, 32, 32).astype(np.float32))
    assert np.abs(net["D"](d_input).numpy() - ref["d_logits"]).max() < 1e-4
    # G, D and G_ema are the written networks, bit for bit; p comes from the augment pipe.
    for ours, theirs in ((net["G"], G), (net["G_ema"], G_ema), (net["D"], D)):
        for (n, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
            assert torch.equal(a, b), n
    assert net["augment_p"] == pytest.approx(0.25)


def test_import_pkl_command_writes_G_D_G_ema_and_p(fixture_pkl, tmp_path):
    path, (G, D, G_ema), marker, _ = fixture_pkl
    out = tmp_path / "imported.pt"
    assert main(["import-pkl", str(path), str(out)]) == 0
    ck = api.read_checkpoint(out)
    assert ck["kind"] == "networks" and ck["augment_p"] == pytest.approx(0.25)
    assert ck["source"]["file"] == path.name and len(ck["source"]["sha256"]) == 64
    for key, net in (("G", G), ("D", D), ("G_ema", G_ema)):
        assert all(torch.equal(ck[key][n], t) for n, t in net.state_dict().items()), key
    assert np.array_equal(api.synthesize(api.load_generator(out, device="cpu"), [5, 6]), api.synthesize(G_ema, [5, 6]))
    assert np.array_equal(api.synthesize(api.load_generator(path, device="cpu"), [5, 6]), api.synthesize(G_ema, [5, 6]))
    assert not marker.exists()


def test_frozen_discriminator_layers_are_read_from_buffers(tmp_path):
    """Layers frozen with the official --freezed hold their weights as buffers, not parameters."""
    G, D, G_ema = fixture_networks()
    path = write_official_pickle(tmp_path / "f.pkl", G, D, G_ema, augment_p=None, freeze_layers=5)
    stub = read_official_pkl(path)["D"]
    b32 = stub.state["_modules"]["b32"].state["_modules"]
    assert "weight" in b32["conv0"].state["_buffers"] and "weight" not in b32["conv0"].state["_parameters"]
    net = load_official_pkl(path, with_discriminator=True)
    assert net["augment_p"] is None
    assert all(torch.equal(a, b) for a, b in zip(net["D"].state_dict().values(), D.state_dict().values(), strict=True))


def _dumps(obj) -> bytes:
    return pickle.dumps(obj, protocol=4)


def _load(data: bytes):
    import io

    return RestrictedUnpickler(io.BytesIO(data)).load()


def test_numpy_globals_only_for_numeric_values():
    assert _load(_dumps(np.float64(0.125))) == 0.125
    assert _load(_dumps({"g": np.float32(2.5), "i": np.int64(-3), "b": np.bool_(True)})) == {
        "g": 2.5,
        "i": -3,
        "b": True,
    }
    for bad, what in [
        (np.str_("abc"), "refusing numpy dtype 'U3'"),
        (np.dtype([("a", "f8")]), "refusing numpy dtype 'V8'"),
        (np.datetime64("2020-01-01"), "refusing numpy dtype 'M8'"),
        (np.array([1.0, 2.0]), "refusing to load global numpy"),
    ]:
        with pytest.raises(pickle.UnpicklingError, match=what):
            _load(_dumps(bad))

    class FieldsState:  # a numeric code whose state smuggles in fields
        def __reduce__(self):
            return (np.dtype, ("f8", False, True), (3, "<", None, ("a",), {"a": (np.dtype("f8"), 0)}, 8, 1, 0))

    with pytest.raises(pickle.UnpicklingError, match="fields or sub-arrays are not allowed"):
        _load(_dumps(FieldsState()))

    class ShortScalar:  # a float64 scalar from 3 bytes
        def __reduce__(self):
            return (np.float64(0).__reduce__()[0], (np.dtype("f8"), b"abc"))

    with pytest.raises(pickle.UnpicklingError, match="bad payload"):
        _load(_dumps(ShortScalar()))


def test_refuses_other_globals(tmp_path, capsys):
    import os

    bad = tmp_path / "evil.pkl"

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    bad.write_bytes(pickle.dumps({"G_ema": Evil()}))
    with pytest.raises(OfficialPickleError, match="refusing to load global (posix|os|nt).system"):
        read_official_pkl(bad)
    assert main(["import-pkl", str(bad), str(tmp_path / "out.pt")], catch=True) == 1
    out = capsys.readouterr().err
    assert out.startswith("error: ") and out.count("\n") == 1 and "Traceback" not in out
    assert not (tmp_path / "out.pt").exists()


def _assert_one_error_line(capsys, args, *fragments):
    assert main(args, catch=True) == 1
    out = capsys.readouterr().err
    assert out.startswith("error: ") and out.count("\n") == 1, out
    for f in fragments:
        assert f in out, out


def test_conditional_network_is_named(tmp_path, capsys):
    G = Generator(z_dim=16, c_dim=10, w_dim=16, img_resolution=8, img_channels=3, mapping_kwargs={"num_layers": 2},
                  synthesis_kwargs={"channel_base": 128, "channel_max": 16})  # fmt: skip
    path = write_official_pickle(tmp_path / "cifar-like.pkl", G, None, G)
    with pytest.raises(OfficialPickleError, match=r"a conditional network \(G.c_dim = 10"):
        load_official_pkl(path)
    _assert_one_error_line(capsys, ["import-pkl", str(path), str(tmp_path / "o.pt")], "conditional", "unconditional")
    _assert_one_error_line(capsys, ["gan-info", str(path)], "conditional")


def _stylegan3_like(path: Path, with_array: bool) -> Path:
    """A StyleGAN3-shaped G: synthesis.input is a SynthesisInput holding numpy arrays (size, sampling)."""
    gen, syn, inp = torch.nn.Module(), torch.nn.Module(), torch.nn.Module()
    registry = {}

    def meta(obj, name, state):
        registry[id(obj)] = dict(type="class", version=6, module_src="# placeholder\n", class_name=name, state=state)

    size = np.broadcast_to(np.asarray(36), [2]) if with_array else [36, 36]
    meta(inp, "SynthesisInput", {"_parameters": {}, "_buffers": {"freqs": torch.zeros(4, 2)}, "_modules": {},
                                 "size": size, "sampling_rate": np.float64(16.0)})  # fmt: skip
    meta(syn, "SynthesisNetwork", {"_parameters": {}, "_buffers": {}, "_modules": {"input": inp}})
    kwargs = {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": 256, "img_channels": 3}
    meta(gen, "Generator", {"_parameters": {}, "_buffers": {}, "_modules": {"synthesis": syn}, "_init_kwargs": kwargs})
    return dump_official(path, {"G": gen, "D": None, "G_ema": gen, "augment_pipe": None}, registry)


@pytest.mark.parametrize("with_array", [True, False])
def test_stylegan3_network_is_named(tmp_path, capsys, with_array):
    path = _stylegan3_like(tmp_path / "stylegan3-r-ffhq.pkl", with_array)
    with pytest.raises(OfficialPickleError, match="a StyleGAN3 network"):
        read_official_pkl(path)
    _assert_one_error_line(capsys, ["import-pkl", str(path), str(tmp_path / "o.pt")], "StyleGAN3", "StyleGAN2-ADA")


def _tf_network(state):  # written as dnnlib.tflib.network.Network
    raise AssertionError


def test_tensorflow_era_pickle_is_named(tmp_path, capsys):
    class TFNetwork:
        def __reduce__(self):
            return (_tf_network, ({"version": 4, "name": "G", "static_kwargs": {}},))

    path = dump_official(tmp_path / "stylegan2-ffhq-config-f.pkl", (TFNetwork(), TFNetwork(), TFNetwork()),
                         extra_globals={_tf_network: ("dnnlib.tflib.network", "Network")})  # fmt: skip
    with pytest.raises(OfficialPickleError, match="a TensorFlow-era StyleGAN/StyleGAN2 pickle"):
        read_official_pkl(path)
    _assert_one_error_line(capsys, ["import-pkl", str(path), str(tmp_path / "o.pt")], "TensorFlow", "legacy.py")


def test_rejects_pickles_without_networks(tmp_path, capsys):
    p = tmp_path / "plain.pkl"
    p.write_bytes(pickle.dumps({"hello": [1, 2]}))
    with pytest.raises(OfficialPickleError, match="no 'G_ema'"):
        read_official_pkl(p)
    t = tmp_path / "trunc.pkl"
    t.write_bytes(pickle.dumps({"G_ema": 1})[:5])
    with pytest.raises(OfficialPickleError, match="truncated"):
        read_official_pkl(t)
    _assert_one_error_line(capsys, ["import-pkl", str(tmp_path / "missing.pkl"), str(tmp_path / "o.pt")],
                           "does not exist")  # fmt: skip


def test_import_pkl_refuses_same_file_and_pkl_output_and_a_pt_input(fixture_pkl, tmp_path, capsys):
    """Issue 18 item 10: `import-pkl X.pkl X.pkl` used to exit 0 and replace NVIDIA's pickle with a torch file
    still named .pkl; a synthfer .pt given to import-pkl got a cryptic "persistent id" message."""
    import shutil

    path = fixture_pkl[0]
    copy = tmp_path / "net.pkl"
    shutil.copy(path, copy)
    before = copy.read_bytes()
    assert main(["import-pkl", str(copy), str(copy)], catch=True) == 1
    out = capsys.readouterr().err
    assert out.startswith("error: ") and out.count("\n") == 1 and "replace the input" in out and "net.pt" in out
    assert copy.read_bytes() == before
    assert main(["import-pkl", str(copy), str(tmp_path / "other.pkl")], catch=True) == 1
    assert not (tmp_path / "other.pkl").exists()
    capsys.readouterr()
    pt = tmp_path / "net.pt"
    assert main(["import-pkl", str(copy), str(pt)]) == 0
    assert main(["import-pkl", str(pt), str(tmp_path / "again.pt")], catch=True) == 1
    out = capsys.readouterr().err
    assert out.startswith("error: ") and out.count("\n") == 1 and "not an official StyleGAN2-ADA pickle" in out
    assert "persistent" not in out
