# Semi-automated annotation: labels from the seed ID in each image name, resolved through the plan, for every
# seed-ID-labelled variant (synthfer/variants.py: synthetic_all, synthetic_tds, synthetic_random,
# synthetic_tds_<metric>); and model labels for synthetic_pseudo (the real_only k-fold ensemble's predictions).
from synthfer.variants import (
    ALWAYS_ANNOTATED,
    PSEUDO,
    PSEUDO_SOURCE,
    REAL_ONLY,
    seed_id_source,
    seed_id_variants,
    wildcard_regex,
)

# synthetic_all and synthetic_tds are always labelled (the seed's two sets); the others when a variant needs them.
ANNOTATE_VARIANTS = list(dict.fromkeys([*ALWAYS_ANNOTATED, *seed_id_variants(RUN_VARIANTS)]))
ANNOTATE_NAME_SOURCES = {
    v: {"path": seed_id_source(v)[0], "kind": seed_id_source(v)[1]} for v in seed_id_variants(all_variant_names())
}
ANNOTATE_FILES = ["labels.npy", "image_names.txt", "labels.csv", "label_counts.csv", "label_balance.png"]


localrules:
    annotate,
    annotate_pseudo,


rule annotate:
    input:
        names=lookup(dpath="{variant}/path", within=ANNOTATE_NAME_SOURCES),
        plan="results/seeds/plan.csv",
        seed_labels="results/seeds/seed_labels.csv",
    output:
        labels="results/annotations/{variant}/labels.npy",
        names="results/annotations/{variant}/image_names.txt",
        table="results/annotations/{variant}/labels.csv",
        counts="results/annotations/{variant}/label_counts.csv",
        plot=report(
            "results/annotations/{variant}/label_balance.png",
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
    params:
        names_kind=lookup(dpath="{variant}/kind", within=ANNOTATE_NAME_SOURCES),
        unknown_seed=config["annotate"]["unknown_seed"],
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/annotate.py"


# synthetic_pseudo: the real_only fold models as an ensemble over the generated images (synthfer predict), then
# labels = mean probability >= annotate.pseudo_threshold for the synthetic_all images, and their agreement
# (Cohen's kappa per AU) with the seed-ID labels.
rule annotate_pseudo_predict:
    input:
        models=expand(f"results/fer/{REAL_ONLY}/fold_{{fold}}/model.keras", fold=fold_ids(config["fer"]["folds"])),
        images="results/synthetic/raw",
    output:
        table=f"results/annotations/{PSEUDO}/ensemble_predictions.csv",
        meta=f"results/annotations/{PSEUDO}/ensemble_predictions.csv.json",
    log:
        f"logs/annotate_pseudo_predict/{PSEUDO}.log",
    benchmark:
        f"benchmarks/rules/annotate_pseudo_predict/{PSEUDO}.tsv"
    params:
        threshold=config["annotate"]["pseudo_threshold"],
        batch_size=config["fer"]["predict"]["batch_size"],
        backend=config["fer"]["model"]["backend"],
    threads: config["fer"]["threads"]
    resources:
        mem_mb=config["fer"]["mem_mb"],
        runtime=config["fer"]["runtime"],
    conda:
        FER_CONDA_ENV
    script:
        "../workflow_scripts/fer_predict.py"


rule annotate_pseudo:
    input:
        predictions=f"results/annotations/{PSEUDO}/ensemble_predictions.csv",
        predictions_meta=f"results/annotations/{PSEUDO}/ensemble_predictions.csv.json",
        seed_labels=f"results/annotations/{PSEUDO_SOURCE}/labels.csv",
        seed_names=f"results/annotations/{PSEUDO_SOURCE}/image_names.txt",
    output:
        labels=f"results/annotations/{PSEUDO}/labels.npy",
        names=f"results/annotations/{PSEUDO}/image_names.txt",
        table=f"results/annotations/{PSEUDO}/labels.csv",
        counts=f"results/annotations/{PSEUDO}/label_counts.csv",
        plot=report(
            f"results/annotations/{PSEUDO}/label_balance.png",
            caption="report/annotate_pseudo_balance.rst",
            category="6 annotate",
            subcategory=PSEUDO,
        ),
        agreement=f"results/annotations/{PSEUDO}/agreement.csv",
        agreement_summary=f"results/annotations/{PSEUDO}/agreement.json",
        agreement_html=report(
            f"results/annotations/{PSEUDO}/agreement.html",
            caption="report/annotate_pseudo_agreement.rst",
            category="6 annotate",
            subcategory=PSEUDO,
        ),
    log:
        f"logs/annotate_pseudo/{PSEUDO}.log",
    benchmark:
        f"benchmarks/rules/annotate_pseudo/{PSEUDO}.tsv"
    params:
        threshold=config["annotate"]["pseudo_threshold"],
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/annotate_pseudo.py"


TARGETS["annotate"] = expand("results/annotations/{variant}/{file}", variant=ANNOTATE_VARIANTS, file=ANNOTATE_FILES) + (
    [f"results/annotations/{PSEUDO}/{file}" for file in [*ANNOTATE_FILES, "agreement.csv", "agreement.html"]]
    if PSEUDO in RUN_VARIANTS and fer_enabled(config)  # model labels need the real_only fold models
    else []
)
