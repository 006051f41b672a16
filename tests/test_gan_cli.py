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
