"""Tiny labelled image sets shared by the FER tests (helpers only; no tests here)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthfer import AU_COLUMNS
from synthfer.imaging import save_png


def au_image(labels, size: int = 40, rng=None) -> np.ndarray:
    """A grey square with a bright block in one of six places per active AU (learnable, flip-symmetric
    enough for a wiring test)."""
    rng = rng or np.random.default_rng(0)
    img = np.full((size, size, 3), 90, dtype=np.uint8) + rng.integers(0, 20, (size, size, 3), dtype=np.uint8)
    cell = size // 3
    for i, on in enumerate(labels):
        if on:
            r, c = divmod(i, 3)
            img[r * cell + 2 : r * cell + cell - 2, c * cell + 2 : c * cell + cell - 2] = 230
    return img


def make_real_set(root, n_subjects: int = 4, per_subject: int = 6, size: int = 40, seed: int = 0):
    """``root/labels.csv`` + ``root/images/<subject>_<j>.png``; returns the labels path."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(1, n_subjects + 1):
        for j in range(per_subject):
            lab = rng.integers(0, 2, len(AU_COLUMNS))
            lab[j % len(AU_COLUMNS)] = j % 2  # every AU has both classes in every subject
            name = f"images/SN{s:03d}_{j:02d}.png"
            save_png(root / name, au_image(lab, size, rng))
            rows.append({"image": name, "subject": f"SN{s:03d}", **dict(zip(AU_COLUMNS, lab.tolist(), strict=True))})
    path = root / "labels.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def make_synthetic_set(root, n: int = 6, size: int = 40, seed: int = 1):
    """Annotation-phase files for ``n`` images: ``(labels.csv, image_names.txt, raw/)``."""
    rng = np.random.default_rng(seed)
    names, rows = [], []
    for i in range(n):
        name = f"{100 + i}_{i:06d}"
        lab = rng.integers(0, 2, len(AU_COLUMNS))
        save_png(root / "raw" / f"{name}.png", au_image(lab, size, rng))
        names.append(name)
        rows.append({"Image_name": name, **dict(zip(AU_COLUMNS, lab.tolist(), strict=True))})
    pd.DataFrame(rows).to_csv(root / "labels.csv", index=False)
    (root / "image_names.txt").write_text("\n".join(names) + "\n")
    return root / "labels.csv", root / "image_names.txt", root / "raw"


def fer_config(**over) -> dict:
    """The ``fer`` config section's ``model``, ``train`` and ``model_selection`` at their schema defaults, with
    ``over`` (keys of fer.model, fer.train or fer itself) replacing them — what rule fer_fold passes on."""
    from pathlib import Path

    import yaml

    props = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/schema/fer.schema.yaml").read_text())["properties"]
    fer = {sec: {k: v["default"] for k, v in props[sec]["properties"].items()} for sec in ("model", "train")}
    fer["model_selection"] = props["model_selection"]["default"]
    for key, value in over.items():
        sec = next((s for s in ("model", "train") if key in fer[s]), None)
        if sec:
            fer[sec][key] = value
        elif key in fer:
            fer[key] = value
        else:
            raise KeyError(key)
    return fer


def tiny_options(seed: int = 7, **over):
    """FoldOptions of a tiny CPU run (32 px, random init, 2 epochs) with ``over`` on top."""
    from synthfer.fer.train import FoldOptions

    tiny = dict(backend="torch", weights=None, input_size=32, epochs=2, batch_size=8, learning_rate=1e-3,
                clipnorm=0.1, patience=1, bn_momentum=0.5, workers=2, budget="epochs")  # fmt: skip
    return FoldOptions.from_config(fer_config(**{**tiny, **over}), seed)
