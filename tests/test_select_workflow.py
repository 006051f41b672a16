"""The iqa + select rules in a tiny stand-alone workflow (only rules/iqa.smk and rules/select.smk,
on prepared real crops, synthetic images and manifest): the checkpoint → per-batch jobs → select
chain runs, and changing a threshold, weight or `keep` re-runs `select` (and what reads it) only,
never the scoring — while changing a scoring setting does re-run the scoring."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from support.mini_workflow import snakefile

from synthfer.imaging import save_png

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.workflow, pytest.mark.slow]

SNAKEFILE = snakefile("iqa_common.smk", "iqa.smk", "select.smk")

CONFIG = {
    "seed": 5,
    "gan": {"resolution": 40},  # the size of the prepared synthetic images (iqa_references resizes the crops to it)
    "iqa": {
        "batch_size": 4,
        "reference": "nearest",
        "nearest_size": 8,
        "chunk": 8,
        "device": "cpu",
        "threads": 1,
        "mem_mb": 1000,
        "fid": {"extractor": "dlib", "inception_weights": None, "kid_subsets": 3, "kid_subset_size": 4},
        "svr": {
            "blur_sigma": [0.8],
            "noise_sigma": [8],
            "jpeg_quality": [20],
            "train_fraction": 0.5,
            "max_crops": None,
            "C": 10.0,
            "epsilon": 0.1,
            "gamma": "scale",
        },
    },
    "select": {
        "keep": 2,
        "method": "rank_mean",
        "metrics": ["psnr", "ssim", "svr_severity"],
        "weights": {},
        "metric": "brisque",
        "thresholds": {"psnr": {"min": 5.0}},
        "links": False,
    },
}


def _smk(wd: Path, *args: str) -> subprocess.CompletedProcess:
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=wd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def _planned_rules(res: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", res.stdout + res.stderr, flags=re.M))


@pytest.fixture(scope="module")
def workflow(faces_data, tmp_path_factory):
    from PIL import Image

    wd = tmp_path_factory.mktemp("tinyflow")
    (wd / "Snakefile").write_text(SNAKEFILE)
    (wd / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    faces = sorted((faces_data / "london" / "neutral").glob("*.jpg"))
    for f in faces[:6]:
        with Image.open(f) as im:
            save_png(wd / "results/faces/real" / f"{f.stem}.png", np.asarray(im.convert("RGB").resize((128, 128))))
    rows = []
    for i, f in enumerate(sorted((faces_data / "london" / "smiling").glob("*.jpg"))[:10]):
        with Image.open(f) as im:
            save_png(wd / "results/synthetic/raw" / f"{i}_{i:06d}.png", np.asarray(im.convert("RGB").resize((40, 40))))
        rows.append(
            {
                "name": f"{i}_{i:06d}",
                "file": f"raw/{i}_{i:06d}.png",
                "face_ok": i != 9,
                "face_reason": "" if i != 9 else "no_face",
            }
        )
    man = pd.DataFrame(rows)
    for c in ("AU1", "AU4", "AU5", "AU6", "AU12", "AU15", "neutral"):
        man[c] = [(i + len(c)) % 2 for i in range(len(man))]
    man.to_csv(wd / "results/synthetic/manifest.csv", index=False)
    dry = _smk(wd, "-n")  # the checkpoint defers the per-batch jobs: the dry-run still works
    assert "iqa_batches" in _planned_rules(dry)
    _smk(wd)
    return wd


def _edit_config(wd: Path, fn) -> None:
    cfg = yaml.safe_load((wd / "config.yaml").read_text())
    fn(cfg)
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg))


def test_outputs(workflow):
    wd = workflow
    batches = pd.read_csv(wd / "results/iqa/batches.csv")
    assert len(batches) == 9 and batches["batch"].nunique() == 3  # 9 face_ok images, batches of <= 4
    for b in range(3):
        assert (wd / f"results/iqa/scores/batch_{b:04d}.parquet").exists()
        assert (wd / f"results/iqa/features/dlib/batch_{b:04d}.npz").exists()
    sel = pd.read_csv(wd / "results/select/selected.csv")
    assert len(sel) == 6  # round(2 · 3/4) = 2 of each batch of 3
    fk = pd.read_csv(wd / "results/select/fid_kid_dlib.csv")
    assert set(fk["subset"]) == {"all_scored", "selected"}
    real = pd.read_parquet(wd / "results/iqa/real_scores.parquet")
    assert len(real) == 6 and (real["name"] != real["reference"]).all()
    for fig in ("distributions", "per_class", "fid_kid", "threshold_sweep", "grid_selected", "grid_rejected",
                "metric_correlation", "feature_pca"):
        assert (wd / f"results/select/figures/{fig}.png").stat().st_size > 1000
    summary = pd.read_csv(wd / "results/select/metric_summary.csv")
    assert summary.loc[(summary["group"] == "selected") & (summary["class"] == "all"), "n"].max() == 6


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["select"].update(keep=1),
        lambda c: c["select"]["thresholds"].update(ssim={"min": 0.1}),
        lambda c: c["select"].update(weights={"psnr": 2.0}),
    ],
    ids=["keep", "threshold", "weight"],
)
def test_selection_params_rerun_select_only(workflow, change):
    wd = workflow
    original = (wd / "config.yaml").read_text()
    # Snakemake 9.27's --list-changes params also prints some unchanged secondary outputs of
    # multi-output jobs (it iterates an accumulated ParamsChange), so compare with the baseline.
    baseline = set(_smk(wd, "--list-changes", "params").stdout.split())
    assert "results/select/selected.csv" not in baseline
    try:
        _edit_config(wd, change)
        planned = _planned_rules(_smk(wd, "-n"))
        rereads = {"select_figures", "select_metric_summary", "select_feature_pca"}  # what reads selected.csv
        assert planned <= {"select", "fid_kid", *rereads, "all"} and "select" in planned, planned
        changed = set(_smk(wd, "--list-changes", "params").stdout.split()) - baseline
        assert "results/select/selected.csv" in changed, changed
        assert all(p.startswith("results/select/") for p in changed), changed
    finally:
        (wd / "config.yaml").write_text(original)


def test_scoring_params_rerun_scoring(workflow):
    """The control: a scoring setting does re-run every score_batch job."""
    wd = workflow
    original = (wd / "config.yaml").read_text()
    try:
        _edit_config(wd, lambda c: c["iqa"].update(reference="mean"))
        res = _smk(wd, "-n")
        assert "score_batch" in _planned_rules(res)
        assert len(re.findall(r"^(?:local)?rule score_batch:", res.stdout, flags=re.M)) == 3
    finally:
        (wd / "config.yaml").write_text(original)
