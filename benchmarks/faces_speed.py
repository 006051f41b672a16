"""Throughput and memory of the faces phase's alignment shards.

    .venv/bin/python benchmarks/faces_speed.py [--n 1000] [--shards 1,2] [--data ../shared/data/faces]
                                               [--upsample 1]

Builds a folder of ``--n`` photographs (symbolic links cycling through the London neutral and
smiling photographs, 675×675 — the inputs are never copied or modified), then for each shard count
runs that many ``align_shard`` processes in parallel (like Snakemake would) and prints the wall
time, images per second and the peak resident memory of one shard process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WORKER = """
import sys
sys.path.insert(0, {repo!r})
from synthfer.faces.pipeline import align_shard
align_shard({folder!r}, {out!r} + "/" + "{k:03d}", {out!r} + "/{k:03d}.csv", shard={k}, n_shards={n},
            settings={{"upsample": {up}}})
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--shards", default="1,2")
    ap.add_argument("--upsample", type=int, default=1)
    ap.add_argument("--data", default=os.environ.get("SYNTHFER_FACES_DATA", str(REPO.parent / "shared" / "data" / "faces")))
    args = ap.parse_args()
    src = sorted((Path(args.data) / "london").glob("*/*.jpg"))
    if not src:
        print(f"no London photographs under {args.data} (set SYNTHFER_FACES_DATA or --data)", file=sys.stderr)
        return 2
    print(f"{args.n} photographs (cycling {len(src)} London images, 675×675), dlib upsample={args.upsample}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'shards':>6} {'wall s':>8} {'images/s':>9} {'peak RSS / shard':>17} {'aligned':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i in range(args.n):
            os.symlink(src[i % len(src)], folder / f"img{i:05d}.jpg")
        for n in (int(x) for x in args.shards.split(",")):
            out = Path(tmp) / f"out{n}"
            out.mkdir()
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            t0 = time.perf_counter()
            procs = [
                subprocess.Popen([sys.executable, "-c", WORKER.format(repo=str(REPO), folder=str(folder), out=str(out), k=k, n=n, up=args.upsample)], env=env)
                for k in range(n)
            ]  # fmt: skip
            peak_kb = 0
            for p in procs:
                _, status, usage = os.wait4(p.pid, 0)
                if status != 0:
                    print(f"shard process failed with status {status}", file=sys.stderr)
                    return 1
                peak_kb = max(peak_kb, usage.ru_maxrss)
            wall = time.perf_counter() - t0
            aligned = sum(1 for k in range(n) for _ in (out / f"{k:03d}").glob("*.png"))
            print(f"{n:>6} {wall:>8.1f} {args.n / wall:>9.2f} {peak_kb / 1024:>14.0f} MB {aligned:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
