"""A quality model learnt from the real crops: ε-SVR on BRISQUE features → degradation severity.

The seed thesis fitted an SVR to "dummy targets"; here the targets are known. Each real crop (at
the synthetic size) is degraded at graded strengths — Gaussian blur (σ in px), additive Gaussian
noise (σ in grey levels, clipped to [0, 255]) and JPEG re-encoding (OpenCV quality) — and the
target is the strength's level 1…L (0 for the untouched crop). An RBF ε-SVR (scikit-learn,
features standardised) maps the 36 BRISQUE features to that severity. The crops are split into a
training and a held-out part (by crop, seeded), so validation images are faces the model never
saw; held-out MSE and Spearman ρ are reported and stored with the model. ``svr_severity`` of a
synthetic image is the model's prediction (≈ 0 clean … L heavily degraded).

Noise is drawn from ``numpy.random.default_rng([seed, crop_index, level])`` so every sample is
reproducible on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthfer.io import PathLike, atomic_path, provenance, write_json, write_table
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)


def degrade(rgb: np.ndarray, kind: str, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """One uint8 RGB image degraded by ``kind`` ∈ {blur, noise, jpeg} at ``strength``."""
    import cv2

    if kind == "blur":
        return cv2.GaussianBlur(rgb, (0, 0), sigmaX=float(strength), borderType=cv2.BORDER_REFLECT)
    if kind == "noise":
        rng = rng or np.random.default_rng(0)
        noisy = rgb.astype(np.float64) + rng.normal(0.0, float(strength), rgb.shape)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if kind == "jpeg":
        ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(strength)])
        if not ok:
            raise RuntimeError("OpenCV could not JPEG-encode the image")
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    raise ValueError(f"unknown degradation {kind!r} (use blur, noise or jpeg)")


def degraded_set(
    images: np.ndarray, levels: dict[str, list[float]], seed: int, offset: int = 0
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """All degraded versions of ``images``: (images [M,H,W,3], severity [M], info rows)."""
    out, target, info = [], [], []
    for i, im in enumerate(images):
        out.append(im)
        target.append(0.0)
        info.append({"crop": offset + i, "kind": "none", "strength": 0.0, "severity": 0})
        for kind, strengths in levels.items():
            for lvl, s in enumerate(strengths, start=1):
                rng = np.random.default_rng([seed, offset + i, lvl])
                out.append(degrade(im, kind, s, rng))
                target.append(float(lvl))
                info.append({"crop": offset + i, "kind": kind, "strength": float(s), "severity": lvl})
    return np.stack(out), np.asarray(target), info


def _features_chunked(images: np.ndarray, chunk: int = 32) -> np.ndarray:
    from synthfer.iqa.brisque import features

    return np.concatenate([features(images[i : i + chunk]) for i in range(0, len(images), chunk)])


def train_svr(
    references_npz: PathLike,
    model_path: PathLike,
    validation_json: PathLike,
    predictions_csv: PathLike,
    levels: dict[str, list[float]],
    train_fraction: float = 0.7,
    max_crops: int | None = None,
    c: float = 10.0,
    epsilon: float = 0.1,
    gamma: str | float = "scale",
    seed: int = 2023,
) -> dict[str, Any]:
    """Train and validate the severity SVR on the reference crops; persist model + figures."""
    import joblib
    import pandas as pd
    from scipy.stats import spearmanr
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    with np.load(references_npz, allow_pickle=False) as f:
        crops, names = f["images"], f["names"].astype(str)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(crops))
    if max_crops:
        order = order[:max_crops]
    if len(order) < 4:
        raise ValueError(f"{references_npz}: {len(order)} crops; the SVR needs at least 4 (2 to train, 2 to validate)")
    n_train = min(max(2, int(round(train_fraction * len(order)))), len(order) - 2)
    tr, va = np.sort(order[:n_train]), np.sort(order[n_train:])
    prog = Progress(log, 2, "SVR feature sets (train, held-out)")
    x_tr_img, y_tr, _ = degraded_set(crops[tr], levels, seed, offset=0)
    f_tr = _features_chunked(x_tr_img)
    prog.update()
    x_va_img, y_va, info_va = degraded_set(crops[va], levels, seed, offset=len(crops))
    f_va = _features_chunked(x_va_img)
    prog.update()
    model = make_pipeline(StandardScaler(), SVR(kernel="rbf", C=c, epsilon=epsilon, gamma=gamma))
    model.fit(f_tr, y_tr)
    pred_va = model.predict(f_va)
    pred_tr = model.predict(f_tr)
    mse = float(np.mean((pred_va - y_va) ** 2))
    rho = float(spearmanr(pred_va, y_va).statistic)
    per_kind = {}
    for kind in levels:
        m = np.array([r["kind"] in (kind, "none") for r in info_va])
        per_kind[kind] = {
            "spearman_rho": float(spearmanr(pred_va[m], y_va[m]).statistic),
            "mse": float(np.mean((pred_va[m] - y_va[m]) ** 2)),
        }
    # Baseline: always predicting the mean training severity.
    mse_const = float(np.mean((y_va - y_tr.mean()) ** 2))
    figures = {
        "n_crops_train": int(len(tr)),
        "n_crops_heldout": int(len(va)),
        "n_samples_train": int(len(y_tr)),
        "n_samples_heldout": int(len(y_va)),
        "heldout_mse": mse,
        "heldout_mse_constant_baseline": mse_const,
        "heldout_spearman_rho": rho,
        "train_mse": float(np.mean((pred_tr - y_tr) ** 2)),
        "per_degradation": per_kind,
        "levels": levels,
        "params": {"C": c, "epsilon": epsilon, "gamma": gamma, "train_fraction": train_fraction, "seed": seed},
        "features": "BRISQUE 36 (synthfer.iqa.brisque.features)",
        "provenance": provenance(),
    }
    with atomic_path(model_path) as tmp:
        joblib.dump({"model": model, "validation": figures, "heldout_crops": names[va].tolist()}, tmp)
    write_json(validation_json, figures)
    rows = pd.DataFrame(info_va)
    per_crop = 1 + sum(len(v) for v in levels.values())
    rows["crop"] = np.repeat(names[va], per_crop)
    rows["predicted"] = pred_va
    write_table(predictions_csv, rows)
    log.info("SVR severity model: held-out MSE %.3f (constant baseline %.3f), Spearman rho %.3f", mse, mse_const, rho)
    return figures


def load_svr(path: PathLike):
    """The fitted scikit-learn pipeline stored by :func:`train_svr`."""
    import joblib

    path = Path(path)
    obj = joblib.load(path)
    if not isinstance(obj, dict) or "model" not in obj:
        raise ValueError(f"{path}: not a synthfer SVR model file")
    return obj["model"]
