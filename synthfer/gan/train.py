"""StyleGAN2-ADA training loop with exact resume and wall-clock budgets.

Losses (Karras et al. 2020, StyleGAN2 §2 and Appendix B; ADA §2–3):
- G: non-saturating logistic ``softplus(−D(A(G(z))))``; D: ``softplus(D(A(G(z)))) + softplus(−D(A(x)))``,
  with ``A`` the ADA pipeline (:mod:`synthfer.gan.augment`) applied to every image D sees.
- Lazy R1 every ``r1_interval`` (16) minibatches: ``γ/2 · ‖∇ₓD(A(x))‖²`` on reals, multiplied by the interval.
- Lazy path-length regularisation every ``pl_interval`` (4) minibatches on half a batch:
  ``a ← a + 0.01·(mean ‖Jᵀy‖ − a)``, penalty ``w_pl·(‖Jᵀy‖ − a)²`` with ``y ~ N(0, I)/sqrt(H·W)`` and
  ``‖Jᵀy‖ = sqrt(mean over layers of Σ (∂(G(w)·y)/∂w)²)``, weight 2, multiplied by the interval.
- Each regulariser is its own optimiser step, so per I minibatches an optimiser takes I + 1 steps; Adam
  is built with ``lr·I/(I+1)`` and ``β^(I/(I+1))`` (StyleGAN2 Appendix B, lazy regularisation).
- Style mixing: with probability 0.9 the ws from a cutoff drawn in [1, num_ws) come from a second z.
- Generator EMA with half-life ``ema_kimg`` (ramped up as ``min(ema_kimg, 0.05·kimg)``):
  ``θ_ema ← θ + β(θ_ema − θ)``, ``β = 0.5^(batch/(1000·ema_kimg))``.
- ADA: p starts at 0 (or ``p``) and moves by ``batch·interval/(ada_kimg·1000)`` towards
  ``r_t = E[sign(D(real))] = target`` every ``ada_interval`` minibatches.

The ``auto`` values follow the official ``--cfg=auto`` (see :func:`resolve_config`).

Checkpoints (``snapshots/network-snapshot-{kimg:06d}.pt``) hold everything the loop's future depends on:
G, D, G_ema, both Adam states, the augmentation p and the ADA accumulators, the path-length mean, the
image counter, the data-order position, torch's RNG states, the current tick's statistics, the log rows
and the resolved config. Resuming therefore continues bit for bit (on CPU) where the snapshot was taken.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthfer.gan.api import CHECKPOINT_FORMAT, pick_device, read_checkpoint, seeds_to_z
from synthfer.io import PathLike, atomic_path, provenance, write_text
from synthfer.logs import get_logger

log = get_logger(__name__)

SNAPSHOT_RE = re.compile(r"^network-snapshot-(\d{6,})\.pt$")

# Defaults of every training option; None = derived by resolve_config from resolution and batch.
DEFAULTS: dict[str, Any] = dict(
    total_kimg=5000,
    batch=None,
    gamma=None,
    ema_kimg=None,
    ema_rampup=0.05,
    lr=None,
    z_dim=512,
    w_dim=512,
    map_layers=2,
    channel_base=None,
    channel_max=512,
    mbstd_group=None,
    style_mixing=0.9,
    pl_weight=2.0,
    pl_batch_shrink=2,
    pl_decay=0.01,
    r1_interval=16,
    pl_interval=4,
    aug="ada",
    p=0.0,
    ada_target=0.6,
    ada_interval=4,
    ada_kimg=500.0,
    mirror=True,
    kimg_per_tick=4.0,
    snapshot_ticks=10,
    grid_size=32,
    seed=0,
    mixed_precision=True,
    tf32=True,
    compile=False,
    time_margin_minutes=2.0,
)

# Options whose change makes existing snapshots unusable for a resume (they define the networks, the
# data or the optimisation). total_kimg, tick/snapshot cadence, time limits, tf32/compile may change.
RESUME_MUST_MATCH = (
    "resolution", "batch", "gamma", "ema_kimg", "ema_rampup", "lr", "z_dim", "w_dim", "map_layers",
    "channel_base", "channel_max", "mbstd_group", "style_mixing", "pl_weight", "pl_batch_shrink", "pl_decay",
    "r1_interval", "pl_interval", "aug", "ada_target", "ada_interval", "ada_kimg", "mirror", "seed",
    "mixed_precision", "num_images",
)  # fmt: skip


class TrainingIncomplete(RuntimeError):
    """Training stopped before ``total_kimg`` (time budget or signal) after writing a snapshot."""


@dataclass
class TrainResult:
    status: str  # 'done' or 'incomplete'
    kimg: float
    snapshot: Path | None
    final: Path | None


def resolve_config(options: dict[str, Any], resolution: int, num_images: int) -> dict[str, Any]:
    """Fill ``None`` options with the official ``auto`` config values for one GPU:

    ``batch = max(min(4096 // res, 32), 1)`` (16 at 256²), ``γ = 0.0002·res²/batch`` (0.8192 at 256²),
    ``ema_kimg = batch·10/32``, ``lr = 0.0025`` (0.002 at ≥ 1024²), ``channel_base = 16384`` below 512²
    else 32768, minibatch-std group ``min(batch, 4)``.
    """
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown gan training option(s): {sorted(unknown)}")
    cfg = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None or DEFAULTS[k] is None}}
    cfg["resolution"] = int(resolution)
    cfg["num_images"] = int(num_images)
    res = resolution
    if cfg["batch"] is None:
        cfg["batch"] = max(min(4096 // res, 32), 1)
    if cfg["gamma"] is None:
        cfg["gamma"] = 0.0002 * res**2 / cfg["batch"]
    if cfg["ema_kimg"] is None:
        cfg["ema_kimg"] = cfg["batch"] * 10 / 32
    if cfg["lr"] is None:
        cfg["lr"] = 0.002 if res >= 1024 else 0.0025
    if cfg["channel_base"] is None:
        cfg["channel_base"] = 32768 if res >= 512 else 16384
    if cfg["mbstd_group"] is None:
        cfg["mbstd_group"] = min(cfg["batch"], 4)
    if cfg["aug"] not in ("ada", "fixed", "noaug"):
        raise ValueError(f"gan aug must be 'ada', 'fixed' or 'noaug', not {cfg['aug']!r}")
    if cfg["batch"] % cfg["mbstd_group"]:
        raise ValueError(f"gan batch {cfg['batch']} must be a multiple of mbstd_group {cfg['mbstd_group']}")
    if cfg["batch"] // cfg["pl_batch_shrink"] < 1:
        raise ValueError("gan batch // pl_batch_shrink must be at least 1")
    return cfg


def network_kwargs(cfg: dict[str, Any]) -> tuple[dict, dict]:
    """Generator and discriminator constructor arguments from a resolved config.

    Mixed precision: the 4 highest-resolution blocks run in bfloat16 on CUDA and activations are
    clamped to ±256 (``conv_clamp``, as the official fp16 setting); on CPU everything stays float32.
    """
    mp = bool(cfg["mixed_precision"])
    common = dict(channel_base=int(cfg["channel_base"]), channel_max=int(cfg["channel_max"]),
                  num_fp16_res=4 if mp else 0, conv_clamp=256 if mp else None)  # fmt: skip
    G_kwargs = dict(z_dim=int(cfg["z_dim"]), c_dim=0, w_dim=int(cfg["w_dim"]), img_resolution=int(cfg["resolution"]),
                    img_channels=3, mapping_kwargs=dict(num_layers=int(cfg["map_layers"])), synthesis_kwargs=common)  # fmt: skip
    D_kwargs = dict(
        c_dim=0,
        img_resolution=int(cfg["resolution"]),
        img_channels=3,
        mbstd_group_size=int(cfg["mbstd_group"]),
        **common,
    )
    return G_kwargs, D_kwargs


def list_snapshots(snapshot_dir: PathLike) -> list[tuple[int, Path]]:
    """``(kimg, path)`` of every ``network-snapshot-*.pt`` in the folder, oldest first."""
    d = Path(snapshot_dir)
    if not d.is_dir():
        return []
    out = []
    for p in d.iterdir():
        m = SNAPSHOT_RE.match(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)


def _peak_mem_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def save_grid(path: PathLike, images: np.ndarray, cols: int) -> Path:
    """Tile uint8 ``[N, H, W, 3]`` images into a ``rows × cols`` PNG grid."""
    from synthfer.imaging import save_png

    n, h, w, c = images.shape
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * h, cols * w, c), dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        grid[r * h : (r + 1) * h, k * w : (k + 1) * w] = images[i]
    return save_png(path, grid)


class Trainer:
    """Holds the networks, optimisers and loop state; :meth:`step` runs one minibatch (all phases)."""

    def __init__(self, cfg: dict[str, Any], images: np.ndarray, device):
        import torch

        from synthfer.gan.augment import AdaController, AugmentPipe
        from synthfer.gan.dataset import InfiniteSampler
        from synthfer.gan.networks import Discriminator, Generator

        self.cfg, self.device = cfg, device
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = bool(cfg["tf32"])
            torch.backends.cudnn.allow_tf32 = bool(cfg["tf32"])
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(int(cfg["seed"]))
        self.G_kwargs, self.D_kwargs = network_kwargs(cfg)
        self.G = Generator(**self.G_kwargs).train().requires_grad_(False).to(device)
        self.D = Discriminator(**self.D_kwargs).train().requires_grad_(False).to(device)
        self.G_ema = copy.deepcopy(self.G).eval()
        self.aug = AugmentPipe().to(device) if cfg["aug"] != "noaug" else None
        if self.aug is not None:
            self.aug.p.fill_(float(cfg["p"]))
        self.ada = (
            AdaController(cfg["ada_target"], cfg["ada_interval"], cfg["ada_kimg"]) if cfg["aug"] == "ada" else None
        )
        self.opt_G = self._adam(self.G, cfg["pl_interval"])
        self.opt_D = self._adam(self.D, cfg["r1_interval"])
        self.images = torch.from_numpy(images).to(device)  # uint8 [N, 3, H, W]
        n_virtual = len(images) * (2 if cfg["mirror"] else 1)
        self.sampler = InfiniteSampler(n_virtual, int(cfg["seed"]))
        self.pl_mean = torch.zeros([], device=device)
        self.cur_nimg = 0
        self.batch_idx = 0
        self.tick = 0
        self.tick_start_nimg = 0
        self.stats: dict[str, list[float]] = {}
        self.log_rows: list[dict] = []
        self.elapsed_s = 0.0  # training seconds summed over all sessions
        self.synthesis_main = self.D_main = None
        if cfg["compile"] and device.type == "cuda":
            # The plain passes only: the regularisers' double backward stays eager (untested here: no GPU).
            self.synthesis_main, self.D_main = torch.compile(self.G.synthesis), torch.compile(self.D)

    def _adam(self, module, interval):
        import torch

        ratio = interval / (interval + 1) if interval else 1.0
        lr = float(self.cfg["lr"]) * ratio
        betas = (0.0**ratio, 0.99**ratio)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, eps=1e-8)

    # -- helpers ------------------------------------------------------------------------------
    def _p(self) -> float:
        return float(self.aug.p) if self.aug is not None else 0.0

    def _stat(self, name: str, value) -> None:
        self.stats.setdefault(name, []).append(float(value))

    def real_batch(self):
        import torch

        idx = self.sampler.next(int(self.cfg["batch"]))
        n = len(self.images)
        sel = torch.from_numpy(idx % n).to(self.device)
        x = self.images[sel].float() / 127.5 - 1
        flip = torch.from_numpy(idx >= n).to(self.device)
        if bool(flip.any()):
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x

    def augment(self, x):
        return self.aug(x) if self.aug is not None else x

    def run_G(self, z, eager: bool = False):
        """Mapping (with w_avg tracking) + style mixing + synthesis with random noise. ``eager``: never the
        compiled synthesis (the path-length term needs a double backward, which compile does not support)."""
        import torch

        G = self.G
        ws = G.mapping(z, update_w_avg=True)
        # Draw both random numbers every time so the RNG stream does not depend on the outcome.
        cutoff = int(torch.randint(1, G.num_ws, [1]))
        mix = float(torch.rand([1])) < float(self.cfg["style_mixing"])
        if mix:
            ws2 = G.mapping(torch.randn_like(z))
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        synth = self.synthesis_main if (self.synthesis_main is not None and not eager) else G.synthesis
        img = synth(ws, noise_mode="random")
        return img, ws

    def _run_D(self, img, use_compiled=True):
        D = self.D_main if (use_compiled and self.D_main is not None) else self.D
        return D(self.augment(img))

    @staticmethod
    def _clean_grads(module) -> None:
        import torch

        for p in module.parameters():
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)

    # -- one minibatch ------------------------------------------------------------------------
    def step(self) -> None:
        import torch
        import torch.nn.functional as F

        cfg, dev = self.cfg, self.device
        batch = int(cfg["batch"])
        z_dim = self.G.z_dim
        real = self.real_batch()

        # G main: non-saturating loss.
        self.G.requires_grad_(True)
        self.opt_G.zero_grad(set_to_none=True)
        img, _ = self.run_G(torch.randn([batch, z_dim], device=dev))
        loss_G = F.softplus(-self._run_D(img)).mean()
        loss_G.backward()
        self._clean_grads(self.G)
        self.opt_G.step()
        self._stat("loss_G", loss_G.detach())

        # G reg: lazy path-length regularisation.
        if cfg["pl_interval"] and cfg["pl_weight"] and self.batch_idx % int(cfg["pl_interval"]) == 0:
            self.opt_G.zero_grad(set_to_none=True)
            n = batch // int(cfg["pl_batch_shrink"])
            img, ws = self.run_G(torch.randn([n, z_dim], device=dev), eager=True)
            pl_noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
            (grads,) = torch.autograd.grad((img * pl_noise).sum(), ws, create_graph=True)
            pl_len = grads.square().sum(2).mean(1).sqrt()
            self.pl_mean.copy_(self.pl_mean.lerp(pl_len.mean().detach(), float(cfg["pl_decay"])))
            pl_pen = (pl_len - self.pl_mean).square()
            (pl_pen.mean() * float(cfg["pl_weight"]) * int(cfg["pl_interval"])).backward()
            self._clean_grads(self.G)
            self.opt_G.step()
            self._stat("pl_penalty", pl_pen.mean().detach())
        self.G.requires_grad_(False)

        # D main: logistic loss on fakes and reals; ADA statistics from the real logits.
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake, _ = self.run_G(torch.randn([batch, z_dim], device=dev))
        fake_logits = self._run_D(fake)
        real_logits = self._run_D(real)
        loss_D = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        loss_D.backward()
        self._clean_grads(self.D)
        self.opt_D.step()
        if self.ada is not None:
            self.ada.accumulate(real_logits)
        self._stat("loss_D", loss_D.detach())
        self._stat("D_real", real_logits.detach().mean())
        self._stat("D_fake", fake_logits.detach().mean())

        # D reg: lazy R1 on (augmented) reals, gradient w.r.t. the un-augmented image.
        if cfg["r1_interval"] and cfg["gamma"] and self.batch_idx % int(cfg["r1_interval"]) == 0:
            self.opt_D.zero_grad(set_to_none=True)
            x = real.detach().requires_grad_(True)
            logits = self._run_D(x, use_compiled=False)
            (grads,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
            r1 = grads.square().sum([1, 2, 3])
            (r1.mean() * (float(cfg["gamma"]) / 2) * int(cfg["r1_interval"])).backward()
            self._clean_grads(self.D)
            self.opt_D.step()
            self._stat("r1_penalty", r1.mean().detach())
        self.D.requires_grad_(False)

        # G_ema.
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
        if self.ada is not None and self.batch_idx % int(cfg["ada_interval"]) == 0:
            self.ada.step(self.aug, batch)

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        import torch

        def cpu(sd):
            return {k: v.detach().cpu().clone() for k, v in sd.items()}

        def opt_cpu(sd):
            out = {"param_groups": sd["param_groups"], "state": {}}
            for k, st in sd["state"].items():
                out["state"][k] = {n: (v.detach().cpu().clone() if torch.is_tensor(v) else v) for n, v in st.items()}
            return out

        state = {
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "kind": "snapshot",
            "G_kwargs": self.G_kwargs,
            "D_kwargs": self.D_kwargs,
            "G": cpu(self.G.state_dict()),
            "D": cpu(self.D.state_dict()),
            "G_ema": cpu(self.G_ema.state_dict()),
            "opt_G": opt_cpu(self.opt_G.state_dict()),
            "opt_D": opt_cpu(self.opt_D.state_dict()),
            "augment_p": float(self.aug.p) if self.aug is not None else 0.0,
            "ada": self.ada.state_dict() if self.ada is not None else None,
            "pl_mean": self.pl_mean.detach().cpu().clone(),
            "cur_nimg": self.cur_nimg,
            "kimg": self.cur_nimg / 1000,
            "batch_idx": self.batch_idx,
            "tick": self.tick,
            "tick_start_nimg": self.tick_start_nimg,
            "stats": {k: list(v) for k, v in self.stats.items()},
            "sampler": self.sampler.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "log_rows": list(self.log_rows),
            "elapsed_s": self.elapsed_s,
            "config": dict(self.cfg),
            "provenance": _provenance(),
        }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import torch

        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.G_ema.load_state_dict(state["G_ema"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        if self.aug is not None:
            self.aug.p.fill_(float(state["augment_p"]))
        if self.ada is not None and state.get("ada") is not None:
            self.ada.load_state_dict(state["ada"])
        self.pl_mean.copy_(state["pl_mean"])
        self.cur_nimg = int(state["cur_nimg"])
        self.batch_idx = int(state["batch_idx"])
        self.tick = int(state["tick"])
        self.tick_start_nimg = int(state["tick_start_nimg"])
        self.stats = {k: list(v) for k, v in state["stats"].items()}
        self.sampler.load_state_dict(state["sampler"])
        self.log_rows = list(state["log_rows"])
        self.elapsed_s = float(state["elapsed_s"])
        torch.set_rng_state(state["rng_cpu"])
        if self.device.type == "cuda" and state["rng_cuda"]:
            torch.cuda.set_rng_state_all(state["rng_cuda"])

    def fakes(self) -> np.ndarray:
        """The fixed grid seeds 0 … grid_size−1 rendered by G_ema (const noise, ψ = 1)."""
        import torch

        from synthfer.gan.api import synthesize_ws

        z = torch.from_numpy(seeds_to_z(range(int(self.cfg["grid_size"])), self.G_ema.z_dim)).to(self.device)
        with torch.no_grad():
            ws = self.G_ema.mapping(z)
        return synthesize_ws(self.G_ema, ws, noise_mode="const", batch_size=16)


def _check_compatible(saved: dict[str, Any], cfg: dict[str, Any], path: Path) -> None:
    diffs = [
        f"{k}: {saved.get(k)!r} in the snapshot vs {cfg.get(k)!r} now"
        for k in RESUME_MUST_MATCH
        if saved.get(k) != cfg.get(k)
    ]
    if diffs:
        raise ValueError(
            f"{path} was trained with a different configuration ({'; '.join(diffs)}). Fix: restore those gan "
            f"settings, or move the snapshots folder away to start a new training run (nothing is deleted automatically)."
        )


class _StopFlag:
    """Set by SIGTERM/SIGUSR1 (Slurm sends these before a time limit), checked between minibatches."""

    def __init__(self):
        self.signal: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGUSR1):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal = signum
        log.warning("received %s: writing a snapshot and stopping after this minibatch", signal.Signals(signum).name)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def train_gan(
    dataset: PathLike,
    run_dir: PathLike,
    final_path: PathLike,
    log_path: PathLike,
    options: dict[str, Any],
    time_limit_s: float | None = None,
    resume_from: PathLike | None = None,
    device: str | None = None,
    raise_incomplete: bool = True,
    max_steps: int | None = None,
) -> TrainResult:
    """Train (or continue training) StyleGAN2-ADA on an NVIDIA-format dataset.

    - ``run_dir/snapshots/`` receives ``network-snapshot-{kimg:06d}.pt`` (full state) and
      ``fakes{kimg:06d}.png`` every ``snapshot_ticks`` ticks, ``reals.png`` once.
    - ``log_path`` (``training_log.jsonl``) gets one JSON object per tick (rewritten whole, atomically,
      from the rows carried in the state, so a resumed run's log is continuous).
    - Start: the newest snapshot in ``run_dir/snapshots`` if there is one, else ``resume_from`` (a
      synthfer snapshot, e.g. the demo's starting checkpoint), else fresh initialisation.
    - Stop: at ``total_kimg`` (write the last snapshot, then ``final_path`` = G_ema + config only);
      or, before the wall-clock budget ``time_limit_s`` minus ``time_margin_minutes`` runs out, or on
      SIGTERM/SIGUSR1: write a snapshot and raise :class:`TrainingIncomplete` (or return status
      'incomplete' if ``raise_incomplete`` is False). ``max_steps`` (tests) stops after that many
      minibatches of this session, also with a snapshot.
    """
    import torch

    from synthfer.gan.dataset import load_dataset

    t_session = time.monotonic()
    run_dir, final_path, log_path = Path(run_dir), Path(final_path), Path(log_path)
    snap_dir = run_dir / "snapshots"
    dev = pick_device(device)
    images = load_dataset(dataset)
    cfg = resolve_config(options, resolution=images.shape[-1], num_images=len(images))
    log.info("dataset %s: %d images at %d², device %s", dataset, len(images), images.shape[-1], dev)
    log.info("config: %s", json.dumps(cfg, sort_keys=True))
    trainer = Trainer(cfg, images, dev)

    start = None
    snaps = list_snapshots(snap_dir)
    for _kimg, path in reversed(snaps):
        try:
            start = read_checkpoint(path)
            break
        except ValueError as exc:
            log.warning("cannot use %s (%s); trying an older snapshot", path, exc)
    if start is None and resume_from:
        start = read_checkpoint(resume_from)
        path = Path(resume_from)
        if start.get("kind") != "snapshot":
            raise ValueError(
                f"{resume_from}: a generator-only checkpoint cannot be resumed; use a network-snapshot-*.pt"
            )
    if start is not None:
        saved = dict(start["config"])
        # num_images may differ for a starting checkpoint trained on a different image set.
        if Path(path).parent != snap_dir:
            saved["num_images"] = cfg["num_images"]
        _check_compatible(saved, cfg, Path(path))
        trainer.load_state_dict(start)
        if Path(path).parent != snap_dir:
            # A new data set: its own shuffled order from the start, keep the counters and the state.
            from synthfer.gan.dataset import InfiniteSampler

            trainer.sampler = InfiniteSampler(trainer.sampler.n, int(cfg["seed"]))
        log.info("resumed from %s at %.3f kimg (augment p %.4f)", path, trainer.cur_nimg / 1000, trainer._p())
        del start
    else:
        log.info("starting from scratch (seed %d)", cfg["seed"])

    total_nimg = int(round(float(cfg["total_kimg"]) * 1000))
    tick_nimg = max(int(round(float(cfg["kimg_per_tick"]) * 1000)), 1)
    margin_s = float(cfg["time_margin_minutes"]) * 60
    deadline = t_session + time_limit_s - margin_s if time_limit_s else None
    if deadline is not None and time_limit_s <= margin_s:
        raise ValueError(f"time limit {time_limit_s:.0f} s is not longer than the safety margin {margin_s:.0f} s")

    snap_dir.mkdir(parents=True, exist_ok=True)
    if not (snap_dir / "reals.png").exists():
        n = min(int(cfg["grid_size"]), len(images))
        save_grid(snap_dir / "reals.png", images[:n].transpose(0, 2, 3, 1), cols=min(8, n))

    last_snapshot: Path | None = None
    snapshot_cost_s = 5.0
    step_cost_s = 0.0
    steps = 0
    t_tick = time.monotonic()

    def write_snapshot() -> Path:
        nonlocal snapshot_cost_s
        t0 = time.monotonic()
        kimg = trainer.cur_nimg // 1000
        path = snap_dir / f"network-snapshot-{kimg:06d}.pt"
        save_grid(snap_dir / f"fakes{kimg:06d}.png", trainer.fakes(), cols=8)
        with atomic_path(path) as tmp:
            torch.save(trainer.state_dict(), tmp)
        snapshot_cost_s = time.monotonic() - t0
        log.info("snapshot %s (%.1f s)", path, snapshot_cost_s)
        return path

    status = "incomplete"
    with _StopFlag() as stop:
        while True:
            if trainer.cur_nimg >= total_nimg:
                status = "done"
                break
            t0 = time.monotonic()
            trainer.step()
            steps += 1
            dt = time.monotonic() - t0
            step_cost_s = dt if steps == 1 else max(step_cost_s * 0.9 + dt * 0.1, dt * 0.5)

            done = trainer.cur_nimg >= total_nimg
            if trainer.cur_nimg >= trainer.tick_start_nimg + tick_nimg or done:
                now = time.monotonic()
                trainer.elapsed_s += now - t_tick
                row = _tick_row(trainer, now - t_tick, dev)
                trainer.log_rows.append(row)
                write_text(log_path, "".join(json.dumps(r) + "\n" for r in trainer.log_rows))
                log.info(
                    "tick %d  kimg %.3f/%.3f  %.1f s/kimg  loss G %s D %s  p %.3f  r_t %s",
                    row["tick"], row["kimg"], total_nimg / 1000, row["sec_per_kimg"], _fmt(row["loss_G"]),
                    _fmt(row["loss_D"]), row["augment_p"], _fmt(row["r_t"]),
                )  # fmt: skip
                trainer.tick += 1
                trainer.tick_start_nimg = trainer.cur_nimg
                trainer.stats = {}
                t_tick = now
                if done or trainer.tick % int(cfg["snapshot_ticks"]) == 0:
                    last_snapshot = write_snapshot()
            if done:
                continue
            reason = None
            if stop.signal is not None:
                reason = f"signal {signal.Signals(stop.signal).name}"
            elif deadline is not None and time.monotonic() + 2 * step_cost_s + 2 * snapshot_cost_s > deadline:
                reason = f"time budget of {time_limit_s / 60:.1f} min (margin {margin_s / 60:.1f} min)"
            elif max_steps is not None and steps >= max_steps:
                reason = f"max_steps={max_steps}"
            if reason:
                last_snapshot = write_snapshot()
                break

    if status == "done":
        if last_snapshot is None:
            snaps = list_snapshots(snap_dir)
            last_snapshot = snaps[-1][1] if snaps else write_snapshot()
        final = {
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "kind": "generator",
            "G_kwargs": trainer.G_kwargs,
            "G_ema": {k: v.detach().cpu() for k, v in trainer.G_ema.state_dict().items()},
            "kimg": trainer.cur_nimg / 1000,
            "augment_p": trainer._p(),
            "config": dict(cfg),
            "snapshot": last_snapshot.name,
            "provenance": _provenance(),
        }
        with atomic_path(final_path) as tmp:
            torch.save(final, tmp)
        if not log_path.exists():
            write_text(log_path, "".join(json.dumps(r) + "\n" for r in trainer.log_rows))
        log.info("training complete at %.1f kimg: wrote %s", trainer.cur_nimg / 1000, final_path)
        return TrainResult("done", trainer.cur_nimg / 1000, last_snapshot, final_path)

    msg = (
        f"training stopped at {trainer.cur_nimg / 1000:.1f} of {total_nimg / 1000:.0f} kimg ({reason}); "
        f"state saved to {last_snapshot}. Run the same command/rule again to resume exactly from there "
        f"(with Snakemake's `retries` a Slurm job does this by itself)."
    )
    log.warning(msg)
    write_text(log_path, "".join(json.dumps(r) + "\n" for r in trainer.log_rows))
    if raise_incomplete:
        raise TrainingIncomplete(msg)
    return TrainResult("incomplete", trainer.cur_nimg / 1000, last_snapshot, None)


def _provenance() -> dict[str, str]:
    # Plain strings only: checkpoints are read with torch.load(weights_only=True).
    return {k: str(v) for k, v in provenance().items()}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _mean(v: list[float] | None) -> float | None:
    return float(np.mean(v)) if v else None


def _tick_row(trainer: Trainer, sec: float, dev) -> dict[str, Any]:
    kimg_done = (trainer.cur_nimg - trainer.tick_start_nimg) / 1000
    st = trainer.stats
    rt = trainer.ada.last_rt if trainer.ada is not None else float("nan")
    return {
        "tick": trainer.tick,
        "kimg": trainer.cur_nimg / 1000,
        "time_s": round(trainer.elapsed_s, 3),
        "sec_per_tick": round(sec, 3),
        "sec_per_kimg": round(sec / max(kimg_done, 1e-9), 3),
        "loss_G": _mean(st.get("loss_G")),
        "loss_D": _mean(st.get("loss_D")),
        "r1_penalty": _mean(st.get("r1_penalty")),
        "pl_penalty": _mean(st.get("pl_penalty")),
        "D_real": _mean(st.get("D_real")),
        "D_fake": _mean(st.get("D_fake")),
        "augment_p": trainer._p(),
        "r_t": rt if math.isfinite(rt) else None,
        "peak_mem_mb": round(_peak_mem_mb(dev), 1),
        "device": str(dev),
    }


def slurm_time_left_s() -> float | None:
    """Seconds left in the current Slurm job (``squeue -h -j $SLURM_JOB_ID -o %L``), or None outside Slurm."""
    import shutil
    import subprocess

    job = os.environ.get("SLURM_JOB_ID")
    if not job or not shutil.which("squeue"):
        return None
    try:
        out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_slurm_duration(out.stdout.strip())


def parse_slurm_duration(text: str) -> float | None:
    """Slurm's ``[days-]hours:minutes:seconds`` / ``minutes:seconds`` → seconds (None if not a duration)."""
    m = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)", text)
    if not m:
        return None
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return float(((d * 24 + h) * 60 + mi) * 60 + s)


def time_budget_s(time_limit_minutes: float | None, runtime_minutes: float | None) -> float | None:
    """The training job's wall-clock budget: ``time_limit_minutes`` if set; else, inside a Slurm job, the
    time squeue reports as left (falling back to the rule's ``resources.runtime``); else unlimited."""
    if time_limit_minutes:
        return float(time_limit_minutes) * 60
    if os.environ.get("SLURM_JOB_ID"):
        left = slurm_time_left_s()
        if left is not None:
            return left
        if runtime_minutes:
            return float(runtime_minutes) * 60
    return None


def train_rule(
    dataset: PathLike,
    run_dir: PathLike,
    final_path: PathLike,
    log_path: PathLike,
    fakes_path: PathLike,
    options: dict[str, Any],
    time_limit_minutes: float | None = None,
    runtime_minutes: float | None = None,
    resume_from: PathLike | None = None,
    device: str | None = None,
    threads: int = 1,
) -> TrainResult:
    """Rule ``gan_train``: :func:`train_gan` with the job's time budget and thread count; on completion
    also writes ``fakes_path`` (the final G_ema's grid). Raises :class:`TrainingIncomplete` (the job fails,
    Snakemake's ``retries`` resubmits it and the new job resumes) when the budget ends first."""
    import torch

    torch.set_num_threads(max(int(threads), 1))
    budget = time_budget_s(time_limit_minutes, runtime_minutes)
    if budget is not None:
        log.info("wall-clock budget of this job: %.1f min", budget / 60)
    res = train_gan(dataset, run_dir, final_path, log_path, options, time_limit_s=budget,
                    resume_from=resume_from, device=device)  # fmt: skip
    kimg = int(res.kimg)
    grid = Path(run_dir) / "snapshots" / f"fakes{kimg:06d}.png"
    from synthfer.io import link_or_copy

    link_or_copy(grid, fakes_path)
    return res
