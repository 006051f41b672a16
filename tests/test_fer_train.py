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
from sklearn.metrics import roc_auc_score
from test_fer_helpers import make_real_set, make_synthetic_set

from synthfer import AU_COLUMNS
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
    print("tensorflow imported:", "tensorflow" in sys.modules)
    print(json.dumps(infos))
    """
)


# TensorFlow/absl/oneDNN start-up lines that must not reach a torch-backend job's output.
TF_NOISE = ("oneDNN", "absl", "TF_ENABLE_ONEDNN_OPTS", "tensorflow/", "cuda_")


def _run(args, backend, timeout=240):
    env = {**os.environ, "KERAS_BACKEND": backend}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a job sees: nothing set by hand
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout)
    assert out.returncode == 0, out.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """4 subjects × 6 images; the real table has no AU6 positive at all (as the London set), the synthetic set
    has some, so AU6 lacks positives in validation (both variants) and in training (real only)."""
    root = tmp_path_factory.mktemp("fer")
    real = make_real_set(root / "real", n_subjects=4, per_subject=6)
    table = pd.read_csv(real)
    table["AU6"] = 0
    table.to_csv(real, index=False)
    make_synthetic_set(root / "syn", n=6)
    assert pd.read_csv(root / "syn" / "labels.csv")["AU6"].sum() > 0
    write_folds(real, root / "folds.csv", 2)
    return root, real


@pytest.fixture(scope="module")
def torch_runs(tiny):
    root, real = tiny
    out = _run(["-c", TRAIN, str(real), str(root / "folds.csv"), str(root / "torch"), "torch", "1,2", str(root / "syn")], "torch")
    return json.loads(out.stdout.strip().splitlines()[-1]), out


def _check_fold_outputs(folder, info, n_val, n_syn):
    pred = pd.read_csv(folder / "predictions.csv", dtype={"subject": str})
    assert list(pred.columns) == ["image", "subject", *AU_COLUMNS, *(f"prob_{a}" for a in AU_COLUMNS)]
    assert len(pred) == n_val and pred[[f"prob_{a}" for a in AU_COLUMNS]].apply(lambda c: c.between(0, 1)).all().all()
    hist = pd.read_csv(folder / "history.csv")
    assert list(hist.columns[:4]) == ["epoch", "loss", "val_loss", "val_auc"] and 1 <= len(hist) <= 2
    assert set(hist.columns[4:]) == {f"val_auc_{a}" for a in AU_COLUMNS}
    assert info["n_train_synthetic"] == n_syn and info["n_validation"] == n_val
    assert 1 <= info["best_epoch"] <= info["epochs_run"] and info["train_images_per_second"] > 0
    assert (folder / "model.keras").stat().st_size > 1_000_000
    _check_early_stopping(hist, pred, info, synthetic_au6=n_syn > 0)


def _check_early_stopping(hist, pred, info, synthetic_au6):
    """Early stopping watched the mean of the per-AU AUCs over the AUs with both classes in validation (AU6
    has no positive there), the warnings name AU6, and the saved model is the best epoch's."""
    others = [a for a in AU_COLUMNS if a != "AU6"]
    assert info["monitor"] == "val_auc" and info["monitored_aus"] == others
    assert hist["val_auc_AU6"].isna().all()
    np.testing.assert_allclose(hist["val_auc"], hist[[f"val_auc_{a}" for a in others]].mean(axis=1), rtol=1e-12)
    assert info["best_epoch"] == int(hist["val_auc"].to_numpy().argmax()) + 1
    best = hist.iloc[info["best_epoch"] - 1]
    for au in others:  # the restored weights reproduce the monitored epoch's AUCs
        assert roc_auc_score(pred[au], pred[f"prob_{au}"]) == pytest.approx(best[f"val_auc_{au}"], abs=1e-6)
    warnings = ["AU6: no positive validation image"] + ([] if synthetic_au6 else ["AU6: no positive training image"])
    assert sorted(w for w in info["au_warnings"] if w.startswith("AU6")) == sorted(warnings)


def test_torch_backend_tiny_run(tiny, torch_runs):
    root, _ = tiny
    infos, out = torch_runs
    info = infos[0]
    assert "AU6: no positive validation image" in out.stderr  # the warning reaches the job's log
    assert "tensorflow imported: False" in out.stdout
    noise = [m for m in TF_NOISE if m in out.stderr]
    assert not noise, out.stderr[-3000:]  # no TensorFlow start-up lines in a torch job's output
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
    out = _run(["-c", script], "torch")
    assert not [m for m in TF_NOISE if m in out.stderr], out.stderr[-3000:]
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
