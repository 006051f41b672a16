"""Pretraining an EfficientNet-B0 backbone for the demo (the demo's stand-in for ImageNet weights).

Part of the demo, not of the FER phase: it draws its data with the demo renderer, and the FER phase
only ever loads the result (``fer.model.weights``), so ``synthfer.fer`` never imports ``synthfer.demo``.

The thesis fine-tunes from ImageNet weights, which cannot be downloaded where the demo is built;
a randomly initialised EfficientNet-B0 learns nothing in the demo's few CPU steps. This module
makes a backbone the same way ImageNet weights are made — supervised training on *other* data —
and saves it as a Keras ``.weights.h5`` that ``fer.model.weights`` loads like a local ImageNet file.

The other data: faces freshly drawn by the demo renderer (:func:`synthfer.demo.dataset.render_disfa_frame`,
the DISFA-like framing and AU sampling) of identities from their own random stream
``default_rng([seed, 3, 4, identity])`` — the DISFA-like subjects come from ``[seed, 3, 2, subject]``
and the CFD-like portraits from ``[seed, 3, 1, identity]`` — so no evaluation subject is ever seen.
Each identity shows ``frames_per_identity`` random expressions, frame ``j`` from
``default_rng([seed, 4, identity, j])``.

Training: the thesis classifier (:func:`synthfer.fer.model.build_model`, random initialisation, no L1)
on the rendered frames resized to ``input_size`` like :func:`synthfer.fer.data.load_image`, the
per-AU weighted binary cross-entropy, Adam with a cosine-decayed learning rate, random horizontal
flips; the last ``val_fraction`` of the identities are held out and their AUC is reported. Only the
backbone (the ``EfficientNetB0`` layers, head discarded) is saved.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.demo.dataset import render_disfa_frame
from synthfer.demo.render import Identity
from synthfer.io import PathLike, atomic_path, provenance, write_json
from synthfer.logs import get_logger
from synthfer.runtime import map_jobs

log = get_logger(__name__)

# Random-stream kinds of synthfer.demo.dataset (_REAL = 1, _DISFA = 2, _IDENT = 3) plus ours.
_IDENT, _PRETRAIN = 3, 4


def _render_identity(job: tuple) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    seed, ident_i, frames, render_size, input_size, p_on = job
    ident = Identity.random(np.random.default_rng([seed, _IDENT, _PRETRAIN, ident_i]))
    xs, ys = [], []
    for j in range(frames):
        img, on = render_disfa_frame(ident, np.random.default_rng([seed, _PRETRAIN, ident_i, j]), render_size, p_on)
        if img.shape[0] != input_size:  # the same resize as synthfer.fer.data.load_image
            img = np.asarray(Image.fromarray(img).resize((input_size, input_size), Image.Resampling.BILINEAR))
        xs.append(img)
        ys.append(on)
    return np.stack(xs), np.stack(ys)


def render_pretraining_set(
    n_identities: int,
    frames_per_identity: int,
    input_size: int,
    seed: int,
    render_size: int = 192,
    p_on: float = 0.35,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x uint8 (N, s, s, 3), y uint8 (N, 6), identity int (N,))`` with N = identities × frames,
    drawn at ``render_size`` (the DISFA-like set's 192 px) and resized to ``input_size``."""
    jobs = [(seed, i, frames_per_identity, render_size, input_size, p_on) for i in range(n_identities)]
    rendered = map_jobs(_render_identity, jobs, workers, "pretraining identities rendered", seconds=10.0, logger=log)
    xs, ys = zip(*rendered, strict=True)
    ident = np.repeat(np.arange(n_identities), frames_per_identity)
    return np.concatenate(xs), np.concatenate(ys), ident


def _array_batches(keras, x: np.ndarray, y: np.ndarray | None, batch_size: int, shuffle: bool, flip: bool, seed: int):
    """In-memory batches (the rendered set is small), order and flips a function of (seed, epoch, batch)."""

    class ArrayBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0

        def __len__(self):
            return math.ceil(len(x) / batch_size)

        def _order(self):
            return np.random.default_rng([seed, self.epoch]).permutation(len(x)) if shuffle else np.arange(len(x))

        def __getitem__(self, index):
            idx = self._order()[index * batch_size : (index + 1) * batch_size]
            xb = x[idx].astype(np.float32)
            if flip:
                f = np.random.default_rng([seed, self.epoch, index, 1]).random(len(idx)) < 0.5
                xb[f] = xb[f, :, ::-1]
            return (xb,) if y is None else (xb, y[idx].astype(np.float32))

        def on_epoch_end(self):
            self.epoch += 1

    return ArrayBatches()


def pretrain_backbone(
    out_weights: PathLike,
    input_size: int = 32,
    n_identities: int = 800,
    frames_per_identity: int = 10,
    epochs: int = 4,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    bn_momentum: float = 0.9,
    val_fraction: float = 0.1,
    p_on: float = 0.35,
    seed: int = 7,
    backend: str | None = "torch",
    threads: int | None = None,
    workers: int = 1,
) -> dict:
    """Render, train, save the backbone to ``out_weights`` (must end in ``.weights.h5``) and a JSON
    sidecar ``<out_weights>.json`` (settings, held-out AUC per AU, seconds, versions); returns it."""
    out_weights = Path(out_weights)
    if not out_weights.name.endswith(".weights.h5"):
        raise ValueError(f"{out_weights}: Keras weights files must end in .weights.h5")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction {val_fraction} must be in (0, 1)")
    from synthfer.fer.backend import device_name, use_backend

    keras = use_backend(backend, threads)
    from synthfer.fer.folds import au_loss_weights
    from synthfer.fer.metrics import roc_auc
    from synthfer.fer.model import WeightedBinaryCrossentropy, build_model

    t0 = time.monotonic()
    x, y, ident = render_pretraining_set(n_identities, frames_per_identity, input_size, seed, p_on=p_on, workers=workers)
    render_s = time.monotonic() - t0
    n_val_ident = max(1, int(round(val_fraction * n_identities)))
    is_val = ident >= n_identities - n_val_ident
    x_tr, y_tr, x_va, y_va = x[~is_val], y[~is_val], x[is_val], y[is_val]
    log.info("pretraining set: %d training / %d held-out frames (%d / %d identities), AU rates %s, %.1f s",
             len(x_tr), len(x_va), n_identities - n_val_ident, n_val_ident,
             dict(zip(AU_COLUMNS, np.round(y.mean(axis=0), 3).tolist(), strict=True)), render_s)

    keras.utils.set_random_seed(seed)
    model = build_model(input_size, None, (128, 128), 0.0, bn_momentum)
    pos_w, neg_w = au_loss_weights(y_tr.astype(np.float32))
    train_data = _array_batches(keras, x_tr, y_tr, batch_size, True, True, seed)
    steps = epochs * len(train_data)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss=WeightedBinaryCrossentropy(pos_w, neg_w),
                  jit_compile=False)

    class _LogEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if (batch + 1) % 50 == 0:
                log.info("pretraining epoch %d batch %d/%d: loss %.4f (%.0f s)", self.epoch + 1, batch + 1, len(train_data),
                         (logs or {}).get("loss", float("nan")), time.monotonic() - t1)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_epoch_end(self, epoch, logs=None):
            log.info("pretraining epoch %d/%d: loss %.4f (%.0f s)", epoch + 1, epochs, (logs or {}).get("loss", float("nan")),
                     time.monotonic() - t1)

    t1 = time.monotonic()
    model.fit(train_data, epochs=epochs, callbacks=[_LogEpoch()], verbose=0)
    fit_s = time.monotonic() - t1
    probs = np.asarray(model.predict(_array_batches(keras, x_va, None, 128, False, False, seed), verbose=0))
    aucs = {au: float(roc_auc(y_va[:, i], probs[:, i])) for i, au in enumerate(AU_COLUMNS)}
    log.info("held-out identities' AUC: %s", ", ".join(f"{a} {v:.3f}" for a, v in aucs.items()))

    # Copy the trained backbone into a stand-alone EfficientNetB0 (same layer names) and save only it:
    # the file keras.applications.EfficientNetB0(weights=<file>) loads, whatever the input size.
    backbone = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(input_size, input_size, 3),
                                                 pooling="avg")
    # The classifier's first layers are its backbone's, in order (auto-generated names such as
    # "normalization_1" differ between the two models, so pair them by position and class).
    for dst, src in zip(backbone.layers, model.layers[: len(backbone.layers)], strict=True):
        if type(dst) is not type(src):
            raise RuntimeError(f"backbone layer {dst.name} ({type(dst).__name__}) does not match {src.name} ({type(src).__name__})")
        dst.set_weights(src.get_weights())
    out_weights.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_weights, suffix=".weights.h5") as tmp:
        backbone.save_weights(tmp)
    info = {
        "what": "EfficientNet-B0 backbone (no top) pretrained on demo-rendered faces of identities disjoint from the "
        "demo's DISFA-like subjects and CFD-like portraits; the demo's stand-in for ImageNet weights",
        "weights": out_weights.name,
        "input_size": input_size,
        "n_identities": n_identities,
        "frames_per_identity": frames_per_identity,
        "n_train": int(len(x_tr)),
        "n_heldout": int(len(x_va)),
        "identity_stream": f"default_rng([{seed}, {_IDENT}, {_PRETRAIN}, identity])",
        "au_rates": dict(zip(AU_COLUMNS, map(float, y.mean(axis=0)), strict=True)),
        "epochs": epochs,
        "steps": steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "bn_momentum": bn_momentum,
        "p_on": p_on,
        "seed": seed,
        "heldout_auc": {a: (None if math.isnan(v) else v) for a, v in aucs.items()},  # None: no positives/negatives
        "render_seconds": round(render_s, 1),
        "fit_seconds": round(fit_s, 1),
        "backend": keras.backend.backend(),
        "device": device_name(keras),
        "threads": threads,
        "provenance": provenance(),
    }
    write_json(str(out_weights) + ".json", info)
    log.info("backbone saved to %s (%.1f MB) after %.0f s", out_weights, out_weights.stat().st_size / 1e6, time.monotonic() - t0)
    return info
