"""GPU suite (issue 13): the project's GPU figures side by side with the official code, in one run, one table.

    python3 benchmarks/gpu_suite.py --out OUT [--src ROOT] [--official PATH] [--budget 480]
    python benchmarks/gpu_suite.py --dry --out /tmp/gpu-dry      # CPU, tiny sizes, the same code paths

Sections, in this order (each its own process with its own wall-clock cap, so a crash, hang or slowness in one
still leaves the others' figures; the riskiest and slowest run last):

1. ``env`` — GPU, driver, CUDA, torch, Python, date.
   (If ``--official`` is given and CUDA is present, the official custom CUDA ops (bias_act, upfirdn2d) are
   compiled in the background from here on, so their 1–2 min build overlaps sections 2–6.)
2. ``train_mixed`` / ``train_phases`` / 3. ``train_fp32`` — synthfer's StyleGAN2-ADA training (:class:`synthfer.gan.train.Trainer`),
   256² ``cfg=auto`` (batch 16, γ 0.8192, lazy R1/path length, style mixing, EMA), ADA on with p starting at 0.2,
   on an NVIDIA-format dataset zip of generated 256² images; sec/kimg = median of 16-minibatch blocks (each holds
   exactly one R1 and four path-length steps) after a warm-up. ``train_phases`` (issue 21): ms per phase (Gmain,
   Greg, Dmain, Dreg), the first minibatch's time, syncs per plain minibatch (``torch.cuda.set_sync_debug_mode``)
   and the ops each phase dispatches.
4. ``generate`` — images/s at batch 64: mapping + synthesis (:func:`synthfer.gan.api.synthesize_ws`, uint8 on
   the host), mixed precision and fp32, and the ``generate_shard`` path (edit + PNG + SHA-256 + write,
   :func:`synthfer.generate.shard.generate_rows`).
5. ``iqa`` — :func:`synthfer.iqa.score.score_batch` on the accelerator (decode + reference + six full-reference
   metrics + BRISQUE + SVR): one job of 512 images, then ``jobs`` jobs at once (one process each, as Snakemake
   runs the rule), the extrapolated time for 100,000 images, and the largest difference to the CPU path.
6. ``fer_torch`` / ``fer_tensorflow`` — FER training images/s at 224², batch 32 (Keras 3 on that backend;
   ``benchmarks/fer_speed.py``); a backend that is not installed is reported as such.
7. ``official_generate`` — the official generator (its networks.py, custom ops, fp16 on 4 blocks; and fp32) at
   batch 64 with the weights of section 4's generator: images/s and the largest image difference to ours.
8. ``official_train`` — the official training: on CUDA its own ``train.py`` configuration
   (``setup_training_loop_kwargs(cfg='auto', batch=16, gpus=1, metrics=[], mirror=True, aug='ada')``) run by its
   ``training_loop`` with ticks of 0.512 kimg (32 minibatches), ADA p starting at 0.2, no snapshots; sec/kimg =
   median of the ticks after the first (warm-up) one, as the loop prints them. On a CPU (the loop needs CUDA), or if
   the loop fails, the official networks, ``AugmentPipe`` and loss are timed in the official phase loop of
   ``benchmarks/gan_speed.py`` instead (the table says which).
9. ``train_bilinear`` (only if much time remains) — ours with the cheap augmentation resampling.
10. ``generate_compile`` — ours with ``torch.compile`` on the synthesis network (generation; not yet what
    ``generate_shard`` does): images/s, compile time, difference to the eager images.
11. ``train_compile`` — ours with ``torch.compile`` (the compilation is in the first minibatch, reported apart);
    it gets the rest of the budget.
12. ``fer_jax`` — FER on the JAX backend, if installed and time remains.

Every row's ratio is the speed of ours ÷ the speed of the official code (> 1: ours faster).

The official code is never part of this repository: ``--official`` names a scratch copy (git-ignored).

Output folder (rewritten after every section, so a killed run still returns what was measured):
``results.json`` (every figure + environment), ``results.csv`` and ``results.md`` (the table), ``suite.log``
(everything printed, children included) and ``details.tar.gz`` (per-section logs and raw figures).
``--dry`` runs every section on the CPU with tiny sizes (the accelerator paths through torch on the CPU);
``tests/test_gpu_suite.py`` runs it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
PREFIX = "» "  # lines children print for the console (everything else goes to the logs only)

# Sizes of a GPU run and of a dry (CPU, tiny) run.
FULL = dict(
    res=256, batch=16, tiny=False, p0=0.2, warmup_steps=16, block_steps=16, min_blocks=3, max_blocks=8, timing_s=20.0,
    gen_n=2048, gen_batch=64, gen_rounds=3, shard_n=1024, dataset_n=64,
    iqa_size=256, iqa_batch=512, iqa_jobs=8, iqa_cmp=128,
    fer_size=224, fer_batch=32, fer_steps=20, fer_warmup=3,
    official_tick_kimg=0.512, official_steady_ticks=6,
)  # fmt: skip
DRY = dict(
    res=16, batch=2, tiny=True, p0=0.2, warmup_steps=1, block_steps=2, min_blocks=1, max_blocks=2, timing_s=0.0,
    gen_n=16, gen_batch=8, gen_rounds=1, shard_n=8, dataset_n=8,
    iqa_size=32, iqa_batch=8, iqa_jobs=2, iqa_cmp=4,
    fer_size=32, fer_batch=4, fer_steps=2, fer_warmup=1,
    official_tick_kimg=0.004, official_steady_ticks=2,
)  # fmt: skip
TINY_MODEL = dict(channel_base=1024, channel_max=64, z_dim=64, w_dim=64)

# name: (cap in s on a GPU, cap in s dry, needs the official code, seconds that must remain after it, least time
# worth starting it with)
SECTIONS = {
    "env": (45, 60, False, 0, 10),
    "train_mixed": (110, 90, False, 0, 25),  # the first minibatch alone took > 40 s on an H200 (cuDNN tuning)
    "train_phases": (90, 90, False, 0, 25),
    "train_fp32": (90, 90, False, 0, 25),
    "generate": (50, 90, False, 0, 25),
    "iqa": (100, 120, False, 0, 30),
    "fer_torch": (70, 120, False, 0, 25),
    "fer_tensorflow": (70, 150, False, 0, 10),
    "official_generate": (60, 90, True, 0, 25),
    "official_train": (130, 120, True, 0, 40),  # its tick 0 ends after ~67 s
    "train_bilinear": (45, 90, False, 250, 30),
    "generate_compile": (90, 90, False, 60, 50),
    "train_compile": (300, 90, False, 0, 60),
    "fer_jax": (90, 120, False, 0, 60),
}


# ----------------------------------------------------------------------------------------------------------------
# Small helpers shared by parent and children


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%H:%M:%S")


def say(msg: str) -> None:
    """A progress line for the console (children: picked up by the parent through PREFIX)."""
    print(f"{PREFIX}{_now()} {msg}", flush=True)


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _median(v):
    return statistics.median(v) if v else None


def _sync(dev) -> None:
    import torch

    if getattr(dev, "type", str(dev)).startswith("cuda"):
        torch.cuda.synchronize()


def textures(n: int, size: int, seed: int):
    """``n`` deterministic natural-looking RGB images (uint8 [n, size, size, 3]): smooth multi-scale noise with
    colour, edges and fine grain — content for speed runs (no data set travels to the GPU machine)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        img = np.zeros((size, size, 3), np.float32)
        k = 2
        while k <= size:
            small = rng.normal(0, 1, (k, k, 3)).astype(np.float32)
            img += cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC) * (8.0 / math.sqrt(k))
            k *= 2
        img = (img - img.mean()) / (img.std() + 1e-6) * 45 + rng.uniform(90, 160, 3)
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Children: one function per section; each writes its figures to ctx['result'] as it goes.


class Child:
    def __init__(self, ctx: dict):
        self.ctx = ctx
        self.P = ctx["P"]
        self.work = Path(ctx["work"])
        self.result_path = Path(ctx["result"])
        self.deadline = float(ctx["deadline"])
        self.fig: dict = {}

    def report(self, **kv) -> None:
        self.fig.update(kv)
        _write_json(self.result_path, self.fig)

    def left(self) -> float:
        return self.deadline - time.time()

    def device(self):
        import torch

        return torch.device("cuda" if (torch.cuda.is_available() and not self.ctx["dry"]) else "cpu")


def child_env(c: Child) -> None:
    import platform

    import numpy as np
    import torch

    fig = dict(
        date_utc=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        numpy=np.__version__,
        cpu_count=os.cpu_count(),
        cuda_available=torch.cuda.is_available(),
        src_commit=c.ctx.get("src_commit"),
    )
    from importlib import metadata

    for dist in ("keras", "triton", "pillow", "opencv-python-headless", "scikit-learn", "scipy", "pandas", "jax",
                 "tensorflow"):  # fmt: skip
        try:
            fig[f"{dist}_version"] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            fig[f"{dist}_version"] = None
    import importlib.util

    # What the sections import beyond torch (on the GPU machine: carried as wheels, or part of its image).
    fig["importable"] = {m: importlib.util.find_spec(m) is not None
                         for m in ("keras", "optree", "namex", "brisque", "click", "cv2", "sklearn", "jax", "tensorflow")}  # fmt: skip
    if torch.cuda.is_available():
        fig["gpu"] = torch.cuda.get_device_name(0)
        fig["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        fig["compute_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
    try:
        q = "name,driver_version,memory.total,clocks.max.sm,power.limit"
        out = subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20)  # fmt: skip
        fig["nvidia_smi"] = out.stdout.strip() or out.stderr.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        fig["nvidia_smi"] = f"not available ({type(exc).__name__})"
    c.report(**fig)
    say(f"env: {fig.get('gpu', 'no GPU')}, torch {fig['torch']}, CUDA {fig['cuda']}, Python {fig['python']}; "
        f"not importable: {[m for m, ok in fig['importable'].items() if not ok] or 'none'}")  # fmt: skip


def _dataset_zip(c: Child) -> Path:
    """An NVIDIA-format dataset zip of generated images (built once per run, shared by the training sections)."""
    from synthfer.gan.dataset import build_dataset_zip
    from synthfer.imaging import save_png

    out = c.work / f"dataset{c.P['res']}.zip"
    if out.exists():
        return out
    crops = c.work / f"crops{c.P['res']}"
    crops.mkdir(exist_ok=True)
    for i, img in enumerate(textures(c.P["dataset_n"], c.P["res"], seed=1)):
        save_png(crops / f"{i:05d}.png", img, compress_level=1)
    build_dataset_zip(crops, out, c.P["res"])
    return out


def _time_blocks(c: Child, step, dev, batch: int) -> None:
    """Warm up, then time blocks of ``block_steps`` minibatches until ``timing_s`` (or the deadline) passes;
    reports sec/kimg as the median block after every block."""
    P = c.P
    t0 = time.perf_counter()
    step()
    _sync(dev)
    c.report(first_step_s=round(time.perf_counter() - t0, 2))
    for _ in range(P["warmup_steps"] - 1):
        step()
    _sync(dev)
    c.report(warmup_s=round(time.perf_counter() - t0, 2))
    say(f"warm-up done in {time.perf_counter() - t0:.1f} s; timing blocks of {P['block_steps']} minibatches")
    if dev.type == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
    blocks: list[float] = []
    t_timing = time.perf_counter()
    while len(blocks) < P["max_blocks"]:
        if len(blocks) >= P["min_blocks"] and time.perf_counter() - t_timing > P["timing_s"]:
            break
        if blocks and c.left() < 2.5 * blocks[-1] * P["block_steps"] + 3:
            break
        _sync(dev)
        tb = time.perf_counter()
        for _ in range(P["block_steps"]):
            step()
        _sync(dev)
        blocks.append((time.perf_counter() - tb) / P["block_steps"])
        fig = dict(sec_per_step_blocks=[round(b, 5) for b in blocks],
                   sec_per_kimg=round(_median(blocks) * 1000 / batch, 3))  # fmt: skip
        if dev.type == "cuda":
            import torch

            fig["peak_gpu_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        c.report(**fig)
        say(f"block {len(blocks)}: {blocks[-1] * 1000:.1f} ms/minibatch -> {fig['sec_per_kimg']:.2f} sec/kimg")


def child_train(c: Child, variant: str) -> None:
    """Ours: ``variant`` in mixed | fp32 | compile | bilinear."""
    from synthfer.gan.dataset import load_dataset
    from synthfer.gan.options import DEFAULTS, resolve_config
    from synthfer.gan.train import Trainer

    P, dev = c.P, c.device()
    t0 = time.perf_counter()
    images = load_dataset(_dataset_zip(c))
    opts = dict(batch=P["batch"], aug="ada", p=P["p0"], mixed_precision=variant != "fp32")
    if variant == "compile":
        if "compile" not in DEFAULTS:
            c.report(status_note="skipped: synthfer's training has no compile option")
            return
        opts["compile"] = True
    if variant == "bilinear":
        if "aug_resample" not in DEFAULTS:
            c.report(status_note="skipped: synthfer's training has no aug_resample option")
            return
        opts["aug_resample"] = "bilinear"
    if P["tiny"]:
        opts.update(TINY_MODEL)
    cfg = resolve_config(opts, resolution=P["res"], num_images=len(images))
    trainer = Trainer(cfg, images, dev)
    c.report(
        device=str(dev), batch=cfg["batch"], resolution=P["res"], gamma=cfg["gamma"],
        mixed_precision=bool(cfg["mixed_precision"]) and dev.type == "cuda", tf32=bool(cfg.get("tf32")),
        compile=bool(cfg.get("compile")) and dev.type == "cuda", aug=cfg["aug"], p0=P["p0"],
        aug_resample=cfg.get("aug_resample"), setup_s=round(time.perf_counter() - t0, 2),
        G_params=sum(p.numel() for p in trainer.G.parameters()), D_params=sum(p.numel() for p in trainer.D.parameters()),
    )  # fmt: skip
    say(f"train {variant}: {c.fig['G_params'] / 1e6:.1f} M + {c.fig['D_params'] / 1e6:.1f} M parameters on {dev}")
    _time_blocks(c, trainer.step, dev, cfg["batch"])
    finite = all(math.isfinite(v) for vs in trainer.read_stats().values() for v in vs)
    c.report(losses_finite=finite, augment_p_end=round(trainer._p(), 5), minibatches=trainer.batch_idx)
    if not finite:
        say(f"train {variant}: NON-FINITE losses seen: {json.dumps({k: v[-3:] for k, v in trainer.stats.items()})}")


def _count_syncs_cuda(fn) -> int:
    """Host–device syncs of ``fn()`` on CUDA: the warnings of ``torch.cuda.set_sync_debug_mode('warn')``."""
    import warnings

    import torch

    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            fn()
            torch.cuda.synchronize()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    return sum("synchroniz" in str(w.message) for w in seen)


def child_train_phases(c: Child) -> None:
    """Issue 21: ms per training phase (Gmain, Greg, Dmain, Dreg: forward, backward, clean, Adam step; median of
    ``block_steps`` runs after one warm-up), the first minibatch's time (cuDNN autotuning), syncs per plain
    minibatch (CUDA: ``torch.cuda.set_sync_debug_mode``; CPU: :class:`synthfer.gan.opcount.OpCounter`) and the
    aten ops each phase dispatches (kernel launches on a GPU). Mixed precision, 256² auto, ADA at p0."""

    from synthfer.gan.dataset import load_dataset
    from synthfer.gan.opcount import OpCounter
    from synthfer.gan.options import resolve_config
    from synthfer.gan.train import Trainer

    P, dev = c.P, c.device()
    images = load_dataset(_dataset_zip(c))
    opts = dict(batch=P["batch"], aug="ada", p=P["p0"], mixed_precision=True, **(TINY_MODEL if P["tiny"] else {}))
    cfg = resolve_config(opts, resolution=P["res"], num_images=len(images))
    tr = Trainer(cfg, images, dev)
    t0 = time.perf_counter()
    tr.step()  # minibatch 0: every phase
    _sync(dev)
    c.report(device=str(dev), batch=cfg["batch"], first_minibatch_s=round(time.perf_counter() - t0, 2))
    say(f"train phases: first minibatch {c.fig['first_minibatch_s']} s")
    for phase in ("Gmain", "Greg", "Dmain", "Dreg"):
        times = []
        for i in range(1 + P["block_steps"]):
            _sync(dev)
            tb = time.perf_counter()
            tr.run_phase(phase, tr.real_batch())
            _sync(dev)
            if i:
                times.append(time.perf_counter() - tb)
            if c.left() < 10:
                break
        with OpCounter() as cnt:
            tr.run_phase(phase, tr.real_batch())
        c.report(**{f"ms_{phase}": round(_median(times) * 1000, 2) if times else None, f"ops_{phase}": cnt.device_ops,
                    f"convs_{phase}": cnt.convs})  # fmt: skip
        say(f"  {phase}: {c.fig[f'ms_{phase}']} ms, {cnt.device_ops} ops, {cnt.convs} convolutions")

    def plain():
        tr.batch_idx = 1
        tr.step()

    plain()
    if dev.type == "cuda":
        syncs = _count_syncs_cuda(plain)
    else:
        with OpCounter() as cnt:
            plain()
        syncs = cnt.syncs
    with OpCounter() as cnt:
        plain()
    c.report(syncs_per_plain_minibatch=syncs, ops_plain=cnt.device_ops)
    say(f"  plain minibatch: {syncs} syncs, {cnt.device_ops} ops")


def _generator_kwargs(P, mixed: bool) -> dict:
    from synthfer.gan.options import network_kwargs, resolve_config

    opts = dict(batch=P["batch"], mixed_precision=mixed, **(TINY_MODEL if P["tiny"] else {}))
    return network_kwargs(resolve_config(opts, resolution=P["res"], num_images=1))[0]


def _rate(fn, n: int, rounds: int, dev) -> tuple[float, list[float]]:
    """Median images/s of ``rounds`` runs of ``fn`` (which makes ``n`` images), after one warm-up call."""
    fn()
    _sync(dev)
    rates = []
    for _ in range(rounds):
        _sync(dev)
        t0 = time.perf_counter()
        fn()
        _sync(dev)
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates), rates


def child_generate(c: Child) -> None:
    import numpy as np
    import pandas as pd
    import torch

    from synthfer.gan.api import build_generator, save_generator, seeds_to_ws, synthesize_ws
    from synthfer.generate.shard import generate_rows
    from synthfer.latent.directions import Directions

    P, dev = c.P, c.device()
    torch.manual_seed(0)
    G = build_generator(_generator_kwargs(P, mixed=True)).eval().requires_grad_(False).to(dev)
    G32 = build_generator(_generator_kwargs(P, mixed=False), G.state_dict()).eval().requires_grad_(False).to(dev)
    save_generator(c.work / "G_ours.pt", G)
    seeds, b = list(range(P["gen_n"])), P["gen_batch"]
    c.report(device=str(dev), batch=b, images=len(seeds), resolution=P["res"])
    for name, g in (("mixed", G), ("fp32", G32)):
        ips, rates = _rate(lambda g=g: synthesize_ws(g, seeds_to_ws(g, seeds, batch_size=b), batch_size=b),
                           len(seeds), P["gen_rounds"], dev)  # fmt: skip
        c.report(**{f"images_per_s_{name}": round(ips, 1), f"rounds_{name}": [round(r, 1) for r in rates]})
        say(f"generate ours {name}: {ips:.0f} images/s (mapping + synthesis, uint8 on the host, batch {b})")
    # Reference images for the official generator's comparison (same weights, same seeds).
    ref = {name: synthesize_ws(g, seeds_to_ws(g, seeds[:16], batch_size=16), batch_size=16)
           for name, g in (("mixed", G), ("fp32", G32))}  # fmt: skip
    np.savez(c.work / "G_ours_images.npz", **ref)

    rng = np.random.RandomState(0)
    comps = rng.randn(4, G.w_dim).astype(np.float32)
    comps /= np.linalg.norm(comps, axis=1, keepdims=True)
    directions = Directions(comps, np.ones(4, np.float32), None, G.num_ws)
    n = P["shard_n"]
    rows = pd.DataFrame({"order": range(n), "name": [f"{s}_{s:06d}" for s in range(n)], "seed": range(n),
                         "direction": [(s % 5) - 1 for s in range(n)], "degree": [2.0] * n, "psi": [0.7] * n,
                         "layer_start": [0] * n, "layer_end": [G.num_ws] * n, "shard": [0] * n})  # fmt: skip
    generate_rows(G, directions, rows.iloc[:b], c.work / "shard_warmup", 0, batch_size=b)
    shard_dir = c.work / "shard"
    _sync(dev)
    t0 = time.perf_counter()
    generate_rows(G, directions, rows, shard_dir, 0, batch_size=b)
    ips = n / (time.perf_counter() - t0)
    shutil.rmtree(shard_dir, ignore_errors=True)
    c.report(images_per_s_shard=round(ips, 1), shard_images=n)
    say(f"generate_shard path (edit + PNG + SHA-256 + write): {ips:.0f} images/s")


def child_generate_compile(c: Child) -> None:
    """Ours with ``torch.compile`` on the synthesis network (inference; a candidate for generate_shard): images/s
    and the compile time, same generator and seeds as section ``generate`` (on a CPU: dynamo only, eager backend)."""
    import numpy as np
    import torch

    from synthfer.gan.api import load_generator, seeds_to_ws, synthesize_ws

    P, dev = c.P, c.device()
    G = load_generator(c.work / "G_ours.pt", device=dev)
    seeds, b = list(range(P["gen_n"])), P["gen_batch"]
    backend = "inductor" if dev.type == "cuda" else "eager"
    G.synthesis = torch.compile(G.synthesis, backend=backend)
    c.report(device=str(dev), batch=b, images=len(seeds), backend=backend)
    t0 = time.perf_counter()
    first = synthesize_ws(G, seeds_to_ws(G, seeds[:16], batch_size=b), batch_size=b)
    synthesize_ws(G, seeds_to_ws(G, seeds[:b], batch_size=b), batch_size=b)
    _sync(dev)
    c.report(compile_s=round(time.perf_counter() - t0, 1))
    say(f"generate ours mixed + torch.compile ({backend}): compiled in {time.perf_counter() - t0:.0f} s")
    ips, rates = _rate(lambda: synthesize_ws(G, seeds_to_ws(G, seeds, batch_size=b), batch_size=b), len(seeds),
                       P["gen_rounds"], dev)  # fmt: skip
    ref = np.load(c.work / "G_ours_images.npz")["mixed"]
    diff = np.abs(first.astype(np.int16) - ref.astype(np.int16))
    c.report(images_per_s=round(ips, 1), rounds=[round(r, 1) for r in rates], max_abs_diff_vs_eager=int(diff.max()),
             mean_abs_diff_vs_eager=float(diff.mean()))  # fmt: skip
    say(f"generate ours mixed + torch.compile: {ips:.0f} images/s; |compiled - eager| max {diff.max()} uint8 levels")


def _official_path(c: Child) -> Path:
    p = Path(c.ctx["official"]).resolve()
    sys.path.insert(0, str(p))
    return p


def _official_ops_status() -> dict:
    from torch_utils.ops import bias_act, upfirdn2d

    return {"custom_ops": bool(bias_act._plugin is not None and upfirdn2d._plugin is not None)}


def child_official_build(c: Child) -> None:
    """Background: compile one official custom op (``ctx['op']``) so that later sections load it from the cache."""
    _official_path(c)
    import torch  # noqa: F401
    from torch_utils import custom_ops

    custom_ops.verbosity = "full"
    op = c.ctx["op"]
    mod = __import__(f"torch_utils.ops.{op}", fromlist=[op])
    import warnings

    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok = bool(mod._init())
    c.report(op=op, ok=ok, build_s=round(time.perf_counter() - t0, 1))
    if not ok:  # its loader turns a build error into a warning and falls back to the reference ops
        c.report(error="\n".join(str(w.message) for w in caught)[-1500:])
    say(f"official custom op {op}: {'built' if ok else 'FAILED (reference ops would be used)'} "
        f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip


def child_official_generate(c: Child) -> None:
    import numpy as np
    import torch

    from synthfer.gan.api import read_checkpoint, seeds_to_z

    _official_path(c)
    from training.networks import Generator as OfficialGenerator

    P, dev = c.P, c.device()
    ckpt = read_checkpoint(c.work / "G_ours.pt")  # section 4's generator: same architecture and weights
    seeds, b = list(range(P["gen_n"])), P["gen_batch"]
    c.report(device=str(dev), batch=b, images=len(seeds))
    refs = np.load(c.work / "G_ours_images.npz")

    def render(G, seeds_):
        out = np.zeros((len(seeds_), G.img_resolution, G.img_resolution, 3), np.uint8)
        with torch.no_grad():
            for i in range(0, len(seeds_), b):
                z = torch.from_numpy(seeds_to_z(seeds_[i : i + b], G.z_dim)).to(dev)
                img = G(z, torch.zeros([z.shape[0], 0], device=dev), truncation_psi=1, noise_mode="const")
                img = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)  # as its generate.py
                out[i : i + img.shape[0]] = img.cpu().numpy()
        return out

    for name, mixed in (("mixed", True), ("fp32", False)):
        kw = json.loads(json.dumps(ckpt["G_kwargs"]))
        kw["synthesis_kwargs"].update(num_fp16_res=4 if mixed else 0, conv_clamp=256 if mixed else None)
        G = OfficialGenerator(**kw).eval().requires_grad_(False)
        missing, unexpected = G.load_state_dict(ckpt["G_ema"], strict=False)
        G = G.to(dev)
        ips, rates = _rate(lambda G=G: render(G, seeds), len(seeds), P["gen_rounds"], dev)
        diff = np.abs(render(G, seeds[:16]).astype(np.int16) - refs[name].astype(np.int16))
        c.report(**{f"images_per_s_{name}": round(ips, 1), f"rounds_{name}": [round(r, 1) for r in rates],
                    f"max_abs_diff_vs_ours_{name}": int(diff.max()), f"mean_abs_diff_vs_ours_{name}": float(diff.mean()),
                    "state_dict_missing": list(missing), "state_dict_unexpected": list(unexpected)})  # fmt: skip
        c.report(**_official_ops_status())
        say(f"official generate {name}: {ips:.0f} images/s; custom ops {c.fig['custom_ops']}; "
            f"|official - ours| max {diff.max()} mean {diff.mean():.3f} (uint8 levels, same weights)")  # fmt: skip


_TICK = None


def _parse_ticks(text: str) -> list[dict]:
    import re

    global _TICK
    if _TICK is None:
        _TICK = re.compile(r"^tick (\d+)\s+kimg ([\d.]+)\s+time .*?sec/tick ([\d.]+)\s+sec/kimg ([\d.]+)"
                           r".*?gpumem ([\d.]+)\s+augment ([\d.]+)")  # fmt: skip
    ticks = []
    for line in text.splitlines():
        m = _TICK.match(line.strip())
        if m:
            ticks.append(dict(tick=int(m[1]), kimg=float(m[2]), sec_per_tick=float(m[3]), sec_per_kimg=float(m[4]),
                              gpumem_gib=float(m[5]), augment=float(m[6])))  # fmt: skip
    return ticks


def _report_ticks(c: Child, ticks: list[dict]) -> None:
    steady = [t["sec_per_kimg"] for t in ticks if t["tick"] >= 2]
    fig = dict(ticks=ticks)
    if steady:
        fig.update(sec_per_kimg=round(_median(steady), 3), steady_ticks=len(steady))
    elif any(t["tick"] == 1 for t in ticks):
        fig.update(sec_per_kimg=[t for t in ticks if t["tick"] == 1][0]["sec_per_kimg"], steady_ticks=0,
                   note="only the first (warm-up) tick finished")  # fmt: skip
    if ticks:
        fig["peak_gpu_mem_gib"] = max(t["gpumem_gib"] for t in ticks)
    c.report(**fig)


def child_official_train(c: Child) -> None:
    mode = c.ctx.get("official_train_mode", "auto")
    if mode == "auto":
        mode = "loop" if c.device().type == "cuda" else "phases"
    c.report(mode=mode)
    if mode == "phases":
        _official_train_phases(c)
        return
    try:
        _official_train_loop(c)
    except Exception as exc:
        if c.ctx.get("official_train_mode") != "auto" or c.fig.get("sec_per_kimg") or c.left() < 30:
            raise
        # No figure from the loop: time the official networks, augmentation and loss in its phase loop instead.
        c.report(mode="phases", loop_error=f"{type(exc).__name__}: {exc}"[:500])
        say(f"official training_loop failed ({type(exc).__name__}: {exc}); timing its phase loop instead")
        _official_train_phases(c)


def _official_train_loop(c: Child) -> None:
    """The official train.py configuration, run by the official training_loop (its data loader, phases, stats)."""
    P = c.P
    zip_path = _dataset_zip(c)
    official = _official_path(c)
    import train as official_train  # the official train.py (setup_training_loop_kwargs, subprocess_fn)

    desc, args = official_train.setup_training_loop_kwargs(
        gpus=1, snap=1000, metrics=[], seed=0, data=str(zip_path), mirror=True, cfg="auto", batch=P["batch"],
        kimg=1000, aug="ada")  # fmt: skip
    if P["tiny"]:  # dry rehearsal only: the tiny model of the other sections
        args.G_kwargs.synthesis_kwargs.update(channel_base=TINY_MODEL["channel_base"], channel_max=64)
        args.G_kwargs.update(z_dim=64, w_dim=64)
        args.D_kwargs.update(channel_base=TINY_MODEL["channel_base"], channel_max=64)
    args.kimg_per_tick = P["official_tick_kimg"]  # 32 minibatches of 16: whole lazy-regularisation cycles
    args.image_snapshot_ticks = args.network_snapshot_ticks = None
    args.augment_p = P["p0"]
    run_dir = c.work / "official_run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    args.run_dir = str(run_dir)
    max_ticks = 2 + P["official_steady_ticks"]  # tick 0 (one minibatch) and tick 1 (warm-up), then the steady ones
    state = {"calls": 0}

    def abort_fn() -> bool:  # called by the loop once per tick (after tick 0, 1, ...)
        state["calls"] += 1
        log = run_dir / "log.txt"
        ticks = _parse_ticks(log.read_text()) if log.exists() else []
        _report_ticks(c, ticks)
        last = ticks[-1]["sec_per_tick"] if ticks else 0
        return state["calls"] >= max_ticks or c.left() < 1.5 * last + 5

    args.abort_fn = abort_fn
    c.report(desc=desc, official=str(official), batch=args.batch_size, gamma=args.loss_kwargs.r1_gamma,
             num_fp16_res=args.G_kwargs.synthesis_kwargs.num_fp16_res, allow_tf32=bool(args.get("allow_tf32")),
             kimg_per_tick=args.kimg_per_tick, augment_p0=args.augment_p)  # fmt: skip
    say(f"official train.py config {desc}: training_loop, ticks of {args.kimg_per_tick} kimg")
    import torch

    torch.multiprocessing.set_start_method("spawn", force=True)  # as its train.py: data-loader workers each open the zip
    with tempfile.TemporaryDirectory() as tmp:
        official_train.subprocess_fn(rank=0, args=args, temp_dir=tmp)
    _report_ticks(c, _parse_ticks((run_dir / "log.txt").read_text()))
    c.report(**_official_ops_status())
    say(f"official training_loop: {c.fig.get('sec_per_kimg')} sec/kimg over {c.fig.get('steady_ticks')} ticks; "
        f"custom ops {c.fig['custom_ops']}")  # fmt: skip


def _official_train_phases(c: Child) -> None:
    """The official networks, AugmentPipe and StyleGAN2Loss in the official phase loop (benchmarks/gan_speed.py)."""
    import torch

    from synthfer.gan.dataset import load_dataset
    from synthfer.gan.options import resolve_config

    P, dev = c.P, c.device()
    official = _official_path(c)
    from torch_utils.ops import conv2d_gradfix, grid_sample_gradfix

    sys.path.insert(0, str(Path(c.ctx["src"]) / "benchmarks"))
    from gan_speed import OfficialTrainer

    conv2d_gradfix.enabled = grid_sample_gradfix.enabled = True  # as its training_loop
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # its default
    images = load_dataset(_dataset_zip(c))
    opts = dict(batch=P["batch"], aug="ada", p=P["p0"], **(TINY_MODEL if P["tiny"] else {}))
    cfg = resolve_config(opts, resolution=P["res"], num_images=len(images))
    trainer = OfficialTrainer(str(official), cfg, images, dev)
    c.report(device=str(dev), batch=cfg["batch"], official=str(official))
    _time_blocks(c, trainer.step, dev, cfg["batch"])
    if dev.type == "cuda":
        c.report(**_official_ops_status())


_IQA_WORKER = r"""
import json, sys, time
t0 = time.perf_counter()
spec = json.loads(sys.argv[1])
from synthfer.iqa.score import score_batch
t1 = time.perf_counter()
for dev, b, out in spec["runs"]:
    score_batch(spec["batches"], b, spec["root"], spec["refs"], spec["svr"], out, chunk=64, device=dev,
                threads=spec["threads"])
print(json.dumps({"import_s": t1 - t0, "score_s": time.perf_counter() - t1, "total_s": time.perf_counter() - t0}))
"""


def _iqa_jobs(specs: list[dict], timeout: float) -> tuple[float, list[dict]]:
    """Run ``score_batch`` jobs, one process each, all at once; wall seconds and each job's own timing."""

    def env(spec):  # a job with `threads:` also keeps its BLAS/OpenMP pools at that size
        n = spec["threads"]
        return {**os.environ, **({v: str(n) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
                                 if n else {})}  # fmt: skip

    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", _IQA_WORKER, json.dumps(s)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env(s)) for s in specs]  # fmt: skip
    outs = []
    for p in procs:
        o, e = p.communicate(timeout=max(timeout - (time.perf_counter() - t0), 1))
        if p.returncode != 0:
            raise RuntimeError(f"score_batch job failed:\n{e[-3000:]}")
        outs.append(json.loads(o.strip().splitlines()[-1]))
    return time.perf_counter() - t0, outs


def child_iqa(c: Child) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pandas as pd

    from synthfer.imaging import save_png
    from synthfer.iqa.batches import make_batches
    from synthfer.iqa.references import build_references
    from synthfer.iqa.svr import train_svr
    from synthfer.scores import FR_METRICS

    P = c.P
    import torch

    acc = "cuda" if (torch.cuda.is_available() and not c.ctx["dry"]) else "cpu:0"  # cpu:0 = the torch path on CPU
    size, bs, jobs = P["iqa_size"], P["iqa_batch"], P["iqa_jobs"]
    root = c.work / "iqa"
    shutil.rmtree(root, ignore_errors=True)
    (root / "real").mkdir(parents=True)
    (root / "synthetic" / "raw").mkdir(parents=True)
    t0 = time.perf_counter()
    base = textures(48, size, seed=2)
    for i, img in enumerate(base[:32]):
        save_png(root / "real" / f"r{i:03d}.png", img, compress_level=1)
    n = bs * jobs
    rng = np.random.default_rng(3)
    picks, shifts, sig = rng.integers(len(base), size=n), rng.integers(-8, 8, size=n), rng.uniform(0, 6, size=n)

    def write(i):  # generated-like: shifted/flipped/noisy variants, PNG as generate_shard writes them
        r = np.random.default_rng(1000 + i)
        x = np.roll(base[picks[i]], shifts[i], axis=1)[:, :: (-1 if i % 2 else 1)]
        x = np.clip(x + r.normal(0, sig[i], x.shape), 0, 255).astype(np.uint8)
        save_png(root / "synthetic" / "raw" / f"{i}_{i:06d}.png", x)

    with ThreadPoolExecutor(max(os.cpu_count() or 1, 1)) as ex:
        list(ex.map(write, range(n)))
    names = [f"{i}_{i:06d}" for i in range(n)]
    man = pd.DataFrame({"name": names, "file": [f"raw/{s}.png" for s in names], "face_ok": True})
    man.to_csv(root / "manifest.csv", index=False)
    man.iloc[: P["iqa_cmp"]].to_csv(root / "manifest_cmp.csv", index=False)
    build_references(root / "real", root / "references.npz", (size, size))
    train_svr(root / "references.npz", root / "svr.joblib", root / "svr.json", root / "svr.csv",
              {"blur": [1.0], "noise": [8], "jpeg": [20]}, max_crops=12, seed=0)  # fmt: skip
    nb = make_batches(root / "manifest.csv", root / "batches.csv", batch_size=bs, seed=0)
    make_batches(root / "manifest_cmp.csv", root / "batches_cmp.csv", batch_size=P["iqa_cmp"], seed=0)
    c.report(accelerator=acc, image_size=size, batch_images=bs, prep_s=round(time.perf_counter() - t0, 1), batches=nb)
    say(f"iqa: {n} images of {size}² written, references + SVR ready ({time.perf_counter() - t0:.0f} s)")

    common = dict(root=str(root / "synthetic"), refs=str(root / "references.npz"), svr=str(root / "svr.joblib"))
    scores = root / "scores"
    scores.mkdir()
    # Agreement first (cheap): the comparison batch on the accelerator and on the CPU path, in one process.
    spec = dict(common, batches=str(root / "batches_cmp.csv"), threads=None,
                runs=[(acc, 0, str(scores / "cmp_acc.parquet")), ("cpu", 0, str(scores / "cmp_cpu.parquet"))])  # fmt: skip
    _iqa_jobs([spec], c.left())
    a, b = pd.read_parquet(scores / "cmp_acc.parquet"), pd.read_parquet(scores / "cmp_cpu.parquet")
    num = [k for k in a.columns if a[k].dtype.kind == "f"]
    diffs = {k: float(np.nanmax(np.abs(a[k].to_numpy() - b[k].to_numpy()))) for k in num}
    c.report(max_abs_diff_vs_cpu=diffs, max_abs_diff_fr=max(diffs[k] for k in FR_METRICS),
             max_abs_diff_brisque_svr=max(diffs["brisque"], diffs["svr_severity"]),
             max_abs_diff_all=max(diffs.values()), compared_images=len(a),
             same_status=bool((a["status"] == b["status"]).all()))  # fmt: skip
    say(f"iqa: max |accelerator - CPU| six FR metrics {c.fig['max_abs_diff_fr']:.2e}, "
        f"BRISQUE/SVR {c.fig['max_abs_diff_brisque_svr']:.2e} over {len(a)} images")  # fmt: skip

    # One job (one process, as one rule job) of one batch, all cores.
    spec = dict(common, batches=str(root / "batches.csv"), threads=None, runs=[(acc, 0, str(scores / "one.parquet"))])
    wall, outs = _iqa_jobs([spec], c.left())
    c.report(one_job_wall_s=round(wall, 2), one_job_images_per_s=round(bs / wall, 1),
             one_job_images_per_s_scoring=round(bs / outs[0]["score_s"], 1))  # fmt: skip
    say(f"iqa: one job of {bs}: {bs / wall:.0f} images/s with process start ({bs / outs[0]['score_s']:.0f} scoring)")
    # `jobs` jobs at once, one batch each, the cores shared out.
    threads = max(1, (os.cpu_count() or 1) // jobs)
    specs = [dict(common, batches=str(root / "batches.csv"), threads=threads,
                  runs=[(acc, j, str(scores / f"par{j}.parquet"))]) for j in range(min(jobs, nb))]  # fmt: skip
    wall, outs = _iqa_jobs(specs, c.left())
    nimg = bs * len(specs)
    ips = nimg / wall
    c.report(parallel_jobs=len(specs), threads_per_job=threads, parallel_wall_s=round(wall, 2),
             parallel_images_per_s=round(ips, 1), minutes_per_100k=round(100_000 / ips / 60, 2),
             minutes_per_100k_one_job=round(100_000 / c.fig["one_job_images_per_s"] / 60, 2))  # fmt: skip
    say(f"iqa: {len(specs)} jobs x {threads} threads: {ips:.0f} images/s -> 100,000 images in "
        f"{100_000 / ips / 60:.1f} min (goal <= 2)")  # fmt: skip
    # The CPU path, one job, for scale.
    spec = dict(common, batches=str(root / "batches.csv"), threads=None, runs=[("cpu", 0, str(scores / "cpu.parquet"))])
    wall, outs = _iqa_jobs([spec], c.left())
    c.report(cpu_one_job_images_per_s=round(bs / wall, 1))
    say(f"iqa: CPU path, one job: {bs / wall:.0f} images/s")


def child_fer(c: Child, backend: str) -> None:
    import importlib.util

    mod = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}[backend]
    for need in ("keras", mod):
        if importlib.util.find_spec(need) is None:
            c.report(status_note=f"skipped: {need} not installed")
            say(f"fer {backend}: skipped, {need} not installed")
            return
    sys.path.insert(0, str(Path(c.ctx["src"]) / "benchmarks"))
    import fer_speed

    P = c.P
    r = fer_speed._one(backend, P["fer_size"], P["fer_batch"], P["fer_steps"], P["fer_warmup"], None)
    c.report(**r)
    say(f"fer {backend}: {r['train_images_per_s']} training images/s at {P['fer_size']}² batch {P['fer_batch']} "
        f"on {r['device']} (first step {r['first_step_s']} s)")  # fmt: skip


CHILDREN = {
    "env": child_env,
    "train_mixed": lambda c: child_train(c, "mixed"),
    "train_phases": lambda c: child_train_phases(c),
    "train_fp32": lambda c: child_train(c, "fp32"),
    "train_bilinear": lambda c: child_train(c, "bilinear"),
    "train_compile": lambda c: child_train(c, "compile"),
    "generate": child_generate,
    "generate_compile": child_generate_compile,
    "iqa": child_iqa,
    "fer_torch": lambda c: child_fer(c, "torch"),
    "fer_tensorflow": lambda c: child_fer(c, "tensorflow"),
    "fer_jax": lambda c: child_fer(c, "jax"),
    "official_build": child_official_build,
    "official_generate": child_official_generate,
    "official_train": child_official_train,
}


def run_child(name: str, ctx_path: str) -> None:
    ctx = json.loads(Path(ctx_path).read_text())
    c = Child(ctx)
    c.report()
    CHILDREN[name](c)


# ----------------------------------------------------------------------------------------------------------------
# Parent: schedule, caps, the table.


class Suite:
    def __init__(self, args):
        self.args = args
        self.t0 = time.time()
        self.deadline = self.t0 + args.budget
        self.out = Path(args.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.work = Path(args.work or tempfile.mkdtemp(prefix="gpu-suite-")).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.logs = self.work / "logs"
        self.logs.mkdir(exist_ok=True)
        self.src = Path(args.src).resolve() if args.src else HERE.parents[1]
        self.P = dict(DRY if args.dry else FULL)
        self.sections: dict[str, dict] = {}
        self.log = open(self.out / "suite.log", "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run
        self.build_procs: list[tuple[str, subprocess.Popen, float]] = []
        commit = self.src / "COMMIT"
        self.src_commit = commit.read_text().strip() if commit.exists() else None
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join([str(self.src)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        self.env["PYTHONUNBUFFERED"] = "1"
        self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        self.env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        if args.dry:
            self.env["CUDA_VISIBLE_DEVICES"] = ""  # dry = CPU, also on a GPU machine
            for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                self.env[v] = "1"  # tiny sizes: one thread each is fastest, and kind to a shared machine

    # -- output -----------------------------------------------------------------------------------------------
    def emit(self, line: str, console: bool = True) -> None:
        stamp = f"[{_now()} +{time.time() - self.t0:6.1f}s] "
        self.log.write(stamp + line.rstrip("\n") + "\n")
        self.log.flush()
        if console:
            print(stamp + line.rstrip("\n"), flush=True)

    def save(self) -> str:
        """Write the output folder; returns the Markdown table."""
        rows = table_rows(self.sections, self.P)
        meta = self.meta()
        _write_json(self.out / "results.json", {"meta": meta, "rows": rows, "sections": self.sections})
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["group", "figure", "unit", "ours", "official", "ratio", "goal", "status", "notes"])
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in w.fieldnames})
        (self.out / "results.csv").write_text(buf.getvalue())
        md = markdown(rows, meta)
        (self.out / "results.md").write_text(md)
        with tarfile.open(self.out / "details.tar.gz.tmp", "w:gz") as tar:
            for p in sorted(self.logs.glob("*")) + sorted(self.work.glob("*.json")):
                if p.is_file() and p.stat().st_size < 4 * 2**20:
                    tar.add(p, arcname=f"details/{p.name}")
            olog = self.work / "official_run" / "log.txt"
            if olog.exists():
                tar.add(olog, arcname="details/official_training_loop_log.txt")
        os.replace(self.out / "details.tar.gz.tmp", self.out / "details.tar.gz")
        return md

    def meta(self) -> dict:
        env = self.sections.get("env", {})
        return {
            "command": " ".join([Path(sys.executable).name] + sys.argv),
            "mode": "dry (CPU, tiny sizes)" if self.args.dry else "full",
            "budget_s": self.args.budget,
            "elapsed_s": round(time.time() - self.t0, 1),
            "sizes": self.P,
            "official": self.args.official,
            **{k: env.get(k) for k in ("date_utc", "gpu", "nvidia_smi", "compute_capability", "torch", "cuda", "cudnn",
                                       "python", "numpy", "keras_version", "triton_version", "cpu_count", "src_commit")},
        }  # fmt: skip

    # -- children ---------------------------------------------------------------------------------------------
    def ctx_for(self, name: str, cap: float, **extra) -> str:
        ctx = dict(P=self.P, work=str(self.work), result=str(self.work / f"{name}.json"), dry=self.args.dry,
                   deadline=time.time() + cap - 3, official=self.args.official, src=str(self.src),
                   src_commit=self.src_commit, official_train_mode=self.args.official_train, **extra)  # fmt: skip
        path = self.work / f"ctx_{name}.json"
        path.write_text(json.dumps(ctx))
        return str(path)

    def popen(self, name: str, ctx_path: str, env=None, niceness: int = 0) -> subprocess.Popen:
        nice = ["nice", "-n", str(niceness)] if (niceness and shutil.which("nice")) else []
        return subprocess.Popen(nice + [sys.executable, str(HERE), "--_child", name, "--_ctx", ctx_path],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                env=env or self.env, start_new_session=True, cwd=str(self.work))  # fmt: skip

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is not None:
                return
            try:
                os.killpg(proc.pid, sig)  # the child's own process group (start_new_session): it and its workers
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def run_section(self, name: str) -> None:
        cap_full, cap_dry, needs_official, keep_after, min_s = SECTIONS[name]
        cap = cap_dry if self.args.dry else cap_full
        if needs_official and not self.args.official:
            self.sections[name] = {"status": "skipped: no official code path given"}
            self.emit(f"== {name}: skipped (no official code path given)")
            return
        if needs_official:  # its custom ops: let the background build finish first (else the child waits for it)
            self.wait_builds(min(cap * 0.6, self.deadline - time.time() - 5 - keep_after - min_s))
        left = self.deadline - time.time() - 5
        if left - keep_after < min_s:
            self.sections[name] = {"status": f"skipped: out of time budget ({left:.0f} s left)"}
            self.emit(f"== {name}: skipped, {left:.0f} s left of the budget")
            return
        cap = min(cap, left - keep_after)
        self.emit(f"== {name}: start (cap {cap:.0f} s)")
        env = dict(self.env)
        if name.startswith("fer_"):
            env["KERAS_BACKEND"] = name.split("_", 1)[1]
        ctx = self.ctx_for(name, cap)
        t = time.time()
        proc = self.popen(name, ctx, env)
        lines: list[str] = []
        with open(self.logs / f"{name}.log", "w", encoding="utf-8") as flog:

            def pump():
                for line in proc.stdout:
                    lines.append(line)
                    flog.write(line)
                    flog.flush()
                    if line.startswith(PREFIX):
                        self.emit(f"   {name}: {line[len(PREFIX):]}")
                    else:
                        self.emit(f"   {name}| {line}", console=False)

            th = threading.Thread(target=pump, daemon=True)
            th.start()
            timed_out = False
            try:
                proc.wait(timeout=cap)
            except subprocess.TimeoutExpired:
                timed_out = True
                self.kill(proc)
            th.join(10)
        seconds = round(time.time() - t, 1)
        res_path = self.work / f"{name}.json"
        fig = json.loads(res_path.read_text()) if res_path.exists() else {}
        if timed_out:
            status = f"timeout after {seconds:.0f} s (cap {cap:.0f} s)" + (": partial figures" if fig else "")
        elif proc.returncode != 0:
            err = [ln.strip() for ln in lines if ln.strip()][-1:] or [f"exit code {proc.returncode}"]
            status = f"error: {err[0][:300]}"
            for ln in lines[-25:]:
                self.emit(f"   {name}! {ln}")
        else:
            status = fig.pop("status_note", "ok")
        self.sections[name] = {"status": status, "seconds": seconds, **fig}
        self.emit(f"== {name}: {status} ({seconds:.0f} s)")
        self.save()

    def start_builds(self) -> None:
        if not self.args.official or self.args.dry:
            return
        if not self.sections.get("env", {}).get("cuda_available"):
            self.sections["official_build"] = {"status": "skipped: no CUDA (the official code uses its reference ops)"}
            return
        for op in ("upfirdn2d", "bias_act"):
            name = f"official_build_{op}"
            ctx = self.ctx_for(name, 600, op=op)
            proc = self.popen("official_build", ctx, niceness=10)  # yields the CPU to the timed sections
            log = open(self.logs / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115 - closed by the thread

            def pump(proc=proc, log=log, name=name):
                for line in proc.stdout:
                    log.write(line)
                    log.flush()
                    if line.startswith(PREFIX):
                        self.emit(f"   {name}: {line[len(PREFIX):]}")
                log.close()

            threading.Thread(target=pump, daemon=True).start()
            self.build_procs.append((name, proc, time.time()))
        self.emit("== official custom CUDA ops: building in the background (upfirdn2d, bias_act)")

    def wait_builds(self, limit: float) -> None:
        t_end = time.time() + max(limit, 0)
        for name, proc, _t in self.build_procs:
            if proc.poll() is None:
                self.emit(f"   waiting for {name} (up to {max(t_end - time.time(), 0):.0f} s)")
                try:
                    proc.wait(timeout=max(t_end - time.time(), 0.1))
                except subprocess.TimeoutExpired:
                    pass
        builds = {}
        for name, proc, _t in self.build_procs:
            p = self.work / f"{name}.json"
            fig = json.loads(p.read_text()) if p.exists() else {}
            builds[name] = {"running": proc.poll() is None, "rc": proc.poll(), **fig}
        if builds:
            self.sections["official_build"] = {
                "status": "ok" if all(b.get("ok") for b in builds.values()) else "incomplete or failed",
                "seconds": max((b.get("build_s") or 0) for b in builds.values()),
                **builds,
            }

    def run(self) -> int:
        self.emit(f"gpu_suite: {'DRY (CPU, tiny)' if self.args.dry else 'full'} run, budget {self.args.budget:.0f} s, "
                  f"src {self.src} (commit {self.src_commit}), official {self.args.official}, out {self.out}, "
                  f"work {self.work}")  # fmt: skip
        names = [n for n in SECTIONS if not self.args.sections or n in self.args.sections]
        try:
            for name in names:
                self.run_section(name)
                if name == "env":
                    self.start_builds()
        finally:
            for _, proc, _ in self.build_procs:
                self.kill(proc)
            self.wait_builds(0)
            self.emit(f"done in {time.time() - self.t0:.0f} s")
            md = self.save()
        print("\n" + md, flush=True)
        self.log.write("\n" + md)
        self.log.close()
        if not self.args.keep_work and not self.args.work:
            shutil.rmtree(self.work, ignore_errors=True)
        return 0


# ----------------------------------------------------------------------------------------------------------------
# The table


def _f(v, nd=1):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, (int, float)):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 100:
            return f"{v:.0f}"
        return f"{v:.{nd}f}"
    return str(v)


def _e(v):
    return "" if v is None else f"{v:.1e}"


def _notes(*parts) -> str:
    """Join the note parts whose values were measured (a part is (template, value...) or a plain string)."""
    out = []
    for part in parts:
        if isinstance(part, str):
            if part:
                out.append(part)
        elif all(v is not None and v != "" for v in part[1:]):
            out.append(part[0].format(*part[1:]))
    return "; ".join(out)


def table_rows(S: dict, P: dict) -> list[dict]:
    """One row per figure of issue 13. ratio = speed of ours ÷ speed of the official code (> 1: ours faster)."""

    def st(name):
        return S.get(name, {}).get("status", "not run")

    def g(name, key):
        return S.get(name, {}).get(key)

    rows = []
    res, batch = P["res"], P["batch"]
    off_tr = g("official_train", "sec_per_kimg")
    mode = g("official_train", "mode")
    off_ops = g("official_train", "custom_ops")
    off_label = {"loop": "official: its train.py config run by its training_loop",
                 "phases": "official: its networks, AugmentPipe and loss in its phase loop"}.get(mode, "official")  # fmt: skip
    build = S.get("official_build", {})
    build_s = build.get("seconds") if build.get("status") == "ok" else None
    build_err = [b.get("error", "").strip().splitlines()[-1] for b in build.values()
                 if isinstance(b, dict) and b.get("error", "").strip()]  # fmt: skip
    grp = f"GAN training {res}² auto, batch {batch}, ADA on (p from {P['p0']})"
    for name, label in (
        ("train_fp32", "ours, fp32 (TF32 on)"),
        ("train_mixed", "ours, mixed precision (bf16, 4 blocks): the default"),
        ("train_compile", "ours, mixed precision + torch.compile"),
        ("train_bilinear", "ours, mixed precision, aug_resample=bilinear"),
    ):
        v = g(name, "sec_per_kimg")
        note = _notes(("peak {} GiB", g(name, "peak_gpu_mem_gib")),
                      ("compile + warm-up {:.0f} s", g(name, "warmup_s") if name == "train_compile" else None),
                      "NON-FINITE LOSSES" if g(name, "losses_finite") is False else "")  # fmt: skip
        rows.append(dict(group=grp, figure=label, unit="sec/kimg", ours=_f(v, 2), official=_f(off_tr, 2),
                         ratio=_f(off_tr / v, 2) if (v and off_tr) else "", goal="≥ 1 (sec/kimg ≤ official)",
                         status=st(name), notes=note.strip("; ")))  # fmt: skip
    rows.append(dict(group=grp, figure=off_label, unit="sec/kimg", official=_f(off_tr, 2), status=st("official_train"),
                     notes=_notes("fp16 on 4 blocks, TF32 off (its defaults)" if mode else "",
                                  "custom CUDA ops" if off_ops else ("REFERENCE ops" if off_ops is False else ""),
                                  ("ops built in {:.0f} s", build_s),
                                  ("custom-op build failed: {}", build_err[0][:200] if build_err else None),
                                  ("its training_loop failed ({}), so its phase loop was timed",
                                   (g("official_train", "loop_error") or "")[:200] or None),
                                  ("median of {} ticks of {} kimg after the warm-up tick", g("official_train", "steady_ticks"),
                                   g("official_train", "kimg_per_tick")),
                                  ("peak {} GiB", g("official_train", "peak_gpu_mem_gib"))).strip("; ")))  # fmt: skip

    ph = [g("train_phases", f"ms_{p}") for p in ("Gmain", "Greg", "Dmain", "Dreg")]
    rows.append(dict(group=grp, figure="ours, ms per phase Gmain / Greg / Dmain / Dreg (mixed precision)", unit="ms",
                     ours=" / ".join(_f(v, 1) for v in ph) if any(v is not None for v in ph) else "",
                     goal="regularisers ≤ 2× their main phase", status=st("train_phases"),
                     notes=_notes(("first minibatch {} s", g("train_phases", "first_minibatch_s")),
                                  ("{} syncs per plain minibatch", g("train_phases", "syncs_per_plain_minibatch")),
                                  ("{} ops per plain minibatch", g("train_phases", "ops_plain")))))  # fmt: skip
    grp = f"Generation {res}², batch {P['gen_batch']}"
    for key, label in (("mixed", "mapping + synthesis, mixed precision (ours bf16, official fp16)"),
                       ("fp32", "mapping + synthesis, fp32")):  # fmt: skip
        o, f_ = g("generate", f"images_per_s_{key}"), g("official_generate", f"images_per_s_{key}")
        note = _notes(("same weights: max |official − ours| {} uint8 levels (mean {:.3f})",
                       g("official_generate", f"max_abs_diff_vs_ours_{key}"),
                       g("official_generate", f"mean_abs_diff_vs_ours_{key}")),
                      "official on REFERENCE ops" if g("official_generate", "custom_ops") is False else "")  # fmt: skip
        rows.append(dict(group=grp, figure=label, unit="images/s", ours=_f(o), official=_f(f_),
                         ratio=_f(o / f_, 2) if (o and f_) else "",
                         goal="≥ 1.2" + (" (issue's official figure: 1,666)" if key == "mixed" else ""),
                         status=f"{st('generate')} / official: {st('official_generate')}", notes=note.strip("; ")))  # fmt: skip
    o, f_ = g("generate_compile", "images_per_s"), g("official_generate", "images_per_s_mixed")
    rows.append(dict(group=grp, figure="mapping + synthesis, mixed precision, synthesis under torch.compile",
                     unit="images/s", ours=_f(o), official=_f(f_), ratio=_f(o / f_, 2) if (o and f_) else "",
                     goal="≥ 1.2", status=st("generate_compile"),
                     notes=_notes(("compile {} s", g("generate_compile", "compile_s")),
                                  ("max |compiled − eager| {} uint8 levels", g("generate_compile", "max_abs_diff_vs_eager")),
                                  "not used by generate_shard yet")))  # fmt: skip
    rows.append(dict(group=grp, figure="generate_shard path (GANSpace edit + PNG + SHA-256 + write)", unit="images/s",
                     ours=_f(g("generate", "images_per_s_shard")), status=st("generate"),
                     notes="PNG encoding in the rule's one process"))  # fmt: skip

    grp = f"IQA score_batch on the accelerator, {P['iqa_size']}² (decode + 6 FR metrics + BRISQUE + SVR)"
    bs = P["iqa_batch"]
    rows += [
        dict(group=grp, figure=f"one job of {bs} images (process start included)", unit="images/s",
             ours=_f(g("iqa", "one_job_images_per_s")), status=st("iqa"),
             notes=_notes(("scoring alone {} images/s", _f(g("iqa", "one_job_images_per_s_scoring"))))),
        dict(group=grp, figure=f"{g('iqa', 'parallel_jobs') or P['iqa_jobs']} jobs of {bs} at once, one process each",
             unit="images/s", ours=_f(g("iqa", "parallel_images_per_s")), status=st("iqa"),
             notes=_notes(("{} threads each", g("iqa", "threads_per_job")))),
        dict(group=grp, figure="100,000 images, extrapolated from the parallel jobs", unit="min",
             ours=_f(g("iqa", "minutes_per_100k"), 2), goal="≤ 2 min", status=st("iqa"),
             notes=_notes(("one job at a time: {} min", _f(g("iqa", "minutes_per_100k_one_job"), 1)))),
        dict(group=grp, figure="max |accelerator − CPU path|, six FR metrics", unit="abs",
             ours=_e(g("iqa", "max_abs_diff_fr")), status=st("iqa"),
             notes=_notes(("BRISQUE and SVR {}", _e(g("iqa", "max_abs_diff_brisque_svr"))),
                          ("all columns {}", _e(g("iqa", "max_abs_diff_all"))),
                          ("{} images", g("iqa", "compared_images")))),
        dict(group=grp, figure=f"CPU path, one job of {bs} (for scale)", unit="images/s",
             ours=_f(g("iqa", "cpu_one_job_images_per_s")), status=st("iqa")),
    ]  # fmt: skip

    grp = f"FER training {P['fer_size']}², batch {P['fer_batch']} (EfficientNet-B0 + head)"
    rows.append(dict(group=grp, figure="Keras 3, KERAS_BACKEND=torch", unit="images/s",
                     ours=_f(g("fer_torch", "train_images_per_s")),
                     status=st("fer_torch"), notes=_notes(("first step {} s", g("fer_torch", "first_step_s")),
                                                          ("on {}", g("fer_torch", "device")))))  # fmt: skip
    tf_status = st("fer_tensorflow")
    tf_missing = tf_status.startswith("skipped: tensorflow")
    rows.append(dict(group=grp, figure="Keras 3, KERAS_BACKEND=tensorflow", unit="images/s",
                     ours=_f(g("fer_tensorflow", "train_images_per_s")),
                     status="not available on this machine" if tf_missing else tf_status,
                     notes="TensorFlow is not installed (the lent GPU machine has none, and its wheel is far over "
                           "the 64 MiB that can travel there)" if tf_missing else
                           _notes(("first step {} s", g("fer_tensorflow", "first_step_s")),
                                  ("on {}", g("fer_tensorflow", "device")))))  # fmt: skip
    rows.append(dict(group=grp, figure="Keras 3, KERAS_BACKEND=jax", unit="images/s",
                     ours=_f(g("fer_jax", "train_images_per_s")), status=st("fer_jax"),
                     notes=_notes(("first step (XLA compile) {} s", g("fer_jax", "first_step_s")),
                                  ("on {}", g("fer_jax", "device")))))  # fmt: skip
    for r in rows:
        for k in ("ours", "official", "ratio", "goal", "notes"):
            r.setdefault(k, "")
    return rows


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        f"GPU suite ({meta.get('mode')}): {meta.get('date_utc') or ''} · {meta.get('gpu') or 'no GPU'} · "
        f"torch {meta.get('torch')} (CUDA {meta.get('cuda')}, cuDNN {meta.get('cudnn')}) · Python {meta.get('python')} · "
        f"synthfer {meta.get('src_commit') or '(working tree)'} · {meta.get('elapsed_s')} s",
        f"nvidia-smi: {meta.get('nvidia_smi') or ''}",
        "",
        "ratio = speed of ours ÷ speed of the official code (> 1: ours faster; for sec/kimg: official ÷ ours).",
        "",
        "| Figure | Unit | Ours | Official | Ratio | Goal | Status | Notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    group = None
    for r in rows:
        if r["group"] != group:
            group = r["group"]
            lines.append(f"| **{group}** | | | | | | | |")
        cells = [r["figure"], r["unit"], r["ours"], r["official"], r["ratio"], r["goal"], r["status"], r["notes"]]
        lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="output folder (results.json/.csv/.md, suite.log, details.tar.gz)")
    ap.add_argument("--src", default=None, help="root of the synthfer source to benchmark (default: this checkout)")
    ap.add_argument("--official", default=os.environ.get("STYLEGAN2_ADA_OFFICIAL"),
                    help="a scratch copy of NVIDIA's stylegan2-ada-pytorch (never vendored; default: "
                         "$STYLEGAN2_ADA_OFFICIAL); without it the official sections are skipped")  # fmt: skip
    ap.add_argument("--budget", type=float, default=None, help="wall-clock seconds for the whole run (GPU 480, dry 600)")
    ap.add_argument("--dry", action="store_true", help="CPU with tiny sizes: the same code paths in about a minute")
    ap.add_argument("--sections", nargs="+", choices=list(SECTIONS), help="run only these sections (in suite order)")
    ap.add_argument("--official-train", default="auto", choices=["auto", "loop", "phases"],
                    help="official training: its training_loop (needs CUDA), the phase loop, or auto")  # fmt: skip
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed at the end)")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary scratch folder")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    ap.add_argument("--_ctx", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        run_child(args._child, args._ctx)
        return 0
    if not args.out:
        ap.error("--out is required")
    if args.budget is None:
        args.budget = 600.0 if args.dry else 480.0
    if args.official:
        args.official = str(Path(args.official).resolve())
        if not (Path(args.official) / "training" / "networks.py").is_file():
            ap.error(f"--official {args.official}: not a stylegan2-ada-pytorch checkout (no training/networks.py)")
    return Suite(args).run()


if __name__ == "__main__":
    sys.exit(main())
