"""Issue 19 item 6 (and issue 22 item 9): "Next step: review the seeds" is printed only when the run stopped at
the review — not after a config error at parse time, not for targets that need no seed list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NEXT_STEP = "Next step: review the seeds."
MISSING = "seeds={'file': 'config-missing/seeds.yaml'}"

pytestmark = pytest.mark.workflow


def _snakemake(wd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", "config/demo.yaml", *args],
        cwd=wd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def test_the_hint_when_the_default_target_stops_at_the_review(workdir):
    res = _snakemake(workdir, "--config", MISSING)
    out = res.stdout + res.stderr
    assert res.returncode == 0 and out.count(NEXT_STEP) == 1, out[-3000:]


def test_no_hint_after_a_config_error(workdir, tmp_path):
    """fer.real.table names a missing file: rules/fer.smk stops the parse, after the seeds phase was read."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"seeds:\n  file: config-missing/seeds.yaml\nfer:\n  real:\n    table: {tmp_path / 'none.csv'}\n")
    res = _snakemake(workdir, str(bad))
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "fer.real.table" in out, out[-3000:]
    assert NEXT_STEP not in out, out[-3000:]


def test_no_hint_for_targets_that_need_no_seed_list(workdir):
    res = _snakemake(workdir, "--config", MISSING, "--", "results/faces/real_manifest.csv")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "faces_real" in out and NEXT_STEP not in out, out[-3000:]
