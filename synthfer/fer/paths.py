"""Where the FER phase's per-replicate files live (rules/fer.smk builds its inputs and outputs from here).

Standard library only: imported at Snakefile parse time.
"""

from __future__ import annotations

from collections.abc import Iterable

from synthfer.variants import annotation_folder, is_synthetic


def replicate_dir(variant: str, fold: int | str, rep: str) -> str:
    """``results/fer/{variant}/fold_{NN}/rep_{rep}`` — one trained model's folder."""
    return f"results/fer/{variant}/fold_{int(fold):02d}/rep_{rep}"


def prediction_paths(variant: str, folds: Iterable[int | str], reps: Iterable[str]) -> list[str]:
    """Every ``predictions.csv`` of ``variant``, fold-major (rule fer_evaluate's ``pred_<variant>`` input)."""
    reps = list(reps)
    return [f"{replicate_dir(variant, f, r)}/predictions.csv" for f in folds for r in reps]


def synthetic_inputs(variant: str, fold: int | str, rep: str) -> dict[str, str]:
    """Rule fer_fold's synthetic-set inputs for (variant, fold, replicate): none for real_only; synthetic_pseudo's
    labels are its fold's and replicate's, the random control's its draw's (:func:`annotation_folder`)."""
    if not is_synthetic(variant):
        return {}
    folder = annotation_folder(variant, int(fold), rep)
    return {
        "syn_labels": f"{folder}/labels.csv",
        "syn_names": f"{folder}/image_names.txt",
        "syn_images": "results/synthetic/raw",
    }
