"""FER classifier speed: training images/s of the EfficientNet-B0 AU model (CPU, or GPU when present).

Runs the real training step (synthfer.fer.model: EfficientNetB0 + dense head, weighted BCE, Adam) on random
images held in memory, so it measures the model, not the disk. Each backend runs in its own process (Keras picks
its backend once per process). On a CPU:
    .venv/bin/python benchmarks/fer_speed.py --sizes 32 64 --steps 5 --threads 1
On a GPU node (the thesis setting, 224 px, batch 32):
    python benchmarks/fer_speed.py --sizes 224 --steps 50 --warmup 5
Prints one row per (backend, size): first-step seconds (graph build/trace), steady images/s, device.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _one(backend: str, size: int, batch: int, steps: int, warmup: int, threads: int | None) -> dict:
    import numpy as np

    from synthfer.fer.backend import device_name, use_backend

    keras = use_backend(backend, threads)
    from synthfer.fer.model import build_model, compile_model

    keras.utils.set_random_seed(0)
    model = build_model(size, None)
    compile_model(model, np.ones(6), np.ones(6), 1e-4, 0.1)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    y = (rng.random((batch, 6)) < 0.3).astype("float32")
    t0 = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - t0
    for _ in range(warmup):
        model.train_on_batch(x, y)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    dt = time.perf_counter() - t0
    return {"backend": backend, "size": size, "batch": batch, "device": device_name(keras),
            "first_step_s": round(first, 2), "train_images_per_s": round(steps * batch / dt, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["torch", "tensorflow"], choices=["torch", "tensorflow", "jax"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[32, 64])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: the framework's)")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        backend, size = args._child.split(":")
        print(json.dumps(_one(backend, int(size), args.batch, args.steps, args.warmup, args.threads)))
        return
    rows = []
    for backend in args.backends:
        for size in args.sizes:
            cmd = [sys.executable, __file__, "--_child", f"{backend}:{size}", "--batch", str(args.batch),
                   "--steps", str(args.steps), "--warmup", str(args.warmup)]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if out.returncode != 0:
                print(f"{backend} {size}px failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'backend':<11} {'size':>5} {'batch':>5} {'device':>7} {'first step s':>12} {'train img/s':>12}")
    for r in rows:
        print(f"{r['backend']:<11} {r['size']:>5} {r['batch']:>5} {r['device']:>7} {r['first_step_s']:>12} {r['train_images_per_s']:>12}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
