"""Small file helpers shared by every phase: atomic writes, checksums, tables, provenance.

Every output synthfer writes goes through :func:`atomic_path` (write to a temporary file in the
same folder, then ``os.replace``), so a job killed half-way never leaves a truncated file that
Snakemake or a later phase could mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

PathLike = str | os.PathLike


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    The temporary file keeps ``path``'s suffix (or ``suffix``) so that libraries that infer the
    format from the extension (PIL, numpy, pandas) keep working. On error the temporary file is
    removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            # mkstemp creates 0600; give the result the permissions a plain open() would
            # (shared project folders on clusters must stay readable by the group).
            os.chmod(tmp_path, 0o666 & ~_current_umask())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: PathLike, obj: Any, indent: int = 2) -> Path:
    """Write ``obj`` as JSON atomically (keys kept in insertion order, NaN refused)."""
    return write_text(path, json.dumps(obj, indent=indent, allow_nan=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_table(path: PathLike, df: Any, **kwargs: Any) -> Path:
    """Write a pandas DataFrame atomically; format from the extension (.csv, .tsv or .parquet).

    CSV/TSV are written without the index; parquet keeps dtypes exactly.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False, **kwargs)
        elif path.suffix == ".tsv":
            df.to_csv(tmp, sep="\t", index=False, **kwargs)
        elif path.suffix == ".csv":
            df.to_csv(tmp, index=False, **kwargs)
        else:
            raise ValueError(f"{path}: unknown table format {path.suffix!r} (use .csv, .tsv or .parquet)")
    return path


def read_table(path: PathLike, **kwargs: Any) -> Any:
    """Read a table written by :func:`write_table` (format from the extension)."""
    import pandas as pd

    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path, **kwargs)
    if path.suffix == ".tsv":
        return pd.read_csv(path, sep="\t", **kwargs)
    if path.suffix == ".csv":
        return pd.read_csv(path, **kwargs)
    raise ValueError(f"{path}: unknown table format {path.suffix!r} (use .csv, .tsv or .parquet)")


def save_npy(path: PathLike, array: Any) -> Path:
    """``numpy.save`` atomically."""
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
    return Path(path)


def save_npz(path: PathLike, **arrays: Any) -> Path:
    """``numpy.savez`` atomically (uncompressed, no pickles)."""
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return Path(path)


def sha256_file(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def link_or_copy(src: PathLike, dst: PathLike) -> None:
    """Hard-link ``src`` to ``dst`` (same file system), else copy it; replaces ``dst`` atomically."""
    import shutil

    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)


def provenance(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Versions of Python, synthfer and the numerical packages already imported, for manifests.

    Only packages already in ``sys.modules`` are reported, so recording provenance never imports
    torch or tensorflow by itself.
    """
    from synthfer import __version__

    info: dict[str, Any] = {
        "synthfer": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in ("numpy", "pandas", "scipy", "sklearn", "skimage", "cv2", "dlib", "torch", "tensorflow", "keras"):
        mod = sys.modules.get(name)
        if mod is not None:
            info[name] = getattr(mod, "__version__", getattr(mod, "DLIB_VERSION", "unknown"))
    if extra:
        info.update(extra)
    return info
