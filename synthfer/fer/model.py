"""The AU classifier of the seed thesis and its predecessor (Keras 3 API only).

``EfficientNetB0`` (Tan & Le 2019; no top, global average pooling; it rescales and normalises
0–255 input itself) → Dense(128, ReLU, L1 1e-4) → Dense(128, ReLU, L1 1e-4) → Dense(6, sigmoid),
trained with a per-AU weighted binary cross-entropy (:class:`WeightedBinaryCrossentropy`), Adam
with gradient-norm clipping.

Import this module only after :func:`synthfer.fer.backend.use_backend` (it imports Keras).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import ops

from synthfer import AU_COLUMNS

IMAGENET_FILE = "efficientnetb0_notop.h5"
IMAGENET_URL = f"https://storage.googleapis.com/keras-applications/{IMAGENET_FILE}"


class WeightsUnavailableError(FileNotFoundError):
    """Backbone weights that neither a local file nor a download could provide (the message says
    which config key takes a local file)."""


def imagenet_cache_path() -> Path:
    """Where Keras keeps the downloaded ImageNet backbone: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models" / IMAGENET_FILE


def _imagenet_backbone(input_size: int) -> keras.Model:
    """EfficientNetB0 with Keras' ImageNet weights; a failed download becomes one message naming
    ``fer.model.weights`` (the key that takes a local copy) instead of Keras' traceback."""
    cached = imagenet_cache_path()
    try:
        return keras.applications.EfficientNetB0(include_top=False, weights="imagenet",
                                                 input_shape=(input_size, input_size, 3), pooling="avg")
    except Exception as exc:
        if cached.is_file():  # the file was there: not a download problem
            raise
        raise WeightsUnavailableError(
            f"config key 'fer.model.weights' is 'imagenet' but Keras could not download {IMAGENET_FILE} "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else 'no detail'}). "
            f"Fix: on a machine with internet download {IMAGENET_URL}, copy it here and set fer.model.weights to its "
            f"path (or put it at {cached}); or use null (random initialisation) or a backbone from `synthfer fer-pretrain`."
        ) from None


@keras.saving.register_keras_serializable(package="synthfer")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """``L = −mean_a [ w⁺_a · y_a · log p_a + w⁻_a · (1 − y_a) · log(1 − p_a) ]`` per image, with
    ``p`` clipped to [ε, 1 − ε] and the weights of :func:`synthfer.fer.folds.au_loss_weights`."""

    def __init__(self, pos_weights, neg_weights, epsilon: float = 1e-7, name: str = "weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weights = [float(w) for w in np.ravel(pos_weights)]
        self.neg_weights = [float(w) for w in np.ravel(neg_weights)]
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        p = ops.clip(y_pred, self.epsilon, 1.0 - self.epsilon)
        wp = ops.convert_to_tensor(self.pos_weights, dtype=y_pred.dtype)
        wn = ops.convert_to_tensor(self.neg_weights, dtype=y_pred.dtype)
        per_au = -(wp * y_true * ops.log(p) + wn * (1.0 - y_true) * ops.log(1.0 - p))
        return ops.mean(per_au, axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "pos_weights": self.pos_weights,
            "neg_weights": self.neg_weights,
            "epsilon": self.epsilon,
        }


def build_model(
    input_size: int = 224,
    weights: str | None = "imagenet",
    dense_units=(128, 128),
    l1: float = 1e-4,
    bn_momentum: float | None = None,
) -> keras.Model:
    """The uncompiled classifier for ``input_size``² RGB input (0–255 floats), 6 sigmoid outputs.

    ``weights``: ``"imagenet"`` (Keras downloads them once into ``~/.keras/models``), a local
    weights file (e.g. ``efficientnetb0_notop.h5`` copied to a cluster without internet) or None
    (random initialisation). ``bn_momentum`` overrides the backbone's batch-norm momentum (Keras:
    0.99) — only useful for very short from-scratch runs such as the demo, whose moving statistics
    would otherwise still be near their initial values after a few dozen steps.
    """
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise WeightsUnavailableError(
            f"config key 'fer.model.weights': EfficientNetB0 weights file {weights} does not exist. Fix: give the path "
            f"of a local {IMAGENET_FILE} or a `synthfer fer-pretrain` backbone, 'imagenet' (downloaded) or null (random)."
        )
    if input_size < 32:
        raise ValueError(f"input_size {input_size}: EfficientNetB0 without top needs at least 32 px")
    if weights == "imagenet":
        base = _imagenet_backbone(input_size)
    else:
        base = keras.applications.EfficientNetB0(
            include_top=False,
            weights=None if weights is None else str(weights),
            input_shape=(input_size, input_size, 3),
            pooling="avg",
        )
    if bn_momentum is not None:
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = float(bn_momentum)
    x = base.output
    for i, units in enumerate(dense_units):
        x = keras.layers.Dense(
            int(units), activation="relu", kernel_regularizer=keras.regularizers.L1(l1), name=f"au_dense_{i + 1}"
        )(x)
    out = keras.layers.Dense(len(AU_COLUMNS), activation="sigmoid", name="au_probabilities")(x)
    return keras.Model(base.input, out, name="efficientnetb0_au")


def compile_model(model: keras.Model, pos_weights, neg_weights, learning_rate: float, clipnorm: float) -> None:
    """Adam(lr, clipnorm) + weighted BCE. No Keras metric: the validation AUC that early stopping
    watches is computed per AU by :mod:`synthfer.fer.train` (Keras' multi-label AUC averages in AUs
    that have no positives, whose "AUC" is meaningless)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
        loss=WeightedBinaryCrossentropy(pos_weights, neg_weights),
        jit_compile=False,  # XLA compilation of EfficientNet costs more than it saves on short runs
    )


def load_classifier(path) -> keras.Model:
    """Load a saved fold model for inference (no optimizer state)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    return keras.saving.load_model(path, compile=False)
