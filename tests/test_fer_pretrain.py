"""The demo backbone's pretraining (``synthfer fer-pretrain``) and the committed demo weights.

Keras runs in subprocesses (it picks its backend once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_fer_helpers import fer_config

from synthfer import AU_COLUMNS
from synthfer.demo.dataset import _DISFA, _REAL, _identity, make_disfa_like
from synthfer.demo.fer_pretrain import _IDENT, _PRETRAIN, render_pretraining_set
from synthfer.demo.render import Identity

ROOT = Path(__file__).resolve().parents[1]
DEMO = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())


def _run(args, timeout=300):
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-4000:]
    return out


def test_pretraining_identities_are_not_the_demo_subjects():
    seed = DEMO["seed"]
    demo = {_identity(seed, kind, i) for kind in (_REAL, _DISFA) for i in range(60)}
    pre = {Identity.random(np.random.default_rng([seed, _IDENT, _PRETRAIN, i])) for i in range(200)}
    # the committed backbone's identities, all of them (seed 7, n from its sidecar)
    committed = json.loads((ROOT / "resources" / "demo_fer" / "efficientnetb0_demo_32px.weights.h5.json").read_text())
    n = committed["n_identities"]
    pre |= {Identity.random(np.random.default_rng([committed["seed"], _IDENT, _PRETRAIN, i])) for i in range(n)}
    assert len(pre) == 200 + n and not demo & pre


def test_render_pretraining_set_shapes_and_determinism():
    x, y, ident = render_pretraining_set(3, 4, 32, seed=5)
    assert x.shape == (12, 32, 32, 3) and x.dtype == np.uint8
    assert y.shape == (12, len(AU_COLUMNS)) and set(np.unique(y)) <= {0, 1}
    assert ident.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    x2, y2, _ = render_pretraining_set(3, 4, 32, seed=5, workers=2)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, render_pretraining_set(3, 4, 32, seed=6)[0])


def test_fer_pretrain_command_writes_loadable_backbone(tmp_path):
    out = tmp_path / "bb.weights.h5"
    _run(["-m", "synthfer.cli", "fer-pretrain", "--out", str(out), "--identities", "4", "--frames", "4", "--epochs", "1",
          "--batch-size", "8"])
    info = json.loads(Path(str(out) + ".json").read_text())
    assert info["n_train"] + info["n_heldout"] == 16 and info["input_size"] == 32 and set(info["heldout_auc"]) == set(AU_COLUMNS)
    # It loads as the classifier's backbone at another input size too, and the weights are the trained ones.
    code = textwrap.dedent(
        f"""
        import numpy as np
        from synthfer.fer.backend import use_backend
        keras = use_backend("torch", 1)
        from synthfer.fer.model import build_model
        a, b = build_model(48, {str(out)!r}, l1=0.0), build_model(48, None, l1=0.0)
        w = a.get_layer("stem_conv").get_weights()[0]
        assert w.shape == b.get_layer("stem_conv").get_weights()[0].shape and not np.allclose(w, b.get_layer("stem_conv").get_weights()[0])
        print("ok")
        """
    )
    assert _run(["-c", code]).stdout.strip().endswith("ok")


def test_bad_output_name_is_refused(tmp_path):
    from synthfer.demo.fer_pretrain import pretrain_backbone

    with pytest.raises(ValueError, match="weights.h5"):
        pretrain_backbone(tmp_path / "bb.h5")


DEMO_WEIGHTS = ROOT / DEMO["fer"]["model"]["weights"] if DEMO["fer"]["model"]["weights"] else None


@pytest.mark.skipif(DEMO_WEIGHTS is None or not DEMO_WEIGHTS.is_file(), reason="demo weights file not present")
def test_demo_weights_fold_learns_the_aus(tmp_path):
    """One fold with the demo's fer settings and committed backbone, on freshly rendered DISFA-like data of
    6 subjects (4 train, 2 validate): every AU's AUC clears 0.6 and their mean 0.8 (the full 13-fold demo
    measurement, asserted per AU in tests/test_demo_run.py, is in docs/fer.md)."""
    from synthfer.fer.folds import write_folds

    make_disfa_like(tmp_path / "d", n_subjects=6, frames=40, size=192, seed=DEMO["seed"] + 1)
    write_folds(tmp_path / "d" / "labels.csv", tmp_path / "folds.csv", 3)
    # the demo's model and training settings (schema defaults below them); fixed epochs: 4 subjects train
    fer = fer_config(**{**DEMO["fer"]["model"], **DEMO["fer"]["train"], "weights": str(DEMO_WEIGHTS),
                        "model_selection": "fixed"})  # fmt: skip
    code = textwrap.dedent(
        f"""
        from synthfer.fer.train import FoldOptions, FoldOutputs, train_fold
        out = FoldOutputs.in_folder({str(tmp_path / "f")!r}, inner=False)
        train_fold({str(tmp_path / "d" / "labels.csv")!r}, {str(tmp_path / "folds.csv")!r}, 3, out,
                   FoldOptions.from_config({fer!r}, {DEMO["seed"]}), variant="real_only", threads=1)
        """
    )
    _run(["-c", code])
    import pandas as pd

    from synthfer.fer.metrics import roc_auc

    pred = pd.read_csv(tmp_path / "f" / "predictions.csv")
    aucs = [roc_auc(pred[a], pred[f"prob_{a}"]) for a in AU_COLUMNS]
    assert np.mean(aucs) > 0.8 and min(aucs) > 0.6, aucs
