"""The training sets the FER phase compares — the one definition of the variant names.

| variant | synthetic images added to the real training frames | their labels |
| --- | --- | --- |
| ``real_only`` | none | — |
| ``synthetic_all`` | every generated image passing the face filter (manifest ``face_ok``) | seed ID |
| ``synthetic_tds`` | the Training Data Selection (``results/select/selected.csv``) | seed ID |
| ``synthetic_random`` | a seeded random subset of the face-filtered pool with the TDS selection's size per class (``results/select/random.csv``) — the control for ``synthetic_tds`` | seed ID |
| ``synthetic_pseudo`` | every face-filtered image, as ``synthetic_all`` | fold k's: the ``real_only`` fold-k model's predictions, thresholded (``annotate.pseudo_rule``; the seed thesis' baseline, made leak-free) |
| ``synthetic_tds_<metric>`` | TDS by that one metric (``select.ablations``; ``results/select/ablation/<metric>/selected.csv``) | seed ID |
| ``synthetic_random_<metric>`` | a random subset with ``synthetic_tds_<metric>``'s size per class (``results/select/ablation/<metric>/random.csv``) — that ablation's own control, added beside it when the run has ``synthetic_random`` | seed ID |

The rules (rules/annotate.smk, rules/fer.smk), the config check and the FER figures all derive their lists
from here. Standard library only: imported at Snakefile parse time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from synthfer.scores import SCORE_METRICS

REAL_ONLY = "real_only"
ABLATION_PREFIX = "synthetic_tds_"
ABLATION_CONTROL_PREFIX = "synthetic_random_"  # + metric: the random control sized like that ablation

# name → what a figure legend says (the seed thesis' model names where it had them)
BASE_VARIANTS: dict[str, str] = {
    "real_only": "original (real only)",
    "synthetic_all": "+ all synthetic (seed-ID labels)",
    "synthetic_tds": "enhanced (+ TDS-selected)",
    "synthetic_random": "+ random, TDS-sized (control)",
    "synthetic_pseudo": "baseline (+ all synthetic, model labels)",
}

# Where the image names of a seed-ID-labelled variant come from: (file, kind) as read by
# synthfer.annotate.labels.read_names ('manifest' = rows with face_ok true, 'selected' = every row).
_SEED_ID_SOURCES: dict[str, tuple[str, str]] = {
    "synthetic_all": ("results/synthetic/manifest.csv", "manifest"),
    "synthetic_tds": ("results/select/selected.csv", "selected"),
    "synthetic_random": ("results/select/random.csv", "selected"),
}
PSEUDO = "synthetic_pseudo"
RANDOM_CONTROL = "synthetic_random"
TDS = "synthetic_tds"  # the selection the study is about (the seed thesis' "enhanced" set)
# The seed-ID variant whose images (and labels, for the agreement table) synthetic_pseudo relabels.
PSEUDO_SOURCE = "synthetic_all"
# Labelled in every run (the seed thesis' two synthetic sets); the others only when a FER variant needs them.
ALWAYS_ANNOTATED = ("synthetic_all", "synthetic_tds")


def ablation_variant(metric: str) -> str:
    """``'psnr'`` → ``'synthetic_tds_psnr'`` (selection by that metric alone)."""
    if metric not in SCORE_METRICS:
        raise ValueError(f"unknown metric {metric!r} for an ablation (use one of {', '.join(SCORE_METRICS)})")
    return ABLATION_PREFIX + metric


def ablation_metric(variant: str) -> str | None:
    """The metric of an ablation variant, else None."""
    if variant.startswith(ABLATION_PREFIX) and variant[len(ABLATION_PREFIX) :] in SCORE_METRICS:
        return variant[len(ABLATION_PREFIX) :]
    return None


def ablation_control(metric: str) -> str:
    """``'psnr'`` → ``'synthetic_random_psnr'``: the random control with ``synthetic_tds_psnr``'s size per class."""
    ablation_variant(metric)  # checks the metric
    return ABLATION_CONTROL_PREFIX + metric


def control_metric(variant: str) -> str | None:
    """The metric of an ablation's random control (``synthetic_random_<metric>``), else None."""
    if variant.startswith(ABLATION_CONTROL_PREFIX) and variant[len(ABLATION_CONTROL_PREFIX) :] in SCORE_METRICS:
        return variant[len(ABLATION_CONTROL_PREFIX) :]
    return None


def is_variant(name: str) -> bool:
    return name in BASE_VARIANTS or ablation_metric(name) is not None or control_metric(name) is not None


def all_variant_names() -> list[str]:
    """Every name a variant can have (base variants, then one ablation and one ablation control per metric)."""
    return [*BASE_VARIANTS, *(ABLATION_PREFIX + m for m in SCORE_METRICS), *map(ablation_control, SCORE_METRICS)]


def label(variant: str) -> str:
    """Legend text of a variant."""
    metric, control = ablation_metric(variant), control_metric(variant)
    if metric:
        return f"TDS by {metric} only"
    if control:
        return f"+ random, sized as TDS by {control} (control)"
    return BASE_VARIANTS.get(variant, variant)


def size_matched_control(variant: str) -> str | None:
    """The random control a selection is compared with at equal size per class: ``synthetic_random`` for
    ``synthetic_tds``, ``synthetic_random_<metric>`` for ``synthetic_tds_<metric>``; None for other variants."""
    if variant == TDS:
        return RANDOM_CONTROL
    metric = ablation_metric(variant)
    return ablation_control(metric) if metric else None


def check_variants(variants: Sequence[str], key: str = "fer.variants") -> None:
    """Raise ``ValueError`` naming ``key`` for an unknown or repeated name."""
    seen = set()
    for v in variants:
        if not is_variant(v):
            raise ValueError(
                f"config key '{key}': {v!r} is not a training-set variant. "
                f"Fix: use {', '.join(BASE_VARIANTS)}, synthetic_tds_<metric> or synthetic_random_<metric> (metric one of {', '.join(SCORE_METRICS)})."
            )
        if v in seen:
            raise ValueError(f"config key '{key}': {v!r} is listed twice. Fix: list each variant once.")
        seen.add(v)


def fer_variants(variants: Sequence[str], ablations: Iterable[str] = ()) -> list[str]:
    """The FER variants of a run: ``fer.variants`` in their order, then ``synthetic_tds_<metric>`` for each
    metric of ``select.ablations`` not listed already — each followed by its own size-matched random control
    ``synthetic_random_<metric>`` when the run has the random control (``synthetic_random``) at all. Checked
    (``ValueError`` naming the key)."""
    check_variants(variants)
    out = list(variants)
    for m in ablations:
        if m not in SCORE_METRICS:
            raise ValueError(
                f"config key 'select.ablations': unknown metric {m!r}. Fix: use one of {', '.join(SCORE_METRICS)}."
            )
        for v in (ablation_variant(m), *([ablation_control(m)] if RANDOM_CONTROL in variants else [])):
            if v not in out:
                out.append(v)
    return out


def is_synthetic(variant: str) -> bool:
    """Whether the variant adds synthetic images (everything but real_only)."""
    return variant != REAL_ONLY


def seed_id_source(variant: str) -> tuple[str, str] | None:
    """``(names file, kind)`` of a seed-ID-labelled variant (rule ``annotate``); None for real_only and
    synthetic_pseudo, whose labels do not come from seed IDs."""
    metric = ablation_metric(variant)
    if metric:
        return (f"results/select/ablation/{metric}/selected.csv", "selected")
    if control_metric(variant):
        return (random_draw_table(0, variant), "selected")
    return _SEED_ID_SOURCES.get(variant)


def seed_id_variants(variants: Iterable[str]) -> list[str]:
    """The seed-ID-labelled ones among ``variants`` (order kept)."""
    return [v for v in variants if seed_id_source(v) is not None]


def wildcard_regex(variants: Iterable[str]) -> str:
    """A Snakemake wildcard constraint matching exactly ``variants``."""
    names = sorted(set(variants), key=len, reverse=True)  # longest first: synthetic_tds_psnr before synthetic_tds
    return "|".join(names) if names else "(?!)"


def is_random_control(variant: str) -> bool:
    """Whether the variant is a random control (``synthetic_random`` or an ablation's), trained once per draw of
    ``select.random_draws``."""
    return variant == RANDOM_CONTROL or control_metric(variant) is not None


def replicate_ids(variant: str, repeats: int, draws: int = 1) -> list[str]:
    """The replicate ids of one (variant, fold): ``r0 … r<R-1>`` (``fer.repeats`` training seeds), and for a random
    control ``d<draw>r<repeat>`` for each of its ``draws`` (``select.random_draws``), draw-major."""
    if int(repeats) < 1 or int(draws) < 1:
        raise ValueError(f"replicates need fer.repeats >= 1 and select.random_draws >= 1, got {repeats} and {draws}")
    reps = [f"r{r}" for r in range(int(repeats))]
    return [f"d{d}{r}" for d in range(int(draws)) for r in reps] if is_random_control(variant) else reps


def parse_replicate(rep: str) -> tuple[int | None, int]:
    """``'d1r0'`` → ``(1, 0)``; ``'r2'`` → ``(None, 2)`` (the draw, None outside a random control; the repeat)."""
    m = re.fullmatch(r"(?:d(\d+))?r(\d+)", rep)
    if not m:
        raise ValueError(f"{rep!r} is not a replicate id (r<repeat> or d<draw>r<repeat>)")
    return (None if m.group(1) is None else int(m.group(1))), int(m.group(2))


def random_draw_table(draw: int, control: str = RANDOM_CONTROL) -> str:
    """The selection table of draw ``draw`` of a random control (rules ``select_random*``): for ``synthetic_random``
    draw 0 keeps the single control's ``results/select/random.csv``, draw d ≥ 1 is ``results/select/random/d<d>.csv``;
    an ablation's control ``synthetic_random_<metric>`` lives beside that ablation's selection,
    ``results/select/ablation/<metric>/random.csv`` and ``…/random/d<d>.csv``."""
    metric = control_metric(control)
    if control != RANDOM_CONTROL and metric is None:
        raise ValueError(f"{control!r} is not a random control")
    folder = f"results/select/ablation/{metric}" if metric else "results/select"
    return f"{folder}/random.csv" if int(draw) == 0 else f"{folder}/random/d{int(draw)}.csv"


def random_draw_sets(draws: int, controls: Iterable[str] = (RANDOM_CONTROL,)) -> dict[str, str]:
    """Annotation set name → selection table for draws 1 … D−1 of each random control (draw 0 is the variant's
    own set): ``'synthetic_random/d1'`` → ``results/select/random/d1.csv``."""
    return {f"{c}/d{d}": random_draw_table(d, c) for c in controls for d in range(1, int(draws))}


def annotation_folder(variant: str, fold: int, rep: str) -> str:
    """Where the synthetic training set of (variant, fold, replicate) is labelled: ``synthetic_pseudo`` per fold and
    replicate (labelled by the ``real_only`` model of that fold and replicate), a random control per draw, every
    other variant once."""
    if variant == PSEUDO:
        return f"results/annotations/{PSEUDO}/fold_{int(fold):02d}/rep_{rep}"
    draw, _ = parse_replicate(rep)
    if is_random_control(variant) and draw:
        return f"results/annotations/{variant}/d{draw}"
    return f"results/annotations/{variant}"
