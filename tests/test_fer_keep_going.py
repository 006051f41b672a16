"""A failing FER job does not stop an independent branch under the shipped profiles (keep-going)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_fer_helpers import make_real_set

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

# The real Snakefile (every rule file, as in production); the independent branch is the random control
# (rule select_random) on a prepared selection and manifest, so only these two rules may run.
ALLOWED = ["fer_fold_table", "select_random"]


def _selection(root: Path) -> None:
    """A face-filtered manifest of 6 images and a selection of 2 of them (the random control's inputs)."""
    from synthfer import AU_COLUMNS

    rows = [{"name": f"{i}_{i:06d}", "face_ok": True, **{a: int(i % 2 == 0 and a == "AU12") for a in AU_COLUMNS},
             "neutral": int(i % 2)} for i in range(6)]  # fmt: skip
    (root / "results" / "synthetic").mkdir(parents=True)
    (root / "results" / "select").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "results" / "synthetic" / "manifest.csv", index=False)
    pd.DataFrame(rows[:2]).to_csv(root / "results" / "select" / "selected.csv", index=False)


@pytest.mark.parametrize("profile", ["default", "slurm"])
def test_shipped_profiles_keep_going(profile):
    assert yaml.safe_load((REPO / "profiles" / profile / "config.yaml").read_text())["keep-going"] is True


def test_failing_fer_job_does_not_stop_an_independent_branch(tmp_path):
    # 4 subjects but 13 folds: rule fer_fold_table fails when it runs. The table sits under results/, where the
    # workflow writes its own files, so the parse-time check (synthfer.config.check_config) leaves it to the job;
    # a table of the user's own with this problem is refused before any job runs (tests/test_config_check.py).
    make_real_set(tmp_path / "results" / "real", n_subjects=4, per_subject=2)
    _selection(tmp_path)
    (tmp_path / "photos").mkdir()
    config = {"seed": 1, "real_images": {"folder": "photos"},
              "fer": {"real": {"source": "table", "table": "results/real/labels.csv"}, "variants": ["real_only"],
                      "folds": 13, "model": {"weights": None, "backend": "torch"}, "threads": 1}}  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    # One core and the FER target first: the FER job fails before the other branch has started, so without
    # keep-going the run would stop there.
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", "config.yaml",
         "--workflow-profile", str(REPO / "profiles" / "default"), "--allowed-rules", *ALLOWED,
         "--cores", "1", "--prioritize", "results/fer/folds.csv", "--", "results/fer/folds.csv", "results/select/random.csv"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "fer.folds = 13 but the labelled table has only 4 subjects" in out, out[-3000:]
    assert len(pd.read_csv(tmp_path / "results" / "select" / "random.csv")) == 2, out[-3000:]
    assert not (tmp_path / "results" / "fer" / "folds.csv").exists()
