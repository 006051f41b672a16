"""A failing FER job does not stop an independent branch under the shipped profiles (keep-going)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_fer_helpers import make_real_set

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

SNAKEFILE = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
configfile: "config.yaml"
from snakemake.utils import validate
validate(config["fer"], {str(REPO / "config" / "schema" / "fer.schema.yaml")!r})  # fills the defaults
TARGETS = {{}}
wildcard_constraints:
    fold=r"\\d{{2}}",
include: {str(REPO / "rules" / "fer.smk")!r}
rule other_first:
    output: "results/other/first.txt"
    shell: "echo first > {{output}}"
rule other_second:
    input: "results/other/first.txt"
    output: "results/other/second.txt"
    shell: "cat {{input}} > {{output}}"
"""


@pytest.mark.parametrize("profile", ["default", "slurm"])
def test_shipped_profiles_keep_going(profile):
    assert yaml.safe_load((REPO / "profiles" / profile / "config.yaml").read_text())["keep-going"] is True


def test_failing_fer_job_does_not_stop_an_independent_branch(tmp_path):
    # 4 subjects but 13 folds: rule fer_fold_table fails when it runs (not at parse time).
    make_real_set(tmp_path / "real", n_subjects=4, per_subject=2)
    config = {"seed": 1, "fer": {"real": {"source": "table", "table": "real/labels.csv"}, "variants": ["real_only"],
                                 "folds": 13, "model": {"weights": None, "backend": "torch"}, "threads": 1}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    # One core and the FER target first: the FER job fails before the other branch has started, so without
    # keep-going the run would stop there.
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", "Snakefile", "--workflow-profile", str(REPO / "profiles" / "default"),
         "--cores", "1", "--prioritize", "results/fer/folds.csv", "--", "results/fer/folds.csv", "results/other/second.txt"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "fer.folds = 13 but the labelled table has only 4 subjects" in out, out[-3000:]
    assert (tmp_path / "results" / "other" / "second.txt").read_text() == "first\n", out[-3000:]
    assert not (tmp_path / "results" / "fer" / "folds.csv").exists()
