"""Annotation assistant: the real_only ensemble's suggestions for the review's faces and grid cells equal
what ``synthfer predict`` gives for the same faces; the page's data is built from them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from synthfer import AU_COLUMNS

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    root = Path(sys.argv[1])
    from synthfer.fer.backend import use_backend

    keras = use_backend("torch", 1)

    models = []
    for i in range(2):  # two small random fold models (32-px input, 6 sigmoid outputs): an ensemble of 2
        keras.utils.set_random_seed(i)
        net = keras.Sequential([
            keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 64.0), keras.layers.Conv2D(8, 3, activation="tanh"),
            keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(6, activation="sigmoid"),
        ])
        models.append(root / f"fold_{i}.keras")
        net.save(models[-1])

    from synthfer.gan.api import save_generator, synthesize, tiny_generator
    from synthfer.imaging import save_image
    from synthfer.io import save_npz
    from synthfer.latent.assistant import write_suggestions
    from synthfer.latent.directions import compute_directions
    from synthfer.latent.options import ReviewLayout

    G = tiny_generator(resolution=16, seed=2)
    save_generator(root / "net.pt", G)
    d, _ = compute_directions(G, 200, 3, seed=1, batch_size=200, std_samples=100)
    save_npz(root / "dirs.npz", **d)
    write_suggestions(
        root / "net.pt", root / "dirs.npz", models, root / "suggestions.csv", root / "suggestions.json",
        ReviewLayout(seed_start=10, seed_count=5, grid_seeds=1, grid_directions=2, grid_degrees=[-1.0, 0.0, 1.0],
                     truncation_psi=0.7),
        batch_size=4, threshold=0.5, backend="torch", device="cpu", threads=1,
    )
    # the same faces as files, through the code behind `synthfer predict`
    (root / "faces").mkdir()
    for seed, img in zip(range(10, 15), synthesize(G, list(range(10, 15)), 0.7)):
        save_image(root / "faces" / f"{seed}.png", img)
    from synthfer.fer.predict import predict_folder

    predict_folder(models, root / "faces", root / "predict.csv", threshold=0.5, backend="torch", threads=1)
    """
)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    root = tmp_path_factory.mktemp("assistant")
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root)], capture_output=True, text=True, env=env, timeout=600
    )
    assert res.returncode == 0, res.stderr[-4000:]
    return root


def test_suggestions_equal_synthfer_predict_for_the_same_faces(scored):
    table = pd.read_csv(scored / "suggestions.csv")
    assert list(table.columns) == [
        "seed", "direction", "degree", *(f"{a}_prob" for a in AU_COLUMNS), *(f"{a}_votes" for a in AU_COLUMNS),
    ]  # fmt: skip
    # 5 faces, then the grid of seed 10: 2 directions × degrees ±1 (its degree-0 cells are the face itself)
    assert table[["seed", "direction", "degree"]].values.tolist() == [
        [10, -1, 0.0], [11, -1, 0.0], [12, -1, 0.0], [13, -1, 0.0], [14, -1, 0.0],
        [10, 0, -1.0], [10, 0, 1.0], [10, 1, -1.0], [10, 1, 1.0],
    ]  # fmt: skip
    faces = table[table["direction"] < 0].set_index("seed")
    pred = pd.read_csv(scored / "predict.csv")
    pred["seed"] = pred["image"].str.replace(".png", "").astype(int)
    pred = pred.set_index("seed").loc[faces.index]
    for au in AU_COLUMNS:
        np.testing.assert_allclose(faces[f"{au}_prob"], pred[f"{au}_prob"], atol=1e-6)
        assert faces[f"{au}_votes"].tolist() == pred[f"{au}_votes"].astype(int).tolist()
    # the edits change the scored image
    assert not np.allclose(
        table.loc[5, [f"{a}_prob" for a in AU_COLUMNS]], table.loc[6, [f"{a}_prob" for a in AU_COLUMNS]]
    )
    meta = json.loads((scored / "suggestions.json").read_text())
    assert meta["n_seeds"] == 5 and meta["n_grid_images"] == 4 and meta["input_size"] == 32 and meta["threshold"] == 0.5
    assert len(meta["models"]) == 2 and len(meta["network"]["sha256"]) == 64


def test_page_suggestions_follow_the_review_layout(scored):
    from synthfer.latent.assistant import page_suggestions

    table = pd.read_csv(scored / "suggestions.csv")
    page = page_suggestions(scored / "suggestions.csv", range(10, 15), [10], [0, 1], [-1.0, 0.0, 1.0], threshold=0.4)
    assert page["variant"] == "real_only" and page["threshold"] == 0.4
    assert len(page["seeds"]) == 5 and all(len(p) == 6 for p in page["seeds"])
    first = table.iloc[0][[f"{a}_prob" for a in AU_COLUMNS]].to_numpy(float).round(3).tolist()
    assert page["seeds"][0] == first
    grid = page["grids"]["10"]
    assert len(grid) == 2 and [len(row) for row in grid] == [3, 3]
    assert grid[0][1] == grid[1][1] == first  # the degree-0 column is the seed's own face
    with pytest.raises(ValueError, match="no suggestion for seed 15"):
        page_suggestions(scored / "suggestions.csv", range(10, 16), [], [], [])
    with pytest.raises(ValueError, match="grid cell direction 2 degree 1.0 of seed 10"):
        page_suggestions(scored / "suggestions.csv", range(10, 15), [10], [2], [1.0])


def test_fer_input_is_what_the_fer_phase_reads_from_a_file(tmp_path):
    pytest.importorskip("PIL")
    from synthfer.fer.data import load_image
    from synthfer.imaging import save_image
    from synthfer.latent.assistant import fer_input

    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    save_image(tmp_path / "x.png", rgb)
    for size in (32, 64, 100):
        np.testing.assert_array_equal(fer_input(rgb, size), load_image(tmp_path / "x.png", size))
