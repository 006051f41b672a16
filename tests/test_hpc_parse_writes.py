"""Issue 19, item 4: parsing the workflow (every Slurm job does) writes no file when nothing changed, and writes
the bundled config schema atomically (a new file renamed into place) when it did change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLED = Path(".snakemake") / "synthfer" / "config.schema.bundled.yaml"

pytestmark = pytest.mark.workflow


def _parse(cwd: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--list-rules", "--configfile", "config/demo.yaml"],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]


def test_a_second_parse_leaves_the_bundled_schema_alone(fresh_workdir):
    _parse(fresh_workdir)
    bundled = fresh_workdir / BUNDLED
    first = bundled.stat()
    os.utime(bundled, ns=(first.st_atime_ns, first.st_mtime_ns - 10**9))  # so a rewrite would show
    before = bundled.stat()
    _parse(fresh_workdir)
    after = bundled.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_changed_schema_is_replaced_atomically(fresh_workdir):
    _parse(fresh_workdir)
    bundled = fresh_workdir / BUNDLED
    good = bundled.read_text()
    bundled.write_text(good[: len(good) // 2])  # a stale or half-written copy
    stale_inode = bundled.stat().st_ino
    _parse(fresh_workdir)
    assert bundled.read_text() == good
    assert bundled.stat().st_ino != stale_inode  # a new file renamed into place, never rewritten in place
    assert sorted(p.name for p in bundled.parent.iterdir()) == [bundled.name]  # no temporary file left
