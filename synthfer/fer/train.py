"""Training and validating one (variant, fold) job.

Fold ``fold`` trains on the real frames of every subject outside it plus the variant's synthetic
set (none for ``real_only``) and validates on its own subjects' real frames. Early stopping
watches the validation AUC and restores the best epoch's weights. The random state is seeded from
``(seed, fold)`` — the same for every variant — so variants of one fold start from the same
initialisation and see the same validation frames (a paired design for the Wilcoxon test).

Early stopping monitors ``val_auc`` = the mean of the per-AU ROC AUCs (:func:`synthfer.fer.metrics.roc_auc`)
over the AUs that have both classes among the fold's validation frames (:class:`ValidationAUC`). An AU
without positives (or negatives) in training or validation is named in a warning and in ``train.json``
(``au_warnings``); Keras' multi-label AUC is not used, as an AU without positives drags it far below
every per-AU value. When no AU has both classes in validation, ``val_loss`` is monitored instead.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from synthfer import AU_COLUMNS
from synthfer.fer.data import label_matrix, read_real_table, read_synthetic_set
from synthfer.fer.folds import au_loss_weights, read_folds, split_fold
from synthfer.io import PathLike, atomic_path, provenance, write_json, write_table
from synthfer.logs import get_logger

log = get_logger(__name__)


def fold_seed(seed: int, fold: int) -> int:
    """A 31-bit seed derived from the master seed and the fold (not the variant)."""
    return int(np.random.SeedSequence([int(seed), int(fold)]).generate_state(1)[0] & 0x7FFFFFFF)


def au_class_warnings(y_train: np.ndarray, y_val: np.ndarray) -> list[str]:
    """One message per AU that lacks positives or negatives in the training or validation labels."""
    msgs = []
    for name, y in (("training", y_train), ("validation", y_val)):
        n_pos = np.asarray(y).sum(axis=0)
        for au, npos in zip(AU_COLUMNS, n_pos, strict=True):
            if npos == 0:
                msgs.append(f"{au}: no positive {name} image")
            elif npos == len(y):
                msgs.append(f"{au}: no negative {name} image")
    return msgs


def validation_aus(y_val: np.ndarray) -> list[str]:
    """The AUs with both classes among the validation labels (those an AUC exists for)."""
    n_pos = np.asarray(y_val).sum(axis=0)
    return [au for au, npos in zip(AU_COLUMNS, n_pos, strict=True) if 0 < npos < len(y_val)]


def per_au_auc(y_true: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """``{AU: ROC AUC}`` (NaN for an AU with one class) and ``mean`` over the finite ones (NaN if none)."""
    from synthfer.fer.metrics import roc_auc

    aucs = {au: roc_auc(y_true[:, i], probs[:, i]) for i, au in enumerate(AU_COLUMNS)}
    finite = [v for v in aucs.values() if np.isfinite(v)]
    return {**aucs, "mean": float(np.mean(finite)) if finite else float("nan")}


def training_table(
    real_table: PathLike,
    folds_csv: PathLike,
    fold: int,
    synthetic: dict | None = None,
    check_files: bool = True,
    image_root: PathLike | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(train, validation, n_synthetic)`` for ``fold``; ``synthetic`` = dict with ``labels``,
    ``names`` and ``images`` (the annotation variant's files and the raw image folder)."""
    real = read_real_table(real_table, check_files=check_files, image_root=image_root)
    train, val = split_fold(real, read_folds(folds_csv), fold)
    n_syn = 0
    if synthetic:
        syn = read_synthetic_set(synthetic["labels"], synthetic["names"], synthetic["images"], check_files=check_files)
        n_syn = len(syn)
        train = pd.concat([train, syn], ignore_index=True)
    if train.empty or val.empty:
        raise ValueError(f"fold {fold}: {len(train)} training and {len(val)} validation images — need both")
    return train, val, n_syn


def train_fold(
    real_table: PathLike,
    folds_csv: PathLike,
    fold: int,
    out_model: PathLike,
    out_predictions: PathLike,
    out_history: PathLike,
    out_info: PathLike,
    synthetic: dict | None = None,
    variant: str = "",
    backend: str | None = "tensorflow",
    threads: int | None = None,
    weights: str | None = "imagenet",
    input_size: int = 224,
    dense_units=(128, 128),
    l1: float = 1e-4,
    bn_momentum: float | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 1e-6,
    clipnorm: float = 0.1,
    patience: int = 3,
    steps_per_epoch: int | None = None,
    flip: bool = True,
    seed: int = 2023,
    workers: int = 1,
    image_root: PathLike | None = None,
) -> dict:
    """Train, validate and save one fold; returns the info dict also written to ``out_info``.

    ``steps_per_epoch`` (None = a full pass) caps the batches per epoch; each epoch then draws a new
    random subset (the order is reshuffled every epoch) — for time-boxed runs such as the demo.

    Writes ``out_model`` (``.keras``), ``out_predictions`` (CSV: image, subject, the six true labels,
    ``prob_<AU>``), ``out_history`` (CSV: epoch, loss, val_loss, val_auc, val_auc_<AU>) and ``out_info`` (JSON).
    ``image_root``: where the real table's relative image paths start (None: the table's folder).
    """
    from synthfer.fer.backend import device_name, use_backend

    keras = use_backend(backend, threads)
    from synthfer.fer.dataset import ImageBatches
    from synthfer.fer.model import build_model, compile_model

    train, val, n_syn = training_table(real_table, folds_csv, fold, synthetic, image_root=image_root)
    y_train = label_matrix(train)
    y_val = label_matrix(val)
    pos_w, neg_w = au_loss_weights(y_train)
    log.info(
        "variant %s fold %d: %d training images (%d real, %d synthetic), %d validation images of subjects %s",
        variant or "?", fold, len(train), len(train) - n_syn, n_syn, len(val), ", ".join(sorted(set(val["subject"]))),
    )
    for au, wp, wn, npos, nval in zip(AU_COLUMNS, pos_w, neg_w, y_train.sum(axis=0), y_val.sum(axis=0), strict=True):
        log.info("  %s: %d training / %d validation positives, loss weights pos %.3f neg %.3f", au, npos, nval, wp, wn)
    au_warnings = au_class_warnings(y_train, y_val)
    for msg in au_warnings:
        log.warning("fold %d: %s", fold, msg)
    monitored = validation_aus(y_val)
    monitor = "val_auc" if monitored else "val_loss"
    if monitored:
        log.info("early stopping monitors val_auc = mean AUC over %s", ", ".join(monitored))
    else:
        log.warning("fold %d: no AU has both classes in validation: early stopping monitors val_loss", fold)

    s = fold_seed(seed, fold)
    keras.utils.set_random_seed(s)
    model = build_model(input_size, weights, dense_units, l1, bn_momentum)
    compile_model(model, pos_w, neg_w, learning_rate, clipnorm)
    train_data = ImageBatches(train["path"], y_train, batch_size, input_size, shuffle=True, flip=flip, seed=s, workers=workers)
    val_data = ImageBatches(val["path"], y_val, batch_size, input_size, workers=workers)
    val_images = ImageBatches(val["path"], None, batch_size, input_size, workers=workers)
    stop = keras.callbacks.EarlyStopping(monitor=monitor, mode="max" if monitored else "min", patience=patience,
                                         restore_best_weights=True)

    class ValidationAUC(keras.callbacks.Callback):
        """Adds ``val_auc`` (mean over the AUs with both classes) and ``val_auc_<AU>`` to the epoch's
        logs; listed before EarlyStopping, which reads the same logs."""

        def on_epoch_end(self, epoch, logs=None):
            probs = np.asarray(self.model.predict(val_images, verbose=0), dtype=np.float64).reshape(len(val), -1)
            aucs = per_au_auc(y_val, probs)
            if logs is not None:
                logs["val_auc"] = aucs.pop("mean")
                logs.update({f"val_auc_{au}": v for au, v in aucs.items()})

    class _LogEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            items = [(k, v) for k, v in (logs or {}).items() if not (k.startswith("val_auc_") and np.isnan(v))]
            log.info("epoch %d/%d: %s", epoch + 1, epochs, ", ".join(f"{k} {v:.4f}" for k, v in items))

    t0 = time.monotonic()
    steps = min(int(steps_per_epoch), len(train_data)) if steps_per_epoch else len(train_data)
    history = model.fit(
        train_data,
        validation_data=val_data,
        epochs=epochs,
        steps_per_epoch=steps,
        callbacks=[ValidationAUC(), stop, _LogEpoch()],
        verbose=0,
    )
    fit_s = time.monotonic() - t0
    n_epochs = len(history.history.get("loss", []))
    hist = pd.DataFrame({"epoch": np.arange(1, n_epochs + 1), **{k: np.asarray(v, dtype=float) for k, v in history.history.items()}})
    best_epoch = int(stop.best_epoch) + 1

    t1 = time.monotonic()
    probs = model.predict(val_images, verbose=0)
    predict_s = time.monotonic() - t1
    probs = np.asarray(probs, dtype=np.float64).reshape(len(val), len(AU_COLUMNS))
    pred = val[["image", "subject", *AU_COLUMNS]].copy()
    for i, au in enumerate(AU_COLUMNS):
        pred[f"prob_{au}"] = probs[:, i]

    Path(out_model).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_model, suffix=".keras") as tmp:
        model.save(tmp)
    write_table(out_predictions, pred)
    write_table(out_history, hist)
    info = {
        "variant": variant,
        "fold": int(fold),
        "seed": s,
        "validation_subjects": sorted(set(val["subject"])),
        "n_train": len(train),
        "n_train_real": len(train) - n_syn,
        "n_train_synthetic": n_syn,
        "n_validation": len(val),
        "pos_weights": dict(zip(AU_COLUMNS, map(float, pos_w), strict=True)),
        "neg_weights": dict(zip(AU_COLUMNS, map(float, neg_w), strict=True)),
        "monitor": monitor,
        "monitored_aus": monitored,
        "au_warnings": au_warnings,
        "epochs_run": n_epochs,
        "best_epoch": best_epoch,
        "fit_seconds": round(fit_s, 3),
        "steps_per_epoch": steps,
        "train_images_per_second": round(n_epochs * min(steps * batch_size, len(train)) / fit_s, 2) if fit_s > 0 else None,
        "predict_seconds": round(predict_s, 3),
        "backend": keras.backend.backend(),
        "device": device_name(keras),
        "provenance": provenance(),
    }
    write_json(out_info, info)
    log.info("fold %d done: best epoch %d of %d, %.1f s fitting (%.1f images/s)", fold, best_epoch, n_epochs, fit_s,
             info["train_images_per_second"] or 0)
    return info
