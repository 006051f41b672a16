"""Rule fer_evaluate: AUC per fold and AU, mean ± std, CI, pooled ROC, Wilcoxon tests, figures."""

from synthfer.fer.evaluate import evaluate
from synthfer.logs import log_to

log_to(snakemake.log[0])
variants = snakemake.params.variants
evaluate(
    predictions={v: list(snakemake.input[f"pred_{v}"]) for v in variants},
    out_summary=snakemake.output.summary,
    out_fold_aucs=snakemake.output.fold_aucs,
    out_roc=snakemake.output.roc,
    out_wilcoxon=snakemake.output.wilcoxon,
    out_auc_figure=snakemake.output.auc_figure,
    out_roc_figures={v: snakemake.output[f"roc_{v}"] for v in variants},
    level=snakemake.params.ci_level,
    baseline_neutral=snakemake.params.baseline_neutral,
)
