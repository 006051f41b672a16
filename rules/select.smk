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
        "../workflow_scripts/select_batches.py"


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
