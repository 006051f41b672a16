"""synthetic_pseudo: model labels = the ensemble's mean probability ≥ threshold; agreement (Cohen's κ) with
the seed-ID labels; the annotation files keep the synthetic_all contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthfer import AU_COLUMNS
from synthfer.annotate.labels import write_annotation
from synthfer.annotate.pseudo import (
    AGREEMENT_COLUMNS,
    agreement_table,
    annotate_pseudo,
    cohen_kappa,
    threshold_predictions,
)


def _predictions(stems, probs, errors=None):
    """A table in synthfer predict's layout (``image`` relative to the folder, per AU prob/votes/majority)."""
    df = pd.DataFrame({"image": [f"{s}.png" for s in stems]})
    for j, au in enumerate(AU_COLUMNS):
        df[f"{au}_prob"] = probs[:, j]
        df[f"{au}_votes"] = (probs[:, j] >= 0.5).astype(int) * 13
        df[au] = (probs[:, j] >= 0.5).astype(int)
    df["error"] = errors or [""] * len(stems)
    return df


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kappa_matches_sklearn(seed):
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(seed)
    a = rng.random(200) < 0.3
    b = np.where(rng.random(200) < 0.7, a, rng.random(200) < 0.5)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert np.isnan(cohen_kappa(np.zeros(5), np.zeros(5)))  # chance agreement 1: undefined


def test_labels_are_the_thresholded_mean_probabilities(tmp_path):
    rng = np.random.default_rng(4)
    stems = [f"{s}_{o:06d}" for s, o in zip(rng.integers(0, 50, 40), range(40), strict=True)]
    probs = rng.random((40, 6))
    probs[0, 2] = 0.5  # exactly at the threshold counts as present
    preds = _predictions(stems[::-1], probs[::-1])  # the table's order does not matter
    for thr in (0.5, 0.3):
        labels = threshold_predictions(preds, stems, thr)
        assert labels.dtype == np.uint8 and labels.shape == (40, 6)
        np.testing.assert_array_equal(labels, (probs >= thr).astype(np.uint8))
    assert threshold_predictions(preds, stems, 0.5)[0, 2] == 1
    with pytest.raises(ValueError, match="no prediction"):
        threshold_predictions(preds, [*stems, "99_000999"], 0.5)
    bad = _predictions(stems[:2], np.array([[np.nan] * 6, [0.2] * 6]), errors=["unreadable", ""])
    with pytest.raises(ValueError, match="could not be predicted.*unreadable"):
        threshold_predictions(bad, stems[:2], 0.5)
    with pytest.raises(ValueError, match="pseudo_threshold"):
        threshold_predictions(preds, stems, 1.5)


def test_annotate_pseudo_files_and_agreement(tmp_path):
    rng = np.random.default_rng(5)
    stems = [f"{i % 7}_{i:06d}" for i in range(30)]
    seed_labels = (rng.random((30, 6)) < 0.3).astype(np.uint8)
    seed_dir = tmp_path / "synthetic_all"
    seed_dir.mkdir()
    write_annotation(stems, seed_labels, 0, *(seed_dir / f for f in ("labels.npy", "image_names.txt", "labels.csv",
                     "label_counts.csv", "label_balance.png")), variant="synthetic_all")  # fmt: skip
    probs = np.clip(seed_labels * 0.7 + rng.random((30, 6)) * 0.4, 0, 1)  # mostly agrees with the seed labels
    _predictions(stems, probs).to_csv(tmp_path / "pred.csv", index=False)
    out = tmp_path / "synthetic_pseudo"
    files = {k: out / k for k in ("labels.npy", "image_names.txt", "labels.csv", "label_counts.csv",
                                  "label_balance.png", "agreement.csv", "agreement.html")}  # fmt: skip
    annotate_pseudo(tmp_path / "pred.csv", seed_dir / "labels.csv", seed_dir / "image_names.txt", *files.values(),
                    threshold=0.5)  # fmt: skip
    labels = np.load(files["labels.npy"])
    np.testing.assert_array_equal(labels, (probs >= 0.5).astype(np.uint8))
    # same images, same order as synthetic_all; the Figure 3.9 layout
    assert files["image_names.txt"].read_text() == (seed_dir / "image_names.txt").read_text()
    table = pd.read_csv(files["labels.csv"])
    assert list(table.columns) == ["Image_name", *AU_COLUMNS] and table["Image_name"].iloc[0] == "0_000000.png"
    agreement = pd.read_csv(files["agreement.csv"])
    assert list(agreement.columns) == AGREEMENT_COLUMNS and agreement["au"].tolist() == [*AU_COLUMNS, "any"]
    for j, au in enumerate(AU_COLUMNS):
        row = agreement.set_index("au").loc[au]
        s, p = seed_labels[:, j].astype(bool), labels[:, j].astype(bool)
        assert row["n"] == 30 and row["seed_positive"] == s.sum() and row["pseudo_positive"] == p.sum()
        assert row["both_positive"] == (s & p).sum() and row["agreement"] == pytest.approx((s == p).mean())
        assert row["kappa"] == pytest.approx(cohen_kappa(s, p), nan_ok=True)
    assert "Cohen" in files["agreement.html"].read_text()


def test_agreement_table_any_row():
    seed = np.array([[1, 0, 0, 0, 0, 0], [0] * 6, [0] * 6])
    pseudo = np.array([[0, 1, 0, 0, 0, 0], [0] * 6, [0, 0, 0, 0, 0, 1]])
    t = agreement_table(seed, pseudo).set_index("au")
    assert t.loc["any", "seed_positive"] == 1 and t.loc["any", "pseudo_positive"] == 2
    assert t.loc["any", "agreement"] == pytest.approx(2 / 3)
