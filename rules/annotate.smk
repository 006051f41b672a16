# Semi-automated annotation: labels from the seed ID in each image name, resolved through the plan.
# synthetic_all = every generated image that passes the face filter (the thesis' baseline);
# synthetic_tds = the images kept by Training Data Selection (rule select, results/select/selected.csv).

ANNOTATE_VARIANTS = ["synthetic_all", "synthetic_tds"]
ANNOTATE_NAME_SOURCES = {
    "synthetic_all": {"path": "results/synthetic/manifest.csv", "kind": "manifest"},
    "synthetic_tds": {"path": "results/select/selected.csv", "kind": "selected"},
}


localrules:
    annotate,


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
        variant="|".join(ANNOTATE_VARIANTS),
    params:
        names_kind=lookup(dpath="{variant}/kind", within=ANNOTATE_NAME_SOURCES),
        unknown_seed=config["annotate"]["unknown_seed"],
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/annotate_variant.py"


TARGETS["annotate"] = expand(
    "results/annotations/{variant}/{file}",
    variant=ANNOTATE_VARIANTS,
    file=["labels.npy", "image_names.txt", "labels.csv", "label_counts.csv", "label_balance.png"],
)
