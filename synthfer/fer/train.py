"""Training and validating one (variant, fold, replicate) job.

Outer fold k's subjects are the test set: their frames are predicted once, by the finished model, and their labels
are only copied into ``predictions.csv``. Nothing that shapes the model reads them (docs/fer.md "Model selection"):

- ``fer.model_selection: inner`` — the subjects of fold ``(k mod K) + 1`` (:func:`synthfer.fer.folds.inner_fold`)
  are the inner validation set, left out of training. Early stopping watches their ``val_auc`` and restores the
  best epoch's weights; the model trains on the other K − 2 folds (+ the variant's synthetic set).
- ``fer.model_selection: fixed`` — no validation set and no early stopping: exactly ``epochs`` epochs on the K − 1
  training folds, the last epoch's weights.

Budget (docs/fer.md "Budget"): ``fer.train.budget: steps`` gives every variant the same ``fer.train.steps``
optimiser steps, in ``epochs`` epochs of ``ceil(steps / epochs)`` full batches from an endless shuffled stream;
``epochs`` makes an epoch a full pass (or ``steps_per_epoch`` batches), so a larger training set also gets more
steps — confounding size with optimisation.

The random state is seeded from ``(seed, fold, repeat)`` — the same for every variant — so variants of one fold and
repeat start from the same initialisation and see the same validation frames (a paired design).

``val_auc`` = the mean of the per-AU ROC AUCs (:func:`synthfer.fer.metrics.roc_auc`) over the AUs that have both
classes among the inner validation frames (:class:`ValidationAUC`). An AU without positives (or negatives) in
training, inner validation or test is named in a warning and in ``train.json`` (``au_warnings``). When no AU has
both classes in the inner validation frames, ``val_loss`` is monitored instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthfer import AU_COLUMNS
from synthfer.fer.data import label_matrix, read_real_table, read_synthetic_set
from synthfer.fer.folds import au_loss_weights, inner_fold, read_folds, split_fold, split_inner
from synthfer.io import PathLike, atomic_path, provenance, write_json, write_table
from synthfer.logs import get_logger

log = get_logger(__name__)


MODEL_SELECTIONS = ("inner", "fixed")
BUDGETS = ("steps", "epochs")


@dataclass(frozen=True)
class FoldOptions:
    """Everything that shapes one fold's model, built once from the config (:meth:`from_config`). No field has a
    default: the schema (config/schema/fer.schema.yaml) is the one home of the defaults."""

    # fer.model
    backend: str | None
    weights: str | None
    input_size: int
    dense_units: tuple[int, ...]
    l1: float
    bn_momentum: float | None
    # fer.train
    epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    clipnorm: float | None
    steps_per_epoch: int | None
    budget: str
    steps: int
    flip: bool
    workers: int
    # fer.model_selection, seed
    model_selection: str
    seed: int

    def __post_init__(self):
        if self.model_selection not in MODEL_SELECTIONS:
            raise ValueError(f"config key 'fer.model_selection': {self.model_selection!r}. Fix: use inner or fixed.")
        if self.budget not in BUDGETS:
            raise ValueError(f"config key 'fer.train.budget': {self.budget!r}. Fix: use steps or epochs.")

    @classmethod
    def from_config(cls, fer: Mapping, seed: int) -> FoldOptions:
        """From the validated ``fer`` config section (schema defaults filled) and the master ``seed``."""
        m, t = fer["model"], fer["train"]
        return cls(
            backend=m["backend"], weights=m["weights"], input_size=int(m["input_size"]),
            dense_units=tuple(int(u) for u in m["dense_units"]), l1=float(m["l1"]), bn_momentum=m["bn_momentum"],
            epochs=int(t["epochs"]), patience=int(t["patience"]), batch_size=int(t["batch_size"]),
            learning_rate=float(t["learning_rate"]), clipnorm=t["clipnorm"], steps_per_epoch=t["steps_per_epoch"],
            budget=t["budget"], steps=int(t["steps"]), flip=bool(t["flip"]), workers=int(t["workers"]),
            model_selection=fer["model_selection"], seed=int(seed),
        )  # fmt: skip

    def epoch_steps(self, n_batches: int) -> int:
        """Optimiser steps per epoch for a training set of ``n_batches`` batches (one full pass)."""
        if self.budget == "steps":
            return math.ceil(self.steps / self.epochs)
        return min(int(self.steps_per_epoch), n_batches) if self.steps_per_epoch else n_batches


@dataclass(frozen=True)
class FoldOutputs:
    """The files one fold job writes (docs/fer.md); ``inner_predictions`` only with model selection ``inner``."""

    model: PathLike
    predictions: PathLike
    history: PathLike
    info: PathLike
    inner_predictions: PathLike | None = None

    @classmethod
    def in_folder(cls, folder: PathLike, inner: bool = True) -> FoldOutputs:
        f = Path(folder)
        return cls(f / "model.keras", f / "predictions.csv", f / "history.csv", f / "train.json",
                   f / "inner_predictions.csv" if inner else None)  # fmt: skip


def fold_seed(seed: int, fold: int, repeat: int = 0) -> int:
    """A 31-bit seed derived from the master seed, the fold and the repeat (not the variant, not the draw)."""
    return int(np.random.SeedSequence([int(seed), int(fold), int(repeat)]).generate_state(1)[0] & 0x7FFFFFFF)


def au_class_warnings(y_train: np.ndarray, y_val: np.ndarray | None, y_test: np.ndarray | None = None) -> list[str]:
    """One message per AU that lacks positives or negatives in the training, (inner) validation or test labels."""
    msgs = []
    for name, y in (("training", y_train), ("validation", y_val), ("test", y_test)):
        if y is None:
            continue
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
    model_selection: str = "inner",
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame, int]:
    """``(train, inner validation, test, n_synthetic)`` for outer ``fold``; inner validation is None with
    ``model_selection`` 'fixed'. ``synthetic`` = dict with ``labels``, ``names`` and ``images`` (the annotation
    variant's files and the raw image folder)."""
    real = read_real_table(real_table, check_files=check_files, image_root=image_root)
    folds = read_folds(folds_csv)
    if model_selection == "inner":
        train, val, test = split_inner(real, folds, fold)
    else:
        (train, test), val = split_fold(real, folds, fold), None
    n_syn = 0
    if synthetic:
        syn = read_synthetic_set(synthetic["labels"], synthetic["names"], synthetic["images"], check_files=check_files)
        n_syn = len(syn)
        train = pd.concat([train, syn], ignore_index=True)
    if train.empty or test.empty or (val is not None and val.empty):
        raise ValueError(f"fold {fold}: {len(train)} training, {0 if val is None else len(val)} inner validation and "
                         f"{len(test)} test images — need all")  # fmt: skip
    return train, val, test, n_syn


def _prediction_table(rows: pd.DataFrame, probs: np.ndarray) -> pd.DataFrame:
    pred = rows[["image", "subject", *AU_COLUMNS]].copy()
    for i, au in enumerate(AU_COLUMNS):
        pred[f"prob_{au}"] = probs[:, i]
    return pred


def train_fold(
    real_table: PathLike,
    folds_csv: PathLike,
    fold: int,
    out: FoldOutputs,
    opts: FoldOptions,
    *,
    synthetic: dict | None = None,
    variant: str = "",
    replicate: str = "r0",
    repeat: int = 0,
    threads: int | None = None,
    image_root: PathLike | None = None,
) -> dict:
    """Train one (variant, fold, replicate) and predict the fold's test subjects; returns the info dict also written
    to ``out.info`` (module docstring for the protocol).

    Writes ``out.model`` (``.keras``), ``out.predictions`` (CSV: image, subject, the six true labels, ``prob_<AU>``
    — the test subjects'), ``out.history`` (CSV: epoch, loss, and with inner selection val_loss, val_auc,
    val_auc_<AU> of the inner validation set), ``out.inner_predictions`` (inner selection: the same columns for the
    inner validation frames; read by the pseudo-label threshold rule ``inner``) and ``out.info`` (JSON).
    ``image_root``: where the real table's relative image paths start (None: the table's folder).
    """
    from synthfer.fer.backend import device_name, use_backend

    keras = use_backend(opts.backend, threads)
    from synthfer.fer.dataset import ImageBatches
    from synthfer.fer.model import build_model, compile_model

    inner = opts.model_selection == "inner"
    if inner and out.inner_predictions is None:
        raise ValueError("model selection 'inner' writes inner_predictions: give its path")
    train, val, test, n_syn = training_table(real_table, folds_csv, fold, synthetic, image_root=image_root,
                                             model_selection=opts.model_selection)  # fmt: skip
    y_train = label_matrix(train)
    y_val = label_matrix(val) if inner else None
    pos_w, neg_w = au_loss_weights(y_train)
    log.info(
        "variant %s fold %d replicate %s: %d training images (%d real, %d synthetic); %s; test subjects %s",
        variant or "?", fold, replicate, len(train), len(train) - n_syn, n_syn,
        f"{len(val)} inner validation images of subjects {', '.join(sorted(set(val['subject'])))}" if inner
        else "no inner validation (fixed epochs)", ", ".join(sorted(set(test["subject"]))),
    )  # fmt: skip
    for i, (au, wp, wn) in enumerate(zip(AU_COLUMNS, pos_w, neg_w, strict=True)):
        nval = int(y_val[:, i].sum()) if inner else 0
        log.info("  %s: %d training / %d inner validation positives, loss weights pos %.3f neg %.3f",
                 au, int(y_train[:, i].sum()), nval, wp, wn)  # fmt: skip
    au_warnings = au_class_warnings(y_train, y_val, label_matrix(test))
    for msg in au_warnings:
        log.warning("fold %d: %s", fold, msg)
    monitored = validation_aus(y_val) if inner else []
    monitor = None if not inner else "val_auc" if monitored else "val_loss"
    if inner and monitored:
        log.info("early stopping monitors val_auc (inner validation) = mean AUC over %s", ", ".join(monitored))
    elif inner:
        log.warning("fold %d: no AU has both classes in inner validation: early stopping monitors val_loss", fold)

    s = fold_seed(opts.seed, fold, repeat)
    keras.utils.set_random_seed(s)
    model = build_model(opts.input_size, opts.weights, opts.dense_units, opts.l1, opts.bn_momentum)
    compile_model(model, pos_w, neg_w, opts.learning_rate, opts.clipnorm)
    full_pass = math.ceil(len(train) / opts.batch_size)
    steps = opts.epoch_steps(full_pass)
    bs, size, workers = opts.batch_size, opts.input_size, opts.workers
    train_data = ImageBatches(train["path"], y_train, bs, size, shuffle=True, flip=opts.flip, seed=s, workers=workers,
                              steps_per_epoch=steps if opts.budget == "steps" else None)  # fmt: skip
    test_images = ImageBatches(test["path"], None, bs, size, workers=workers)
    callbacks, fit_kwargs, stop = [], {}, None
    if inner:
        val_images = ImageBatches(val["path"], None, bs, size, workers=workers)
        stop = keras.callbacks.EarlyStopping(monitor=monitor, mode="max" if monitored else "min",
                                             patience=opts.patience, restore_best_weights=True)  # fmt: skip

        class ValidationAUC(keras.callbacks.Callback):
            """Adds ``val_auc`` (mean over the AUs with both classes) and ``val_auc_<AU>`` of the inner validation
            set to the epoch's logs; listed before EarlyStopping, which reads the same logs."""

            def on_epoch_end(self, epoch, logs=None):
                probs = np.asarray(self.model.predict(val_images, verbose=0), dtype=np.float64).reshape(len(val), -1)
                aucs = per_au_auc(y_val, probs)
                if logs is not None:
                    logs["val_auc"] = aucs.pop("mean")
                    logs.update({f"val_auc_{au}": v for au, v in aucs.items()})

        callbacks = [ValidationAUC(), stop]
        fit_kwargs["validation_data"] = ImageBatches(val["path"], y_val, bs, size, workers=workers)

    class _LogEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            items = [(k, v) for k, v in (logs or {}).items() if not (k.startswith("val_auc_") and np.isnan(v))]
            log.info("epoch %d/%d: %s", epoch + 1, opts.epochs, ", ".join(f"{k} {v:.4f}" for k, v in items))

    t0 = time.monotonic()
    history = model.fit(train_data, epochs=opts.epochs, steps_per_epoch=steps, callbacks=[*callbacks, _LogEpoch()],
                        verbose=0, **fit_kwargs)  # fmt: skip
    fit_s = time.monotonic() - t0
    n_epochs = len(history.history.get("loss", []))
    hist = pd.DataFrame({"epoch": np.arange(1, n_epochs + 1), **{k: np.asarray(v, dtype=float) for k, v in history.history.items()}})
    best_epoch = int(stop.best_epoch) + 1 if inner else n_epochs

    t1 = time.monotonic()
    probs = np.asarray(model.predict(test_images, verbose=0), dtype=np.float64).reshape(len(test), len(AU_COLUMNS))
    predict_s = time.monotonic() - t1

    Path(out.model).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out.model, suffix=".keras") as tmp:
        model.save(tmp)
    write_table(out.predictions, _prediction_table(test, probs))
    if inner:
        val_probs = np.asarray(model.predict(val_images, verbose=0), dtype=np.float64).reshape(len(val), -1)
        write_table(out.inner_predictions, _prediction_table(val, val_probs))
    write_table(out.history, hist)
    k = int(read_folds(folds_csv)["fold"].astype(int).max())
    info = {
        "variant": variant,
        "fold": int(fold),
        "replicate": replicate,
        "repeat": int(repeat),
        "seed": s,
        "seed_rule": "SeedSequence([seed, fold, repeat])",
        "model_selection": opts.model_selection,
        "test_subjects": sorted(set(test["subject"])),
        "validation_subjects": sorted(set(test["subject"])),  # the outer fold's (kept for older readers)
        "inner_fold": inner_fold(fold, k) if inner else None,
        "inner_subjects": sorted(set(val["subject"])) if inner else [],
        "n_train": len(train),
        "n_train_real": len(train) - n_syn,
        "n_train_synthetic": n_syn,
        "n_inner_validation": len(val) if inner else 0,
        "n_validation": len(test),
        "pos_weights": dict(zip(AU_COLUMNS, map(float, pos_w), strict=True)),
        "neg_weights": dict(zip(AU_COLUMNS, map(float, neg_w), strict=True)),
        "monitor": monitor,
        "monitored_aus": monitored,
        "au_warnings": au_warnings,
        "budget": opts.budget,
        "steps_budget": opts.steps if opts.budget == "steps" else opts.epochs * steps,
        "steps_per_epoch": steps,
        "steps_run": n_epochs * steps,
        "steps_to_best": best_epoch * steps,
        "epochs_run": n_epochs,
        "best_epoch": best_epoch,
        "options": asdict(opts),
        "fit_seconds": round(fit_s, 3),
        "train_images_per_second": round(n_epochs * steps * bs / fit_s, 2) if fit_s > 0 else None,
        "predict_seconds": round(predict_s, 3),
        "backend": keras.backend.backend(),
        "device": device_name(keras),
        "provenance": provenance(),
    }
    write_json(out.info, info)
    log.info("fold %d replicate %s done: %s epoch %d of %d (%d steps), %.1f s fitting (%.1f images/s)", fold,
             replicate, "best" if inner else "last", best_epoch, n_epochs, n_epochs * steps, fit_s,
             info["train_images_per_second"] or 0)  # fmt: skip
    return info
