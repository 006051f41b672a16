"""Labelled tables and the streaming PyDataset (Keras runs in a subprocess: the backend is per process)."""

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

from synthfer.fer.data import load_image, read_real_table, read_synthetic_set
from synthfer.fer.train import training_table


def test_real_table_paths_and_errors(tmp_path):
    labels = make_real_set(tmp_path, n_subjects=2, per_subject=2)
    df = read_real_table(labels)
    assert df["path"].map(os.path.isfile).all() and df["subject"].tolist() == ["SN001", "SN001", "SN002", "SN002"]
    bad = pd.read_csv(labels)
    bad.loc[1, "AU12"] = 2
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"bad.csv: column AU12 must hold 0/1, row 3"):
        read_real_table(tmp_path / "bad.csv")
    bad.drop(columns=["AU5"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="missing AU column"):
        read_real_table(tmp_path / "bad.csv")
    gone = pd.read_csv(labels)
    gone.loc[0, "image"] = "images/nope.png"
    gone.to_csv(tmp_path / "gone.csv", index=False)
    with pytest.raises(FileNotFoundError, match="1 of 4 image file"):
        read_real_table(tmp_path / "gone.csv")


def test_synthetic_set_and_training_table(tmp_path):
    real = make_real_set(tmp_path / "real", n_subjects=4, per_subject=3)
    syn_labels, syn_names, raw = make_synthetic_set(tmp_path / "syn", n=5)
    syn = read_synthetic_set(syn_labels, syn_names, raw)
    assert len(syn) == 5 and (syn["subject"] == "synthetic").all()
    folds = tmp_path / "folds.csv"
    pd.DataFrame({"subject": [f"SN{i:03d}" for i in range(1, 5)], "fold": [1, 1, 2, 2]}).to_csv(folds, index=False)
    train, val, test, n_syn = training_table(real, folds, 2, {"labels": syn_labels, "names": syn_names, "images": raw},
                                             model_selection="fixed")  # two folds: no inner validation fold
    assert val is None and n_syn == 5 and len(train) == 6 + 5 and set(test["subject"]) == {"SN003", "SN004"}
    assert "synthetic" not in set(test["subject"])  # the test fold is real frames only
    (tmp_path / "syn" / "image_names.txt").write_text("other\n")
    with pytest.raises(ValueError, match="list different images"):
        read_synthetic_set(syn_labels, syn_names, raw)


def test_load_image_resizes_and_flips(tmp_path):
    from synthfer.imaging import save_png

    img = np.zeros((20, 20, 3), dtype=np.uint8)
    img[:, :10] = 200
    save_png(tmp_path / "a.png", img)
    x = load_image(tmp_path / "a.png", 10)
    assert x.shape == (10, 10, 3) and x.dtype == np.float32 and x[0, 0, 0] == 200 and x[0, -1, 0] == 0
    assert load_image(tmp_path / "a.png", 10, flip=True)[0, 0, 0] == 0


STREAM_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from synthfer.fer.backend import use_backend
    use_backend("torch", 1)
    from synthfer.fer.dataset import ImageBatches
    from synthfer.fer.data import read_real_table, label_matrix
    from synthfer.imaging import save_png
    df = read_real_table(sys.argv[1])
    ds = ImageBatches(df["path"], label_matrix(df), batch_size=5, size=32, shuffle=True, flip=True, seed=3)
    x, y = ds[0]
    again = ds[0]
    # images are read when a batch is asked for: change a file on disk, the batch changes
    order0 = ds._order.copy()
    first = df["path"][order0[0]]
    save_png(first, np.zeros((40, 40, 3), np.uint8))
    x2, _ = ds[0]
    ds.on_epoch_end()
    held = [k for k, v in vars(ds).items() if isinstance(v, np.ndarray) and v.dtype != np.int64 and v.ndim > 2]
    print(json.dumps({
        "len": len(ds), "xshape": list(x.shape), "xdtype": str(x.dtype), "yshape": list(y.shape),
        "same": bool(np.array_equal(x, again[0])), "changed0": float(np.abs(x2[0]).max()),
        "y_ok": bool(np.array_equal(y, label_matrix(df)[order0[:5]])),
        "reshuffled": bool(not np.array_equal(order0, ds._order)), "held": held,
    }))
    """
)


def test_pydataset_streams_from_disk(tmp_path):
    labels = make_real_set(tmp_path, n_subjects=2, per_subject=6)
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    out = subprocess.run([sys.executable, "-c", STREAM_SCRIPT, str(labels)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["len"] == 3 and r["xshape"] == [5, 32, 32, 3] and r["xdtype"] == "float32" and r["yshape"] == [5, 6]
    assert r["same"] and r["y_ok"] and r["reshuffled"]
    assert r["changed0"] == 0.0  # the rewritten (black) image came from disk
    assert r["held"] == []  # no pixel arrays kept in memory
