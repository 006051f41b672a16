"""Model labels for the synthetic pool — the seed thesis' baseline (FER variant ``synthetic_pseudo``).

The thesis' baseline model "solely uses a model's prediction to annotate the presence of AUs in the
generated synthetic data". Here the model is the ``real_only`` k-fold ensemble (``synthfer predict``,
:func:`synthfer.fer.predict.predict_folder`, run by rule ``annotate_pseudo_predict`` over the generated
images): an image gets AU a when the mean of the k models' probabilities ``<AU>_prob ≥ threshold``
(default 0.5). The images are those of ``synthetic_all`` — every generated image passing the face filter —
in the same order, so the two variants differ only in their labels.

Caveat (documented in docs/annotate.md): every fold model but one has seen the real frames of any given
validation fold, so the labels carry a little of what the ensemble learned from those subjects into each
fold's training set. The thesis' baseline had the same property.

Agreement with the seed-ID labels of the same images, per AU (``agreement.csv``): ``au``, ``n`` (images),
``seed_positive``, ``pseudo_positive``, ``both_positive`` (int), ``agreement`` (share of equal labels),
``kappa`` — Cohen's κ = (p_o − p_e) / (1 − p_e), p_o the observed agreement, p_e = p⁺_seed·p⁺_pseudo +
p⁻_seed·p⁻_pseudo; NaN when p_e = 1 (both label sets constant and equal). A row ``any`` compares "some AU" vs
"neutral".
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS as AU_NAMES
from synthfer.annotate.labels import write_annotation
from synthfer.io import PathLike, provenance, read_table, sidecar_path, write_json, write_table, write_text
from synthfer.logs import get_logger
from synthfer.variants import PSEUDO

log = get_logger(__name__)

AGREEMENT_COLUMNS = ["au", "n", "seed_positive", "pseudo_positive", "both_positive", "agreement", "kappa"]


def cohen_kappa(a, b) -> float:
    """Cohen's κ of two binary label vectors (NaN when chance agreement is 1)."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"cohen_kappa: label vectors of shapes {a.shape} and {b.shape}")
    if len(a) == 0:
        return float("nan")
    po = float((a == b).mean())
    pa, pb = float(a.mean()), float(b.mean())
    pe = pa * pb + (1 - pa) * (1 - pb)
    return float("nan") if pe >= 1.0 else (po - pe) / (1.0 - pe)


def threshold_predictions(predictions, stems: list[str], threshold: float) -> np.ndarray:
    """uint8 ``[N, 6]``: ``<AU>_prob ≥ threshold`` for the images ``stems`` (rows of a
    :func:`~synthfer.fer.predict.predict_folder` table, whose ``image`` is ``{stem}.png``)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"annotate.pseudo_threshold must be in [0, 1], got {threshold}")
    need = ["image", *(f"{a}_prob" for a in AU_NAMES)]
    missing = [c for c in need if c not in predictions.columns]
    if missing:
        raise ValueError(f"prediction table: missing column(s) {', '.join(missing)} (expected synthfer predict's output)")
    by_stem = predictions.assign(stem=[Path(str(i)).stem for i in predictions["image"]]).set_index("stem")
    absent = [s for s in stems if s not in by_stem.index]
    if absent:
        raise ValueError(f"prediction table: {len(absent)} image(s) have no prediction, e.g. {absent[0]}.png")
    probs = by_stem.loc[stems, [f"{a}_prob" for a in AU_NAMES]].to_numpy(dtype=np.float64)
    if np.isnan(probs).any():
        row = stems[int(np.flatnonzero(np.isnan(probs).any(axis=1))[0])]
        err = by_stem.loc[row, "error"] if "error" in by_stem.columns else ""
        raise ValueError(f"prediction table: image {row}.png could not be predicted ({err or 'no probability'})")
    return (probs >= threshold).astype(np.uint8)


def agreement_table(seed_labels: np.ndarray, pseudo_labels: np.ndarray):
    """Per-AU agreement between seed-ID and model labels (module docstring)."""
    import pandas as pd

    seed_labels = np.asarray(seed_labels, dtype=bool)
    pseudo_labels = np.asarray(pseudo_labels, dtype=bool)
    rows = []
    columns = [(au, seed_labels[:, i], pseudo_labels[:, i]) for i, au in enumerate(AU_NAMES)]
    columns.append(("any", seed_labels.any(axis=1), pseudo_labels.any(axis=1)))
    for au, s, p in columns:
        rows.append((au, len(s), int(s.sum()), int(p.sum()), int((s & p).sum()),
                     float((s == p).mean()) if len(s) else np.nan, cohen_kappa(s, p)))  # fmt: skip
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def agreement_html(table, threshold: float, k_models: int) -> str:
    head = "".join(f"<th>{c}</th>" for c in AGREEMENT_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{v:.3f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
        for r in table.itertuples(index=False)
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Pseudo-label agreement</title><style>"
        "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}</style></head><body><h3>Model labels vs seed-ID labels (synthetic_pseudo)"
        f"</h3><table><tr>{head}</tr>{body}</table><p>Model label: mean probability of the {k_models} real_only fold "
        f"models ≥ {threshold:g}. κ = Cohen's kappa; agreement = share of equal labels; any = some AU vs neutral."
        "</p></body></html>"
    )


def annotate_pseudo(
    predictions_csv: PathLike,
    seed_labels_csv: PathLike,
    seed_names_txt: PathLike,
    out_npy: PathLike,
    out_names: PathLike,
    out_csv: PathLike,
    out_counts: PathLike,
    out_plot: PathLike,
    out_agreement: PathLike,
    out_agreement_html: PathLike,
    threshold: float = 0.5,
    variant: str = PSEUDO,
    predictions_json: PathLike | None = None,
    out_agreement_json: PathLike | None = None,
) -> dict:
    """Rule ``annotate_pseudo``: model labels for the images of the seed-ID variant ``synthetic_all``
    (``seed_labels_csv`` + ``seed_names_txt``, same order), and their agreement with the seed-ID labels.

    ``predictions_json``: the prediction rule's sidecar (number of models; default ``<predictions_csv>.json``,
    read when it exists); ``out_agreement_json``: the agreement's sidecar (rule ``annotate_pseudo``:
    ``agreement.json``; default ``out_agreement`` with ``.json``)."""
    import json

    preds = read_table(predictions_csv, dtype={"image": str}, keep_default_na=False, na_values=[""])
    seed = read_table(seed_labels_csv, dtype={"Image_name": str}, keep_default_na=False)
    stems = [Path(n).stem for n in Path(seed_names_txt).read_text().split()]
    if [Path(n).stem for n in seed["Image_name"]] != stems:
        raise ValueError(f"{seed_labels_csv} and {seed_names_txt} list different images")
    if not stems:
        raise ValueError(f"{seed_names_txt}: no image to label")
    labels = threshold_predictions(preds, stems, threshold)
    counts = write_annotation(stems, labels, 0, out_npy, out_names, out_csv, out_counts, out_plot, variant)
    agreement = agreement_table(seed[list(AU_NAMES)].to_numpy(dtype=np.int64), labels)
    write_table(out_agreement, agreement)
    sidecar = Path(predictions_json if predictions_json is not None else str(predictions_csv) + ".json")
    k = len(json.loads(sidecar.read_text()).get("models", [])) if sidecar.is_file() else 0
    write_text(out_agreement_html, agreement_html(agreement, threshold, k))
    write_json(
        sidecar_path(out_agreement_json, out_agreement),
        {"threshold": threshold, "predictions": str(predictions_csv), "n_models": k, "n_images": len(stems),
         "provenance": provenance()},
    )
    log.info(
        "%s: %d images labelled by the ensemble (threshold %g); %s; kappa %s",
        variant, len(stems), threshold,
        ", ".join(f"{r.label} {r.count}" for r in counts.itertuples() if r.label in (*AU_NAMES, "neutral")),
        ", ".join(f"{r.au} {r.kappa:.2f}" for r in agreement.itertuples()),
    )  # fmt: skip
    return {"n": len(stems)}
