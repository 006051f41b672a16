# Rules of the select phase: thresholds, weights and `keep` are params of `select` only, so
# changing them re-runs `select` and what reads its tables — never the scoring.
SELECT = config["select"]


rule select:
    input:
        scores=iqa_score_tables,
        manifest=results_path("synthetic/manifest.csv"),
    output:
        selected=results_path("select/selected.csv"),
        rejected=results_path("select/rejected.csv"),
        summary=results_path("select/selected.json"),
    log:
        "logs/select/select.log",
    benchmark:
        "benchmarks/rules/select/select.tsv"
    conda:
        "../envs/iqa.yaml"
    params:
        keep=SELECT["keep"],
        batch_size=config["iqa"]["batch_size"],
        thresholds=SELECT["thresholds"],
        method=SELECT["method"],
        metrics=SELECT["metrics"],
        weights=SELECT["weights"],
        metric=SELECT["metric"],
    script:
        "../workflow_scripts/select.py"


rule fid_kid:
    input:
        real=results_path("iqa/features/{extractor}/real.npz"),
        batches=iqa_batch_features,
        manifest=results_path("synthetic/manifest.csv"),
        selected=results_path("select/selected.csv"),
    output:
        table=results_path("select/fid_kid_{extractor}.csv"),
        summary=results_path("select/fid_kid_{extractor}.json"),
    log:
        "logs/fid_kid/{extractor}.log",
    benchmark:
        "benchmarks/rules/fid_kid/{extractor}.tsv"
    conda:
        "../envs/iqa.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(config["iqa"]["mem_mb"]),
    params:
        kid_subsets=config["iqa"]["fid"]["kid_subsets"],
        kid_subset_size=config["iqa"]["fid"]["kid_subset_size"],
        seed=config["seed"],
    script:
        "../workflow_scripts/fid_kid.py"


SELECT_FIGURES = ["distributions", "per_class", "fid_kid", "threshold_sweep", "grid_selected", "grid_rejected"]


rule select_figures:
    input:
        scores=iqa_score_tables,
        real=results_path("iqa/real_scores.parquet"),
        selected=results_path("select/selected.csv"),
        rejected=results_path("select/rejected.csv"),
        fid_kid=results_path(f"select/fid_kid_{IQA_EXTRACTOR}.csv"),
        manifest=results_path("synthetic/manifest.csv"),
        raw=results_path("synthetic/raw"),
    output:
        **{
            name: report(
                results_path(f"select/figures/{name}.png"),
                caption=f"report/select_{name}.rst",
                category="5 quality and selection",
            )
            for name in SELECT_FIGURES
        },
    log:
        "logs/select_figures/select_figures.log",
    benchmark:
        "benchmarks/rules/select_figures/select_figures.tsv"
    conda:
        "../envs/iqa.yaml"
    params:
        thresholds=SELECT["thresholds"],
        metrics=SELECT["metrics"],
    script:
        "../workflow_scripts/select_figures.py"


rule select_links:
    input:
        selected=results_path("select/selected.csv"),
        raw=results_path("synthetic/raw"),
    output:
        links=directory(results_path("synthetic/selected")),
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
    results_path("select/selected.csv"),
    results_path("select/rejected.csv"),
    results_path(f"select/fid_kid_{IQA_EXTRACTOR}.csv"),
    *(results_path(f"select/figures/{name}.png") for name in SELECT_FIGURES),
    *([results_path("synthetic/selected")] if SELECT["links"] else []),
]


# ---- evidence around the selection (issue 15) ----
# The size-matched random control (FER variant synthetic_random), per-metric ablations (synthetic_tds_<metric>,
# select.ablations), the seed's Table 4.1 with the metrics' rank correlations, and its Fig 4.3 (feature PCA).
from synthfer.scores import SCORE_METRICS as SCORE_METRIC_NAMES  # a dict module: nothing heavy
from synthfer.variants import RANDOM_CONTROL, ablation_control


rule select_random:
    input:
        selected=results_path("select/selected.csv"),
        manifest=results_path("synthetic/manifest.csv"),
    output:
        table=results_path("select/random.csv"),
        summary=results_path("select/random.json"),
    log:
        "logs/select_random/select_random.log",
    benchmark:
        "benchmarks/rules/select_random/select_random.tsv"
    conda:
        "../envs/iqa.yaml"
    params:
        seed=config["seed"],
        draw=0,
        control=RANDOM_CONTROL,
    script:
        "../workflow_scripts/select_random.py"


# Draws 1 … select.random_draws − 1 of the random control (each labelled on its own: rules/annotate.smk).
rule select_random_draw:
    input:
        selected=results_path("select/selected.csv"),
        manifest=results_path("synthetic/manifest.csv"),
    output:
        table=results_path("select/random/d{draw}.csv"),
        summary=results_path("select/random/d{draw}.json"),
    log:
        "logs/select_random/d{draw}.log",
    benchmark:
        "benchmarks/rules/select_random/d{draw}.tsv"
    wildcard_constraints:
        draw=r"[1-9]\d?",
    conda:
        "../envs/iqa.yaml"
    params:
        seed=config["seed"],
        draw=lambda wc: int(wc.draw),
        control=RANDOM_CONTROL,
    script:
        "../workflow_scripts/select_random.py"


# An ablation's own random control (synthetic_random_<metric>): the size per class of synthetic_tds_<metric>'s
# selection, so each ablation is compared with random images of its own size; draw 0, then draws 1 … D−1.
rule select_ablation_random:
    input:
        selected=results_path("select/ablation/{metric}/selected.csv"),
        manifest=results_path("synthetic/manifest.csv"),
    output:
        table=results_path("select/ablation/{metric}/random.csv"),
        summary=results_path("select/ablation/{metric}/random.json"),
    log:
        "logs/select_ablation_random/{metric}.log",
    benchmark:
        "benchmarks/rules/select_ablation_random/{metric}.tsv"
    wildcard_constraints:
        metric="|".join(SCORE_METRIC_NAMES),
    conda:
        "../envs/iqa.yaml"
    params:
        seed=config["seed"],
        draw=0,
        control=lambda wc: ablation_control(wc.metric),
    script:
        "../workflow_scripts/select_random.py"


rule select_ablation_random_draw:
    input:
        selected=results_path("select/ablation/{metric}/selected.csv"),
        manifest=results_path("synthetic/manifest.csv"),
    output:
        table=results_path("select/ablation/{metric}/random/d{draw}.csv"),
        summary=results_path("select/ablation/{metric}/random/d{draw}.json"),
    log:
        "logs/select_ablation_random/{metric}_d{draw}.log",
    benchmark:
        "benchmarks/rules/select_ablation_random/{metric}_d{draw}.tsv"
    wildcard_constraints:
        metric="|".join(SCORE_METRIC_NAMES),
        draw=r"[1-9]\d?",
    conda:
        "../envs/iqa.yaml"
    params:
        seed=config["seed"],
        draw=lambda wc: int(wc.draw),
        control=lambda wc: ablation_control(wc.metric),
    script:
        "../workflow_scripts/select_random.py"


rule select_ablation:
    input:
        scores=iqa_score_tables,
        manifest=results_path("synthetic/manifest.csv"),
    output:
        selected=results_path("select/ablation/{metric}/selected.csv"),
        rejected=results_path("select/ablation/{metric}/rejected.csv"),
        summary=results_path("select/ablation/{metric}/selected.json"),
    log:
        "logs/select_ablation/{metric}.log",
    benchmark:
        "benchmarks/rules/select_ablation/{metric}.tsv"
    wildcard_constraints:
        metric="|".join(SCORE_METRIC_NAMES),
    conda:
        "../envs/iqa.yaml"
    params:
        keep=SELECT["keep"],
        batch_size=config["iqa"]["batch_size"],
        thresholds=SELECT["thresholds"],
    script:
        "../workflow_scripts/select_ablation.py"


rule select_metric_summary:
    input:
        scores=iqa_score_tables,
        real=results_path("iqa/real_scores.parquet"),
        selected=results_path("select/selected.csv"),
        manifest=results_path("synthetic/manifest.csv"),
    output:
        summary=results_path("select/metric_summary.csv"),
        table=report(
            results_path("select/metric_summary.html"),
            caption="report/select_metric_summary.rst",
            category="5 quality and selection",
        ),
        correlation=results_path("select/metric_correlation.csv"),
        within=results_path("select/metric_correlation_within_batch.csv"),
        figure=report(
            results_path("select/figures/metric_correlation.png"),
            caption="report/select_metric_correlation.rst",
            category="5 quality and selection",
        ),
    log:
        "logs/select_metric_summary/select_metric_summary.log",
    benchmark:
        "benchmarks/rules/select_metric_summary/select_metric_summary.tsv"
    conda:
        "../envs/iqa.yaml"
    params:
        metrics=SELECT["metrics"],
    script:
        "../workflow_scripts/select_metric_summary.py"


rule select_feature_pca:
    input:
        real=results_path(f"iqa/features/{IQA_EXTRACTOR}/real.npz"),
        batches=lambda wc: expand(
            results_path("iqa/features/{extractor}/batch_{batch}.npz"), extractor=IQA_EXTRACTOR, batch=iqa_batches()
        ),
        selected=results_path("select/selected.csv"),
    output:
        table=results_path("select/feature_pca.csv"),
        summary=results_path("select/feature_pca.json"),
        figure=report(
            results_path("select/figures/feature_pca.png"),
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
    select_ablation_random,
    select_ablation_random_draw,
    select_metric_summary,
    select_feature_pca,


TARGETS["select"] += [
    results_path("select/metric_summary.csv"),
    results_path("select/metric_summary.html"),
    results_path("select/figures/metric_correlation.png"),
    results_path("select/figures/feature_pca.png"),
]
