"""A tiny training run on both Keras backends, its output files, and the ensemble ``synthfer predict``.

Each backend runs in its own subprocess (Keras picks its backend once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from test_fer_helpers import make_real_set, make_synthetic_set, tiny_options

from synthfer import AU_COLUMNS
from synthfer.fer.folds import write_folds

TRAIN = textwrap.dedent(
    """
    import json, sys
    from synthfer.fer.train import FoldOptions, FoldOutputs, train_fold
    real, folds, out, fold_list, syn, opts = sys.argv[1:7]
    opts = FoldOptions(**json.loads(opts))
    synthetic = None if syn == "-" else {"labels": syn + "/labels.csv", "names": syn + "/image_names.txt", "images": syn + "/raw"}
    infos = []
    for fold in fold_list.split(","):
        o = FoldOutputs.in_folder(f"{out}{fold}", inner=opts.model_selection == "inner")
        infos.append(train_fold(real, folds, int(fold), o, opts, synthetic=synthetic, variant="test", threads=1))
    print("tensorflow imported:", "tensorflow" in sys.modules)
    print(json.dumps(infos))
    """
)

# Fold 1 trained twice, on the real table and on a copy whose fold-1 labels are flipped: the weights must be equal.
LEAK = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from synthfer.fer.train import FoldOptions, FoldOutputs, train_fold
    real, flipped, folds, out, opts = sys.argv[1:6]
    opts = FoldOptions(**json.loads(opts))
    inner = opts.model_selection == "inner"
    for name, table in (("a", real), ("b", flipped)):
        train_fold(table, folds, 1, FoldOutputs.in_folder(f"{out}/{name}", inner), opts, variant="leak", threads=1)
    import keras
    wa, wb = (keras.saving.load_model(f"{out}/{n}/model.keras", compile=False).get_weights() for n in "ab")
    print("weights equal:", len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb)))
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


def _opts(**over) -> str:
    return json.dumps(asdict(tiny_options(**over)))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """6 subjects × 6 images in 3 folds (fold k tests 2 subjects, fold k+1 validates, 2 train); the real table has
    no AU6 positive at all (as the London set), the synthetic set has some, so AU6 lacks positives in inner
    validation and test (both variants) and in training (real only)."""
    root = tmp_path_factory.mktemp("fer")
    real = make_real_set(root / "real", n_subjects=6, per_subject=6)
    table = pd.read_csv(real)
    table["AU6"] = 0
    table.to_csv(real, index=False)
    make_synthetic_set(root / "syn", n=6)
    assert pd.read_csv(root / "syn" / "labels.csv")["AU6"].sum() > 0
    write_folds(real, root / "folds.csv", 3)
    return root, real


@pytest.fixture(scope="module")
def torch_runs(tiny):
    root, real = tiny
    out = _run(["-c", TRAIN, str(real), str(root / "folds.csv"), str(root / "torch"), "1,3", str(root / "syn"),
                _opts(backend="torch", model_selection="inner")], "torch")  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1]), out


def _check_fold_outputs(folder, info, n_test, n_syn):
    pred = pd.read_csv(folder / "predictions.csv", dtype={"subject": str})
    assert list(pred.columns) == ["image", "subject", *AU_COLUMNS, *(f"prob_{a}" for a in AU_COLUMNS)]
    assert len(pred) == n_test and pred[[f"prob_{a}" for a in AU_COLUMNS]].apply(lambda c: c.between(0, 1)).all().all()
    assert sorted(set(pred["subject"])) == info["test_subjects"]
    hist = pd.read_csv(folder / "history.csv")
    assert list(hist.columns[:4]) == ["epoch", "loss", "val_loss", "val_auc"] and 1 <= len(hist) <= 2
    assert set(hist.columns[4:]) == {f"val_auc_{a}" for a in AU_COLUMNS}
    assert info["n_train_synthetic"] == n_syn and info["n_validation"] == n_test and info["model_selection"] == "inner"
    assert 1 <= info["best_epoch"] <= info["epochs_run"] and info["train_images_per_second"] > 0
    assert (folder / "model.keras").stat().st_size > 1_000_000
    _check_early_stopping(hist, pd.read_csv(folder / "inner_predictions.csv", dtype={"subject": str}), info,
                          synthetic_au6=n_syn > 0)  # fmt: skip


def _check_early_stopping(hist, inner_pred, info, synthetic_au6):
    """Early stopping watched the mean of the per-AU AUCs of the INNER validation subjects over the AUs with both
    classes there (AU6 has no positive there), the warnings name AU6, and the saved model is the best epoch's."""
    others = [a for a in AU_COLUMNS if a != "AU6"]
    assert info["monitor"] == "val_auc" and info["monitored_aus"] == others
    assert sorted(set(inner_pred["subject"])) == info["inner_subjects"]
    assert not set(info["inner_subjects"]) & set(info["test_subjects"])
    assert hist["val_auc_AU6"].isna().all()
    np.testing.assert_allclose(hist["val_auc"], hist[[f"val_auc_{a}" for a in others]].mean(axis=1), rtol=1e-12)
    assert info["best_epoch"] == int(hist["val_auc"].to_numpy().argmax()) + 1
    best = hist.iloc[info["best_epoch"] - 1]
    for au in others:  # the restored weights reproduce the monitored epoch's inner AUCs
        assert roc_auc_score(inner_pred[au], inner_pred[f"prob_{au}"]) == pytest.approx(best[f"val_auc_{au}"], abs=1e-6)
    warnings = ["AU6: no positive validation image", "AU6: no positive test image"] + (
        [] if synthetic_au6 else ["AU6: no positive training image"]
    )
    assert sorted(w for w in info["au_warnings"] if w.startswith("AU6")) == sorted(warnings)


def test_torch_backend_tiny_run(tiny, torch_runs):
    root, _ = tiny
    infos, out = torch_runs
    info = infos[0]
    assert "AU6: no positive validation image" in out.stderr  # the warning reaches the job's log
    assert "tensorflow imported: False" in out.stdout
    noise = [m for m in TF_NOISE if m in out.stderr]
    assert not noise, out.stderr[-3000:]  # no TensorFlow start-up lines in a torch job's output
    assert info["backend"] == "torch" and info["test_subjects"] == ["SN001", "SN002"]
    assert info["inner_fold"] == 2 and info["inner_subjects"] == ["SN003", "SN004"]  # fold (k mod K) + 1
    assert infos[1]["inner_fold"] == 1 and infos[1]["inner_subjects"] == ["SN001", "SN002"]  # fold 3 wraps to 1
    assert info["n_train_real"] == 12  # neither the test nor the inner subjects train
    _check_fold_outputs(root / "torch1", info, n_test=12, n_syn=6)
    assert json.loads((root / "torch1" / "train.json").read_text())["seed"] == info["seed"]


def test_tensorflow_backend_tiny_run(tiny):
    root, real = tiny
    out = _run(["-c", TRAIN, str(real), str(root / "folds.csv"), str(root / "tf"), "1", "-",
                _opts(backend="tensorflow", model_selection="inner")], "tensorflow", 400)  # fmt: skip
    info = json.loads(out.stdout.strip().splitlines()[-1])[0]
    assert info["backend"] == "tensorflow"
    _check_fold_outputs(root / "tf1", info, n_test=12, n_syn=0)


def _flipped_fold(root, real, fold):
    """A copy of the real table with every label of ``fold``'s subjects flipped (0 ↔ 1)."""
    table = pd.read_csv(real, dtype={"subject": str})
    folds = pd.read_csv(root / "folds.csv", dtype={"subject": str})
    rows = table["subject"].isin(folds.loc[folds["fold"] == fold, "subject"])
    table.loc[rows, list(AU_COLUMNS)] = 1 - table.loc[rows, list(AU_COLUMNS)]
    path = real.parent / f"labels_flipped_{fold}.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("selection", ["inner", "fixed"])
def test_test_fold_labels_change_nothing(tiny, selection):
    """The referee's permutation test: flipping the labels of fold 1's subjects leaves fold 1's trained weights and
    predicted scores bit-identical (only the copied labels in predictions.csv change). With the test fold as the
    early-stopping monitor (before issue 22), the flip chose another epoch and other weights."""
    root, real = tiny
    flipped = _flipped_fold(root, real, 1)
    out = root / f"leak_{selection}"
    res = _run(["-c", LEAK, str(real), str(flipped), str(root / "folds.csv"), str(out),
                _opts(model_selection=selection, epochs=3, patience=3)], "torch")  # fmt: skip
    assert "weights equal: True" in res.stdout, res.stdout[-2000:]
    probs = [f"prob_{a}" for a in AU_COLUMNS]
    a, b = (pd.read_csv(out / n / "predictions.csv") for n in "ab")
    pd.testing.assert_frame_equal(a[["image", "subject", *probs]], b[["image", "subject", *probs]], check_exact=True)
    assert (a[list(AU_COLUMNS)] != b[list(AU_COLUMNS)]).to_numpy().any()  # the labels did change
    for name in ("history.csv", *(["inner_predictions.csv"] if selection == "inner" else [])):
        assert (out / "a" / name).read_bytes() == (out / "b" / name).read_bytes(), name


def test_fixed_epochs_and_step_budget(tiny):
    """fixed: no inner set, exactly `epochs` epochs on every other fold, history without validation columns; the step
    budget gives every epoch ceil(steps / epochs) batches, cycling a training set smaller than the budget."""
    root, real = tiny
    out = _run(["-c", TRAIN, str(real), str(root / "folds.csv"), str(root / "fixed"), "2", str(root / "syn"),
                _opts(model_selection="fixed", budget="steps", steps=7, epochs=2)], "torch")  # fmt: skip
    info = json.loads(out.stdout.strip().splitlines()[-1])[0]
    assert info["model_selection"] == "fixed" and info["monitor"] is None and info["inner_subjects"] == []
    assert info["n_train_real"] == 24 and info["n_train_synthetic"] == 6  # 4 subjects × 6 + the synthetic set
    assert info["epochs_run"] == 2 and info["best_epoch"] == 2
    assert info["steps_per_epoch"] == 4 and info["steps_run"] == 8 and info["steps_budget"] == 7
    assert info["steps_run"] * 8 > info["n_train"]  # more images than one pass: the stream cycles
    hist = pd.read_csv(root / "fixed2" / "history.csv")
    assert list(hist.columns) == ["epoch", "loss"] and len(hist) == 2
    assert not (root / "fixed2" / "inner_predictions.csv").exists()


def test_ensemble_predict_command(tiny, torch_runs):
    root, real = tiny
    images = real.parent / "images"
    models = [str(root / f"torch{f}" / "model.keras") for f in (1, 3)]
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
    assert len(ens) == 36 and ens["image"].iloc[0] == "SN001_00.png" and (ens["error"] == "").all()
    for au in AU_COLUMNS:
        np.testing.assert_allclose(ens[f"{au}_prob"], (singles[0][f"{au}_prob"] + singles[1][f"{au}_prob"]) / 2, atol=1e-5)
        votes = (singles[0][f"{au}_prob"] >= 0.5).astype(int) + (singles[1][f"{au}_prob"] >= 0.5).astype(int)
        assert ens[f"{au}_votes"].astype(int).tolist() == votes.tolist()
        assert ens[au].astype(int).tolist() == (votes > 1).astype(int).tolist()  # majority of 2 = both
    side = json.loads((root / "ens.csv.json").read_text())
    assert side["n_images"] == 36 and side["n_failed"] == 0
