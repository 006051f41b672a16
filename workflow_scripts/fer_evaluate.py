"""Rule fer_evaluate: AUC per replicate and fold, replicate spread, paired comparisons (primary endpoint + Holm),
pooled ROC, forest plot and figures. Fold and replicate of each prediction file come from its path."""

from synthfer.fer.evaluate import evaluate
from synthfer.logs import log_to

log_to(snakemake.log[0])
variants = snakemake.params.variants
evaluate(
    predictions={v: list(snakemake.input[f"pred_{v}"]) for v in variants},
    out_summary=snakemake.output.summary,
    out_fold_aucs=snakemake.output.fold_aucs,
    out_roc=snakemake.output.roc,
    out_comparisons=snakemake.output.comparisons,
    out_auc_figure=snakemake.output.auc_figure,
    out_roc_figures={v: snakemake.output[f"roc_{v}"] for v in variants},
    level=snakemake.params.ci_level,
    baseline_neutral=snakemake.params.baseline_neutral,
    out_replicate_aucs=snakemake.output.replicate_aucs,
    out_replicate_spread=snakemake.output.replicate_spread,
    out_primary=snakemake.output.primary,
    out_forest=snakemake.output.forest,
    primary=dict(snakemake.params.primary),
    ci_method=snakemake.params.ci_method,
    alpha=snakemake.params.alpha,
    power=snakemake.params.power,
    test_train_ratio=snakemake.params.test_train_ratio,
    n_bootstrap=snakemake.params.n_bootstrap,
    seed=snakemake.params.seed,
)
