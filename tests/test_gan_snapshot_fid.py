"""FID per training snapshot (rule gan_snapshot_fid), on tiny generators and dlib's offline extractor."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Real set = 60 images of generator A at 32²; snapshots: A at kimg 2, an unrelated B at kimg 1."""
    from synthfer.gan.api import save_generator, tiny_generator
    from synthfer.gan.snapshot_fid import generator_features
    from synthfer.io import save_npz
    from synthfer.iqa.fid import Extractor, feature_stats

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("sfid")
    A, B = tiny_generator(resolution=16, seed=1), tiny_generator(resolution=16, seed=7)
    snaps = root / "snapshots"
    snaps.mkdir()
    save_generator(snaps / "network-snapshot-000001.pt", B)
    save_generator(snaps / "network-snapshot-000002.pt", A)
    (snaps / "fakes000002.png").write_bytes(b"")  # other files in the folder are ignored
    ex = Extractor("dlib")
    feats = generator_features(A, ex, 60, (32, 32), seed=1000)  # other seeds than the evaluation's
    mu, sigma = feature_stats(feats)
    save_npz(root / "real.npz", names=np.array([f"r{i}" for i in range(60)]), features=feats, mu=mu, sigma=sigma,
             extractor=np.array("dlib"))  # fmt: skip
    save_npz(root / "references.npz", size=np.array([32, 32]))
    # face-check results (synthfer.gan.face_check): kimg 1 → 1 of 2 sample images with a face, kimg 2 → 2 of 2
    names = ["final_000000", "kimg000001_000000", "kimg000001_000001", "kimg000002_000000", "kimg000002_000001"]
    pd.DataFrame({"name": names, "network": ["final", "kimg000001", "kimg000001", "kimg000002", "kimg000002"],
                  "checkpoint": ["network-final.pt"] + ["network-snapshot-000001.pt"] * 2 + ["network-snapshot-000002.pt"] * 2,
                  "kimg": [2.0, 1, 1, 2, 2], "seed": [0, 0, 1, 0, 1], "truncation_psi": 0.7}).to_csv(root / "samples.csv", index=False)  # fmt: skip
    pd.DataFrame({"name": names, "face_ok": [True, False, True, True, True]}).to_csv(root / "detections.csv", index=False)
    return root


def _run(root, name, **kw):
    from synthfer.gan.snapshot_fid import snapshot_fid

    args = dict(extractor="dlib", n_images=40, batch_size=16, device="cpu", threads=1)
    args.update(kw)
    return snapshot_fid(root / "snapshots", root / "real.npz", root / "references.npz", root / f"{name}.csv", **args)


def test_snapshot_fid_ranks_the_real_generator_best(setup):
    table = _run(setup, "a", face_samples_csv=setup / "samples.csv", face_detections_csv=setup / "detections.csv")
    on_disk = pd.read_csv(setup / "a.csv")
    assert list(on_disk.columns) == ["kimg", "snapshot", "fid", "n_fake", "n_real", "extractor", "truncation_psi",
                                     "seconds", "face_rate"]  # fmt: skip
    assert on_disk["kimg"].tolist() == [1, 2]  # oldest first, from the file names
    assert on_disk["snapshot"].tolist() == ["network-snapshot-000001.pt", "network-snapshot-000002.pt"]
    assert (on_disk["n_fake"] == 40).all() and (on_disk["n_real"] == 60).all()
    assert on_disk["face_rate"].tolist() == [0.5, 1.0]
    fid_b, fid_a = table["fid"]
    assert 0 <= fid_a < fid_b  # the generator that made the real set is closer to it
    info = json.loads((setup / "a.json").read_text())
    assert info["best"]["snapshot"] == "network-snapshot-000002.pt" and info["extractor"] == "dlib"


def test_plot_marks_the_chosen_network(setup, tmp_path):
    """The report's curve: FID and face rate over kimg, the network chosen by gan.network circled."""
    from synthfer.gan.snapshot_fid import plot_snapshot_fid_files

    table = pd.DataFrame({"kimg": [1, 2], "snapshot": ["network-snapshot-000001.pt", "network-snapshot-000002.pt"],
                          "fid": [3.0, 2.0], "n_fake": 40, "extractor": "dlib", "face_rate": [0.2, 0.9]})  # fmt: skip
    table.to_csv(tmp_path / "t.csv", index=False)
    pngs = []
    for chosen in ("network-snapshot-000001.pt", "network-snapshot-000002.pt"):
        sel = {"network": "best_fid", "snapshot": chosen, "face_check": {"min_detection_rate": 0.5}}
        (tmp_path / "s.json").write_text(json.dumps(sel))
        plot_snapshot_fid_files(tmp_path / "t.csv", tmp_path / "s.json", tmp_path / f"{chosen}.png")
        pngs.append((tmp_path / f"{chosen}.png").read_bytes())
    assert all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert pngs[0] != pngs[1]  # the mark moves with the choice


def test_snapshot_fid_is_deterministic(setup):
    a, b = _run(setup, "d1"), _run(setup, "d2")
    assert np.array_equal(a["fid"].to_numpy(), b["fid"].to_numpy())


def test_snapshot_fid_refuses_mismatched_extractor_and_empty_folder(setup, tmp_path):
    from synthfer.gan.snapshot_fid import snapshot_fid

    with pytest.raises(ValueError, match="made with 'dlib', not 'inception'"):
        _run(setup, "x", extractor="inception")
    (tmp_path / "snapshots").mkdir()
    with pytest.raises(FileNotFoundError, match="no network-snapshot"):
        snapshot_fid(tmp_path / "snapshots", setup / "real.npz", setup / "references.npz", tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists() and not (setup / "x.csv").exists()
