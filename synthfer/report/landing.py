"""The first thing the report says: the answer table and the run's key counts (rule ``report_landing``).

**Answer** (``answer.csv``), one row per AU (``AU1 … AU15``, then ``mean`` = the macro average) and variant
(config order): ``mean_auc``, ``ci_low``, ``ci_high``, ``n_folds`` — copied from ``results/fer/summary.csv`` —
then for each reference R of ``real_only`` and ``synthetic_random`` (when in the run) ``diff_<R>`` = mean over
the folds of (variant − R) AUC and ``p_<R>`` = the two-sided Wilcoxon signed-rank p on the k fold AUCs,
Holm-corrected across the six AUs of that comparison (``p_holm`` of ``results/fer/wilcoxon.csv``; for the
``mean`` row the uncorrected p of its single test). NaN for the reference itself and when R is not in the run.

**Key counts** (``key_counts.csv``: ``key, value, detail``): real photographs and those aligned; the network
generation used (file, kimg, FID when measured); images generated, passing the face filter, selected by TDS;
synthetic training images per variant. A count whose source is not part of the run is left out.

``landing.rst`` renders both in reStructuredText; ``rules/report/workflow.rst`` includes it, so the report
opens on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import PathLike, read_table, write_table, write_text
from synthfer.logs import get_logger
from synthfer.variants import RANDOM_CONTROL, REAL_ONLY, label

log = get_logger(__name__)

REFERENCES = (REAL_ONLY, RANDOM_CONTROL)
ANSWER_AUS = (*AU_COLUMNS, "mean")


def answer_columns(references: Sequence[str] = REFERENCES) -> list[str]:
    return ["au", "variant", "mean_auc", "ci_low", "ci_high", "n_folds",
            *(c for r in references for c in (f"diff_{r}", f"p_{r}"))]  # fmt: skip


def _comparison(wilcoxon, variant: str, reference: str, au: str) -> tuple[float, float]:
    """(variant − reference mean difference, corrected p) from the pairwise table (either order)."""
    w = wilcoxon[wilcoxon["au"] == au]
    hit = w[(w["variant_a"] == reference) & (w["variant_b"] == variant)]
    sign = 1.0
    if hit.empty:
        hit = w[(w["variant_a"] == variant) & (w["variant_b"] == reference)]
        sign = -1.0
    if hit.empty:
        raise ValueError(f"wilcoxon table: no test of {variant} against {reference} for {au}")
    row = hit.iloc[0]
    p = row["p_value"] if au == "mean" else row["p_holm"]
    return sign * float(row["mean_diff"]), float(p)


def answer_table(summary, wilcoxon, variants: Sequence[str], references: Sequence[str] = REFERENCES):
    """The ``answer.csv`` table (module docstring) from the FER summary and pairwise Wilcoxon tables."""
    import pandas as pd

    if "p_holm" not in wilcoxon.columns:
        raise ValueError("wilcoxon table: no 'p_holm' column (written by fer_evaluate since the Holm correction)")
    rows = []
    for au in ANSWER_AUS:
        for v in variants:
            s = summary[(summary["variant"] == v) & (summary["au"] == au)]
            if s.empty:
                raise ValueError(f"summary table: no row for variant {v!r}, {au}")
            s = s.iloc[0]
            row = {"au": au, "variant": v, "mean_auc": s["mean_auc"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                   "n_folds": int(s["n_folds"])}  # fmt: skip
            for r in references:
                diff = p = np.nan
                if r in variants and v != r:
                    diff, p = _comparison(wilcoxon, v, r, au)
                row[f"diff_{r}"], row[f"p_{r}"] = diff, p
            rows.append(row)
    return pd.DataFrame(rows, columns=answer_columns(references))


def key_counts(
    faces_manifest: PathLike | None = None,
    synthetic_manifest: PathLike | None = None,
    selected_csv: PathLike | None = None,
    network_info: PathLike | None = None,
    snapshot_fid: PathLike | None = None,
    network_file: str | None = None,
    network_kimg: float | None = None,
    training_counts: Mapping[str, PathLike] | None = None,
):
    """The ``key_counts.csv`` table (module docstring). ``network_info`` is the network choice's sidecar
    (``results/gan/network-selected.json``: ``kimg``, ``fid``, source) when the run has one; otherwise the
    network is ``network_file`` at ``network_kimg`` and its FID is looked up by kimg in ``snapshot_fid``."""
    import pandas as pd

    rows: list[tuple[str, object, str]] = []
    if faces_manifest:
        m = read_table(faces_manifest, keep_default_na=False)
        rows += [("photos", len(m), "real photographs read by the faces phase"),
                 ("photos_aligned", int((m["status"] == "ok").sum()), "aligned 256² crops (the GAN's training set)")]  # fmt: skip
    info = json.loads(Path(network_info).read_text()) if network_info else {}
    fid_table = read_table(snapshot_fid) if snapshot_fid else None
    kimg = info.get("kimg", network_kimg)
    kimg = None if kimg is None or not np.isfinite(float(kimg)) else float(kimg)
    fid = info.get("fid")
    if fid is None and fid_table is not None and kimg is not None:
        hit = fid_table[np.isclose(fid_table["kimg"].astype(float), kimg)]
        fid = float(hit["fid"].iloc[0]) if len(hit) else None
    source = info.get("source") or network_file
    if source or kimg is not None:
        detail = "generator used by review and generation" + (f", {kimg:g} kimg" if kimg is not None else "")
        if info.get("reason"):
            detail += f" ({info['reason']})"
        rows.append(("network", str(source or ""), detail))
        extractor = str(fid_table["extractor"].iloc[0]) if fid_table is not None and len(fid_table) else ""
        rows.append(("network_fid", float(fid) if fid is not None else np.nan,
                     f"FID of that network ({extractor} features, gan.snapshot_fid)" if fid is not None
                     else "not measured (gan.snapshot_fid.enabled: false)"))  # fmt: skip
    if synthetic_manifest:
        from synthfer.synthetic_manifest import read_manifest

        m = read_manifest(synthetic_manifest)
        rows += [("images_generated", len(m), "synthetic images generated (plan rows)"),
                 ("images_face_ok", int(m["face_ok"].sum()), "passing the face filter (the pool)")]  # fmt: skip
    if selected_csv:
        rows.append(("images_selected", len(read_table(selected_csv)), "kept by Training Data Selection"))
    for variant, path in (training_counts or {}).items():
        c = read_table(path).set_index("label")
        rows.append((f"training_images_{variant}", int(c.loc["total", "count"]), f"synthetic training images of {variant}"))
    return pd.DataFrame(rows, columns=["key", "value", "detail"])


def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "–"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _fmt_diff(d: float, p: float) -> str:
    if not np.isfinite(d):
        return "–"
    star = " *" if np.isfinite(p) and p < 0.05 else ""
    return f"{d:+.3f} (p {_fmt_p(p)}){star}"


def landing_rst(answer, counts, references: Sequence[str], level: float = 0.95, demo: bool = False) -> str:
    """The landing text: the answer as a list-table (AU × variant) and the key counts as a list."""
    refs = [r for r in references if answer[f"diff_{r}"].notna().any()]
    pct = f"{100 * level:g} %"
    lines = [
        "The answer",
        "----------",
        "",
        f"Mean fold AUC ({pct} CI) of every training set per Action Unit, and its difference to "
        + " and to ".join(f"``{r}``" for r in refs)
        + " (mean over the folds; p: two-sided Wilcoxon signed-rank test on the fold AUCs, Holm-corrected across "
        "the six AUs; the ``mean`` row — the macro average — is one test, uncorrected; * = p < 0.05). "
        "Data: ``results/report/answer.csv``, ``results/fer/summary.csv``, ``results/fer/wilcoxon.csv``.",
        "",
    ]
    if demo:
        lines += ["**Demo run**: drawn faces and an arbitrary seed list — these numbers show the wiring, not science.", ""]
    lines += [".. list-table::", "   :header-rows: 1", "", "   * - AU", "     - variant", f"     - AUC ({pct} CI)"]
    lines += [f"     - Δ vs {r}" for r in refs]
    for row in answer.itertuples(index=False):
        d = row._asdict()
        lines.append(f"   * - {d['au']}")
        lines.append(f"     - {d['variant']}: {label(d['variant'])}")
        lines.append(f"     - {d['mean_auc']:.3f} ({d['ci_low']:.3f}–{d['ci_high']:.3f})")
        lines += [f"     - {_fmt_diff(d[f'diff_{r}'], d[f'p_{r}'])}" for r in refs]
    lines += ["", "Key counts", "----------", ""]
    for row in counts.itertuples(index=False):
        value = row.value
        if isinstance(value, float):
            value = "–" if not np.isfinite(value) else f"{value:.2f}"
        lines.append(f"- **{row.key}**: {value} — {row.detail}")
    return "\n".join(lines) + "\n"


def report_landing(
    summary_csv: PathLike,
    wilcoxon_csv: PathLike,
    variants: Sequence[str],
    out_answer: PathLike,
    out_counts: PathLike,
    out_rst: PathLike,
    level: float = 0.95,
    demo: bool = False,
    **count_inputs,
) -> None:
    """Rule ``report_landing``: write answer.csv, key_counts.csv and landing.rst (``count_inputs``: the
    keyword arguments of :func:`key_counts`)."""
    summary = read_table(summary_csv)
    wilcoxon = read_table(wilcoxon_csv)
    answer = answer_table(summary, wilcoxon, list(variants))
    counts = key_counts(**count_inputs)
    write_table(out_answer, answer)
    write_table(out_counts, counts)
    write_text(out_rst, landing_rst(answer, counts, REFERENCES, level, demo))
    log.info("landing page: %d answer rows (%d variants), %d key counts", len(answer), len(variants), len(counts))
