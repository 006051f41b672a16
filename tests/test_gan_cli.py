"""synthfer generate / gan-info / import-pkl through the CLI dispatcher."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthfer.cli import main  # noqa: E402
from synthfer.gan import api  # noqa: E402
from synthfer.gan.cli import parse_seeds  # noqa: E402
from synthfer.imaging import load_rgb  # noqa: E402


def test_parse_seeds():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    with pytest.raises(Exception, match="bad seed range"):
        parse_seeds("5-2")


def test_generate_and_info(tmp_path, capsys):
    torch.set_num_threads(1)
    G = api.tiny_generator(resolution=16)
    net = api.save_generator(tmp_path / "g.pt", G)
    assert (
        main(
            ["generate", "--network", str(net), "--seeds", "3-5", "--outdir", str(tmp_path / "out"), "--device", "cpu"]
        )
        == 0
    )
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["seed0003.png", "seed0004.png", "seed0005.png"]
    assert np.array_equal(load_rgb(tmp_path / "out" / "seed0004.png"), api.synthesize(G, [4])[0])
    assert main(["gan-info", str(net)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "generator" and info["G_kwargs"]["img_resolution"] == 16


@pytest.mark.parametrize("content", [b"not a network at all", b"PK\x03\x04 broken zip", "pickle"])
def test_bad_network_file_is_one_error_line(tmp_path, capsys, content):
    """Issue 18 item 10: gan-info and generate printed a traceback and torch's advice to load with
    weights_only=False for a bad network file."""
    import pickle

    bad = tmp_path / "bad.pt"
    bad.write_bytes(pickle.dumps({"a": object}) if content == "pickle" else content)
    for argv in (["gan-info", str(bad)], ["generate", "--network", str(bad), "--seeds", "1", "--outdir",
                                          str(tmp_path / "o"), "--device", "cpu"]):  # fmt: skip
        assert main(argv, catch=True) == 1
        out = capsys.readouterr().err
        assert out.startswith(f"error: {bad}") and out.count("\n") == 1, out
        assert "weights_only" not in out and "Fix:" in out
    assert main(["gan-info", str(tmp_path / "missing.pt")], catch=True) == 1
    assert capsys.readouterr().err.startswith("error: ")
