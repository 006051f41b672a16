"""The fer rules in a tiny stand-alone workflow (only rules/fer.smk, on a prepared real table and one
annotation variant): fold table → one job per (variant, fold) → evaluation → ensemble prediction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_fer_helpers import make_real_set, make_synthetic_set

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.workflow, pytest.mark.slow]

SNAKEFILE = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
configfile: "config.yaml"
TARGETS = {{}}
wildcard_constraints:
    fold=r"\\d{{2}}",
include: {str(REPO / "rules" / "fer.smk")!r}
rule all:
    input: [p for v in TARGETS.values() for p in v]
"""

CONFIG = {
    "seed": 3,
    "fer": {
        "real": {"source": "table", "table": "real/labels.csv", "image_root": None, "align": False, "align_shards": 1,
                 "disfa": {"root": "none", "camera": "right", "frames": 3,
                 "sampling": "uniform", "threshold": 2, "size": 64}},
        "variants": ["real_only", "synthetic_tds"],
        "folds": 2,
        "model": {"backend": "torch", "weights": None, "input_size": 32, "dense_units": [8, 8], "l1": 1e-4, "bn_momentum": 0.5},
        "train": {"epochs": 1, "patience": 1, "batch_size": 8, "learning_rate": 1e-3, "clipnorm": None, "flip": True, "workers": 1},
        "threads": 1,
        "mem_mb": 1000,
        "runtime": 10,
        "evaluate": {"ci_level": 0.95, "baseline_neutral": False},
        "predict": {"images": "real/images", "variant": "synthetic_tds", "threshold": 0.5, "batch_size": 8},
    },
}


def test_fer_rules_end_to_end(tmp_path):
    make_real_set(tmp_path / "real", n_subjects=4, per_subject=4)
    make_synthetic_set(tmp_path / "results" / "annotations" / "synthetic_tds", n=4)
    (tmp_path / "results" / "synthetic" / "raw").mkdir(parents=True)
    for p in (tmp_path / "results" / "annotations" / "synthetic_tds" / "raw").iterdir():
        p.rename(tmp_path / "results" / "synthetic" / "raw" / p.name)
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--snakefile", "Snakefile"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO), "KERAS_BACKEND": "tensorflow"},  # the rule's backend wins
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    fer = tmp_path / "results" / "fer"
    assert pd.read_csv(fer / "folds.csv")["fold"].tolist() == [1, 1, 2, 2]
    for v in ("real_only", "synthetic_tds"):
        for f in ("01", "02"):
            assert (fer / v / f"fold_{f}" / "model.keras").is_file()
    info = pd.read_json(fer / "synthetic_tds" / "fold_01" / "train.json", typ="series")
    assert info["n_train_synthetic"] == 4 and info["backend"] == "torch"
    summary = pd.read_csv(fer / "summary.csv")
    assert len(summary) == 2 * 7 and (summary["n_folds"] <= 2).all()
    assert len(pd.read_csv(fer / "wilcoxon.csv")) == 7
    assert (fer / "figures" / "auc_per_au.png").is_file() and (fer / "figures" / "roc_synthetic_tds.png").is_file()
    pred = pd.read_csv(fer / "predict" / "synthetic_tds.csv")
    assert len(pred) == 16 and pred["AU1_votes"].between(0, 2).all()
    assert (tmp_path / "logs" / "fer_fold" / "synthetic_tds_02.log").read_text().count("fold 2 done") == 1
    # torch-backend jobs print no TensorFlow/absl/oneDNN start-up lines (neither in their logs nor on stderr)
    logs = [*(tmp_path / "logs" / "fer_fold").glob("*.log"), tmp_path / "logs" / "fer_predict" / "synthetic_tds.log"]
    for text in [res.stderr, *(p.read_text() for p in logs)]:
        assert not [m for m in ("oneDNN", "absl", "TF_ENABLE_ONEDNN_OPTS") if m in text], text[-3000:]
