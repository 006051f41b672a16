"""Where a job runs: its torch device, its CPU threads and its worker processes.

One definition for every phase, so a config value (``gan.device``, ``generate.device``, ``iqa.device``,
the rules' ``threads:``) means the same thing in every job. Kept apart from the phase packages so that
none of them has to import another phase (or itself in a circle) just for these helpers.

torch and cv2 are imported inside the functions: importing this module stays light.
"""

from __future__ import annotations

import logging
import os
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
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device {prefer!r} requested but CUDA is not available "
                "(set the phase's device: to null/auto for CUDA-when-present, or to cpu)"
            )
    if dev.type == "cuda":
        report_device("cuda", torch.cuda.get_device_name(dev))
    else:
        report_device(dev.type, f"torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}")
    return dev


# Values of CUDA_VISIBLE_DEVICES that hide every GPU.
_NO_GPU = {"", "-1", "NoDevFiles", "none"}
_REPORTED: set[tuple[str, str]] = set()


def gpu_allocation(environ: dict[str, str] | None = None) -> str | None:
    """What says this job was given a GPU, as ``NAME=value``: CUDA_VISIBLE_DEVICES (set by Slurm for
    ``--gpus``/``--gres``, or by hand) or Slurm's GPU variables. None when nothing does (a CPU job)."""
    env = os.environ if environ is None else environ
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None and cvd.strip() not in _NO_GPU:
        return f"CUDA_VISIBLE_DEVICES={cvd}"
    for var in ("SLURM_GPUS_ON_NODE", "SLURM_JOB_GPUS", "SLURM_STEP_GPUS"):
        if env.get(var, "").strip() not in ("", "0"):
            return f"{var}={env[var]}"
    return None


def report_device(device: str, detail: str = "", *, environ: dict[str, str] | None = None) -> bool:
    """Record in the job's log which device it computes on (``cuda``/``gpu``/``cpu``/…), once per device; warn
    when the job was given a GPU (:func:`gpu_allocation`) but computes on the CPU — a CPU-only framework build
    (tensorflow-cpu, a +cpu torch wheel), a missing driver, or a GPU that is not visible. Returns whether it
    warned. Every GPU rule's job reaches this: torch through :func:`pick_device`, Keras through
    ``synthfer.fer.backend.use_backend``."""
    key = (device, detail)
    allocated = gpu_allocation(environ)
    on_cpu = device.lower() in ("cpu", "unknown")
    if key in _REPORTED:
        return False
    _REPORTED.add(key)
    log.info("device: %s%s%s", device, f" ({detail})" if detail else "",
             f"; GPU allocated: {allocated}" if allocated else "")  # fmt: skip
    if allocated and on_cpu:
        log.warning(
            "warning: this job was given a GPU (%s) but runs on the CPU%s. Check the job's environment: a GPU build "
            "of torch/TensorFlow (envs/fer-gpu.yaml, deploy.fer_env: gpu; docs/hpc.md \"GPU partition\") and the "
            "node's NVIDIA driver (nvidia-smi).",
            allocated, f" ({detail})" if detail else "",
        )  # fmt: skip
        return True
    return False


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
