"""StyleGAN2-ADA speed: training sec/kimg (ours, and the official code in the same run) and generation images/s.

Default: 256² with the official `--cfg=auto` values for one GPU (batch 16, channel_base 16384, 2 mapping
layers, γ 0.8192, ADA 'bgc' at p = 0.2, lazy R1/path length, style mixing, EMA) on random images — the
figure the official README reports as sec/kimg (21.6–24.2 on one V100 at 256²; ADA on, metrics off).

Peer: with `--official PATH` (or the environment variable STYLEGAN2_ADA_OFFICIAL) naming a checkout of
NVIDIA's stylegan2-ada-pytorch (a scratch copy outside this repository; its code is never vendored here),
the official networks, `AugmentPipe` ('bgc') and `StyleGAN2Loss` train the same architecture with the same
settings in the same process, with the official loop's per-minibatch phases (G main, G reg every 4, D main,
D reg every 16, each with its own Adam step; EMA), and the script prints `official/ours` (> 1: ours is
faster). Timing alternates between the two in `--rounds` blocks and reports the median per-minibatch time
of each (robust to a shared machine). On a CPU the official layers run in float32 (`num_fp16_res` 0,
`conv_clamp` 256, as ours on a CPU); on CUDA both use their mixed precision (official fp16, ours bf16).

On a CPU use a small run, e.g. the demo's model at 64², batch 8, one thread:
    .venv/bin/python benchmarks/gan_speed.py --resolution 64 --batch 8 --tiny --steps 16 --rounds 3 \\
        --gen-images 64 --threads 1 --official /path/to/stylegan2-ada-pytorch
On a GPU:
    python benchmarks/gan_speed.py --steps 100 --warmup 20 --gen-images 8192 [--compile] [--official PATH]
Prints one table and, with --json, writes the figures to a file.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _sync(dev):
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


class OfficialTrainer:
    """The official stylegan2-ada-pytorch training iteration (``training/training_loop.py``'s phase loop,
    single process, no metrics) around its own networks, augmentation pipe and loss, imported from ``path``."""

    def __init__(self, path: str, cfg: dict, images, device):
        import numpy as np
        import torch

        sys.path.insert(0, str(Path(path).resolve()))
        from training.augment import AugmentPipe
        from training.loss import StyleGAN2Loss
        from training.networks import Discriminator, Generator

        self.cfg, self.device = cfg, device
        res = int(cfg["resolution"])
        mp = bool(cfg["mixed_precision"])
        fp16 = 4 if (mp and device.type == "cuda") else 0
        clamp = 256 if mp else None
        common = dict(channel_base=int(cfg["channel_base"]), channel_max=int(cfg["channel_max"]), num_fp16_res=fp16,
                      conv_clamp=clamp)  # fmt: skip
        self.G = Generator(z_dim=int(cfg["z_dim"]), c_dim=0, w_dim=int(cfg["w_dim"]), img_resolution=res,
                           img_channels=3, mapping_kwargs=dict(num_layers=int(cfg["map_layers"])),
                           synthesis_kwargs=common).train().requires_grad_(False).to(device)  # fmt: skip
        self.D = Discriminator(c_dim=0, img_resolution=res, img_channels=3, **common,
                               epilogue_kwargs=dict(mbstd_group_size=int(cfg["mbstd_group"]))
                               ).train().requires_grad_(False).to(device)  # fmt: skip
        self.G_ema = copy.deepcopy(self.G).eval()
        bgc = dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1, contrast=1,
                   lumaflip=1, hue=1, saturation=1)  # fmt: skip
        self.augment_pipe = None
        if cfg["aug"] != "noaug":
            self.augment_pipe = AugmentPipe(**bgc).train().requires_grad_(False).to(device)
            self.augment_pipe.p.copy_(torch.as_tensor(float(cfg["p"])))
        self.loss = StyleGAN2Loss(device=device, G_mapping=self.G.mapping, G_synthesis=self.G.synthesis, D=self.D,
                                  augment_pipe=self.augment_pipe, style_mixing_prob=float(cfg["style_mixing"]),
                                  r1_gamma=float(cfg["gamma"]), pl_batch_shrink=int(cfg["pl_batch_shrink"]),
                                  pl_decay=float(cfg["pl_decay"]), pl_weight=float(cfg["pl_weight"]))  # fmt: skip
        self.phases = []
        for name, module, interval in (("G", self.G, int(cfg["pl_interval"])), ("D", self.D, int(cfg["r1_interval"]))):
            ratio = interval / (interval + 1)
            opt = torch.optim.Adam(module.parameters(), lr=float(cfg["lr"]) * ratio, betas=(0.0, 0.99**ratio), eps=1e-8)
            self.phases += [(name + "main", module, opt, 1), (name + "reg", module, opt, interval)]
        self.images = torch.from_numpy(images).to(device)
        self.rng = np.random.RandomState(int(cfg["seed"]))
        self.batch_idx = 0
        self.cur_nimg = 0

    def step(self) -> None:
        import torch

        cfg, dev = self.cfg, self.device
        batch = int(cfg["batch"])
        idx = torch.from_numpy(self.rng.randint(len(self.images), size=batch)).to(dev)
        real = self.images[idx].to(torch.float32) / 127.5 - 1
        c = torch.zeros([batch, 0], device=dev)
        all_z = torch.randn([len(self.phases) * batch, self.G.z_dim], device=dev).split(batch)
        for (name, module, opt, interval), z in zip(self.phases, all_z, strict=True):
            if self.batch_idx % interval:
                continue
            opt.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            self.loss.accumulate_gradients(phase=name, real_img=real, real_c=c, gen_z=z, gen_c=c, sync=True,
                                           gain=interval)  # fmt: skip
            module.requires_grad_(False)
            for p in module.parameters():
                if p.grad is not None:
                    torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
            opt.step()
        ema_nimg = float(cfg["ema_kimg"]) * 1000
        if cfg["ema_rampup"]:
            ema_nimg = min(ema_nimg, self.cur_nimg * float(cfg["ema_rampup"]))
        beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
                p_ema.copy_(p.lerp(p_ema, beta))
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
                b_ema.copy_(b)
        self.cur_nimg += batch
        self.batch_idx += 1


def _time_steps(trainer, steps: int, dev) -> float:
    """Seconds per minibatch over ``steps`` consecutive minibatches."""
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    _sync(dev)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    import numpy as np
    import torch

    from synthfer.gan.api import pick_device, seeds_to_ws, synthesize_ws
    from synthfer.gan.options import resolve_config
    from synthfer.gan.train import Trainer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--batch", type=int, default=None, help="default: auto (16 at 256²)")
    ap.add_argument("--steps", type=int, default=16, help="minibatches per timed block (16 covers every lazy phase)")
    ap.add_argument("--rounds", type=int, default=1, help="timed blocks per implementation, alternating")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--p", type=float, default=0.2, help="fixed ADA probability during the timing")
    ap.add_argument("--aug-resample", default="wavelet", choices=["wavelet", "bilinear"])
    ap.add_argument("--gen-images", type=int, default=1024)
    ap.add_argument("--gen-batch", type=int, default=64)
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="the demo's small model (channel_base 1024, max 64, z/w 64)")
    ap.add_argument("--no-mixed-precision", action="store_true")
    ap.add_argument("--official", default=os.environ.get("STYLEGAN2_ADA_OFFICIAL"),
                    help="path of an official stylegan2-ada-pytorch checkout to time in the same run "
                         "(default: $STYLEGAN2_ADA_OFFICIAL)")  # fmt: skip
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
            aug_resample=args.aug_resample,
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
    official = OfficialTrainer(args.official, cfg, images, dev) if args.official else None
    if official is not None:
        n_g_off = sum(p.numel() for p in official.G.parameters())
        n_d_off = sum(p.numel() for p in official.D.parameters())
        if (n_g_off, n_d_off) != (n_g, n_d):
            raise SystemExit(f"official networks differ in size: G {n_g_off} vs {n_g}, D {n_d_off} vs {n_d}")
    for _ in range(args.warmup):
        trainer.step()
        if official is not None:
            official.step()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    ours_s, official_s = [], []
    for _ in range(args.rounds):
        ours_s.append(_time_steps(trainer, args.steps, dev))
        if official is not None:
            official_s.append(_time_steps(official, args.steps, dev))
    step_s = statistics.median(ours_s)
    sec_per_kimg = step_s / (cfg["batch"] / 1000)
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
        "augment_p": args.p,
        "aug_resample": cfg["aug_resample"],
        "mixed_precision": cfg["mixed_precision"] and dev.type == "cuda",
        "compile": bool(args.compile and dev.type == "cuda"),
        "timed_steps": f"{args.rounds} × {args.steps}",
        "train_sec_per_step": [round(s, 4) for s in ours_s],
        "train_sec_per_kimg": round(sec_per_kimg, 2),
        "peak_gpu_mem_gib": round(peak, 2) if peak == peak else None,
        "gen_images": len(seeds),
        "gen_images_per_s": round(len(seeds) / gen_s, 1),
        "uint8_includes_transfer_to_host": True,
    }
    if official is not None:
        off_step_s = statistics.median(official_s)
        result.update(
            official_path=str(args.official),
            official_train_sec_per_step=[round(s, 4) for s in official_s],
            official_train_sec_per_kimg=round(off_step_s / (cfg["batch"] / 1000), 2),
            official_over_ours=round(off_step_s / step_s, 3),
            official_over_ours_per_round=[round(o / s, 3) for o, s in zip(official_s, ours_s, strict=True)],
        )
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:{width}s}  {v}")
    print("reference: official StyleGAN2-ADA README, 256² cfg=auto on 1× V100: 21.6–24.2 sec/kimg")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
