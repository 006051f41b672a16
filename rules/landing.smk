# The report's landing page (rules/report/workflow.rst includes results/report/landing.rst): the answer — the
# declared primary endpoint with its paired CI, effect size and minimum detectable difference, the forest plot of
# the paired differences, the thesis' enhanced-vs-baseline comparison, the Holm-corrected secondary table, what
# the run did not protect — and the run's key counts. Formats: synthfer/report/landing.py, docs/fer.md.

from synthfer.variants import is_synthetic

LANDING_COUNT_INPUTS = {
    "faces_manifest": results_path("faces/real_manifest.csv"),
    "synthetic_manifest": results_path("synthetic/manifest.csv"),
    "selected_csv": results_path("select/selected.csv"),
    # The network review and generation used, as rule gan_network chose it (kimg, FID, source).
    "network_info": results_path("gan/network-selected.json"),
}
if config["gan"]["snapshot_fid"]["enabled"]:
    LANDING_COUNT_INPUTS["snapshot_fid"] = results_path("gan/snapshot_fid.csv")
LANDING_TRAINING_COUNTS = {
    v: results_path(f"annotations/{v}/label_counts.csv") for v in RUN_VARIANTS if is_synthetic(v)
}


localrules:
    report_landing,


rule report_landing:
    input:
        **LANDING_COUNT_INPUTS,
        **{f"count_{v}": path for v, path in LANDING_TRAINING_COUNTS.items()},
        summary=results_path("fer/summary.csv"),
        comparisons=results_path("fer/comparisons.csv"),
        primary=results_path("fer/primary.json"),
        spread=results_path("fer/replicate_spread.csv"),
        forest=results_path("fer/figures/forest.png"),
    output:
        answer=report(results_path("report/answer.csv"), caption="report/landing_answer.rst", category="0 answer"),
        counts=results_path("report/key_counts.csv"),
        rst=results_path("report/landing.rst"),
    log:
        "logs/report_landing/report_landing.log",
    benchmark:
        "benchmarks/rules/report_landing/report_landing.tsv"
    conda:
        "../envs/report.yaml"
    params:
        variants=RUN_VARIANTS,
        training_counts=LANDING_TRAINING_COUNTS,
        count_keys=list(LANDING_COUNT_INPUTS),
        level=config["fer"]["evaluate"]["ci_level"],
        alpha=config["fer"]["evaluate"]["alpha"],
        power=config["fer"]["evaluate"]["power"],
        demo=str(config["real_images"]["folder"]).startswith(results_path("demo")),
        # Safeguards this run switched off, stated on the landing (docs/fer.md "How the answer is protected").
        allow_overlap=config["fer"].get("allow_overlap", False),
        assistant=config.get("latent", {}).get("review", {}).get("assistant", {}).get("enabled", False),
        # How the models were trained and chosen, stated beside the answer (budget, epoch choice, replicates).
        protocol={
            "folds": config["fer"]["folds"],
            "model_selection": config["fer"]["model_selection"],
            "budget": config["fer"]["train"]["budget"],
            "steps": config["fer"]["train"]["steps"],
            "epochs": config["fer"]["train"]["epochs"],
            "repeats": config["fer"]["repeats"],
            "random_draws": config["select"]["random_draws"],
        },
    script:
        "../workflow_scripts/report_landing.py"


TARGETS["report"] = [
    results_path("report/answer.csv"),
    results_path("report/key_counts.csv"),
    results_path("report/landing.rst"),
]
