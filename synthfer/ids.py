"""The ids of the numbered wildcards — folds, shards, batches — defined once.

A rule file builds its id lists here (``fold_ids(k)``, ``shard_ids(n)``, ``batch_ids(numbers)``) and
``rules/common.smk`` (and the tests' mini-workflows) constrain the wildcards with
:data:`WILDCARD_CONSTRAINTS`, so the width of an id is written in one place. Standard library only:
imported at Snakefile parse time.
"""

from __future__ import annotations

from collections.abc import Iterable

FOLD_DIGITS = 2  # {fold}: 01 … 99 (1-based)
SHARD_DIGITS = 3  # {shard}: 000 … 999 (0-based)
BATCH_DIGITS = 4  # {batch}: 0000 … 9999 (0-based)

WILDCARD_CONSTRAINTS = {
    "shard": rf"\d{{{SHARD_DIGITS}}}",
    "batch": rf"\d{{{BATCH_DIGITS}}}",
    "fold": rf"\d{{{FOLD_DIGITS}}}",
}
MAX_FOLDS = 10**FOLD_DIGITS - 1


def fold_ids(k: int) -> list[str]:
    """``['01', …, 'kk']``: the ids of a k-fold cross-validation (``ValueError`` naming ``fer.folds`` beyond 99)."""
    if k > MAX_FOLDS:
        raise ValueError(
            f"config key 'fer.folds': {k} folds, but fold ids have {FOLD_DIGITS} digits (fold_01 … fold_{MAX_FOLDS}). "
            f"Fix: use at most {MAX_FOLDS} folds."
        )
    return [f"{i:0{FOLD_DIGITS}d}" for i in range(1, k + 1)]


def shard_ids(n: int) -> list[str]:
    """``['000', …]``: the ids of ``n`` shards."""
    return [f"{i:0{SHARD_DIGITS}d}" for i in range(n)]


def batch_ids(batches: Iterable[int]) -> list[str]:
    """``['0000', '0003', …]``: the ids of the batch numbers ``batches``, sorted, each once."""
    return [f"{b:0{BATCH_DIGITS}d}" for b in sorted(set(batches))]
