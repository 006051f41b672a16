# FER evaluation: subject-wise k-fold cross-validation of an EfficientNet-B0 AU classifier, one job per
# (variant, fold), then one evaluation over all folds and variants. Formats: docs/fer.md.
# real_only trains on the training subjects' real frames; every other variant (synthfer/variants.py) adds the
# annotation phase's labelled synthetic set (results/annotations/<variant>/). Every fold validates on real frames only.

# The Snakefile includes this file only when fer.enabled is true.

from snakemake.exceptions import WorkflowError

from synthfer.config import ConfigError
from synthfer.fer.checks import check_gan_fer_overlap, check_real_data
from synthfer.variants import RANDOM_CONTROL, REAL_ONLY, fer_variants, is_synthetic, wildcard_regex

FER = config["fer"]
if "FER_CONDA_ENV" not in globals():  # this file included alone (tests/test_fer_workflow.py): deploy settings

    include: "deploy.smk"


# fer.variants + select.ablations: RUN_VARIANTS of rules/common.smk, derived here when a workflow includes this
# file alone (tests/test_fer_workflow.py).
try:
    FER_VARIANTS = (
        RUN_VARIANTS
        if "RUN_VARIANTS" in globals()
        else fer_variants(FER["variants"], config.get("select", {}).get("ablations", []))
    )
except ValueError as exc:
    raise WorkflowError(str(exc)) from None
FER_FOLDS = [f"{i:02d}" for i in range(1, FER["folds"] + 1)]
# PROVISIONAL (branch fer-stats; the fer-protocol branch's definition replaces it at merge): the replicates of a
# (variant, fold) — r{repeat} per training seed, d{draw}r{repeat} for the random control's selection draws.
FER_REPLICATES: dict[str, list[str]] = {
    v: (
        [f"d{d}r{r}" for d in range(config.get("select", {}).get("random_draws", 1)) for r in range(FER.get("repeats", 1))]
        if v == RANDOM_CONTROL
        else [f"r{r}" for r in range(FER.get("repeats", 1))]
    )
    for v in FER_VARIANTS
}
try:  # no DISFA folder, no table, missing images, images the workflow has yet to write: say so at parse time
    check_real_data(FER)
    check_gan_fer_overlap(config["real_images"]["folder"], FER, any(is_synthetic(v) for v in FER_VARIANTS))
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
# The real labelled table the folds read: the DISFA import, the aligned copy of a table of photographs
# (fer.real.align: rules fer_align_shard + fer_align_table, so the images are DAG outputs), or the table itself.
FER_TABLE = FER["real"]["table"]
FER_ALIGN = FER["real"]["source"] == "table" and FER["real"]["align"]
FER_ALIGN_SHARDS = [f"{k:03d}" for k in range(FER["real"]["align_shards"])]
if FER["real"]["source"] == "disfa":
    FER_REAL_TABLE, FER_IMAGE_ROOT = "results/fer/disfa/labels.csv", None
elif FER_ALIGN:
    FER_REAL_TABLE, FER_IMAGE_ROOT = "results/fer/aligned/labels.csv", None
else:
    FER_REAL_TABLE, FER_IMAGE_ROOT = FER_TABLE, FER["real"]["image_root"]
# The faces phase's crop settings (as rule faces_real_shard gets them).
FER_FACES_SETTINGS = {k: v for k, v in config.get("faces", {}).items() if k not in ("shards", "report_faces")}
if FER["predict"]["images"] is not None and FER["predict"]["variant"] not in FER_VARIANTS:
    raise WorkflowError(
        f"config key 'fer.predict.variant': {FER['predict']['variant']!r} is not in fer.variants. Fix: add it there."
    )
# Extra inputs of rule fer_fold per variant: the synthetic set of the annotation phase (none for real_only).
FER_SYNTHETIC_INPUTS = {
    v: (
        {}
        if not is_synthetic(v)
        else {
            "syn_labels": f"results/annotations/{v}/labels.csv",
            "syn_names": f"results/annotations/{v}/image_names.txt",
            "syn_images": "results/synthetic/raw",
        }
    )
    for v in dict.fromkeys([REAL_ONLY, *FER_VARIANTS])
}
# A local backbone weights file (e.g. the demo's pretrained resources/demo_fer/*.weights.h5) is an input,
# so replacing it re-runs the folds; 'imagenet' (a Keras download) and null are not files.
FER_WEIGHTS_INPUT = {} if FER["model"]["weights"] in (None, "imagenet") else {"weights": FER["model"]["weights"]}
FER_FIGURES = "results/fer/figures"


localrules:
    fer_fold_table,
    fer_evaluate,
    fer_align_table,


rule fer_import_disfa:
    output:
        images=directory("results/fer/disfa/images"),
        labels="results/fer/disfa/labels.csv",
        report="results/fer/disfa/import_report.csv",
    log:
        "logs/fer_import_disfa/fer_import_disfa.log",
    benchmark:
        "benchmarks/rules/fer_import_disfa/fer_import_disfa.tsv"
    params:
        # DISFA is read-only reference data outside the DAG: its root is a param, checked when the job runs.
        root=FER["real"]["disfa"]["root"],
        camera=FER["real"]["disfa"]["camera"],
        frames=FER["real"]["disfa"]["frames"],
        sampling=FER["real"]["disfa"]["sampling"],
        threshold=FER["real"]["disfa"]["threshold"],
        size=FER["real"]["disfa"]["size"],
        seed=config["seed"],
        faces=config.get("faces", {}),
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        FER_CONDA_ENV
    script:
        "../workflow_scripts/fer_import_disfa.py"


rule fer_align_shard:
    input:
        table=FER_TABLE or [],
    output:
        crops=directory("results/fer/aligned/shards/{shard}"),
        report="results/fer/aligned/shards/{shard}.csv",
    log:
        "logs/fer_align_shard/{shard}.log",
    benchmark:
        "benchmarks/rules/fer_align_shard/{shard}.tsv"
    wildcard_constraints:
        shard=r"\d{3}",
    params:
        n_shards=FER["real"]["align_shards"],
        image_root=FER["real"]["image_root"],
        settings=FER_FACES_SETTINGS,
    resources:
        mem_mb=2000,
        runtime=120,
    conda:
        "../envs/faces.yaml"
    script:
        "../workflow_scripts/fer_align_shard.py"


rule fer_align_table:
    input:
        table=FER_TABLE or [],
        crops=expand("results/fer/aligned/shards/{shard}", shard=FER_ALIGN_SHARDS),
        reports=expand("results/fer/aligned/shards/{shard}.csv", shard=FER_ALIGN_SHARDS),
    output:
        images=directory("results/fer/aligned/images"),
        labels="results/fer/aligned/labels.csv",
        report="results/fer/aligned/align_report.csv",
    log:
        "logs/fer_align_table/fer_align_table.log",
    benchmark:
        "benchmarks/rules/fer_align_table/fer_align_table.tsv"
    params:
        image_root=FER["real"]["image_root"],
        settings=FER_FACES_SETTINGS,
    conda:
        "../envs/faces.yaml"
    script:
        "../workflow_scripts/fer_align_table.py"


rule fer_fold_table:
    input:
        labels=FER_REAL_TABLE,
    output:
        folds="results/fer/folds.csv",
    log:
        "logs/fer_fold_table/fer_fold_table.log",
    benchmark:
        "benchmarks/rules/fer_fold_table/fer_fold_table.tsv"
    params:
        k=FER["folds"],
    conda:
        FER_CONDA_ENV
    script:
        "../workflow_scripts/fer_fold_table.py"


rule fer_fold:
    input:
        unpack(lambda wc: {**FER_SYNTHETIC_INPUTS[wc.variant], **FER_WEIGHTS_INPUT}),
        labels=FER_REAL_TABLE,
        folds="results/fer/folds.csv",
    output:
        model="results/fer/{variant}/fold_{fold}/model.keras",
        predictions="results/fer/{variant}/fold_{fold}/predictions.csv",
        history="results/fer/{variant}/fold_{fold}/history.csv",
        info="results/fer/{variant}/fold_{fold}/train.json",
    log:
        "logs/fer_fold/{variant}_{fold}.log",
    benchmark:
        "benchmarks/rules/fer_fold/{variant}_{fold}.tsv"
    wildcard_constraints:
        variant=wildcard_regex(FER_SYNTHETIC_INPUTS),
    params:
        model=FER["model"],
        train=FER["train"],
        seed=config["seed"],
        image_root=FER_IMAGE_ROOT,
    threads: FER["threads"]
    # Below every other rule: on a few cores the fold jobs (many, independent) fill the gaps while the chain
    # that makes the synthetic training sets (GAN → generation → selection → labels) runs first.
    priority: -1
    resources:
        # The Slurm profile adds the GPU (set-resources: fer_fold: gpu: 1).
        mem_mb=FER["mem_mb"],
        runtime=FER["runtime"],
    conda:
        FER_CONDA_ENV
    script:
        "../workflow_scripts/fer_fold.py"


rule fer_evaluate:
    input:
        **{
            f"pred_{v}": expand(
                "results/fer/{variant}/fold_{fold}/rep_{rep}/predictions.csv",
                variant=v,
                fold=FER_FOLDS,
                rep=FER_REPLICATES[v],
            )
            for v in FER_VARIANTS
        },
    output:
        summary="results/fer/summary.csv",
        fold_aucs="results/fer/fold_aucs.csv",
        replicate_aucs="results/fer/replicate_aucs.csv",
        replicate_spread=report(
            "results/fer/replicate_spread.csv",
            caption="report/fer_replicate_spread.rst",
            category="7 FER",
        ),
        roc="results/fer/roc_curves.csv",
        comparisons=report(
            "results/fer/comparisons.csv",
            caption="report/fer_comparisons.rst",
            category="7 FER",
        ),
        primary="results/fer/primary.json",
        forest=report(
            f"{FER_FIGURES}/forest.png",
            caption="report/fer_forest.rst",
            category="0 answer",
        ),
        auc_figure=report(
            f"{FER_FIGURES}/auc_per_au.png",
            caption="report/fer_auc_per_au.rst",
            category="7 FER",
        ),
        **{
            f"roc_{v}": report(
                f"{FER_FIGURES}/roc_{v}.png",
                caption="report/fer_roc.rst",
                category="7 FER",
                subcategory="ROC curves",
                labels={"variant": v},
            )
            for v in FER_VARIANTS
        },
    log:
        "logs/fer_evaluate/fer_evaluate.log",
    benchmark:
        "benchmarks/rules/fer_evaluate/fer_evaluate.tsv"
    params:
        variants=FER_VARIANTS,
        ci_level=FER["evaluate"]["ci_level"],
        baseline_neutral=FER["evaluate"]["baseline_neutral"],
        primary=FER["evaluate"]["primary"],
        ci_method=FER["evaluate"]["ci_method"],
        n_bootstrap=FER["evaluate"]["n_bootstrap"],
        test_train_ratio=FER["evaluate"]["test_train_ratio"],
        alpha=FER["evaluate"]["alpha"],
        power=FER["evaluate"]["power"],
        seed=config["seed"],
    conda:
        FER_CONDA_ENV
    script:
        "../workflow_scripts/fer_evaluate.py"


rule fer_predict:
    input:
        models=expand("results/fer/{{variant}}/fold_{fold}/model.keras", fold=FER_FOLDS),
        images=FER["predict"]["images"] or [],
    output:
        table="results/fer/predict/{variant}.csv",
        meta="results/fer/predict/{variant}.csv.json",
    log:
        "logs/fer_predict/{variant}.log",
    benchmark:
        "benchmarks/rules/fer_predict/{variant}.tsv"
    params:
        threshold=FER["predict"]["threshold"],
        batch_size=FER["predict"]["batch_size"],
        backend=FER["model"]["backend"],
    threads: FER["threads"]
    resources:
        mem_mb=FER["mem_mb"],
        runtime=FER["runtime"],
    conda:
        FER_CONDA_ENV
    script:
        "../workflow_scripts/fer_predict.py"


TARGETS["fer"] = [
    "results/fer/folds.csv",
    "results/fer/summary.csv",
    "results/fer/fold_aucs.csv",
    "results/fer/roc_curves.csv",
    "results/fer/replicate_aucs.csv",
    "results/fer/replicate_spread.csv",
    "results/fer/comparisons.csv",
    "results/fer/primary.json",
    f"{FER_FIGURES}/forest.png",
    f"{FER_FIGURES}/auc_per_au.png",
    *expand(f"{FER_FIGURES}/roc_{{variant}}.png", variant=FER_VARIANTS),
] + (["results/fer/predict/{}.csv".format(FER["predict"]["variant"])] if FER["predict"]["images"] else [])
