"""Images per second of seed-named generation (mapping → GANSpace edit → synthesis → PNG).

    python benchmarks/generate_speed.py                          # a random demo-sized generator (64²)
    python benchmarks/generate_speed.py --network results/gan/network-final.pt --n 512

Runs on CPU and, when available, CUDA; prints one line per device with images/s for synthesis alone
and for the whole path that rule generate_shard runs (including PNG encoding and SHA-256).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    import numpy as np
    import pandas as pd
    import torch

    from synthfer.gan.api import load_generator, save_generator, seeds_to_ws, synthesize_ws, tiny_generator
    from synthfer.generate.shard import generate_rows
    from synthfer.latent.directions import Directions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", help="generator checkpoint (default: a random generator of --resolution)")
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--n", type=int, default=128, help="images per device")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        network = args.network
        if network is None:
            network = tmp / "net.pt"
            save_generator(network, tiny_generator(resolution=args.resolution, z_dim=64, w_dim=64, channel_max=64))
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for dev in devices:
            G = load_generator(network, device=dev)
            rng = np.random.RandomState(0)
            comps = rng.randn(4, G.w_dim).astype(np.float32)
            comps /= np.linalg.norm(comps, axis=1, keepdims=True)
            directions = Directions(comps, np.ones(4, np.float32), None, G.num_ws)
            seeds = list(range(args.n))
            synthesize_ws(G, seeds_to_ws(G, seeds[: args.batch_size], 0.7), batch_size=args.batch_size)  # warm-up
            if dev == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            synthesize_ws(G, seeds_to_ws(G, seeds, 0.7, batch_size=args.batch_size), batch_size=args.batch_size)
            if dev == "cuda":
                torch.cuda.synchronize()
            synth = args.n / (time.perf_counter() - t0)
            rows = pd.DataFrame(
                {
                    "order": range(args.n),
                    "name": [f"{s}_{s:06d}" for s in seeds],
                    "seed": seeds,
                    "direction": [(s % 5) - 1 for s in seeds],
                    "degree": [2.0] * args.n,
                    "psi": [0.7] * args.n,
                    "layer_start": [0] * args.n,
                    "layer_end": [G.num_ws] * args.n,
                    "shard": [0] * args.n,
                }
            )
            t0 = time.perf_counter()
            generate_rows(G, directions, rows, tmp / f"out_{dev}", 0, batch_size=args.batch_size)
            full = args.n / (time.perf_counter() - t0)
            name = torch.cuda.get_device_name() if dev == "cuda" else f"{torch.get_num_threads()} threads"
            print(
                f"{dev:4s} ({name}): {G.img_resolution}² synthesis {synth:8.1f} images/s; "
                f"generate_shard path (edit + PNG + sha256) {full:8.1f} images/s  [n={args.n}, batch={args.batch_size}]"
            )


if __name__ == "__main__":
    main()
