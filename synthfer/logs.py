"""Logging set-up for workflow scripts and the command line.

Every rule has a ``log:`` file; its workflow script calls :func:`log_to` first, so progress lines
(counts, rates) and any error land in ``logs/<rule>/…``: :func:`log_to` also installs an exception
hook that writes an uncaught error as ``error: <message>`` followed by its traceback (on Slurm the
log file is what the user reads; a traceback on the job's terminal alone is lost).

The log also locks the job: :func:`log_to` holds an exclusive ``flock`` on a hidden file beside the log
(``.<log name>.lock``; Snakemake deletes the log itself before a job starts, so the log cannot carry the
lock) while the job runs. A second copy of the same job — a re-run started while an orphan of a killed
``snakemake`` still works on the same outputs — stops at once, naming the running process, instead of
writing the same files at the same time (docs/hpc.md, "After a killed snakemake").
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
from pathlib import Path

from synthfer.io import PathLike

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_job_lock: tuple[Path, object] | None = None  # (lock path, open file holding the flock) of this process


class JobAlreadyRunning(RuntimeError):
    """Another process is still running the job that writes this log (e.g. the orphan of a killed snakemake)."""


def log_to(path: PathLike | None, level: int = logging.INFO) -> logging.Logger:
    """Send the ``synthfer`` logger (and warnings, and stderr) to ``path`` as well as stderr.

    Safe to call more than once: handlers from earlier calls are replaced.
    """
    root = logging.getLogger("synthfer")
    root.setLevel(level)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    stream = logging.StreamHandler(sys.__stderr__)
    stream.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(stream)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(path, mode="w", encoding="utf-8")
        fh.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(fh)
    logging.captureWarnings(True)
    root.propagate = False
    sys.excepthook = _log_uncaught
    if path is not None:
        _lock_job(path)
    return root


def _lock_job(log: Path) -> None:
    """Hold an exclusive ``flock`` on ``.<log name>.lock`` beside ``log`` for the rest of this process;
    raise :class:`JobAlreadyRunning`, naming the holder, when another process holds it.

    The kernel drops the lock when its holder exits, however it ends, so no stale lock outlives a crash
    (the empty lock file stays; it is never deleted, which would race). On a file system without
    ``flock`` (some parallel file system mounts) the job runs unguarded.
    """
    global _job_lock
    try:
        import fcntl
    except ImportError:  # not POSIX
        return
    lock = (log.parent / f".{log.name}.lock").resolve()
    if _job_lock is not None:
        if _job_lock[0] == lock:
            return
        _job_lock[1].close()  # a new log: this process now runs another job
        _job_lock = None
    handle = open(lock, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        found = re.match(r"pid (\d+) on host (\S+)", handle.read(200))
        handle.close()
        pid, host = found.groups() if found else ("<pid>", "<host>")
        raise JobAlreadyRunning(
            f"another run of this job is still going (pid {pid} on host {host}): it outlived a killed snakemake "
            f"and still writes this job's outputs. Fix: stop it (kill {pid} on {host}, or scancel its Slurm job) "
            "or let it finish, then run snakemake again (docs/hpc.md, 'After a killed snakemake')."
        ) from None
    except OSError:
        handle.close()
        return
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on host {socket.gethostname()}\n")
    handle.flush()
    _job_lock = (lock, handle)


def _log_uncaught(exc_type, exc, tb) -> None:
    """``sys.excepthook``: the error's message, then its traceback, to every handler of the ``synthfer``
    logger (the rule's log file and stderr). Ctrl-C keeps Python's default report."""
    if issubclass(exc_type, KeyboardInterrupt) or not logging.getLogger("synthfer").handlers:
        sys.__excepthook__(exc_type, exc, tb)
        return
    message = str(exc).strip() or exc_type.__name__
    logging.getLogger("synthfer").error("error: %s", message, exc_info=(exc_type, exc, tb))


def get_logger(name: str) -> logging.Logger:
    """A child of the ``synthfer`` logger (use ``__name__``)."""
    return logging.getLogger(name if name.startswith("synthfer") else f"synthfer.{name}")


class Progress:
    """Log ``done/total`` with rate every ``every`` items or ``seconds`` seconds (no tqdm needed
    in batch logs; tqdm bars are unreadable in Slurm output files)."""

    def __init__(self, logger: logging.Logger, total: int, what: str, every: int = 0, seconds: float = 10.0):
        import time

        self._time = time.monotonic
        self.logger, self.total, self.what = logger, total, what
        self.every, self.seconds = every, seconds
        self.done = 0
        self.t0 = self._last = self._time()
        self.logger.info("%s: 0/%d", what, total)

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self._time()
        if (self.every and self.done % self.every == 0) or now - self._last >= self.seconds or self.done >= self.total:
            rate = self.done / max(now - self.t0, 1e-9)
            self.logger.info("%s: %d/%d (%.1f/s)", self.what, self.done, self.total, rate)
            self._last = now
