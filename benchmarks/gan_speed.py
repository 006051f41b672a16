"""StyleGAN2-ADA speed: training sec/kimg and generation images/s (synthfer's pure-PyTorch implementation).

Default: 256² with the official `--cfg=auto` values for one GPU (batch 16, channel_base 16384, 2 mapping
layers, γ 0.8192, ADA 'bgc' at p = 0.2, lazy R1/path length, style mixing, EMA) on random images — the
figure the official README reports as sec/kimg (21.6–24.2 on one V100 at 256²; ADA on, metrics off).
On a CPU use a tiny run (the demo's model: 64 feature maps, z/w 64), e.g.:
    .venv/bin/python benchmarks/gan_speed.py --resolution 64 --tiny --steps 8 --gen-images 64 --threads 1
On a GPU:
    python benchmarks/gan_speed.py --steps 100 --warmup 20 --gen-images 8192 [--compile]
Prints one table and, with --json, writes the figures to a file.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _sync(dev):
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def main() -> None:
    import numpy as np
    import torch

    from synthfer.gan.api import pick_device, seeds_to_ws, synthesize_ws
    from synthfer.gan.options import resolve_config
    from synthfer.gan.train import Trainer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--batch", type=int, default=None, help="default: auto (16 at 256²)")
    ap.add_argument(
        "--steps", type=int, default=20, help="timed minibatches (multiple of 16 covers every lazy reg phase)"
    )
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--p", type=float, default=0.2, help="fixed ADA probability during the timing")
    ap.add_argument("--gen-images", type=int, default=1024)
    ap.add_argument("--gen-batch", type=int, default=64)
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="the demo's small model (channel_base 1024, max 64, z/w 64)")
    ap.add_argument("--no-mixed-precision", action="store_true")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = ap.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    res = args.resolution
    cfg = resolve_config(
        dict(
            batch=args.batch,
            aug="fixed",
            p=args.p,
            compile=args.compile,
            mixed_precision=not args.no_mixed_precision,
            **(dict(channel_base=1024, channel_max=64, z_dim=64, w_dim=64) if args.tiny else {}),
        ),
        resolution=res,
        num_images=256,
    )
    images = np.random.RandomState(0).randint(0, 256, (256, 3, res, res), dtype=np.uint8)
    trainer = Trainer(cfg, images, dev)
    n_g = sum(p.numel() for p in trainer.G.parameters())
    n_d = sum(p.numel() for p in trainer.D.parameters())
    for _ in range(args.warmup):
        trainer.step()
    _sync(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        trainer.step()
    _sync(dev)
    train_s = time.perf_counter() - t0
    sec_per_kimg = train_s / (args.steps * cfg["batch"] / 1000)
    peak = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else float("nan")

    G = trainer.G_ema.eval()
    seeds = list(range(args.gen_images))
    warm = seeds_to_ws(G, seeds[: args.gen_batch], batch_size=args.gen_batch)
    synthesize_ws(G, warm, batch_size=args.gen_batch)
    _sync(dev)
    t0 = time.perf_counter()
    ws = seeds_to_ws(G, seeds, batch_size=args.gen_batch)
    out = synthesize_ws(G, ws, batch_size=args.gen_batch)
    _sync(dev)
    gen_s = time.perf_counter() - t0
    assert out.shape == (len(seeds), res, res, 3)

    result = {
        "device": torch.cuda.get_device_name(dev)
        if dev.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "resolution": res,
        "model": "tiny (demo)" if args.tiny else "auto config",
        "batch": cfg["batch"],
        "G_params": n_g,
        "D_params": n_d,
        "mixed_precision": cfg["mixed_precision"] and dev.type == "cuda",
        "compile": bool(args.compile and dev.type == "cuda"),
        "timed_steps": args.steps,
        "train_sec_per_kimg": round(sec_per_kimg, 2),
        "peak_gpu_mem_gib": round(peak, 2) if peak == peak else None,
        "gen_images": len(seeds),
        "gen_images_per_s": round(len(seeds) / gen_s, 1),
        "uint8_includes_transfer_to_host": True,
    }
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:{width}s}  {v}")
    print("reference: official StyleGAN2-ADA README, 256² cfg=auto on 1× V100: 21.6–24.2 sec/kimg")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
