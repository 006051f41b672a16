"""StyleGAN2-ADA training loop with exact resume and wall-clock budgets (the official ``training_loop.py``'s
role).

One minibatch (:meth:`Trainer.step`) runs the phases of :mod:`synthfer.gan.loss` in the official order —
``Gmain``, ``Greg`` every ``pl_interval`` minibatches, ``Dmain``, ``Dreg`` every ``r1_interval`` — each with
its own optimiser step (gradients NaN/Inf-cleaned first), then the generator EMA and the ADA p update:

- Each regulariser is its own optimiser step, so per I minibatches an optimiser takes I + 1 steps; Adam
  is built with ``lr·I/(I+1)`` and ``β^(I/(I+1))`` (StyleGAN2 Appendix B, lazy regularisation); the lazy
  losses are multiplied by I.
- Generator EMA with half-life ``ema_kimg`` (ramped up as ``min(ema_kimg, 0.05·kimg)``):
  ``θ_ema ← θ + β(θ_ema − θ)``, ``β = 0.5^(batch/(1000·ema_kimg))``; buffers are copied.
- ADA: p starts at 0 (or ``p``) and moves by ``batch·interval/(ada_kimg·1000)`` towards
  ``r_t = E[sign(D(real))] = target`` every ``ada_interval`` minibatches, r_t over the real logits of the D-main
  and the R1 phases, p floored at 0 and not capped (:class:`~synthfer.gan.augment.AdaController`).

Around it: options and the ``auto`` config in :mod:`synthfer.gan.options`, snapshots and the resumable
state in :mod:`synthfer.gan.checkpoint`, the Slurm time budget and stop signals in
:mod:`synthfer.gan.time_budget`.
"""

from __future__ import annotations

import copy
import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthfer.gan import CHECKPOINT_FORMAT
from synthfer.gan.api import seeds_to_z
from synthfer.gan.checkpoint import (
    check_compatible,
    checkpoint_provenance,
    find_start,
    list_snapshots,
    snapshot_path,
    write_checkpoint,
)
from synthfer.gan.options import network_kwargs, resolve_config
from synthfer.gan.time_budget import StopFlag, time_budget_s
from synthfer.io import PathLike, write_text
from synthfer.logs import get_logger
from synthfer.runtime import pick_device, set_threads

log = get_logger(__name__)


class TrainingIncomplete(RuntimeError):
    """Training stopped before ``total_kimg`` (time budget or signal) after writing a snapshot."""


@dataclass
class TrainResult:
    status: str  # 'done' or 'incomplete'
    kimg: float
    snapshot: Path | None
    final: Path | None


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
    """Holds the networks, optimisers, the loss and the loop state; :meth:`step` runs one minibatch (all
    phases). :meth:`state_dict` / :meth:`load_state_dict` are the snapshot contents
    (:mod:`synthfer.gan.checkpoint`)."""

    def __init__(self, cfg: dict[str, Any], images: np.ndarray, device, G_kwargs=None, D_kwargs=None):
        """``G_kwargs``/``D_kwargs``: the networks' constructor arguments (default: from ``cfg``; a start
        network or a snapshot brings its own). ``cfg['freeze_d']`` first D layers get no optimiser step."""
        import torch

        from synthfer.gan.augment import AdaController, AugmentPipe
        from synthfer.gan.dataset import InfiniteSampler
        from synthfer.gan.loss import StyleGAN2Loss
        from synthfer.gan.networks import Discriminator, Generator
        from synthfer.gan.start import frozen_parameter_names

        self.cfg, self.device = cfg, device
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = bool(cfg["tf32"])
            torch.backends.cudnn.allow_tf32 = bool(cfg["tf32"])
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(int(cfg["seed"]))
        if G_kwargs is None or D_kwargs is None:
            G_kwargs, D_kwargs = network_kwargs(cfg)
        self.G_kwargs, self.D_kwargs = dict(G_kwargs), dict(D_kwargs)
        self.G = Generator(**self.G_kwargs).train().requires_grad_(False).to(device)
        self.D = Discriminator(**self.D_kwargs).train().requires_grad_(False).to(device)
        self.G_ema = copy.deepcopy(self.G).eval()
        self.aug = AugmentPipe(resample=cfg["aug_resample"]).to(device) if cfg["aug"] != "noaug" else None
        if self.aug is not None:
            self.aug.p.fill_(float(cfg["p"]))
        self.ada = (
            AdaController(cfg["ada_target"], cfg["ada_interval"], cfg["ada_kimg"]) if cfg["aug"] == "ada" else None
        )
        # FreezeD: the first freeze_d D layers keep their (pretrained) values: never trainable, not optimised.
        frozen = frozen_parameter_names(self.D, int(cfg.get("freeze_d") or 0))
        self.D_trainable = [p for n, p in self.D.named_parameters() if n not in frozen]
        self.opt_G = self._adam(list(self.G.parameters()), cfg["pl_interval"])
        self.opt_D = self._adam(self.D_trainable, cfg["r1_interval"])
        self.images = torch.from_numpy(images).to(device)  # uint8 [N, 3, H, W]
        n_virtual = len(images) * (2 if cfg["mirror"] else 1)
        self.sampler = InfiniteSampler(n_virtual, int(cfg["seed"]))
        self.cur_nimg = 0
        self.batch_idx = 0
        self.tick = 0
        self.tick_start_nimg = 0
        self.stats: dict[str, list[float]] = {}
        self.log_rows: list[dict] = []
        self.elapsed_s = 0.0  # training seconds summed over all sessions
        synthesis_main = D_main = None
        if cfg["compile"] and device.type == "cuda":
            # The plain passes only: the regularisers' double backward stays eager (untested here: no GPU).
            synthesis_main, D_main = torch.compile(self.G.synthesis), torch.compile(self.D)
        self.loss = StyleGAN2Loss(
            self.G,
            self.D,
            augment_pipe=self.aug,
            style_mixing_prob=float(cfg["style_mixing"]),
            r1_gamma=float(cfg["gamma"]),
            pl_batch_shrink=int(cfg["pl_batch_shrink"]),
            pl_decay=float(cfg["pl_decay"]),
            pl_weight=float(cfg["pl_weight"]),
            G_synthesis_main=synthesis_main,
            D_main=D_main,
        )

    def _adam(self, params, interval):
        import torch

        ratio = interval / (interval + 1) if interval else 1.0
        lr = float(self.cfg["lr"]) * ratio
        betas = (0.0**ratio, 0.99**ratio)
        # Fused Adam (CUDA and CPU): a few ops per step instead of ~6 per parameter.
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8, fused=True)

    def _D_requires_grad(self, flag: bool) -> None:
        for p in self.D_trainable:
            p.requires_grad_(flag)

    # -- helpers ------------------------------------------------------------------------------
    def _p(self) -> float:
        return self.aug.p_value if self.aug is not None else 0.0

    def _stat(self, name: str, value) -> None:
        """Keep a phase statistic (a 0-d tensor stays on the device: read once per tick by :meth:`read_stats`)."""
        self.stats.setdefault(name, []).append(value.detach() if hasattr(value, "detach") else float(value))

    def read_stats(self) -> dict[str, list[float]]:
        """The statistics since the last tick as floats: every device value read back in one transfer."""
        import torch

        pending = [(k, i) for k, v in self.stats.items() for i, x in enumerate(v) if isinstance(x, torch.Tensor)]
        if pending:
            values = torch.stack([self.stats[k][i].float().reshape([]) for k, i in pending]).cpu().tolist()
            for (k, i), x in zip(pending, values, strict=True):
                self.stats[k][i] = x
        return self.stats

    def _to_device(self, a: np.ndarray):
        """A host array on the training device without a blocking copy (pinned memory on CUDA)."""
        import torch

        t = torch.from_numpy(a)
        if self.device.type == "cuda":
            return t.pin_memory().to(self.device, non_blocking=True)
        return t.to(self.device)

    def real_batch(self):
        import torch

        idx = self.sampler.next(int(self.cfg["batch"]))
        n = len(self.images)
        x = self.images[self._to_device(idx % n)].float() / 127.5 - 1
        flip = idx >= n
        if flip.any():  # numpy: decided on the host, no sync
            x = torch.where(self._to_device(flip)[:, None, None, None], x.flip(3), x)
        return x

    @staticmethod
    def _clean_grads(module) -> None:
        import torch

        for p in module.parameters():
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)

    # -- one minibatch ------------------------------------------------------------------------
    # The phases in the official order: (name, network, the config key of its interval; None = every minibatch).
    PHASES = (("Gmain", "G", None), ("Greg", "G", "pl_interval"), ("Dmain", "D", None), ("Dreg", "D", "r1_interval"))

    def phases_due(self) -> list[str]:
        """The phases of the current minibatch: the main ones always, a regulariser every ``interval``
        minibatches (none when its interval or weight is 0)."""
        cfg, due = self.cfg, []
        for name, _, key in self.PHASES:
            if key is not None:
                weight = cfg["pl_weight"] if name == "Greg" else cfg["gamma"]
                if not (cfg[key] and weight) or self.batch_idx % int(cfg[key]):
                    continue
            due.append(name)
        return due

    def run_phase(self, phase: str, real) -> None:
        """One phase: its network trainable, forward + backward (:meth:`StyleGAN2Loss.accumulate_gradients`),
        gradients cleaned, its optimiser's step; statistics kept on the device."""
        import torch

        cfg, dev = self.cfg, self.device
        batch, z_dim = int(cfg["batch"]), self.G.z_dim
        G_phase = phase[0] == "G"
        net, opt = (self.G, self.opt_G) if G_phase else (self.D, self.opt_D)
        if G_phase:
            self.G.requires_grad_(True)
        else:
            self._D_requires_grad(True)
        opt.zero_grad(set_to_none=True)
        if phase == "Gmain":
            kw = dict(gen_z=torch.randn([batch, z_dim], device=dev))
        elif phase == "Greg":
            kw = dict(gen_z=torch.randn([batch // int(cfg["pl_batch_shrink"]), z_dim], device=dev),
                      gain=int(cfg["pl_interval"]))  # fmt: skip
        elif phase == "Dmain":
            kw = dict(real_img=real, gen_z=torch.randn([batch, z_dim], device=dev))
        else:  # lazy R1 on (augmented) reals, the gradient w.r.t. the un-augmented image
            kw = dict(real_img=real, gain=int(cfg["r1_interval"]))
        out = self.loss.accumulate_gradients(phase, **kw)
        self._clean_grads(net)
        opt.step()
        net.requires_grad_(False)
        if "real_logits" in out and self.ada is not None:
            self.ada.accumulate(out["real_logits"])  # the R1 phase's real logits count too (official)
        for k, v in out.items():
            if k != "real_logits":
                self._stat(k, v)

    def step(self) -> None:
        """One minibatch: the phases due (:meth:`phases_due`), the generator EMA, the ADA update."""
        import torch

        cfg = self.cfg
        batch = int(cfg["batch"])
        real = self.real_batch()
        for phase in self.phases_due():
            self.run_phase(phase, real)

        # G_ema.
        ema_nimg = float(cfg["ema_kimg"]) * 1000
        if cfg["ema_rampup"]:
            ema_nimg = min(ema_nimg, self.cur_nimg * float(cfg["ema_rampup"]))
        beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
        with torch.no_grad():
            # θ_ema ← lerp(θ, θ_ema, β) for all parameters in two multi-tensor ops; buffers copied in one.
            params, params_ema = list(self.G.parameters()), list(self.G_ema.parameters())
            torch._foreach_copy_(params_ema, torch._foreach_lerp(params, params_ema, beta))
            torch._foreach_copy_(list(self.G_ema.buffers()), list(self.G.buffers()))

        self.cur_nimg += batch
        self.batch_idx += 1
        if self.ada is not None and self.batch_idx % int(cfg["ada_interval"]) == 0:
            self.ada.step(self.aug, batch)

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The snapshot (``kind`` ``snapshot``): the whole loop state as CPU tensors and plain values; the keys are
        documented in docs/gan.md. A resume from it continues bit for bit on a CPU."""
        import torch

        def cpu(sd):
            return {k: v.detach().cpu().clone() for k, v in sd.items()}

        def opt_cpu(sd):
            out = {"param_groups": sd["param_groups"], "state": {}}
            for k, st in sd["state"].items():
                out["state"][k] = {n: (v.detach().cpu().clone() if torch.is_tensor(v) else v) for n, v in st.items()}
            return out

        return {
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
            "pl_mean": self.loss.pl_mean.detach().cpu().clone(),
            "cur_nimg": self.cur_nimg,
            "kimg": self.cur_nimg / 1000,
            "batch_idx": self.batch_idx,
            "tick": self.tick,
            "tick_start_nimg": self.tick_start_nimg,
            "stats": {k: list(v) for k, v in self.read_stats().items()},
            "sampler": self.sampler.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "log_rows": list(self.log_rows),
            "elapsed_s": self.elapsed_s,
            "config": dict(self.cfg),
            "provenance": checkpoint_provenance(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a snapshot written by :meth:`state_dict` (networks, optimisers, augmentation, counters, data
        order and torch's RNG state)."""
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
        self.loss.pl_mean.copy_(state["pl_mean"])
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

    def final_state(self, last_snapshot: Path) -> dict[str, Any]:
        """``network-final.pt``: the EMA generator, its constructor arguments, kimg, p and the config."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "kind": "generator",
            "G_kwargs": self.G_kwargs,
            "G_ema": {k: v.detach().cpu() for k, v in self.G_ema.state_dict().items()},
            "kimg": self.cur_nimg / 1000,
            "augment_p": float(self.aug.p) if self.aug is not None else 0.0,
            "config": dict(self.cfg),
            "snapshot": last_snapshot.name,
            "provenance": checkpoint_provenance(),
        }

    def fakes(self) -> np.ndarray:
        """The fixed grid seeds 0 … grid_size−1 rendered by G_ema (const noise, ψ = 1)."""
        import torch

        from synthfer.gan.api import synthesize_ws

        z = torch.from_numpy(seeds_to_z(range(int(self.cfg["grid_size"])), self.G_ema.z_dim)).to(self.device)
        with torch.no_grad():
            ws = self.G_ema.mapping(z)
        return synthesize_ws(self.G_ema, ws, noise_mode="const", batch_size=16)


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
    start_from: PathLike | None = None,
    max_steps: int | None = None,
) -> TrainResult:
    """Train (or continue training) StyleGAN2-ADA on an NVIDIA-format dataset.

    - ``run_dir/snapshots/`` receives ``network-snapshot-{kimg:06d}.pt`` (full state) and
      ``fakes{kimg:06d}.png`` every ``snapshot_ticks`` ticks, ``reals.png`` once.
    - ``log_path`` (``training_log.jsonl``) gets one JSON object per tick (rewritten whole, atomically,
      from the rows carried in the state, so a resumed run's log is continuous).
    - Start: the newest snapshot in ``run_dir/snapshots`` if there is one (exact continuation), else
      ``resume_from`` (a synthfer snapshot: exact continuation of its run), else ``start_from`` (transfer
      learning, :mod:`synthfer.gan.start`: an official ``.pkl`` or any synthfer checkpoint initialises G, D
      and G_ema of a new run at kimg 0 with fresh optimisers, p and data order; the architecture comes from
      it), else fresh initialisation. Snapshots of a run started from another ``start_from`` file are refused.
    - Stop: at ``total_kimg`` (write the last snapshot, then ``final_path`` = G_ema + config only);
      or, before the wall-clock budget ``time_limit_s`` minus ``time_margin_minutes`` runs out, or on
      SIGTERM/SIGUSR1: write a snapshot and raise :class:`TrainingIncomplete` (or return status
      'incomplete' if ``raise_incomplete`` is False). ``max_steps`` (tests) stops after that many
      minibatches of this session, also with a snapshot.
    """
    from synthfer.gan.dataset import load_dataset

    t_session = time.monotonic()
    run_dir, final_path, log_path = Path(run_dir), Path(final_path), Path(log_path)
    snap_dir = run_dir / "snapshots"
    dev = pick_device(device)
    images = load_dataset(dataset)
    cfg, start_net = _run_config(options, images, dataset, resume_from, start_from)
    log.info("dataset %s: %d images at %d², device %s", dataset, len(images), images.shape[-1], dev)
    log.info("config: %s", json.dumps(cfg, sort_keys=True))
    trainer = _build_trainer(cfg, images, dev, snap_dir, resume_from, start_net)
    del start_net

    margin_s = float(cfg["time_margin_minutes"]) * 60
    deadline = t_session + time_limit_s - margin_s if time_limit_s else None
    if deadline is not None and time_limit_s <= margin_s:
        raise ValueError(f"time limit {time_limit_s:.0f} s is not longer than the safety margin {margin_s:.0f} s")
    snap_dir.mkdir(parents=True, exist_ok=True)
    if not (snap_dir / "reals.png").exists():
        n = min(int(cfg["grid_size"]), len(images))
        save_grid(snap_dir / "reals.png", images[:n].transpose(0, 2, 3, 1), cols=min(8, n))

    loop = _Loop(trainer, snap_dir, log_path, dev)
    reason = loop.run(deadline, time_limit_s, margin_s, max_steps)
    _write_log(log_path, trainer)  # the one write outside the ticks: the log holds every tick, whatever the end
    total_kimg = float(cfg["total_kimg"])
    if reason is None:
        write_checkpoint(final_path, trainer.final_state(loop.last_snapshot))
        log.info("training complete at %.1f kimg: wrote %s", trainer.cur_nimg / 1000, final_path)
        return TrainResult("done", trainer.cur_nimg / 1000, loop.last_snapshot, final_path)
    msg = (
        f"training stopped at {trainer.cur_nimg / 1000:.1f} of {total_kimg:.0f} kimg ({reason}); "
        f"state saved to {loop.last_snapshot}. Run the same command/rule again to resume exactly from there "
        f"(with Snakemake's `retries` a Slurm job does this by itself)."
    )
    log.warning(msg)
    if raise_incomplete:
        raise TrainingIncomplete(msg)
    return TrainResult("incomplete", trainer.cur_nimg / 1000, loop.last_snapshot, None)


def _write_log(log_path: Path, trainer: Trainer) -> None:
    """``training_log.jsonl``: one JSON object per tick, rewritten whole (atomically) from the rows in the state."""
    write_text(log_path, "".join(json.dumps(r) + "\n" for r in trainer.log_rows))


def _run_config(options, images, dataset, resume_from, start_from):
    """The resolved config of this run and the start network (``gan.start_from``; None without one)."""
    start_net = None
    if start_from is not None:
        from synthfer.gan.start import architecture_options, check_resolution, read_start_networks, transfer_options

        if resume_from:
            raise ValueError(
                "gan.start_from and gan.resume_from are both set: start_from begins a new run from a network, "
                "resume_from continues a run exactly. Fix: set only one of them."
            )
        start_net = read_start_networks(start_from)
        check_resolution(start_net, images.shape[-1], dataset)
        options = transfer_options(options)
    cfg = resolve_config(options, resolution=images.shape[-1], num_images=len(images))
    if start_net is not None:
        cfg.update(architecture_options(start_net.G_kwargs))
        cfg["start_from"], cfg["start_from_sha256"] = str(start_from), start_net.sha256
    if cfg["freeze_d"] and start_net is None and not resume_from:
        raise ValueError(
            f"gan.freeze_d = {cfg['freeze_d']} freezes layers of a pretrained discriminator, but nothing is "
            f"pretrained. Fix: set gan.start_from (or gan.freeze_d: 0)."
        )
    return cfg, start_net


def _build_trainer(cfg, images, dev, snap_dir: Path, resume_from, start_net) -> Trainer:
    """The trainer: continued from the newest snapshot (or ``resume_from``), started from ``start_net``, or
    fresh."""
    start, path = find_start(snap_dir, resume_from)
    if start is not None:
        saved = dict(start["config"])
        saved.setdefault("freeze_d", 0)  # snapshots written before gan.freeze_d existed
        # num_images may differ for a starting checkpoint trained on a different image set.
        if Path(path).parent != snap_dir:
            saved["num_images"] = cfg["num_images"]
        check_compatible(saved, cfg, path)
        if saved.get("start_from_sha256") != cfg.get("start_from_sha256"):
            raise ValueError(
                f"{path} belongs to a run started from {saved.get('start_from') or 'scratch'} "
                f"(sha256 {saved.get('start_from_sha256')}), but gan.start_from is now "
                f"{cfg.get('start_from') or 'unset'} (sha256 {cfg.get('start_from_sha256')}). Fix: restore "
                f"gan.start_from, or move the snapshots folder away to start a new run (nothing is deleted)."
            )
        trainer = Trainer(cfg, images, dev, start["G_kwargs"], start["D_kwargs"])
        trainer.load_state_dict(start)
        if Path(path).parent != snap_dir:
            # A new data set: its own shuffled order from the start, keep the counters and the state.
            from synthfer.gan.dataset import InfiniteSampler

            trainer.sampler = InfiniteSampler(trainer.sampler.n, int(cfg["seed"]))
        log.info("resumed from %s at %.3f kimg (augment p %.4f)", path, trainer.cur_nimg / 1000, trainer._p())
        return trainer
    if start_net is not None:
        from synthfer.gan.start import discriminator_kwargs_for

        trainer = Trainer(cfg, images, dev, start_net.G_kwargs, discriminator_kwargs_for(start_net, cfg["mbstd_group"]))
        trainer.G.load_state_dict(start_net.G)
        trainer.G_ema.load_state_dict(start_net.G_ema)
        if start_net.D is not None:
            trainer.D.load_state_dict(start_net.D)
        else:
            log.warning("%s holds no discriminator: D starts from a fresh initialisation", start_net.path)
        log.info(
            "new run from %s: kimg 0, augment p %.4f, fresh optimisers and data order (seed %d); architecture "
            "from the network: %s; %d D layer(s) frozen", start_net.describe(), trainer._p(), cfg["seed"],
            json.dumps({k: cfg[k] for k in ("z_dim", "w_dim", "map_layers", "channel_base", "channel_max",
                                            "mixed_precision")}), cfg["freeze_d"],
        )  # fmt: skip
        return trainer
    log.info("starting from scratch (seed %d)", cfg["seed"])
    return Trainer(cfg, images, dev)


class _Loop:
    """The minibatch loop of one session: ticks (log row, snapshot cadence) and the stop conditions."""

    def __init__(self, trainer: Trainer, snap_dir: Path, log_path: Path, dev):
        self.trainer, self.snap_dir, self.log_path, self.dev = trainer, snap_dir, log_path, dev
        self.last_snapshot: Path | None = None
        self.snapshot_cost_s = 5.0

    def write_snapshot(self) -> Path:
        tr, t0 = self.trainer, time.monotonic()
        path = snapshot_path(self.snap_dir, tr.cur_nimg)
        save_grid(self.snap_dir / f"fakes{tr.cur_nimg // 1000:06d}.png", tr.fakes(), cols=8)
        write_checkpoint(path, tr.state_dict())
        self.snapshot_cost_s = time.monotonic() - t0
        log.info("snapshot %s (%.1f s)", path, self.snapshot_cost_s)
        self.last_snapshot = path
        return path

    def tick(self, seconds: float, total_nimg: int) -> None:
        tr = self.trainer
        tr.elapsed_s += seconds
        row = _tick_row(tr, seconds, self.dev)
        tr.log_rows.append(row)
        _write_log(self.log_path, tr)
        log.info(
            "tick %d  kimg %.3f/%.3f  %.1f s/kimg  loss G %s D %s  p %.3f  r_t %s",
            row["tick"], row["kimg"], total_nimg / 1000, row["sec_per_kimg"], _fmt(row["loss_G"]),
            _fmt(row["loss_D"]), row["augment_p"], _fmt(row["r_t"]),
        )  # fmt: skip
        tr.tick += 1
        tr.tick_start_nimg = tr.cur_nimg
        tr.stats = {}

    def run(self, deadline, time_limit_s, margin_s, max_steps) -> str | None:
        """Train until ``total_kimg`` (returns None, the last snapshot written) or a stop (returns the reason,
        after a snapshot)."""
        tr, cfg = self.trainer, self.trainer.cfg
        total_nimg = int(round(float(cfg["total_kimg"]) * 1000))
        tick_nimg = max(int(round(float(cfg["kimg_per_tick"]) * 1000)), 1)
        step_cost_s, steps, t_tick = 0.0, 0, time.monotonic()
        with StopFlag() as stop:
            while tr.cur_nimg < total_nimg:
                t0 = time.monotonic()
                tr.step()
                steps += 1
                dt = time.monotonic() - t0
                step_cost_s = dt if steps == 1 else max(step_cost_s * 0.9 + dt * 0.1, dt * 0.5)
                done = tr.cur_nimg >= total_nimg
                if tr.cur_nimg >= tr.tick_start_nimg + tick_nimg or done:
                    now = time.monotonic()
                    self.tick(now - t_tick, total_nimg)
                    t_tick = now
                    if done or tr.tick % int(cfg["snapshot_ticks"]) == 0:
                        self.write_snapshot()
                if done:
                    break
                reason = None
                if stop.signal is not None:
                    reason = f"signal {signal.Signals(stop.signal).name}"
                elif deadline is not None and time.monotonic() + 2 * step_cost_s + 2 * self.snapshot_cost_s > deadline:
                    reason = f"time budget of {time_limit_s / 60:.1f} min (margin {margin_s / 60:.1f} min)"
                elif max_steps is not None and steps >= max_steps:
                    reason = f"max_steps={max_steps}"
                if reason:
                    self.write_snapshot()
                    return reason
        if self.last_snapshot is None:  # already at total_kimg when the session started
            snaps = list_snapshots(self.snap_dir)
            self.last_snapshot = snaps[-1][1] if snaps else self.write_snapshot()
        return None


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _mean(v: list[float] | None) -> float | None:
    return float(np.mean(v)) if v else None


def _tick_row(trainer: Trainer, sec: float, dev) -> dict[str, Any]:
    kimg_done = (trainer.cur_nimg - trainer.tick_start_nimg) / 1000
    st = trainer.read_stats()
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
    start_from: PathLike | None = None,
) -> TrainResult:
    """Rule ``gan_train``: :func:`train_gan` with the job's time budget and thread count; on completion
    also writes ``fakes_path`` (the final G_ema's grid). Raises :class:`TrainingIncomplete` (the job fails,
    Snakemake's ``retries`` resubmits it and the new job resumes) when the budget ends first."""
    set_threads(threads)
    budget = time_budget_s(time_limit_minutes, runtime_minutes)
    if budget is not None:
        log.info("wall-clock budget of this job: %.1f min", budget / 60)
    res = train_gan(dataset, run_dir, final_path, log_path, options, time_limit_s=budget,
                    resume_from=resume_from, device=device, start_from=start_from)  # fmt: skip
    kimg = int(res.kimg)
    grid = Path(run_dir) / "snapshots" / f"fakes{kimg:06d}.png"
    from synthfer.io import link_or_copy

    link_or_copy(grid, fakes_path)
    return res
