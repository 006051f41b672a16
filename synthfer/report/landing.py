"""The first thing the report says: the answer to the project's question (rule ``report_landing``).

``landing.rst`` (included first by ``rules/report/workflow.rst``) opens on the **primary endpoint** —
declared in the config before the run (``fer.evaluate.primary``, default ``synthetic_tds`` − ``synthetic_random``,
macro AUC) — with its paired CI, effect size (Cohen's d_z) and minimum detectable difference, and, when not
significant, "no difference larger than" that MDD; the noise floor (between-replicate SD) beside it; then the
forest plot of the paired differences (``results/fer/figures/forest.png``, embedded); then the thesis' own
comparison (enhanced ``synthetic_tds`` vs baseline ``synthetic_pseudo``); then the Holm-corrected secondary table;
then what the run could not protect (``fer.allow_overlap``, the review assistant); then the key counts.

**Answer** (``answer.csv``), one row per AU (``AU1 … AU15``, then ``mean`` = the macro average) and variant
(config order): ``mean_auc``, ``ci_low``, ``ci_high``, ``n_folds`` — copied from ``results/fer/summary.csv`` —
then for each reference R of :data:`REFERENCES` (``real_only``, ``synthetic_random``, ``synthetic_pseudo``):
``diff_<R>`` = mean over the folds of (variant − R) AUC, ``diff_<R>_ci_low``/``diff_<R>_ci_high`` its CI, and
``p_<R>`` = its p from ``results/fer/comparisons.csv``: Holm-corrected across every secondary test of the page,
uncorrected for the primary endpoint's row; ``flag_<R>`` = ``primary`` for the primary endpoint's row, ``†`` when the
test cannot reach significance with its usable folds (``cannot_reach``), ``‡`` when only the Wilcoxon rank test
cannot (``wilcoxon_cannot_reach``), else empty. NaN/empty for the reference itself and when R is not in the run.
``synthetic_random`` stands for the size-matched random control: an ablation ``synthetic_tds_<metric>`` is compared
there with its own control ``synthetic_random_<metric>`` when the run has it.

**Key counts** (``key_counts.csv``: ``key, value, detail``): real photographs and those aligned; the network
generation used (file, kimg, FID when measured; from ``results/gan/network-selected.json``); images generated,
passing the face filter, selected by TDS; synthetic training images per variant. A count whose source is not part
of the run is left out.
"""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import PathLike, read_table, write_table, write_text
from synthfer.logs import get_logger
from synthfer.variants import PSEUDO, RANDOM_CONTROL, REAL_ONLY, TDS, label, size_matched_control

log = get_logger(__name__)

REFERENCES = (REAL_ONLY, RANDOM_CONTROL, PSEUDO)
ANSWER_AUS = (*AU_COLUMNS, "mean")
THESIS = (TDS, PSEUDO)  # the seed thesis' enhanced vs baseline


def answer_columns(references: Sequence[str] = REFERENCES) -> list[str]:
    return ["au", "variant", "mean_auc", "ci_low", "ci_high", "n_folds",
            *(c for r in references for c in (f"diff_{r}", f"diff_{r}_ci_low", f"diff_{r}_ci_high", f"p_{r}",
                                              f"flag_{r}"))]  # fmt: skip


def comparison(comparisons, variant: str, reference: str, au: str) -> dict | None:
    """The test of ``variant − reference`` on ``au`` from ``comparisons.csv`` (either orientation; a row of
    reference − variant is sign-flipped, its CI mirrored): ``diff, ci_low, ci_high, p`` (``p_holm``: Holm for a
    secondary row, the raw p for the primary), ``role``, ``flag``, ``d_z``, ``mdd``, ``n_pairs``, ``ci_method``; None
    when the table has no such test."""
    c = comparisons[comparisons["au"] == au]
    hit, sign = c[(c["variant_a"] == reference) & (c["variant_b"] == variant)], 1.0
    if hit.empty:
        hit, sign = c[(c["variant_a"] == variant) & (c["variant_b"] == reference)], -1.0
    if hit.empty:
        return None
    r = hit.iloc[0]
    lo, hi = sign * float(r["ci_low"]), sign * float(r["ci_high"])
    flag = "primary" if r["role"] == "primary" else ""
    if _true(r["cannot_reach"]):
        flag = (flag + " †").strip()
    elif _true(r["wilcoxon_cannot_reach"]):
        flag = (flag + " ‡").strip()
    return {"diff": sign * float(r["mean_diff"]), "ci_low": min(lo, hi), "ci_high": max(lo, hi), "p": float(r["p_holm"]),
            "p_raw": float(r["p_value"]), "role": r["role"], "flag": flag, "d_z": sign * float(r["d_z"]),
            "mdd": float(r["mdd"]), "n_pairs": int(r["n_pairs"]), "ci_method": r["ci_method"],
            "significant": _true(r["significant"])}  # fmt: skip


def _true(x) -> bool:
    return str(x).strip().lower() in ("true", "1", "1.0")


def _reference_of(variant: str, reference: str, variants: Sequence[str]) -> str:
    """The column ``diff_synthetic_random`` compares each selection with random images of its own size: an
    ablation ``synthetic_tds_<metric>`` with its own control ``synthetic_random_<metric>`` when the run has it."""
    own = size_matched_control(variant) if reference == RANDOM_CONTROL else None
    return own if own is not None and own in variants else reference


def answer_table(summary, comparisons, variants: Sequence[str], references: Sequence[str] = REFERENCES):
    """The ``answer.csv`` table (module docstring) from the FER summary and ``comparisons.csv``."""
    import pandas as pd

    need = {"role", "p_holm", "ci_low", "ci_high", "cannot_reach"}
    if not need <= set(comparisons.columns):
        raise ValueError(f"comparisons table: no column(s) {', '.join(sorted(need - set(comparisons.columns)))} "
                         "(results/fer/comparisons.csv of rule fer_evaluate)")  # fmt: skip
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
                ref = _reference_of(v, r, variants)
                c = comparison(comparisons, v, ref, au) if (ref in variants and v != ref) else None
                if ref in variants and v != ref and c is None:
                    raise ValueError(f"comparisons table: no test of {v} against {ref} for {au}")
                row[f"diff_{r}"] = c["diff"] if c else np.nan
                row[f"diff_{r}_ci_low"] = c["ci_low"] if c else np.nan
                row[f"diff_{r}_ci_high"] = c["ci_high"] if c else np.nan
                row[f"p_{r}"] = c["p"] if c else np.nan
                row[f"flag_{r}"] = c["flag"] if c else ""
            rows.append(row)
    return pd.DataFrame(rows, columns=answer_columns(references))


def key_counts(
    faces_manifest: PathLike | None = None,
    synthetic_manifest: PathLike | None = None,
    selected_csv: PathLike | None = None,
    network_info: PathLike | None = None,
    snapshot_fid: PathLike | None = None,
    training_counts: Mapping[str, PathLike] | None = None,
):
    """The ``key_counts.csv`` table (module docstring). ``network_info`` is the network choice's sidecar
    (``results/gan/network-selected.json``: ``kimg``, ``fid``, ``source``, ``reason``; rule gan_network); when it
    has no FID, the FID is looked up by its kimg in ``snapshot_fid``."""
    import pandas as pd

    rows: list[tuple[str, object, str]] = []
    if faces_manifest:
        m = read_table(faces_manifest, keep_default_na=False)
        rows += [("photos", len(m), "real photographs read by the faces phase"),
                 ("photos_aligned", int((m["status"] == "ok").sum()), "aligned 256² crops (the GAN's training set)")]  # fmt: skip
    info = json.loads(Path(network_info).read_text()) if network_info else {}
    fid_table = read_table(snapshot_fid) if snapshot_fid else None
    kimg = info.get("kimg")
    kimg = None if kimg is None or not np.isfinite(float(kimg)) else float(kimg)
    fid = info.get("fid")
    if fid is None and fid_table is not None and kimg is not None:
        hit = fid_table[np.isclose(fid_table["kimg"].astype(float), kimg)]
        fid = float(hit["fid"].iloc[0]) if len(hit) else None
    source = info.get("source")
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


def _fmt_ci(lo: float, hi: float) -> str:
    return f"{lo:+.3f} to {hi:+.3f}" if np.isfinite(lo) and np.isfinite(hi) else "–"


def _fmt_diff(d: float, lo: float, hi: float, p: float, flag: str, alpha: float) -> str:
    if not np.isfinite(d):
        return "–"
    star = " *" if np.isfinite(p) and p < alpha else ""
    marks = "".join(m for m in ("†", "‡") if m in flag)
    return f"{d:+.3f} [{_fmt_ci(lo, hi)}] (p {_fmt_p(p)}){star}{(' ' + marks) if marks else ''}"


def _method_text(method: str, n_folds: int | None = None) -> str:
    folds = f" over {n_folds} folds" if n_folds else ""
    if method == "bootstrap":
        return f"subject-level bootstrap within folds{folds}, percentile interval"
    return f"Nadeau–Bengio corrected resampled t{folds}"


def _image_rst(png: PathLike, alt: str, width: int = 720) -> list[str]:
    """An ``.. image::`` whose URI is the PNG itself (base64), so the self-contained report shows it."""
    uri = "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")
    lines = textwrap.wrap(uri, 100)
    return [f".. image:: {lines[0]}", *(f"   {x}" for x in lines[1:]), f"   :alt: {alt}", f"   :width: {width}px", ""]


def primary_rst(primary: Mapping, comparisons, spread, level: float, alpha: float, power: float) -> list[str]:
    """The opening paragraph: the primary endpoint's answer, or why there is none."""
    declared = primary.get("declared") or {}
    pct = f"{100 * level:g} %"
    if not primary.get("found"):
        return [f"**Primary endpoint**: not in this run (declared ``fer.evaluate.primary``: "
                f"{declared.get('variant', TDS)} − {declared.get('reference', RANDOM_CONTROL)}, "
                f"{declared.get('au', 'mean')}; the run lacks one of them). Every comparison below is secondary.", ""]  # fmt: skip
    v, r, au = declared["variant"], declared["reference"], declared["au"]
    c = comparison(comparisons, v, r, au)
    what = "macro AUC (mean over the AUs)" if au == "mean" else f"{au} AUC"
    lines = [
        f"**Primary endpoint** (declared before the run in ``fer.evaluate.primary``, tested uncorrected): "
        f"``{v}`` − ``{r}``, {what}, paired over the folds.",
        "",
        f"- **Difference: {c['diff']:+.3f} AUC** ({pct} CI {_fmt_ci(c['ci_low'], c['ci_high'])}; "
        f"{_method_text(c['ci_method'], c['n_pairs'])}; p = {_fmt_p(c['p_raw'])}).",
        f"- Effect size: Cohen's d_z = {c['d_z']:.2f} (mean per-fold difference / its SD)."
        if np.isfinite(c["d_z"]) else "- Effect size: – (fewer than two folds).",
        f"- Minimum detectable difference at {100 * power:g} % power, α = {alpha:g}: **{c['mdd']:.3f} AUC** "
        "(from the observed SD of the per-fold differences, Nadeau–Bengio corrected, t quantiles).",
    ]
    if c["significant"]:
        lines.append(f"- **Significant** at α = {alpha:g}: TDS-selected data {'help' if c['diff'] > 0 else 'hurt'} "
                     f"against the size-matched control." if (v, r) == (TDS, RANDOM_CONTROL)
                     else f"- **Significant** at α = {alpha:g}.")  # fmt: skip
    elif np.isfinite(c["mdd"]):
        lines.append(f"- **Not significant: no difference larger than {c['mdd']:.3f} AUC** (the smallest difference "
                     f"this design detects with {100 * power:g} % power); smaller ones are not ruled out.")  # fmt: skip
    else:
        lines.append("- Not testable: fewer than two folds with an AUC.")
    sp = spread.set_index(["variant", "au"]) if spread is not None and len(spread) else None
    if sp is not None and (v, au) in sp.index and (r, au) in sp.index:
        parts = []
        for x in (v, r):
            sd, n = sp.loc[(x, au), "replicate_sd"], int(sp.loc[(x, au), "n_replicates"])
            parts.append(f"``{x}`` {sd:.3f} ({n} replicates per fold)" if np.isfinite(sd) else f"``{x}`` – (1 replicate)")
        lines.append("- Noise floor: between-replicate SD of this AUC within a fold (training seeds; draws of the "
                     "random control): " + ", ".join(parts) + ". Data: ``results/fer/replicate_spread.csv``.")  # fmt: skip
    return [*lines, ""]


def landing_rst(answer, counts, references: Sequence[str], level: float = 0.95, demo: bool = False, *,
                comparisons=None, primary: Mapping | None = None, spread=None, forest_png: PathLike | None = None,
                alpha: float = 0.05, power: float = 0.8, notes: Sequence[str] = (),
                protocol: Mapping | None = None) -> str:
    """The landing text (module docstring). ``notes``: what the run could not protect, one sentence each."""
    refs = [r for r in references if answer[f"diff_{r}"].notna().any()]
    pct = f"{100 * level:g} %"
    lines = ["The answer", "----------", ""]
    if demo:
        lines += ["**Demo run**: drawn faces and an arbitrary seed list — these numbers show the wiring, not science.", ""]
    if comparisons is not None and primary is not None:
        lines += primary_rst(primary, comparisons, spread, level, alpha, power)
    if protocol is not None:
        lines += protocol_rst(protocol)
    if forest_png is not None:
        lines += ["Paired differences (variant − reference, mean over the folds, with their CIs; primary endpoint "
                  "on top; filled = significant):", ""]  # fmt: skip
        lines += _image_rst(forest_png, "forest plot of the paired AUC differences")
    if comparisons is not None:
        c = comparison(comparisons, *THESIS, "mean")
        if c is not None:
            lines += [f"**The thesis' comparison** — enhanced (``{THESIS[0]}``) vs baseline (``{THESIS[1]}``), macro AUC: "
                      f"{c['diff']:+.3f} ({pct} CI {_fmt_ci(c['ci_low'], c['ci_high'])}), Holm-corrected p "
                      f"{_fmt_p(c['p'])}, d_z {c['d_z']:.2f}, minimum detectable difference {c['mdd']:.3f}.", ""]  # fmt: skip
    m = int((comparisons["role"] == "secondary").sum()) if comparisons is not None else 0
    lines += [
        "Secondary comparisons",
        "~~~~~~~~~~~~~~~~~~~~~",
        "",
        f"Mean fold AUC ({pct} CI) of every training set per Action Unit"
        + (", and its paired difference to " + " and to ".join(f"``{r}``" for r in refs)
           + f" [{pct} CI] (mean over the folds of variant − reference; p: Holm-corrected across all {m} secondary "
           "tests on the page, the primary endpoint's row uncorrected; * = significant; † = cannot reach "
           "significance with its usable folds; ‡ = the Wilcoxon rank test could not, even as the family's smallest "
           "p)" if refs else "")
        + ". Data: ``results/report/answer.csv``, ``results/fer/summary.csv``, ``results/fer/comparisons.csv``.",
        "",
    ]
    lines += [".. list-table::", "   :header-rows: 1", "", "   * - AU", "     - variant", f"     - AUC ({pct} CI)"]
    lines += [f"     - Δ vs {r}" for r in refs]
    for row in answer.itertuples(index=False):
        d = row._asdict()
        lines.append(f"   * - {d['au']}")
        lines.append(f"     - {d['variant']}: {label(d['variant'])}")
        lines.append(f"     - {d['mean_auc']:.3f} ({d['ci_low']:.3f}–{d['ci_high']:.3f})")
        for r in refs:
            cell = _fmt_diff(d[f"diff_{r}"], d[f"diff_{r}_ci_low"], d[f"diff_{r}_ci_high"], d[f"p_{r}"],
                             str(d[f"flag_{r}"]), alpha)  # fmt: skip
            lines.append(f"     - {'**primary** ' if 'primary' in str(d[f'flag_{r}']) else ''}{cell}")
    if notes:
        lines += ["", "What this run does not protect", "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~", ""]
        lines += [f"- {n}" for n in notes]
    lines += ["", "Key counts", "----------", ""]
    for row in counts.itertuples(index=False):
        value = row.value
        if isinstance(value, float):
            value = "–" if not np.isfinite(value) else f"{value:.2f}"
        lines.append(f"- **{row.key}**: {value} — {row.detail}")
    return "\n".join(lines) + "\n"


def protocol_rst(protocol: Mapping) -> list[str]:
    """One paragraph saying how every model of the comparison was trained and chosen (the budget each training set
    got, what chose its epoch, the replicates), so a reader knows what a difference can mean. ``protocol``: the
    rule's ``fer`` settings (``folds``, ``model_selection``, ``budget``, ``steps``, ``epochs``, ``repeats``,
    ``random_draws``)."""
    if protocol.get("budget") == "steps":
        budget = (f"every training set got the same budget of {int(protocol['steps']):,} optimiser steps per model "
                  "(so a larger set is not also trained longer)")  # fmt: skip
    else:
        budget = (f"each model trained {int(protocol['epochs'])} epochs over its training set: a larger set also got "
                  "more optimiser steps, so these differences mix the set's size with the optimisation")  # fmt: skip
    if protocol.get("model_selection") == "inner":
        chosen = ("its epoch was chosen on an inner validation fold of training subjects (fold k+1), never on the "
                  "fold it is tested on")  # fmt: skip
    else:
        chosen = f"it trained exactly {int(protocol['epochs'])} epochs (no early stopping)"
    replicates = f"{int(protocol['repeats'])} training seed(s) per fold"
    if int(protocol.get("random_draws", 1)) > 1:
        replicates += f", {int(protocol['random_draws'])} draws of the random control"
    return [f"**Protocol**: {int(protocol['folds'])}-fold subject-wise cross-validation; {budget}; {chosen}; "
            f"{replicates}, averaged within each fold before any test.", ""]  # fmt: skip


def leak_notes(allow_overlap: bool = False, assistant: bool = False) -> list[str]:
    """The landing's sentences on safeguards this run switched off (docs/fer.md "How the answer is protected")."""
    notes = []
    if allow_overlap:
        notes.append("``fer.allow_overlap: true``: the check that the GAN's photographs (``real_images.folder``) and "
                     "the FER images share no file and no subject was switched off. The synthetic training sets may "
                     "carry the faces of evaluation subjects.")  # fmt: skip
    if assistant:
        notes.append("``latent.review.assistant`` was on: the reviewer who wrote the seed-ID labels saw the "
                     "suggestions of the ``real_only`` ensemble, whose fold models together trained on every "
                     "evaluation subject. The synthetic sets' labels are not independent of the test subjects.")  # fmt: skip
    return notes


def report_landing(
    summary_csv: PathLike,
    comparisons_csv: PathLike,
    variants: Sequence[str],
    out_answer: PathLike,
    out_counts: PathLike,
    out_rst: PathLike,
    level: float = 0.95,
    demo: bool = False,
    *,
    primary_json: PathLike | None = None,
    spread_csv: PathLike | None = None,
    forest_png: PathLike | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    allow_overlap: bool = False,
    assistant: bool = False,
    protocol: Mapping | None = None,
    **count_inputs,
) -> None:
    """Rule ``report_landing``: write answer.csv, key_counts.csv and landing.rst (``count_inputs``: the
    keyword arguments of :func:`key_counts`)."""
    summary = read_table(summary_csv)
    comparisons = read_table(comparisons_csv)
    answer = answer_table(summary, comparisons, list(variants))
    counts = key_counts(**count_inputs)
    primary = json.loads(Path(primary_json).read_text()) if primary_json else None
    spread = read_table(spread_csv) if spread_csv else None
    write_table(out_answer, answer)
    write_table(out_counts, counts)
    write_text(out_rst, landing_rst(answer, counts, REFERENCES, level, demo, comparisons=comparisons, primary=primary,
                                    spread=spread, forest_png=forest_png, alpha=alpha, power=power,
                                    notes=leak_notes(allow_overlap, assistant), protocol=protocol))  # fmt: skip
    log.info("landing page: %d answer rows (%d variants), %d key counts", len(answer), len(variants), len(counts))
