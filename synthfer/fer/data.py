"""Labelled image tables: the generic real table, the annotation phase's synthetic sets, image loading.

Generic table (what the DISFA importer and the demo write): CSV with ``image`` (path relative to
``image_root`` — by default the folder holding the CSV — or absolute), ``subject`` (str) and the binary columns
:data:`~synthfer.AU_COLUMNS`; extra columns are kept. Internally every table becomes a
DataFrame with an absolute ``path`` column next to ``image``.

This module needs only numpy, pandas and Pillow (no Keras), so the predictor and the tests can share
:func:`load_image` with training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthfer import AU_COLUMNS
from synthfer.fer.checks import identical_image_problems, table_row_problems
from synthfer.imaging import load_rgb
from synthfer.io import PathLike
from synthfer.logs import get_logger

log = get_logger(__name__)

SYNTHETIC_SUBJECT = "synthetic"


def _check_binary(df: pd.DataFrame, source: PathLike) -> pd.DataFrame:
    missing = [c for c in AU_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing AU column(s) {', '.join(missing)} (need {', '.join(AU_COLUMNS)})")
    for c in AU_COLUMNS:
        values = pd.to_numeric(df[c], errors="coerce")
        bad = ~values.isin([0, 1])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{source}: column {c} must hold 0/1, row {row + 2} has {str(df[c].iloc[row])!r}")
        df[c] = values.astype(np.int8)
    return df


def _check_files(paths: pd.Series, source: PathLike) -> None:
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{source}: {len(missing)} of {len(paths)} image file(s) do not exist, e.g. {', '.join(missing[:3])}"
        )


def read_real_table(path: PathLike, check_files: bool = True, image_root: PathLike | None = None) -> pd.DataFrame:
    """Read a generic labelled table; add ``path`` (absolute image path). Rows keep the file's order.

    Relative ``image`` paths are resolved against ``image_root`` when given (``fer.real.image_root``),
    else against the folder holding the table. Raises ``ValueError`` naming the file for a missing column, an empty
    table or a non-binary label, and naming the rows for one image under two subjects, one image with conflicting
    labels, exact duplicate rows and — with ``check_files`` — byte-identical images under different names
    (:mod:`synthfer.fer.checks`); ``FileNotFoundError`` listing missing images.
    """
    path = Path(path)
    df = pd.read_csv(path, dtype={"image": str, "subject": str}, keep_default_na=False)
    for col in ("image", "subject"):
        if col not in df.columns:
            raise ValueError(f"{path}: missing column {col!r} (a labelled table needs image, subject, {', '.join(AU_COLUMNS)})")
    if df.empty:
        raise ValueError(f"{path}: the table has no rows")
    if (df["subject"] == "").any():
        raise ValueError(f"{path}: row {int(np.flatnonzero(df['subject'] == '')[0]) + 2} has an empty subject")
    df = _check_binary(df, path)
    rows = df[["image", "subject", *AU_COLUMNS]].to_dict("records")
    problems = table_row_problems(rows, str(path))
    if problems:
        raise ValueError(" ".join(problems))
    root = Path(image_root).resolve() if image_root is not None else path.parent.resolve()
    df["path"] = [str(p if Path(p).is_absolute() else root / p) for p in df["image"]]
    if check_files:
        _check_files(df["path"], path)
        problems = identical_image_problems(rows, list(df["path"]), str(path))
        if problems:
            raise ValueError(" ".join(problems))
    return df


def read_synthetic_set(labels_csv: PathLike, names_txt: PathLike, image_dir: PathLike, check_files: bool = True) -> pd.DataFrame:
    """Read one annotation variant (``labels.csv`` with ``Image_name`` + AU columns, and
    ``image_names.txt``) as a table with ``image`` (= name), ``subject`` (``synthetic``), AUs and
    ``path`` = ``image_dir/{name}.png``. The two files must list the same names in the same order."""
    labels_csv, names_txt, image_dir = Path(labels_csv), Path(names_txt), Path(image_dir)
    df = pd.read_csv(labels_csv, dtype={"Image_name": str}, keep_default_na=False)
    if "Image_name" not in df.columns:
        raise ValueError(f"{labels_csv}: missing column 'Image_name'")
    names = [n.strip() for n in names_txt.read_text().splitlines() if n.strip()]
    stems = [n[:-4] if n.endswith(".png") else n for n in df["Image_name"]]
    names = [n[:-4] if n.endswith(".png") else n for n in names]
    if stems != names:
        raise ValueError(f"{labels_csv} and {names_txt} list different images ({len(stems)} vs {len(names)} names)")
    df = _check_binary(df, labels_csv)
    out = pd.DataFrame({"image": stems, "subject": SYNTHETIC_SUBJECT})
    for c in AU_COLUMNS:
        out[c] = df[c].to_numpy()
    out["path"] = [str((image_dir / f"{s}.png").resolve()) for s in stems]
    if check_files and len(out):
        _check_files(out["path"], labels_csv)
    return out


def load_image(path: PathLike, size: int, flip: bool = False) -> np.ndarray:
    """One image as float32 ``(size, size, 3)`` in [0, 255] (what Keras' EfficientNet expects: it
    rescales and normalises inside the model). Resized with Pillow's antialiased bilinear filter;
    ``flip`` mirrors it left–right. Raises :class:`synthfer.imaging.ImageReadError`."""
    from PIL import Image

    rgb = load_rgb(path)
    if rgb.shape[0] != size or rgb.shape[1] != size:
        rgb = np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.BILINEAR))
    if flip:
        rgb = rgb[:, ::-1]
    return rgb.astype(np.float32)


def label_matrix(df: pd.DataFrame) -> np.ndarray:
    """The AU columns as float32 ``(N, 6)``."""
    return df[list(AU_COLUMNS)].to_numpy(dtype=np.float32)
