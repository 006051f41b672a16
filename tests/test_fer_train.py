"""A tiny training run on both Keras backends, its output files, and the ensemble ``synthfer predict``.

Each backend runs in its own subprocess (Keras picks its backend once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from test_fer_helpers import make_real_set, make_synthetic_set

from synthfer.fer import AU_COLUMNS
from synthfer.fer.folds import write_folds

TRAIN = textwrap.dedent(
    """
    import json, sys
    from synthfer.fer.train import train_fold
    real, folds, out, backend, fold_list, syn = sys.argv[1:7]
    synthetic = None if syn == "-" else {"labels": syn + "/labels.csv", "names": syn + "/image_names.txt", "images": syn + "/raw"}
    infos = []
    for fold in fold_list.split(","):
        o = f"{out}{fold}"
        infos.append(train_fold(real, folds, int(fold), o + "/model.keras", o + "/predictions.csv", o + "/history.csv",
                     o + "/train.json", synthetic=synthetic, variant="test", backend=backend, threads=1, weights=None,
                     input_size=32, epochs=2, batch_size=8, learning_rate=1e-3, clipnorm=0.1, patience=1, bn_momentum=0.5,
                     seed=7, workers=2))
    print(json.dumps(infos))
    """
)


def _run(args, backend, timeout=240):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout)
    assert out.returncode == 0, out.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("fer")
    real = make_real_set(root / "real", n_subjects=4, per_subject=6)
    make_synthetic_set(root / "syn", n=6)
    write_folds(real, root / "folds.csv", 2)
    return root, real


@pytest.fixture(scope="module")
def torch_runs(tiny):
    root, real = tiny
    out = _run(["-c", TRAIN, str(real), str(root / "folds.csv"), str(root / "torch"), "torch", "1,2", str(root / "syn")], "torch")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check_fold_outputs(folder, info, n_val, n_syn):
    pred = pd.read_csv(folder / "predictions.csv", dtype={"subject": str})
    assert list(pred.columns) == ["image", "subject", *AU_COLUMNS, *(f"prob_{a}" for a in AU_COLUMNS)]
    assert len(pred) == n_val and pred[[f"prob_{a}" for a in AU_COLUMNS]].apply(lambda c: c.between(0, 1)).all().all()
    hist = pd.read_csv(folder / "history.csv")
    assert {"epoch", "loss", "auc", "val_loss", "val_auc"} <= set(hist.columns) and 1 <= len(hist) <= 2
    assert info["n_train_synthetic"] == n_syn and info["n_validation"] == n_val
    assert 1 <= info["best_epoch"] <= info["epochs_run"] and info["train_images_per_second"] > 0
    assert (folder / "model.keras").stat().st_size > 1_000_000


def test_torch_backend_tiny_run(tiny, torch_runs):
    root, _ = tiny
    info = torch_runs[0]
    assert info["backend"] == "torch" and info["validation_subjects"] == ["SN001", "SN002"]
    _check_fold_outputs(root / "torch1", info, n_val=12, n_syn=6)
    assert json.loads((root / "torch1" / "train.json").read_text())["seed"] == info["seed"]


def test_tensorflow_backend_tiny_run(tiny):
    root, real = tiny
    out = _run(["-c", TRAIN, str(real), str(root / "folds.csv"), str(root / "tf"), "tensorflow", "1", "-"], "tensorflow", 400)
    info = json.loads(out.stdout.strip().splitlines()[-1])[0]
    assert info["backend"] == "tensorflow"
    _check_fold_outputs(root / "tf1", info, n_val=12, n_syn=0)


def test_ensemble_predict_command(tiny, torch_runs):
    root, real = tiny
    images = real.parent / "images"
    models = [str(root / f"torch{f}" / "model.keras") for f in (1, 2)]
    # the real command (console entry point = synthfer.cli:main) for the ensemble and each single model,
    # in one process so Keras starts once
    calls = [[*m, "--out", str(root / out)] for m, out in (([*models], "ens.csv"), ([models[0]], "single0.csv"), ([models[1]], "single1.csv"))]
    script = "import sys; from synthfer.cli import main\n"
    for c in calls:
        script += f"assert main({['predict', '--images', str(images), '--backend', 'torch', '--models', *c]!r}) == 0\n"
    _run(["-c", script], "torch")
    ens = pd.read_csv(root / "ens.csv", keep_default_na=False)
    singles = [pd.read_csv(root / f"single{i}.csv") for i in range(2)]
    assert len(ens) == 24 and ens["image"].iloc[0] == "SN001_00.png" and (ens["error"] == "").all()
    for au in AU_COLUMNS:
        np.testing.assert_allclose(ens[f"{au}_prob"], (singles[0][f"{au}_prob"] + singles[1][f"{au}_prob"]) / 2, atol=1e-5)
        votes = (singles[0][f"{au}_prob"] >= 0.5).astype(int) + (singles[1][f"{au}_prob"] >= 0.5).astype(int)
        assert ens[f"{au}_votes"].astype(int).tolist() == votes.tolist()
        assert ens[au].astype(int).tolist() == (votes > 1).astype(int).tolist()  # majority of 2 = both
    side = json.loads((root / "ens.csv.json").read_text())
    assert side["n_images"] == 24 and side["n_failed"] == 0
