"""After `snakemake` alone is killed (SIGKILL) its running job goes on as an orphan and the next run is
locked out: `--unlock` and a re-run recover, and give the outputs an undisturbed run gives.

A small stand-alone workflow whose scripts are written like the real ones (log_to first, atomic writes
through synthfer.io): `slow` works until the test releases it, `after` reads its output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

SNAKEFILE = """
rule all:
    input: "results/b.txt"

rule slow:
    output: "results/a.txt"
    log: "logs/slow.log"
    script: "slow.py"

rule after:
    input: "results/a.txt"
    output: "results/b.txt"
    log: "logs/after.log"
    script: "after.py"
"""

SLOW = """
import os, time
from pathlib import Path
from synthfer.io import write_text
from synthfer.logs import get_logger, log_to

log_to(snakemake.log[0])
Path("state").mkdir(exist_ok=True)
n = len(list(Path("state").glob("started.*")))
Path(f"state/started.{n}").write_text(str(os.getpid()))
while not Path("state/release").exists():
    time.sleep(0.1)
get_logger("synthfer.slow").info("released")
write_text(snakemake.output[0], "".join(f"{i} {i * i}\\n" for i in range(20000)))
"""

AFTER = """
from pathlib import Path
from synthfer.io import write_text
from synthfer.logs import log_to

log_to(snakemake.log[0])
lines = Path(snakemake.input[0]).read_text().splitlines()
write_text(snakemake.output[0], f"{len(lines)} lines, last {lines[-1]}\\n")
"""


def _workflow(root: Path) -> Path:
    root.mkdir()
    (root / "Snakefile").write_text(SNAKEFILE)
    (root / "slow.py").write_text(SLOW)
    (root / "after.py").write_text(AFTER)
    return root


def _cmd(*args: str) -> list[str]:
    # --rerun-incomplete as in profiles/default and profiles/slurm
    return [sys.executable, "-m", "snakemake", "--cores", "1", "--rerun-incomplete", *args]


ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(*args), cwd=root, env=ENV, capture_output=True, text=True, timeout=300)


def _wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _outputs(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "results").iterdir())}


def test_kill_unlock_rerun_gives_identical_outputs(tmp_path):
    reference = _workflow(tmp_path / "reference")
    (reference / "state").mkdir()
    (reference / "state" / "release").touch()
    assert _run(reference).returncode == 0
    expected = _outputs(reference)
    assert set(expected) == {"a.txt", "b.txt"}

    root = _workflow(tmp_path / "killed")
    main = subprocess.Popen(_cmd(), cwd=root, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: (root / "state" / "started.0").exists(), "the slow job to start")
        orphan = int((root / "state" / "started.0").read_text())
        main.send_signal(signal.SIGKILL)  # snakemake alone; its job is not in the signal's way
        main.wait(timeout=30)
        time.sleep(0.5)
        assert _alive(orphan), "the job should outlive its killed snakemake (that is the situation recovered from)"

        locked = _run(root)
        assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
        assert _run(root, "--unlock").returncode == 0

        # A re-run while the orphan still works on the same output stops at once and names it.
        clash = subprocess.run(_cmd(), cwd=root, env=ENV, capture_output=True, text=True, timeout=120)
        assert clash.returncode != 0
        log = (root / "logs" / "slow.log").read_text()
        assert f"error: another run of this job is still going (pid {orphan} on host" in log, log
        assert _alive(orphan) and not (root / "results" / "a.txt").exists()

        (root / "state" / "release").touch()  # the orphan finishes its work (or: kill it)
        _wait_for(lambda: not _alive(orphan), "the orphan to finish")
        rerun = _run(root)
        assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    finally:
        if main.poll() is None:
            main.kill()
        for started in (root / "state").glob("started.*"):  # the job processes this test started
            pid = int(started.read_text())
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert _outputs(root) == expected
    assert not [p.name for p in (root / "results").iterdir() if p.name.startswith(".")]  # no half-written temp file
