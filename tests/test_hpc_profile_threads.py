"""Issue 19, item 1: under `--profile slurm` every job gets the threads (Slurm's --cpus-per-task) the profile
sets, whatever the cores of the machine that runs Snakemake. The auto-loaded workflow profile
(profiles/default) stays in the composition, as it does for a user; the login node is made a 2-core machine
with taskset where it has more."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())

pytestmark = pytest.mark.workflow


def _two_cores() -> list[str]:
    """A prefix that runs a command on 2 CPUs (Snakemake's `cores: all` reads the CPU affinity mask)."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", "0,1"]
    return []


def _threads_by_rule(stdout: str) -> dict[str, set[int]]:
    """Rule -> the set of `threads:` values of its jobs in a dry-run's job list."""
    out: dict[str, set[int]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", stdout):
        head = re.match(r"(?:local)?rule (\w+):", block.strip())
        threads = re.search(r"^\s+threads: (\d+)$", block, flags=re.M)
        if head and threads:
            out.setdefault(head.group(1), set()).add(int(threads.group(1)))
    return out


def test_profile_threads_reach_the_jobs_on_a_two_core_login_node(workdir):
    res = subprocess.run(
        [*_two_cores(), sys.executable, "-m", "snakemake", "-n", "--profile", "profiles/slurm",
         "--configfile", "config/demo.yaml"],
        cwd=workdir, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    # The user's composition: the general profile plus the auto-loaded workflow profile.
    assert "workflow specific profile profiles/default" in out, out[:2000]
    threads = _threads_by_rule(res.stdout)
    for rule in ("gan_train", "fer_fold"):
        assert threads.get(rule) == {PROFILE["set-threads"][rule]}, (rule, threads.get(rule))
    assert PROFILE["set-threads"]["gan_train"] == 8 and PROFILE["set-threads"]["fer_fold"] == 8


def test_workflow_profile_sets_no_machine_cores():
    """profiles/default is loaded under every general profile and wins key by key: a `cores` there would
    cap the cluster jobs' threads at the submitting machine's cores."""
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert "cores" not in default and "max-threads" not in default
    assert PROFILE["cores"] >= max(PROFILE["set-threads"].values())
