"""Run pytorch-fid 0.3.0 (the FID parity reference) on two image folders with a given weight file.

    PYTHONPATH=.venv-peers/fid-overlay .venv/bin/python benchmarks/peer_fid.py WEIGHTS DIR1 DIR2 OUT.json

pytorch-fid loads ``pt_inception-2015-12-05-6726825d.pth`` from the torch hub cache when it is
there (no download): this script points TORCH_HOME at a temporary folder holding WEIGHTS under
that name, so pytorch-fid runs unmodified on any file in that format (e.g. random weights in a
test). torchvision comes from the overlay built by benchmarks/peer_env.sh; its compiled ops do not
match the CPU torch build, so its meta-kernel registrations (detection ops pytorch-fid never uses)
are skipped. Writes {"fid", "mu1", "mu2"} as JSON. Imports nothing from synthfer.
"""

import json
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path

WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"


def main() -> None:
    weights, dir1, dir2, out = sys.argv[1:5]
    home = Path(tempfile.mkdtemp(prefix="peer-fid-"))
    (home / "hub" / "checkpoints").mkdir(parents=True)
    shutil.copy(weights, home / "hub" / "checkpoints" / WEIGHTS_NAME)
    os.environ["TORCH_HOME"] = str(home)
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import torch
    from pytorch_fid import fid_score
    from pytorch_fid.inception import InceptionV3

    torch.set_num_threads(1)
    model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    stats = []
    for d in (dir1, dir2):
        files = sorted(Path(d).glob("*.png"))
        mu, sigma = fid_score.calculate_activation_statistics(
            files, model, batch_size=50, dims=2048, device="cpu", num_workers=0
        )
        stats.append((mu, sigma))
    fid = fid_score.calculate_frechet_distance(stats[0][0], stats[0][1], stats[1][0], stats[1][1])
    with open(out, "w") as fh:
        json.dump({"fid": float(fid), "mu1": stats[0][0].tolist(), "mu2": stats[1][0].tolist()}, fh)
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
