# Semi-automated annotation: labels from the seed ID in each image name, resolved through the plan, for every
# seed-ID-labelled variant (synthfer/variants.py: synthetic_all, synthetic_tds, synthetic_random,
# synthetic_tds_<metric>, and each further draw synthetic_random/d<d> of the random control); and model labels for
# synthetic_pseudo, per fold: fold k's by real_only's fold-k model, which never saw fold k (docs/annotate.md).
from synthfer.variants import (
    ALWAYS_ANNOTATED,
    PSEUDO,
    PSEUDO_SOURCE,
    REAL_ONLY,
    is_random_control,
    random_draw_sets,
    replicate_ids,
    seed_id_source,
    seed_id_variants,
    wildcard_regex,
)

ANNOTATE = config["annotate"]
# synthetic_all and synthetic_tds are always labelled (the seed's two sets); the others when a variant needs them.
# draws 1 … D−1 of each random control of the run: "synthetic_random/d1" → its selection table
ANNOTATE_DRAWS = random_draw_sets(config["select"]["random_draws"], [v for v in RUN_VARIANTS if is_random_control(v)])
ANNOTATE_VARIANTS = list(
    dict.fromkeys(
        [
            *ALWAYS_ANNOTATED,
            *seed_id_variants(RUN_VARIANTS),
            *ANNOTATE_DRAWS,
        ]
    )
)
ANNOTATE_NAME_SOURCES = {
    **{
        v: {"path": results_path(seed_id_source(v)[0]), "kind": seed_id_source(v)[1]}
        for v in seed_id_variants(all_variant_names())
    },
    **{name: {"path": results_path(table), "kind": "selected"} for name, table in ANNOTATE_DRAWS.items()},
}
ANNOTATE_FILES = ["labels.npy", "image_names.txt", "labels.csv", "label_counts.csv", "label_balance.png"]


localrules:
    annotate,
    annotate_pseudo,
    annotate_pseudo_agreement,


rule annotate:
    input:
        names=lambda wc: ANNOTATE_NAME_SOURCES[wc.variant]["path"],
        plan=results_path("seeds/plan.csv"),
        seed_labels=results_path("seeds/seed_labels.csv"),
    output:
        labels=results_path("annotations/{variant}/labels.npy"),
        names=results_path("annotations/{variant}/image_names.txt"),
        table=results_path("annotations/{variant}/labels.csv"),
        counts=results_path("annotations/{variant}/label_counts.csv"),
        plot=report(
            results_path("annotations/{variant}/label_balance.png"),
            caption="report/annotate_balance.rst",
            category="6 annotate",
            subcategory="{variant}",
        ),
    log:
        "logs/annotate/{variant}.log",
    benchmark:
        "benchmarks/rules/annotate/{variant}.tsv"
    wildcard_constraints:
        variant=wildcard_regex(ANNOTATE_NAME_SOURCES),
    conda:
        "../envs/report.yaml"
    params:
        names_kind=lambda wc: ANNOTATE_NAME_SOURCES[wc.variant]["kind"],
        unknown_seed=config["annotate"]["unknown_seed"],
    script:
        "../workflow_scripts/annotate.py"


# synthetic_pseudo, per fold and replicate: fold k's synthetic_all images are labelled by real_only's model of fold k
# (same replicate; with annotate.pseudo_rule majority by all fer.repeats of them), whose training never read fold
# k's labels. One job predicts the pool with every real_only model (one table each), then one job per fold and
# replicate thresholds (fixed / inner Youden cut / majority) and measures the agreement with the seed-ID labels;
# annotate_pseudo_agreement stacks the folds (κ per fold and pooled, bootstrap intervals).
PSEUDO_RULE = ANNOTATE["pseudo_rule"]
PSEUDO_FOLDS = fold_ids(config["fer"]["folds"])
PSEUDO_REPS = replicate_ids(PSEUDO, config["fer"]["repeats"])  # real_only has the same ids
PSEUDO_DIR = results_path(f"annotations/{PSEUDO}")
PSEUDO_SETS = [f"fold_{f}/rep_{r}" for f in PSEUDO_FOLDS for r in PSEUDO_REPS]
PSEUDO_RUN = PSEUDO in RUN_VARIANTS and fer_enabled(config)  # model labels need the real_only fold models


rule annotate_pseudo_predict:
    input:
        models=[results_path(f"fer/{REAL_ONLY}/{s}/model.keras") for s in PSEUDO_SETS],
        images=results_path("synthetic/raw"),
    output:
        tables=[f"{PSEUDO_DIR}/model_predictions/{s}.csv" for s in PSEUDO_SETS],
    log:
        f"logs/annotate_pseudo_predict/{PSEUDO}.log",
    benchmark:
        f"benchmarks/rules/annotate_pseudo_predict/{PSEUDO}.tsv"
    conda:
        FER_CONDA_ENV
    threads: config["fer"]["threads"]
    resources:
        gpu=1,
        mem_mb=mem_mb_per_attempt(config["fer"]["mem_mb"]),
        runtime=config["fer"]["runtime"],
    params:
        batch_size=config["fer"]["predict"]["batch_size"],
        backend=config["fer"]["model"]["backend"],
    script:
        "../workflow_scripts/annotate_pseudo_predict.py"


rule annotate_pseudo:
    input:
        **(
            {"inner": results_path(f"fer/{REAL_ONLY}/fold_{{fold}}/rep_{{rep}}/inner_predictions.csv")}
            if PSEUDO_RULE == "inner"
            else {}
        ),
        # the real_only prediction tables that label fold {fold}: its replicate's, or every replicate's (majority)
        predictions=lambda wc: [
            f"{PSEUDO_DIR}/model_predictions/fold_{wc.fold}/rep_{r}.csv"
            for r in (PSEUDO_REPS if PSEUDO_RULE == "majority" else [wc.rep])
        ],
        seed_labels=results_path(f"annotations/{PSEUDO_SOURCE}/labels.csv"),
        seed_names=results_path(f"annotations/{PSEUDO_SOURCE}/image_names.txt"),
    output:
        labels=f"{PSEUDO_DIR}/fold_{{fold}}/rep_{{rep}}/labels.npy",
        names=f"{PSEUDO_DIR}/fold_{{fold}}/rep_{{rep}}/image_names.txt",
        table=f"{PSEUDO_DIR}/fold_{{fold}}/rep_{{rep}}/labels.csv",
        counts=f"{PSEUDO_DIR}/fold_{{fold}}/rep_{{rep}}/label_counts.csv",
        plot=f"{PSEUDO_DIR}/fold_{{fold}}/rep_{{rep}}/label_balance.png",
        agreement=f"{PSEUDO_DIR}/fold_{{fold}}/rep_{{rep}}/agreement.csv",
        agreement_summary=f"{PSEUDO_DIR}/fold_{{fold}}/rep_{{rep}}/agreement.json",
        thresholds=f"{PSEUDO_DIR}/fold_{{fold}}/rep_{{rep}}/thresholds.csv",
    log:
        f"logs/annotate_pseudo/{PSEUDO}_{{fold}}_{{rep}}.log",
    benchmark:
        f"benchmarks/rules/annotate_pseudo/{PSEUDO}_{{fold}}_{{rep}}.tsv"
    wildcard_constraints:
        rep=wildcard_regex(PSEUDO_REPS),
    conda:
        "../envs/report.yaml"
    params:
        rule=PSEUDO_RULE,
        threshold=ANNOTATE["pseudo_threshold"],
        bootstrap=ANNOTATE["agreement_bootstrap"],
        ci_level=ANNOTATE["agreement_ci_level"],
        seed=config["seed"],
    script:
        "../workflow_scripts/annotate_pseudo.py"


rule annotate_pseudo_agreement:
    input:
        labels=[f"{PSEUDO_DIR}/{s}/labels.csv" for s in PSEUDO_SETS],
        seed_labels=results_path(f"annotations/{PSEUDO_SOURCE}/labels.csv"),
        seed_names=results_path(f"annotations/{PSEUDO_SOURCE}/image_names.txt"),
    output:
        agreement=f"{PSEUDO_DIR}/agreement.csv",
        agreement_summary=f"{PSEUDO_DIR}/agreement.json",
        agreement_html=report(
            f"{PSEUDO_DIR}/agreement.html",
            caption="report/annotate_pseudo_agreement.rst",
            category="6 annotate",
            subcategory=PSEUDO,
        ),
        counts=f"{PSEUDO_DIR}/label_counts.csv",
    log:
        f"logs/annotate_pseudo_agreement/{PSEUDO}.log",
    benchmark:
        f"benchmarks/rules/annotate_pseudo_agreement/{PSEUDO}.tsv"
    conda:
        "../envs/report.yaml"
    params:
        sets=PSEUDO_SETS,
        rule=PSEUDO_RULE,
        threshold=ANNOTATE["pseudo_threshold"],
        bootstrap=ANNOTATE["agreement_bootstrap"],
        ci_level=ANNOTATE["agreement_ci_level"],
        seed=config["seed"],
    script:
        "../workflow_scripts/annotate_pseudo_agreement.py"


TARGETS["annotate"] = expand(
    results_path("annotations/{variant}/{file}"), variant=ANNOTATE_VARIANTS, file=ANNOTATE_FILES
) + (
    [f"{PSEUDO_DIR}/{file}" for file in ("agreement.csv", "agreement.html", "label_counts.csv")]
    + [f"{PSEUDO_DIR}/{s}/labels.csv" for s in PSEUDO_SETS]
    if PSEUDO_RUN
    else []
)
