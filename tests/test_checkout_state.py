"""No test depends on what a run left in the checkout (results/, .snakemake/).

`make demo` followed by `make test` in one clone once failed: a dry-run test planned in the checkout
itself, saw the demo's results and got "Nothing to be done". Here a copy of the checkout gets a fake
results tree of the whole demo DAG (every output present and up to date, so `snakemake -n` there
plans nothing, as after `make demo`), and the dry-run test modules run inside that copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Every fast test module that runs Snakemake on the workflow (dry-run, rulegraph, lint, profile, first run).
DRY_RUN_MODULES = [
    "tests/test_workflow.py", "tests/test_seeds_workflow.py", "tests/test_slurm_profile.py", "tests/test_first_contact.py",
]  # fmt: skip
NOTHING_TO_DO = "Nothing to be done"

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def _copy_checkout(dest: Path) -> Path:
    """The checkout's files (tracked + new, not ignored), without any run state."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    for rel in out.stdout.splitlines():
        src = REPO / rel
        if not rel or rel.startswith(".venv") or not src.is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    return dest


def _snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", "config/demo.yaml", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def _fake_output(path: Path) -> None:
    """An empty stand-in for one output: a folder when the name has no suffix (every directory() output
    of the workflow), else a file. The iqa_batches checkpoint's table gets one batch so the DAG behind
    the checkpoint can be built."""
    if not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.as_posix().endswith("results/iqa/batches.csv"):
        path.write_text("name,file,batch,position\nfake_000000,raw/fake_000000.png,0,0\n")
    else:
        path.touch()


def fake_demo_results(clone: Path) -> str:
    """Fill ``clone/results`` as a finished demo run would (empty files, real mtimes order); return the
    final dry-run's output."""
    for _ in range(6):  # the checkpoint adds jobs once its table exists
        plan = _snakemake(clone, "-n")
        assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
        # A job prints its outputs, or (rules with a `message:`) only its missing ones in the reason.
        listed = re.findall(r"^    output: (.*)$|^Reason: Missing output files: ([^;\n]*)", plan.stdout, re.M | re.I)
        outputs = {p.strip() for groups in listed for text in groups for p in text.split(",")}
        missing = [p for p in sorted(outputs) if p and not (clone / p).exists()]
        if not missing:
            break
        for rel in missing:
            _fake_output(clone / rel)
    touched = _snakemake(clone, "--touch", "--cores", "1")  # mtimes in DAG order, like a real run
    assert touched.returncode == 0, touched.stdout[-3000:] + touched.stderr[-3000:]
    final = _snakemake(clone, "-n")
    assert final.returncode == 0, final.stderr[-3000:]
    return final.stdout + final.stderr


def test_dry_run_tests_pass_in_a_checkout_with_demo_results(tmp_path):
    clone = _copy_checkout(tmp_path / "clone")
    plan = fake_demo_results(clone)
    # The precondition of the old failure: in this checkout, a dry-run of the demo plans nothing.
    assert NOTHING_TO_DO in plan, plan[-3000:]
    assert (clone / ".snakemake").is_dir() and any((clone / "results" / "annotations").rglob("labels.npy"))
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow and not slurm",
         *DRY_RUN_MODULES],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHONPATH": str(clone), "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-3000:]
    assert re.search(r"\b\d+ passed", res.stdout), res.stdout[-2000:]
    # ... and they left the copy's run state as it was: nothing planned there still.
    assert NOTHING_TO_DO in _snakemake(clone, "-n").stdout
