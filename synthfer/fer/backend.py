"""Choosing the Keras 3 backend and the CPU thread count before Keras is imported."""

from __future__ import annotations

import os
import sys

from synthfer.logs import get_logger

log = get_logger(__name__)

BACKENDS = ("tensorflow", "torch", "jax")


def use_backend(name: str | None = None, threads: int | None = None):
    """Import and return ``keras`` on backend ``name`` (None: ``$KERAS_BACKEND`` or Keras' default,
    TensorFlow), limiting the framework to ``threads`` CPU threads.

    Keras reads ``KERAS_BACKEND`` once, at import: asking for another backend after Keras was
    imported in this process raises ``RuntimeError``. The accelerator is the framework's own choice
    (CUDA when present, else CPU).
    """
    if name is not None and name not in BACKENDS:
        raise ValueError(f"unknown Keras backend {name!r} (use one of {', '.join(BACKENDS)})")
    if name is not None:
        if "keras" in sys.modules:
            current = sys.modules["keras"].backend.backend()
            if current != name:
                raise RuntimeError(f"Keras is already imported with backend {current!r}; cannot switch to {name!r}")
        os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    backend = keras.backend.backend()
    if threads:
        if backend == "tensorflow":
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:  # the runtime is already initialised (second call in a process)
                pass
        elif backend == "torch":
            import torch

            torch.set_num_threads(threads)
    log.info("Keras %s on backend %s (%s CPU threads)", keras.__version__, backend, threads or "default")
    return keras


def device_name(keras) -> str:
    """The accelerator Keras' backend will use: ``cuda`` / ``gpu`` / ``cpu``."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    return "unknown"
