# Annotation assistant (latent.review.assistant.enabled; docs/latent.md): the real_only FER ensemble scores
# every reviewed seed's face and its edit-grid cells, and the review page shows the suggestions. It needs
# the real labelled data of the FER phase, so with it the real_only folds train before the review material.
# Off, this file adds no rule and the DAG is unchanged.

from synthfer.variants import REAL_ONLY, replicate_ids

REVIEW_ASSISTANT = config["latent"]["review"]["assistant"]

if REVIEW_ASSISTANT["enabled"]:  # needs fer.enabled (synthfer.config.check_config)

    rule review_suggestions:
        input:
            network=rules.review_material.input.network,
            directions=results_path("latent/directions.npz"),
            models=expand(
                results_path(f"fer/{REAL_ONLY}/fold_{{fold}}/rep_{{rep}}/model.keras"),
                fold=fold_ids(config["fer"]["folds"]),
                rep=replicate_ids(REAL_ONLY, config["fer"]["repeats"]),
            ),
        output:
            table=results_path("review/suggestions.csv"),
            meta=results_path("review/suggestions.json"),
        log:
            "logs/review_suggestions/review_suggestions.log",
        benchmark:
            "benchmarks/rules/review_suggestions/review_suggestions.tsv"
        conda:
            # Keras and torch: the generator renders, the fold models score, in one process
            FER_CONDA_ENV
        threads: config["fer"]["threads"]
        resources:
            mem_mb=mem_mb_per_attempt(max(config["fer"]["mem_mb"], 4000)),
            runtime=config["fer"]["runtime"],
        params:
            layout=REVIEW_LAYOUT,  # the review material's faces (rules/latent.smk)
            batch_size=REVIEW_ASSISTANT["batch_size"],
            threshold=REVIEW_ASSISTANT["threshold"],
            backend=config["fer"]["model"]["backend"],
            device=config["generate"]["device"],
        script:
            "../workflow_scripts/review_suggestions.py"
