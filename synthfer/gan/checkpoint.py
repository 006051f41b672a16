"""Checkpoint files: the one reader (:func:`read_checkpoint`) and writer (:func:`write_checkpoint`) of every
synthfer ``.pt`` (snapshots, ``network-final.pt``, generator files, imported pickles), the snapshot folder's
names, and where a run starts from.

What a checkpoint holds is the owner's business: :meth:`synthfer.gan.train.Trainer.state_dict` (a snapshot:
everything the loop's future depends on, so a resume continues bit for bit on a CPU) and
:meth:`~synthfer.gan.train.Trainer.final_state` (``network-final.pt``), :func:`synthfer.gan.api.save_generator`,
:func:`synthfer.gan.pkl.import_official_pkl`; the formats are in docs/gan.md. They are plain tensors and Python
values, read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from synthfer.gan import CHECKPOINT_FORMAT, NetworkFileError
from synthfer.gan.options import RESUME_MUST_MATCH
from synthfer.io import PathLike, atomic_path, provenance
from synthfer.logs import get_logger

log = get_logger(__name__)

SNAPSHOT_RE = re.compile(r"^network-snapshot-(\d{6,})\.pt$")


def read_checkpoint(path: PathLike, mmap: bool = False) -> dict:
    """Load a synthfer ``.pt`` checkpoint with ``torch.load(weights_only=True)`` (no code runs) and check its format
    marker. ``mmap``: memory-mapped (only the tensors used are read; snapshots are ~0.6 GB at 256²). Raises
    ``FileNotFoundError``, or :class:`~synthfer.gan.NetworkFileError` (a ``ValueError``: one line naming the file
    and the fix) if it is not one of ours."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    fix = "Fix: give a network-*.pt written by synthfer (or an official .pkl, which synthfer reads as well)"
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PK\x03\x04":
        what = "an official pickle? name it .pkl" if head[:1] == b"\x80" else "not a torch checkpoint file"
        raise NetworkFileError(f"{path}: cannot be read as a synthfer checkpoint ({what}). {fix}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # noqa: BLE001 - any failure means the file is not a usable checkpoint
        # One line, without torch's advice to load with weights_only=False (which would run the file's code).
        first = (str(exc).strip().splitlines() or [""])[0]
        if "weights_only" in first.lower() or "weights only" in first.lower():
            first = "it holds objects other than tensors and plain data"
        raise NetworkFileError(f"{path}: cannot be read as a synthfer checkpoint ({first}). {fix}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise NetworkFileError(
            f"{path}: not a synthfer StyleGAN2 checkpoint (missing format marker {CHECKPOINT_FORMAT!r}). {fix}"
        )
    return ckpt


def write_checkpoint(path: PathLike, ckpt: dict[str, Any]) -> Path:
    """Write a checkpoint dict (with its ``format`` marker) atomically with ``torch.save``."""
    import torch

    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint for {path} lacks the format marker {CHECKPOINT_FORMAT!r}")
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)
    return Path(path)


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
