"""Fold table, fold split and per-AU loss weights of the FER phase."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthfer import AU_COLUMNS
from synthfer.fer.folds import au_loss_weights, make_folds, read_folds, split_fold, write_folds


def _table(tmp_path, subjects, per_subject=2):
    rows = []
    for s in subjects:
        for j in range(per_subject):
            rows.append({"image": f"images/{s}_{j}.png", "subject": s, **{a: (j + len(s)) % 2 for a in AU_COLUMNS}})
    path = tmp_path / "labels.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_26_subjects_13_folds_two_each_in_id_order():
    subjects = [f"SN{i:03d}" for i in range(26, 0, -1)]  # given in reverse: must be sorted
    folds = make_folds(subjects, 13)
    assert list(folds["subject"]) == sorted(subjects)
    assert folds.groupby("fold").size().tolist() == [2] * 13
    assert folds.set_index("subject").loc[["SN001", "SN002", "SN003", "SN026"], "fold"].tolist() == [1, 1, 2, 13]


def test_natural_order_and_uneven_split():
    folds = make_folds(["S10", "S2", "S1", "S3", "S11"], 2)
    assert list(folds["subject"]) == ["S1", "S2", "S3", "S10", "S11"]
    assert folds["fold"].tolist() == [1, 1, 1, 2, 2]


def test_too_many_folds_is_an_error():
    with pytest.raises(ValueError, match="only 3 subjects"):
        make_folds(["a", "b", "c"], 4)


def test_write_folds_columns_and_split(tmp_path):
    table = _table(tmp_path, [f"SN{i:03d}" for i in range(1, 7)], per_subject=3)
    out = tmp_path / "folds.csv"
    write_folds(table, out, 3)
    folds = read_folds(out)
    assert list(folds.columns) == ["subject", "fold", "n_images", *(f"n_{a}" for a in AU_COLUMNS)]
    assert folds["n_images"].tolist() == [3] * 6
    df = pd.read_csv(table, dtype={"subject": str})
    seen = set()
    for k in (1, 2, 3):
        train, val = split_fold(df, folds, k)
        assert set(train["subject"]).isdisjoint(val["subject"])
        assert len(train) + len(val) == len(df)
        seen |= set(val["subject"])
    assert seen == set(df["subject"])  # every subject validated exactly once


def test_split_rejects_unknown_subject(tmp_path):
    folds = make_folds(["a", "b"], 2)
    df = pd.DataFrame({"subject": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="not in the fold table"):
        split_fold(df, folds, 1)


def test_loss_weights_balance_each_au():
    y = np.zeros((10, 6))
    y[:1, 0] = 1  # 10 % positives
    y[:5, 1] = 1  # 50 %
    y[:, 2] = 1  # no negatives
    wp, wn = au_loss_weights(y)
    np.testing.assert_allclose([wp[0], wn[0]], [10 / 2, 10 / 18])
    np.testing.assert_allclose([wp[1], wn[1]], [1.0, 1.0])
    # each class then contributes half of the total weight
    np.testing.assert_allclose(wp[0] * 1 + wn[0] * 9, 10)
    np.testing.assert_allclose([wp[2], wn[2]], [0.5, 5.0])


def test_inner_fold_is_the_next_fold_and_never_the_test_fold():
    import pandas as pd

    from synthfer.fer.folds import inner_fold, make_folds, split_inner

    assert [inner_fold(k, 4) for k in (1, 2, 3, 4)] == [2, 3, 4, 1]
    with pytest.raises(ValueError, match="fer.model_selection: fixed"):
        inner_fold(1, 2)
    folds = make_folds([f"S{i}" for i in range(1, 7)], 3)
    table = pd.DataFrame({"subject": [f"S{i}" for i in range(1, 7) for _ in range(2)], "x": range(12)})
    train, val, test = split_inner(table, folds, 3)
    assert sorted(set(test["subject"])) == ["S5", "S6"] and sorted(set(val["subject"])) == ["S1", "S2"]
    assert sorted(set(train["subject"])) == ["S3", "S4"] and len(train) + len(val) + len(test) == 12
