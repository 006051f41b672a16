"""Issue 18 item 10: the start-network keys checked at parse time, without torch
(synthfer.gan.options.check_start_network), instead of failing in the training job after alignment and dataset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from synthfer.gan.options import check_start_network, peek_network_resolution  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from synthfer.gan.api import save_generator, tiny_generator
    from tests.support.official_pickle import fixture_networks, write_official_pickle

    d = tmp_path_factory.mktemp("start")
    G, D, G_ema = fixture_networks()
    pkl = write_official_pickle(d / "official.pkl", G, D, G_ema, augment_p=0.1)
    pt = save_generator(d / "net.pt", tiny_generator(resolution=32, seed=1))
    junk = d / "junk.pt"
    junk.write_bytes(b"this is not a network")
    return dict(pkl=Path(pkl), pt=Path(pt), junk=junk, official_res=int(G_ema.img_resolution))


def test_resolution_read_without_torch(files):
    assert peek_network_resolution(str(files["pt"])) == 32
    assert peek_network_resolution(str(files["pkl"])) == files["official_res"]
    code = (f"import sys; from synthfer.gan.options import check_start_network as c; "
            f"assert c({str(files['pt'])!r}, None, 2, 32) == []; "
            f"assert c({str(files['pkl'])!r}, None, 0, {files['official_res']}) == []; "
            f"assert 'torch' not in sys.modules, 'torch imported'")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_each_problem_named_with_its_key_and_fix(files, tmp_path):
    cases = [
        ((str(files["pt"]), "snap.pt", 0, 32), "gan.start_from and gan.resume_from are both set"),
        ((None, None, 3, 32), "gan.freeze_d = 3"),
        ((str(tmp_path / "missing.pkl"), None, 0, 32), "does not exist"),
        ((str(files["junk"]), None, 0, 32), "not a StyleGAN2-ADA network file"),
        ((str(files["pt"]), None, 0, 64), "is a 32² network but gan.resolution is 64"),
        ((str(files["pkl"]), None, 0, 2 * files["official_res"]), f"is a {files['official_res']}² network"),
    ]
    for args, text in cases:
        errors = check_start_network(*args)
        assert len(errors) == 1 and text in errors[0] and "Fix:" in errors[0], (args, errors)
    assert check_start_network(None, "snap.pt", 2, 32) == []  # continuing a FreezeD run
    assert check_start_network(None, None, 0, 32) == []
