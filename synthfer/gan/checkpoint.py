"""Training checkpoints: the snapshot files, the loop state they hold, and where a run starts from.

Checkpoints (``snapshots/network-snapshot-{kimg:06d}.pt``, format in docs/gan.md) hold everything the
loop's future depends on: G, D, G_ema, both Adam states, the augmentation p and the ADA accumulators, the
path-length mean, the image counter, the data-order position, torch's RNG states, the current tick's
statistics, the log rows and the resolved config. Resuming therefore continues bit for bit (on CPU) where
the snapshot was taken. They are plain tensors and Python values, read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthfer.gan import CHECKPOINT_FORMAT
from synthfer.gan.api import read_checkpoint
from synthfer.gan.options import RESUME_MUST_MATCH
from synthfer.io import PathLike, provenance
from synthfer.logs import get_logger

if TYPE_CHECKING:  # pragma: no cover
    from synthfer.gan.train import Trainer

log = get_logger(__name__)

SNAPSHOT_RE = re.compile(r"^network-snapshot-(\d{6,})\.pt$")


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


def snapshot_for_kimg(snapshot_dir: PathLike, kimg: int) -> Path:
    """The snapshot file of ``kimg`` in ``snapshot_dir``; ``FileNotFoundError`` listing the kimgs there."""
    snaps = list_snapshots(snapshot_dir)
    for k, path in snaps:
        if k == int(kimg):
            return path
    available = ", ".join(str(k) for k, _ in snaps) or "none"
    raise FileNotFoundError(
        f"config key 'gan.network': no snapshot of kimg {kimg} (network-snapshot-{int(kimg):06d}.pt) in "
        f"{snapshot_dir}; available kimgs: {available}. Fix: set gan.network to one of them, 'final' or 'best_fid'."
    )


def snapshot_path(snapshot_dir: PathLike, cur_nimg: int) -> Path:
    """``network-snapshot-{kimg:06d}.pt`` with ``kimg = images shown // 1000``."""
    return Path(snapshot_dir) / f"network-snapshot-{cur_nimg // 1000:06d}.pt"


def checkpoint_provenance() -> dict[str, str]:
    # Plain strings only: checkpoints are read with torch.load(weights_only=True).
    return {k: str(v) for k, v in provenance().items()}


def trainer_state(trainer: Trainer) -> dict[str, Any]:
    """The whole loop state of a :class:`~synthfer.gan.train.Trainer` as a snapshot dict (CPU tensors)."""
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
        "G_kwargs": trainer.G_kwargs,
        "D_kwargs": trainer.D_kwargs,
        "G": cpu(trainer.G.state_dict()),
        "D": cpu(trainer.D.state_dict()),
        "G_ema": cpu(trainer.G_ema.state_dict()),
        "opt_G": opt_cpu(trainer.opt_G.state_dict()),
        "opt_D": opt_cpu(trainer.opt_D.state_dict()),
        "augment_p": float(trainer.aug.p) if trainer.aug is not None else 0.0,
        "ada": trainer.ada.state_dict() if trainer.ada is not None else None,
        "pl_mean": trainer.loss.pl_mean.detach().cpu().clone(),
        "cur_nimg": trainer.cur_nimg,
        "kimg": trainer.cur_nimg / 1000,
        "batch_idx": trainer.batch_idx,
        "tick": trainer.tick,
        "tick_start_nimg": trainer.tick_start_nimg,
        "stats": {k: list(v) for k, v in trainer.read_stats().items()},
        "sampler": trainer.sampler.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if trainer.device.type == "cuda" else [],
        "log_rows": list(trainer.log_rows),
        "elapsed_s": trainer.elapsed_s,
        "config": dict(trainer.cfg),
        "provenance": checkpoint_provenance(),
    }


def load_trainer_state(trainer: Trainer, state: dict[str, Any]) -> None:
    """Restore a snapshot dict written by :func:`trainer_state` into ``trainer`` (networks, optimisers,
    augmentation, counters, data order and torch's RNG state)."""
    import torch

    trainer.G.load_state_dict(state["G"])
    trainer.D.load_state_dict(state["D"])
    trainer.G_ema.load_state_dict(state["G_ema"])
    trainer.opt_G.load_state_dict(state["opt_G"])
    trainer.opt_D.load_state_dict(state["opt_D"])
    if trainer.aug is not None:
        trainer.aug.p.fill_(float(state["augment_p"]))
    if trainer.ada is not None and state.get("ada") is not None:
        trainer.ada.load_state_dict(state["ada"])
    trainer.loss.pl_mean.copy_(state["pl_mean"])
    trainer.cur_nimg = int(state["cur_nimg"])
    trainer.batch_idx = int(state["batch_idx"])
    trainer.tick = int(state["tick"])
    trainer.tick_start_nimg = int(state["tick_start_nimg"])
    trainer.stats = {k: list(v) for k, v in state["stats"].items()}
    trainer.sampler.load_state_dict(state["sampler"])
    trainer.log_rows = list(state["log_rows"])
    trainer.elapsed_s = float(state["elapsed_s"])
    torch.set_rng_state(state["rng_cpu"])
    if trainer.device.type == "cuda" and state["rng_cuda"]:
        torch.cuda.set_rng_state_all(state["rng_cuda"])


def check_compatible(saved: dict[str, Any], cfg: dict[str, Any], path: Path) -> None:
    """Refuse to resume from ``path`` if a :data:`~synthfer.gan.options.RESUME_MUST_MATCH` option differs."""
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


def find_start(snapshot_dir: PathLike, resume_from: PathLike | None) -> tuple[dict[str, Any] | None, Path | None]:
    """The checkpoint a run starts from and its path: the newest readable snapshot in ``snapshot_dir``
    (an unreadable one is skipped with a warning), else ``resume_from`` (a full synthfer snapshot), else
    ``(None, None)`` (fresh initialisation)."""
    for _kimg, path in reversed(list_snapshots(snapshot_dir)):
        try:
            return read_checkpoint(path), path
        except ValueError as exc:
            log.warning("cannot use %s (%s); trying an older snapshot", path, exc)
    if resume_from:
        start = read_checkpoint(resume_from)
        if start.get("kind") != "snapshot":
            raise ValueError(
                f"{resume_from}: a generator-only checkpoint cannot be resumed; use a network-snapshot-*.pt"
            )
        return start, Path(resume_from)
    return None, None


def final_checkpoint(trainer: Trainer, last_snapshot: Path) -> dict[str, Any]:
    """``network-final.pt``: the EMA generator, its constructor arguments, kimg, p and the config."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "kind": "generator",
        "G_kwargs": trainer.G_kwargs,
        "G_ema": {k: v.detach().cpu() for k, v in trainer.G_ema.state_dict().items()},
        "kimg": trainer.cur_nimg / 1000,
        "augment_p": float(trainer.aug.p) if trainer.aug is not None else 0.0,
        "config": dict(trainer.cfg),
        "snapshot": last_snapshot.name,
        "provenance": checkpoint_provenance(),
    }
