"""Choosing the Keras 3 backend and the CPU thread count before Keras is imported."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
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

    On the torch and jax backends TensorFlow is kept out of the process (:func:`keep_tensorflow_out`):
    Keras would otherwise import it only to seed it (``keras.utils.set_random_seed``) and to test
    types while saving, which costs seconds per job and prints oneDNN/absl start-up lines into the
    job's output.
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
    if backend != "tensorflow":
        keep_tensorflow_out()
    if threads:
        if backend == "tensorflow":
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:  # the runtime is already initialised (second call in a process)
                pass
        elif backend == "torch":
            from synthfer.runtime import set_threads

            set_threads(threads)
    log.info("Keras %s on backend %s (%s CPU threads)", keras.__version__, backend, threads or "default")
    from synthfer.runtime import report_device  # the device in the job's log; a warning on a GPU job's CPU fallback

    report_device(device_name(keras), f"Keras backend {backend}")
    return keras


class _TensorFlowBlocker(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A meta-path finder whose ``tensorflow*`` modules fail to load with ``ImportError``.

    ``importlib.util.find_spec`` still answers (with an origin-less spec: PyTorch's dynamo probes
    for TensorFlow that way and must not crash), but nothing is ever put into ``sys.modules``, so
    Keras' ``"tensorflow" in sys.modules`` tests stay False and its lazy TensorFlow module reports
    itself unavailable.
    """

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        raise ImportError(f"{spec.name} is kept out of this process (Keras runs on another backend; "
                          "synthfer.fer.backend.keep_tensorflow_out)", name=spec.name)

    def exec_module(self, module):  # never reached: create_module raises
        raise ImportError(module.__name__)


def keep_tensorflow_out() -> bool:
    """Make ``import tensorflow`` fail in this process unless it is already imported; returns
    whether TensorFlow is now blocked. Keras then sees TensorFlow as unavailable and skips the
    TensorFlow-only steps, which the torch and jax backends never need."""
    if "tensorflow" in sys.modules:
        return False
    if not any(isinstance(f, _TensorFlowBlocker) for f in sys.meta_path):
        sys.meta_path.insert(0, _TensorFlowBlocker())
    return True


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
