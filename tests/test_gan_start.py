"""gan.start_from networks and FreezeD layer counting (synthfer.gan.start)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from support.official_pickle import fixture_networks, write_official_pickle  # noqa: E402

from synthfer.gan import api  # noqa: E402
from synthfer.gan.networks import Discriminator  # noqa: E402
from synthfer.gan.pkl import import_official_pkl, read_official_pkl  # noqa: E402
from synthfer.gan.start import (  # noqa: E402
    architecture_options,
    check_resolution,
    discriminator_kwargs_for,
    discriminator_layers,
    frozen_parameter_names,
    read_start_networks,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def nets():
    return fixture_networks()


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_reads_an_official_pickle_and_its_import(nets, tmp_path):
    G, D, G_ema = nets
    pkl = write_official_pickle(tmp_path / "ffhq-like.pkl", G, D, G_ema, augment_p=0.3, numpy_spelling="numpy1")
    for path in (pkl, import_official_pkl(pkl, tmp_path / "imported.pt")):
        start = read_start_networks(path)
        assert start.resolution == 32 and len(start.sha256) == 64
        assert _same(start.G, G.state_dict()) and _same(start.G_ema, G_ema.state_dict())
        assert _same(start.D, D.state_dict())
        assert start.G_kwargs["synthesis_kwargs"]["num_fp16_res"] == 2
        assert start.D_kwargs["conv_clamp"] == 256
    assert read_start_networks(pkl).kind == "official pickle"
    assert architecture_options(start.G_kwargs) == dict(z_dim=32, w_dim=32, map_layers=2, channel_base=512,
                                                        channel_max=32, mixed_precision=True)  # fmt: skip
    # mbstd group: a training choice from the config, not the network's
    assert discriminator_kwargs_for(start, 2)["mbstd_group_size"] == 2


def test_generator_only_checkpoint_starts_D_fresh(nets, tmp_path):
    _, _, G_ema = nets
    path = api.save_generator(tmp_path / "network-final.pt", G_ema)
    start = read_start_networks(path)
    assert start.D is None and start.kind == "generator"
    assert _same(start.G, G_ema.state_dict()) and _same(start.G_ema, G_ema.state_dict())
    D = Discriminator(**discriminator_kwargs_for(start, 4))
    assert (D.img_resolution, D.init_kwargs["channel_max"], D.init_kwargs["num_fp16_res"]) == (32, 32, 2)


def test_resolution_mismatch_names_both(nets, tmp_path):
    G, D, G_ema = nets
    start = read_start_networks(write_official_pickle(tmp_path / "n.pkl", G, D, G_ema))
    check_resolution(start, 32, "results/gan/dataset.zip")
    with pytest.raises(ValueError, match=r"n.pkl is a 32² network but the data set results/gan/dataset.zip is 256²"):
        check_resolution(start, 256, "results/gan/dataset.zip")
    with pytest.raises(FileNotFoundError, match="gan.start_from"):
        read_start_networks(tmp_path / "missing.pkl")


def test_freeze_layers_are_counted_as_the_official_code(nets, tmp_path):
    """The official --freezed counts fromrgb, conv0, conv1, skip of the first block, then conv0, conv1, skip."""
    _, D, _ = nets
    names = [n for n, _ in discriminator_layers(D)]
    assert names == ["b32.fromrgb", "b32.conv0", "b32.conv1", "b32.skip", "b16.conv0", "b16.conv1", "b16.skip",
                     "b8.conv0", "b8.conv1", "b8.skip"]  # fmt: skip
    assert frozen_parameter_names(D, 5) == {"b32.fromrgb.weight", "b32.fromrgb.bias", "b32.conv0.weight",
                                            "b32.conv0.bias", "b32.conv1.weight", "b32.conv1.bias", "b32.skip.weight",
                                            "b16.conv0.weight", "b16.conv0.bias"}  # fmt: skip
    # The same layers are the ones an official-structured pickle written with freeze_layers=5 keeps as buffers
    # (the layout checked against a genuine --freezed=5 snapshot).
    G, D, G_ema = nets
    stub = read_official_pkl(write_official_pickle(tmp_path / "f.pkl", G, D, G_ema, freeze_layers=5))["D"]
    as_buffers = set()
    for res, block in stub.state["_modules"].items():
        for name, layer in block.state["_modules"].items():
            as_buffers |= {f"{res}.{name}.{k}" for k in layer.state["_buffers"] if k != "resample_filter"}
    assert as_buffers == frozen_parameter_names(D, 5)
    assert frozen_parameter_names(D, 0) == set()
    with pytest.raises(ValueError, match="has 10 freezable layers"):
        frozen_parameter_names(D, 11)


def test_official_transfer_options_unless_set():
    from synthfer.gan.start import transfer_options

    assert transfer_options({}) == {"ada_kimg": 100, "ema_rampup": 0}
    assert transfer_options({"ada_kimg": 500, "ema_rampup": 0.05, "batch": 8}) == {"ada_kimg": 100, "ema_rampup": 0,
                                                                                   "batch": 8}  # fmt: skip
    assert transfer_options({"ada_kimg": 300, "ema_rampup": 0.1}) == {"ada_kimg": 300, "ema_rampup": 0.1}
