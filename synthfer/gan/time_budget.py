"""Wall-clock budget of a training job and the stop signals (Slurm time limits).

- :func:`time_budget_s`: ``gan.time_limit_minutes`` if set; inside a Slurm job the time ``squeue`` reports
  as left (:func:`slurm_time_left_s`), falling back to the rule's ``resources.runtime``; else unlimited.
- :class:`StopFlag`: SIGTERM/SIGUSR1 (what Slurm sends before and at a time limit) set a flag that the
  training loop checks between minibatches, so it can write a snapshot and stop cleanly.
"""

from __future__ import annotations

import os
import re
import signal
from typing import Any

from synthfer.logs import get_logger

log = get_logger(__name__)


def parse_slurm_duration(text: str) -> float | None:
    """Slurm's ``[days-]hours:minutes:seconds`` / ``minutes:seconds`` → seconds (None if not a duration)."""
    m = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)", text)
    if not m:
        return None
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return float(((d * 24 + h) * 60 + mi) * 60 + s)


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


class StopFlag:
    """Set by SIGTERM/SIGUSR1 (Slurm sends these before a time limit), checked between minibatches.

    A context manager: the handlers are installed on entry (main thread only) and restored on exit.
    """

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
