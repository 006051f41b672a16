"""Parity with the peer tools, run in the SEPARATE peer venv (benchmarks/peer_env.sh):
image-similarity-measures 0.3.6 (called correctly: max_p=255, float64 inputs), brisque 0.2.0's
own score(), and pytorch-fid 0.3.0 with a random-weights file in the pt_inception format.

Locally these skip when the peer venv is absent; under CI=true they fail (make creates it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synthfer.iqa import brisque as B
from synthfer.iqa import metrics as M

REPO = Path(__file__).resolve().parents[1]
PEER_VENV = Path(os.environ.get("SYNTHFER_PEER_VENV", REPO / ".venv-peers"))
PEER_PY = PEER_VENV / "bin" / "python"
FID_OVERLAY = PEER_VENV / "fid-overlay"


def _need(path: Path, what: str) -> None:
    if not path.exists():
        msg = f"{what} not found at {path}: run `bash benchmarks/peer_env.sh`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def _crops(faces_data, n: int, size: int) -> np.ndarray:
    from PIL import Image

    files = sorted((faces_data / "london" / "neutral").glob("*.jpg"))[:n]
    out = []
    for f in files:
        with Image.open(f) as im:
            out.append(np.asarray(im.convert("RGB").crop((120, 120, 555, 555)).resize((size, size), Image.BILINEAR)))
    return np.stack(out)


def test_full_reference_parity_with_image_similarity_measures(faces_data, tmp_path):
    _need(PEER_PY, "peer venv")
    crops = _crops(faces_data, 6, 48)
    x, y = crops[:3], crops[3:]
    np.savez(tmp_path / "pairs.npz", x=x, y=y)
    subprocess.run(
        [str(PEER_PY), str(REPO / "benchmarks/peer_ism.py"), str(tmp_path / "pairs.npz"), str(tmp_path / "o.json")],
        check=True,
    )
    ref = {k: np.array(v) for k, v in json.loads((tmp_path / "o.json").read_text())["values"].items()}
    ours = M.full_reference_scores(x, y)
    np.testing.assert_allclose(ours["rmse"] / 255.0, ref["rmse"], rtol=1e-6)  # ISM divides by max_p
    for k in ("psnr", "ssim", "sam"):
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-6, err_msg=k)
    # ISM's UIQ runs in float32: agreement to float32 precision.
    np.testing.assert_allclose(ours["uiq"], ref["uiq"], rtol=1e-6)
    # ISSM: ISM's Canny sees X/16 (0 on 8-bit faces); ours equals ISM on 16·X with R = 4095/16.
    assert np.all(ref["issm"] == 0.0) and np.all(ours["issm"] > 0)
    np.testing.assert_allclose(M.issm(x, y, data_range=4095 / 16), ref["issm_x16"], rtol=1e-6)


def test_brisque_score_parity(faces_data, tmp_path):
    """brisque 0.2.0's score() (unmodified, in the peer venv) vs ours on noisy crops: 1e-6."""
    _need(PEER_PY, "peer venv")
    crops = _crops(faces_data, 4, 96)
    rng = np.random.default_rng(0)
    noisy = np.clip(crops + rng.normal(0, 2, crops.shape), 0, 255).astype(np.uint8)
    np.save(tmp_path / "imgs.npy", noisy)
    code = (
        "import json, sys, numpy as np, brisque\n"
        "r = brisque.BRISQUE(url=False)\n"
        "print(json.dumps([float(r.score(im)) for im in np.load(sys.argv[1])]))\n"
    )
    res = subprocess.run(
        [str(PEER_PY), "-c", code, str(tmp_path / "imgs.npy")], check=True, capture_output=True, text=True
    )
    ref = np.array(json.loads(res.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(B.score(noisy), ref, rtol=1e-6, atol=1e-6)


def _random_inception_weights(path: Path) -> None:
    """A random-weights file in the pt_inception format (torchvision names, 1008-way fc): He-scaled
    convs and random BatchNorm statistics so activations neither vanish nor explode."""
    import torch

    from synthfer.iqa.fid import _build_inception

    torch.manual_seed(0)
    net = _build_inception()
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("conv.weight"):
                t.normal_(0, (2.0 / (t.shape[1] * t.shape[2] * t.shape[3])) ** 0.5)
            elif name.endswith("bn.weight"):
                t.uniform_(0.8, 1.2)
            elif name.endswith("bn.bias") or name.endswith("running_mean"):
                t.normal_(0, 0.05)
            elif name.endswith("running_var"):
                t.uniform_(0.8, 1.2)
    torch.save(net.state_dict(), path)


@pytest.mark.slow
def test_fid_parity_with_pytorch_fid(faces_data, tmp_path):
    """Same random weights: our InceptionV3 + Fréchet distance = pytorch-fid's (features and FID).
    Slow (~1.5 min on 2 cores): 2048² matrix square roots on both sides."""
    _need(FID_OVERLAY, "pytorch-fid overlay")
    import torch

    from synthfer.imaging import save_png
    from synthfer.iqa.fid import Extractor, feature_stats, frechet_distance

    torch.set_num_threads(1)
    weights = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    _random_inception_weights(weights)
    crops = _crops(faces_data, 12, 64)
    sets = {"a": crops[:6], "b": crops[6:]}
    for k, imgs in sets.items():
        for i, im in enumerate(imgs):
            save_png(tmp_path / k / f"{i:02d}.png", im)
    env = {**os.environ, "PYTHONPATH": str(FID_OVERLAY)}
    out = tmp_path / "fid.json"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks/peer_fid.py"),
            str(weights),
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            str(out),
        ],
        check=True,
        env=env,
    )
    ref = json.loads(out.read_text())
    ex = Extractor("inception", weights=weights, device="cpu")
    fa, fb = ex(sets["a"]), ex(sets["b"])
    np.testing.assert_allclose(fa.mean(0), ref["mu1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fb.mean(0), ref["mu2"], rtol=1e-5, atol=1e-6)
    fid = frechet_distance(*feature_stats(fa), *feature_stats(fb))
    assert abs(fid - ref["fid"]) <= 1e-3, (fid, ref["fid"])
    assert ref["fid"] > 1e-3  # the random network separates the two sets: not a trivial 0 = 0
