# Rules of the select phase: thresholds, weights and `keep` are params of `select` only, so
# changing them re-runs `select` and what reads its tables — never the scoring.
SELECT = config["select"]


rule select:
    input:
        scores=iqa_score_tables,
        manifest="results/synthetic/manifest.csv",
    output:
        selected="results/select/selected.csv",
        rejected="results/select/rejected.csv",
        summary="results/select/selected.json",
    log:
        "logs/select/select.log",
    benchmark:
        "benchmarks/rules/select/select.tsv"
    params:
        keep=SELECT["keep"],
        batch_size=config["iqa"]["batch_size"],
        thresholds=SELECT["thresholds"],
        method=SELECT["method"],
        metrics=SELECT["metrics"],
        weights=SELECT["weights"],
        metric=SELECT["metric"],
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/select.py"


rule fid_kid:
    input:
        real="results/iqa/features/{extractor}/real.npz",
        batches=iqa_batch_features,
        manifest="results/synthetic/manifest.csv",
        selected="results/select/selected.csv",
    output:
        table="results/select/fid_kid_{extractor}.csv",
        summary="results/select/fid_kid_{extractor}.json",
    log:
        "logs/fid_kid/{extractor}.log",
    benchmark:
        "benchmarks/rules/fid_kid/{extractor}.tsv"
    params:
        kid_subsets=config["iqa"]["fid"]["kid_subsets"],
        kid_subset_size=config["iqa"]["fid"]["kid_subset_size"],
        seed=config["seed"],
    resources:
        mem_mb=config["iqa"]["mem_mb"],
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/fid_kid.py"


SELECT_FIGURES = ["distributions", "per_class", "fid_kid", "threshold_sweep", "grid_selected", "grid_rejected"]


rule select_figures:
    input:
        scores=iqa_score_tables,
        real="results/iqa/real_scores.parquet",
        selected="results/select/selected.csv",
        rejected="results/select/rejected.csv",
        fid_kid=f"results/select/fid_kid_{IQA_EXTRACTOR}.csv",
        manifest="results/synthetic/manifest.csv",
        raw="results/synthetic/raw",
    output:
        **{
            name: report(
                f"results/select/figures/{name}.png",
                caption=f"report/select_{name}.rst",
                category="5 quality and selection",
            )
            for name in SELECT_FIGURES
        },
    log:
        "logs/select_figures/select_figures.log",
    benchmark:
        "benchmarks/rules/select_figures/select_figures.tsv"
    params:
        thresholds=SELECT["thresholds"],
        metrics=SELECT["metrics"],
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/select_figures.py"


rule select_links:
    input:
        selected="results/select/selected.csv",
        raw="results/synthetic/raw",
    output:
        links=directory("results/synthetic/selected"),
    log:
        "logs/select_links/select_links.log",
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/select_links.py"


localrules:
    select,
    select_figures,
    select_links,


TARGETS["select"] = [
    "results/select/selected.csv",
    "results/select/rejected.csv",
    f"results/select/fid_kid_{IQA_EXTRACTOR}.csv",
    *(f"results/select/figures/{name}.png" for name in SELECT_FIGURES),
    *(["results/synthetic/selected"] if SELECT["links"] else []),
]


# ---- evidence around the selection (issue 15) ----
# The size-matched random control (FER variant synthetic_random), per-metric ablations (synthetic_tds_<metric>,
# select.ablations), the seed's Table 4.1 with the metrics' rank correlations, and its Fig 4.3 (feature PCA).
from synthfer.scores import SCORE_METRICS as SCORE_METRIC_NAMES  # a dict module: nothing heavy


rule select_random:
    input:
        selected="results/select/selected.csv",
        manifest="results/synthetic/manifest.csv",
    output:
        table="results/select/random.csv",
        summary="results/select/random.json",
    log:
        "logs/select_random/select_random.log",
    benchmark:
        "benchmarks/rules/select_random/select_random.tsv"
    params:
        seed=config["seed"],
        draw=0,
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/select_random.py"


# Draws 1 … select.random_draws − 1 of the random control (each labelled on its own: rules/annotate.smk).
rule select_random_draw:
    input:
        selected="results/select/selected.csv",
        manifest="results/synthetic/manifest.csv",
    output:
        table="results/select/random/d{draw}.csv",
        summary="results/select/random/d{draw}.json",
    log:
        "logs/select_random/d{draw}.log",
    benchmark:
        "benchmarks/rules/select_random/d{draw}.tsv"
    wildcard_constraints:
        draw=r"[1-9]\d?",
    params:
        seed=config["seed"],
        draw=lambda wc: int(wc.draw),
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/select_random.py"


rule select_ablation:
    input:
        scores=iqa_score_tables,
        manifest="results/synthetic/manifest.csv",
    output:
        selected="results/select/ablation/{metric}/selected.csv",
        rejected="results/select/ablation/{metric}/rejected.csv",
        summary="results/select/ablation/{metric}/selected.json",
    log:
        "logs/select_ablation/{metric}.log",
    benchmark:
        "benchmarks/rules/select_ablation/{metric}.tsv"
    wildcard_constraints:
        metric="|".join(SCORE_METRIC_NAMES),
    params:
        keep=SELECT["keep"],
        batch_size=config["iqa"]["batch_size"],
        thresholds=SELECT["thresholds"],
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/select_ablation.py"


rule select_metric_summary:
    input:
        scores=iqa_score_tables,
        real="results/iqa/real_scores.parquet",
        selected="results/select/selected.csv",
        manifest="results/synthetic/manifest.csv",
    output:
        summary="results/select/metric_summary.csv",
        table=report(
            "results/select/metric_summary.html",
            caption="report/select_metric_summary.rst",
            category="5 quality and selection",
        ),
        correlation="results/select/metric_correlation.csv",
        within="results/select/metric_correlation_within_batch.csv",
        figure=report(
            "results/select/figures/metric_correlation.png",
            caption="report/select_metric_correlation.rst",
            category="5 quality and selection",
        ),
    log:
        "logs/select_metric_summary/select_metric_summary.log",
    benchmark:
        "benchmarks/rules/select_metric_summary/select_metric_summary.tsv"
    params:
        metrics=SELECT["metrics"],
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/select_metric_summary.py"


rule select_feature_pca:
    input:
        real=f"results/iqa/features/{IQA_EXTRACTOR}/real.npz",
        batches=lambda wc: expand(
            "results/iqa/features/{extractor}/batch_{batch}.npz", extractor=IQA_EXTRACTOR, batch=iqa_batches()
        ),
        selected="results/select/selected.csv",
    output:
        table="results/select/feature_pca.csv",
        summary="results/select/feature_pca.json",
        figure=report(
            "results/select/figures/feature_pca.png",
            caption="report/select_feature_pca.rst",
            category="5 quality and selection",
        ),
    log:
        "logs/select_feature_pca/select_feature_pca.log",
    benchmark:
        "benchmarks/rules/select_feature_pca/select_feature_pca.tsv"
    conda:
        "../envs/iqa.yaml"
    script:
        "../workflow_scripts/select_feature_pca.py"


localrules:
    select_random,
    select_random_draw,
    select_ablation,
    select_metric_summary,
    select_feature_pca,


TARGETS["select"] += [
    "results/select/metric_summary.csv",
    "results/select/metric_summary.html",
    "results/select/figures/metric_correlation.png",
    "results/select/figures/feature_pca.png",
]
