"""Where a job runs: its torch device, its CPU threads and its worker processes.

One definition for every phase, so a config value (``gan.device``, ``generate.device``, ``iqa.device``,
the rules' ``threads:``) means the same thing in every job. Kept apart from the phase packages so that
none of them has to import another phase (or itself in a circle) just for these helpers.

torch and cv2 are imported inside the functions: importing this module stays light.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from synthfer.logs import Progress, get_logger

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = get_logger(__name__)

AUTO = "auto"


def pick_device(prefer: str | None = None) -> torch.device:
    """The torch device of a job's ``device:`` setting.

    None, '' or 'auto': CUDA when available, else CPU. Anything else is ``torch.device(prefer)``
    ('cpu', 'cuda', 'cuda:1'); a CUDA device without CUDA is refused here (``ValueError``) rather than
    failing later inside the first tensor copy."""
    import torch

    if not prefer or prefer == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(prefer)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {prefer!r} requested but CUDA is not available "
            "(set the phase's device: to null/auto for CUDA-when-present, or to cpu)"
        )
    return dev


def set_threads(threads: int | None, *, opencv: bool = False, import_torch: bool = True) -> None:
    """Cap the job's CPU threads at its ``threads:`` (None/0: leave the libraries' defaults).

    torch's intra-op threads always, unless ``import_torch=False``: then only if torch is already
    loaded, so a job that never uses torch (the CPU IQA scorers) does not pay to import it.
    ``opencv=True`` also caps OpenCV's pool, for the jobs whose work is OpenCV."""
    if not threads:
        return
    if opencv:
        import cv2

        cv2.setNumThreads(int(threads))
    if import_torch:
        import torch

        torch.set_num_threads(int(threads))
    elif "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))


def map_jobs(
    fn: Callable[[Any], Any],
    jobs: Sequence[Any],
    workers: int,
    what: str,
    seconds: float = 5.0,
    logger: logging.Logger | None = None,
) -> list[Any]:
    """``[fn(job) for job in jobs]``, in order, in ``workers`` processes when > 1 (``fn`` must be a
    module-level function), logging progress as ``what`` every ``seconds`` to ``logger`` (the caller's,
    so the log names the phase). Results do not depend on ``workers`` as long as ``fn`` draws its
    randomness from its job."""
    prog = Progress(logger or log, len(jobs), what, seconds=seconds)
    out = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            for row in ex.map(fn, jobs, chunksize=max(1, len(jobs) // (workers * 8))):
                out.append(row)
                prog.update()
    else:
        for job in jobs:
            out.append(fn(job))
            prog.update()
    return out
