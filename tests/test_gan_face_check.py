"""The face check after training and the choice of network (rules gan_face_samples → faces_filter_gan_samples →
gan_network): an untrained generator is stopped with a message that says what to do, the demo's starting network
passes, best_fid prefers snapshots that make faces, and a kimg must name an existing snapshot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("dlib")

REPO = Path(__file__).resolve().parents[1]
DEMO_START = REPO / "resources" / "demo_gan" / "demo-start.pt"
# The demo's detector settings (config/demo.yaml faces: upsample 0; 64² images enlarged to 256²).
FACES = {"upsample": 0, "upscale_to": 256}


def _check(root: Path, snapshots, n_images: int):
    """Steps 1 and 2 of the face check in ``root``: samples, then the faces phase's detection-only filter."""
    from synthfer.faces.pipeline import filter_synthetic_shard
    from synthfer.gan.face_check import write_face_check_samples

    write_face_check_samples(root / "network-final.pt", root / "snapshots", snapshots, root / "samples",
                             root / "samples.csv", n_images=n_images, truncation_psi=0.7, device="cpu", threads=1)  # fmt: skip
    filter_synthetic_shard(root / "samples", root / "detections.csv", settings=FACES)


def _select(root: Path, network, **kw):
    from synthfer.gan.network_choice import select_network

    return select_network(network, root / "network-final.pt", root / "snapshots", root / "samples.csv",
                          root / "detections.csv", root / "selected.pt", root / "selected.json", **kw)  # fmt: skip


@pytest.fixture(scope="module")
def noise_run(tmp_path_factory):
    """An untrained 32² generator as network-final.pt (noise, no faces)."""
    from synthfer.gan.api import save_generator, tiny_generator

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("noise")
    save_generator(root / "network-final.pt", tiny_generator(resolution=32, seed=3))
    (root / "snapshots").mkdir()
    _check(root, [], n_images=12)
    return root


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """network-final.pt = the demo's starting network (generator only); snapshots: an untrained 64²
    generator at kimg 1 and the starting network itself at kimg 62."""
    from synthfer.gan.api import load_generator, save_generator, tiny_generator

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("demo")
    snaps = root / "snapshots"
    snaps.mkdir()
    save_generator(root / "network-final.pt", load_generator(DEMO_START, device="cpu"))
    save_generator(snaps / "network-snapshot-000001.pt", tiny_generator(resolution=64, seed=5))
    shutil.copyfile(DEMO_START, snaps / "network-snapshot-000062.pt")
    _check(root, "all", n_images=16)
    return root


def test_samples_file_contract(demo_run):
    samples = pd.read_csv(demo_run / "samples.csv")
    assert list(samples.columns) == ["name", "network", "checkpoint", "kimg", "seed", "truncation_psi"]
    assert samples["network"].unique().tolist() == ["final", "kimg000001", "kimg000062"]
    assert samples.groupby("network")["seed"].apply(list).map(lambda s: s == list(range(16))).all()
    for name in samples["name"]:
        assert (demo_run / "samples" / f"{name}.png").is_file()
    assert samples.loc[samples["network"] == "kimg000062", "checkpoint"].iloc[0] == "network-snapshot-000062.pt"


def test_untrained_generator_fails_with_the_message(noise_run):
    from synthfer.gan.face_check import NoFacesError, face_rates

    rates = face_rates(noise_run / "samples.csv", noise_run / "detections.csv")
    assert rates["face_rate"].tolist() == [0.0]
    with pytest.raises(NoFacesError) as err:
        _select(noise_run, "final", min_detection_rate=0.5)
    msg = str(err.value)
    assert "does not make faces yet" in msg and "0 of 12 sample images" in msg
    assert "gan.total_kimg" in msg and "gan.start_from" in msg and "gan.face_check.min_detection_rate" in msg
    assert "results/gan/face_check/samples/final_*.png" in msg
    assert not (noise_run / "selected.pt").exists() and not (noise_run / "selected.json").exists()


def test_threshold_zero_lets_noise_through(noise_run, tmp_path):
    from synthfer.gan.network_choice import select_network

    info = select_network("final", noise_run / "network-final.pt", noise_run / "snapshots", noise_run / "samples.csv",
                          noise_run / "detections.csv", tmp_path / "n.pt", tmp_path / "n.json", min_detection_rate=0.0)  # fmt: skip
    assert info["face_rate"] == 0.0 and info["face_check"]["passed"]


def test_demo_start_makes_faces_and_final_is_copied(demo_run):
    from synthfer.gan.face_check import face_rates

    rates = face_rates(demo_run / "samples.csv", demo_run / "detections.csv").set_index("network")
    assert rates.loc["final", "face_rate"] >= 0.9 and rates.loc["kimg000062", "face_rate"] >= 0.9
    assert rates.loc["kimg000001", "face_rate"] == 0.0
    info = _select(demo_run, "final", min_detection_rate=0.5, resolution=64)
    assert (demo_run / "selected.pt").read_bytes() == (demo_run / "network-final.pt").read_bytes()
    on_disk = json.loads((demo_run / "selected.json").read_text())
    assert on_disk["network"] == "final" and on_disk["source"].endswith("network-final.pt")
    assert on_disk["fid"] is None and on_disk["face_rate"] == info["face_rate"] >= 0.9
    assert on_disk["face_check"] == {"truncation_psi": 0.7, "seed": 0, "n_images": 16, "min_detection_rate": 0.5,
                                     "passed": True}  # fmt: skip
    assert "gan.network is 'final'" in on_disk["reason"]


def test_kimg_names_a_snapshot(demo_run):
    from synthfer.gan.face_check import NoFacesError

    info = _select(demo_run, 62)
    assert (demo_run / "selected.pt").read_bytes() == DEMO_START.read_bytes()
    assert info["kimg"] == 62 and info["snapshot"] == "network-snapshot-000062.pt"
    with pytest.raises(FileNotFoundError, match=r"no snapshot of kimg 5 .*available kimgs: 1, 62"):
        _select(demo_run, 5)
    with pytest.raises(NoFacesError, match=r"The snapshot of kimg 1 \(network-snapshot-000001.pt\)"):
        _select(demo_run, 1)


def test_best_fid_prefers_snapshots_that_make_faces(demo_run, tmp_path):
    from synthfer.gan.face_check import NoFacesError

    # The noise snapshot has the lower FID (as a collapsed early snapshot can): it must not be chosen.
    fid = pd.DataFrame({"kimg": [1, 62], "snapshot": ["network-snapshot-000001.pt", "network-snapshot-000062.pt"],
                        "fid": [0.1, 0.2]})  # fmt: skip
    fid.to_csv(tmp_path / "snapshot_fid.csv", index=False)
    info = _select(demo_run, "best_fid", snapshot_fid_csv=tmp_path / "snapshot_fid.csv")
    assert info["snapshot"] == "network-snapshot-000062.pt" and info["fid"] == 0.2
    assert "1 of 2 snapshots whose face check passed" in info["reason"]
    assert [c["passed"] for c in info["candidates"]] == [False, True]
    # When no evaluated snapshot passes, best_fid stops, names the best one and lists the rates.
    fid.iloc[:1].to_csv(tmp_path / "only_noise.csv", index=False)
    with pytest.raises(NoFacesError) as err:
        _select(demo_run, "best_fid", snapshot_fid_csv=tmp_path / "only_noise.csv")
    msg = str(err.value)
    assert msg.startswith("None of the 1 training snapshots makes faces yet; the best, network-snapshot-000001.pt: "
                          "the faces phase's detector found a face in 0 of 16")  # fmt: skip
    assert "Detection rate by snapshot: kimg 1: 0%." in msg and "gan.start_from" in msg


def test_resolution_mismatch_is_refused(demo_run):
    with pytest.raises(ValueError, match=r"makes 64² images but gan.resolution is 256"):
        _select(demo_run, "final", resolution=256)


def test_best_fid_needs_snapshot_fid_at_config_time():
    from synthfer.config import ConfigError
    from synthfer.gan.network_choice import check_network_setting, face_check_snapshots

    with pytest.raises(ConfigError, match=r"'gan.network' is 'best_fid' but 'gan.snapshot_fid.enabled' is false"):
        check_network_setting("best_fid", False)
    check_network_setting("best_fid", True)
    check_network_setting(40, False)
    with pytest.raises(ConfigError, match="not a network choice"):
        check_network_setting(True, False)
    assert face_check_snapshots("final", False) == [] and face_check_snapshots(40, False) == [40]
    assert face_check_snapshots("final", True) == "all"


def test_face_rates_need_every_detection(demo_run, tmp_path):
    from synthfer.gan.face_check import face_rates

    det = pd.read_csv(demo_run / "detections.csv")
    det.iloc[1:].to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(ValueError, match="no detection result for 1 image"):
        face_rates(demo_run / "samples.csv", tmp_path / "d.csv")


def test_samples_are_deterministic(demo_run, tmp_path):
    from synthfer.gan.face_check import write_face_check_samples

    write_face_check_samples(demo_run / "network-final.pt", demo_run / "snapshots", [62], tmp_path / "s",
                             tmp_path / "s.csv", n_images=3, device="cpu", threads=1)  # fmt: skip
    for name in ("final_000000", "kimg000062_000002"):
        a = np.asarray(__import__("PIL.Image").Image.open(tmp_path / "s" / f"{name}.png"))
        b = np.asarray(__import__("PIL.Image").Image.open(demo_run / "samples" / f"{name}.png"))
        assert np.array_equal(a, b)
