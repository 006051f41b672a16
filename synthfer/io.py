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


def write_text_if_changed(path: PathLike, text: str) -> bool:
    """Write ``text`` atomically unless ``path`` already holds exactly it; True when written. For files
    rewritten at every Snakefile parse (many Slurm jobs parse at once): an unchanged workflow writes nothing, and
    no reader ever sees a half-written file."""
    try:
        if Path(path).read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    write_text(path, text)
    return True


def write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: PathLike, obj: Any, indent: int = 2) -> Path:
    """Write ``obj`` as JSON atomically (keys kept in insertion order, NaN refused)."""
    return write_text(path, json.dumps(obj, indent=indent, allow_nan=False, default=_json_default) + "\n")


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars made Python values and NaN made ``None`` (:func:`write_json` refuses NaN)."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


FIGURE_DPI = 120


def save_figure(fig: Any, path: PathLike, *, dpi: int = FIGURE_DPI, tight: bool = True) -> Path:
    """Save a matplotlib figure atomically (format from the suffix) and close it.

    The one place figures are written, so every phase's plots share one resolution and no half-written
    PNG is left behind by a killed job.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight" if tight else None, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


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


TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


def bool_column(df: Any, column: str, path: PathLike) -> Any:
    """Column ``column`` of a table read from ``path`` as a bool Series (same index).

    Accepted, case-insensitive and with surrounding whitespace ignored: ``true``/``false``
    (what pandas writes for a bool column), ``1``/``0`` and ``yes``/``no``; a column pandas already
    parsed as bool is returned as it is. Anything else (an empty cell, ``nan``, ``2``, ``ok``)
    raises ``ValueError`` naming the file, the data row (1-based; line = row + 1 with the header)
    and the value — a value is never silently taken as false.
    """
    import pandas as pd

    if column not in df.columns:
        raise ValueError(f"{path}: no column {column!r}")
    col = df[column]
    if col.dtype == bool:
        return col
    words = col.astype(str).str.strip().str.lower()
    truth = words.map({**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)})
    bad = truth.isna().to_numpy()
    if bad.any():
        i = int(bad.argmax())
        raise ValueError(
            f"{path}: row {i + 1} (line {i + 2}): column {column} has {col.iloc[i]!r}, not a boolean "
            f"(use true/false, 1/0 or yes/no); {int(bad.sum())} such row(s)"
        )
    return pd.Series(truth.to_numpy(dtype=bool), index=df.index, name=column)


def sidecar_path(declared: PathLike | None, output: PathLike) -> Path:
    """Where a function writes the JSON sidecar of ``output``: ``declared`` — the path the rule declares
    and passes — when given; only a direct call without one (a test, an interactive session) falls back
    to ``output`` with its suffix replaced by ``.json``. Rules always pass the path they declare."""
    return Path(declared) if declared is not None else Path(output).with_suffix(".json")


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


def provenance(
    extra: Mapping[str, Any] | None = None, device: Any = None, compute: bool | None = None
) -> dict[str, Any]:
    """What an output's numbers depend on besides its inputs and settings, for manifests and sidecars:
    the versions of Python, synthfer and the numerical packages already imported and, for outputs computed
    with torch or TensorFlow, the compute context (:func:`compute_provenance`: threads, device, CUDA/cuDNN).

    ``compute``: None = record the compute context when torch or tensorflow is imported in this process
    (their float reductions depend on threads and device) or ``device`` is given; True = always (e.g. BLAS-
    heavy numpy code); False = never. Outputs that do not depend on the thread count (selection, labels,
    evaluation) record none, so their bytes are the same whatever the threads. Only packages already in
    ``sys.modules`` are reported, so recording provenance never imports torch or tensorflow by itself.
    Every value is a str, int, float or bool (checkpoints read with ``torch.load(weights_only=True)``).
    """
    from synthfer import __version__

    info: dict[str, Any] = {
        "synthfer": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in ("numpy", "pandas", "scipy", "sklearn", "skimage", "PIL", "cv2", "dlib", "torch", "tensorflow", "keras"):
        mod = sys.modules.get(name)
        if mod is not None:
            info[name] = getattr(mod, "__version__", getattr(mod, "DLIB_VERSION", "unknown"))
    if compute is None:
        compute = device is not None or "torch" in sys.modules or "tensorflow" in sys.modules
    if compute:
        info.update(compute_provenance(device))
    if extra:
        info.update(extra)
    return info


# Environment variables that set the thread pools of OpenMP, BLAS and NumExpr (Snakemake sets them all
# to a job's `threads`).
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def compute_provenance(device: Any = None) -> dict[str, Any]:
    """The compute context of this process (flat keys, plain values):

    - ``device``: ``device`` as given, else ``cuda:<i> (<GPU name>)`` when this process has initialised CUDA
      through torch, else ``cpu``; with CUDA also ``gpu`` (the current GPU and its name), ``cuda`` (toolkit),
      ``cudnn`` and the cuDNN flags;
    - ``torch_threads`` / ``torch_interop_threads``, ``deterministic_algorithms`` (torch imported);
    - ``tf_intra_op_threads`` / ``tf_inter_op_threads`` (0 = TensorFlow's default), ``tf_gpus`` (tensorflow
      imported); ``keras_backend``;
    - ``blas``: each BLAS/OpenMP pool with its thread count (threadpoolctl), ``cpu_count``, the CPUs this
      process may use (``cpu_affinity``) and the thread variables of :data:`THREAD_ENV` that are set.

    Results computed with float reductions are bit-identical only for equal threads, device and versions.
    """
    info: dict[str, Any] = {}
    torch = sys.modules.get("torch")
    dev = None if device is None else str(device)
    if torch is not None:
        info["torch_threads"] = int(torch.get_num_threads())
        info["torch_interop_threads"] = int(torch.get_num_interop_threads())
        info["deterministic_algorithms"] = bool(torch.are_deterministic_algorithms_enabled())
        cuda_used = bool(torch.cuda.is_initialized())
        if cuda_used:
            index = torch.cuda.current_device()
            info["gpu"] = f"cuda:{index} ({torch.cuda.get_device_name(index)})"
            dev = dev or info["gpu"]
        if cuda_used or (dev or "").startswith("cuda"):
            info["cuda"] = str(torch.version.cuda)
            info["cudnn"] = str(torch.backends.cudnn.version())
            info["cudnn_deterministic"] = bool(torch.backends.cudnn.deterministic)
            info["cudnn_benchmark"] = bool(torch.backends.cudnn.benchmark)
    info["device"] = dev or "cpu"
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            info["tf_intra_op_threads"] = int(tf.config.threading.get_intra_op_parallelism_threads())
            info["tf_inter_op_threads"] = int(tf.config.threading.get_inter_op_parallelism_threads())
            info["tf_gpus"] = ",".join(d.name for d in tf.config.list_logical_devices("GPU")) or "none"
        except Exception as exc:  # noqa: BLE001 — provenance must never fail a job
            info["tf_threads"] = f"unknown ({type(exc).__name__})"
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend") and hasattr(keras.backend, "backend"):
        info["keras_backend"] = str(keras.backend.backend())
    info["blas"] = _blas_pools()
    info["cpu_count"] = os.cpu_count() or 0
    if hasattr(os, "sched_getaffinity"):
        info["cpu_affinity"] = len(os.sched_getaffinity(0))
    info["thread_env"] = " ".join(f"{k}={os.environ[k]}" for k in THREAD_ENV if k in os.environ)
    return info


def _blas_pools() -> str:
    """``openblas 0.3.27: 8 threads; …`` for the BLAS/OpenMP libraries loaded in this process."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = sorted(
        {f"{p.get('internal_api', '?')} {p.get('version') or '?'}: {p.get('num_threads')} threads" for p in threadpool_info()}
    )
    return "; ".join(pools) or "none loaded"
