"""Model labels for the synthetic pool — the seed thesis' baseline (FER variant ``synthetic_pseudo``), leak-free.

The thesis' baseline model "solely uses a model's prediction to annotate the presence of AUs in the generated
synthetic data". It labelled the pool once with all 13 fold models, 12 of which had trained on any given test
fold's subjects. Here the labels are **per fold**: the synthetic training set of outer fold k (replicate r) is
labelled by ``real_only``'s model of fold k, replicate r — trained without fold k's subjects, its epochs chosen
without their labels (docs/fer.md "Model selection") — so flipping fold k's labels changes neither its pseudo
labels nor its ``synthetic_pseudo`` model. Rule ``annotate_pseudo_predict`` runs every real_only fold model over
the generated images (one table per model, :func:`synthfer.fer.predict.predict_each`); rule ``annotate_pseudo``
(one job per fold and replicate) thresholds them by ``annotate.pseudo_rule``:

- ``fixed`` — AU a when ``p_a ≥ annotate.pseudo_threshold`` (0.5);
- ``inner`` — a per-AU threshold chosen on the same model's inner validation predictions (the real frames of
  fold (k mod K) + 1, training subjects of fold k): the one maximising Youden's J = TPR − FPR over the candidate
  cuts (the distinct predicted values; ties → the highest cut). An AU with a single class there falls back to
  ``pseudo_threshold`` (``thresholds.csv`` says so);
- ``majority`` — the seed thesis' majority vote, over the models that may label fold k: the ``fer.repeats``
  real_only models of fold k (votes > R/2, each at ``pseudo_threshold``; with R = 1 this equals ``fixed``).

The images are those of ``synthetic_all`` — every generated image passing the face filter — in the same order, so
the two variants differ only in their labels.

Agreement with the seed-ID labels of the same images, per AU (``agreement.csv`` of a fold; rule
``annotate_pseudo_agreement`` stacks every fold's and adds ``pooled``): ``au``, ``n`` (images),
``seed_positive``, ``pseudo_positive``, ``both_positive`` (int), ``seed_rate``, ``pseudo_rate`` (positive rates of
the two label sets — κ depends on them), ``agreement`` (share of equal labels), ``kappa`` — Cohen's κ = (p_o − p_e)
/ (1 − p_e), p_o the observed agreement, p_e = p⁺_seed·p⁺_pseudo + p⁻_seed·p⁻_pseudo; NaN when p_e = 1 — and
``kappa_low``, ``kappa_high``: the percentile bootstrap interval over images (``annotate.agreement_bootstrap``
resamples, ``annotate.agreement_ci_level``; pooled: the same resampled images in every fold). A row ``any``
compares "some AU" vs "neutral".
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.annotate.labels import write_annotation
from synthfer.io import PathLike, provenance, read_table, sidecar_path, write_json, write_table, write_text
from synthfer.logs import get_logger
from synthfer.variants import PSEUDO

log = get_logger(__name__)

AGREEMENT_COLUMNS = ["au", "n", "seed_positive", "pseudo_positive", "both_positive", "seed_rate", "pseudo_rate",
                     "agreement", "kappa", "kappa_low", "kappa_high"]
PSEUDO_RULES = ("fixed", "inner", "majority")
THRESHOLD_COLUMNS = ["au", "threshold", "how", "inner_n", "inner_positive", "youden_j"]


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
    need = ["image", *(f"{a}_prob" for a in AU_COLUMNS)]
    missing = [c for c in need if c not in predictions.columns]
    if missing:
        raise ValueError(f"prediction table: missing column(s) {', '.join(missing)} (expected synthfer predict's output)")
    by_stem = predictions.assign(stem=[Path(str(i)).stem for i in predictions["image"]]).set_index("stem")
    absent = [s for s in stems if s not in by_stem.index]
    if absent:
        raise ValueError(f"prediction table: {len(absent)} image(s) have no prediction, e.g. {absent[0]}.png")
    probs = by_stem.loc[stems, [f"{a}_prob" for a in AU_COLUMNS]].to_numpy(dtype=np.float64)
    if np.isnan(probs).any():
        row = stems[int(np.flatnonzero(np.isnan(probs).any(axis=1))[0])]
        err = by_stem.loc[row, "error"] if "error" in by_stem.columns else ""
        raise ValueError(f"prediction table: image {row}.png could not be predicted ({err or 'no probability'})")
    return (probs >= threshold).astype(np.uint8)


def kappa_interval(seed: np.ndarray, pseudo: np.ndarray, n_boot: int, level: float, rng) -> tuple[float, float]:
    """Percentile bootstrap interval of κ over images. ``seed`` ``(n,)``; ``pseudo`` ``(n,)`` or ``(F, n)`` (F folds'
    labels of the same n images: each resample takes the same images in every fold, κ of the stacked pairs).

    κ needs only three sums over the pairs, so each image is reduced to its seed label, its number of positive model
    labels and its number of agreeing folds, and a resample sums those: memory and time do not grow with F."""
    seed = np.asarray(seed, dtype=bool)
    pseudo = np.asarray(pseudo, dtype=bool).reshape(-1, len(seed))
    n_sets, n = pseudo.shape
    if n_boot <= 0 or n == 0:
        return float("nan"), float("nan")
    per_image = np.stack([seed * float(n_sets), pseudo.sum(axis=0), (pseudo == seed).sum(axis=0)]).astype(np.float64)
    total = float(n_sets * n)
    chunk = max(1, 2_000_000 // n)
    ks = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, (min(chunk, n_boot - start), n))
        sums = per_image[:, idx].sum(axis=2) / total  # (3, resamples): seed rate, pseudo rate, agreement
        pa, pb, po = sums
        pe = pa * pb + (1 - pa) * (1 - pb)
        with np.errstate(divide="ignore", invalid="ignore"):
            ks.append(np.where(pe >= 1.0, np.nan, (po - pe) / (1.0 - pe)))
    ks = np.concatenate(ks)
    ks = ks[np.isfinite(ks)]
    if len(ks) == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(ks, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def agreement_table(seed_labels: np.ndarray, pseudo_labels: np.ndarray, n_boot: int = 0, level: float = 0.95,
                    rng=None):  # fmt: skip
    """Per-AU agreement between seed-ID and model labels (module docstring). ``pseudo_labels`` ``(n, 6)``, or
    ``(F, n, 6)`` for several folds' labels of the same images (pooled)."""
    import pandas as pd

    seed_labels = np.asarray(seed_labels, dtype=bool)
    pseudo_labels = np.asarray(pseudo_labels, dtype=bool)
    stacked = pseudo_labels.reshape(-1, *seed_labels.shape)
    rng = rng if rng is not None else np.random.default_rng(0)
    rows = []
    columns = [(au, seed_labels[:, i], stacked[:, :, i]) for i, au in enumerate(AU_COLUMNS)]
    columns.append(("any", seed_labels.any(axis=1), stacked.any(axis=2)))
    for au, s, p in columns:
        s_all = np.tile(s, len(p))
        p_all = p.reshape(-1)
        n = len(s_all)
        lo, hi = kappa_interval(s, p, n_boot, level, rng)
        rows.append((au, n, int(s_all.sum()), int(p_all.sum()), int((s_all & p_all).sum()),
                     float(s_all.mean()) if n else np.nan, float(p_all.mean()) if n else np.nan,
                     float((s_all == p_all).mean()) if n else np.nan, cohen_kappa(s_all, p_all), lo, hi))  # fmt: skip
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def youden_threshold(y_true, probs) -> tuple[float, float] | None:
    """``(cut, J)``: the cut maximising Youden's J = TPR − FPR for "positive when p ≥ cut" among the distinct
    predicted values (ties → the highest cut); None when ``y_true`` has a single class."""
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(probs, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    cuts = np.unique(p)[::-1]  # highest first, so argmax keeps the highest cut among ties
    tpr = np.array([(p[y] >= c).sum() / n_pos for c in cuts])
    fpr = np.array([(p[~y] >= c).sum() / n_neg for c in cuts])
    j = tpr - fpr
    best = int(np.argmax(j))
    return float(cuts[best]), float(j[best])


def choose_thresholds(rule: str, threshold: float, inner_predictions=None):
    """The per-AU cuts of ``rule`` (``THRESHOLD_COLUMNS``): ``fixed``/``majority`` → ``threshold`` for every AU;
    ``inner`` → :func:`youden_threshold` on ``inner_predictions`` (columns AU and ``prob_<AU>``: rule fer_fold's
    ``inner_predictions.csv``), ``threshold`` for an AU with one class there."""
    import pandas as pd

    if rule not in PSEUDO_RULES:
        raise ValueError(f"config key 'annotate.pseudo_rule': {rule!r}. Fix: use one of {', '.join(PSEUDO_RULES)}.")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"annotate.pseudo_threshold must be in [0, 1], got {threshold}")
    rows = []
    for au in AU_COLUMNS:
        if rule != "inner":
            rows.append((au, float(threshold), rule, 0, 0, np.nan))
            continue
        if inner_predictions is None:
            raise ValueError("annotate.pseudo_rule 'inner' needs the real_only model's inner_predictions.csv")
        y, p = inner_predictions[au].to_numpy(), inner_predictions[f"prob_{au}"].to_numpy()
        best = youden_threshold(y, p)
        n, npos = len(y), int(np.asarray(y).sum())
        if best is None:
            rows.append((au, float(threshold), "fallback: one class in inner validation", n, npos, np.nan))
        else:
            rows.append((au, best[0], "youden", n, npos, best[1]))
    return pd.DataFrame(rows, columns=THRESHOLD_COLUMNS)


def _read_stems(seed_labels_csv: PathLike, seed_names_txt: PathLike):
    seed = read_table(seed_labels_csv, dtype={"Image_name": str}, keep_default_na=False)
    stems = [Path(n).stem for n in Path(seed_names_txt).read_text().split()]
    if [Path(n).stem for n in seed["Image_name"]] != stems:
        raise ValueError(f"{seed_labels_csv} and {seed_names_txt} list different images")
    if not stems:
        raise ValueError(f"{seed_names_txt}: no image to label")
    return seed, stems


def pseudo_labels(rule: str, predictions: list, stems: list[str], thresholds) -> np.ndarray:
    """uint8 ``[N, 6]`` model labels of the images ``stems``: ``fixed``/``inner`` threshold the one model's table
    at the per-AU cuts; ``majority`` counts the models at or above the cut and takes votes > len/2."""
    cuts = thresholds.set_index("au").loc[list(AU_COLUMNS), "threshold"].to_numpy(dtype=np.float64)
    if rule != "majority" and len(predictions) != 1:
        raise ValueError(f"annotate.pseudo_rule {rule!r} labels with one model, got {len(predictions)} tables")
    votes = np.zeros((len(stems), len(AU_COLUMNS)), dtype=np.int64)
    for table in predictions:
        votes += np.column_stack([threshold_predictions(table, stems, float(c))[:, j] for j, c in enumerate(cuts)])
    return (votes > len(predictions) / 2).astype(np.uint8)


def annotate_pseudo(
    predictions_csvs: list[PathLike],
    seed_labels_csv: PathLike,
    seed_names_txt: PathLike,
    out_npy: PathLike,
    out_names: PathLike,
    out_csv: PathLike,
    out_counts: PathLike,
    out_plot: PathLike,
    out_agreement: PathLike,
    out_thresholds: PathLike,
    *,
    rule: str,
    threshold: float,
    inner_predictions_csv: PathLike | None = None,
    fold: int,
    replicate: str,
    seed: int,
    n_boot: int,
    ci_level: float,
    variant: str = PSEUDO,
    out_agreement_json: PathLike | None = None,
) -> dict:
    """Rule ``annotate_pseudo``: fold ``fold``'s model labels for the images of the seed-ID variant ``synthetic_all``
    (``seed_labels_csv`` + ``seed_names_txt``, same order) from ``predictions_csvs`` (the real_only fold model's
    table; under ``majority`` every replicate's), the cuts (``out_thresholds``) and the agreement with the seed-ID
    labels (``out_agreement`` + sidecar ``.json``). The bootstrap draws ``default_rng([seed, 22, fold])``."""
    import pandas as pd

    seed_table, stems = _read_stems(seed_labels_csv, seed_names_txt)
    preds = [read_table(p, dtype={"image": str}, keep_default_na=False, na_values=[""]) for p in predictions_csvs]
    inner = None
    if rule == "inner":
        if inner_predictions_csv is None:
            raise ValueError("annotate.pseudo_rule 'inner' needs the real_only model's inner_predictions.csv")
        inner = pd.read_csv(inner_predictions_csv, dtype={"subject": str})
    thresholds = choose_thresholds(rule, threshold, inner)
    labels = pseudo_labels(rule, preds, stems, thresholds)
    counts = write_annotation(stems, labels, 0, out_npy, out_names, out_csv, out_counts, out_plot,
                              f"{variant} fold {fold:02d} {replicate}")  # fmt: skip
    rng = np.random.default_rng([int(seed), 22, int(fold)])
    agreement = agreement_table(seed_table[list(AU_COLUMNS)].to_numpy(dtype=np.int64), labels, n_boot, ci_level, rng)
    write_table(out_agreement, agreement)
    write_table(out_thresholds, thresholds)
    write_json(
        sidecar_path(out_agreement_json, out_agreement),
        {"fold": int(fold), "replicate": replicate, "rule": rule, "threshold": threshold,
         "predictions": [str(p) for p in predictions_csvs], "n_models": len(preds),
         "inner_predictions": None if inner_predictions_csv is None else str(inner_predictions_csv),
         "n_images": len(stems), "bootstrap": int(n_boot), "ci_level": ci_level,
         "rng": f"numpy.random.default_rng([{int(seed)}, 22, {int(fold)}])", "provenance": provenance()},
    )  # fmt: skip
    log.info(
        "%s fold %02d %s: %d images labelled (rule %s; cuts %s); %s; kappa %s",
        variant, fold, replicate, len(stems), rule,
        ", ".join(f"{r.au} {r.threshold:.3f}" for r in thresholds.itertuples()),
        ", ".join(f"{r.label} {r.count}" for r in counts.itertuples() if r.label in (*AU_COLUMNS, "neutral")),
        ", ".join(f"{r.au} {r.kappa:.2f}" for r in agreement.itertuples()),
    )  # fmt: skip
    return {"n": len(stems)}


def agreement_html(table, rule: str, threshold: float) -> str:
    head = "".join(f"<th>{c}</th>" for c in ["set", *AGREEMENT_COLUMNS])
    body = "".join(
        "<tr>" + "".join(f"<td>{v:.3f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
        for r in table[["set", *AGREEMENT_COLUMNS]].itertuples(index=False)
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Pseudo-label agreement</title><style>"
        "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}</style></head><body><h3>Model labels vs seed-ID labels (synthetic_pseudo)"
        f"</h3><table><tr>{head}</tr>{body}</table><p>Fold k's model labels come from real_only's fold-k model "
        f"(it never saw fold k's subjects); rule {html.escape(rule)} (cut {threshold:g}; docs/annotate.md). "
        "κ = Cohen's kappa with its bootstrap interval over images; rates = positive rates of the two label sets; "
        "pooled = every fold's labels of the same images stacked; any = some AU vs neutral.</p></body></html>"
    )


def pseudo_agreement(
    fold_labels: dict[str, PathLike],
    seed_labels_csv: PathLike,
    seed_names_txt: PathLike,
    out_csv: PathLike,
    out_html: PathLike,
    out_counts: PathLike,
    *,
    rule: str,
    threshold: float,
    seed: int,
    n_boot: int,
    ci_level: float,
    out_json: PathLike | None = None,
):
    """Rule ``annotate_pseudo_agreement``: every fold's (``fold_labels``: set name, e.g. ``fold_01/rep_r0`` → its
    ``labels.csv``) agreement and the pooled one (``set`` = ``pooled``; bootstrap ``default_rng([seed, 22, 0])``),
    as ``out_csv`` (``set`` + :data:`AGREEMENT_COLUMNS`) and ``out_html``; ``out_counts`` = the label counts
    (``label_counts.csv`` layout) averaged over the folds' label sets and rounded (total = the images)."""
    import pandas as pd

    from synthfer.annotate.labels import label_counts

    seed_table, stems = _read_stems(seed_labels_csv, seed_names_txt)
    seed_y = seed_table[list(AU_COLUMNS)].to_numpy(dtype=np.int64)
    sets, tables = [], []
    for name, path in fold_labels.items():
        t = read_table(path, dtype={"Image_name": str}, keep_default_na=False)
        if [Path(n).stem for n in t["Image_name"]] != stems:
            raise ValueError(f"{path}: not the images of {seed_names_txt} in their order")
        sets.append(t[list(AU_COLUMNS)].to_numpy(dtype=np.int64))
        tables.append(agreement_table(seed_y, sets[-1]).assign(set=name))
    stacked = np.stack(sets)
    rng = np.random.default_rng([int(seed), 22, 0])
    tables.append(agreement_table(seed_y, stacked, n_boot, ci_level, rng).assign(set="pooled"))
    out = pd.concat(tables, ignore_index=True)[["set", *AGREEMENT_COLUMNS]]
    write_table(out_csv, out)
    write_text(out_html, agreement_html(out, rule, threshold))
    counts = pd.concat([label_counts(s) for s in sets]).groupby("label", sort=False)["count"].mean().round().astype(int)
    table = counts.reset_index()
    table["fraction"] = (table["count"] / len(stems)).round(6)
    write_table(out_counts, table)
    write_json(sidecar_path(out_json, out_csv), {"sets": list(fold_labels), "rule": rule, "threshold": threshold,
                                             "bootstrap": int(n_boot), "ci_level": ci_level, "n_images": len(stems),
                                             "provenance": provenance()})  # fmt: skip
    return out
