"""The FER phase at the workflow level (dry-runs of the real Snakefile): no DISFA is caught at parse time,
fer.enabled: false leaves the phase out, config/london.yaml plans the FER branch only with the alignment
before the folds, and missing weight files are named with their config key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow


def _snakemake(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def _jobs(res: subprocess.CompletedProcess) -> dict[str, int]:
    """The dry-run's job table (rule -> count)."""
    table = res.stdout.split("Job stats:")[-1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


def test_thesis_config_without_disfa_stops_the_dry_run_with_the_fix(tmp_path):
    res = _snakemake("-n", "--config", f"fer={{real: {{disfa: {{root: {tmp_path / 'disfa'}}}}}}}")
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert "config key 'fer.real.disfa.root'" in text and "does not exist" in text
    assert "fer.real.source: table" in text and "Without DISFA" in text and "fer.enabled: false" in text


def test_fer_enabled_false_leaves_the_phase_out(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["fer"]["enabled"] = False
    config["fer"]["real"]["disfa"]["root"] = str(tmp_path / "no-disfa")  # not checked when FER is off
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    res = _snakemake("-n", "--quiet", "rules", "--configfile", str(tmp_path / "c.yaml"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    jobs = _jobs(res)
    assert "gan_train" in jobs and "review_material" in jobs  # no config/seeds.yaml yet: the run ends at the review
    assert not [r for r in jobs if r.startswith("fer_")], jobs
    rules = _snakemake("--list-rules", "--configfile", str(tmp_path / "c.yaml"))
    assert rules.returncode == 0 and "fer_" not in rules.stdout
    on = _snakemake("--list-rules", "--configfile", "config/demo.yaml")
    assert "fer_fold" in on.stdout and "fer_align_table" in on.stdout


def test_london_config_plans_the_fer_branch_only(faces_data):
    res = _snakemake("-n", "--configfile", "config/london.yaml",
                     "--config", f"fer={{real: {{image_root: {faces_data}}}}}",
                     f"real_images={{folder: {faces_data / 'london' / 'neutral'}}}", "--", "results/fer/summary.csv")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert _jobs(res) == {"fer_align_shard": 2, "fer_align_table": 1, "fer_fold_table": 1, "fer_fold": 13,
                          "fer_evaluate": 1}
    # The folds read the aligned copy, an output of the workflow: they cannot start before the alignment.
    fold_job = res.stdout.split("rule fer_fold:")[1].split("\n\n")[0]
    assert "results/fer/aligned/labels.csv" in fold_job and "london_labels.csv" not in fold_job


def test_table_of_workflow_outputs_is_refused_with_the_align_fix(tmp_path):
    """The first run of the issue: a table pointing at results/faces/real crops raced the faces phase."""
    (tmp_path / "t.csv").write_text("image,subject,AU1,AU4,AU5,AU6,AU12,AU15\n"
                                    f"{REPO / 'results/faces/real/a.png'},s1,0,0,0,0,1,0\n")
    res = _snakemake("-n", "--configfile", "config/demo.yaml", "--config", f"fer={{real: {{table: {tmp_path / 't.csv'}}}}}")
    text = res.stdout + res.stderr
    assert res.returncode != 0 and "config key 'fer.real.table'" in text and "fer.real.align: true" in text


@pytest.mark.parametrize("override,key", [("fer={model: {weights: /nowhere/efficientnetb0_notop.h5}}", "fer.model.weights"),
                                          ("iqa={fid: {inception_weights: /nowhere/pt_inception.pth}}",
                                           "iqa.fid.inception_weights")])
def test_missing_weight_file_is_named_at_parse_time(override, key):
    res = _snakemake("-n", "--configfile", "config/demo.yaml", "--config", override)
    text = res.stdout + res.stderr
    assert res.returncode != 0 and f"config key '{key}': file" in text and "does not exist. Fix:" in text
