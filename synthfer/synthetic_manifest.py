"""The generated images' manifests: their columns, and the one reader of the merged manifest.

Written by the generate phase (:mod:`synthfer.generate.shard`, :mod:`synthfer.generate.merge`), read by
iqa, select, annotate and the report — so the format lives here, below all of them (docs/development.md,
"Where things live").

* Shard manifest ``results/synthetic/shards/{shard}.csv``: :data:`SHARD_COLUMNS`.
* Merged manifest ``results/synthetic/manifest.csv``: :data:`MANIFEST_COLUMNS`, read with
  :func:`read_manifest`.

Both start with the plan's image key :data:`IMAGE_COLUMNS` (``file`` is relative to the manifest's folder).
"""

from __future__ import annotations

from collections.abc import Sequence

from synthfer import AU_COLUMNS
from synthfer.io import PathLike

IMAGE_COLUMNS = ["name", "file", "seed", "order", "direction", "degree", "psi"]
SHARD_COLUMNS = [*IMAGE_COLUMNS, "layer_start", "layer_end", "shard", "sha256", "width", "height"]
MANIFEST_COLUMNS = [*IMAGE_COLUMNS, "shard", "sha256", "face_ok", "face_reason", *AU_COLUMNS, "neutral"]


def read_manifest(path: PathLike, columns: Sequence[str] = ()):
    """The merged manifest as a DataFrame, for every phase that reads it.

    ``name`` and ``face_reason`` are str (empty cells stay ``''``), ``face_ok`` is bool
    (:func:`synthfer.io.bool_column`: ``true/false``, ``1/0``, ``yes/no``, any case and spacing;
    anything else raises ``ValueError`` naming the file, row and value); the other columns as
    pandas parses them. ``columns``: further columns the caller needs; a missing one (or a missing
    ``name``/``face_ok``) raises ``ValueError`` naming the file.
    """
    from synthfer.io import bool_column, read_table

    df = read_table(path, dtype={"name": str}, keep_default_na=False)
    missing = [c for c in dict.fromkeys(("name", "face_ok", *columns)) if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)} (expected the merged synthetic manifest)"
        )
    df["face_ok"] = bool_column(df, "face_ok", path)
    return df
