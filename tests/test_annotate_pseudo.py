"""synthetic_pseudo: fold k's model labels (real_only's fold-k model) by the rules fixed / inner (Youden cut on the
inner validation fold) / majority; agreement (Cohen's κ with a bootstrap interval, positive rates) with the seed-ID
labels per fold and pooled; the annotation files keep the synthetic_all contract."""

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
    choose_thresholds,
    cohen_kappa,
    pseudo_agreement,
    pseudo_labels,
    threshold_predictions,
    youden_threshold,
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
    out = tmp_path / "synthetic_pseudo" / "fold_01" / "rep_r0"
    files = {k: out / k for k in ("labels.npy", "image_names.txt", "labels.csv", "label_counts.csv",
                                  "label_balance.png", "agreement.csv", "thresholds.csv")}  # fmt: skip
    annotate_pseudo([tmp_path / "pred.csv"], seed_dir / "labels.csv", seed_dir / "image_names.txt", *files.values(),
                    rule="fixed", threshold=0.5, fold=1, replicate="r0", seed=3, n_boot=200,
                    ci_level=0.95)  # fmt: skip
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
        assert row["seed_rate"] == pytest.approx(s.mean()) and row["pseudo_rate"] == pytest.approx(p.mean())
        assert row["kappa_low"] <= row["kappa"] <= row["kappa_high"]
    assert (pd.read_csv(files["thresholds.csv"])["threshold"] == 0.5).all()
    side = pd.read_json(out / "agreement.json", typ="series")
    assert side["fold"] == 1 and side["rule"] == "fixed" and side["bootstrap"] == 200


def test_youden_threshold_matches_roc_curve():
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(8)
    y = rng.random(300) < 0.2
    p = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    cut, j = youden_threshold(y, p)
    fpr, tpr, thr = roc_curve(y, p)
    assert j == pytest.approx((tpr - fpr).max())
    assert ((p[y] >= cut).mean() - (p[~y] >= cut).mean()) == pytest.approx(j)
    assert youden_threshold(np.zeros(5), rng.random(5)) is None  # one class: no cut


def test_inner_rule_cuts_on_the_inner_fold_and_falls_back():
    """Class-weighted probabilities sit high for every image: 0.5 calls most images positive, the inner cut does not;
    an AU with one class in the inner fold keeps pseudo_threshold and says so."""
    rng = np.random.default_rng(9)
    inner = pd.DataFrame({"image": [f"i{i}.png" for i in range(100)], "subject": "S1"})
    for au in AU_COLUMNS:
        y = (rng.random(100) < 0.1).astype(int) if au != "AU5" else np.zeros(100, dtype=int)
        inner[au] = y
        inner[f"prob_{au}"] = 0.6 + 0.3 * y + 0.05 * rng.random(100)
    cuts = choose_thresholds("inner", 0.5, inner).set_index("au")
    assert cuts.loc["AU5", "threshold"] == 0.5 and cuts.loc["AU5", "how"].startswith("fallback")
    assert (cuts.drop("AU5")["how"] == "youden").all() and (cuts.drop("AU5")["threshold"] > 0.85).all()
    with pytest.raises(ValueError, match="annotate.pseudo_rule"):
        choose_thresholds("median", 0.5)


def test_majority_rule_votes_over_the_folds_models():
    stems = ["1_000001", "2_000002", "3_000003"]
    tables = [_predictions(stems, np.full((3, 6), p)) for p in (0.2, 0.7, 0.9)]
    cuts = choose_thresholds("majority", 0.5)
    assert pseudo_labels("majority", tables, stems, cuts).sum() == 18  # 2 of 3 models ≥ 0.5
    assert pseudo_labels("majority", tables[:2], stems, cuts).sum() == 0  # 1 of 2 is no majority
    with pytest.raises(ValueError, match="one model"):
        pseudo_labels("fixed", tables, stems, cuts)


def test_pooled_agreement_stacks_the_folds(tmp_path):
    rng = np.random.default_rng(10)
    stems = [f"{i % 5}_{i:06d}" for i in range(40)]
    seed_labels = (rng.random((40, 6)) < 0.3).astype(np.uint8)
    paths = {}
    for name in ("seed", "fold_01/rep_r0", "fold_02/rep_r0"):
        d = tmp_path / name
        d.mkdir(parents=True)
        lab = seed_labels if name == "seed" else np.where(rng.random((40, 6)) < 0.8, seed_labels, 1 - seed_labels)
        write_annotation(stems, lab, 0, *(d / f for f in ("l.npy", "n.txt", "labels.csv", "c.csv", "b.png")), variant=name)
        paths[name] = d / "labels.csv"
    seed = paths.pop("seed")
    out = pseudo_agreement(paths, seed, tmp_path / "seed" / "n.txt", tmp_path / "agreement.csv", tmp_path / "a.html",
                           tmp_path / "counts.csv", rule="fixed", threshold=0.5, seed=3, n_boot=100,
                           ci_level=0.9)  # fmt: skip
    pooled = out[out["set"] == "pooled"].set_index("au")
    both = np.concatenate([pd.read_csv(p)[list(AU_COLUMNS)].to_numpy() for p in paths.values()])
    for j, au in enumerate(AU_COLUMNS):
        assert pooled.loc[au, "n"] == 80
        assert pooled.loc[au, "kappa"] == pytest.approx(cohen_kappa(np.tile(seed_labels[:, j], 2), both[:, j]))
        assert pooled.loc[au, "kappa_low"] <= pooled.loc[au, "kappa"] <= pooled.loc[au, "kappa_high"]
    assert pd.read_csv(tmp_path / "counts.csv").set_index("label").loc["total", "count"] == 40
    assert "Cohen" in (tmp_path / "a.html").read_text()


def test_agreement_table_any_row():
    seed = np.array([[1, 0, 0, 0, 0, 0], [0] * 6, [0] * 6])
    pseudo = np.array([[0, 1, 0, 0, 0, 0], [0] * 6, [0, 0, 0, 0, 0, 1]])
    t = agreement_table(seed, pseudo).set_index("au")
    assert t.loc["any", "seed_positive"] == 1 and t.loc["any", "pseudo_positive"] == 2
    assert t.loc["any", "agreement"] == pytest.approx(2 / 3)


def test_kappa_interval_equals_the_bootstrap_of_the_stacked_pairs():
    """The count-based bootstrap gives exactly the κ of each resample's stacked label pairs."""
    from synthfer.annotate.pseudo import kappa_interval

    rng = np.random.default_rng(11)
    seed = rng.random(60) < 0.3
    pseudo = np.where(rng.random((3, 60)) < 0.75, seed, ~seed)
    lo, hi = kappa_interval(seed, pseudo, 200, 0.9, np.random.default_rng(1))
    draws = np.random.default_rng(1).integers(0, 60, (200, 60))
    ks = [cohen_kappa(np.tile(seed[i], 3), pseudo[:, i].reshape(-1)) for i in draws]
    assert (lo, hi) == pytest.approx(tuple(np.quantile(ks, [0.05, 0.95])))
