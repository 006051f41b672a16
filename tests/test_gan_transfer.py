"""Transfer learning: gan.start_from begins a new run from an official pickle or a synthfer checkpoint, and
gan.freeze_d keeps the first discriminator layers fixed (FreezeD, the official --freezed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from support.official_pickle import fixture_networks, write_official_pickle  # noqa: E402

from synthfer.gan.api import read_checkpoint  # noqa: E402
from synthfer.gan.checkpoint import list_snapshots  # noqa: E402
from synthfer.gan.dataset import InfiniteSampler, build_dataset_zip  # noqa: E402
from synthfer.gan.networks import Discriminator  # noqa: E402
from synthfer.gan.start import frozen_parameter_names  # noqa: E402
from synthfer.gan.train import train_gan  # noqa: E402
from synthfer.imaging import save_png  # noqa: E402

torch.set_num_threads(1)
# The run's own architecture options deliberately differ from the start network's (z/w 32, 32 maps, 2 mapping
# layers, fp16 layers): with start_from they come from the network.
OPTS = dict(z_dim=64, w_dim=64, channel_base=1024, channel_max=64, map_layers=4, batch=4, grid_size=4, mirror=False,
            aug="ada", kimg_per_tick=0.008, snapshot_ticks=1, total_kimg=0.016, pl_interval=2, r1_interval=2)  # fmt: skip


def _dataset(folder: Path, resolution: int) -> Path:
    rng = np.random.RandomState(0)
    for i in range(8):
        save_png(folder / "crops" / f"c{i}.png", rng.randint(0, 255, (resolution, resolution, 3)).astype(np.uint8))
    build_dataset_zip(folder / "crops", folder / "dataset.zip", resolution=resolution)
    return folder / "dataset.zip"


@pytest.fixture(scope="module")
def data32(tmp_path_factory):
    return _dataset(tmp_path_factory.mktemp("d32"), 32)


@pytest.fixture(scope="module")
def start_pkl(tmp_path_factory):
    G, D, G_ema = fixture_networks()
    path = write_official_pickle(tmp_path_factory.mktemp("start") / "pretrained.pkl", G, D, G_ema, augment_p=0.3,
                                 numpy_spelling="numpy1")  # fmt: skip
    return path, (G, D, G_ema)


def _train(data, run: Path, opts: dict, **kw):
    return train_gan(data, run, run / "final.pt", run / "log.jsonl", opts, device="cpu", **kw)


def test_start_from_pickle_is_a_new_run_with_frozen_layers(data32, start_pkl, tmp_path):
    path, (G0, D0, G_ema0) = start_pkl
    run = tmp_path / "run"
    res = _train(data32, run, dict(OPTS, freeze_d=4), start_from=path)
    assert res.status == "done"
    last = read_checkpoint(list_snapshots(run / "snapshots")[-1][1])
    # A new run: the counter starts at 0 (two ticks of 8 images), p from the config (0, not the pickle's
    # 0.3) moved only by this run's ADA step (ada_kimg 100 as the official --resume: at most 4·4/100000),
    # fresh Adam state (step count = this run's steps), fresh data order.
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["kimg"] for r in rows] == [0.008, 0.016] and last["cur_nimg"] == 16
    assert rows[0]["augment_p"] == 0 and last["augment_p"] <= 4 * 4 / (100 * 1000) + 1e-9
    assert max(float(st["step"]) for st in last["opt_G"]["state"].values()) == 4 + 2  # 4 Gmain + 2 Greg steps
    fresh = InfiniteSampler(8, 0)
    for _ in range(4):
        fresh.next(4)
    assert last["sampler"] == fresh.state_dict()
    # The architecture is the network's; the config records it and where the run started.
    cfg = last["config"]
    assert last["G_kwargs"] == G0.init_kwargs and last["D_kwargs"]["num_fp16_res"] == 2
    assert (cfg["z_dim"], cfg["w_dim"], cfg["map_layers"], cfg["channel_base"], cfg["channel_max"]) == (
        32,
        32,
        2,
        512,
        32,
    )
    assert cfg["start_from"] == str(path) and len(cfg["start_from_sha256"]) == 64
    assert (cfg["ada_kimg"], cfg["ema_rampup"], cfg["freeze_d"]) == (100, 0, 4)
    # FreezeD: the first 4 D layers (the 32² block: fromrgb, conv0, conv1, skip) are bit-identical to the
    # pickle's; every other D parameter moved. G moved; G_ema moved from the pickle's G_ema (no ramp-up).
    frozen = frozen_parameter_names(D0, 4)
    assert frozen == {f"b32.{layer}.{p}" for layer in ("fromrgb", "conv0", "conv1") for p in ("weight", "bias")} | {
        "b32.skip.weight"
    }
    D_start = D0.state_dict()
    for name, _ in D0.named_parameters():
        same = torch.equal(last["D"][name], D_start[name])
        assert same == (name in frozen), name
    assert not torch.equal(last["G"]["synthesis.b32.conv1.weight"], G0.state_dict()["synthesis.b32.conv1.weight"])
    moved = (last["G_ema"]["mapping.fc0.weight"] - G_ema0.state_dict()["mapping.fc0.weight"]).abs().max()
    assert 0 < float(moved) < 1.0


def test_frozen_layers_stay_fixed_through_a_resume(data32, start_pkl, tmp_path):
    path, (_, D0, _) = start_pkl
    run = tmp_path / "run"
    _train(data32, run, dict(OPTS, freeze_d=7), start_from=path)
    # Continue the same run further (exact resume from its snapshots, the start network unchanged).
    _train(data32, run, dict(OPTS, freeze_d=7, total_kimg=0.024), start_from=path)
    last = read_checkpoint(list_snapshots(run / "snapshots")[-1][1])
    assert last["cur_nimg"] == 24
    for name in frozen_parameter_names(D0, 7):
        assert torch.equal(last["D"][name], D0.state_dict()[name]), name
    # A different start network at the same path: the old snapshots are refused, nothing is touched.
    G, D, G_ema = fixture_networks()
    with torch.no_grad():
        G.mapping.w_avg.add_(1)
    write_official_pickle(path.parent / "other.pkl", G, D, G_ema)
    with pytest.raises(ValueError, match="belongs to a run started from .*pretrained.pkl"):
        _train(data32, run, dict(OPTS, freeze_d=7, total_kimg=0.032), start_from=path.parent / "other.pkl")
    assert read_checkpoint(list_snapshots(run / "snapshots")[-1][1])["cur_nimg"] == 24


def test_start_from_a_synthfer_checkpoint(data32, start_pkl, tmp_path):
    path, _ = start_pkl
    first = tmp_path / "first"
    _train(data32, first, OPTS, start_from=path)
    snap = list_snapshots(first / "snapshots")[-1][1]
    start = read_checkpoint(snap)
    run = tmp_path / "second"
    _train(data32, run, dict(OPTS, freeze_d=10, total_kimg=0.008), start_from=snap)
    got = read_checkpoint(list_snapshots(run / "snapshots")[-1][1])
    assert got["cur_nimg"] == 8 and got["config"]["start_from"] == str(snap)
    d_layers = {n for n in start["D"] if not n.startswith("b4.") and not n.endswith("resample_filter")}
    assert all(torch.equal(got["D"][n], start["D"][n]) for n in d_layers)  # all 10 layers frozen
    assert not torch.equal(got["D"]["b4.out.weight"], start["D"]["b4.out.weight"])  # the epilogue trains


def test_refusals(data32, start_pkl, tmp_path):
    path, (G0, D0, G_ema0) = start_pkl
    d16 = _dataset(tmp_path / "d16", 16)
    with pytest.raises(ValueError, match=r"pretrained.pkl is a 32² network but the data set .*dataset.zip is 16²"):
        _train(d16, tmp_path / "r1", OPTS, start_from=path)
    with pytest.raises(ValueError, match="both set"):
        _train(data32, tmp_path / "r2", OPTS, start_from=path, resume_from=path)
    with pytest.raises(ValueError, match="gan.freeze_d = 3 freezes layers of a pretrained discriminator"):
        _train(data32, tmp_path / "r3", dict(OPTS, freeze_d=3))
    with pytest.raises(ValueError, match="has 10 freezable layers"):
        _train(data32, tmp_path / "r4", dict(OPTS, freeze_d=11), start_from=path)
    assert not (tmp_path / "r1" / "snapshots").exists()


def test_generator_only_start_trains_a_fresh_discriminator(data32, start_pkl, tmp_path):
    from synthfer.gan.api import save_generator

    _, (_, _, G_ema0) = start_pkl
    net = save_generator(tmp_path / "network-final.pt", G_ema0)
    run = tmp_path / "run"
    _train(data32, run, OPTS, start_from=net)
    last = read_checkpoint(list_snapshots(run / "snapshots")[-1][1])
    assert last["D_kwargs"]["channel_max"] == 32 and last["config"]["start_from"] == str(net)
    assert Discriminator(**last["D_kwargs"]).load_state_dict(last["D"]) is not None


@pytest.mark.workflow
def test_start_network_is_an_input_of_gan_train(repo, tmp_path):
    """Replacing the start network re-runs training (it is a rule input, not only a parameter)."""
    import os
    import subprocess
    import sys
    import time

    import yaml

    cfg = yaml.safe_load((repo / "config" / "demo.yaml").read_text())
    cfg["gan"].update(resume_from=None, start_from=str(tmp_path / "start.pkl"), freeze_d=4)
    cfg["fer"]["model"]["weights"] = str(repo / cfg["fer"]["model"]["weights"])  # checked at parse time; cwd is tmp
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    # a real network: the parse-time check (synthfer.gan.options.check_start_network) reads its resolution
    start = (repo / "resources" / "demo_gan" / "demo-start.pkl").read_bytes()
    (tmp_path / "start.pkl").write_bytes(start)
    gan = tmp_path / "results" / "gan"
    gan.mkdir(parents=True)

    def dry_run() -> str:
        res = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "-s", str(repo / "Snakefile"), "--configfile", "config.yaml",
             "--rerun-triggers", "mtime", "--allowed-rules", "gan_train", "--", "results/gan/network-final.pt"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )  # fmt: skip
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
        return res.stdout + res.stderr

    time.sleep(1.1)
    for name in ("dataset.zip", "network-final.pt", "training_log.jsonl", "fakes-final.png"):
        (gan / name).write_bytes(b"x")
    assert "Nothing to be done" in dry_run()
    time.sleep(1.1)
    (tmp_path / "start.pkl").write_bytes(start)  # replaced (a newer file)
    out = dry_run()
    assert "rule gan_train" in out and f"Updated input files: {tmp_path / 'start.pkl'}" in out
