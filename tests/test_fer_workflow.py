"""The fer rules in the real Snakefile (every rule file it includes, as in production), on a prepared real table
and prepared annotation files: fold table → one job per (variant, fold, replicate) → per-fold pseudo labels →
evaluation → ensemble prediction; and the permutation leak test through the pseudo labels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_fer_helpers import make_real_set, make_synthetic_set

from synthfer import AU_COLUMNS

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.workflow, pytest.mark.slow]

# The prepared inputs stand in for the GAN → selection → seed-ID chain, so only these rules may run.
FER_RULES = ["fer_fold_table", "fer_fold", "fer_evaluate", "fer_predict", "annotate_pseudo_predict", "annotate_pseudo",
             "annotate_pseudo_agreement"]  # fmt: skip

CONFIG = {
    "seed": 3,
    "real_images": {"folder": "photos"},
    "select": {"random_draws": 1},
    "annotate": {"pseudo_rule": "inner", "agreement_bootstrap": 50},
    "fer": {
        "real": {"source": "table", "table": "real/labels.csv"},
        "variants": ["real_only", "synthetic_pseudo", "synthetic_tds"],
        "folds": 3,
        "model_selection": "inner",
        "repeats": 1,
        "model": {"backend": "torch", "weights": None, "input_size": 32, "dense_units": [8, 8], "l1": 1e-4, "bn_momentum": 0.5},
        "train": {"budget": "steps", "steps": 4, "epochs": 2, "patience": 1, "batch_size": 8, "learning_rate": 1e-3,
                  "clipnorm": None, "flip": True, "workers": 1},
        "threads": 1,
        "mem_mb": 1000,
        "runtime": 10,
        "predict": {"images": "real/images", "variant": "synthetic_tds", "threshold": 0.5, "batch_size": 8},
    },
}


def _prepare(root: Path, flip_fold: int | None = None) -> None:
    """6 subjects (3 folds of 2), a seed-ID-labelled synthetic set as synthetic_tds and synthetic_all."""
    real = make_real_set(root / "real", n_subjects=6, per_subject=4)
    if flip_fold is not None:  # flip every label of the fold's subjects (folds are cut in subject order)
        table = pd.read_csv(real, dtype={"subject": str})
        rows = table["subject"].isin([f"SN{2 * flip_fold - 1:03d}", f"SN{2 * flip_fold:03d}"])
        table.loc[rows, list(AU_COLUMNS)] = 1 - table.loc[rows, list(AU_COLUMNS)]
        table.to_csv(real, index=False)
    (root / "photos").mkdir()
    ann = root / "results" / "annotations"
    make_synthetic_set(ann / "synthetic_tds", n=6)
    raw = root / "results" / "synthetic" / "raw"
    raw.parent.mkdir(parents=True)
    (ann / "synthetic_tds" / "raw").rename(raw)
    (ann / "synthetic_all").mkdir()
    for f in ("labels.csv", "image_names.txt"):
        (ann / "synthetic_all" / f).write_bytes((ann / "synthetic_tds" / f).read_bytes())
    (root / "config.yaml").write_text(yaml.safe_dump(CONFIG))


def _snakemake(root: Path, *targets: str) -> subprocess.CompletedProcess:
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", "config.yaml",
         "--cores", "2", "--allowed-rules", *FER_RULES, "--", *targets],
        cwd=root, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO), "KERAS_BACKEND": "tensorflow"},  # the rule's backend wins
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fer_wf")
    _prepare(root)
    res = _snakemake(root, "results/fer/summary.csv", "results/fer/predict/synthetic_tds.csv",
                     "results/annotations/synthetic_pseudo/agreement.csv")  # fmt: skip
    return root, res


def test_fer_rules_end_to_end(run):
    root, res = run
    fer = root / "results" / "fer"
    assert pd.read_csv(fer / "folds.csv")["fold"].tolist() == [1, 1, 2, 2, 3, 3]
    for v in ("real_only", "synthetic_pseudo", "synthetic_tds"):
        for f in ("01", "02", "03"):
            rep = fer / v / f"fold_{f}" / "rep_r0"
            assert (rep / "model.keras").is_file() and (rep / "inner_predictions.csv").is_file()
    info = pd.read_json(fer / "synthetic_tds" / "fold_01" / "rep_r0" / "train.json", typ="series")
    assert info["n_train_synthetic"] == 6 and info["backend"] == "torch" and info["replicate"] == "r0"
    assert info["inner_subjects"] == ["SN003", "SN004"] and info["steps_run"] == 4 and info["budget"] == "steps"
    assert (fer / "summary.csv").is_file()
    pred = pd.read_csv(fer / "predict" / "synthetic_tds.csv")
    assert len(pred) == 24 and pred["AU1_votes"].between(0, 3).all()
    log = root / "logs" / "fer_fold" / "synthetic_tds_02_r0.log"
    assert log.read_text().count("fold 2 replicate r0 done") == 1
    # torch-backend jobs print no TensorFlow/absl/oneDNN start-up lines (neither in their logs nor on stderr)
    logs = [*(root / "logs" / "fer_fold").glob("*.log"), root / "logs" / "fer_predict" / "synthetic_tds.log"]
    for text in [res.stderr, *(p.read_text() for p in logs)]:
        assert not [m for m in ("oneDNN", "absl", "TF_ENABLE_ONEDNN_OPTS") if m in text], text[-3000:]


def test_pseudo_labels_per_fold(run):
    """synthetic_pseudo fold k trains on fold k's labels, made by real_only's fold-k model at the per-AU Youden cuts of
    its inner validation predictions; the agreement has a row per fold and AU plus the pooled ones."""
    root, _ = run
    ann = root / "results" / "annotations" / "synthetic_pseudo"
    names = [Path(n).stem for n in (root / "results/annotations/synthetic_all/image_names.txt").read_text().split()]
    for f in ("01", "02", "03"):
        rep = ann / f"fold_{f}" / "rep_r0"
        assert [Path(n).stem for n in (rep / "image_names.txt").read_text().split()] == names
        cuts = pd.read_csv(rep / "thresholds.csv").set_index("au")
        probs = pd.read_csv(ann / "model_predictions" / f"fold_{f}" / "rep_r0.csv")
        labels = np.load(rep / "labels.npy")
        for j, au in enumerate(AU_COLUMNS):
            np.testing.assert_array_equal(labels[:, j], (probs[f"{au}_prob"] >= cuts.loc[au, "threshold"]).to_numpy())
        info = pd.read_json(root / "results" / "fer" / "synthetic_pseudo" / f"fold_{f}" / "rep_r0" / "train.json",
                            typ="series")  # fmt: skip
        assert info["n_train_synthetic"] == 6
    agreement = pd.read_csv(ann / "agreement.csv")
    assert sorted(set(agreement["set"])) == ["fold_01/rep_r0", "fold_02/rep_r0", "fold_03/rep_r0", "pooled"]
    pooled = agreement[agreement["set"] == "pooled"].set_index("au")
    assert (pooled.loc[list(AU_COLUMNS), "n"] == 18).all()
    assert {"seed_rate", "pseudo_rate", "kappa_low", "kappa_high"} <= set(agreement.columns)
    assert pd.read_csv(ann / "label_counts.csv").set_index("label").loc["total", "count"] == 6


def test_flipping_fold_1_changes_neither_its_pseudo_labels_nor_its_pseudo_model(run, tmp_path):
    """The permutation test through the pseudo labels: with fold 1's real labels flipped, fold 1's pseudo labels and
    the synthetic_pseudo fold-1 scores are bit-identical (only the copied true labels differ)."""
    root, _ = run
    _prepare(tmp_path, flip_fold=1)
    _snakemake(tmp_path, "results/fer/synthetic_pseudo/fold_01/rep_r0/predictions.csv")
    rel = "results/annotations/synthetic_pseudo/fold_01/rep_r0"
    for f in ("labels.csv", "thresholds.csv"):
        assert (root / rel / f).read_bytes() == (tmp_path / rel / f).read_bytes(), f
    probs = [f"prob_{a}" for a in AU_COLUMNS]
    a, b = (pd.read_csv(r / "results/fer/synthetic_pseudo/fold_01/rep_r0/predictions.csv") for r in (root, tmp_path))
    pd.testing.assert_frame_equal(a[["image", *probs]], b[["image", *probs]], check_exact=True)
    assert (a[list(AU_COLUMNS)] != b[list(AU_COLUMNS)]).to_numpy().any()
