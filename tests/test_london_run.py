"""Real photographs through the classifier, for real (config/london.yaml) in a scratch copy of the repository:
the London set's 204 photographs (102 people, neutral and smiling) aligned by the faces phase as workflow
steps, then real_only 13-fold subject-wise cross-validation on the CPU.

Slow (a few minutes on 2 cores): marked ``slow``. The bar for AU12 comes from the issue: a logistic regression
on 32×32 grey aligned crops reaches 13-fold subject-wise AUC 0.88 ± 0.08 for smiling; the network must reach a
mean fold AUC above 0.75 (measured 0.801 with epochs chosen on the inner fold, never the test fold: docs/fer.md
"The London set").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.workflow]


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(f"git ls-files failed: {out.stderr}")
    return [line for line in out.stdout.splitlines() if line and (REPO / line).is_file()]


@pytest.fixture(scope="module")
def london_run(tmp_path_factory, faces_data) -> Path:
    work = tmp_path_factory.mktemp("london")
    for rel in _tracked_files():
        dst = work / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dst)
    cmd = [sys.executable, "-m", "snakemake", "--configfile", "config/london.yaml", "--cores", "2", "--config",
           f"fer={{real: {{image_root: {faces_data}}}}}", f"real_images={{folder: {faces_data / 'london' / 'neutral'}}}",
           "--", "results/fer/summary.csv"]
    run = subprocess.run(cmd, cwd=work, env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True,
                         timeout=3600)
    (REPO / "logs").mkdir(exist_ok=True)
    (REPO / "logs" / "test_london_run.log").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stderr[-6000:]
    return work


def test_london_smiling_au12_above_the_bar(london_run):
    summary = pd.read_csv(london_run / "results" / "fer" / "summary.csv", keep_default_na=False, na_values=[""])
    rows = summary.set_index("au")
    assert set(summary["variant"]) == {"real_only"}
    assert rows.loc["AU12", "n_folds"] == 13
    # 0.801 measured with epochs chosen on the inner fold (docs/fer.md); 0.80 was set against the test-fold-stopped 0.88
    assert rows.loc["AU12", "mean_auc"] > 0.75, summary.to_string()
    # Only AU12 is coded: the other AUs have no positive image, no AUC, and the mean row says it averages AU12 alone.
    assert rows.loc["mean", "aus"] == "AU12" and rows.loc["mean", "mean_auc"] == pytest.approx(rows.loc["AU12", "mean_auc"])
    assert (rows.loc[["AU1", "AU4", "AU5", "AU6", "AU15"], "n_folds"] == 0).all()


def test_london_photographs_went_through_the_faces_phase(london_run):
    fer = london_run / "results" / "fer"
    report = pd.read_csv(fer / "aligned" / "align_report.csv")
    assert len(report) == 204 and (report["status"] == "ok").sum() >= 200
    labels = pd.read_csv(fer / "aligned" / "labels.csv", dtype={"subject": str})
    assert labels["image"].str.startswith("images/").all() and labels["source"].str.startswith("london/").all()
    info = json.loads((fer / "real_only" / "fold_01" / "rep_r0" / "train.json").read_text())
    assert info["monitored_aus"] == ["AU12"] and "AU6: no positive training image" in info["au_warnings"]
    assert info["backend"] == "torch" and info["n_validation"] == 16
    assert info["model_selection"] == "inner" and info["inner_fold"] == 2 and info["n_inner_validation"] == 16
    for log in (london_run / "logs" / "fer_fold").glob("*.log"):
        text = log.read_text()
        assert "oneDNN" not in text and "absl" not in text
