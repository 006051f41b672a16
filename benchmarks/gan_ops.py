"""Dispatched aten ops, convolutions and host syncs per StyleGAN2-ADA training phase (issue 21), on a CPU.

For one step of each phase (Gmain, Greg, Dmain, Dreg: forward, backward, gradient cleaning, Adam step) and one
plain minibatch (``Trainer.step`` without a regulariser, G EMA included) it counts, with
:class:`synthfer.gan.opcount.OpCounter`, every aten op, the convolutions and the syncs, and times the phase
(CPU ms, median of ``--repeat`` runs). On a GPU every op is one kernel launch or more and every sync idles the
device, so these counts are a CPU proxy for a GPU step's cost (``../shared/docs/gpu-speed-on-cpu.md``).

Configurations: ``64`` — the 64² test config (the demo's model: z/w 64, channel_base 1024, channel_max 64, batch 8, ADA on at
p = 0.2); ``256`` — the 256² ``cfg=auto`` structure (channel_base 16384, channel_max 512, z/w 512; batch 4 by
default to keep the CPU time short: op counts per phase do not depend on the batch, convolution counts of a
grouped double backward depend on the channels, which are the real ones).

With ``--official PATH`` (or ``$STYLEGAN2_ADA_OFFICIAL``) naming a scratch checkout of NVIDIA's
stylegan2-ada-pytorch (never part of this repository), the official networks, augmentation and loss
(``benchmarks/gan_speed.py``'s ``OfficialTrainer``; its custom ops fall back to their reference code on a CPU)
are counted on the same configuration, and the ratios ours ÷ official are printed. Without it, ours only.

    python benchmarks/gan_ops.py [--res 64 256] [--official /tmp/official/stylegan2-ada-pytorch] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PHASES = ("Gmain", "Greg", "Dmain", "Dreg")


def config(res: int, batch: int | None = None) -> dict:
    from synthfer.gan.options import resolve_config

    if res == 64:
        opts = dict(z_dim=64, w_dim=64, channel_base=1024, channel_max=64, batch=batch or 8, mirror=True)
    else:
        opts = dict(batch=batch or 4)
    opts.update(aug="fixed", p=0.2, mixed_precision=False)
    return resolve_config(opts, resolution=res, num_images=64)


def images_for(cfg: dict):
    import numpy as np

    res = cfg["resolution"]
    return np.random.RandomState(0).randint(0, 256, (16, 3, res, res), dtype=np.uint8)


def ours_phase(tr, phase: str):
    """One phase of synthfer's :class:`~synthfer.gan.train.Trainer`: ``Trainer.run_phase``. The inline copy below
    is only for counting a checkout from before phases became data (the "before" column of docs/gan.md, commit
    e8d64ba, whose Trainer has no ``run_phase``); it mirrors that commit's ``Trainer.step``."""
    if hasattr(tr, "run_phase"):
        return lambda: tr.run_phase(phase, tr.real_batch())
    import torch

    batch, z_dim = int(tr.cfg["batch"]), tr.G.z_dim

    def run():
        real = tr.real_batch()
        G_phase = phase.startswith("G")
        net, opt = (tr.G, tr.opt_G) if G_phase else (tr.D, tr.opt_D)
        if G_phase:
            tr.G.requires_grad_(True)
        else:
            tr._D_requires_grad(True)
        opt.zero_grad(set_to_none=True)
        if phase == "Greg":
            kw = dict(gen_z=torch.randn([batch // int(tr.cfg["pl_batch_shrink"]), z_dim]), gain=tr.cfg["pl_interval"])
        elif phase == "Gmain":
            kw = dict(gen_z=torch.randn([batch, z_dim]))
        elif phase == "Dmain":
            kw = dict(real_img=real, gen_z=torch.randn([batch, z_dim]))
        else:
            kw = dict(real_img=real, gain=tr.cfg["r1_interval"])
        out = tr.loss.accumulate_gradients(phase, **kw)
        tr._clean_grads(net)
        opt.step()
        if "real_logits" in out and tr.ada is not None:
            tr.ada.accumulate(out["real_logits"])
        net.requires_grad_(False)
        return out

    return run


def official_phase(off, phase: str):
    import torch

    name, module, opt, interval = next(p for p in off.phases if p[0] == phase)
    batch = int(off.cfg["batch"])

    def run():
        idx = torch.from_numpy(off.rng.randint(len(off.images), size=batch))
        real = off.images[idx].to(torch.float32) / 127.5 - 1
        c = torch.zeros([batch, 0])
        z = torch.randn([batch, off.G.z_dim])
        opt.zero_grad(set_to_none=True)
        module.requires_grad_(True)
        off.loss.accumulate_gradients(phase=name, real_img=real, real_c=c, gen_z=z, gen_c=c, sync=True, gain=interval)
        module.requires_grad_(False)
        for p in module.parameters():
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
        opt.step()

    return run


def plain_step(tr):
    """One minibatch without a regulariser (batch_idx not a multiple of either interval)."""

    def run():
        tr.batch_idx = 1
        tr.step()

    return run


def official_plain(off):
    def run():
        off.batch_idx = 1
        off.step()

    return run


def measure(fn, repeat: int) -> dict:
    from synthfer.gan.opcount import OpCounter

    fn()  # warm-up (first-call allocations, lazily built state)
    with OpCounter() as c:
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return dict(ops=c.ops, device_ops=c.device_ops, convs=c.convs, conv_backwards=c.conv_backwards, syncs=c.syncs, grouped_weight_grads=c.grouped_weight_grads,
                ms=round(statistics.median(times), 1), sync_sites=dict(c.sync_sites.most_common(12)))  # fmt: skip


def run(res_list, official: str | None, repeat: int, batch: int | None) -> list[dict]:
    import torch

    from synthfer.gan.train import Trainer

    rows = []
    for res in res_list:
        cfg = config(res, batch)
        imgs = images_for(cfg)
        torch.manual_seed(0)
        tr = Trainer(cfg, imgs, torch.device("cpu"))
        off = None
        if official:
            from gan_speed import OfficialTrainer

            off = OfficialTrainer(official, cfg, imgs, torch.device("cpu"))
        for phase in PHASES + ("plain",):
            ours = measure(plain_step(tr) if phase == "plain" else ours_phase(tr, phase), repeat)
            row = dict(res=res, batch=cfg["batch"], phase=phase, ours=ours)
            if off is not None:
                o = measure(official_plain(off) if phase == "plain" else official_phase(off, phase), repeat)
                row["official"] = o
            rows.append(row)
            print(_line(row), flush=True)
    return rows


def _line(row: dict) -> str:
    o = row["ours"]
    s = f"{row['res']:>4}² b{row['batch']:<3} {row['phase']:<6} ops {o['ops']:>6} dev {o.get('device_ops', '-'):>6} " \
        f"convs {o['convs']:>5} " \
        f"syncs {o['syncs']:>3} ms {o['ms']:>8}"  # fmt: skip
    if "official" in row:
        f = row["official"]
        ratio = lambda a, b: f"{a / b:.2f}" if b else "-"  # noqa: E731
        s += (f" | official ops {f['ops']:>6} convs {f['convs']:>5} syncs {f['syncs']:>3} ms {f['ms']:>8}"
              f" | ours/official ops {ratio(o['ops'], f['ops'])} dev {ratio(o['device_ops'], f['ops'])} convs {ratio(o['convs'], f['convs'])}"
              f" ms {ratio(o['ms'], f['ms'])}")  # fmt: skip
    return s


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, nargs="+", default=[64, 256], choices=[64, 256])
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--official", default=os.environ.get("STYLEGAN2_ADA_OFFICIAL"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--sites", action="store_true", help="print where each sync comes from")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = run(args.res, args.official, args.repeat, args.batch)
    if args.sites:
        for r in rows:
            print(r["res"], r["phase"], r["ours"]["sync_sites"])
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
