"""Subject-wise folds and per-AU loss weights.

Folds (the seed thesis' Figure 3.10): the subjects, sorted by ID (digit runs compared as numbers,
so ``S2`` < ``S10``), are cut *in order* into k consecutive folds of equal size — 26 DISFA subjects,
k = 13 → two subjects per fold. When k does not divide the number of subjects the first
``n mod k`` folds take one subject more (``numpy.array_split``). Fold numbers run 1…k. Fold i
validates on its subjects' real frames and trains on every other subject's real frames (plus the
variant's synthetic set), so no subject is ever on both sides.

Inner validation (``fer.model_selection: inner``, docs/fer.md "Model selection"): for outer fold k of K the
subjects of fold ``(k mod K) + 1`` (the next fold, K wrapping to 1; :func:`inner_fold`) are left out of training
and every choice (epoch, early stopping, a pseudo-label threshold) is made on their frames. Fold k's own labels are
read only to be copied into its predictions table.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthfer.fer.data import read_real_table
from synthfer.io import PathLike, write_table
from synthfer.logs import get_logger

log = get_logger(__name__)


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def make_folds(subjects, k: int) -> pd.DataFrame:
    """``DataFrame(subject, fold)``: unique ``subjects`` in natural ID order, cut in order into ``k`` folds."""
    uniq = sorted({str(s) for s in subjects}, key=_natural_key)
    if k < 2:
        raise ValueError(f"fer.folds must be at least 2, got {k}")
    if k > len(uniq):
        raise ValueError(f"fer.folds = {k} but the labelled table has only {len(uniq)} subjects")
    if len(uniq) % k:
        log.warning("%d subjects do not split evenly into %d folds: fold sizes differ by one", len(uniq), k)
    rows = [(s, i + 1) for i, chunk in enumerate(np.array_split(np.array(uniq, dtype=object), k)) for s in chunk]
    return pd.DataFrame(rows, columns=["subject", "fold"])


def write_folds(table: PathLike, out: PathLike, k: int) -> pd.DataFrame:
    """Write the fold table ``subject, fold, n_images`` (+ positives per AU) for ``table``."""
    from synthfer import AU_COLUMNS

    df = read_real_table(table, check_files=False)
    folds = make_folds(df["subject"], k)
    counts = df.groupby("subject")[list(AU_COLUMNS)].agg(["size", "sum"])
    folds["n_images"] = [int(counts.loc[s, (AU_COLUMNS[0], "size")]) for s in folds["subject"]]
    for au in AU_COLUMNS:
        folds[f"n_{au}"] = [int(counts.loc[s, (au, "sum")]) for s in folds["subject"]]
    write_table(out, folds)
    log.info("%d subjects, %d images -> %d folds written to %s", len(folds), len(df), k, out)
    return folds


def read_folds(path: PathLike) -> pd.DataFrame:
    """Read a fold table written by :func:`write_folds`."""
    folds = pd.read_csv(path, dtype={"subject": str}, keep_default_na=False)
    for col in ("subject", "fold"):
        if col not in folds.columns:
            raise ValueError(f"{path}: missing column {col!r} (not a fold table)")
    if folds["subject"].duplicated().any():
        raise ValueError(f"{path}: subject {folds['subject'][folds['subject'].duplicated()].iloc[0]!r} is listed twice")
    return folds


def split_fold(table: pd.DataFrame, folds: pd.DataFrame, fold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation) rows of the real ``table`` for ``fold``. Every subject must be in ``folds``."""
    fold_of = dict(zip(folds["subject"], folds["fold"].astype(int), strict=True))
    unknown = sorted(set(table["subject"]) - set(fold_of))
    if unknown:
        raise ValueError(f"subject(s) {', '.join(unknown[:5])} of the labelled table are not in the fold table")
    if fold not in set(fold_of.values()):
        raise ValueError(f"fold {fold} is not in the fold table (folds 1..{max(fold_of.values())})")
    in_val = table["subject"].map(fold_of).to_numpy() == fold
    return table[~in_val].reset_index(drop=True), table[in_val].reset_index(drop=True)


def inner_fold(fold: int, k: int) -> int:
    """The inner-validation fold of outer fold ``fold`` of ``k``: the next one, ``(fold mod k) + 1``."""
    if k < 3:
        raise ValueError(
            f"fer.folds = {k}: an inner validation fold needs at least 3 folds (one to test, one to validate, the rest "
            "to train). Fix: raise fer.folds, or set fer.model_selection: fixed."
        )
    if not 1 <= fold <= k:
        raise ValueError(f"fold {fold} is not in 1..{k}")
    return fold % k + 1


def split_inner(table: pd.DataFrame, folds: pd.DataFrame, fold: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, inner validation, test) rows of the real ``table`` for outer ``fold``: test = its subjects, inner
    validation = the subjects of :func:`inner_fold`, train = everyone else."""
    k = int(folds["fold"].astype(int).max())
    inner = inner_fold(fold, k)
    rest, test = split_fold(table, folds, fold)
    train, val = split_fold(rest, folds, inner)
    return train, val, test


def au_loss_weights(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-AU weights for the binary cross-entropy from the training labels ``(N, A)``.

    ``w_pos = N / (2 · n_pos)``, ``w_neg = N / (2 · n_neg)`` (the "balanced" weighting: each class
    contributes half the loss; an AU with 10 % positives weighs a positive 5×, a negative 0.56×).
    A class absent from the training fold gets the count 1 (its weight then never applies).
    """
    labels = np.asarray(labels, dtype=np.float64)
    n = labels.shape[0]
    if n == 0:
        raise ValueError("no training labels")
    n_pos = labels.sum(axis=0)
    n_neg = n - n_pos
    return (n / (2 * np.maximum(n_pos, 1))).astype(np.float32), (n / (2 * np.maximum(n_neg, 1))).astype(np.float32)
