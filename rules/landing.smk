# The report's landing page (rules/report/workflow.rst includes results/report/landing.rst): the answer — AUC per
# AU and training set with its differences to real_only and synthetic_random (Holm-corrected Wilcoxon) — and the
# run's key counts. Formats: synthfer/report/landing.py, docs/fer.md.

from synthfer.variants import is_synthetic

LANDING_COUNT_INPUTS = {
    "faces_manifest": "results/faces/real_manifest.csv",
    "synthetic_manifest": "results/synthetic/manifest.csv",
    "selected_csv": "results/select/selected.csv",
}
# The network choice's sidecar when the run has one (rule gan_network); else network-final.pt and, with
# gan.snapshot_fid enabled, its FID looked up by kimg.
if "NETWORK_SELECTED" in globals():
    LANDING_COUNT_INPUTS["network_info"] = "results/gan/network-selected.json"
if config["gan"]["snapshot_fid"]["enabled"]:
    LANDING_COUNT_INPUTS["snapshot_fid"] = "results/gan/snapshot_fid.csv"
LANDING_TRAINING_COUNTS = {
    v: f"results/annotations/{v}/label_counts.csv" for v in RUN_VARIANTS if is_synthetic(v)
}


localrules:
    report_landing,


rule report_landing:
    input:
        **LANDING_COUNT_INPUTS,
        **{f"count_{v}": path for v, path in LANDING_TRAINING_COUNTS.items()},
        summary="results/fer/summary.csv",
        wilcoxon="results/fer/wilcoxon.csv",
    output:
        answer=report("results/report/answer.csv", caption="report/landing_answer.rst", category="0 answer"),
        counts="results/report/key_counts.csv",
        rst="results/report/landing.rst",
    log:
        "logs/report_landing/report_landing.log",
    benchmark:
        "benchmarks/rules/report_landing/report_landing.tsv"
    params:
        variants=RUN_VARIANTS,
        training_counts=LANDING_TRAINING_COUNTS,
        count_keys=list(LANDING_COUNT_INPUTS),
        network_file="results/gan/network-final.pt",
        network_kimg=config["gan"]["total_kimg"],
        level=config["fer"]["evaluate"]["ci_level"],
        demo=str(config["real_images"]["folder"]).startswith("results/demo"),
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/report_landing.py"


TARGETS["report"] = ["results/report/answer.csv", "results/report/key_counts.csv", "results/report/landing.rst"]
